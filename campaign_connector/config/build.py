"""YAML tree → the frozen ``model.Config``, collecting every problem with its position and key path.

The builder never stops at the first problem: a bad value is reported and the rest of the file is still read,
so one ``validate`` run lists everything. Values that failed are remembered (``failed`` paths) so that the
cross-campaign rules in ``rules.py`` do not pile secondary complaints on top of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from campaign_connector import model, vocabulary
from campaign_connector.config.problems import Problem, one_of, suggest
from campaign_connector.config.yamlload import Node
from campaign_connector.timeutil import (
    TimeParseError,
    format_clock,
    is_zone,
    parse_clock,
    parse_duration,
    parse_time,
)

# The keys of each mapping of the campaign file (the JSON Schema reads these too).
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

ID_RE = re.compile(r"^[a-z0-9_-]+$")
_PERIOD_RE = re.compile(r"^\s*(\d+)\s*([a-z]+?)s?\s*$")
#: Longest in-app delay (SPEC §2.2), seconds.
MAX_IN_APP_DELAY_SECONDS = 2 * 3_600
#: Longest conversion window (SPEC §2.2), seconds.
MAX_CONVERSION_WINDOW_SECONDS = 30 * 86_400
MAX_CONVERSION_EVENTS = 4

_MISSING = object()
#: YAML 1.1 boolean words, which this loader keeps as text (for a hint in messages).
_YAML11_BOOLS: dict[str, str] = {"yes": "true", "on": "true", "y": "true", "no": "false", "off": "false", "n": "false"}


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def key_path(parent: str, key: str | int) -> str:
    """``campaigns`` + 2 → ``campaigns[2]``; ``campaigns[2]`` + ``delay`` → ``campaigns[2].delay``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def describe(node: Node) -> str:
    """How a value reads in a message: ``a list``, ``the number 5``, ``'abc'``."""
    value = node.value
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {node.text}"
    if isinstance(value, datetime | date):
        return f"the time {node.text}"
    return repr(str(value))


@dataclass(slots=True)
class CampaignEntry:
    """A campaign as built, with its YAML node, for the cross-campaign rules."""

    campaign: model.Campaign
    node: Node
    path: str


