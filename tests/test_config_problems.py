"""The validator's rules (SPEC §2.2), as a table: broken config → exact problems (code, LINE:COL: path: message).

Cases whose YAML starts with "  - " are campaigns appended to BASE (a push source ``src`` on lines 3-5), so
their first line is line 6. Every problem code of ``PROBLEM_CODES`` is pinned here or in test_validate.py.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_connector.config import PROBLEM_CODES, InvalidConfig, check_config_text, load_config_text

BASE = """\
version: 1
campaigns:
  - id: src
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
"""


class Case(NamedTuple):
    name: str
    yaml: str
    expected: list[tuple[str, str]]
    """(code, "LINE:COL: path: message") in the order reported (by position)."""


def problems_of(text: str) -> list[tuple[str, str]]:
    full = BASE + text if text.startswith("  - ") else text
    _, problems = check_config_text(full, "c.yaml")
    return [
        (p.code, f"{p.line}:{p.column}: " + (f"{p.path}: " if p.path else "") + p.message) for p in problems
    ]


CASES: list[Case] = [
    Case(
        "unknown_interaction_suggests",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: opne_email, campaign: src}]
""",
        [
            ('unknown-interaction', (
                "9:30: campaigns[1].triggers[0].interaction: unknown interaction 'opne_email' (did you "
                "mean 'open_email'?)"
            )),
        ],
    ),
    Case(
        "interaction_the_source_channels_cannot_produce",
        """\
  - id: f
    channels: [email]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: open_email, campaign: src}]
""",
        [
            ('interaction-channel', (
                '9:30: campaigns[1].triggers[0].interaction: open_email needs a source with the email '
                "channel; 'src' has push"
            )),
        ],
    ),
    Case(
        "undeclared_source_campaign_suggests",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: open_push_directly, campaign: scr}]
""",
        [
            ('unknown-campaign', (
                "9:60: campaigns[1].triggers[0].campaign: unknown campaign 'scr' (did you mean 'src'?)"
            )),
        ],
    ),
    Case(
        "in_app_campaign_with_a_connector_trigger",
        """\
  - id: f
    channels: [in_app]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: open_push_directly, campaign: src}]
""",
        [
            ('in-app-connector-trigger', (
                '9:30: campaigns[1].triggers[0].interaction: connector triggers cannot trigger an in_app '
                'campaign (in-app messages are triggered only by SDK events such as session_start or a '
                'custom event)'
            )),
        ],
    ),
    Case(
        "follow_up_triggered_by_itself",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: receive_push, campaign: f}]
""",
        [
            ('self-trigger', (
                "9:54: campaigns[1].triggers[0].campaign: 'f' cannot be triggered by its own receive_push"
            )),
        ],
    ),
    Case(
        "exceptions_with_an_immediate_delay",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: receive_push, campaign: src}]
    exceptions: [{event: purchase}]
""",
        [
            ('exception-needs-delay', (
                '10:17: campaigns[1].exceptions: exceptions need a delay: with delay immediately a send '
                "never waits (set a delay like '1 day', or remove the exceptions)"
            )),
        ],
    ),
    Case(
        "session_start_as_trigger_and_exception",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: session_start}]
    delay: 1 hour
    exceptions: [{event: session_start}]
""",
        [
            ('session-start-trigger-and-exception', (
                '11:26: campaigns[1].exceptions[0].event: session_start cannot be both a trigger and an '
                'exception of one campaign'
            )),
        ],
    ),
    Case(
        "control_group_and_variants_on_a_multichannel_campaign",
        """\
  - id: f
    channels: [push, email]
    published_at: 2026-01-01T00:00:00Z
    control_group: 10
    variants: [{id: a, percent: 90}]
""",
        [
            ('multichannel-control', (
                '9:20: campaigns[1].control_group: a control group needs a single-channel campaign'
            )),
            ('multichannel-control', '10:15: campaigns[1].variants: variants need a single-channel campaign'),
        ],
    ),
    Case(
        "variants_and_control_not_summing_to_100",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    control_group: 10
    variants: [{id: a, percent: 45}, {id: b, percent: 40}]
""",
        [
            ('variant-sum', (
                '10:15: campaigns[1].variants: variants (45 + 40) and control_group (10) add up to 95, '
                'not 100'
            )),
        ],
    ),
    Case(
        "in_app_in_a_multichannel_campaign",
        """\
  - id: f
    channels: [push, in_app]
    published_at: 2026-01-01T00:00:00Z
""",
        [
            ('in-app-multichannel', (
                '7:15: campaigns[1].channels: in_app cannot be combined with other channels (make a '
                'separate in-app campaign)'
            )),
        ],
    ),
    Case(
        "in_app_delay_over_two_hours",
        """\
  - id: f
    channels: [in_app]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: session_start}]
    delay: 3 hours
