"""Engine spec: control groups and variants by hash bucket, the global control group, audiences at trigger
and send time, and the order of the trigger-time checks (SPEC §4 "Triggering", "At the due time", "Buckets",
§4.1 "Audience", "Receipts", "Statuses").

Buckets are computed here with hashlib, independently of the engine (``enginekit.campaign_bucket``).

Spec-silent choices assumed here:
- ``performed ... within D`` counts events in ``[t − D, t)``; the tests keep events well inside or outside.
- Attribute filters on a missing attribute are false (``exists: false`` aside); numbers written as text in the
  users file compare as numbers against a number in the filter.
- A ``received:`` filter counts a control enrollment as a receipt (SPEC §4.1 "Receipts").
"""

from __future__ import annotations

from typing import Any

import pytest
from enginekit import (
    campaign,
    campaign_bucket,
    cap,
    config,
    ev,
    global_bucket,
    on_event,
    profile,
    quiet,
    replay,
    rows,
    send_window,
    source,
    user_in_bucket,
    user_in_global_bucket,
    variants,
)

from campaign_connector.model import (
    AllOf,
    AnyOf,
    AttributeFilter,
    Config,
    Decision,
    GlobalControlGroup,
    Not,
    PerformedFilter,
    PropertyFilter,
    ReceivedFilter,
)

AT = "2026-01-05T10:00:00Z"


def one_user(cfg: Config, user: str, events: list | None = None, **profile_fields: Any) -> list[Decision]:
    events = events if events is not None else [ev(AT, "purchase")]
    return replay(cfg, events, profile(user, **profile_fields), user_id=user)


# --------------------------------------------------------------------------------------------------
# Campaign control group and variants


AB = config(campaign("f", on_event("purchase"), delay="1 day", control_group=20,
                     variants=variants(("a", 40), ("b", 40))))


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0, 1, ("control", None, "2026-01-06T10:00:00Z", None, None)),
        (19, 20, ("control", None, "2026-01-06T10:00:00Z", None, None)),
        (20, 21, ("sent", None, "2026-01-06T10:00:00Z", "2026-01-06T10:00:00Z", "a")),
        (59, 60, ("sent", None, "2026-01-06T10:00:00Z", "2026-01-06T10:00:00Z", "a")),
        (60, 61, ("sent", None, "2026-01-06T10:00:00Z", "2026-01-06T10:00:00Z", "b")),
        (99, 100, ("sent", None, "2026-01-06T10:00:00Z", "2026-01-06T10:00:00Z", "b")),
    ],
    ids=["bucket-0", "bucket-19", "bucket-20", "bucket-59", "bucket-60", "bucket-99"],
)
def test_control_takes_the_lowest_buckets_then_variants_in_order(lo: int, hi: int, expected: tuple) -> None:
    user = user_in_bucket("f", lo, hi)
    assert rows(one_user(AB, user), "status", "reason", "due_at", "sent_at", "variant") == [expected]


def test_the_bucket_hashes_user_colon_campaign() -> None:
    """Two campaigns with the same settings put the same user in different buckets when the hashes differ."""
    cfg = config(
        campaign("f", on_event("purchase"), control_group=50),
        campaign("g", on_event("purchase"), control_group=50),
    )
    user = next(f"user{n}" for n in range(1000)
                if campaign_bucket(f"user{n}", "f") < 50 <= campaign_bucket(f"user{n}", "g"))
    assert rows(one_user(cfg, user), "campaign", "status") == [("f", "control"), ("g", "sent")]


def test_control_row_fields() -> None:
    user = user_in_bucket("f", 0, 20)
    (decision,) = one_user(AB, user)
    assert rows([decision], "campaign", "status", "reason", "trigger", "triggered_at", "due_at", "sent_at",
                "variant") == [("f", "control", None, "purchase", AT, "2026-01-06T10:00:00Z", None, None)]


def test_without_variants_variant_is_null() -> None:
    cfg = config(campaign("f", on_event("purchase"), control_group=10))
    user = user_in_bucket("f", 10, 100)
    assert rows(one_user(cfg, user), "status", "variant") == [("sent", None)]


def test_control_group_zero_means_none() -> None:
    cfg = config(campaign("f", on_event("purchase"), control_group=0))
    user = user_in_bucket("f", 0, 1)
    assert rows(one_user(cfg, user), "status") == [("sent",)]


