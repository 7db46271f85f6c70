"""A valid campaign file becomes exactly these frozen model objects (times ms, durations seconds, minutes)."""

from __future__ import annotations

import hashlib

import pytest

from campaign_connector.config import load_config_text
from campaign_connector.model import (
    AllOf,
    AttributeFilter,
    ConversionEvent,
    Delay,
    FrequencyCap,
    GlobalControlGroup,
    Not,
    PerformedFilter,
    PropertyFilter,
    QuietHours,
    ReceivedFilter,
    SendWindow,
    Trigger,
    Variant,
    Window,
    Workspace,
)

CONFIG = """\
version: 1
workspace:
  timezone: America/New_York
  global_control_group: {percent: 2.5, exclude_tags: [transactional]}
  frequency_caps:
    - {channel: push, max: 2, per: 1 week}
    - {channel: any, max: 5, per: 12 hours}
segments:
  engaged_us:
    all:
      - {attribute: country, equals: US}
      - {performed: purchase, at_least: 1, within: 30 days, where: {total: {gte: 10}}}
      - not: {received: 5f3c-braze, within: 90 days}
campaigns:
  - id: free_shipping
    braze_id: 5f3c-braze
    name: Free shipping
    channels: [email]
    status: active
    published_at: 2026-01-05T09:00:00Z
    control_group: 10
  - id: discount_push
    channels: [push]
    published_at: "2026-01-01T00:00:00Z"
    start_at: 2026-01-02
    end_at: 1772323200
    stopped_at: null
    tags: [promo]
    triggers:
      - {interaction: click_email_alias, campaign: 5f3c-braze, alias: 42}
      - {interaction: perform_conversion_event, campaign: free_shipping, conversion: 1}
      - {interaction: enroll_in_control_group, campaign: free_shipping}
      - {event: purchase, product: sku-1, where: {plan: gold, tier: [a, b], total: {gte: 100, lt: 200}}}
    delay: {in_days: 1, at: "9:30", zone: company}
    exceptions:
      - {event: session_start}
      - {interaction: open_email, campaign: free_shipping}
    audience: engaged_us
    reevaluate_audience_at_send: true
    reeligible_after: 7 days
    control_group: 10
    variants: [{id: a, percent: 45}, {id: b, percent: 45}]
    quiet_hours: {start: 22:00, end: 07:00, mode: abort}
    send_window: {start: "09:00", end: "20:00", next_available: true}
    frequency_capping: false
    rate_limit: {per_minute: 1000}
    max_recipients: 500
    conversion_events:
      - {event: purchase}
      - {event: add_to_cart, within: 1 day, where: {value: {exists: true}}}
  - id: weekly
    channels: [email]
    status: draft
    triggers: [{event: signup}]
    delay: {next_weekday: Monday, at: "08:00"}
"""


@pytest.fixture(scope="module")
def config():  # type: ignore[no-untyped-def]
    return load_config_text(CONFIG, "campaigns.yaml")


def test_workspace(config) -> None:  # type: ignore[no-untyped-def]
    assert config.workspace == Workspace(
        timezone="America/New_York",
        global_control_group=GlobalControlGroup(percent=2.5, exclude_tags=("transactional",)),
        frequency_caps=(
            FrequencyCap(channel="push", max=2, amount=1, unit="week", text="1 week"),
            FrequencyCap(channel="any", max=5, amount=12, unit="hour", text="12 hours"),
        ),
    )


def test_campaigns_keep_file_order_index_and_line(config) -> None:  # type: ignore[no-untyped-def]
    assert [(c.id, c.index, c.line) for c in config.campaigns] == [
        ("free_shipping", 0, 15), ("discount_push", 1, 22), ("weekly", 2, 51),
    ]
    assert config.path == "campaigns.yaml"
    assert config.text == CONFIG
    assert config.sha256 == hashlib.sha256(CONFIG.encode()).hexdigest()


def test_times_are_ms_and_start_at_defaults_to_published_at(config) -> None:  # type: ignore[no-untyped-def]
    source, follow_up, draft = config.campaigns
    assert (source.published_at, source.start_at) == (1767603600000, 1767603600000)
    assert (follow_up.published_at, follow_up.start_at, follow_up.end_at, follow_up.stopped_at) == (
        1767225600000, 1767312000000, 1772323200000, None,
    )
    assert (draft.status, draft.published_at, draft.start_at) == ("draft", None, None)


