"""Engine spec: chaining through synthetic receipts, control enrollments and conversions; a simulated campaign's
own logged events; the chain-depth guard (SPEC §4 "Chaining", §4.1 "Conversions", "Receipts", "Synthetic events").

Spec-silent choices assumed here:
- "A chain deeper than 32 sends at one instant": the send caused by the log event is depth 1; sends 1–32 go and
  the 33rd is recorded ``suppressed``/``chain_depth``, after which nothing further happens at that instant.
  Chains spread over different instants are never cut.
- A simulated campaign's logged engagement (open/click) counts when it comes after a replay ``sent`` of that
  campaign that included the interaction's channel, to that user, at any earlier time.
- ``Conversion.decision`` indexes ``UserResult.decisions`` as returned by the engine.
"""

from __future__ import annotations

import pytest
from enginekit import (
    T,
    campaign,
    cap,
    config,
    conversion,
    ev,
    on,
    on_event,
    profile,
    quiet,
    replay,
    rows,
    run,
    source,
    user_in_bucket,
)

from campaign_connector.model import Campaign, Config

AT = "2026-01-05T10:00:00Z"
FIELDS = ("campaign", "status", "trigger", "source_campaign", "triggered_at", "sent_at")


def test_a_sent_decision_emits_a_receipt_that_triggers_a_follow_up() -> None:
    cfg = config(
        campaign("f", on_event("purchase"), delay="1 hour"),
        campaign("g", on("receive_push", "f"), delay="1 day", channels=["email"]),
    )
    decisions = replay(cfg, [ev(AT, "purchase")])
    assert rows(decisions, *FIELDS) == [
        ("f", "sent", "purchase", None, AT, "2026-01-05T11:00:00Z"),
        ("g", "sent", "receive_push", "f", "2026-01-05T11:00:00Z", "2026-01-06T11:00:00Z"),
    ]
    synthetic_id = decisions[1].trigger_event_id
    assert synthetic_id != "e1"
    assert all(part in synthetic_id for part in ("receive_push", "f", "u1")), synthetic_id


@pytest.mark.parametrize(
    ("channel", "interaction"),
    [("email", "receive_email"), ("sms", "receive_sms"), ("push", "receive_push"), ("webhook", "receive_webhook")],
)
def test_every_capped_channel_emits_its_receive_event(channel: str, interaction: str) -> None:
    cfg = config(
        campaign("f", on_event("purchase"), channels=[channel]),
        campaign("g", on(interaction, "f"), channels=["webhook" if channel != "webhook" else "email"]),
    )
    assert rows(replay(cfg, [ev(AT, "purchase")]), "campaign", "status", "trigger") == [
        ("f", "sent", "purchase"), ("g", "sent", interaction),
    ]


def test_a_suppressed_or_cancelled_send_emits_nothing() -> None:
    cfg = config(
        campaign("f", on_event("purchase"), delay="1 hour", exceptions=[on_event("refund")]),
        campaign("g", on("receive_push", "f")),
    )
    events = [ev(AT, "purchase"), ev("2026-01-05T10:30:00Z", "refund")]
    assert rows(replay(cfg, events), "campaign", "status") == [("f", "cancelled")]


def test_a_receipt_can_cancel_another_campaigns_pending_send() -> None:
    cfg = config(
        campaign("f", on_event("purchase"), delay="1 hour"),
        campaign("g", on_event("cart_abandoned"), delay="2 hours", exceptions=[on("receive_push", "f")]),
    )
    events = [ev("2026-01-05T09:30:00Z", "cart_abandoned"), ev(AT, "purchase")]
    assert rows(replay(cfg, events), "campaign", "status", "reason") == [
        ("g", "cancelled", "exception"), ("f", "sent", None),
    ]


def test_a_control_decision_emits_enroll_in_control_group() -> None:
    cfg = config(
        campaign("f", on_event("purchase"), delay="1 hour", control_group=50),
        campaign("g", on("enroll_in_control_group", "f")),
        campaign("h", on("receive_push", "f")),
    )
    user = user_in_bucket("f", 0, 50)
    decisions = replay(cfg, [ev(AT, "purchase")], profile(user), user_id=user)
    assert rows(decisions, *FIELDS) == [
        ("f", "control", "purchase", None, AT, None),
        ("g", "sent", "enroll_in_control_group", "f", "2026-01-05T11:00:00Z", "2026-01-05T11:00:00Z"),
    ]


# --------------------------------------------------------------------------------------------------
# Conversions


def conv_cfg(*extra: Campaign, within: str = "3 days", control_group: int = 0) -> Config:
    return config(
        campaign("f", on_event("session_start"), control_group=control_group,
                 conversion_events=(conversion("purchase", within), conversion("subscribe", within))),
        campaign("g0", on("perform_conversion_event", "f", conversion=0), channels=["email"]),
        campaign("g1", on("perform_conversion_event", "f", conversion=1), channels=["email"]),
        *extra,
    )


