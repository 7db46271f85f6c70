"""Engine internals and tricky edges: calendar arithmetic across DST, caps at local midnight, tie ordering,
quiet-hour holds with exceptions, the chain-depth guard, conversions, gating of a simulated campaign's own
logged events, reachability, the trace, and the matching helpers. Model objects are built directly."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign_connector.engine import Engine, campaign_bucket, clock, global_bucket
from campaign_connector.engine.match import compare
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
    TraceEntry,
    Trigger,
    UserProfile,
    Variant,
    Window,
    Workspace,
)
from campaign_connector.timeutil import format_time, parse_time

NY = "America/New_York"
BERLIN = "Europe/Berlin"
UNTIL = parse_time("2100-01-01T00:00:00Z")


# --------------------------------------------------------------------------------------------------
# A small builder kit


def ms(text: str) -> int:
    return parse_time(text)


def hhmm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def camp(cid: str, *triggers: Trigger, **fields: Any) -> Campaign:
    """A push campaign published 2026-01-01, immediate delay, once per user (overridable)."""
    base: dict[str, Any] = {"channels": ("push",), "status": "active", "published_at": ms("2026-01-01T00:00:00Z")}
    base.update(fields)
    base.setdefault("start_at", base["published_at"])
    return Campaign(id=cid, index=0, triggers=triggers, **base)


def cfg(*campaigns: Campaign, zone: str = "UTC", caps: tuple[FrequencyCap, ...] = (),
        gcg: GlobalControlGroup | None = None) -> Config:
    indexed = tuple(dataclasses.replace(c, index=i) for i, c in enumerate(campaigns))
    return Config(Workspace(zone, gcg, caps), indexed)


def on(interaction: str, campaign: str | None = None, **qualifiers: str) -> Trigger:
    return Trigger(interaction=interaction, campaign=campaign, qualifiers=tuple(qualifiers.items()))


def event(name: str, **fields: Any) -> Trigger:
    return Trigger(event=name, **fields)


def duration(seconds: int) -> Delay:
    return Delay(kind="duration", seconds=seconds, text=f"{seconds} seconds")


def cap(channel: str, most: int, amount: int, unit: str) -> FrequencyCap:
    return FrequencyCap(channel, most, amount, unit, f"{amount} {unit}")  # type: ignore[arg-type]


def log(*rows: tuple[Any, ...], user: str = "u1") -> list[Event]:
    """Rows (time, event, campaign, **fields as a dict) → the store's ordered Events with ids e1, e2 ..."""
    events = []
    for seq, row in enumerate(rows, 1):
        time, name, campaign = row[0], row[1], row[2] if len(row) > 2 else None
        fields = row[3] if len(row) > 3 else {}
        events.append(Event(ms(time), seq, user, name, campaign, f"e{seq}", **fields))
    return sorted(events, key=lambda e: (e.time, e.seq))


def replay(config: Config, events: list[Event], profile: UserProfile | None = None, until: int | None = UNTIL,
           user: str = "u1", trace: list[TraceEntry] | None = None) -> list[Decision]:
    return Engine(config).run_user(user, events, profile, until, trace).decisions


def show(decisions: list[Decision]) -> list[tuple[Any, ...]]:
    return [(d.campaign, d.status, d.reason, format_time(d.due_at), format_time(d.sent_at)) for d in decisions]


def user_with_bucket(campaign_id: str, lo: int, hi: int) -> str:
    n = 0
    while not lo <= campaign_bucket(f"user{n}", campaign_id) < hi:
        n += 1
    return f"user{n}"


# --------------------------------------------------------------------------------------------------
# Calendar arithmetic (clock)


@pytest.mark.parametrize(
    ("delay", "trigger", "zone", "due"),
    [
        # in_days across the spring-forward gap: 02:30 does not exist on 2026-03-08 in New York → 03:30 EDT.
        (Delay("in_days", days=1, at=hhmm("02:30")), "2026-03-07T12:00:00Z", NY, "2026-03-08T07:30:00Z"),
        # the autumn overlap: 01:30 happens twice on 2026-11-01 → the first (EDT, -4).
        (Delay("in_days", days=1, at=hhmm("01:30")), "2026-10-31T12:00:00Z", NY, "2026-11-01T05:30:00Z"),
        # in 0 days at a time already passed → one day later.
        (Delay("in_days", days=0, at=hhmm("09:00")), "2026-01-05T15:00:00Z", NY, "2026-01-06T14:00:00Z"),
        # in 0 days at a time still ahead → today.
        (Delay("in_days", days=0, at=hhmm("18:00")), "2026-01-05T15:00:00Z", NY, "2026-01-05T23:00:00Z"),
        # the local date, not the UTC date: 2026-01-06T02:00Z is still Jan 5 in New York.
        (Delay("in_days", days=1, at=hhmm("09:00")), "2026-01-06T02:00:00Z", NY, "2026-01-06T14:00:00Z"),
        # next_weekday on that same weekday → 7 days later, even before the hour.
        (Delay("next_weekday", weekday=0, at=hhmm("10:00")), "2026-01-05T12:00:00Z", NY, "2026-01-12T15:00:00Z"),
        # next_weekday from a Friday to Saturday → one day.
        (Delay("next_weekday", weekday=5, at=hhmm("10:00")), "2026-01-09T12:00:00Z", BERLIN, "2026-01-10T09:00:00Z"),
        # exact durations ignore zones and DST: 1 day = 86,400 s across the gap.
        (Delay("duration", seconds=86_400), "2026-03-07T12:00:00Z", NY, "2026-03-08T12:00:00Z"),
    ],
)
def test_delay_due_in_local_calendar(delay: Delay, trigger: str, zone: str, due: str) -> None:
    assert format_time(clock.delay_due(delay, ms(trigger), zone)) == due


