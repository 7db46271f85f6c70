"""Engine spec: frequency caps and reachability (SPEC §4 "Frequency caps", §4.1 "Multichannel caps",
"Reachability").

Spec-silent choices assumed here:
- ``max: N`` allows N sends in the period: a send is capped when N sends are already counted in it.
- Reachability drops unsubscribed channels before caps are counted; a campaign's ``channels`` (sent ones) keep
  the campaign's channel order.
- A logged ``receive_*`` of a simulated campaign is ignored for caps too (the replay's own sends count instead).
- ``detail`` of a capped row contains ``cap <channel> <max>/<per>`` as in SPEC §4.1's example.
"""

from __future__ import annotations

import pytest
from enginekit import campaign, cap, config, ev, on, on_event, profile, quiet, replay, rows, source

from campaign_connector.model import FrequencyCap

NY = "America/New_York"


def capped(caps: list[FrequencyCap], times: list[str], *, zone: str | None = None, **fields: object) -> list:
    """Statuses (reason when not sent) of a push campaign triggered by ``purchase`` at each time."""
    cfg = config(campaign("f", on_event("purchase"), reeligible_after="0 seconds", **fields), caps=caps)
    decisions = replay(cfg, [ev(t, "purchase") for t in times], profile(timezone=zone))
    return [d.reason or d.status for d in decisions]


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        ("2026-01-06T04:59:59.999Z", "frequency_cap"),
        ("2026-01-06T05:00:00Z", "sent"),
    ],
    ids=["before-local-midnight", "at-local-midnight"],
)
def test_a_cap_reached_at_the_users_local_midnight_resets(second: str, expected: str) -> None:
    # First send 23:30 in New York (04:30 UTC the next day); the daily cap counts New York calendar days.
    assert capped([cap("push", 1, "1 day")], ["2026-01-06T04:30:00Z", second], zone=NY) == ["sent", expected]


def test_daily_caps_count_calendar_days_not_24_hours() -> None:
    times = ["2026-01-05T23:00:00Z", "2026-01-06T01:00:00Z"]
    assert capped([cap("push", 1, "1 day")], times) == ["sent", "sent"]


def test_daily_caps_use_the_user_zone_not_utc() -> None:
    # 23:00 and 01:00 UTC are 18:00 and 20:00 of the same New York day.
    times = ["2026-01-05T23:00:00Z", "2026-01-06T01:00:00Z"]
    assert capped([cap("push", 1, "1 day")], times, zone=NY) == ["sent", "frequency_cap"]


def test_max_n_allows_n_sends() -> None:
    times = ["2026-01-05T08:00:00Z", "2026-01-05T09:00:00Z", "2026-01-05T10:00:00Z"]
    assert capped([cap("push", 2, "1 day")], times) == ["sent", "sent", "frequency_cap"]


@pytest.mark.parametrize(
    ("per", "second", "expected"),
    [
        ("2 days", "2026-01-06T23:59:59Z", "frequency_cap"),
        ("2 days", "2026-01-07T00:00:00Z", "sent"),
        ("1 week", "2026-01-11T23:59:59Z", "frequency_cap"),
        ("1 week", "2026-01-12T00:00:00Z", "sent"),
        ("2 weeks", "2026-01-18T23:59:59Z", "frequency_cap"),
        ("2 weeks", "2026-01-19T00:00:00Z", "sent"),
    ],
)
def test_days_and_weeks_are_calendar_days_today_and_before(per: str, second: str, expected: str) -> None:
    assert capped([cap("push", 1, per)], ["2026-01-05T10:00:00Z", second]) == ["sent", expected]


@pytest.mark.parametrize(
    ("per", "second", "expected"),
    [
        ("1 hour", "2026-01-05T10:59:59.999Z", "frequency_cap"),
        ("1 hour", "2026-01-05T11:00:00Z", "sent"),
        ("30 minutes", "2026-01-05T10:29:59Z", "frequency_cap"),
        ("30 minutes", "2026-01-05T10:30:00Z", "sent"),
        ("3 hours", "2026-01-05T12:59:59Z", "frequency_cap"),
    ],
)
def test_minutes_and_hours_are_rolling_windows(per: str, second: str, expected: str) -> None:
    assert capped([cap("push", 1, per)], ["2026-01-05T10:00:00Z", second]) == ["sent", expected]


