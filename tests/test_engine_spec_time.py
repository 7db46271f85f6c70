"""Engine spec: delay forms in user and company zones with DST, the user's zone, send windows and quiet hours
(SPEC §2.1, §4 "Triggering" 8 and "At the due time", §4.1 "Time zone", "Windows", "Times in a row").

Spec-silent choices assumed here:
- Calendar delays and the send window read the user's zone at the trigger time; quiet hours read it at the due
  time (SPEC §4.1: the zone "at a moment").
- ``next_weekday`` triggered on that weekday is 7 days later even when ``at`` has not passed yet that day
  (the reference's "same weekday ⇒ +7").
- A send held by quiet hours keeps ``due_at`` (where the delay and send window put it) and gets ``sent_at`` =
  the end of quiet hours; a held send re-checks ``end_at`` and caps at the new time.
- An ``outside_send_window`` row made because the due time falls outside the window is not asserted on
  ``due_at`` (the spec says both "null when no send was scheduled" and "when the delay put the send").
"""

from __future__ import annotations

from typing import Any

import pytest
from enginekit import (
    after,
    campaign,
    cap,
    config,
    ev,
    in_days,
    next_weekday,
    on_event,
    profile,
    quiet,
    replay,
    rows,
    send_window,
    source,
)

from campaign_connector.model import Config, Delay

NY = "America/New_York"


def due_of(delay: Delay, trigger_at: str, *, user_zone: str | None = NY, company: str = "UTC") -> str:
    cfg = config(campaign("f", on_event("purchase"), delay=delay), timezone=company)
    decisions = replay(cfg, [ev(trigger_at, "purchase")], profile(timezone=user_zone))
    assert [d.status for d in decisions] == ["sent"]
    ((due, sent),) = rows(decisions, "due_at", "sent_at")
    assert due == sent
    return due


@pytest.mark.parametrize(
    ("delay", "trigger_at", "expected"),
    [
        (after("immediately"), "2026-01-05T10:00:00.250Z", "2026-01-05T10:00:00.250Z"),
        (after("90 seconds"), "2026-01-05T10:00:00Z", "2026-01-05T10:01:30Z"),
        (after("1 second"), "2026-01-05T10:00:00.500Z", "2026-01-05T10:00:01.500Z"),
        (after("2 hours"), "2026-01-05T23:00:00Z", "2026-01-06T01:00:00Z"),
        (after("1 day"), "2026-03-07T17:00:00Z", "2026-03-08T17:00:00Z"),
        (after("1 week"), "2026-10-29T12:00:00Z", "2026-11-05T12:00:00Z"),
        (after("3 weeks"), "2026-01-05T10:00:00Z", "2026-01-26T10:00:00Z"),
    ],
    ids=["immediately", "90-seconds", "1-second-keeps-ms", "2-hours", "1-day-across-spring-forward",
         "1-week-across-fall-back", "3-weeks"],
)
def test_duration_delays_are_exact_seconds(delay: Delay, trigger_at: str, expected: str) -> None:
    assert due_of(delay, trigger_at) == expected


