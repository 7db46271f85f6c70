"""Engine spec: order within an instant, exceptions while pending, one pending send, re-eligibility from receipt
(SPEC §4 "Order", "Triggering" 6–7, "While pending", §4.1 "One instant, in order", "Receipts").

Spec-silent choices assumed here:
- A ``cancelled`` row keeps the ``due_at`` its delay gave (a send was scheduled); an ``already_pending`` row has
  ``due_at`` null.
- Re-eligibility at exactly ``last_receipt + reeligible_after`` is eligible (the spec's ``<`` test).
"""

from __future__ import annotations

import pytest
from enginekit import campaign, cap, config, ev, on, on_event, prop, quiet, replay, rows, source

FIELDS = ("campaign", "status", "reason", "trigger_event_id", "triggered_at", "due_at", "sent_at")


# --------------------------------------------------------------------------------------------------
# One instant, in order


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["cart_abandoned", "wishlist_add"], [("cart_abandoned", "sent"), ("wishlist_add", "not_reeligible")]),
        (["wishlist_add", "cart_abandoned"], [("wishlist_add", "sent"), ("cart_abandoned", "not_reeligible")]),
    ],
    ids=["cart-imported-first", "wishlist-imported-first"],
)
def test_ties_at_the_same_second_run_in_import_order(names: list, expected: list) -> None:
    cfg = config(campaign("f", on_event("cart_abandoned"), on_event("wishlist_add")))
    events = [ev("2026-01-05T10:00:00Z", name) for name in names]
    decisions = replay(cfg, events)
    assert [(d.trigger, d.status if d.status == "sent" else d.reason) for d in decisions] == expected


def test_an_immediately_send_runs_before_the_next_event_at_the_same_time() -> None:
    cfg = config(campaign("f", on_event("purchase")))
    events = [ev("2026-01-05T10:00:00Z", "purchase"), ev("2026-01-05T10:00:00Z", "purchase")]
    assert rows(replay(cfg, events), "status", "reason", "trigger_event_id", "sent_at") == [
        ("sent", None, "e1", "2026-01-05T10:00:00Z"),
        ("suppressed", "not_reeligible", "e2", None),
    ]


def test_synthetic_events_at_an_instant_run_before_the_next_log_event_at_that_instant() -> None:
    cfg = config(
        campaign("f", on_event("purchase")),
        campaign("g", on("receive_push", "f"), on_event("session_start")),
    )
    events = [ev("2026-01-05T10:00:00Z", "purchase"), ev("2026-01-05T10:00:00Z", "session_start")]
    decisions = replay(cfg, events)
    assert rows(decisions, "campaign", "status", "reason", "trigger") == [
        ("f", "sent", None, "purchase"),
        ("g", "sent", None, "receive_push"),
        ("g", "suppressed", "not_reeligible", "session_start"),
    ]


def test_a_send_due_runs_before_a_log_event_at_the_same_time() -> None:
    cfg = config(
        campaign("f", on_event("purchase"), delay="1 hour"),
        campaign("g", on("receive_push", "f"), on_event("session_start")),
    )
    events = [ev("2026-01-05T10:00:00Z", "purchase"), ev("2026-01-05T11:00:00Z", "session_start")]
    assert rows(replay(cfg, events), "campaign", "status", "reason", "trigger") == [
        ("f", "sent", None, "purchase"),
        ("g", "sent", None, "receive_push"),
        ("g", "suppressed", "not_reeligible", "session_start"),
    ]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (["first", "second"], {"first": ("sent", None), "second": ("suppressed", "frequency_cap")}),
        (["second", "first"], {"second": ("sent", None), "first": ("suppressed", "frequency_cap")}),
    ],
    ids=["first-in-config", "second-in-config"],
)
def test_sends_due_at_the_same_time_run_in_config_order(order: list, expected: dict) -> None:
    """Both due at 11:00 (one triggered at 9:00 with a 2-hour delay, one at 10:00 with 1 hour): the one
    earlier in the config goes, the other meets the daily cap."""
    made = {
        "first": campaign("first", on_event("purchase"), delay="2 hours"),
        "second": campaign("second", on_event("session_start"), delay="1 hour"),
    }
    cfg = config(*(made[name] for name in order), caps=[cap("any", 1, "1 day")])
    events = [ev("2026-01-05T09:00:00Z", "purchase"), ev("2026-01-05T10:00:00Z", "session_start")]
    decisions = replay(cfg, events)
    assert {d.campaign: (d.status, d.reason) for d in decisions} == expected
    assert {d.due_at for d in decisions} == {decisions[0].due_at}


# --------------------------------------------------------------------------------------------------
# Exceptions while pending


CART = config(campaign("f", on_event("cart_abandoned"), delay="1 hour", exceptions=[on_event("purchase")]))