@pytest.mark.parametrize(
    ("moment", "minutes", "strictly", "expected"),
    [
        ("2026-01-05T03:00:00Z", hhmm("08:00"), True, "2026-01-05T13:00:00Z"),  # 22:00 local → 08:00 next day
        ("2026-01-05T13:00:00Z", hhmm("08:00"), True, "2026-01-06T13:00:00Z"),  # exactly at it, strictly after
        ("2026-01-05T13:00:00Z", hhmm("08:00"), False, "2026-01-05T13:00:00Z"),  # exactly at it, at-or-after
        ("2026-03-08T06:00:00Z", hhmm("02:30"), False, "2026-03-08T07:30:00Z"),  # the gap: forward to 03:30 EDT
    ],
)
def test_next_local_clock(moment: str, minutes: int, strictly: bool, expected: str) -> None:
    assert format_time(clock.next_local_clock(ms(moment), minutes, NY, strictly)) == expected


@pytest.mark.parametrize(
    ("moment", "days", "expected"),
    [
        ("2026-01-06T04:59:59Z", 1, "2026-01-05T05:00:00Z"),  # 23:59:59 on Jan 5 local → Jan 5 midnight
        ("2026-01-06T05:00:00Z", 1, "2026-01-06T05:00:00Z"),  # local midnight itself starts the new day
        ("2026-01-06T05:00:00Z", 7, "2025-12-31T05:00:00Z"),  # a week: today and the 6 days before
        ("2026-03-09T12:00:00Z", 2, "2026-03-08T05:00:00Z"),  # across spring forward: midnight is still EST
    ],
)
def test_days_start_is_local_midnight(moment: str, days: int, expected: str) -> None:
    assert format_time(clock.days_start(ms(moment), days, NY)) == expected


def test_window_text_and_local_minutes() -> None:
    assert clock.window_text(Window(hhmm("22:00"), hhmm("07:00"))) == "22:00-07:00"
    assert clock.local_day_and_minute(ms("2026-01-05T03:30:00Z"), NY) == (date(2026, 1, 4), hhmm("22:30"))
    assert clock.clock_text(ms("2026-01-05T13:00:00Z"), NY) == "08:00 America/New_York"


# --------------------------------------------------------------------------------------------------
# Matching helpers


@pytest.mark.parametrize(
    ("actual", "op", "expected", "result"),
    [
        ("150", "gte", 100, True),       # numbers compare as numbers when both parse
        ("9", "gt", "10", False),        # … even when both are strings
        ("b", "gt", "a", True),          # otherwise as strings
        (True, "eq", "true", True),      # booleans as true/false
        (100.0, "eq", "100", True),
        ("US", "in", ["US", "CA"], True),
        ("DE", "in", ["US", "CA"], False),
        (None, "exists", True, False),
        (None, "exists", False, True),
        (None, "ne", "x", False),        # an absent value fails every operator but exists: false
        (None, "eq", "x", False),
        (None, "lt", 5, False),
        (["a", "b"], "eq", "b", True),   # a list property equals any of its items
    ],
)
def test_compare(actual: Any, op: str, expected: Any, result: bool) -> None:
    assert compare(actual, op, expected) is result


def test_buckets_follow_the_spec_formula() -> None:
    digest = hashlib.sha256(b"u1:promo").hexdigest()[:15]
    assert campaign_bucket("u1", "promo") == int(digest, 16) % 100
    assert global_bucket("u1") == int(hashlib.sha256(b"u1").hexdigest()[:15], 16) % 10000