""",
        [
            ('in-app-delay', (
                "10:12: campaigns[1].delay: an in-app campaign's delay is at most 2 hours, got 3 hours"
            )),
        ],
    ),
    Case(
        "reeligible_after_over_720_days",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    reeligible_after: 721 days
""",
        [
            ('reeligible-too-long', (
                '9:23: campaigns[1].reeligible_after: reeligible_after is at most 720 days, got 721 days'
            )),
        ],
    ),
    Case(
        "more_than_four_conversion_events",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    conversion_events: [{event: a}, {event: b}, {event: c}, {event: d}, {event: e}]
""",
        [
            ('too-many-conversion-events', (
                '9:73: campaigns[1].conversion_events[4]: a campaign has at most 4 conversion events, got'
                ' 5'
            )),
        ],
    ),
    Case(
        "conversion_window_over_30_days",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    conversion_events: [{event: purchase, within: 31 days}]
""",
        [
            ('conversion-window-too-long', (
                '9:51: campaigns[1].conversion_events[0].within: a conversion window is at most 30 days, '
                'got 31 days'
            )),
        ],
    ),
    Case(
        "immediate_cycle_that_never_ends",
        """\
  - id: a
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: receive_push, campaign: b}]
    reeligible_after: 0 seconds
  - id: b
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: receive_push, campaign: a}]
    reeligible_after: 0 seconds
""",
        [
            ('immediate-cycle', (
                '9:54: campaigns[1].triggers[0].campaign: trigger cycle a → b → a never ends: every delay'
                ' is immediately and every campaign is re-eligible after 0 seconds (add a delay or a '
                'longer reeligible_after)'
            )),
        ],
    ),
    Case(
        "enroll_in_control_group_on_a_source_without_one",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: enroll_in_control_group, campaign: src}]
""",
        [
            ('enroll-needs-control-group', (
                "9:30: campaigns[1].triggers[0].interaction: 'src' has no control group, so nobody is "
                'ever enrolled in it (give it control_group, or use another interaction)'
            )),
        ],
    ),
    Case(
        "trigger_forms",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers:
      - {interaction: click_alias_any_campaign, campaign: src, alias: x}
      - {interaction: click_email_alias, campaign: src}
      - {event: open_email}
      - {interaction: purchase}
      - {event: purchase, interaction: open_email}
      - {campaign: src}
      - {event: signup, product: x}
      - {interaction: click_push_button, campaign: src, button: 1, page: 2}
      - {interaction: perform_conversion_event, campaign: src, conversion: 7}
""",
        [
            ('bad-trigger', (
                '10:59: campaigns[1].triggers[0].campaign: click_alias_any_campaign matches a click on '
                "the alias in any campaign; remove 'campaign' (or use click_email_alias for one campaign)"
            )),
            ('missing-key', "11:9: campaigns[1].triggers[1]: missing required key 'alias'"),
            ('interaction-as-event', (
                "12:17: campaigns[1].triggers[2].event: 'open_email' is a connector interaction; write "
                '{interaction: open_email, campaign: SOURCE}'
            )),
            ('unknown-interaction', (
                "13:23: campaigns[1].triggers[3].interaction: 'purchase' is not a connector interaction; "
                'write {event: purchase}'
            )),
            ('bad-trigger', (
                '14:9: campaigns[1].triggers[4]: give either interaction (with campaign) or event, not '
                'both'
            )),
            ('missing-key', (
                "15:9: campaigns[1].triggers[5]: missing 'interaction' or 'event' (e.g. {interaction: "
                'open_email, campaign: x})'
            )),
            ('unknown-key', (
                "16:25: campaigns[1].triggers[6].product: unknown key 'product' (allowed: event, where)"
            )),
            ('unknown-key', (
                "17:68: campaigns[1].triggers[7].page: unknown key 'page' (allowed: interaction, "
                'campaign, button)'
            )),
            ('bad-value', (
                '18:76: campaigns[1].triggers[8].conversion: expected a 0-based conversion event index '
                'from 0 to 3, got 7'
            )),
        ],
    ),
    Case(
        "where_operators",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: cart, where: {v: {gtee: 1}, w: null, x: {in: 3}, y: {exists: yes}}}]
