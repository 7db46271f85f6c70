"""Engine spec: the product page's use cases, the publish-order delivery rule, campaign lifecycle, duration and
the replay horizon (SPEC §2, §4 "Triggering", "At the due time", "Horizon", §4.2).

Spec-silent choices assumed here:
- ``run_user``'s ``until`` is passed explicitly (the kit defaults it to 2100-01-01); events after it that a caller
  passes anyway are ignored by the engine too, as the store would have excluded them.
- A suppressed decision made at trigger time has ``due_at`` null ("null when no send was scheduled").
- At the due time, ``stopped_at`` "passed" is read as ``due ≥ stopped_at`` (same as the trigger-time rule); the
  tests only use due times strictly before or after it.
"""

from __future__ import annotations

from typing import Any

import pytest
from enginekit import campaign, config, ev, on, on_event, replay, rows, source

from campaign_connector.model import Config

ALL = ("campaign", "status", "reason", "trigger", "source_campaign", "trigger_event_id", "triggered_at", "due_at",
       "sent_at", "variant", "channels")


# --------------------------------------------------------------------------------------------------
# The product page's three use cases


def test_use_case_free_shipping_push_click_sends_the_discount_push() -> None:
    cfg = config(
        source("free_shipping_push"),
        campaign("discount_push", on("click_push_button", "free_shipping_push"), delay="1 day"),
    )
    events = [
        ev("2026-01-10T12:00:00Z", "receive_push", "free_shipping_push"),
        ev("2026-01-10T12:05:00Z", "click_push_button", "free_shipping_push", button_id="shop"),
    ]
    assert rows(replay(cfg, events), *ALL) == [
        ("discount_push", "sent", None, "click_push_button", "free_shipping_push", "e2",
         "2026-01-10T12:05:00Z", "2026-01-11T12:05:00Z", "2026-01-11T12:05:00Z", None, ("push",)),
    ]


RESEND = config(
    source("newsletter", channels=["email"]),
    campaign("newsletter_resend", on("receive_email", "newsletter"), channels=["email"], delay="1 week",
             exceptions=[on("open_email", "newsletter")]),
)


@pytest.mark.parametrize(
    ("later", "expected"),
    [
        ([], ("sent", None, "2026-01-12T09:00:00Z")),
        ([ev("2026-01-06T08:00:00Z", "open_email", "newsletter")], ("cancelled", "exception", None)),
        ([ev("2026-01-06T08:00:00Z", "open_email", "newsletter", machine_open=True)],
         ("cancelled", "exception", None)),
        ([ev("2026-01-12T08:59:59Z", "open_email", "newsletter")], ("cancelled", "exception", None)),
        ([ev("2026-01-06T08:00:00Z", "open_email", "other_newsletter")], ("sent", None, "2026-01-12T09:00:00Z")),
        ([ev("2026-01-12T09:00:01Z", "open_email", "newsletter")], ("sent", None, "2026-01-12T09:00:00Z")),
    ],
    ids=["not-opened", "opened", "machine-opened", "opened-last-second", "other-campaign-opened",
         "opened-after-resend"],
)
def test_use_case_email_resent_after_a_week_unless_opened(later: list, expected: tuple) -> None:
    events = [ev("2026-01-05T09:00:00Z", "receive_email", "newsletter"), *later]
    status, reason, sent_at = expected
    assert rows(replay(RESEND, events), "status", "reason", "triggered_at", "due_at", "sent_at") == [
        (status, reason, "2026-01-05T09:00:00Z", "2026-01-12T09:00:00Z", sent_at),
    ]


CART = config(
    source("abandoned_cart"),
    campaign("cart_reminder", on("receive_push", "abandoned_cart"), delay="1 day",
             exceptions=[on_event("purchase"), on("open_push_directly", "abandoned_cart")]),
)


@pytest.mark.parametrize(
    ("later", "expected"),
    [
        ([], ("sent", None)),
        ([ev("2026-01-05T20:00:00Z", "purchase")], ("cancelled", "exception")),
        ([ev("2026-01-05T20:00:00Z", "open_push_directly", "abandoned_cart")], ("cancelled", "exception")),
        ([ev("2026-01-05T20:00:00Z", "click_push_button", "abandoned_cart", button_id="b")], ("sent", None)),
        ([ev("2026-01-05T20:00:00Z", "open_push_directly", "some_other_push")], ("sent", None)),
    ],
    ids=["ignored", "purchased", "opened-directly", "button-click-is-not-a-direct-open", "other-push-opened"],
)
def test_use_case_abandoned_cart_push_resent_unless_purchase_or_direct_open(later: list, expected: tuple) -> None:
    events = [ev("2026-01-05T18:00:00Z", "receive_push", "abandoned_cart"), *later]
    assert rows(replay(CART, events), "status", "reason", "due_at") == [(*expected, "2026-01-06T18:00:00Z")]