def test_purchase_trigger_with_product_and_where() -> None:
    config = cfg(camp("f", event("purchase", product="sku1",
                                 where=(PropertyFilter("price", "gte", 10),))))
    events = log(
        ("2026-02-01T10:00:00Z", "purchase", None, {"properties": {"product_id": "sku2", "price": 50}}),
        ("2026-02-01T11:00:00Z", "purchase", None, {"properties": {"product_id": "sku1", "price": "5"}}),
        ("2026-02-01T12:00:00Z", "purchase", None, {"properties": {"product": "sku1", "price": "12.5"}}),
    )
    assert [d.trigger_event_id for d in replay(config, events)] == ["e3"]


@pytest.mark.parametrize(
    ("trigger", "fields", "matches"),
    [
        (on("click_in_app_message", "s"), {}, True),
        (on("click_in_app_message", "s"), {"button_id": "b1"}, False),
        (on("click_in_app_message_button", "s"), {"button_id": "b1"}, True),
        (on("click_in_app_message_button", "s", button_id="b2"), {"button_id": "b1"}, False),
        (on("open_email_machine", "s"), {"machine_open": True}, True),
        (on("open_email_other", "s"), {"machine_open": True}, False),
        (on("perform_conversion_event", "s", conversion_index="1"), {"conversion_index": 1}, True),
        (on("perform_conversion_event", "s", conversion_index="0"), {"conversion_index": 1}, False),
    ],
)
def test_connector_conditions_and_qualifiers(trigger: Trigger, fields: dict[str, Any], matches: bool) -> None:
    base = trigger.interaction or ""
    name = {"click_in_app_message_button": "click_in_app_message", "open_email_machine": "open_email",
            "open_email_other": "open_email"}.get(base, base)
    config = cfg(camp("s", channels=("in_app", "email")), camp("f", trigger))
    decisions = replay(config, log(("2026-02-01T10:00:00Z", name, "s", fields)))
    assert bool(decisions) is matches


def test_braze_id_resolves_and_alias_any_campaign_matches_canvas_rows() -> None:
    config = cfg(camp("s", channels=("email",), braze_id="abc-123"),
                 camp("by_id", on("click_email", "s")),
                 camp("any", on("click_alias_any_campaign", link_alias="cta"), reeligible_after=0))
    events = log(
        ("2026-02-01T10:00:00Z", "click_email", "abc-123", {"link_alias": "cta"}),
        ("2026-02-01T11:00:00Z", "click_email", None, {"link_alias": "cta"}),
        ("2026-02-01T12:00:00Z", "click_email", "undeclared", {"link_alias": "other"}),
    )
    assert [(d.campaign, d.source_campaign, d.trigger_event_id) for d in replay(config, events)] == [
        ("by_id", "s", "e1"), ("any", "s", "e1"), ("any", None, "e2"),
    ]


# --------------------------------------------------------------------------------------------------
# Ordering


def test_sends_due_together_run_in_config_order_before_a_log_event_at_that_time() -> None:
    config = cfg(
        camp("b", event("go"), delay=duration(3600)),
        camp("a", event("go"), delay=duration(3600)),
        camp("after_a", on("receive_push", "a")),
    )
    events = log(("2026-02-01T10:00:00Z", "go"), ("2026-02-01T11:00:00Z", "go"))
    trace: list[TraceEntry] = []
    decisions = replay(config, events, trace=trace)
    assert [(d.campaign, d.status, d.reason, d.trigger_event_id) for d in decisions] == [
        ("b", "sent", None, "e1"),
        ("a", "sent", None, "e1"),
        # the sends due at 11:00 ran before the log event at 11:00, and so did a's synthetic receipt
        ("after_a", "sent", None, "receive_push:a:u1:2026-02-01T11:00:00Z"),
        ("b", "suppressed", "not_reeligible", "e2"),
        ("a", "suppressed", "not_reeligible", "e2"),
    ]
    decided = [t.campaign for t in trace if t.kind == "decision" and t.text.split(":")[1].strip().startswith("sent")]
    assert decided[:2] == ["b", "a"]


def test_immediate_send_runs_before_the_next_event_at_the_same_instant() -> None:
    config = cfg(
        camp("first", event("go")),
        camp("second", on("receive_push", "first"), delay=duration(60),
             exceptions=(event("go"),)),
    )
    events = log(("2026-02-01T10:00:00Z", "go"), ("2026-02-01T10:00:00Z", "go"))
    decisions = replay(config, events)
    # first sends at 10:00, its receipt triggers second at 10:00; the second `go` at 10:00 does not cancel
    # (same time as the trigger), so second is sent a minute later.
    assert show(decisions) == [
        ("first", "sent", None, "2026-02-01T10:00:00Z", "2026-02-01T10:00:00Z"),
        ("second", "sent", None, "2026-02-01T10:01:00Z", "2026-02-01T10:01:00Z"),
        ("first", "suppressed", "not_reeligible", None, None),
    ]