def test_variants_without_control_start_at_bucket_zero() -> None:
    cfg = config(campaign("f", on_event("purchase"), variants=variants(("a", 50), ("b", 50))))
    assert rows(one_user(cfg, user_in_bucket("f", 0, 1)), "variant") == [("a",)]
    assert rows(one_user(cfg, user_in_bucket("f", 50, 51)), "variant") == [("b",)]


def test_a_user_keeps_the_same_variant_when_re_eligible() -> None:
    cfg = config(campaign("f", on_event("purchase"), reeligible_after="1 day", variants=variants(("a", 50),
                                                                                                 ("b", 50))))
    user = user_in_bucket("f", 50, 100)
    events = [ev(AT, "purchase"), ev("2026-01-07T10:00:00Z", "purchase"), ev("2026-01-09T10:00:00Z", "purchase")]
    assert rows(one_user(cfg, user, events), "status", "variant") == [("sent", "b")] * 3


def test_control_is_decided_at_the_due_time_before_quiet_hours() -> None:
    cfg = config(campaign("f", on_event("purchase"), control_group=50, quiet_hours=quiet("09:00", "12:00", "abort")))
    assert rows(one_user(cfg, user_in_bucket("f", 0, 50)), "status", "due_at") == [("control", AT)]
    assert rows(one_user(cfg, user_in_bucket("f", 50, 100)), "status", "reason") == [("suppressed", "quiet_hours")]


def test_entering_control_marks_the_user_as_received() -> None:
    cfg = config(campaign("f", on_event("purchase"), control_group=50))
    events = [ev(AT, "purchase"), ev("2026-01-06T10:00:00Z", "purchase")]
    assert rows(one_user(cfg, user_in_bucket("f", 0, 50), events), "status", "reason") == [
        ("control", None), ("suppressed", "not_reeligible"),
    ]


def test_re_eligibility_counts_from_control_enrollment() -> None:
    cfg = config(campaign("f", on_event("purchase"), control_group=50, delay="1 hour", reeligible_after="1 day"))
    events = [ev(AT, "purchase"), ev("2026-01-06T10:59:59Z", "purchase"), ev("2026-01-06T11:00:00Z", "purchase")]
    assert rows(one_user(cfg, user_in_bucket("f", 0, 50), events), "status", "reason") == [
        ("control", None), ("suppressed", "not_reeligible"), ("control", None),
    ]


# --------------------------------------------------------------------------------------------------
# Global control group


def gcg_cfg(percent: float = 5, tags: tuple[str, ...] = (), exclude: tuple[str, ...] = ("transactional",)) -> Config:
    return config(campaign("f", on_event("purchase"), tags=tags), gcg=GlobalControlGroup(percent, exclude))


@pytest.mark.parametrize(
    ("lo", "hi", "percent", "expected"),
    [
        (0, 1, 5, ("suppressed", "global_control_group")),
        (499, 500, 5, ("suppressed", "global_control_group")),
        (500, 501, 5, ("sent", None)),
        (249, 250, 2.5, ("suppressed", "global_control_group")),
        (250, 251, 2.5, ("sent", None)),
        (9000, 10000, 5, ("sent", None)),
    ],
    ids=["bucket-0", "bucket-499", "bucket-500", "fractional-in", "fractional-out", "far-out"],
)
def test_global_control_group_by_hash(lo: int, hi: int, percent: float, expected: tuple) -> None:
    user = user_in_global_bucket(lo, hi)
    assert lo <= global_bucket(user) < hi
    decisions = one_user(gcg_cfg(percent), user)
    assert rows(decisions, "status", "reason") == [expected]
    assert decisions[0].due_at is None or expected[0] == "sent"


@pytest.mark.parametrize(
    ("member", "override", "expected"),
    [(True, False, "sent"), (False, True, "global_control_group"), (True, None, "global_control_group"),
     (False, None, "sent")],
)
def test_global_control_group_profile_override(member: bool, override: bool | None, expected: str) -> None:
    user = user_in_global_bucket(0, 500) if member else user_in_global_bucket(500, 10000)
    decisions = one_user(gcg_cfg(), user, global_control_group=override)
    assert [d.reason or d.status for d in decisions] == [expected]


def test_campaigns_with_an_excluded_tag_ignore_the_global_control_group() -> None:
    user = user_in_global_bucket(0, 500)
    assert [d.status for d in one_user(gcg_cfg(tags=("transactional",)), user)] == ["sent"]
    assert [d.reason for d in one_user(gcg_cfg(tags=("promo",)), user)] == ["global_control_group"]


def test_global_control_members_are_not_enrolled_in_the_campaign_control_group() -> None:
    cfg = config(campaign("f", on_event("purchase"), control_group=100), gcg=GlobalControlGroup(100))
    assert rows(one_user(cfg, "anyone"), "status", "reason") == [("suppressed", "global_control_group")]


