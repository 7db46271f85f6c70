"""A small kit for the engine's spec tests: build configs, events and profiles in a line each, replay one user.

Times are written as ISO strings (``"2026-01-05T09:00:00Z"``) and converted with ``timeutil.parse_time``;
durations as text (``"1 day"``). Every replay checks the invariants every decision must hold (SPEC §4.2), so
any test that replays also pins the status/reason vocabulary.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from campaign_connector import vocabulary
from campaign_connector.model import (
    Campaign,
    Config,
    ConversionEvent,
    Decision,
    Delay,
    Event,
    FrequencyCap,
    GlobalControlGroup,
    PropertyFilter,
    QuietHours,
    SendWindow,
    Trigger,
    UserProfile,
    UserResult,
    Variant,
    Window,
    Workspace,
)
from campaign_connector.timeutil import format_time, parse_clock, parse_duration, parse_time

USER = "u1"
#: Default publish time of every campaign built here.
PUBLISHED = "2026-01-01T00:00:00Z"
#: The horizon ``replay`` uses when none is given: far after every test's events, so every send runs.
FAR_FUTURE = "2100-01-01T00:00:00Z"
#: Decision fields that hold times (printed back as ISO strings by ``rows``).
TIME_FIELDS = ("triggered_at", "due_at", "sent_at")


def T(value: str | int) -> int:
    """An ISO time (or epoch seconds) → ms."""
    return parse_time(value)


def _ms(value: str | int | None) -> int | None:
    return None if value is None else parse_time(value)


# --------------------------------------------------------------------------------------------------
# Campaign parts


def after(text: str) -> Delay:
    """``"immediately"`` or an exact duration such as ``"1 week"``."""
    if text == "immediately":
        return Delay()
    return Delay(kind="duration", seconds=parse_duration(text), text=text)


def in_days(days: int, at: str, zone: str = "user") -> Delay:
    """``{in_days: N, at: HH:MM, zone}``."""
    return Delay(kind="in_days", days=days, at=parse_clock(at), zone=zone,  # type: ignore[arg-type]
                 text=f"in {days} days at {at} ({zone})")


def next_weekday(day: str, at: str, zone: str = "user") -> Delay:
    """``{next_weekday: monday, at: HH:MM, zone}``."""
    return Delay(kind="next_weekday", weekday=vocabulary.WEEKDAYS.index(day), at=parse_clock(at),
                 zone=zone, text=f"next {day} at {at} ({zone})")  # type: ignore[arg-type]


def on(interaction: str, campaign: str | None = None, **qualifiers: object) -> Trigger:
    """A connector trigger: ``on("click_email_alias", "src", alias="cta")`` (qualifier keys as in YAML)."""
    fields = {q.key: q.field for q in vocabulary.INTERACTIONS[interaction].qualifiers}
    pairs = tuple((fields[key], str(value)) for key, value in qualifiers.items())
    return Trigger(interaction=interaction, campaign=campaign, qualifiers=pairs)


def on_event(name: str, *where: PropertyFilter, product: str | None = None) -> Trigger:
    """An event trigger (``purchase``, ``session_start`` or a custom event), with optional property filters."""
    return Trigger(event=name, product=product, where=tuple(where))


def prop(key: str, op: str, value: Any) -> PropertyFilter:
    """One ``where`` condition."""
    return PropertyFilter(key, op, value)


def window(start: str, end: str) -> Window:
    """A local ``[start, end)`` window from ``HH:MM`` texts."""
    return Window(parse_clock(start), parse_clock(end))


def quiet(start: str, end: str, mode: str = "next_available") -> QuietHours:
    """``quiet_hours: {start, end, mode}``."""
    return QuietHours(window(start, end), mode)  # type: ignore[arg-type]


def send_window(start: str, end: str, next_available: bool = False) -> SendWindow:
    """``send_window: {start, end, next_available}``."""
    return SendWindow(window(start, end), next_available)


def cap(channel: str, max_sends: int, per: str) -> FrequencyCap:
    """A workspace frequency cap: ``cap("push", 2, "1 week")``."""
    amount, unit = per.split()
    return FrequencyCap(channel, max_sends, int(amount), unit.rstrip("s"), per)  # type: ignore[arg-type]


def conversion(event: str, within: str = "3 days", product: str | None = None) -> ConversionEvent:
    """A conversion event (default window 3 days)."""
    return ConversionEvent(event, parse_duration(within), product)


def variants(*pairs: tuple[str, int]) -> tuple[Variant, ...]:
    """``variants(("a", 45), ("b", 45))``."""
    return tuple(Variant(vid, pct) for vid, pct in pairs)


def campaign(
    id: str,
    *triggers: Trigger,
    channels: Sequence[str] = ("push",),
    status: str = "active",
    published_at: str | None = PUBLISHED,
    start_at: str | None = None,
    end_at: str | None = None,
    stopped_at: str | None = None,
    delay: Delay | str = "immediately",
    exceptions: Sequence[Trigger] = (),
    reeligible_after: str | None = None,
    **fields: Any,
) -> Campaign:
    """A campaign (simulated when given triggers, else a source) with sensible defaults: push, active,
    published 2026-01-01, delay immediately, once per user."""
    published = _ms(published_at)
    return Campaign(
        id=id,
        index=0,
        channels=tuple(channels),
        status=status,  # type: ignore[arg-type]
        published_at=published,
        start_at=_ms(start_at) if start_at is not None else published,
        end_at=_ms(end_at),
        stopped_at=_ms(stopped_at),
        triggers=tuple(triggers),
        delay=after(delay) if isinstance(delay, str) else delay,
        exceptions=tuple(exceptions),
        reeligible_after=None if reeligible_after is None else parse_duration(reeligible_after),
        **fields,
    )


def source(id: str, channels: Sequence[str] = ("push",), **fields: Any) -> Campaign:
    """A source campaign: no triggers; its events come from the log."""
    return campaign(id, channels=channels, **fields)


def config(
    *campaigns: Campaign,
    timezone: str = "UTC",
    caps: Iterable[FrequencyCap] = (),
    gcg: GlobalControlGroup | None = None,
) -> Config:
    """A config of these campaigns in this (file) order."""
    indexed = tuple(dataclasses.replace(c, index=i) for i, c in enumerate(campaigns))
    workspace = Workspace(timezone=timezone, global_control_group=gcg, frequency_caps=tuple(caps))
    return Config(workspace=workspace, campaigns=indexed)


# --------------------------------------------------------------------------------------------------
# Events, profiles, replay


def ev(time: str | int, event: str, campaign: str | None = None, *, id: str = "", **fields: Any) -> Event:
    """A logged event. ``replay`` fills in the user, the import order (list position) and, when not given,
    the id ``e<position>`` (1-based)."""
    return Event(time=parse_time(time), seq=0, user_id="", event=event, campaign=campaign, id=id, **fields)


def profile(
    user_id: str = USER,
    *,
    timezone: str | None = None,
    global_control_group: bool | None = None,
    unsubscribed: Iterable[str] = (),
    **attributes: Any,
) -> UserProfile:
    """A users-file row."""
    return UserProfile(user_id, timezone, global_control_group, frozenset(unsubscribed), dict(attributes))


def timeline(events: Sequence[Event], user_id: str = USER) -> list[Event]:
    """Events as the store hands them over: user filled in, ``seq`` = list position (import order), ids
    ``e1, e2 ...`` unless given, sorted by (time, seq)."""
    filled = [
        e._replace(user_id=user_id, seq=i + 1, id=e.id or f"e{i + 1}") for i, e in enumerate(events)
    ]
    return sorted(filled, key=lambda e: (e.time, e.seq))


def run(
    cfg: Config,
    events: Sequence[Event],
    profile: UserProfile | None = None,
    until: str | int | None = None,
    user_id: str = USER,
) -> UserResult:
    """``Engine(cfg).run_user(...)`` on this timeline; ``until`` defaults to ``FAR_FUTURE`` so every send runs.
    Checks the decision invariants of SPEC §4.2 on the way out."""
    from campaign_connector.engine import Engine

    horizon = parse_time(FAR_FUTURE if until is None else until)
    result = Engine(cfg).run_user(user_id, timeline(events, user_id), profile, horizon)
    check_decisions(cfg, result.decisions)
    return result


def replay(
    cfg: Config,
    events: Sequence[Event],
    profile: UserProfile | None = None,
    until: str | int | None = None,
    user_id: str = USER,
) -> list[Decision]:
    """The decisions of one user's replay, ordered as ``sends`` shows them: by ``triggered_at``, then the
    engine's processing order (a stable sort — the engine may append a row when its send resolves)."""
    return sorted(run(cfg, events, profile, until, user_id).decisions, key=lambda d: d.triggered_at)