@pytest.mark.parametrize(
    ("delay", "trigger_at", "expected"),
    [
        # Monday 21:00 New York (already Tuesday in UTC) + 1 calendar day at 09:00 → Tuesday 09:00 EST.
        (in_days(1, "09:00"), "2026-01-06T02:00:00Z", "2026-01-06T14:00:00Z"),
        (in_days(0, "09:00"), "2026-01-05T13:00:00Z", "2026-01-05T14:00:00Z"),
        (in_days(0, "09:00"), "2026-01-05T14:00:00Z", "2026-01-06T14:00:00Z"),
        (in_days(0, "09:00"), "2026-01-05T15:00:00Z", "2026-01-06T14:00:00Z"),
        (in_days(3, "00:00"), "2026-01-05T15:00:00Z", "2026-01-08T05:00:00Z"),
        # Saturday noon EST + 1 day at 02:30: 02:30 does not exist on 2026-03-08 → 03:30 EDT.
        (in_days(1, "02:30"), "2026-03-07T17:00:00Z", "2026-03-08T07:30:00Z"),
        (in_days(1, "09:00"), "2026-03-07T17:00:00Z", "2026-03-08T13:00:00Z"),
        # Saturday noon EDT + 1 day at 01:30: 01:30 happens twice on 2026-11-01 → the first (EDT).
        (in_days(1, "01:30"), "2026-10-31T16:00:00Z", "2026-11-01T05:30:00Z"),
        (in_days(1, "09:00"), "2026-10-31T16:00:00Z", "2026-11-01T14:00:00Z"),
    ],
    ids=["next-local-day", "today-later", "today-at-exactly-trigger-is-tomorrow", "today-passed-is-tomorrow",
         "3-days-midnight", "dst-gap-moves-forward", "after-spring-forward", "ambiguous-takes-first",
         "after-fall-back"],
)
def test_in_days_delay_in_user_zone(delay: Delay, trigger_at: str, expected: str) -> None:
    assert due_of(delay, trigger_at) == expected


@pytest.mark.parametrize(
    ("delay", "trigger_at", "expected"),
    [
        # Monday 08:00 EST, next Monday at 09:00 → a week later even though 09:00 has not come yet.
        (next_weekday("monday", "09:00"), "2026-01-05T13:00:00Z", "2026-01-12T14:00:00Z"),
        (next_weekday("monday", "09:00"), "2026-01-05T20:00:00Z", "2026-01-12T14:00:00Z"),
        # Monday 20:00 EST (Tuesday 01:00 UTC), next Tuesday → the next day in New York.
        (next_weekday("tuesday", "09:00"), "2026-01-06T01:00:00Z", "2026-01-06T14:00:00Z"),
        (next_weekday("sunday", "10:00"), "2026-01-05T13:00:00Z", "2026-01-11T15:00:00Z"),
        # Friday 2026-03-06, next Sunday 02:30 → the DST gap → 03:30 EDT.
        (next_weekday("sunday", "02:30"), "2026-03-06T17:00:00Z", "2026-03-08T07:30:00Z"),
        (next_weekday("sunday", "01:30"), "2026-10-30T16:00:00Z", "2026-11-01T05:30:00Z"),
    ],
    ids=["same-weekday-before-at-is-plus-7", "same-weekday-after-at-is-plus-7", "local-weekday-not-utc",
         "six-days", "dst-gap", "ambiguous"],
)
def test_next_weekday_delay_in_user_zone(delay: Delay, trigger_at: str, expected: str) -> None:
    assert due_of(delay, trigger_at) == expected


@pytest.mark.parametrize(
    ("delay", "expected"),
    [
        # 2026-01-05T23:30Z is Tuesday 00:30 in Berlin, Monday 18:30 in New York.
        (in_days(1, "09:00", zone="company"), "2026-01-07T08:00:00Z"),
        (in_days(1, "09:00", zone="user"), "2026-01-06T14:00:00Z"),
        (next_weekday("tuesday", "09:00", zone="company"), "2026-01-13T08:00:00Z"),
        (next_weekday("tuesday", "09:00", zone="user"), "2026-01-06T14:00:00Z"),
    ],
    ids=["in-days-company", "in-days-user", "weekday-company", "weekday-user"],
)
def test_calendar_delays_in_company_or_user_zone(delay: Delay, expected: str) -> None:
    assert due_of(delay, "2026-01-05T23:30:00Z", company="Europe/Berlin") == expected


def test_company_zone_dst_gap() -> None:
    # Berlin springs forward on 2026-03-29 at 02:00 → 02:30 does not exist → 03:30 CEST = 01:30Z.
    delay = in_days(1, "02:30", zone="company")
    assert due_of(delay, "2026-03-28T12:00:00Z", company="Europe/Berlin") == "2026-03-29T01:30:00Z"