@pytest.mark.parametrize(
    ("purchase_at", "converts"),
    [
        ("2026-01-05T10:00:00.001Z", True),
        ("2026-01-08T10:00:00Z", True),
        ("2026-01-08T10:00:00.001Z", False),
        (AT, False),
        ("2026-01-05T09:00:00Z", False),
    ],
    ids=["just-after-send", "at-window-end", "after-window", "at-send-time", "before-send"],
)
def test_conversions_are_the_first_event_in_sent_to_sent_plus_within(purchase_at: str, converts: bool) -> None:
    result = run(conv_cfg(), [ev(AT, "session_start"), ev(purchase_at, "purchase")])
    converted = [(c.campaign, c.conversion_index, c.time, c.control) for c in result.conversions]
    assert converted == ([("f", 0, T(purchase_at), False)] if converts else [])
    triggered = [d for d in replay(conv_cfg(), [ev(AT, "session_start"), ev(purchase_at, "purchase")])
                 if d.campaign.startswith("g")]
    assert rows(triggered, "campaign", "trigger", "source_campaign", "triggered_at") == (
        [("g0", "perform_conversion_event", "f", purchase_at)] if converts else [])


def test_a_conversion_counts_once_per_send() -> None:
    events = [ev(AT, "session_start"), ev("2026-01-06T10:00:00Z", "purchase", id="p1"),
              ev("2026-01-07T10:00:00Z", "purchase", id="p2")]
    result = run(conv_cfg(), events)
    assert [(c.conversion_index, c.event_id) for c in result.conversions] == [(0, "p1")]
    assert result.decisions[result.conversions[0].decision].campaign == "f"
    assert result.decisions[result.conversions[0].decision].status == "sent"


def test_each_conversion_event_converts_with_its_index() -> None:
    events = [ev(AT, "session_start"), ev("2026-01-06T10:00:00Z", "subscribe"),
              ev("2026-01-07T10:00:00Z", "purchase")]
    result = run(conv_cfg(), events)
    assert [(c.conversion_index, c.time) for c in result.conversions] == [(1, events[1].time), (0, events[2].time)]
    assert [(d.campaign, d.trigger) for d in result.decisions if d.campaign != "f"] == [
        ("g1", "perform_conversion_event"), ("g0", "perform_conversion_event"),
    ]


def test_conversion_window_defaults_to_three_days() -> None:
    # The loader fills ``within`` with 3 days; here it is explicit.
    events = [ev(AT, "session_start"), ev("2026-01-08T10:00:01Z", "purchase")]
    assert run(conv_cfg(), events).conversions == []


def test_control_enrollments_convert_too() -> None:
    user = user_in_bucket("f", 0, 50)
    cfg = conv_cfg(control_group=50)
    result = run(cfg, [ev(AT, "session_start"), ev("2026-01-06T10:00:00Z", "purchase")], profile(user), user_id=user)
    assert [(c.campaign, c.conversion_index, c.control) for c in result.conversions] == [("f", 0, True)]
    assert result.decisions[result.conversions[0].decision].status == "control"


def test_a_simulated_campaigns_logged_conversions_are_ignored() -> None:
    events = [ev(AT, "session_start"), ev("2026-01-06T10:00:00Z", "perform_conversion_event", "f",
                                          conversion_index=0)]
    result = run(conv_cfg(), events)
    assert result.conversions == []
    assert [d.campaign for d in result.decisions] == ["f"]


def test_each_send_converts_separately() -> None:
    cfg = config(campaign("f", on_event("session_start"), reeligible_after="1 day",
                          conversion_events=(conversion("purchase"),)))
    events = [ev(AT, "session_start"), ev("2026-01-05T12:00:00Z", "purchase"),
              ev("2026-01-07T10:00:00Z", "session_start"), ev("2026-01-07T12:00:00Z", "purchase")]
    result = run(cfg, events)
    assert [c.time for c in result.conversions] == [events[1].time, events[3].time]


# --------------------------------------------------------------------------------------------------
# A simulated campaign's own logged events


SIM = config(
    campaign("f", on_event("session_start"), channels=["email", "push"], control_group=0),
    campaign("after_receipt", on("receive_push", "f"), channels=["webhook"]),
    campaign("after_enroll", on("enroll_in_control_group", "f"), channels=["webhook"]),
    campaign("after_open", on("open_push_directly", "f"), channels=["webhook"]),
    campaign("after_click", on("click_email", "f"), channels=["webhook"]),
)