class Builder:
    """Builds the model from a ``Node`` tree and records every problem it meets."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.failed: set[str] = set()
        self.campaign_keys: dict[str, str] = {}
        self.campaign_ids: list[str] = []
        self.segment_nodes: dict[str, Node] = {}
        self.segments: dict[str, model.Filter] = {}
        self.entries: list[CampaignEntry] = []
        self.item_index: dict[str, list[int]] = {}
        """``campaigns[i].triggers`` → the YAML index of each built trigger (invalid ones are dropped)."""

    # ------------------------------------------------------------------------------------------
    # recording

    def error(self, node: Node, path: str, code: str, message: str) -> None:
        """Record an error at ``node`` and remember that ``path`` failed."""
        self.problems.append(Problem(self.file, node.line, node.column, path, code, message))
        self.failed.add(path)

    def warn(self, node: Node, path: str, code: str, message: str) -> None:
        """Record a warning at ``node``."""
        self.problems.append(Problem(self.file, node.line, node.column, path, code, message))

    def ok(self, path: str) -> bool:
        """Whether nothing at or under ``path`` failed."""
        return not any(p == path or p.startswith(path + ".") or p.startswith(path + "[") for p in self.failed)

    # ------------------------------------------------------------------------------------------
    # shapes

    def mapping(self, node: Node, path: str, allowed: Sequence[str], required: Sequence[str] = (),
                what: str = "a mapping") -> dict[str, Node] | None:
        """The mapping's entries, after reporting unknown and missing keys; None when it is not a mapping."""
        if not node.is_mapping:
            self.error(node, path, "wrong-type", f"expected {what}, got {describe(node)}")
            return None
        entries: dict[str, Node] = node.value
        for key in entries:
            if key not in allowed:
                hint = suggest(key, allowed) or f" (allowed: {', '.join(allowed)})"
                self.error(node.keys[key], key_path(path, key), "unknown-key", f"unknown key '{key}'{hint}")
        for key in required:
            if entries.get(key) is None and key not in entries:
                self.error(node, path, "missing-key", f"missing required key '{key}'")
        return entries

    def sequence(self, node: Node, path: str, what: str = "a list") -> list[Node] | None:
        """The items of a list, or None (reported) when it is not one."""
        if not node.is_sequence:
            self.error(node, path, "wrong-type", f"expected {what}, got {describe(node)}")
            return None
        items: list[Node] = node.value
        return items

    @staticmethod
    def get(entries: dict[str, Node], key: str) -> Node | None:
        """An optional key's node; None when it is absent or null."""
        node = entries.get(key)
        return None if node is None or node.value is None else node

    # ------------------------------------------------------------------------------------------
    # scalars

    def text(self, node: Node, path: str, what: str = "text") -> str | None:
        """Text; numbers, dates and times are taken as written (``button: 1`` is ``"1"``)."""
        value = node.value
        if isinstance(value, str):
            if not value.strip():
                self.error(node, path, "bad-value", f"expected {what}, got an empty value")
                return None
            return value
        if isinstance(value, int | float | date) and not isinstance(value, bool):
            return node.text
        self.error(node, path, "wrong-type", f"expected {what}, got {describe(node)}")
        return None

    def integer(self, node: Node, path: str, low: int | None = None, high: int | None = None,
                what: str = "a whole number", code: str = "bad-value") -> int | None:
        """An int within [low, high]."""
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(node, path, "wrong-type", f"expected {what}, got {describe(node)}")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            self.error(node, path, code, f"expected {what} {bounds}, got {value}")
            return None
        return value

    def boolean(self, node: Node, path: str) -> bool | None:
        """true or false."""
        if not isinstance(node.value, bool):
            hint = ""
            if isinstance(node.value, str) and node.value.lower() in _YAML11_BOOLS:
                hint = f" ('{node.value}' is text here, as in YAML 1.2: write {_YAML11_BOOLS[node.value.lower()]})"
            self.error(node, path, "wrong-type", f"expected true or false, got {describe(node)}{hint}")
            return None
        return node.value

    def duration(self, node: Node, path: str) -> int | None:
        """``"3 days"`` → seconds."""
        try:
            return parse_duration(node.value)
        except TimeParseError as err:
            self.error(node, path, "bad-duration", str(err).replace(repr(node.value), describe(node)))
            return None

    def time(self, node: Node, path: str) -> int | None:
        """An ISO-8601 time (quoted or not) or epoch seconds → ms."""
        value = node.value
        if isinstance(value, datetime | date) or (isinstance(value, int | float | str) and not isinstance(value, bool)):
            try:
                return parse_time(value)
            except TimeParseError as err:
                self.error(node, path, "bad-time", str(err).replace(repr(value), repr(node.text)))
                return None
        self.error(node, path, "bad-time", f"expected a time like 2026-01-05T09:00:00Z, got {describe(node)}")
        return None

    def clock(self, node: Node, path: str) -> int | None:
        """``"22:00"`` → minutes after midnight."""
        try:
            return parse_clock(node.value)
        except TimeParseError:
            self.error(node, path, "bad-clock", f"expected a clock time like \"22:00\", got {describe(node)}")
            return None

    def zone(self, node: Node, path: str) -> str | None:
        """An IANA zone name."""
        name = self.text(node, path, "an IANA time zone")
        if name is None:
            return None
        if not is_zone(name):
            hint = suggest(name, _zone_names()) or " (use an IANA name like 'America/New_York')"
            self.error(node, path, "bad-zone", f"unknown time zone '{name}'{hint}")
            return None
        return name

    def choice(self, node: Node, path: str, choices: Sequence[str], code: str, what: str) -> str | None:
        """Text that must be one of ``choices``."""
        value = self.text(node, path, what)
        if value is None:
            return None
        if value not in choices:
            hint = suggest(value, choices) or f" (expected {one_of(choices)})"
            self.error(node, path, code, f"unknown {what} '{value}'{hint}")
            return None
        return value

    def percent(self, node: Node, path: str, integer: bool) -> float | None:
        """A percentage 0-100 (whole when ``integer``)."""
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            what = "a whole percentage" if integer else "a percentage"
            self.error(node, path, "wrong-type", f"expected {what} from 0 to 100, got {describe(node)}")
            return None
        if not 0 <= value <= 100:
            self.error(node, path, "bad-percent", f"expected a percentage from 0 to 100, got {node.text}")
            return None
        return value

    def scalar(self, node: Node, path: str) -> Any:
        """A comparison operand: text, number or boolean (dates as written); _MISSING when it is not one."""
        value = node.value
        if isinstance(value, datetime | date):
            return node.text
        if isinstance(value, str | int | float | bool):
            return value
        self.error(node, path, "wrong-type", f"expected a text, number or boolean value, got {describe(node)}")
        return _MISSING

    def text_list(self, node: Node, path: str, what: str) -> tuple[str, ...]:
        """A list of text items."""
        items = self.sequence(node, path, f"a list of {what}")
        values = [self.text(item, key_path(path, i), what) for i, item in enumerate(items or [])]
        return tuple(v for v in values if v is not None)

    # ------------------------------------------------------------------------------------------
    # the document

    def build(self, root: Node, text: str, sha256: str) -> model.Config | None:
        """The whole file; None when it is not even a mapping."""
        top = self.mapping(root, "", TOP_KEYS, ("version", "campaigns"),
                           what="a mapping with 'version: 1' and 'campaigns'")
        if top is None:
            return None
        version = top.get("version")
        if version is not None and (isinstance(version.value, bool) or version.value != 1):
            self.error(version, "version", "bad-version",
                       f"unsupported version {version.text or describe(version)} "
                       "(this campaign-connector reads version: 1)")
        campaign_nodes = self._campaign_nodes(top)
        self._collect_ids(campaign_nodes)
        workspace = self.workspace(top["workspace"]) if self.get(top, "workspace") else model.Workspace()
        if self.get(top, "segments"):
            self.build_segments(top["segments"])
        for index, node in enumerate(campaign_nodes):
            path = key_path("campaigns", index)
            campaign = self.campaign(node, path, index)
            if campaign is not None:
                self.entries.append(CampaignEntry(campaign, node, path))
        return model.Config(
            workspace=workspace,
            campaigns=tuple(entry.campaign for entry in self.entries),
            segments=dict(self.segments),
            path=self.file,
            text=text,
            sha256=sha256,
        )

    def _campaign_nodes(self, top: dict[str, Node]) -> list[Node]:
        node = top.get("campaigns")
        if node is None:
            return []
        if node.value is None:
            self.error(node, "campaigns", "wrong-type", "expected a list of campaigns, got null")
            return []
        return self.sequence(node, "campaigns", "a list of campaigns") or []

    def _collect_ids(self, nodes: list[Node]) -> None:
        """Every campaign's id and braze_id, first, so references can be checked wherever they appear."""
        seen: dict[str, tuple[str, Node]] = {}
        for index, node in enumerate(nodes):
            if not node.is_mapping:
                continue
            path = key_path("campaigns", index)
            id_node = node.value.get("id")
            if id_node is not None and isinstance(id_node.value, str | int) and not isinstance(id_node.value, bool):
                campaign_id = id_node.text
                if campaign_id in seen:
                    self.error(id_node, key_path(path, "id"), "duplicate-id",
                               f"duplicate campaign id '{campaign_id}' (first at line {seen[campaign_id][1].line})")
                else:
                    seen[campaign_id] = (campaign_id, id_node)
                    self.campaign_ids.append(campaign_id)
                    self.campaign_keys[campaign_id] = campaign_id
        for index, node in enumerate(nodes):
            if not node.is_mapping:
                continue
            path = key_path("campaigns", index)
            id_node, braze_node = node.value.get("id"), node.value.get("braze_id")
            if braze_node is None or not isinstance(braze_node.value, str | int) or isinstance(braze_node.value, bool):
                continue
            braze_id = braze_node.text
            own = id_node.text if id_node is not None else None
            owner = self.campaign_keys.get(braze_id)
            if owner is not None and owner != own:
                first = seen[owner][1] if owner in seen else braze_node
                self.error(braze_node, key_path(path, "braze_id"), "duplicate-id",
                           f"braze_id '{braze_id}' is already used by campaign '{owner}' (line {first.line}); "
                           "each logged campaign value must name one campaign")
            elif owner is None and own is not None:
                self.campaign_keys[braze_id] = own
                seen[braze_id] = (own, braze_node)

    def resolve_campaign(self, node: Node, path: str) -> str | None:
        """A campaign reference (id or braze_id) → the config id; unknown ones are reported."""
        value = self.text(node, path, "a campaign id")
        if value is None:
            return None
        if value in self.campaign_keys:
            return self.campaign_keys[value]
        hint = suggest(value, self.campaign_keys) or (
            f" (declared: {', '.join(self.campaign_ids)})" if 0 < len(self.campaign_ids) <= 8 else ""
        )
        self.error(node, path, "unknown-campaign", f"unknown campaign '{value}'{hint}")
        return None

    # ------------------------------------------------------------------------------------------
    # workspace

    def workspace(self, node: Node) -> model.Workspace:
        """``workspace:`` settings."""
        entries = self.mapping(node, "workspace", WORKSPACE_KEYS)
        if entries is None:
            return model.Workspace()
        zone = "UTC"
        if self.get(entries, "timezone"):
            zone = self.zone(entries["timezone"], "workspace.timezone") or "UTC"
        gcg = None
        if self.get(entries, "global_control_group"):
            gcg = self.global_control_group(entries["global_control_group"], "workspace.global_control_group")
        caps: list[model.FrequencyCap] = []
        if self.get(entries, "frequency_caps"):
            items = self.sequence(entries["frequency_caps"], "workspace.frequency_caps", "a list of caps") or []
            for i, item in enumerate(items):
                cap = self.frequency_cap(item, key_path("workspace.frequency_caps", i))
                if cap is not None:
                    caps.append(cap)
        return model.Workspace(timezone=zone, global_control_group=gcg, frequency_caps=tuple(caps))

    def global_control_group(self, node: Node, path: str) -> model.GlobalControlGroup | None:
        """``{percent: 5, exclude_tags: [transactional]}``."""
        entries = self.mapping(node, path, GLOBAL_CONTROL_KEYS, ("percent",))
        if entries is None or "percent" not in entries:
            return None
        percent = self.percent(entries["percent"], key_path(path, "percent"), integer=False)
        tags: tuple[str, ...] = ()
        if self.get(entries, "exclude_tags"):
            tags = self.text_list(entries["exclude_tags"], key_path(path, "exclude_tags"), "tags")
        return None if percent is None else model.GlobalControlGroup(percent=percent, exclude_tags=tags)

    def frequency_cap(self, node: Node, path: str) -> model.FrequencyCap | None:
        """``{channel: push, max: 2, per: 1 week}``."""
        entries = self.mapping(node, path, CAP_KEYS, CAP_KEYS)
        if entries is None or any(k not in entries for k in CAP_KEYS):
            return None
        channel = self.choice(entries["channel"], key_path(path, "channel"),
                              (*vocabulary.CHANNELS, "any"), "unknown-channel", "channel")
        if channel is not None and channel not in (*vocabulary.CAPPED_CHANNELS, "any"):
            self.error(entries["channel"], key_path(path, "channel"), "bad-value",
                       f"{channel} sends are never capped (cap {one_of((*vocabulary.CAPPED_CHANNELS, 'any'))})")
            channel = None
        most = self.integer(entries["max"], key_path(path, "max"), 0)
        period = self.period(entries["per"], key_path(path, "per"))
        if channel is None or most is None or period is None:
            return None
        amount, unit, text = period
        return model.FrequencyCap(channel=channel, max=most, amount=amount, unit=unit, text=text)  # type: ignore[arg-type]

    def period(self, node: Node, path: str) -> tuple[int, str, str] | None:
        """A cap period ``"1 week"`` → (1, "week", "1 week")."""
        value = node.value
        match = _PERIOD_RE.match(value.lower()) if isinstance(value, str) else None
        if match is None or match.group(2) not in CAP_UNITS or int(match.group(1)) < 1:
            self.error(node, path, "bad-duration",
                       f"expected a period like '1 week' (minutes, hours, days or weeks), got {describe(node)}")
            return None
        return int(match.group(1)), match.group(2), value.strip()

    # ------------------------------------------------------------------------------------------
    # segments and filters

    def build_segments(self, node: Node) -> None:
        """``segments:`` name → filter."""
        entries = self.mapping(node, "segments", tuple(node.value) if node.is_mapping else ())
        for name, item in (entries or {}).items():
            path = key_path("segments", name)
            self.segment_nodes[name] = item
            built = self.filter(item, path)
            if built is not None:
                self.segments[name] = built

    def filter(self, node: Node, path: str) -> model.Filter | None:
        """An audience filter: all / any / not / attribute / performed / received."""
        if not node.is_mapping:
            self.error(node, path, "wrong-type",
                       f"expected a filter ({one_of(FILTER_KINDS)}), got {describe(node)}")
            return None
        kinds = [k for k in FILTER_KINDS if k in node.value]
        if not kinds:
            first = next(iter(node.value), "")
            hint = suggest(first, FILTER_KINDS) if first else ""
            where = node.keys[first] if first else node
            self.error(where, key_path(path, first) if first else path, "bad-filter",
                       f"unknown filter '{first}'{hint}; a filter is one of {one_of(FILTER_KINDS)}" if first
                       else f"empty filter; a filter is one of {one_of(FILTER_KINDS)}")
            return None
        if len(kinds) > 1:
            self.error(node, path, "bad-filter",
                       f"one filter per mapping, got {' and '.join(kinds)} (combine them with all: [...])")
            return None
        kind = kinds[0]
        if kind in ("all", "any"):
            self.mapping(node, path, (kind,))
            items = self.sequence(node.value[kind], key_path(path, kind), "a list of filters")
            if items is None:
                return None
            if not items:
                self.error(node.value[kind], key_path(path, kind), "bad-filter", f"{kind}: needs at least one filter")
                return None
            built = [self.filter(item, key_path(key_path(path, kind), i)) for i, item in enumerate(items)]
            if any(b is None for b in built):
                return None
            parts = tuple(b for b in built if b is not None)
            return model.AllOf(parts) if kind == "all" else model.AnyOf(parts)
        if kind == "not":
            self.mapping(node, path, ("not",))
            inner = self.filter(node.value["not"], key_path(path, "not"))
            return None if inner is None else model.Not(inner)
        if kind == "attribute":
            return self.attribute_filter(node, path)
        if kind == "performed":
            return self.performed_filter(node, path)
        return self.received_filter(node, path)

    def attribute_filter(self, node: Node, path: str) -> model.AttributeFilter | None:
        """``{attribute: country, equals: US}``."""
        entries = self.mapping(node, path, ("attribute", *vocabulary.ATTRIBUTE_OPERATORS))
        if entries is None:
            return None
        name = self.text(entries["attribute"], key_path(path, "attribute"), "an attribute name")
        ops = [op for op in vocabulary.ATTRIBUTE_OPERATORS if op in entries]
        if not ops:
            self.error(node, path, "missing-key",
                       f"an attribute filter needs one of {one_of(vocabulary.ATTRIBUTE_OPERATORS)}")
            return None
        if len(ops) > 1:
            self.error(node, path, "bad-filter",
                       f"one operator per attribute filter, got {' and '.join(ops)} (combine them with all: [...])")
            return None
        op = ops[0]
        value = self.operand(entries[op], key_path(path, op), op)
        if name is None or value is _MISSING:
            return None
        return model.AttributeFilter(attribute=name, op=op, value=value)

    def operand(self, node: Node, path: str, op: str) -> Any:
        """The value of an attribute or ``where`` operator: a list for ``in``, a boolean for ``exists``."""
        if op == "in":
            items = self.sequence(node, path, "a list of values")
            if items is None:
                return _MISSING
            values = tuple(self.scalar(item, key_path(path, i)) for i, item in enumerate(items))
            return _MISSING if _MISSING in values else values
        if op == "exists":
            value = self.boolean(node, path)
            return _MISSING if value is None else value
        if node.value is None:
            self.error(node, path, "wrong-type", "expected a value, got null (use exists: false for a missing one)")
            return _MISSING
        return self.scalar(node, path)

    def performed_filter(self, node: Node, path: str) -> model.PerformedFilter | None:
        """``{performed: purchase, at_least: 1, at_most: 3, within: 30 days, where: {...}}``."""
        entries = self.mapping(node, path, PERFORMED_KEYS)
        if entries is None:
            return None
        event = self.event_name(entries["performed"], key_path(path, "performed"))
        at_least: int | None = 1
        if self.get(entries, "at_least"):
            at_least = self.integer(entries["at_least"], key_path(path, "at_least"), 0)
        at_most = None
        if self.get(entries, "at_most"):
            at_most = self.integer(entries["at_most"], key_path(path, "at_most"), 0)
            if at_most is not None and at_least is not None and at_most < at_least:
                self.error(entries["at_most"], key_path(path, "at_most"), "bad-value",
                           f"at_most {at_most} is less than at_least {at_least}")
                at_most = None
        within = self.duration(entries["within"], key_path(path, "within")) if self.get(entries, "within") else None
        where = self.where(entries["where"], key_path(path, "where")) if self.get(entries, "where") else ()
        if event is None or at_least is None or not self.ok(path):
            return None
        return model.PerformedFilter(event=event, at_least=at_least, at_most=at_most, within=within,
                                     where=where or ())

    def received_filter(self, node: Node, path: str) -> model.ReceivedFilter | None:
        """``{received: discount_push, within: 90 days}``."""
        entries = self.mapping(node, path, RECEIVED_KEYS)
        if entries is None:
            return None
        campaign = self.resolve_campaign(entries["received"], key_path(path, "received"))
        within = self.duration(entries["within"], key_path(path, "within")) if self.get(entries, "within") else None
        if campaign is None or not self.ok(path):
            return None
        return model.ReceivedFilter(campaign=campaign, within=within)

    def event_name(self, node: Node, path: str) -> str | None:
        """An event name counted from the log: derived interaction names are stored under their base name."""
        name = self.text(node, path, "an event name")
        if name is not None and name in vocabulary.DERIVED_EVENTS:
            base, fld, _ = vocabulary.DERIVED_EVENTS[name]
            self.error(node, path, "derived-event-name",
                       f"'{name}' is stored in the log as '{base}' with {fld} set; count '{base}' instead")
            return None
        return name

    def where(self, node: Node, path: str) -> tuple[model.PropertyFilter, ...] | None:
        """``where: {plan: gold, cart_value: {gte: 100, lt: 200}, tier: [a, b]}``.

        ``key: value`` means ``eq``, ``key: [a, b]`` means ``in``, ``key: {op: value}`` uses the operators of
        ``vocabulary.WHERE_OPERATORS`` (several in one mapping all apply).
        """
        entries = self.mapping(node, path, tuple(node.value) if node.is_mapping else (),
                               what="a mapping of property conditions")
        if entries is None:
            return None
        filters: list[model.PropertyFilter] = []
        for key, value_node in entries.items():
            item_path = key_path(path, key)
            if value_node.is_mapping:
                if not value_node.value:
                    self.error(value_node, item_path, "bad-value",
                               f"expected operators ({' '.join(vocabulary.WHERE_OPERATORS)}), got an empty mapping")
                for op, operand_node in value_node.value.items():
                    if op not in vocabulary.WHERE_OPERATORS:
                        hint = suggest(op, vocabulary.WHERE_OPERATORS) or \
                            f" (expected {one_of(vocabulary.WHERE_OPERATORS)})"
                        self.error(value_node.keys[op], key_path(item_path, op), "unknown-operator",
                                   f"unknown operator '{op}'{hint}")
                        continue
                    operand = self.operand(operand_node, key_path(item_path, op), op)
                    if operand is not _MISSING:
                        filters.append(model.PropertyFilter(key=key, op=op, value=operand))
            elif value_node.is_sequence:
                operand = self.operand(value_node, item_path, "in")
                if operand is not _MISSING:
                    filters.append(model.PropertyFilter(key=key, op="in", value=operand))
            else:
                operand = self.operand(value_node, item_path, "eq")
                if operand is not _MISSING:
                    filters.append(model.PropertyFilter(key=key, op="eq", value=operand))
        return tuple(filters)

    # ------------------------------------------------------------------------------------------
    # campaigns

    def campaign(self, node: Node, path: str, index: int) -> model.Campaign | None:
        """One ``campaigns:`` item."""
        entries = self.mapping(node, path, CAMPAIGN_KEYS, ("id", "channels"), what="a campaign mapping")
        if entries is None:
            return None
        get = self.get
        campaign_id = ""
        if "id" in entries:
            value = self.text(entries["id"], key_path(path, "id"), "a campaign id")
            if value is not None and not ID_RE.match(value):
                self.error(entries["id"], key_path(path, "id"), "bad-id",
                           f"campaign id '{value}' must use only a-z, 0-9, _ and - (e.g. "
                           f"'{re.sub(r'[^a-z0-9_-]+', '_', value.lower()).strip('_') or 'my_campaign'}')")
            campaign_id = value or ""
        braze_id = self.text(entries["braze_id"], key_path(path, "braze_id")) if get(entries, "braze_id") else None
        name = self.text(entries["name"], key_path(path, "name")) if get(entries, "name") else None
        channels = self.channels(entries["channels"], key_path(path, "channels")) if "channels" in entries else ()
        status = "active"
        if get(entries, "status"):
            status = self.choice(entries["status"], key_path(path, "status"), vocabulary.CAMPAIGN_STATUSES,
                                 "unknown-status", "status") or "active"
        times: dict[str, int | None] = {}
        for key in ("published_at", "start_at", "end_at", "stopped_at"):
            times[key] = self.time(entries[key], key_path(path, key)) if get(entries, key) else None
        if status != "draft" and get(entries, "published_at") is None:
            self.error(node, path, "missing-key",
                       f"missing required key 'published_at' (required unless status is draft; this one is {status})")
        if status in ("stopped", "archived") and get(entries, "stopped_at") is None:
            self.error(node, path, "missing-key", f"missing required key 'stopped_at' (status {status} needs it)")
        start_at = times["start_at"] if times["start_at"] is not None else times["published_at"]
        for key in ("end_at", "stopped_at"):
            if times[key] is not None and start_at is not None and times[key] <= start_at:  # type: ignore[operator]
                self.error(entries[key], key_path(path, key), "time-order",
                           f"{key} must be after start_at (or published_at when start_at is absent)")
        tags = self.text_list(entries["tags"], key_path(path, "tags"), "tags") if get(entries, "tags") else ()
        triggers = self.triggers(entries, path, "triggers")
        exceptions = self.triggers(entries, path, "exceptions")
        delay = self.delay(entries["delay"], key_path(path, "delay")) if get(entries, "delay") else model.Delay()
        audience, segment = self.audience(entries, path)
        flags: dict[str, bool] = {"reevaluate_audience_at_send": False, "frequency_capping": True}
        for key in flags:
            if get(entries, key):
                flag = self.boolean(entries[key], key_path(path, key))
                flags[key] = flags[key] if flag is None else flag
        reeligible = None
        if get(entries, "reeligible_after"):
            reeligible = self.duration(entries["reeligible_after"], key_path(path, "reeligible_after"))
            if reeligible is not None and reeligible > vocabulary.MAX_REELIGIBLE_SECONDS:
                self.error(entries["reeligible_after"], key_path(path, "reeligible_after"), "reeligible-too-long",
                           f"reeligible_after is at most 720 days, got {entries['reeligible_after'].text}")
        control = 0
        if get(entries, "control_group"):
            control = int(self.percent(entries["control_group"], key_path(path, "control_group"), integer=True) or 0)
        variants = self.variants(entries["variants"], key_path(path, "variants")) if get(entries, "variants") else ()
        quiet = self.quiet_hours(entries["quiet_hours"], key_path(path, "quiet_hours")) \
            if get(entries, "quiet_hours") else None
        send_window = self.send_window(entries["send_window"], key_path(path, "send_window")) \
            if get(entries, "send_window") else None
        rate = None
        if get(entries, "rate_limit"):
            rate_entries = self.mapping(entries["rate_limit"], key_path(path, "rate_limit"), RATE_LIMIT_KEYS,
                                        RATE_LIMIT_KEYS)
            if rate_entries and "per_minute" in rate_entries:
                rate = self.integer(rate_entries["per_minute"], key_path(path, "rate_limit.per_minute"), 1)
        max_recipients = self.integer(entries["max_recipients"], key_path(path, "max_recipients"), 1) \
            if get(entries, "max_recipients") else None
        conversions = self.conversion_events(entries["conversion_events"], key_path(path, "conversion_events")) \
            if get(entries, "conversion_events") else ()
        return model.Campaign(
            id=campaign_id, index=index, channels=channels, status=status,  # type: ignore[arg-type]
            published_at=times["published_at"], braze_id=braze_id, name=name, start_at=start_at,
            end_at=times["end_at"], stopped_at=times["stopped_at"], tags=tags, triggers=triggers, delay=delay,
            exceptions=exceptions, audience=audience, audience_segment=segment,
            reevaluate_audience_at_send=flags["reevaluate_audience_at_send"], reeligible_after=reeligible,
            control_group=control, variants=variants, quiet_hours=quiet, send_window=send_window,
            frequency_capping=flags["frequency_capping"], rate_limit_per_minute=rate,
            max_recipients=max_recipients, conversion_events=conversions, line=node.line,
        )

    def channels(self, node: Node, path: str) -> tuple[str, ...]:
        """``channels: [push, email]`` — at least one, no repeats."""
        items = self.sequence(node, path, f"a list of channels ({', '.join(vocabulary.CHANNELS)})")
        if items is None:
            return ()
        if not items:
            self.error(node, path, "bad-value", f"needs at least one channel ({', '.join(vocabulary.CHANNELS)})")
        channels: list[str] = []
        for i, item in enumerate(items):
            channel = self.choice(item, key_path(path, i), vocabulary.CHANNELS, "unknown-channel", "channel")
            if channel is not None and channel in channels:
                self.error(item, key_path(path, i), "bad-value", f"channel '{channel}' is listed twice")
            elif channel is not None:
                channels.append(channel)
        return tuple(channels)

    def audience(self, entries: dict[str, Node], path: str) -> tuple[model.Filter | None, str | None]:
        """``audience:`` a segment name or an inline filter → (filter, segment name)."""
        node = self.get(entries, "audience")
        if node is None:
            return None, None
        apath = key_path(path, "audience")
        if isinstance(node.value, str):
            name = node.value
            if name not in self.segment_nodes:
                hint = suggest(name, self.segment_nodes) or (
                    f" (declared: {', '.join(self.segment_nodes)})" if self.segment_nodes else
                    " (declare it under segments:, or write the filter inline)")
                self.error(node, apath, "unknown-segment", f"unknown segment '{name}'{hint}")
                return None, None
            if name not in self.segments:
                self.failed.add(apath)
                return None, name
            return self.segments[name], name
        return self.filter(node, apath), None

    def triggers(self, entries: dict[str, Node], path: str, key: str) -> tuple[model.Trigger, ...]:
        """``triggers:`` or ``exceptions:`` list. The YAML index of each built item goes to ``item_index``."""
        node = self.get(entries, key)
        if node is None:
            return ()
        lpath = key_path(path, key)
        items = self.sequence(node, lpath, f"a list of {key}")
        built = [(i, self.trigger(item, key_path(lpath, i))) for i, item in enumerate(items or [])]
        self.item_index[lpath] = [i for i, t in built if t is not None]
        return tuple(t for _, t in built if t is not None)

    def trigger(self, node: Node, path: str) -> model.Trigger | None:
        """``{interaction: click_email_alias, campaign: x, alias: cta}`` or ``{event: purchase, product: p}``."""
        if not node.is_mapping:
            self.error(node, path, "wrong-type",
                       f"expected a mapping with interaction or event, got {describe(node)}")
            return None
        entries: dict[str, Node] = node.value
        if "interaction" in entries and "event" in entries:
            self.error(node, path, "bad-trigger", "give either interaction (with campaign) or event, not both")
            return None
        if "interaction" in entries:
            return self.interaction_trigger(node, path)
        if "event" in entries:
            return self.event_trigger(node, path)
        first = next(iter(entries), "")
        hint = suggest(first, ("interaction", "event")) if first else ""
        self.error(node, path, "missing-key",
                   f"missing 'interaction' or 'event'{hint or ' (e.g. {interaction: open_email, campaign: x})'}")
        return None

    def interaction_trigger(self, node: Node, path: str) -> model.Trigger | None:
        """A connector trigger: an interaction with a source campaign."""
        entries: dict[str, Node] = node.value
        ipath = key_path(path, "interaction")
        name = self.text(entries["interaction"], ipath, "an interaction name")
        if name is None:
            return None
        interaction = vocabulary.INTERACTIONS.get(name)
        if interaction is None:
            if name in vocabulary.BUILTIN_EVENTS:
                message = f"'{name}' is not a connector interaction; write {{event: {name}}}"
            else:
                message = f"unknown interaction '{name}'{suggest(name, vocabulary.INTERACTIONS)}"
            self.error(entries["interaction"], ipath, "unknown-interaction", message)
            return None
        allowed = ["interaction", "campaign", *(q.key for q in interaction.qualifiers)]
        required = [q.key for q in interaction.qualifiers if q.required]
        if not interaction.any_campaign:
            required.insert(0, "campaign")
        self.mapping(node, path, allowed, required)
        campaign = None
        if interaction.any_campaign and "campaign" in entries:
            self.error(entries["campaign"], key_path(path, "campaign"), "bad-trigger",
                       f"{name} matches a click on the alias in any campaign; remove 'campaign' "
                       "(or use click_email_alias for one campaign)")
        elif self.get(entries, "campaign"):
            campaign = self.resolve_campaign(entries["campaign"], key_path(path, "campaign"))
        qualifiers: list[tuple[str, str]] = []
        for qualifier in interaction.qualifiers:
            qnode = self.get(entries, qualifier.key)
            if qnode is None:
                continue
            qpath = key_path(path, qualifier.key)
            value: int | str | None
            if qualifier.integer:
                value = self.integer(qnode, qpath, 0, MAX_CONVERSION_EVENTS - 1, "a 0-based conversion event index")
            else:
                value = self.text(qnode, qpath)
            if value is not None:
                qualifiers.append((qualifier.field, str(value)))
        if not self.ok(path):
            return None
        return model.Trigger(interaction=name, campaign=campaign, qualifiers=tuple(qualifiers))

    def event_trigger(self, node: Node, path: str) -> model.Trigger | None:
        """An event trigger: purchase (optional product), session_start, or a custom event; optional where."""
        entries: dict[str, Node] = node.value
        epath = key_path(path, "event")
        name = self.text(entries["event"], epath, "an event name")
        allowed = ["event", "where"] + (["product"] if name == vocabulary.PURCHASE else [])
        self.mapping(node, path, allowed)
        if name is None:
            return None
        if name in vocabulary.INTERACTIONS:
            interaction = vocabulary.INTERACTIONS[name]
            example = "" if interaction.any_campaign else ", campaign: SOURCE"
            self.error(entries["event"], epath, "interaction-as-event",
                       f"'{name}' is a connector interaction; write {{interaction: {name}{example}}}")
            return None
        product = None
        if name == vocabulary.PURCHASE and self.get(entries, "product"):
            product = self.text(entries["product"], key_path(path, "product"), "a product id")
        where = self.where(entries["where"], key_path(path, "where")) if self.get(entries, "where") else ()
        if not self.ok(path):
            return None
        return model.Trigger(event=name, product=product, where=where or ())

    def delay(self, node: Node, path: str) -> model.Delay:
        """SPEC §2.1: ``immediately``, ``"N unit"``, ``{in_days, at, zone}``, ``{next_weekday, at, zone}``."""
        forms = ("expected immediately, a duration like '1 day', {in_days: 1, at: \"09:00\"} or "
                 "{next_weekday: monday, at: \"09:00\"}")
        value = node.value
        if isinstance(value, str):
            if value.strip() == "immediately":
                return model.Delay()
            seconds = self.duration(node, path)
            if seconds is None:
                return model.Delay()
            return model.Delay(kind="duration", seconds=seconds, text=value.strip())
        if not node.is_mapping:
            self.error(node, path, "wrong-type", f"{forms}, got {describe(node)}")
            return model.Delay()
        entries: dict[str, Node] = value
        if "in_days" not in entries and "next_weekday" not in entries:
            self.error(node, path, "missing-key", f"missing 'in_days' or 'next_weekday' ({forms})")
            return model.Delay()
        calendar = "in_days" if "in_days" in entries else "next_weekday"
        self.mapping(node, path, DELAY_IN_DAYS_KEYS if calendar == "in_days" else DELAY_WEEKDAY_KEYS,
                     (calendar, "at"))
        at = self.clock(entries["at"], key_path(path, "at")) if "at" in entries else None
        zone = "user"
        if self.get(entries, "zone"):
            zone = self.choice(entries["zone"], key_path(path, "zone"), DELAY_ZONES, "bad-value", "delay zone") \
                or "user"
        if calendar == "in_days":
            days = self.integer(entries["in_days"], key_path(path, "in_days"), 0)
            if days is None or at is None:
                return model.Delay()
            text = f"in {days} day{'' if days == 1 else 's'} at {format_clock(at)} {zone} time"
            return model.Delay(kind="in_days", days=days, at=at, zone=zone, text=text)  # type: ignore[arg-type]
        wnode = entries["next_weekday"]
        weekday_text = wnode.value.lower() if isinstance(wnode.value, str) else wnode.value
        weekday = None
        if weekday_text in vocabulary.WEEKDAYS:
            weekday = vocabulary.WEEKDAYS.index(weekday_text)
        else:
            self.choice(wnode, key_path(path, "next_weekday"), vocabulary.WEEKDAYS, "unknown-weekday", "weekday")
        if weekday is None or at is None:
            return model.Delay()
        text = f"next {vocabulary.WEEKDAYS[weekday]} at {format_clock(at)} {zone} time"
        return model.Delay(kind="next_weekday", weekday=weekday, at=at, zone=zone, text=text)  # type: ignore[arg-type]

    def variants(self, node: Node, path: str) -> tuple[model.Variant, ...]:
        """``variants: [{id: a, percent: 45}, ...]``."""
        items = self.sequence(node, path, "a list of variants")
        variants: list[model.Variant] = []
        seen: dict[str, Node] = {}
        for i, item in enumerate(items or []):
            ipath = key_path(path, i)
            entries = self.mapping(item, ipath, VARIANT_KEYS, VARIANT_KEYS)
            if entries is None or any(k not in entries for k in VARIANT_KEYS):
                continue
            variant_id = self.text(entries["id"], key_path(ipath, "id"), "a variant id")
            percent = self.percent(entries["percent"], key_path(ipath, "percent"), integer=True)
            if variant_id is not None and variant_id in seen:
                self.error(entries["id"], key_path(ipath, "id"), "duplicate-id",
                           f"duplicate variant id '{variant_id}' (first at line {seen[variant_id].line})")
                continue
            if variant_id is not None:
                seen[variant_id] = entries["id"]
            if variant_id is not None and percent is not None:
                variants.append(model.Variant(id=variant_id, percent=int(percent)))
        return tuple(variants)

    def window(self, entries: dict[str, Node], node: Node, path: str) -> model.Window | None:
        """``start``/``end`` clock times of quiet hours or a send window."""
        start = self.clock(entries["start"], key_path(path, "start")) if "start" in entries else None
        end = self.clock(entries["end"], key_path(path, "end")) if "end" in entries else None
        if start is None or end is None:
            return None
        if start == end:
            self.error(node, path, "empty-window",
                       f"start and end are both {format_clock(start)}: the window would be empty (or the whole day)")
            return None
        return model.Window(start=start, end=end)

    def quiet_hours(self, node: Node, path: str) -> model.QuietHours | None:
        """``{start: "22:00", end: "07:00", mode: next_available}``."""
        entries = self.mapping(node, path, QUIET_HOURS_KEYS, ("start", "end"))
        if entries is None:
            return None
        window = self.window(entries, node, path)
        mode = "next_available"
        if self.get(entries, "mode"):
            mode = self.choice(entries["mode"], key_path(path, "mode"), QUIET_HOURS_MODES, "bad-value",
                               "quiet hours mode") or mode
        return None if window is None else model.QuietHours(window=window, mode=mode)  # type: ignore[arg-type]

    def send_window(self, node: Node, path: str) -> model.SendWindow | None:
        """``{start: "09:00", end: "20:00", next_available: true}``."""
        entries = self.mapping(node, path, SEND_WINDOW_KEYS, ("start", "end"))
        if entries is None:
            return None
        window = self.window(entries, node, path)
        next_available = False
        if self.get(entries, "next_available"):
            next_available = bool(self.boolean(entries["next_available"], key_path(path, "next_available")))
        return None if window is None else model.SendWindow(window=window, next_available=next_available)

    def conversion_events(self, node: Node, path: str) -> tuple[model.ConversionEvent, ...]:
        """Up to four ``{event, within, product, where}``; the first is primary."""
        items = self.sequence(node, path, "a list of conversion events")
        if items is None:
            return ()
        if len(items) > MAX_CONVERSION_EVENTS:
            extra = items[MAX_CONVERSION_EVENTS]
            self.error(extra, key_path(path, MAX_CONVERSION_EVENTS), "too-many-conversion-events",
                       f"a campaign has at most {MAX_CONVERSION_EVENTS} conversion events, got {len(items)}")
        events: list[model.ConversionEvent] = []
        for i, item in enumerate(items):
            ipath = key_path(path, i)
            entries = self.mapping(item, ipath, CONVERSION_KEYS, ("event",))
            if entries is None or "event" not in entries:
                continue
            event = self.event_name(entries["event"], key_path(ipath, "event"))
            within: int | None = vocabulary.DEFAULT_CONVERSION_WINDOW_SECONDS
            if self.get(entries, "within"):
                within = self.duration(entries["within"], key_path(ipath, "within"))
                if within is not None and within > MAX_CONVERSION_WINDOW_SECONDS:
                    self.error(entries["within"], key_path(ipath, "within"), "conversion-window-too-long",
                               f"a conversion window is at most 30 days, got {entries['within'].text}")
                    within = None
            product = None
            if self.get(entries, "product"):
                if event != vocabulary.PURCHASE:
                    self.error(item.keys["product"], key_path(ipath, "product"),
                               "unknown-key", "unknown key 'product' (only event: purchase takes a product)")
                else:
                    product = self.text(entries["product"], key_path(ipath, "product"), "a product id")
            where = self.where(entries["where"], key_path(ipath, "where")) if self.get(entries, "where") else ()
            if event is not None and within is not None and self.ok(ipath):
                events.append(model.ConversionEvent(event=event, within=within, product=product, where=where or ()))
        return tuple(events)