# --------------------------------------------------------------------------------------------------
# Audience


def audience_of(filt: object, events: list | None = None, **attributes: object) -> list:
    cfg = config(source("news", channels=["email"]), campaign("g", on_event("never")),
                 campaign("f", on_event("purchase"), audience=filt))
    decisions = replay(cfg, [*(events or []), ev(AT, "purchase")], profile(**attributes))
    return [d.reason or d.status for d in decisions if d.campaign == "f"]


@pytest.mark.parametrize(
    ("filt", "attributes", "expected"),
    [
        (AttributeFilter("country", "equals", "US"), {"country": "US"}, True),
        (AttributeFilter("country", "equals", "US"), {"country": "DE"}, False),
        (AttributeFilter("country", "equals", "US"), {}, False),
        (AttributeFilter("country", "not_equals", "US"), {"country": "DE"}, True),
        (AttributeFilter("country", "not_equals", "US"), {"country": "US"}, False),
        (AttributeFilter("country", "in", ["US", "CA"]), {"country": "CA"}, True),
        (AttributeFilter("country", "in", ["US", "CA"]), {"country": "MX"}, False),
        (AttributeFilter("country", "exists", True), {"country": "MX"}, True),
        (AttributeFilter("country", "exists", True), {}, False),
        (AttributeFilter("country", "exists", False), {}, True),
        (AttributeFilter("orders", "gt", 9), {"orders": "10"}, True),
        (AttributeFilter("orders", "gt", 9), {"orders": 9}, False),
        (AttributeFilter("orders", "gte", 9), {"orders": "9"}, True),
        (AttributeFilter("orders", "lt", 10), {"orders": "9"}, True),
        (AttributeFilter("orders", "lt", 10), {"orders": "10"}, False),
        (AttributeFilter("orders", "lte", 10), {"orders": "10.0"}, True),
        (AttributeFilter("orders", "equals", 10), {"orders": "10"}, True),
    ],
)
def test_audience_attribute_filters(filt: object, attributes: dict, expected: bool) -> None:
    assert audience_of(filt, **attributes) == (["sent"] if expected else ["not_in_audience"])


PURCHASED = [ev("2026-01-01T10:00:00Z", "purchase_gift", properties={"value": 30}),
             ev("2026-01-04T10:00:00Z", "purchase_gift", properties={"value": 80})]


@pytest.mark.parametrize(
    ("filt", "expected"),
    [
        (PerformedFilter("purchase_gift"), True),
        (PerformedFilter("purchase_gift", at_least=2), True),
        (PerformedFilter("purchase_gift", at_least=3), False),
        (PerformedFilter("purchase_gift", at_least=0, at_most=1), False),
        (PerformedFilter("purchase_gift", at_least=0, at_most=2), True),
        (PerformedFilter("purchase_gift", at_least=2, within=3 * 86_400), False),
        (PerformedFilter("purchase_gift", at_least=1, within=3 * 86_400), True),
        (PerformedFilter("purchase_gift", where=(PropertyFilter("value", "gt", 50),)), True),
        (PerformedFilter("purchase_gift", at_least=2, where=(PropertyFilter("value", "gt", 50),)), False),
        (PerformedFilter("session_start"), False),
        (PerformedFilter("session_start", at_least=0, at_most=0), True),
    ],
)
def test_audience_performed_filters(filt: object, expected: bool) -> None:
    assert audience_of(filt, PURCHASED) == (["sent"] if expected else ["not_in_audience"])


def test_audience_sees_only_events_strictly_before_the_trigger() -> None:
    filt = PerformedFilter("purchase_gift")
    assert audience_of(filt, [ev(AT, "purchase_gift")]) == ["not_in_audience"]
    assert audience_of(filt, [ev("2026-01-05T09:59:59.999Z", "purchase_gift")]) == ["sent"]


def test_audience_never_counts_the_trigger_event_itself() -> None:
    cfg = config(campaign("f", on_event("purchase"), reeligible_after="0 seconds",
                          audience=PerformedFilter("purchase", at_least=2)))
    events = [ev("2026-01-05T08:00:00Z", "purchase"), ev("2026-01-05T09:00:00Z", "purchase"),
              ev("2026-01-05T10:00:00Z", "purchase")]
    assert [d.reason or d.status for d in replay(cfg, events)] == ["not_in_audience", "not_in_audience", "sent"]


