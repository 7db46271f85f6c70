"""Engine spec, property tests (hypothesis): import order of events at distinct times does not matter, nobody in a
campaign's control bucket is ever sent it, a replay is a pure function; and every decision speaks the
vocabulary of SPEC §4.2 (``enginekit.check_decisions`` runs on every replay).

Spec-silent choices assumed here:
- ``run_user``'s trace (for ``explain``) lists entries in time order and collecting it changes no decision.
"""

from __future__ import annotations

import pytest
from enginekit import (
    FAR_FUTURE,
    T,
    campaign,
    campaign_bucket,
    cap,
    config,
    conversion,
    ev,
    in_days,
    on,
    on_event,
    profile,
    quiet,
    run,
    send_window,
    source,
    timeline,
    variants,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign_connector import vocabulary
from campaign_connector.model import Event, PerformedFilter

#: Slow: property tests over the engine.
pytestmark = pytest.mark.slow

RICH = config(
    source("promo"),
    source("news", channels=["email"]),
    campaign("discount", on("click_push_button", "promo"), on_event("cart_abandoned"), delay="1 hour",
             exceptions=[on_event("purchase")], control_group=20, variants=variants(("a", 40), ("b", 40)),
             conversion_events=(conversion("purchase", "1 day"),), reeligible_after="1 day",
             quiet_hours=quiet("22:00", "07:00")),
    campaign("resend", on("receive_email", "news"), channels=["email"], delay="1 day",
             exceptions=[on("open_email", "news")], send_window=send_window("08:00", "20:00", next_available=True)),
    campaign("thanks", on("perform_conversion_event", "discount"), on("receive_push", "discount"),
             channels=["email", "push"], reeligible_after="0 seconds",
             audience=PerformedFilter("unsubscribe_intent", at_least=0, at_most=0)),
    campaign("nudge", on("receive_email", "thanks"), on("enroll_in_control_group", "discount"),
             channels=["sms"], delay=in_days(1, "09:00"), control_group=30, reeligible_after="2 days",
             reevaluate_audience_at_send=True, audience=PerformedFilter("unsubscribe_intent", at_least=0, at_most=0)),
    campaign("late", on_event("session_start"), published_at="2026-01-08T00:00:00Z", end_at="2026-01-12T00:00:00Z",
             delay="2 days", quiet_hours=quiet("12:00", "14:00", "abort")),
    caps=[cap("push", 2, "1 day"), cap("any", 3, "1 week"), cap("sms", 1, "3 hours")],
    timezone="America/New_York",
)

TEMPLATES = [
    ev(0, "click_push_button", "promo", button_id="b"),
    ev(0, "cart_abandoned"),
    ev(0, "purchase"),
    ev(0, "receive_email", "news"),
    ev(0, "open_email", "news", machine_open=True),
    ev(0, "receive_push", "promo"),
    ev(0, "session_start", timezone="Europe/Berlin"),
    ev(0, "open_push_directly", "discount"),
    ev(0, "receive_email", "thanks"),
    ev(0, "unsubscribe_intent"),
]
START = T("2026-01-05T00:00:00Z")


@st.composite
def timelines(draw: st.DrawFn, distinct: bool = True) -> list[Event]:
    """Up to 25 events over 10 days, at whole minutes; distinct times when asked."""
    minutes = st.integers(min_value=0, max_value=10 * 24 * 60)
    offsets = draw(st.lists(minutes, min_size=1, max_size=25, unique=distinct))
    kinds = draw(st.lists(st.sampled_from(range(len(TEMPLATES))), min_size=len(offsets), max_size=len(offsets)))
    pairs = enumerate(zip(offsets, kinds, strict=True))
    return [TEMPLATES[k]._replace(time=START + m * 60_000, id=f"x{i}") for i, (m, k) in pairs]


zones = st.sampled_from([None, "Asia/Tokyo", "America/Los_Angeles"])
users = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(events=timelines(), order=st.randoms(use_true_random=False), zone=zones)
def test_import_order_of_events_at_distinct_times_changes_nothing(events: list[Event], order, zone) -> None:
    shuffled = list(events)
    order.shuffle(shuffled)
    first = run(RICH, events, profile(timezone=zone))
    second = run(RICH, shuffled, profile(timezone=zone))
    assert first == second


@settings(max_examples=40, deadline=None)
@given(events=timelines(distinct=False), user=users, zone=zones)
def test_no_user_in_a_control_bucket_is_ever_sent_that_campaign(events: list[Event], user: str, zone) -> None:
    result = run(RICH, events, profile(user, timezone=zone), user_id=user)
    for decision in result.decisions:
        c = RICH.campaign(decision.campaign)
        assert c is not None
        in_control = campaign_bucket(user, c.id) < c.control_group
        assert not (in_control and decision.status == "sent"), decision
        assert not (not in_control and decision.status == "control"), decision


@settings(max_examples=30, deadline=None)
@given(events=timelines(distinct=False), user=users, zone=zones)
def test_the_same_input_twice_gives_identical_output(events: list[Event], user: str, zone) -> None:
    first = run(RICH, events, profile(user, timezone=zone), user_id=user)
    second = run(RICH, events, profile(user, timezone=zone), user_id=user)
    assert first == second
    assert [d.trigger_event_id for d in first.decisions] == [d.trigger_event_id for d in second.decisions]


@settings(max_examples=30, deadline=None)
@given(events=timelines(distinct=False), user=users)
def test_every_decision_is_well_formed(events: list[Event], user: str) -> None:
    """``run`` checks each decision against the vocabulary; here also the fields a report relies on."""
    result = run(RICH, events, profile(user), user_id=user)
    log_ids = {e.id for e in events}
    for d in result.decisions:
        assert d.user_id == user
        assert d.trigger_event_id
        assert d.trigger_event_id in log_ids or d.trigger in vocabulary.INTERACTIONS
        assert d.due_at is None or d.due_at >= d.triggered_at
        assert d.sent_at is None or d.sent_at >= d.due_at
        assert d.status != "sent" or set(d.channels) <= set(RICH.campaign(d.campaign).channels)
        assert d.variant is None or d.variant in ("a", "b")
    for c in result.conversions:
        assert result.decisions[c.decision].status in ("sent", "control")
        assert result.decisions[c.decision].campaign == c.campaign


def test_the_rich_config_exercises_most_reasons() -> None:
    """A fixed timeline over the property tests' config reaches many statuses (guards the generator's reach)."""
    events = [
        ev("2026-01-05T15:00:00Z", "click_push_button", "promo", button_id="b"),
        ev("2026-01-05T15:10:00Z", "click_push_button", "promo", button_id="b"),
        ev("2026-01-05T15:30:00Z", "purchase"),
        ev("2026-01-05T16:00:00Z", "receive_email", "news"),
        ev("2026-01-06T01:00:00Z", "receive_email", "news"),
        ev("2026-01-06T02:00:00Z", "open_email", "news"),
        ev("2026-01-07T00:00:00Z", "session_start"),
        ev("2026-01-08T17:00:00Z", "session_start"),
    ]
    result = run(RICH, events, profile("someone"), user_id="someone")
    seen = {d.status for d in result.decisions} | {d.reason for d in result.decisions}
    assert {"cancelled", "already_pending", "before_publish"} <= seen


TRACE_KINDS = {"event", "synthetic", "trigger", "pending", "exception", "hold", "cap", "decision", "conversion"}


@settings(max_examples=20, deadline=None)
@given(events=timelines(distinct=False), user=users)
def test_collecting_a_trace_changes_nothing(events: list[Event], user: str) -> None:

    from campaign_connector.engine import Engine

    trace: list = []
    steps = timeline(events, user)
    plain = Engine(RICH).run_user(user, steps, profile(user), T(FAR_FUTURE))
    traced = Engine(RICH).run_user(user, steps, profile(user), T(FAR_FUTURE), trace)
    assert plain == traced
    assert trace and {entry.kind for entry in trace} <= TRACE_KINDS
    assert [entry.time for entry in trace] == sorted(entry.time for entry in trace)