def check_decisions(cfg: Config, decisions: Sequence[Decision]) -> None:
    """Invariants every decision holds (SPEC §4.2): vocabulary, reason null exactly for sent/control/pending,
    sent_at only on sent rows, variant null on control rows, the campaign a simulated one of the config."""
    simulated = {c.id for c in cfg.campaigns if c.simulated}
    for d in decisions:
        assert d.status in vocabulary.STATUSES, d
        assert (d.reason is None) == (d.status in ("sent", "control", "pending")), d
        assert d.reason is None or d.reason in vocabulary.REASONS, d
        assert (d.status == "cancelled") == (d.reason == "exception"), d
        assert (d.sent_at is not None) == (d.status == "sent"), d
        assert d.status != "control" or d.variant is None, d
        assert d.status not in ("sent", "control", "pending") or d.due_at is not None, d
        assert d.campaign in simulated, d


def rows(decisions: Sequence[Decision], *fields: str) -> list[tuple[Any, ...]]:
    """Selected fields of each decision as tuples, times printed as ISO (``...Z``). Default fields:
    campaign, status, reason, triggered_at, due_at, sent_at."""
    names = fields or ("campaign", "status", "reason", "triggered_at", "due_at", "sent_at")
    out = []
    for d in decisions:
        values = d._asdict()
        out.append(tuple(format_time(values[n]) if n in TIME_FIELDS else values[n] for n in names))
    return out