@pytest.mark.parametrize(
    ("purchase_at", "purchase_first", "expected"),
    [
        ("2026-01-05T10:30:00Z", False, ("cancelled", "exception", None)),
        ("2026-01-05T10:00:00.001Z", False, ("cancelled", "exception", None)),
        ("2026-01-05T10:59:59.999Z", False, ("cancelled", "exception", None)),
        ("2026-01-05T11:00:00Z", False, ("sent", None, "2026-01-05T11:00:00Z")),
        ("2026-01-05T10:00:00Z", False, ("sent", None, "2026-01-05T11:00:00Z")),
        ("2026-01-05T10:00:00Z", True, ("sent", None, "2026-01-05T11:00:00Z")),
        ("2026-01-05T09:00:00Z", True, ("sent", None, "2026-01-05T11:00:00Z")),
        ("2026-01-05T12:00:00Z", False, ("sent", None, "2026-01-05T11:00:00Z")),
    ],
    ids=["while-pending", "one-ms-after-trigger", "one-ms-before-due", "exactly-at-due",
         "at-trigger-time-imported-after", "at-trigger-time-imported-before", "before-trigger", "after-send"],
)
def test_exceptions_cancel_only_strictly_between_trigger_and_due(
    purchase_at: str, purchase_first: bool, expected: tuple
) -> None:
    trigger = ev("2026-01-05T10:00:00Z", "cart_abandoned")
    purchase = ev(purchase_at, "purchase")
    events = [purchase, trigger] if purchase_first else [trigger, purchase]
    decisions = replay(CART, events)
    status, reason, *sent = expected
    assert rows(decisions, "status", "reason", "triggered_at", "due_at", "sent_at") == [
        (status, reason, "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z", sent[0] if sent else None),
    ]


def test_exception_at_trigger_time_does_not_cancel() -> None:
    events = [ev("2026-01-05T10:00:00Z", "cart_abandoned"), ev("2026-01-05T10:00:00Z", "purchase")]
    assert rows(replay(CART, events), "status") == [("sent",)]


def test_a_send_due_exactly_when_an_exception_arrives_runs_first() -> None:
    events = [ev("2026-01-05T10:00:00Z", "cart_abandoned"), ev("2026-01-05T11:00:00Z", "purchase")]
    assert rows(replay(CART, events), "status", "sent_at") == [("sent", "2026-01-05T11:00:00Z")]


def test_an_event_both_exception_and_trigger_restarts_the_delay() -> None:
    cfg = config(campaign("f", on_event("cart_abandoned"), delay="1 hour", exceptions=[on_event("cart_abandoned")]))
    events = [ev("2026-01-05T10:00:00Z", "cart_abandoned"), ev("2026-01-05T10:30:00Z", "cart_abandoned")]
    assert rows(replay(cfg, events), *FIELDS[1:]) == [
        ("cancelled", "exception", "e1", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z", None),
        ("sent", None, "e2", "2026-01-05T10:30:00Z", "2026-01-05T11:30:00Z", "2026-01-05T11:30:00Z"),
    ]


def test_exceptions_of_one_campaign_do_not_cancel_another() -> None:
    cfg = config(
        campaign("f", on_event("cart_abandoned"), delay="1 hour", exceptions=[on_event("purchase")]),
        campaign("g", on_event("cart_abandoned"), delay="1 hour"),
    )
    events = [ev("2026-01-05T10:00:00Z", "cart_abandoned"), ev("2026-01-05T10:30:00Z", "purchase")]
    assert rows(replay(cfg, events), "campaign", "status") == [("f", "cancelled"), ("g", "sent")]


def test_an_interaction_exception_names_its_campaign() -> None:
    cfg = config(
        source("a"), source("b"),
        campaign("f", on_event("cart_abandoned"), delay="1 hour", exceptions=[on("open_push_directly", "a")]),
    )
    events = [ev("2026-01-05T10:00:00Z", "cart_abandoned"), ev("2026-01-05T10:30:00Z", "open_push_directly", "b")]
    assert rows(replay(cfg, events), "status") == [("sent",)]


def test_exceptions_apply_while_a_send_is_held_by_quiet_hours() -> None:
    cfg = config(campaign("f", on_event("cart_abandoned"), delay="1 hour", exceptions=[on_event("purchase")],
                          quiet_hours=quiet("22:00", "07:00")))
    events = [ev("2026-01-05T21:30:00Z", "cart_abandoned"), ev("2026-01-06T03:00:00Z", "purchase")]
    assert rows(replay(cfg, events), "status", "reason", "due_at", "sent_at") == [
        ("cancelled", "exception", "2026-01-05T22:30:00Z", None),
    ]


# --------------------------------------------------------------------------------------------------
# One pending send; re-eligibility from receipt


def test_a_trigger_while_a_send_is_pending_is_already_pending() -> None:
    cfg = config(campaign("f", on_event("purchase"), delay="1 day"))
    events = [ev("2026-01-05T10:00:00Z", "purchase"), ev("2026-01-05T12:00:00Z", "purchase")]
    assert rows(replay(cfg, events), *FIELDS[1:]) == [
        ("sent", None, "e1", "2026-01-05T10:00:00Z", "2026-01-06T10:00:00Z", "2026-01-06T10:00:00Z"),
        ("suppressed", "already_pending", "e2", "2026-01-05T12:00:00Z", None, None),
    ]


def test_once_per_user_by_default() -> None:
    cfg = config(campaign("f", on_event("purchase")))
    events = [ev("2026-01-05T10:00:00Z", "purchase"), ev("2027-06-01T10:00:00Z", "purchase")]
    assert rows(replay(cfg, events), "status", "reason") == [("sent", None), ("suppressed", "not_reeligible")]


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        ("2026-01-07T23:59:59.999Z", ("suppressed", "not_reeligible", None)),
        ("2026-01-07T12:00:00Z", ("suppressed", "not_reeligible", None)),
        ("2026-01-08T00:00:00Z", ("sent", None, "2026-01-09T00:00:00Z")),
    ],
    ids=["one-ms-short-of-receipt-plus-2-days", "2.5-days-after-trigger-1.5-after-receipt", "exactly-2-days"],
)
def test_reeligibility_counts_from_receipt_not_trigger(second: str, expected: tuple) -> None:
    cfg = config(campaign("f", on_event("purchase"), delay="1 day", reeligible_after="2 days"))
    decisions = replay(cfg, [ev("2026-01-05T00:00:00Z", "purchase"), ev(second, "purchase")])
    assert rows(decisions, "status", "reason", "sent_at") == [("sent", None, "2026-01-06T00:00:00Z"), expected]


