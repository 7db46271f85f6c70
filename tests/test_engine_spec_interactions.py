"""Engine spec: which logged rows match which trigger (SPEC §1, §3.1, §4.1 "Interactions are a base event plus a
condition", "Campaign identity", "One row per (event, campaign)"), and event triggers with property filters.

Spec-silent choices assumed here:
- ``machine_open`` arrives in ``model.Event`` as a bool; here only the bool is used. The logged strings
  (``true``/``1``/``yes`` in any case) are pinned end to end in ``test_engine_spec_logrows.py``.
- ``where`` operators compare JSON numbers as numbers; a missing property fails every operator except
  ``exists: false``.
- A purchase trigger's ``product`` matches ``properties.product_id`` (or ``product``), as the model's docstring
  says.
"""

from __future__ import annotations

import pytest
from enginekit import campaign, config, ev, on, on_event, prop, replay, rows, source

from campaign_connector import vocabulary
from campaign_connector.model import Event, Trigger

AT = "2026-01-05T10:00:00Z"


def src_channel(interaction: str) -> str:
    return vocabulary.INTERACTIONS[interaction].channel or "push"


def matches(trigger: Trigger, event: Event, **source_fields: object) -> bool:
    """Whether one logged event triggers a follow-up with this one trigger (source ``src``)."""
    channel = src_channel(trigger.interaction) if trigger.interaction else "push"
    cfg = config(
        source("src", channels=[channel], **source_fields),
        campaign("f", trigger, channels=["email"]),
    )
    decisions = replay(cfg, [event])
    assert len(decisions) <= 1
    if decisions:
        assert rows(decisions, "trigger", "triggered_at", "trigger_event_id") == [(trigger.name, AT, "e1")]
    return bool(decisions)


# (trigger, event, matches) — every interaction of §1 with rows that match and rows that do not.
TABLE = [
    (on("view_in_app_message", "src"), ev(AT, "view_in_app_message", "src"), True),
    (on("view_in_app_message", "src"), ev(AT, "click_in_app_message", "src"), False),
    (on("click_in_app_message", "src"), ev(AT, "click_in_app_message", "src"), True),
    (on("click_in_app_message", "src"), ev(AT, "click_in_app_message", "src", button_id="b1"), False),
    (on("click_in_app_message_button", "src"), ev(AT, "click_in_app_message", "src", button_id="b1"), True),
    (on("click_in_app_message_button", "src"), ev(AT, "click_in_app_message", "src"), False),
    (on("click_in_app_message_button", "src", button="b1"),
     ev(AT, "click_in_app_message", "src", button_id="b1"), True),
    (on("click_in_app_message_button", "src", button="b1"),
     ev(AT, "click_in_app_message", "src", button_id="b2"), False),
    (on("click_email", "src"), ev(AT, "click_email", "src"), True),
    (on("click_email", "src"), ev(AT, "click_email", "src", link_alias="cta"), True),
    (on("click_email", "src"), ev(AT, "open_email", "src"), False),
    (on("click_email_alias", "src", alias="cta"), ev(AT, "click_email", "src", link_alias="cta"), True),
    (on("click_email_alias", "src", alias="cta"), ev(AT, "click_email", "src", link_alias="other"), False),
    (on("click_email_alias", "src", alias="cta"), ev(AT, "click_email", "src"), False),
    (on("click_alias_any_campaign", alias="cta"), ev(AT, "click_email", "src", link_alias="cta"), True),
    (on("click_alias_any_campaign", alias="cta"), ev(AT, "click_email", "undeclared", link_alias="cta"), True),
    (on("click_alias_any_campaign", alias="cta"), ev(AT, "click_email", None, link_alias="cta"), True),
    (on("click_alias_any_campaign", alias="cta"), ev(AT, "click_email", "src", link_alias="other"), False),
    (on("click_alias_any_campaign", alias="cta"), ev(AT, "open_email", "src"), False),
    (on("open_email", "src"), ev(AT, "open_email", "src"), True),
    (on("open_email", "src"), ev(AT, "open_email", "src", machine_open=True), True),
    (on("open_email", "src"), ev(AT, "click_email", "src"), False),
    (on("open_email_machine", "src"), ev(AT, "open_email", "src", machine_open=True), True),
    (on("open_email_machine", "src"), ev(AT, "open_email", "src"), False),
    (on("open_email_other", "src"), ev(AT, "open_email", "src"), True),
    (on("open_email_other", "src"), ev(AT, "open_email", "src", machine_open=True), False),
    (on("open_push_directly", "src"), ev(AT, "open_push_directly", "src"), True),
    (on("open_push_directly", "src"), ev(AT, "click_push_button", "src", button_id="1"), False),
    (on("click_push_button", "src"), ev(AT, "click_push_button", "src", button_id="1"), True),
    (on("click_push_button", "src"), ev(AT, "open_push_directly", "src"), False),
    (on("click_push_button", "src", button=1), ev(AT, "click_push_button", "src", button_id="1"), True),
    (on("click_push_button", "src", button=1), ev(AT, "click_push_button", "src", button_id="2"), False),
    (on("click_push_story_page", "src"), ev(AT, "click_push_story_page", "src", page="2"), True),
    (on("click_push_story_page", "src", page=2), ev(AT, "click_push_story_page", "src", page="2"), True),
    (on("click_push_story_page", "src", page=2), ev(AT, "click_push_story_page", "src", page="3"), False),
    (on("perform_conversion_event", "src"), ev(AT, "perform_conversion_event", "src", conversion_index=1), True),
    (on("perform_conversion_event", "src", conversion=0),
     ev(AT, "perform_conversion_event", "src", conversion_index=0), True),
    (on("perform_conversion_event", "src", conversion=0),
     ev(AT, "perform_conversion_event", "src", conversion_index=1), False),
    (on("receive_email", "src"), ev(AT, "receive_email", "src"), True),
    (on("receive_email", "src"), ev(AT, "open_email", "src"), False),
    (on("receive_sms", "src"), ev(AT, "receive_sms", "src"), True),
    (on("receive_sms", "src"), ev(AT, "click_sms_short_link", "src"), False),
    (on("click_sms_short_link", "src"), ev(AT, "click_sms_short_link", "src"), True),
    (on("click_sms_short_link", "src"), ev(AT, "receive_sms", "src"), False),
    (on("receive_push", "src"), ev(AT, "receive_push", "src"), True),
    (on("receive_push", "src"), ev(AT, "open_push_directly", "src"), False),
    (on("receive_webhook", "src"), ev(AT, "receive_webhook", "src"), True),
    (on("receive_webhook", "src"), ev(AT, "receive_push", "src"), False),
    (on("enroll_in_control_group", "src"), ev(AT, "enroll_in_control_group", "src"), True),
    (on("enroll_in_control_group", "src"), ev(AT, "receive_push", "src"), False),
    (on("view_content_card", "src"), ev(AT, "view_content_card", "src"), True),
    (on("view_content_card", "src"), ev(AT, "click_content_card", "src"), False),
    (on("click_content_card", "src"), ev(AT, "click_content_card", "src"), True),
    (on("click_content_card", "src"), ev(AT, "dismiss_content_card", "src"), False),
    (on("dismiss_content_card", "src"), ev(AT, "dismiss_content_card", "src"), True),
    (on("dismiss_content_card", "src"), ev(AT, "view_content_card", "src"), False),
]