def test_exception_exactly_at_the_due_time_does_not_cancel() -> None:
    config = cfg(camp("f", event("go"), delay=duration(3600), exceptions=(event("purchase"),)))
    events = log(("2026-02-01T10:00:00Z", "go"), ("2026-02-01T11:00:00Z", "purchase"))
    assert [d.status for d in replay(config, events)] == ["sent"]


def test_trigger_and_exception_event_restarts_the_delay() -> None:
    config = cfg(camp("f", event("go"), delay=duration(3600), exceptions=(event("go"),)))
    events = log(("2026-02-01T10:00:00Z", "go"), ("2026-02-01T10:30:00Z", "go"))
    assert [(d.status, d.reason, d.detail, format_time(d.sent_at)) for d in replay(config, events)] == [
        ("cancelled", "exception", "exception: go at 2026-02-01T10:30:00Z", None),
        ("sent", None, "trigger 0", "2026-02-01T11:30:00Z"),
    ]


# --------------------------------------------------------------------------------------------------
# Quiet hours


def test_quiet_hours_hold_then_send_at_the_end() -> None:
    quiet = QuietHours(Window(hhmm("22:00"), hhmm("08:00")))
    config = cfg(camp("f", event("go"), quiet_hours=quiet), zone=NY)
    decisions = replay(config, log(("2026-02-02T04:00:00Z", "go")))  # 23:00 local
    assert show(decisions) == [("f", "sent", None, "2026-02-02T04:00:00Z", "2026-02-02T13:00:00Z")]
    assert decisions[0].detail == "held by quiet hours until 08:00 America/New_York"


def test_exception_during_a_quiet_hours_hold_cancels() -> None:
    quiet = QuietHours(Window(hhmm("22:00"), hhmm("08:00")))
    config = cfg(camp("f", event("go"), delay=duration(3600), quiet_hours=quiet,
                      exceptions=(event("purchase"),)), zone=NY)
    events = log(("2026-02-02T03:30:00Z", "go"), ("2026-02-02T10:00:00Z", "purchase"))  # due 23:30 local
    trace: list[TraceEntry] = []
    decisions = replay(config, events, trace=trace)
    assert show(decisions) == [("f", "cancelled", "exception", "2026-02-02T04:30:00Z", None)]
    assert [t.kind for t in trace if t.kind in ("hold", "exception")] == ["hold", "exception"]


def test_a_hold_re_runs_the_due_time_checks() -> None:
    quiet = QuietHours(Window(hhmm("22:00"), hhmm("08:00")))
    config = cfg(camp("f", event("go"), quiet_hours=quiet, end_at=ms("2026-02-02T12:00:00Z")), zone=NY)
    decisions = replay(config, log(("2026-02-02T04:00:00Z", "go")))
    assert show(decisions) == [("f", "suppressed", "outside_duration", "2026-02-02T04:00:00Z", None)]


def test_quiet_hours_abort() -> None:
    quiet = QuietHours(Window(hhmm("22:00"), hhmm("08:00")), mode="abort")
    config = cfg(camp("f", event("go"), quiet_hours=quiet), zone=NY)
    decisions = replay(config, log(("2026-02-02T04:00:00Z", "go")))
    assert (decisions[0].status, decisions[0].reason, decisions[0].detail) == (
        "suppressed", "quiet_hours", "quiet hours 22:00-08:00 America/New_York")


def test_pending_at_the_horizon_keeps_its_hold_in_the_detail() -> None:
    quiet = QuietHours(Window(hhmm("22:00"), hhmm("08:00")))
    config = cfg(camp("f", event("go"), quiet_hours=quiet), zone=NY)
    decisions = replay(config, log(("2026-02-02T04:00:00Z", "go")), until=ms("2026-02-02T05:00:00Z"))
    assert show(decisions) == [("f", "pending", None, "2026-02-02T04:00:00Z", None)]
    assert decisions[0].detail == "held by quiet hours until 08:00 America/New_York"


# --------------------------------------------------------------------------------------------------
# Send window


def test_send_window_next_available_moves_the_due_time() -> None:
    window = SendWindow(Window(hhmm("09:00"), hhmm("20:00")), next_available=True)
    config = cfg(camp("f", event("go"), delay=duration(6 * 3600), send_window=window), zone=NY)
    decisions = replay(config, log(("2026-02-02T23:00:00Z", "go")))  # 18:00 local, due 00:00 local
    assert show(decisions) == [("f", "sent", None, "2026-02-03T14:00:00Z", "2026-02-03T14:00:00Z")]