""",
        [
            ('unknown-operator', (
                "9:42: campaigns[1].triggers[0].where.v.gtee: unknown operator 'gtee' (did you mean "
                "'gte'?)"
            )),
            ('wrong-type', (
                '9:55: campaigns[1].triggers[0].where.w: expected a value, got null (use exists: false '
                'for a missing one)'
            )),
            ('wrong-type', (
                '9:69: campaigns[1].triggers[0].where.x.in: expected a list of values, got the number 3'
            )),
            ('wrong-type', (
                "9:85: campaigns[1].triggers[0].where.y.exists: expected true or false, got 'yes' ('yes' "
                'is text here, as in YAML 1.2: write true)'
            )),
        ],
    ),
    Case(
        "yaml_1_1_words_stay_text",
        """\
version: 1
campaigns:
  - id: f
    channels: [push]
    status: yes
    published_at: 2026-01-01T00:00:00Z
    quiet_hours: {start: 22:00, end: 07:00, mode: on}
    frequency_capping: no
""",
        [
            ('unknown-status', (
                "5:13: campaigns[0].status: unknown status 'yes' (expected draft, active, stopped or "
                'archived)'
            )),
            ('bad-value', (
                "7:51: campaigns[0].quiet_hours.mode: unknown quiet hours mode 'on' (expected "
                'next_available or abort)'
            )),
            ('wrong-type', (
                "8:24: campaigns[0].frequency_capping: expected true or false, got 'no' ('no' is text "
                'here, as in YAML 1.2: write false)'
            )),
        ],
    ),
    Case(
        "misspelt_key_and_duplicate_key",
        """\
version: 1
campaigns:
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    delya: 1 day
    id: g
""",
        [
            ('unknown-key', "6:5: campaigns[0].delya: unknown key 'delya' (did you mean 'delay'?)"),
            ('duplicate-key', "7:5: campaigns[0].id: duplicate key 'id' (first at line 3); keep one"),
        ],
    ),
    Case(
        "bad_values_everywhere",
        """\
version: 2
workspace:
  timezone: America/New_Yrok
  frequency_caps: [{channel: in_app, max: 1, per: 1 day}, {channel: push, max: x, per: 1 second}]
campaigns:
  - id: F 1
    channels: [psuh, push, push]
    status: actve
    published_at: yesterday
    delay: 1 fortnight
    quiet_hours: {start: "10:00", end: "10:00"}
    send_window: {start: "25:00", end: "07:00"}
    control_group: 120
    variants: [{id: a, percent: 50}, {id: a, percent: 50}]
  - channels: push
    status: stopped
    published_at: 2026-01-01T00:00:00Z
    end_at: 2025-01-01T00:00:00Z