# --------------------------------------------------------------------------------------------------
# The user's zone: users file, else the latest event zone at or before, else the workspace


ZONED = config(campaign("f", on_event("purchase"), delay=in_days(1, "09:00")), timezone="Europe/Berlin")


@pytest.mark.parametrize(
    ("user_zone", "earlier", "expected"),
    [
        (None, [], "2026-01-06T08:00:00Z"),
        ("", [], "2026-01-06T08:00:00Z"),
        (NY, [], "2026-01-06T14:00:00Z"),
        (None, [ev("2026-01-01T00:00:00Z", "session_start", timezone="Asia/Tokyo")], "2026-01-06T00:00:00Z"),
        (NY, [ev("2026-01-01T00:00:00Z", "session_start", timezone="Asia/Tokyo")], "2026-01-06T14:00:00Z"),
        ("", [ev("2026-01-01T00:00:00Z", "session_start", timezone="Asia/Tokyo")], "2026-01-06T00:00:00Z"),
        (None, [ev("2026-01-01T00:00:00Z", "session_start", timezone="Asia/Tokyo"),
                ev("2026-01-03T00:00:00Z", "session_start", timezone=NY)], "2026-01-06T14:00:00Z"),
        (None, [ev("2026-01-03T00:00:00Z", "session_start", timezone="Asia/Tokyo"),
                ev("2026-01-04T00:00:00Z", "session_start")], "2026-01-06T00:00:00Z"),
        (None, [ev("2026-01-05T12:00:00Z", "session_start", timezone="Asia/Tokyo")], "2026-01-06T00:00:00Z"),
        (None, [ev("2026-01-05T12:00:00.001Z", "session_start", timezone="Asia/Tokyo")], "2026-01-06T08:00:00Z"),
    ],
    ids=["workspace", "empty-profile-zone-is-none", "profile", "event-zone", "profile-beats-event",
         "empty-profile-falls-to-event", "latest-event-zone", "zone-less-event-keeps-last-zone",
         "event-zone-at-trigger-time", "event-zone-after-trigger-ignored"],
)
def test_user_zone_is_profile_then_latest_event_zone_then_workspace(
    user_zone: str | None, earlier: list, expected: str
) -> None:
    events = [*earlier, ev("2026-01-05T12:00:00Z", "purchase")]
    decisions = [d for d in replay(ZONED, events, profile(timezone=user_zone)) if d.trigger == "purchase"]
    assert rows(decisions, "due_at") == [(expected,)]


def test_the_trigger_events_own_zone_counts() -> None:
    decisions = replay(ZONED, [ev("2026-01-05T12:00:00Z", "purchase", timezone="Asia/Tokyo")])
    assert rows(decisions, "due_at") == [("2026-01-06T00:00:00Z",)]


# --------------------------------------------------------------------------------------------------
# Send window (decided at trigger time)


def windowed(delay: str = "immediately", *, start: str = "09:00", end: str = "20:00",
             next_available: bool = False) -> Config:
    return config(campaign("f", on_event("purchase"), delay=delay, reeligible_after="0 seconds",
                           send_window=send_window(start, end, next_available)))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-01-05T08:59:59.999Z", ("suppressed", "outside_send_window")),
        ("2026-01-05T09:00:00Z", ("sent", None)),
        ("2026-01-05T19:59:59.999Z", ("sent", None)),
        ("2026-01-05T20:00:00Z", ("suppressed", "outside_send_window")),
        ("2026-01-05T23:00:00Z", ("suppressed", "outside_send_window")),
    ],
    ids=["just-before-start", "at-start", "just-before-end", "at-end", "night"],
)
def test_a_trigger_outside_the_send_window_is_outside_send_window(at: str, expected: tuple) -> None:
    decisions = replay(windowed(), [ev(at, "purchase")])
    assert rows(decisions, "status", "reason") == [expected]
    if expected[0] == "suppressed":
        assert decisions[0].due_at is None