def test_all_cap_rules_apply() -> None:
    caps = [cap("push", 3, "1 day"), cap("any", 1, "1 hour")]
    times = ["2026-01-05T08:00:00Z", "2026-01-05T08:30:00Z", "2026-01-05T09:00:00Z", "2026-01-05T10:00:00Z",
             "2026-01-05T11:00:00Z"]
    assert capped(caps, times) == ["sent", "frequency_cap", "sent", "sent", "frequency_cap"]


def test_capped_detail_names_the_cap() -> None:
    cfg = config(campaign("f", on_event("purchase"), reeligible_after="0 seconds"), caps=[cap("push", 1, "1 week")])
    decisions = replay(cfg, [ev("2026-01-05T10:00:00Z", "purchase"), ev("2026-01-06T10:00:00Z", "purchase")])
    assert decisions[1].detail is not None and "cap push 1/1 week" in decisions[1].detail


def test_a_capped_send_is_not_marked_received() -> None:
    cfg = config(
        source("other"),
        campaign("f", on_event("purchase")),
        caps=[cap("push", 1, "1 day")],
    )
    events = [ev("2026-01-05T09:00:00Z", "receive_push", "other"), ev("2026-01-05T10:00:00Z", "purchase"),
              ev("2026-01-06T10:00:00Z", "purchase")]
    assert rows(replay(cfg, events), "status", "reason") == [("suppressed", "frequency_cap"), ("sent", None)]


# --------------------------------------------------------------------------------------------------
# What counts


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        (ev("2026-01-05T09:00:00Z", "receive_push", "src"), "frequency_cap"),
        (ev("2026-01-05T09:00:00Z", "receive_push", "undeclared"), "frequency_cap"),
        (ev("2026-01-05T09:00:00Z", "receive_push", None), "frequency_cap"),
        (ev("2026-01-05T09:00:00Z", "receive_push", "uncapped_src"), "sent"),
        (ev("2026-01-05T09:00:00Z", "receive_push", "simulated_g"), "sent"),
        (ev("2026-01-05T09:00:00Z", "receive_email", "src_email"), "sent"),
        (ev("2026-01-05T09:00:00Z", "open_push_directly", "src"), "sent"),
        (ev("2026-01-04T23:59:59Z", "receive_push", "src"), "sent"),
    ],
    ids=["declared-source", "undeclared-campaign", "campaign-less-canvas-row", "source-with-capping-off",
         "simulated-campaigns-own-log-receipt", "other-channel", "not-a-receipt", "yesterday"],
)
def test_logged_receipts_of_campaigns_not_simulated_count(logged: object, expected: str) -> None:
    cfg = config(
        source("src"),
        source("uncapped_src", frequency_capping=False),
        source("src_email", channels=["email"]),
        campaign("simulated_g", on_event("never_happens")),
        campaign("f", on_event("purchase")),
        caps=[cap("push", 1, "1 day")],
    )
    decisions = replay(cfg, [logged, ev("2026-01-05T10:00:00Z", "purchase")])
    assert [d.reason or d.status for d in decisions if d.campaign == "f"] == [expected]


def test_any_caps_count_every_capped_channel() -> None:
    cfg = config(source("src_email", channels=["email"]), campaign("f", on_event("purchase")),
                 caps=[cap("any", 1, "1 day")])
    events = [ev("2026-01-05T09:00:00Z", "receive_email", "src_email"), ev("2026-01-05T10:00:00Z", "purchase")]
    assert rows(replay(cfg, events), "status", "reason") == [("suppressed", "frequency_cap")]