def test_send_window_without_next_available_suppresses_at_once() -> None:
    window = SendWindow(Window(hhmm("09:00"), hhmm("20:00")))
    config = cfg(camp("f", event("go"), delay=duration(6 * 3600), send_window=window), zone=NY)
    events = log(("2026-02-02T23:00:00Z", "go"), ("2026-02-03T15:00:00Z", "go"))
    assert show(replay(config, events)) == [
        ("f", "suppressed", "outside_send_window", None, None),
        ("f", "sent", None, "2026-02-03T21:00:00Z", "2026-02-03T21:00:00Z"),  # not blocked by the first
    ]


# --------------------------------------------------------------------------------------------------
# Frequency caps


def test_day_cap_resets_at_the_users_local_midnight() -> None:
    config = cfg(camp("src"), camp("f", event("go"), reeligible_after=0), caps=(cap("push", 1, 1, "day"),))
    ny = UserProfile("u1", timezone=NY)
    events = log(
        ("2026-02-02T04:59:00Z", "receive_push", "src"),  # 23:59 on Feb 1, local
        ("2026-02-02T04:59:30Z", "go"),                    # still Feb 1 local → capped
        ("2026-02-02T05:00:00Z", "go"),                    # local midnight → a new day
    )
    decisions = replay(config, events, ny)
    assert [(d.status, d.reason, d.detail) for d in decisions] == [
        ("suppressed", "frequency_cap", "cap push 1/1 day"),
        ("sent", None, "trigger 0"),
    ]


def test_week_cap_spans_seven_calendar_days_and_hour_caps_roll() -> None:
    caps = (cap("push", 1, 1, "week"),)
    config = cfg(camp("src"), camp("f", event("go"), reeligible_after=0), caps=caps)
    events = log(
        ("2026-02-01T10:00:00Z", "receive_push", "src"),
        ("2026-02-07T23:59:00Z", "go"),  # day 7 of the week that includes Feb 1 → capped
        ("2026-02-08T00:00:00Z", "go"),  # Feb 1 has left the 7 calendar days
    )
    assert [d.status for d in replay(config, events)] == ["suppressed", "sent"]
    hourly = cfg(camp("src"), camp("f", event("go"), reeligible_after=0), caps=(cap("push", 1, 1, "hour"),))
    events = log(
        ("2026-02-01T10:00:00Z", "receive_push", "src"),
        ("2026-02-01T10:59:59Z", "go"),  # inside (due − 1 h, due]
        ("2026-02-01T11:00:00Z", "go"),  # exactly 1 h later: the first receipt is out of the window
    )
    assert [d.status for d in replay(hourly, events)] == ["suppressed", "sent"]


def test_what_counts_toward_caps() -> None:
    config = cfg(
        camp("src"),
        camp("free", frequency_capping=False),
        camp("sim"),  # simulated below: its logged receipts are ignored
        camp("sim_f", on("click_email", "x"), channels=("push",)),
        camp("f", event("go"), reeligible_after=0),
        caps=(cap("push", 1, 1, "day"),),
    )
    config = dataclasses.replace(config, campaigns=tuple(
        dataclasses.replace(c, triggers=(event("never"),)) if c.id == "sim" else c for c in config.campaigns))
    assert [d.status for d in replay(config, log(
        ("2026-02-01T09:00:00Z", "receive_push", "free"),
        ("2026-02-01T09:00:00Z", "receive_push", "sim"),
        ("2026-02-01T09:00:00Z", "receive_in_app", "src"),
        ("2026-02-01T10:00:00Z", "go"),
    ))] == ["sent"]
    for counted in ("src", "undeclared", None):
        assert [d.status for d in replay(config, log(
            ("2026-02-01T09:00:00Z", "receive_push", counted),
            ("2026-02-01T10:00:00Z", "go"),
        ))] == ["suppressed"], counted


def test_multichannel_cap_drops_one_channel_and_any_cap_stops_all() -> None:
    both = camp("f", event("go"), channels=("email", "push", "in_app"), reeligible_after=0)
    config = cfg(camp("src"), both, caps=(cap("push", 1, 1, "day"),))
    events = log(("2026-02-01T09:00:00Z", "receive_push", "src"), ("2026-02-01T10:00:00Z", "go"))
    trace: list[TraceEntry] = []
    [decision] = replay(config, events, trace=trace)
    assert (decision.status, decision.channels, decision.detail) == (
        "sent", ("email", "in_app"), "cap push 1/1 day (push not sent)")
    assert any(t.kind == "cap" and "receive_push of src at 2026-02-01T09:00:00Z" in t.text for t in trace)
    config = cfg(camp("src"), both, caps=(cap("any", 2, 1, "day"),))
    events = log(("2026-02-01T09:00:00Z", "go"), ("2026-02-01T10:00:00Z", "go"), ("2026-02-01T11:00:00Z", "go"))
    # the first send counts once toward `any` (not once per channel): the second fits, the third is capped
    assert [(d.status, d.reason, d.detail) for d in replay(config, events)] == [
        ("sent", None, "trigger 0"), ("sent", None, "trigger 0"),
        ("suppressed", "frequency_cap", "cap any 2/1 day"),
    ]