def test_outside_send_window_does_not_block_later_triggers() -> None:
    cfg = config(campaign("f", on_event("purchase"), send_window=send_window("09:00", "20:00")))
    events = [ev("2026-01-05T08:00:00Z", "purchase"), ev("2026-01-05T10:00:00Z", "purchase")]
    assert rows(replay(cfg, events), "status", "reason", "sent_at") == [
        ("suppressed", "outside_send_window", None), ("sent", None, "2026-01-05T10:00:00Z"),
    ]


def test_send_window_is_user_local() -> None:
    cfg = config(campaign("f", on_event("purchase"), send_window=send_window("09:00", "20:00")))
    # 10:00 UTC is 05:00 in New York: outside; 15:00 UTC is 10:00 there: inside.
    assert rows(replay(cfg, [ev("2026-01-05T10:00:00Z", "purchase")], profile(timezone=NY)), "reason") == [
        ("outside_send_window",)]
    assert rows(replay(cfg, [ev("2026-01-05T15:00:00Z", "purchase")], profile(timezone=NY)), "reason") == [(None,)]


def test_a_due_time_outside_the_window_without_next_available_is_outside_send_window_at_once() -> None:
    events = [ev("2026-01-05T19:00:00Z", "purchase"), ev("2026-01-05T19:30:00Z", "purchase")]
    decisions = replay(windowed("2 hours"), events, until="2026-01-05T19:45:00Z")
    assert rows(decisions, "status", "reason", "triggered_at", "sent_at") == [
        ("suppressed", "outside_send_window", "2026-01-05T19:00:00Z", None),
        ("suppressed", "outside_send_window", "2026-01-05T19:30:00Z", None),
    ]


@pytest.mark.parametrize(
    ("delay", "at", "expected_due"),
    [
        ("2 hours", "2026-01-05T19:00:00Z", "2026-01-06T09:00:00Z"),
        ("23 hours", "2026-01-05T09:30:00Z", "2026-01-06T09:00:00Z"),
        ("1 hour", "2026-01-05T18:00:00Z", "2026-01-05T19:00:00Z"),
    ],
    ids=["after-end-moves-to-next-day-start", "before-start-moves-to-same-day-start", "inside-stays"],
)
def test_next_available_moves_the_due_time_to_the_window_start(delay: str, at: str, expected_due: str) -> None:
    decisions = replay(windowed(delay, next_available=True), [ev(at, "purchase")])
    assert rows(decisions, "status", "triggered_at", "due_at", "sent_at") == [
        ("sent", at, expected_due, expected_due),
    ]


def test_next_available_does_not_rescue_a_trigger_outside_the_window() -> None:
    decisions = replay(windowed("1 hour", next_available=True), [ev("2026-01-05T21:00:00Z", "purchase")])
    assert rows(decisions, "status", "reason", "due_at") == [("suppressed", "outside_send_window", None)]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-01-05T22:00:00Z", "sent"),
        ("2026-01-05T23:30:00Z", "sent"),
        ("2026-01-06T00:00:00Z", "sent"),
        ("2026-01-06T05:59:59Z", "sent"),
        ("2026-01-06T06:00:00Z", "outside_send_window"),
        ("2026-01-06T12:00:00Z", "outside_send_window"),
        ("2026-01-05T21:59:59Z", "outside_send_window"),
    ],
)
def test_send_windows_may_wrap_midnight(at: str, expected: str) -> None:
    decisions = replay(windowed(start="22:00", end="06:00"), [ev(at, "purchase")])
    assert [d.reason or d.status for d in decisions] == [expected]


def test_next_available_with_a_wrapping_window_waits_for_the_evening_start() -> None:
    decisions = replay(windowed("2 hours", start="22:00", end="06:00", next_available=True),
                       [ev("2026-01-06T05:00:00Z", "purchase")])
    assert rows(decisions, "status", "due_at", "sent_at") == [
        ("sent", "2026-01-06T22:00:00Z", "2026-01-06T22:00:00Z"),
    ]