def test_campaigns_with_frequency_capping_off_ignore_caps_and_do_not_count() -> None:
    cfg = config(
        campaign("uncapped", on_event("purchase"), reeligible_after="0 seconds", frequency_capping=False),
        campaign("capped", on_event("session_start")),
        caps=[cap("push", 1, "1 day")],
    )
    events = [ev("2026-01-05T08:00:00Z", "purchase"), ev("2026-01-05T09:00:00Z", "purchase"),
              ev("2026-01-05T10:00:00Z", "session_start")]
    assert rows(replay(cfg, events), "campaign", "status") == [
        ("uncapped", "sent"), ("uncapped", "sent"), ("capped", "sent"),
    ]


@pytest.mark.parametrize("channel", ["in_app", "content_card"])
def test_in_app_and_content_cards_never_count_and_are_never_capped(channel: str) -> None:
    cfg = config(
        campaign("card", on_event("session_start"), channels=[channel], reeligible_after="0 seconds"),
        campaign("push", on_event("purchase")),
        caps=[cap("any", 1, "1 day")],
    )
    events = [ev("2026-01-05T08:00:00Z", "session_start"), ev("2026-01-05T09:00:00Z", "session_start"),
              ev("2026-01-05T10:00:00Z", "purchase"), ev("2026-01-05T11:00:00Z", "session_start")]
    assert rows(replay(cfg, events), "campaign", "status") == [
        ("card", "sent"), ("card", "sent"), ("push", "sent"), ("card", "sent"),
    ]


# --------------------------------------------------------------------------------------------------
# Multichannel sends


def multichannel(caps: list[FrequencyCap], *logged: object, unsubscribed: tuple[str, ...] = ()) -> list:
    cfg = config(
        source("src"), source("src_email", channels=["email"]),
        campaign("f", on_event("purchase"), channels=["email", "push"]),
        campaign("after_email", on("receive_email", "f"), channels=["webhook"]),
        campaign("after_push", on("receive_push", "f"), channels=["webhook"]),
        caps=caps,
    )
    decisions = replay(cfg, [*logged, ev("2026-01-05T10:00:00Z", "purchase")], profile(unsubscribed=unsubscribed))
    return rows(decisions, "campaign", "status", "reason", "channels")


PUSH_BEFORE = ev("2026-01-05T09:00:00Z", "receive_push", "src")
EMAIL_BEFORE = ev("2026-01-05T09:00:00Z", "receive_email", "src_email")


def test_a_channel_cap_drops_only_that_channel() -> None:
    assert multichannel([cap("push", 1, "1 day")], PUSH_BEFORE) == [
        ("f", "sent", None, ("email",)),
        ("after_email", "sent", None, ("webhook",)),
    ]


def test_an_any_cap_stops_the_whole_multichannel_send() -> None:
    assert multichannel([cap("any", 1, "1 day")], PUSH_BEFORE)[0][:3] == ("f", "suppressed", "frequency_cap")


def test_a_multichannel_send_with_every_channel_capped_is_frequency_capped() -> None:
    caps = [cap("push", 1, "1 day"), cap("email", 1, "1 day")]
    assert multichannel(caps, PUSH_BEFORE, EMAIL_BEFORE) == [("f", "suppressed", "frequency_cap", ("email", "push"))]


def test_an_uncapped_multichannel_send_lists_every_channel_and_emits_each_receipt() -> None:
    assert multichannel([]) == [
        ("f", "sent", None, ("email", "push")),
        ("after_email", "sent", None, ("webhook",)),
        ("after_push", "sent", None, ("webhook",)),
    ]