def test_in_app_only_campaigns_are_never_capped() -> None:
    config = cfg(camp("src"), camp("f", event("go"), channels=("in_app",)), caps=(cap("any", 0, 1, "day"),))
    assert [d.status for d in replay(config, log(("2026-02-01T10:00:00Z", "go")))] == ["sent"]


# --------------------------------------------------------------------------------------------------
# Reachability, control, variants, global control group


def test_reachability_drops_unsubscribed_channels() -> None:
    config = cfg(camp("f", event("go"), channels=("email", "push")))
    events = log(("2026-02-01T10:00:00Z", "go"))
    [partial] = replay(config, events, UserProfile("u1", unsubscribed=frozenset({"push"})))
    assert (partial.status, partial.channels, partial.detail) == ("sent", ("email",), "unsubscribed: push")
    [none] = replay(config, events, UserProfile("u1", unsubscribed=frozenset({"push", "email"})))
    assert (none.status, none.reason, none.channels) == ("suppressed", "not_reachable", ("email", "push"))


def test_control_then_variants_by_bucket() -> None:
    variants = (Variant("a", 30), Variant("b", 50))
    config = cfg(camp("f", event("go"), control_group=20, variants=variants))
    events = log(("2026-02-01T10:00:00Z", "go"))
    for lo, hi, expected in ((0, 20, ("control", None)), (20, 50, ("sent", "a")), (50, 100, ("sent", "b"))):
        user = user_with_bucket("f", lo, hi)
        [d] = replay(config, log(("2026-02-01T10:00:00Z", "go"), user=user), user=user)
        assert (d.status, d.variant) == expected
        if d.status == "control":
            assert (d.due_at, d.sent_at) == (events[0].time, None)


def test_global_control_group_override_and_excluded_tags() -> None:
    gcg = GlobalControlGroup(0, exclude_tags=("transactional",))
    config = cfg(camp("f", event("go")), camp("t", event("go"), tags=("transactional",)), gcg=gcg)
    events = log(("2026-02-01T10:00:00Z", "go"))
    decisions = replay(config, events, UserProfile("u1", global_control_group=True))
    assert [(d.campaign, d.reason) for d in decisions] == [("f", "global_control_group"), ("t", None)]
    everyone = cfg(camp("f", event("go")), gcg=GlobalControlGroup(100))
    assert [d.reason for d in replay(everyone, events, UserProfile("u1", global_control_group=False))] == [None]
    assert [d.reason for d in replay(everyone, events)] == ["global_control_group"]


# --------------------------------------------------------------------------------------------------
# Chaining, gating of logged events, conversions, chain depth


def test_logged_engagement_of_a_simulated_campaign_counts_only_after_a_replay_send() -> None:
    config = cfg(
        camp("f", event("go"), channels=("email",)),
        camp("g", on("open_email", "f"), reeligible_after=0),
    )
    events = log(
        ("2026-02-01T09:00:00Z", "open_email", "f"),     # before any replay send: ignored
        ("2026-02-01T09:30:00Z", "receive_email", "f"),  # the log's own delivery: ignored
        ("2026-02-01T10:00:00Z", "go"),
        ("2026-02-01T10:00:00Z", "open_email", "f"),     # same instant, after the send ran: counts
    )
    trace: list[TraceEntry] = []
    decisions = replay(config, events, trace=trace)
    assert [(d.campaign, d.trigger_event_id) for d in decisions] == [("f", "e3"), ("g", "e4")]
    assert sum(1 for t in trace if t.text.startswith("ignored logged")) == 2


def test_conversions_first_match_in_the_window_once_per_send() -> None:
    conversions = (ConversionEvent("purchase", 86_400), ConversionEvent("add_to_cart", 3600))
    config = cfg(
        camp("f", event("go"), conversion_events=conversions),
        camp("thanks", on("perform_conversion_event", "f", conversion_index="0")),
    )
    events = log(
        ("2026-02-01T10:00:00Z", "go"),
        ("2026-02-01T10:00:00Z", "purchase"),      # at the send time: not after it
        ("2026-02-01T12:00:00Z", "add_to_cart"),   # 2 h later: outside the 1 h window
        ("2026-02-01T15:00:00Z", "purchase"),      # converts conversion 0
        ("2026-02-01T16:00:00Z", "purchase"),      # once per send
    )
    result = Engine(config).run_user("u1", events, None, UNTIL)
    assert [(c.campaign, c.conversion_index, c.event_id, c.decision, c.control) for c in result.conversions] == [
        ("f", 0, "e4", 0, False)]
    assert [(d.campaign, d.trigger_event_id) for d in result.decisions] == [
        ("f", "e1"), ("thanks", "perform_conversion_event:f:u1:2026-02-01T15:00:00Z")]