# --------------------------------------------------------------------------------------------------
# Quiet hours (at the due time, user local)


def quiet_cfg(mode: str = "next_available", start: str = "22:00", end: str = "07:00", **fields: Any) -> Config:
    return config(campaign("f", on_event("purchase"), delay="1 hour", quiet_hours=quiet(start, end, mode), **fields))


@pytest.mark.parametrize(
    ("mode", "trigger_at", "expected"),
    [
        ("abort", "2026-01-05T21:30:00Z", ("suppressed", "quiet_hours", "2026-01-05T22:30:00Z", None)),
        ("next_available", "2026-01-05T21:30:00Z",
         ("sent", None, "2026-01-05T22:30:00Z", "2026-01-06T07:00:00Z")),
        ("next_available", "2026-01-06T03:00:00Z",
         ("sent", None, "2026-01-06T04:00:00Z", "2026-01-06T07:00:00Z")),
        ("abort", "2026-01-06T06:00:00Z", ("sent", None, "2026-01-06T07:00:00Z", "2026-01-06T07:00:00Z")),
        ("abort", "2026-01-05T20:59:59Z", ("sent", None, "2026-01-05T21:59:59Z", "2026-01-05T21:59:59Z")),
        ("abort", "2026-01-05T21:00:00Z", ("suppressed", "quiet_hours", "2026-01-05T22:00:00Z", None)),
    ],
    ids=["abort", "hold-to-end", "hold-after-midnight", "due-at-end-is-not-quiet", "due-just-before-start",
         "due-at-start-is-quiet"],
)
def test_quiet_hours_abort_or_hold_to_the_end(mode: str, trigger_at: str, expected: tuple) -> None:
    decisions = replay(quiet_cfg(mode), [ev(trigger_at, "purchase")])
    assert rows(decisions, "status", "reason", "due_at", "sent_at") == [expected]


def test_quiet_hours_mode_defaults_to_next_available() -> None:
    cfg = config(campaign("f", on_event("purchase"), quiet_hours=quiet("22:00", "07:00")))
    assert rows(replay(cfg, [ev("2026-01-05T23:00:00Z", "purchase")]), "status", "sent_at") == [
        ("sent", "2026-01-06T07:00:00Z")]


def test_quiet_hours_apply_to_immediately_sends() -> None:
    cfg = config(campaign("f", on_event("purchase"), quiet_hours=quiet("12:00", "13:00", "abort")))
    assert rows(replay(cfg, [ev("2026-01-05T12:30:00Z", "purchase")]), "status", "reason") == [
        ("suppressed", "quiet_hours")]


def test_quiet_hours_are_user_local() -> None:
    # Due 03:30 UTC = 22:30 in New York (quiet) → held to 07:00 New York = 12:00 UTC.
    decisions = replay(quiet_cfg(), [ev("2026-01-06T02:30:00Z", "purchase")], profile(timezone=NY))
    assert rows(decisions, "status", "due_at", "sent_at") == [
        ("sent", "2026-01-06T03:30:00Z", "2026-01-06T12:00:00Z")]


def test_a_hold_reruns_the_duration_check_at_the_new_time() -> None:
    decisions = replay(quiet_cfg(end_at="2026-01-06T06:00:00Z"), [ev("2026-01-05T21:30:00Z", "purchase")])
    assert rows(decisions, "status", "reason", "sent_at") == [("suppressed", "outside_duration", None)]


def test_a_hold_reruns_the_frequency_caps_at_the_new_time() -> None:
    cfg = config(
        source("other"),
        campaign("f", on_event("purchase"), delay="1 hour", quiet_hours=quiet("22:00", "07:00")),
        caps=[cap("push", 1, "1 day")],
    )
    events = [ev("2026-01-05T21:30:00Z", "purchase"), ev("2026-01-06T03:00:00Z", "receive_push", "other")]
    assert rows(replay(cfg, events), "status", "reason", "sent_at") == [("suppressed", "frequency_cap", None)]