@pytest.mark.parametrize(
    "logged",
    [ev(AT, "receive_push", "f"), ev(AT, "enroll_in_control_group", "f"), ev(AT, "open_push_directly", "f"),
     ev(AT, "click_email", "f")],
    ids=["receive", "enroll", "open-before-any-send", "click-before-any-send"],
)
def test_a_simulated_campaigns_logged_delivery_and_unbacked_engagement_are_ignored(logged: object) -> None:
    assert replay(SIM, [logged]) == []


def test_a_simulated_campaigns_logged_open_counts_after_a_replay_send() -> None:
    events = [ev("2026-01-05T09:00:00Z", "session_start"), ev(AT, "open_push_directly", "f"),
              ev("2026-01-05T11:00:00Z", "receive_push", "f")]
    decisions = replay(SIM, events)
    assert rows(decisions, "campaign", "status", "triggered_at") == [
        ("f", "sent", "2026-01-05T09:00:00Z"),
        ("after_receipt", "sent", "2026-01-05T09:00:00Z"),
        ("after_open", "sent", AT),
    ]
    assert decisions[2].trigger_event_id == "e2"


def test_a_logged_open_counts_only_on_a_channel_the_replay_sent() -> None:
    cfg = config(source("other"), *SIM.campaigns, caps=[cap("push", 1, "1 day")])
    events = [ev("2026-01-05T08:00:00Z", "receive_push", "other"), ev("2026-01-05T09:00:00Z", "session_start"),
              ev(AT, "open_push_directly", "f"), ev("2026-01-05T10:30:00Z", "click_email", "f")]
    decisions = replay(cfg, events)
    assert rows(decisions, "campaign", "status", "channels") == [
        ("f", "sent", ("email",)), ("after_click", "sent", ("webhook",)),
    ]


def test_a_logged_open_never_counts_for_a_user_put_in_control() -> None:
    cfg = config(
        campaign("f", on_event("session_start"), control_group=50),
        campaign("after_open", on("open_push_directly", "f"), channels=["webhook"]),
    )
    user = user_in_bucket("f", 0, 50)
    events = [ev("2026-01-05T09:00:00Z", "session_start"), ev(AT, "open_push_directly", "f")]
    assert rows(replay(cfg, events, profile(user), user_id=user), "campaign", "status") == [("f", "control")]


# --------------------------------------------------------------------------------------------------
# Chain depth


def test_a_chain_deeper_than_32_sends_at_one_instant_stops_with_chain_depth() -> None:
    cfg = config(
        campaign("a", on_event("purchase"), on("receive_push", "b"), reeligible_after="0 seconds"),
        campaign("b", on("receive_push", "a"), reeligible_after="0 seconds"),
    )
    decisions = replay(cfg, [ev(AT, "purchase")])
    assert [d.status for d in decisions] == ["sent"] * 32 + ["suppressed"]
    assert decisions[-1].reason == "chain_depth"
    assert [d.campaign for d in decisions] == ["a", "b"] * 16 + ["a"]
    assert {d.sent_at for d in decisions[:-1]} == {decisions[0].triggered_at}


def test_a_chain_across_instants_is_not_cut() -> None:
    cfg = config(
        campaign("a", on_event("purchase"), on("receive_push", "b"), reeligible_after="0 seconds", delay="1 second"),
        campaign("b", on("receive_push", "a"), reeligible_after="0 seconds", delay="1 second"),
    )
    decisions = replay(cfg, [ev(AT, "purchase")], until="2026-01-05T10:00:40Z")
    assert [d.status for d in decisions] == ["sent"] * 40 + ["pending"]
    assert rows(decisions[-1:], "campaign", "due_at") == [("a", "2026-01-05T10:00:41Z")]


def test_the_conversion_window_starts_when_a_held_send_went() -> None:
    cfg = config(campaign("f", on_event("session_start"), quiet_hours=quiet("22:00", "07:00"),
                          conversion_events=(conversion("purchase", "1 hour"),)))
    events = [ev("2026-01-05T23:00:00Z", "session_start"), ev("2026-01-06T01:00:00Z", "purchase"),
              ev("2026-01-06T07:30:00Z", "purchase")]
    assert [c.time for c in run(cfg, events).conversions] == [events[2].time]


@pytest.mark.parametrize(("purchase_at", "converts"), [("2026-01-08T10:00:00Z", True), ("2026-01-08T10:00:01Z", False)])
def test_a_conversion_event_without_within_uses_three_days(purchase_at: str, converts: bool) -> None:
    from campaign_connector.config import load_config_text

    cfg = load_config_text(
        "version: 1\n"
        "campaigns:\n"
        "  - {id: f, channels: [push], status: active, published_at: 2026-01-01T00:00:00Z,\n"
        "     triggers: [{event: session_start}], conversion_events: [{event: purchase}]}\n"
    )
    result = run(cfg, [ev(AT, "session_start"), ev(purchase_at, "purchase")])
    assert [c.time for c in result.conversions] == ([T(purchase_at)] if converts else [])