def test_triggers_store_config_ids_and_qualifier_pairs(config) -> None:  # type: ignore[no-untyped-def]
    assert config.campaign("discount_push").triggers == (
        Trigger(interaction="click_email_alias", campaign="free_shipping", qualifiers=(("link_alias", "42"),)),
        Trigger(interaction="perform_conversion_event", campaign="free_shipping",
                qualifiers=(("conversion_index", "1"),)),
        Trigger(interaction="enroll_in_control_group", campaign="free_shipping"),
        Trigger(event="purchase", product="sku-1", where=(
            PropertyFilter("plan", "eq", "gold"),
            PropertyFilter("tier", "in", ("a", "b")),
            PropertyFilter("total", "gte", 100),
            PropertyFilter("total", "lt", 200),
        )),
    )
    assert config.campaign("discount_push").exceptions == (
        Trigger(event="session_start"),
        Trigger(interaction="open_email", campaign="free_shipping"),
    )


@pytest.mark.parametrize(
    ("delay", "expected"),
    [
        ("immediately", Delay()),
        ("90 seconds", Delay(kind="duration", seconds=90, text="90 seconds")),
        ("1 week", Delay(kind="duration", seconds=604_800, text="1 week")),
        ("{in_days: 0, at: '23:00'}", Delay(kind="in_days", days=0, at=1380, text="in 0 days at 23:00 user time")),
        ("{next_weekday: sunday, at: 7:05, zone: company}",
         Delay(kind="next_weekday", weekday=6, at=425, zone="company", text="next sunday at 07:05 company time")),
    ],
)
def test_delay_forms(delay: str, expected: Delay) -> None:
    text = f"version: 1\ncampaigns:\n  - {{id: f, channels: [push], published_at: 0, triggers: [{{event: x}}], " \
           f"delay: {delay}}}\n"
    assert load_config_text(text).campaigns[0].delay == expected


def test_calendar_delays_of_the_full_config(config) -> None:  # type: ignore[no-untyped-def]
    assert config.campaign("discount_push").delay == Delay(
        kind="in_days", days=1, at=570, zone="company", text="in 1 day at 09:30 company time"
    )
    assert config.campaign("weekly").delay == Delay(
        kind="next_weekday", weekday=0, at=480, text="next monday at 08:00 user time"
    )


def test_segment_audience_is_resolved_inline_with_its_name(config) -> None:  # type: ignore[no-untyped-def]
    campaign = config.campaign("discount_push")
    expected = AllOf((
        AttributeFilter("country", "equals", "US"),
        PerformedFilter("purchase", at_least=1, within=2_592_000, where=(PropertyFilter("total", "gte", 10),)),
        Not(ReceivedFilter("free_shipping", within=7_776_000)),
    ))
    assert campaign.audience == expected
    assert campaign.audience_segment == "engaged_us"
    assert config.segments == {"engaged_us": expected}


def test_sending_options(config) -> None:  # type: ignore[no-untyped-def]
    campaign = config.campaign("discount_push")
    assert campaign.reevaluate_audience_at_send is True
    assert campaign.reeligible_after == 604_800
    assert (campaign.control_group, campaign.variants) == (10, (Variant("a", 45), Variant("b", 45)))
    assert campaign.quiet_hours == QuietHours(Window(1320, 420), mode="abort")
    assert campaign.send_window == SendWindow(Window(540, 1200), next_available=True)
    assert (campaign.frequency_capping, campaign.rate_limit_per_minute, campaign.max_recipients) == (False, 1000, 500)
    assert campaign.conversion_events == (
        ConversionEvent("purchase", within=259_200),
        ConversionEvent("add_to_cart", within=86_400, where=(PropertyFilter("value", "exists", True),)),
    )
    assert campaign.tags == ("promo",)


def test_defaults_of_a_minimal_campaign() -> None:
    config = load_config_text("version: 1\ncampaigns:\n  - {id: s, channels: [sms], published_at: 0}\n")
    campaign = config.campaigns[0]
    assert config.workspace == Workspace()
    assert (campaign.status, campaign.delay, campaign.audience, campaign.reeligible_after) == (
        "active", Delay(), None, None,
    )
    assert (campaign.frequency_capping, campaign.control_group, campaign.simulated) == (True, 0, False)