""",
        [
            ('bad-version', (
                '1:10: version: unsupported version 2 (this campaign-connector reads version: 1)'
            )),
            ('bad-zone', (
                "3:13: workspace.timezone: unknown time zone 'America/New_Yrok' (did you mean "
                "'America/New_York'?)"
            )),
            ('bad-value', (
                '4:30: workspace.frequency_caps[0].channel: in_app sends are never capped (cap email, '
                'push, sms, webhook or any)'
            )),
            ('wrong-type', "4:80: workspace.frequency_caps[1].max: expected a whole number, got 'x'"),
            ('bad-duration', (
                "4:88: workspace.frequency_caps[1].per: expected a period like '1 week' (minutes, hours, "
                "days or weeks), got '1 second'"
            )),
            ('bad-id', (
                "6:9: campaigns[0].id: campaign id 'F 1' must use only a-z, 0-9, _ and - (e.g. 'f_1')"
            )),
            ('unknown-channel', (
                "7:16: campaigns[0].channels[0]: unknown channel 'psuh' (did you mean 'push'?)"
            )),
            ('bad-value', "7:28: campaigns[0].channels[2]: channel 'push' is listed twice"),
            ('unknown-status', "8:13: campaigns[0].status: unknown status 'actve' (did you mean 'active'?)"),
            ('bad-time', (
                '9:19: campaigns[0].published_at: expected an ISO-8601 time like 2026-01-05T09:00:00Z or '
                "epoch seconds, got 'yesterday'"
            )),
            ('bad-duration', (
                "10:12: campaigns[0].delay: expected a duration like '3 days' (units: seconds, minutes, "
                "hours, days, weeks), got '1 fortnight'"
            )),
            ('empty-window', (
                '11:18: campaigns[0].quiet_hours: start and end are both 10:00: the window would be empty'
                ' (or the whole day)'
            )),
            ('bad-clock', (
                '12:26: campaigns[0].send_window.start: expected a clock time like "22:00", got \'25:00\''
            )),
            ('bad-percent', (
                '13:20: campaigns[0].control_group: expected a percentage from 0 to 100, got 120'
            )),
            ('duplicate-id', (
                "14:43: campaigns[0].variants[1].id: duplicate variant id 'a' (first at line 14)"
            )),
            ('missing-key', "15:5: campaigns[1]: missing required key 'id'"),
            ('missing-key', (
                "15:5: campaigns[1]: missing required key 'stopped_at' (status stopped needs it)"
            )),
            ('wrong-type', (
                '15:15: campaigns[1].channels: expected a list of channels (email, push, sms, webhook, '
                "content_card, in_app), got 'push'"
            )),
            ('time-order', (
                '18:13: campaigns[1].end_at: end_at must be after start_at (or published_at when start_at'
                ' is absent)'
            )),
        ],
    ),
    Case(
        "duplicate_ids_and_braze_ids",
        """\
  - id: f
    braze_id: 5f3c
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
  - id: g
    braze_id: 5f3c
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
""",
        [
            ('duplicate-id', (
                "11:15: campaigns[2].braze_id: braze_id '5f3c' is already used by campaign 'f' (line 6); "
                'each logged campaign value must name one campaign'
            )),
            ('duplicate-id', "14:9: campaigns[3].id: duplicate campaign id 'f' (first at line 6)"),
        ],
    ),
    Case(
        "audience_filters",
        """\
version: 1
segments:
  s1:
    all:
      - {attribut: country, equals: US}
      - {attribute: country}
      - {attribute: country, equals: US, in: [US]}
      - {performed: open_email_machine}
      - {performed: purchase, at_least: 3, at_most: 1, within: forever}
      - {received: nope}
      - {performed: x, all: []}
      - not: [a]
      - any: []
      - 5
campaigns:
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    audience: s2
    conversion_events: [{event: open_email_other}, {event: signup, product: x}, {within: 1 day}]