@pytest.mark.parametrize(
    ("filt", "events", "expected"),
    [
        (ReceivedFilter("news"), [ev("2026-01-02T10:00:00Z", "receive_email", "news")], True),
        (ReceivedFilter("news"), [], False),
        (ReceivedFilter("news", within=86_400), [ev("2026-01-02T10:00:00Z", "receive_email", "news")], False),
        (ReceivedFilter("news", within=7 * 86_400), [ev("2026-01-02T10:00:00Z", "receive_email", "news")], True),
        (ReceivedFilter("news"), [ev("2026-01-02T10:00:00Z", "open_email", "news")], False),
        (ReceivedFilter("g"), [ev("2026-01-02T10:00:00Z", "receive_push", "g")], False),
        (Not(ReceivedFilter("news")), [ev("2026-01-02T10:00:00Z", "receive_email", "news")], False),
    ],
    ids=["source-logged-receipt", "none", "outside-within", "inside-within", "open-is-not-receipt",
         "simulated-campaigns-log-receipt-ignored", "not-received"],
)
def test_audience_received_filter_reads_the_timeline_as_replayed(filt: object, events: list, expected: bool) -> None:
    assert audience_of(filt, events) == (["sent"] if expected else ["not_in_audience"])


@pytest.mark.parametrize("control", [False, True], ids=["sent", "control"])
def test_received_filter_counts_the_replays_own_sends_and_control(control: bool) -> None:
    cfg = config(
        campaign("a", on_event("session_start"), control_group=50),
        campaign("f", on_event("purchase"), audience=ReceivedFilter("a", within=86_400)),
    )
    user = user_in_bucket("a", 0, 50) if control else user_in_bucket("a", 50, 100)
    events = [ev("2026-01-05T09:00:00Z", "session_start"), ev(AT, "purchase")]
    assert rows(one_user(cfg, user, events), "campaign", "status") == [
        ("a", "control" if control else "sent"), ("f", "sent"),
    ]


@pytest.mark.parametrize(
    ("filt", "expected"),
    [
        (AllOf((AttributeFilter("country", "equals", "US"), PerformedFilter("purchase_gift"))), True),
        (AllOf((AttributeFilter("country", "equals", "DE"), PerformedFilter("purchase_gift"))), False),
        (AnyOf((AttributeFilter("country", "equals", "DE"), PerformedFilter("purchase_gift"))), True),
        (AnyOf((AttributeFilter("country", "equals", "DE"), PerformedFilter("session_start"))), False),
        (Not(AttributeFilter("country", "equals", "DE")), True),
        (Not(AnyOf((AttributeFilter("country", "equals", "US"),))), False),
    ],
)
def test_audience_all_any_not(filt: object, expected: bool) -> None:
    assert audience_of(filt, PURCHASED, country="US") == (["sent"] if expected else ["not_in_audience"])


REEVAL = config(campaign("f", on_event("cart_abandoned"), delay="1 day", reevaluate_audience_at_send=True,
                         audience=PerformedFilter("unsubscribe_intent", at_least=0, at_most=0)))


@pytest.mark.parametrize(
    ("later", "expected"),
    [
        ([], ("sent", None, "2026-01-06T10:00:00Z")),
        ([ev("2026-01-05T20:00:00Z", "unsubscribe_intent")], ("suppressed", "not_in_audience_at_send", None)),
        ([ev("2026-01-06T10:00:00Z", "unsubscribe_intent")], ("sent", None, "2026-01-06T10:00:00Z")),
    ],
    ids=["still-in", "left-during-delay", "event-at-send-time-not-seen"],
)
def test_audience_is_rechecked_at_send_when_asked(later: list, expected: tuple) -> None:
    events = [ev(AT, "cart_abandoned"), *later]
    assert rows(replay(REEVAL, events), "status", "reason", "sent_at") == [expected]
    assert rows(replay(REEVAL, events), "due_at") == [("2026-01-06T10:00:00Z",)]


def test_audience_is_not_rechecked_at_send_by_default() -> None:
    cfg = config(campaign("f", on_event("cart_abandoned"), delay="1 day",
                          audience=PerformedFilter("unsubscribe_intent", at_least=0, at_most=0)))
    events = [ev(AT, "cart_abandoned"), ev("2026-01-05T20:00:00Z", "unsubscribe_intent")]
    assert rows(replay(cfg, events), "status") == [("sent",)]