def test_logged_conversions_of_a_simulated_campaign_are_ignored() -> None:
    config = cfg(camp("f", event("go")), camp("g", on("perform_conversion_event", "f")))
    events = log(("2026-02-01T10:00:00Z", "go"), ("2026-02-01T11:00:00Z", "perform_conversion_event", "f"))
    assert [d.campaign for d in replay(config, events)] == ["f"]


def test_control_enrollment_chains_and_converts() -> None:
    user = user_with_bucket("f", 0, 50)
    config = cfg(
        camp("f", event("go"), control_group=50, conversion_events=(ConversionEvent("purchase", 86_400),)),
        camp("g", on("enroll_in_control_group", "f")),
    )
    events = log(("2026-02-01T10:00:00Z", "go"), ("2026-02-01T11:00:00Z", "purchase"), user=user)
    result = Engine(config).run_user(user, events, None, UNTIL)
    assert [(d.campaign, d.status) for d in result.decisions] == [("f", "control"), ("g", "sent")]
    assert [(c.campaign, c.control) for c in result.conversions] == [("f", True)]


def test_chain_depth_stops_an_endless_chain_at_one_instant() -> None:
    config = cfg(
        camp("a", event("go"), on("receive_push", "b"), reeligible_after=0),
        camp("b", on("receive_push", "a"), reeligible_after=0),
    )
    decisions = replay(config, log(("2026-02-01T10:00:00Z", "go")))
    assert [d.status for d in decisions[:32]] == ["sent"] * 32
    assert (decisions[32].status, decisions[32].reason) == ("suppressed", "chain_depth")
    assert len(decisions) == 33
    assert len({d.trigger_event_id for d in decisions}) == 33  # synthetic ids stay unique


def test_stopped_at_cancels_what_is_still_pending() -> None:
    config = cfg(camp("f", event("go"), delay=duration(86_400), stopped_at=ms("2026-02-01T12:00:00Z")))
    events = log(("2026-02-01T10:00:00Z", "go"), ("2026-02-01T13:00:00Z", "go"))
    assert [(d.status, d.reason) for d in replay(config, events)] == [
        ("suppressed", "campaign_stopped"), ("suppressed", "campaign_stopped")]


# --------------------------------------------------------------------------------------------------
# Zones, horizon, trace, determinism


def test_user_zone_is_the_latest_event_zone_at_or_before_the_moment() -> None:
    delay = Delay("in_days", days=1, at=hhmm("09:00"))
    config = cfg(camp("f", event("go"), delay=delay, reeligible_after=0), zone=NY)
    events = log(
        ("2026-02-01T10:00:00Z", "session_start", None, {"timezone": BERLIN}),
        ("2026-02-01T11:00:00Z", "go"),
        ("2026-02-03T10:00:00Z", "session_start", None, {"timezone": "Asia/Tokyo"}),
        ("2026-02-03T11:00:00Z", "go"),
    )
    assert [format_time(d.due_at) for d in replay(config, events)] == [
        "2026-02-02T08:00:00Z", "2026-02-04T00:00:00Z"]
    # the users file's zone wins; the workspace's is the fallback
    assert [format_time(d.due_at) for d in replay(config, events, UserProfile("u1", timezone="UTC"))] == [
        "2026-02-02T09:00:00Z", "2026-02-04T09:00:00Z"]
    assert format_time(replay(config, log(("2026-02-01T11:00:00Z", "go")))[0].due_at) == "2026-02-02T14:00:00Z"


def test_company_zone_ignores_the_user_zone() -> None:
    delay = Delay("in_days", days=1, at=hhmm("09:00"), zone="company")
    config = cfg(camp("f", event("go"), delay=delay), zone=NY)
    decisions = replay(config, log(("2026-02-01T11:00:00Z", "go")), UserProfile("u1", timezone=BERLIN))
    assert format_time(decisions[0].due_at) == "2026-02-02T14:00:00Z"


def test_horizon_ignores_later_events_and_leaves_sends_pending() -> None:
    config = cfg(camp("f", event("go"), delay=duration(86_400), exceptions=(event("purchase"),)))
    events = log(("2026-02-01T10:00:00Z", "go"), ("2026-02-01T20:00:00Z", "purchase"))
    assert show(replay(config, events, until=ms("2026-02-01T19:00:00Z"))) == [
        ("f", "pending", None, "2026-02-02T10:00:00Z", None)]
    assert show(replay(config, events, until=None)) == [("f", "cancelled", "exception", "2026-02-02T10:00:00Z", None)]