def _row_id(row: tuple[Trigger, Event, bool]) -> str:
    trigger, event, match = row
    quals = ",".join(f"{k}={v}" for k, v in trigger.qualifiers)
    fields = ",".join(f"{k}={v}" for k in ("link_alias", "button_id", "page", "conversion_index", "machine_open")
                      if (v := getattr(event, k)) not in (None, False))
    return f"{trigger.name}[{quals}]-{event.event}({event.campaign},{fields})-{'match' if match else 'no'}"


def test_the_table_covers_all_22_interactions_with_a_match_and_a_miss() -> None:
    covered = {(t.interaction, m) for t, _, m in TABLE}
    assert {name for name, _ in covered} == set(vocabulary.INTERACTIONS)
    assert all((name, m) in covered for name in vocabulary.INTERACTIONS for m in (True, False))


@pytest.mark.parametrize(("trigger", "event", "expected"), TABLE, ids=[_row_id(r) for r in TABLE])
def test_interaction_matching_rule(trigger: Trigger, event: Event, expected: bool) -> None:
    assert matches(trigger, event, control_group=10) is expected


CAMPAIGN_BOUND = [(t, e) for t, e, m in TABLE if m and t.campaign is not None]


@pytest.mark.parametrize(("trigger", "event"), CAMPAIGN_BOUND, ids=[_row_id((t, e, True)) for t, e in CAMPAIGN_BOUND])
def test_an_interaction_with_another_campaign_does_not_match(trigger: Trigger, event: Event) -> None:
    assert matches(trigger, event._replace(campaign="other_campaign"), control_group=10) is False


@pytest.mark.parametrize(("trigger", "event"), CAMPAIGN_BOUND, ids=[_row_id((t, e, True)) for t, e in CAMPAIGN_BOUND])
def test_rows_without_campaign_match_only_click_alias_any_campaign(trigger: Trigger, event: Event) -> None:
    assert matches(trigger, event._replace(campaign=None), control_group=10) is False


# --------------------------------------------------------------------------------------------------
# Campaign identity


BRAZE_ID = "5f3c1a9e-0b1d-4c2e-9f00-1a2b3c4d5e6f"


@pytest.mark.parametrize(
    ("logged", "expected"),
    [("src", [("sent", "src")]), (BRAZE_ID, [("sent", "src")]), ("5f3c1a9e", [])],
    ids=["config-id", "braze-id", "prefix-of-braze-id"],
)
def test_logged_campaign_matches_id_then_braze_id(logged: str, expected: list) -> None:
    cfg = config(source("src", braze_id=BRAZE_ID), campaign("f", on("click_push_button", "src")))
    decisions = replay(cfg, [ev(AT, "click_push_button", logged, button_id="x")])
    assert rows(decisions, "status", "source_campaign") == expected