def test_a_held_send_past_the_horizon_is_pending() -> None:
    decisions = replay(quiet_cfg(), [ev("2026-01-05T21:30:00Z", "purchase")], until="2026-01-06T06:00:00Z")
    assert rows(decisions, "status", "reason", "sent_at") == [("pending", None, None)]


def test_a_hold_reruns_the_stop_check_at_the_new_time() -> None:
    decisions = replay(quiet_cfg(stopped_at="2026-01-06T03:00:00Z"), [ev("2026-01-05T21:30:00Z", "purchase")])
    assert rows(decisions, "status", "reason", "due_at") == [("suppressed", "campaign_stopped", "2026-01-05T22:30:00Z")]


def test_a_hold_reruns_the_audience_at_send_at_the_new_time() -> None:
    from campaign_connector.model import PerformedFilter

    cfg = quiet_cfg(reevaluate_audience_at_send=True, audience=PerformedFilter("opt_out", at_least=0, at_most=0))
    events = [ev("2026-01-05T21:30:00Z", "purchase"), ev("2026-01-06T03:00:00Z", "opt_out")]
    assert rows(replay(cfg, events), "status", "reason") == [("suppressed", "not_in_audience_at_send")]


def test_a_held_send_says_until_when_in_detail() -> None:
    (decision,) = replay(quiet_cfg(), [ev("2026-01-06T02:30:00Z", "purchase")], profile(timezone=NY))
    assert decision.detail is not None and "07:00" in decision.detail


@pytest.mark.parametrize(
    ("quiet_hours", "trigger_at", "expected_sent"),
    [
        # Quiet 01:00–02:30 New York; 02:30 does not exist on 2026-03-08 → the hold ends at 03:30 EDT.
        (quiet("01:00", "02:30"), "2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z"),
        # Quiet overnight across the fall-back night: 23:00 EDT → 07:00 EST.
        (quiet("22:00", "07:00"), "2026-11-01T03:00:00Z", "2026-11-01T12:00:00Z"),
    ],
    ids=["hold-end-in-dst-gap", "hold-across-fall-back"],
)
def test_quiet_hours_holds_across_dst(quiet_hours: object, trigger_at: str, expected_sent: str) -> None:
    cfg = config(campaign("f", on_event("purchase"), quiet_hours=quiet_hours))
    decisions = replay(cfg, [ev(trigger_at, "purchase")], profile(timezone=NY))
    assert rows(decisions, "status", "due_at", "sent_at") == [("sent", trigger_at, expected_sent)]


def test_quiet_hours_read_the_users_zone_at_the_due_time() -> None:
    """SPEC §4.1: the zone "at a moment" is the latest event zone at or before it. Due 14:00 UTC is 23:00 in
    Tokyo (quiet) but 09:00 in New York, where the user's events say they are by then."""
    cfg = config(campaign("f", on_event("purchase"), delay="4 hours", quiet_hours=quiet("22:00", "07:00", "abort")))
    events = [ev("2026-01-05T10:00:00Z", "purchase", timezone="Asia/Tokyo"),
              ev("2026-01-05T12:00:00Z", "session_start", timezone=NY)]
    assert rows(replay(cfg, events), "status", "reason", "sent_at") == [("sent", None, "2026-01-05T14:00:00Z")]


def test_send_window_next_available_start_in_a_dst_gap_moves_forward() -> None:
    # Window 02:30–05:00 New York; on 2026-03-08 02:30 does not exist → the window opens at 03:30 EDT.
    cfg = config(campaign("f", on_event("purchase"), delay="22 hours",
                          send_window=send_window("02:30", "05:00", next_available=True)))
    decisions = replay(cfg, [ev("2026-03-07T08:00:00Z", "purchase")], profile(timezone=NY))
    assert rows(decisions, "status", "due_at", "sent_at") == [
        ("sent", "2026-03-08T07:30:00Z", "2026-03-08T07:30:00Z")]