def test_reeligible_after_zero_sends_every_trigger() -> None:
    cfg = config(campaign("f", on_event("purchase"), reeligible_after="0 seconds"))
    events = [ev("2026-01-05T10:00:00Z", "purchase"), ev("2026-01-05T10:00:00Z", "purchase")]
    assert rows(replay(cfg, events), "status") == [("sent",), ("sent",)]


@pytest.mark.parametrize(
    "first_fails",
    [
        [ev("2026-01-05T10:30:00Z", "purchase")],
        [],
    ],
    ids=["cancelled-by-exception", "aborted-by-quiet-hours"],
)
def test_cancelled_or_suppressed_users_are_not_marked_received(first_fails: list) -> None:
    cfg = config(campaign("f", on_event("cart_abandoned"), delay="1 hour", exceptions=[on_event("purchase")],
                          quiet_hours=quiet("11:00", "12:00", mode="abort")))
    events = [ev("2026-01-05T10:00:00Z", "cart_abandoned"), *first_fails, ev("2026-01-06T08:00:00Z", "cart_abandoned")]
    decisions = replay(cfg, events)
    assert rows(decisions, "status", "triggered_at", "sent_at")[-1] == (
        "sent", "2026-01-06T08:00:00Z", "2026-01-06T09:00:00Z")
    assert [d.status for d in decisions[:-1]] == ["cancelled" if first_fails else "suppressed"]


def test_a_trigger_time_suppression_does_not_mark_received() -> None:
    cfg = config(campaign("f", on_event("purchase"), published_at="2026-01-05T12:00:00Z"))
    events = [ev("2026-01-05T10:00:00Z", "purchase"), ev("2026-01-05T13:00:00Z", "purchase")]
    assert rows(replay(cfg, events), "status", "reason") == [("suppressed", "before_publish"), ("sent", None)]


@pytest.mark.parametrize(("value", "expected"), [(20, "sent"), (60, "cancelled")])
def test_an_exception_with_property_filters_cancels_only_matching_events(value: int, expected: str) -> None:
    cfg = config(campaign("f", on_event("cart_abandoned"), delay="1 hour",
                          exceptions=[on_event("purchase", prop("value", "gte", 50))]))
    events = [ev("2026-01-05T10:00:00Z", "cart_abandoned"), ev("2026-01-05T10:30:00Z", "purchase",
                                                               properties={"value": value})]
    assert [d.status for d in replay(cfg, events)] == [expected]


def test_a_second_exception_after_a_cancel_changes_nothing() -> None:
    events = [ev("2026-01-05T10:00:00Z", "cart_abandoned"), ev("2026-01-05T10:20:00Z", "purchase"),
              ev("2026-01-05T10:40:00Z", "purchase")]
    decisions = replay(CART, events)
    assert rows(decisions, "status", "reason", "due_at") == [("cancelled", "exception", "2026-01-05T11:00:00Z")]
    assert "purchase" in (decisions[0].detail or "")


def test_sends_due_run_in_due_time_order_before_config_order() -> None:
    cfg = config(
        campaign("late_due", on_event("purchase"), delay="1 hour"),
        campaign("early_due", on_event("session_start"), delay="15 minutes"),
        caps=[cap("any", 1, "1 day")],
    )
    events = [ev("2026-01-05T09:30:00Z", "purchase"), ev("2026-01-05T10:00:00Z", "session_start"),
              ev("2026-01-05T11:00:00Z", "app_open")]
    assert rows(replay(cfg, events), "campaign", "status", "reason", "due_at") == [
        ("late_due", "suppressed", "frequency_cap", "2026-01-05T10:30:00Z"),
        ("early_due", "sent", None, "2026-01-05T10:15:00Z"),
    ]