""",
        [
            ('bad-filter', (
                "5:10: segments.s1.all[0].attribut: unknown filter 'attribut' (did you mean "
                "'attribute'?); a filter is one of all, any, not, attribute, performed or received"
            )),
            ('missing-key', (
                '6:9: segments.s1.all[1]: an attribute filter needs one of equals, not_equals, in, '
                'exists, gt, gte, lt or lte'
            )),
            ('bad-filter', (
                '7:9: segments.s1.all[2]: one operator per attribute filter, got equals and in (combine '
                'them with all: [...])'
            )),
            ('derived-event-name', (
                "8:21: segments.s1.all[3].performed: 'open_email_machine' is stored in the log as "
                "'open_email' with machine_open set; count 'open_email' instead"
            )),
            ('bad-value', '9:53: segments.s1.all[4].at_most: at_most 1 is less than at_least 3'),
            ('bad-duration', (
                "9:64: segments.s1.all[4].within: expected a duration like '3 days' (units: seconds, "
                "minutes, hours, days, weeks), got 'forever'"
            )),
            ('unknown-campaign', "10:20: segments.s1.all[5].received: unknown campaign 'nope' (declared: f)"),
            ('bad-filter', (
                '11:9: segments.s1.all[6]: one filter per mapping, got all and performed (combine them '
                'with all: [...])'
            )),
            ('wrong-type', (
                '12:14: segments.s1.all[7].not: expected a filter (all, any, not, attribute, performed or'
                ' received), got a list'
            )),
            ('bad-filter', '13:14: segments.s1.all[8].any: any: needs at least one filter'),
            ('wrong-type', (
                '14:9: segments.s1.all[9]: expected a filter (all, any, not, attribute, performed or '
                'received), got the number 5'
            )),
            ('unknown-segment', "19:15: campaigns[0].audience: unknown segment 's2' (declared: s1)"),
            ('derived-event-name', (
                "20:33: campaigns[0].conversion_events[0].event: 'open_email_other' is stored in the log "
                "as 'open_email' with machine_open set; count 'open_email' instead"
            )),
            ('unknown-key', (
                "20:68: campaigns[0].conversion_events[1].product: unknown key 'product' (only event: "
                'purchase takes a product)'
            )),
            ('missing-key', "20:81: campaigns[0].conversion_events[2]: missing required key 'event'"),
        ],
    ),
    Case(
        "document_shapes",
        """\
version: 1
campaigns: {a: 1}
foo: 1
""",
        [
            ('wrong-type', '2:12: campaigns: expected a list of campaigns, got a mapping'),
            ('unknown-key', (
                "3:1: foo: unknown key 'foo' (allowed: version, workspace, segments, campaigns)"
            )),
        ],
    ),
    Case(
        "missing_version",
        """\
campaigns: []
""",
        [
            ('missing-key', "1:1: missing required key 'version'"),
        ],
    ),
    Case(
        "campaign_shapes_and_delay_forms",
        """\
version: 1
campaigns:
  - f
  - id: g
    channels: []
    published_at: 2026-01-01T00:00:00Z
    triggers: {event: purchase}
    delay: 5
    audience: 3
  - id: h
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: purchase}]
    delay: {in_days: -1, at: "25:00", zone: mars}
  - id: j
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: purchase}]
    delay: {at: "10:00", next_weekday: funday}
""",
        [
            ('wrong-type', "3:5: campaigns[0]: expected a campaign mapping, got 'f'"),
            ('bad-value', (
                '5:15: campaigns[1].channels: needs at least one channel (email, push, sms, webhook, '
                'content_card, in_app)'
            )),
            ('wrong-type', '7:15: campaigns[1].triggers: expected a list of triggers, got a mapping'),
            ('wrong-type', (
                "8:12: campaigns[1].delay: expected immediately, a duration like '1 day', {in_days: 1, "
                'at: "09:00"} or {next_weekday: monday, at: "09:00"}, got the number 5'
            )),
            ('wrong-type', (
                '9:15: campaigns[1].audience: expected a filter (all, any, not, attribute, performed or '
                'received), got the number 3'
            )),
            ('bad-value', (
                '14:22: campaigns[2].delay.in_days: expected a whole number at least 0, got -1'
            )),
            ('bad-clock', (
                '14:30: campaigns[2].delay.at: expected a clock time like "22:00", got \'25:00\''
            )),
            ('bad-value', (
                "14:45: campaigns[2].delay.zone: unknown delay zone 'mars' (expected user or company)"
            )),
            ('unknown-weekday', (
                "19:40: campaigns[3].delay.next_weekday: unknown weekday 'funday' (did you mean "
                "'sunday'?)"
            )),
        ],
    ),
    Case(
        "published_at_required_unless_draft",
        """\
  - id: f
    channels: [push]
    status: active
  - id: g
    channels: [push]
    status: draft