def one(decisions: Sequence[Decision], *fields: str) -> tuple[Any, ...]:
    """The single decision's selected fields (fails unless exactly one decision)."""
    assert len(decisions) == 1, decisions
    return rows(decisions, *fields)[0]


# --------------------------------------------------------------------------------------------------
# Buckets (SPEC §4), computed independently of the engine


def campaign_bucket(user_id: str, campaign_id: str) -> int:
    """The campaign control/variant bucket 0..99."""
    return int(hashlib.sha256(f"{user_id}:{campaign_id}".encode()).hexdigest()[:15], 16) % 100


def global_bucket(user_id: str) -> int:
    """The global control group bucket 0..9999."""
    return int(hashlib.sha256(f"{user_id}".encode()).hexdigest()[:15], 16) % 10000


def user_in_bucket(campaign_id: str, lo: int, hi: int, prefix: str = "user") -> str:
    """The first user id ``<prefix><n>`` whose bucket for the campaign is in ``[lo, hi)``."""
    n = 0
    while not lo <= campaign_bucket(f"{prefix}{n}", campaign_id) < hi:
        n += 1
    return f"{prefix}{n}"


def user_in_global_bucket(lo: int, hi: int, prefix: str = "user") -> str:
    """The first user id ``<prefix><n>`` whose global bucket is in ``[lo, hi)``."""
    n = 0
    while not lo <= global_bucket(f"{prefix}{n}") < hi:
        n += 1
    return f"{prefix}{n}"