def test_cancelled_row_names_the_exception_event_in_detail() -> None:
    events = [ev("2026-01-05T18:00:00Z", "receive_push", "abandoned_cart"), ev("2026-01-05T20:00:00Z", "purchase")]
    (decision,) = replay(CART, events)
    assert decision.detail is not None and "purchase" in decision.detail


# --------------------------------------------------------------------------------------------------
# Publish order (the delivery rule) and lifecycle


def follow_up(**fields: Any) -> Config:
    return config(source("src"), campaign("f", on("click_push_button", "src"), **fields))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-01-05T09:00:00Z", ("sent", None, "2026-01-05T09:00:00Z", "2026-01-05T09:00:00Z")),
        ("2026-01-05T08:59:59.999Z", ("suppressed", "before_publish", None, None)),
        ("2026-01-01T00:00:00Z", ("suppressed", "before_publish", None, None)),
    ],
    ids=["exactly-at-publish", "one-ms-before", "days-before"],
)
def test_interactions_before_publish_never_trigger(at: str, expected: tuple) -> None:
    cfg = follow_up(published_at="2026-01-05T09:00:00Z")
    assert rows(replay(cfg, [ev(at, "click_push_button", "src")]), "status", "reason", "due_at", "sent_at") == [
        expected
    ]


def test_before_publish_row_keeps_the_trigger_fields() -> None:
    cfg = follow_up(published_at="2026-01-05T09:00:00Z")
    decisions = replay(cfg, [ev("2026-01-04T10:00:00Z", "click_push_button", "src")])
    assert rows(decisions, "trigger", "source_campaign", "trigger_event_id", "triggered_at") == [
        ("click_push_button", "src", "e1", "2026-01-04T10:00:00Z"),
    ]


def test_before_publish_does_not_block_a_later_interaction() -> None:
    cfg = follow_up(published_at="2026-01-05T09:00:00Z")
    events = [ev("2026-01-04T10:00:00Z", "click_push_button", "src"),
              ev("2026-01-06T10:00:00Z", "click_push_button", "src")]
    assert rows(replay(cfg, events), "status", "reason") == [("suppressed", "before_publish"), ("sent", None)]


def test_drafts_record_nothing() -> None:
    cfg = follow_up(status="draft", published_at=None)
    assert replay(cfg, [ev("2026-01-05T09:00:00Z", "click_push_button", "src")]) == []


def test_source_campaigns_record_nothing() -> None:
    cfg = config(source("src"), source("other"))
    assert replay(cfg, [ev("2026-01-05T09:00:00Z", "click_push_button", "src"),
                        ev("2026-01-05T10:00:00Z", "receive_push", "other")]) == []


@pytest.mark.parametrize("status", ["stopped", "archived", "active"])
@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-01-09T23:59:59.999Z", ("sent", None)),
        ("2026-01-10T00:00:00Z", ("suppressed", "campaign_stopped")),
        ("2026-01-11T00:00:00Z", ("suppressed", "campaign_stopped")),
    ],
    ids=["before-stop", "at-stop", "after-stop"],
)
def test_stopped_campaigns_replay_until_stopped_at(status: str, at: str, expected: tuple) -> None:
    cfg = follow_up(status=status, stopped_at="2026-01-10T00:00:00Z")
    assert rows(replay(cfg, [ev(at, "click_push_button", "src")]), "status", "reason") == [expected]