def test_not_in_audience_does_not_block_a_later_trigger() -> None:
    cfg = config(campaign("f", on_event("purchase"), audience=PerformedFilter("session_start")))
    events = [ev("2026-01-05T08:00:00Z", "purchase"), ev("2026-01-05T09:00:00Z", "session_start"),
              ev("2026-01-05T10:00:00Z", "purchase")]
    assert rows(replay(cfg, events), "status", "reason", "due_at") == [
        ("suppressed", "not_in_audience", None), ("sent", None, "2026-01-05T10:00:00Z"),
    ]


# --------------------------------------------------------------------------------------------------
# The order of the trigger-time checks: the first failure is recorded


def test_stopped_is_checked_before_the_global_control_group() -> None:
    cfg = config(campaign("f", on_event("purchase"), stopped_at="2026-01-02T00:00:00Z", status="stopped"),
                 gcg=GlobalControlGroup(100))
    assert [d.reason for d in replay(cfg, [ev(AT, "purchase")])] == ["campaign_stopped"]


def test_before_publish_is_checked_before_the_global_control_group() -> None:
    cfg = config(campaign("f", on_event("purchase"), published_at="2026-01-06T00:00:00Z"),
                 gcg=GlobalControlGroup(100))
    assert [d.reason for d in replay(cfg, [ev(AT, "purchase")])] == ["before_publish"]


def test_global_control_group_is_checked_before_the_audience() -> None:
    cfg = config(campaign("f", on_event("purchase"), audience=PerformedFilter("never")), gcg=GlobalControlGroup(100))
    assert [d.reason for d in replay(cfg, [ev(AT, "purchase")])] == ["global_control_group"]


def test_audience_is_checked_before_already_pending() -> None:
    cfg = config(campaign("f", on_event("purchase"), delay="1 day",
                          audience=PerformedFilter("unsubscribe_intent", at_least=0, at_most=0)))
    events = [ev(AT, "purchase"), ev("2026-01-05T11:00:00Z", "unsubscribe_intent"),
              ev("2026-01-05T12:00:00Z", "purchase")]
    assert [d.reason or d.status for d in replay(cfg, events)] == ["sent", "not_in_audience"]


def test_already_pending_is_checked_before_the_send_window() -> None:
    cfg = config(campaign("f", on_event("purchase"), delay="1 day", send_window=send_window("09:00", "11:00")))
    events = [ev(AT, "purchase"), ev("2026-01-05T12:00:00Z", "purchase")]
    assert [d.reason or d.status for d in replay(cfg, events)] == ["sent", "already_pending"]


def test_not_reeligible_is_checked_before_the_send_window() -> None:
    cfg = config(campaign("f", on_event("purchase"), send_window=send_window("09:00", "11:00")))
    events = [ev(AT, "purchase"), ev("2026-01-05T12:00:00Z", "purchase")]
    assert [d.reason or d.status for d in replay(cfg, events)] == ["sent", "not_reeligible"]


def test_audience_at_send_is_checked_before_control() -> None:
    cfg = config(campaign("f", on_event("cart_abandoned"), delay="1 day", reevaluate_audience_at_send=True,
                          control_group=100, audience=PerformedFilter("unsubscribe_intent", at_least=0, at_most=0)))
    events = [ev(AT, "cart_abandoned"), ev("2026-01-05T20:00:00Z", "unsubscribe_intent")]
    assert [d.reason or d.status for d in replay(cfg, events)] == ["not_in_audience_at_send"]


def test_outside_duration_is_checked_before_stopped_at_trigger_time() -> None:
    cfg = config(campaign("f", on_event("purchase"), end_at="2026-01-04T00:00:00Z", stopped_at="2026-01-03T00:00:00Z",
                          status="stopped"))
    assert [d.reason for d in replay(cfg, [ev(AT, "purchase")])] == ["outside_duration"]


def test_stopped_is_checked_before_end_at_at_the_due_time() -> None:
    cfg = config(campaign("f", on_event("purchase"), delay="1 day", end_at="2026-01-06T00:00:00Z",
                          stopped_at="2026-01-05T12:00:00Z"))
    assert [d.reason for d in replay(cfg, [ev(AT, "purchase")])] == ["campaign_stopped"]


def test_quiet_hours_are_checked_before_frequency_caps() -> None:
    cfg = config(
        campaign("first", on_event("session_start")),
        campaign("f", on_event("purchase"), quiet_hours=quiet("09:00", "12:00", "abort")),
        caps=[cap("push", 1, "1 day")],
    )
    events = [ev("2026-01-05T08:00:00Z", "session_start"), ev(AT, "purchase")]
    assert [d.reason or d.status for d in replay(cfg, events)] == ["sent", "quiet_hours"]