def test_a_multichannel_send_counts_once_per_channel_and_once_toward_any() -> None:
    cfg = config(
        campaign("f", on_event("purchase"), channels=["email", "push"]),
        campaign("g", on_event("session_start"), channels=["email"]),
        campaign("h", on_event("app_open")),
        campaign("k", on_event("wishlist_add"), channels=["sms"], reeligible_after="0 seconds"),
        caps=[cap("email", 1, "1 day"), cap("push", 1, "1 day"), cap("any", 2, "1 day")],
    )
    events = [ev("2026-01-05T08:00:00Z", "purchase"), ev("2026-01-05T09:00:00Z", "session_start"),
              ev("2026-01-05T10:00:00Z", "app_open"), ev("2026-01-05T11:00:00Z", "wishlist_add"),
              ev("2026-01-05T12:00:00Z", "wishlist_add")]
    assert rows(replay(cfg, events), "campaign", "status", "reason") == [
        ("f", "sent", None), ("g", "suppressed", "frequency_cap"), ("h", "suppressed", "frequency_cap"),
        ("k", "sent", None), ("k", "suppressed", "frequency_cap"),
    ]


# --------------------------------------------------------------------------------------------------
# Reachability


def test_unsubscribed_channels_are_not_sent() -> None:
    assert multichannel([], unsubscribed=("push",)) == [
        ("f", "sent", None, ("email",)),
        ("after_email", "sent", None, ("webhook",)),
    ]


@pytest.mark.parametrize("unsubscribed", [("push", "email"), ("email", "push", "sms")])
def test_a_send_with_no_reachable_channel_is_not_reachable(unsubscribed: tuple[str, ...]) -> None:
    assert [r[:3] for r in multichannel([], unsubscribed=unsubscribed)] == [("f", "suppressed", "not_reachable")]


def test_an_unreachable_user_is_not_marked_received() -> None:
    cfg = config(campaign("f", on_event("purchase"), channels=["sms"]))
    events = [ev("2026-01-05T10:00:00Z", "purchase"), ev("2026-01-06T10:00:00Z", "purchase")]
    decisions = replay(cfg, events, profile(unsubscribed=["sms"]))
    assert rows(decisions, "status", "reason") == [("suppressed", "not_reachable"), ("suppressed", "not_reachable")]


def test_a_held_send_counts_on_the_day_it_went() -> None:
    cfg = config(
        campaign("held", on_event("purchase"), quiet_hours=quiet("22:00", "07:00")),
        campaign("other", on_event("session_start"), reeligible_after="0 seconds"),
        caps=[cap("push", 1, "1 day")],
    )
    events = [ev("2026-01-05T23:00:00Z", "purchase"), ev("2026-01-05T23:30:00Z", "session_start"),
              ev("2026-01-06T08:00:00Z", "session_start")]
    assert rows(replay(cfg, events), "campaign", "status", "reason", "sent_at") == [
        ("held", "sent", None, "2026-01-06T07:00:00Z"),
        ("other", "sent", None, "2026-01-05T23:30:00Z"),
        ("other", "suppressed", "frequency_cap", None),
    ]


@pytest.mark.parametrize(
    ("receipt", "expected"),
    [("2026-01-06T04:59:59Z", "sent"), ("2026-01-06T05:00:00Z", "frequency_cap")],
    ids=["previous-local-day", "same-local-day"],
)
def test_logged_receipts_count_on_the_users_local_day(receipt: str, expected: str) -> None:
    cfg = config(source("src"), campaign("f", on_event("purchase")), caps=[cap("push", 1, "1 day")])
    events = [ev(receipt, "receive_push", "src"), ev("2026-01-06T15:00:00Z", "purchase")]
    assert [d.reason or d.status for d in replay(cfg, events, profile(timezone=NY))] == [expected]


@pytest.mark.parametrize(
    ("second", "expected"),
    [("2026-03-09T03:30:00Z", "frequency_cap"), ("2026-03-09T04:00:00Z", "sent")],
    ids=["same-23-hour-local-day", "next-local-day"],
)
def test_daily_caps_follow_local_days_across_dst(second: str, expected: str) -> None:
    # 2026-03-08 in New York is 23 hours long: 00:30 EST (05:30Z) to 23:30 EDT (03:30Z next UTC day).
    assert capped([cap("push", 1, "1 day")], ["2026-03-08T05:30:00Z", second], zone=NY) == ["sent", expected]
