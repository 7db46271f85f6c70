"""The campaign file's vocabulary: the keys each mapping takes, the words some keys take, and SPEC §2.2's
limits. The builder checks files against these tables and the JSON Schema (``config/schema.py``) is made
from them, so the two cannot disagree."""

from __future__ import annotations

import re

TOP_KEYS: tuple[str, ...] = ("version", "workspace", "segments", "campaigns")
WORKSPACE_KEYS: tuple[str, ...] = ("timezone", "global_control_group", "frequency_caps")
GLOBAL_CONTROL_KEYS: tuple[str, ...] = ("percent", "exclude_tags")
CAP_KEYS: tuple[str, ...] = ("channel", "max", "per")
CAMPAIGN_KEYS: tuple[str, ...] = (
    "id", "braze_id", "name", "channels", "status", "published_at", "start_at", "end_at", "stopped_at", "tags",
    "triggers", "delay", "exceptions", "audience", "reevaluate_audience_at_send", "reeligible_after",
    "control_group", "variants", "quiet_hours", "send_window", "frequency_capping", "rate_limit",
    "max_recipients", "conversion_events",
)
VARIANT_KEYS: tuple[str, ...] = ("id", "percent")
QUIET_HOURS_KEYS: tuple[str, ...] = ("start", "end", "mode")
QUIET_HOURS_MODES: tuple[str, ...] = ("next_available", "abort")
SEND_WINDOW_KEYS: tuple[str, ...] = ("start", "end", "next_available")
RATE_LIMIT_KEYS: tuple[str, ...] = ("per_minute",)
CONVERSION_KEYS: tuple[str, ...] = ("event", "within", "product", "where")
DELAY_IN_DAYS_KEYS: tuple[str, ...] = ("in_days", "at", "zone")
DELAY_WEEKDAY_KEYS: tuple[str, ...] = ("next_weekday", "at", "zone")
DELAY_ZONES: tuple[str, ...] = ("user", "company")
FILTER_KINDS: tuple[str, ...] = ("all", "any", "not", "attribute", "performed", "received")
PERFORMED_KEYS: tuple[str, ...] = ("performed", "at_least", "at_most", "within", "where")
RECEIVED_KEYS: tuple[str, ...] = ("received", "within")
#: Frequency cap periods: unit → the model's unit (seconds are not a cap period).
CAP_UNITS: tuple[str, ...] = ("minute", "hour", "day", "week")

#: A campaign id: lower-case letters, digits, ``_`` and ``-``.
ID_RE = re.compile(r"^[a-z0-9_-]+$")
#: Longest in-app delay (SPEC §2.2), seconds.
MAX_IN_APP_DELAY_SECONDS = 2 * 3_600
#: Longest conversion window (SPEC §2.2), seconds.
MAX_CONVERSION_WINDOW_SECONDS = 30 * 86_400
#: Most conversion events of a campaign (SPEC §2.2).
MAX_CONVERSION_EVENTS = 4