""",
        [
            ('missing-key', (
                "6:5: campaigns[1]: missing required key 'published_at' (required unless status is draft;"
                ' this one is active)'
            )),
        ],
    ),
    Case(
        "malformed_yaml",
        """\
version: 1
campaigns: [
""",
        [
            ('yaml-syntax', (
                "3:1: malformed YAML: expected the node content, but found '<stream end>' (while parsing "
                'a flow node)'
            )),
        ],
    ),
    Case(
        "empty_file",
        """\
# nothing but a comment
""",
        [
            ('empty-file', "1:1: empty file: expected a mapping with 'version: 1' and 'campaigns'"),
        ],
    ),
    Case(
        "yaml_bomb",
        """\
version: 1
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
""",
        [
            ('yaml-too-large', (
                '2:32: the document expands to more than 100,000 values (aliases repeat nodes: a YAML '
                'bomb?); write the values out'
            )),
        ],
    ),
    Case(
        "recursive_alias",
        """\
version: 1
campaigns: &c [*c]
""",
        [
            ('yaml-too-large', (
                '2:12: an alias refers to the node that contains it; YAML recursion is not allowed'
            )),
        ],
    ),
    Case(
        "publish_order",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-02T00:00:00Z
    triggers: [{interaction: receive_push, campaign: src}]
""",
        [
            ('publish-order', (
                "9:54: campaigns[1].triggers[0].campaign: 'f' is published 2026-01-02T00:00:00Z, after "
                "its source 'src' (2026-01-01T00:00:00Z): receive_push interactions before "
                '2026-01-02T00:00:00Z never trigger it (publish the follow-up first)'
            )),
        ],
    ),
    Case(
        "source_in_draft_or_stopped",
        """\
  - id: d
    channels: [push]
    status: draft
  - id: s
    channels: [push]
    status: stopped
    published_at: 2026-01-01T00:00:00Z
    stopped_at: 2026-01-03T00:00:00Z
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: receive_push, campaign: d}, {interaction: receive_push, campaign: s}]
""",
        [
            ('source-not-active', (
                "17:54: campaigns[3].triggers[0].campaign: source campaign 'd' is a draft: it sends "
                'nothing, so this trigger never fires from it until it is published'
            )),
            ('source-not-active', (
                "17:96: campaigns[3].triggers[1].campaign: source campaign 's' is stopped at "
                '2026-01-03T00:00:00Z: it sends no new messages, so this trigger fires only on '
                'interactions with earlier ones'
            )),
        ],
    ),
    Case(
        "delay_longer_than_duration",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    end_at: 2026-01-02T00:00:00Z
    triggers: [{event: purchase}]
    delay: 2 days
""",
        [
            ('delay-exceeds-duration', (
                "11:12: campaigns[1].delay: delay 2 days is longer than the campaign's duration (1 day): "
                'no send can fall before end_at'
            )),
        ],
    ),
    Case(
        "trigger_cycle",
        """\
  - id: a
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: receive_push, campaign: b}]
    delay: 1 day
  - id: b
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: receive_push, campaign: a}]
""",
        [
            ('trigger-cycle', (
                "9:54: campaigns[1].triggers[0].campaign: trigger cycle a → b → a: each campaign's sends "
                'can trigger the next (check that re-eligibility, delays or exceptions end it)'
            )),
        ],
    ),
    Case(
        "exception_equal_to_a_trigger",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: purchase}]
    delay: 2 days
    exceptions: [{event: purchase}]
""",
        [
            ('exception-equals-trigger', (
                '11:18: campaigns[1].exceptions[0]: this exception equals triggers[0]: a repeat while the'
                ' send is pending restarts the delay instead of cancelling it'
            )),
        ],
    ),
    Case(
        "audience_using_the_trigger_event",
        """\
  - id: f
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: purchase}]
    audience: {all: [{performed: purchase, at_least: 2}]}
""",
        [
            ('audience-uses-trigger-event', (
                "10:15: campaigns[1].audience: the audience counts 'purchase', which is also a trigger "
                'event: the audience sees only events before the trigger, so the triggering purchase '
                'itself never counts'
            )),
        ],
    ),
]