def test_stop_passed_at_the_due_time_suppresses_the_pending_send() -> None:
    cfg = follow_up(status="stopped", stopped_at="2026-01-10T00:00:00Z", delay="1 day")
    decisions = replay(cfg, [ev("2026-01-09T12:00:00Z", "click_push_button", "src")])
    assert rows(decisions, "status", "reason", "triggered_at", "due_at", "sent_at") == [
        ("suppressed", "campaign_stopped", "2026-01-09T12:00:00Z", "2026-01-10T12:00:00Z", None),
    ]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-01-02T00:00:00Z", ("suppressed", "outside_duration")),
        ("2026-01-02T23:59:59.999Z", ("suppressed", "outside_duration")),
        ("2026-01-03T00:00:00Z", ("sent", None)),
        ("2026-01-19T23:59:59.999Z", ("sent", None)),
        ("2026-01-20T00:00:00Z", ("suppressed", "outside_duration")),
    ],
    ids=["before-start", "one-ms-before-start", "at-start", "one-ms-before-end", "at-end"],
)
def test_triggers_outside_start_at_end_at_are_outside_duration(at: str, expected: tuple) -> None:
    cfg = follow_up(published_at="2026-01-01T00:00:00Z", start_at="2026-01-03T00:00:00Z",
                    end_at="2026-01-20T00:00:00Z")
    assert rows(replay(cfg, [ev(at, "click_push_button", "src")]), "status", "reason") == [expected]


@pytest.mark.parametrize(
    ("end_at", "expected"),
    [
        ("2026-01-06T12:00:00Z", ("suppressed", "outside_duration", None)),
        ("2026-01-06T11:00:00Z", ("suppressed", "outside_duration", None)),
        ("2026-01-06T12:00:00.001Z", ("sent", None, "2026-01-06T12:00:00Z")),
    ],
    ids=["due-at-end", "due-after-end", "due-just-before-end"],
)
def test_a_due_time_at_or_after_end_at_is_outside_duration(end_at: str, expected: tuple) -> None:
    cfg = follow_up(end_at=end_at, delay="1 day")
    decisions = replay(cfg, [ev("2026-01-05T12:00:00Z", "click_push_button", "src")])
    status, reason, sent_at = expected
    assert rows(decisions, "status", "reason", "due_at", "sent_at") == [
        (status, reason, "2026-01-06T12:00:00Z", sent_at),
    ]


# --------------------------------------------------------------------------------------------------
# Horizon


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        ("2026-01-06T11:59:59.999Z", ("pending", None, "2026-01-06T12:00:00Z", None)),
        ("2026-01-06T12:00:00Z", ("sent", None, "2026-01-06T12:00:00Z", "2026-01-06T12:00:00Z")),
    ],
    ids=["due-after-until", "due-at-until"],
)
def test_sends_due_after_the_horizon_stay_pending(until: str, expected: tuple) -> None:
    cfg = follow_up(delay="1 day")
    decisions = replay(cfg, [ev("2026-01-05T12:00:00Z", "click_push_button", "src")], until=until)
    assert rows(decisions, "status", "reason", "due_at", "sent_at") == [expected]


def test_events_after_the_horizon_are_ignored() -> None:
    cfg = follow_up(delay="1 day", exceptions=[on_event("purchase")])
    events = [
        ev("2026-01-05T12:00:00Z", "click_push_button", "src"),
        ev("2026-01-05T13:00:00Z", "purchase"),
        ev("2026-01-05T14:00:00Z", "click_push_button", "src"),
    ]
    decisions = replay(cfg, events, until="2026-01-05T12:30:00Z")
    assert rows(decisions, "status", "reason", "triggered_at", "due_at") == [
        ("pending", None, "2026-01-05T12:00:00Z", "2026-01-06T12:00:00Z"),
    ]


def test_a_pending_send_at_the_horizon_still_blocks_a_second_trigger() -> None:
    cfg = follow_up(delay="1 day")
    events = [ev("2026-01-05T12:00:00Z", "click_push_button", "src"),
              ev("2026-01-05T13:00:00Z", "click_push_button", "src")]
    assert rows(replay(cfg, events, until="2026-01-05T20:00:00Z"), "status", "reason") == [
        ("pending", None), ("suppressed", "already_pending"),
    ]


def test_run_user_leaves_cross_user_rules_to_the_replay_driver() -> None:
    """``max_recipients`` and ``rate_limit`` depend on other users: one user's pass never applies them."""
    cfg = follow_up(reeligible_after="0 seconds", max_recipients=1, rate_limit_per_minute=1)
    events = [ev("2026-01-05T12:00:00Z", "click_push_button", "src"),
              ev("2026-01-05T12:00:10Z", "click_push_button", "src")]
    assert rows(replay(cfg, events), "status", "sent_at") == [
        ("sent", "2026-01-05T12:00:00Z"), ("sent", "2026-01-05T12:00:10Z"),
    ]