def test_draft_records_nothing_and_before_publish_explains_itself() -> None:
    config = cfg(camp("d", event("go"), status="draft", published_at=None),
                 camp("f", event("go"), published_at=ms("2026-01-22T00:00:00Z")))
    trace: list[TraceEntry] = []
    decisions = replay(config, log(("2026-01-10T08:00:00Z", "go")), trace=trace)
    assert [(d.campaign, d.reason, d.detail) for d in decisions] == [
        ("f", "before_publish", "published 2026-01-22T00:00:00Z")]
    [why] = [t.text for t in trace if t.kind == "decision"]
    assert "the follow-up was published 2026-01-22T00:00:00Z; this go was on 2026-01-10T08:00:00Z" in why
    assert {t.kind for t in trace} == {"event", "trigger", "decision"}


def test_trace_does_not_change_decisions_and_runs_are_deterministic() -> None:
    config = cfg(
        camp("src", channels=("email",)),
        camp("f", on("open_email", "src"), delay=duration(3600), exceptions=(event("purchase"),),
             conversion_events=(ConversionEvent("purchase", 86_400),), reeligible_after=60),
        camp("g", on("receive_push", "f"), channels=("email",)),
    )
    events = log(
        ("2026-02-01T10:00:00Z", "open_email", "src"),
        ("2026-02-01T10:30:00Z", "purchase"),
        ("2026-02-01T12:00:00Z", "open_email", "src", {"machine_open": True}),
        ("2026-02-01T14:00:00Z", "purchase"),
    )
    engine = Engine(config)
    plain = engine.run_user("u1", events, None, UNTIL)
    trace: list[TraceEntry] = []
    assert engine.run_user("u1", events, None, UNTIL, trace) == plain
    assert Engine(config).run_user("u1", events, None, UNTIL) == plain
    kinds = {t.kind for t in trace}
    assert {"event", "synthetic", "trigger", "pending", "exception", "decision", "conversion"} <= kinds
    assert [t.time for t in trace] == sorted(t.time for t in trace)  # explain reads it as a timeline


def test_without_a_horizon_a_delayed_cycle_stops_ten_years_after_the_last_event() -> None:
    config = cfg(
        camp("a", event("go"), on("receive_push", "b"), delay=duration(30 * 86_400), reeligible_after=0),
        camp("b", on("receive_push", "a"), delay=duration(30 * 86_400), reeligible_after=0),
    )
    decisions = replay(config, log(("2026-02-01T10:00:00Z", "go")), until=None)
    assert {d.status for d in decisions[:-1]} == {"sent"}
    assert decisions[-1].status == "pending"
    assert decisions[-1].due_at > ms("2036-01-29T10:00:00Z")


# --------------------------------------------------------------------------------------------------
# Properties


RICH = cfg(
    camp("src", channels=("email",)),
    camp("f", on("open_email", "src"), event("cart"), delay=duration(3600), exceptions=(event("purchase"),),
         control_group=30, variants=(Variant("a", 70),), reeligible_after=1800,
         conversion_events=(ConversionEvent("purchase", 86_400),),
         quiet_hours=QuietHours(Window(hhmm("22:00"), hhmm("07:00")))),
    camp("g", on("receive_push", "f"), on("enroll_in_control_group", "f"), on("perform_conversion_event", "f"),
         channels=("email", "sms"), reeligible_after=0,
         send_window=SendWindow(Window(hhmm("08:00"), hhmm("21:00")), next_available=True)),
    zone=NY, caps=(cap("email", 2, 1, "day"), cap("any", 3, 1, "week")),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6 * 24 * 60), st.sampled_from(
    ["open_email", "cart", "purchase", "receive_email", "session_start"])), max_size=25),
    st.sampled_from(["u1", "u2", "u3", "u7"]))
def test_trace_and_engine_reuse_change_nothing(rows: list[tuple[int, str]], user: str) -> None:
    start = ms("2026-02-01T00:00:00Z")
    events = sorted(
        (Event(start + minute * 60_000, seq, user, name, "src" if name in ("open_email", "receive_email") else None,
               f"e{seq}") for seq, (minute, name) in enumerate(rows, 1)),
        key=lambda e: (e.time, e.seq),
    )
    fresh = Engine(RICH).run_user(user, events, None, UNTIL)
    trace: list[TraceEntry] = []
    assert REUSED.run_user(user, events, None, UNTIL, trace) == fresh
    assert [t.time for t in trace] == sorted(t.time for t in trace)
    for d in fresh.decisions:
        assert d.status != "sent" or campaign_bucket(user, d.campaign) >= (30 if d.campaign == "f" else 0)
        assert d.triggered_at <= (d.due_at or d.triggered_at) <= (d.sent_at or d.due_at or d.triggered_at)


REUSED = Engine(RICH)