#: Codes pinned in test_validate.py (they need a file on disk or an event log).
PINNED_ELSEWHERE = {"file-unreadable", "not-text", "campaign-not-in-log", "database-unusable"}  # tests/test_validate.py


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_broken_config_reports_exact_problems(case: Case) -> None:
    assert problems_of(case.yaml) == case.expected


def test_every_problem_code_is_pinned_by_a_case() -> None:
    pinned = {code for case in CASES for code, _ in case.expected} | PINNED_ELSEWHERE
    assert sorted(set(PROBLEM_CODES) - pinned) == []


def test_problems_of_one_run_are_sorted_by_position() -> None:
    for case in CASES:
        positions = [tuple(int(n) for n in text.split(":")[:2]) for _, text in case.expected]
        assert positions == sorted(positions), case.name


def test_load_config_text_raises_with_every_error_and_no_warnings() -> None:
    text = BASE + """\
  - id: f
    channels: [push]
    published_at: 2026-01-02T00:00:00Z
    triggers: [{interaction: opne_email, campaign: scr}]
    delay: soon
"""
    with pytest.raises(InvalidConfig) as caught:
        load_config_text(text, "c.yaml")
    assert [p.code for p in caught.value.problems] == ["unknown-interaction", "bad-duration"]
    assert str(caught.value).splitlines() == [
        "c.yaml:9:30: campaigns[1].triggers[0].interaction: unknown interaction 'opne_email' "
        "(did you mean 'open_email'?)",
        "c.yaml:10:12: campaigns[1].delay: expected a duration like '3 days' (units: seconds, minutes, hours, "
        "days, weeks), got 'soon'",
    ]


def test_warnings_alone_do_not_stop_loading() -> None:
    text = BASE + """\
  - id: f
    channels: [push]
    published_at: 2026-01-02T00:00:00Z
    triggers: [{interaction: receive_push, campaign: src}]
"""
    config = load_config_text(text)
    assert [c.id for c in config.campaigns] == ["src", "f"]


EXAMPLE_LIKE = BASE + """\
  - id: f
    braze_id: b-f
    channels: [email]
    published_at: 2026-01-02T00:00:00Z
    end_at: 2026-02-01T00:00:00Z
    triggers: [{interaction: click_push_button, campaign: src, button: buy}, {event: purchase, product: p}]
    delay: {in_days: 1, at: "09:00", zone: company}
    exceptions: [{event: cart, where: {v: {gte: 1}}}]
    audience: {all: [{attribute: country, in: [US]}, {performed: session_start, within: 3 days}, not: {received: src}]}
    reeligible_after: 7 days
    control_group: 10
    variants: [{id: a, percent: 90}]
    quiet_hours: {start: "22:00", end: "07:00"}
    conversion_events: [{event: purchase, within: 1 day}]
"""
REPLACEMENTS = ["", "null", "[]", "{}", "1", "-1", "yes", "x", "1 day", "'22:00'", "[a, b]", "{a: 1}", "2026-01-01",
                "in_app", "{all: []}", "{event: x}", "&a [*a]", "{"]


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 30), st.sampled_from(REPLACEMENTS)), min_size=1, max_size=4))
def test_any_edit_of_a_valid_file_gives_problems_never_an_exception(edits: list[tuple[int, str]]) -> None:
    lines = EXAMPLE_LIKE.splitlines()
    for index, value in edits:
        line = lines[index % len(lines)]
        if ":" in line:
            lines[index % len(lines)] = line[: line.index(":") + 1] + " " + value
    config, problems = check_config_text("\n".join(lines), "c.yaml")
    assert all(p.code in PROBLEM_CODES for p in problems)
    assert config is not None or any(p.is_error for p in problems)


def test_the_property_base_is_valid_apart_from_its_publish_order_warning() -> None:
    _, problems = check_config_text(EXAMPLE_LIKE)
    assert [p.code for p in problems] == ["publish-order"]