def test_a_campaign_id_wins_over_another_campaigns_braze_id() -> None:
    cfg = config(
        source("a"),
        source("b", braze_id="a"),
        campaign("follows_a", on("receive_push", "a")),
        campaign("follows_b", on("receive_push", "b")),
    )
    assert rows(replay(cfg, [ev(AT, "receive_push", "a")]), "campaign", "source_campaign") == [("follows_a", "a")]


# --------------------------------------------------------------------------------------------------
# One row per (event, campaign)


@pytest.mark.parametrize(
    ("triggers", "expected"),
    [
        ((on("click_email_alias", "src", alias="cta"), on("click_email", "src")), "click_email_alias"),
        ((on("click_email", "src"), on("click_email_alias", "src", alias="cta")), "click_email"),
        ((on("click_email_alias", "src", alias="nope"), on("click_email", "src")), "click_email"),
    ],
    ids=["alias-first", "any-link-first", "first-does-not-match"],
)
def test_one_row_per_event_and_campaign_naming_the_first_matching_trigger(triggers: tuple, expected: str) -> None:
    cfg = config(source("src", channels=["email"]), campaign("f", *triggers))
    decisions = replay(cfg, [ev(AT, "click_email", "src", link_alias="cta")])
    assert rows(decisions, "campaign", "status", "trigger") == [("f", "sent", expected)]


def test_one_event_triggers_campaigns_in_config_order() -> None:
    cfg = config(
        campaign("second_in_name", on_event("purchase")),
        source("src"),
        campaign("a_first_in_name", on_event("purchase")),
    )
    decisions = replay(cfg, [ev(AT, "purchase")])
    assert rows(decisions, "campaign", "status") == [("second_in_name", "sent"), ("a_first_in_name", "sent")]


def test_an_event_matching_no_trigger_records_nothing() -> None:
    cfg = config(source("src"), campaign("f", on("click_push_button", "src")))
    assert replay(cfg, [ev(AT, "session_start"), ev(AT, "purchase"), ev(AT, "receive_push", "src")]) == []


# --------------------------------------------------------------------------------------------------
# Event triggers: purchase, session_start, custom events, property filters


@pytest.mark.parametrize(
    ("trigger", "event", "expected"),
    [
        (on_event("purchase"), ev(AT, "purchase"), True),
        (on_event("purchase"), ev(AT, "session_start"), False),
        (on_event("session_start"), ev(AT, "session_start"), True),
        (on_event("cart_abandoned"), ev(AT, "cart_abandoned"), True),
        (on_event("cart_abandoned"), ev(AT, "cart_viewed"), False),
        (on_event("purchase", product="sku1"), ev(AT, "purchase", properties={"product_id": "sku1"}), True),
        (on_event("purchase", product="sku1"), ev(AT, "purchase", properties={"product_id": "sku2"}), False),
        (on_event("purchase", product="sku1"), ev(AT, "purchase"), False),
        (on_event("purchase", product="sku1"), ev(AT, "purchase", properties={"product": "sku1"}), True),
    ],
    ids=["purchase", "purchase-vs-session", "session_start", "custom", "other-custom", "product",
         "other-product", "no-product", "product-key"],
)
def test_event_trigger_matching_rule(trigger: Trigger, event: Event, expected: bool) -> None:
    assert matches(trigger, event) is expected


CART = [prop("cart_value", "gte", 100), prop("cart_value", "lt", 200)]


@pytest.mark.parametrize(
    ("where", "properties", "expected"),
    [
        (CART, {"cart_value": 150}, True),
        (CART, {"cart_value": 100}, True),
        (CART, {"cart_value": 200}, False),
        (CART, {"cart_value": 99.5}, False),
        (CART, None, False),
        ([prop("tier", "eq", "gold")], {"tier": "gold"}, True),
        ([prop("tier", "eq", "gold")], {"tier": "silver"}, False),
        ([prop("tier", "ne", "gold")], {"tier": "silver"}, True),
        ([prop("tier", "ne", "gold")], {"tier": "gold"}, False),
        ([prop("n", "gt", 3)], {"n": 4}, True),
        ([prop("n", "gt", 3)], {"n": 3}, False),
        ([prop("n", "lte", 3)], {"n": 3}, True),
        ([prop("n", "lte", 3)], {"n": 4}, False),
        ([prop("tier", "in", ["gold", "platinum"])], {"tier": "platinum"}, True),
        ([prop("tier", "in", ["gold", "platinum"])], {"tier": "silver"}, False),
        ([prop("coupon", "exists", True)], {"coupon": "X1"}, True),
        ([prop("coupon", "exists", True)], {"other": 1}, False),
        ([prop("coupon", "exists", False)], {"other": 1}, True),
        ([prop("coupon", "exists", False)], {"coupon": "X1"}, False),
    ],
)
def test_event_trigger_property_filters(where: list, properties: dict | None, expected: bool) -> None:
    assert matches(on_event("cart_abandoned", *where), ev(AT, "cart_abandoned", properties=properties)) is expected
