"""Engine spec, from logged rows: rows imported as the event log has them (``import_event_rows``), read back as a
timeline (``load_timeline``) and replayed — so the §4.1 rules that span import and engine are pinned end to end:
derived interaction names are stored as their base event with a field, ``machine_open`` is true for ``true``,
``1``, ``yes`` in any case, and qualifiers compare as strings.
"""

from __future__ import annotations

from typing import Any

import pytest
from enginekit import campaign, config, on, rows, source

from campaign_connector import vocabulary
from campaign_connector.model import Config, Decision, Trigger
from campaign_connector.store import Store

AT = "2026-01-05T10:00:00Z"


def replay_rows(cfg: Config, logged: list[dict[str, Any]]) -> list[Decision]:
    from campaign_connector.engine import Engine
    from campaign_connector.importer import import_event_rows
    from campaign_connector.store.events import load_timeline

    with Store.open(":memory:") as store:
        import_event_rows(store, [{"user_id": "u1", "time": AT, **row} for row in logged])
        events, profile = load_timeline(store, "u1", None)
    return Engine(cfg).run_user("u1", events, profile, None).decisions


def triggers(trigger: Trigger, row: dict[str, Any]) -> bool:
    channel = vocabulary.INTERACTIONS[trigger.name].channel or "push"
    cfg = config(source("src", channels=[channel]), campaign("f", trigger, channels=["email"]))
    decisions = replay_rows(cfg, [{"campaign": "src", **row}])
    return rows(decisions, "status") == [("sent",)]


@pytest.mark.parametrize("value", [True, "true", "TRUE", "True", 1, "1", "yes", "YES", "Yes"])
def test_machine_open_truthy_values_are_machine_opens(value: object) -> None:
    row = {"event": "open_email", "machine_open": value}
    assert triggers(on("open_email_machine", "src"), row) is True
    assert triggers(on("open_email_other", "src"), row) is False
    assert triggers(on("open_email", "src"), row) is True


@pytest.mark.parametrize("value", [False, "false", "FALSE", "0", 0, "no", "", None])
def test_other_machine_open_values_are_other_opens(value: object) -> None:
    row = {"event": "open_email", "machine_open": value}
    assert triggers(on("open_email_machine", "src"), row) is False
    assert triggers(on("open_email_other", "src"), row) is True


@pytest.mark.parametrize(
    ("row", "trigger", "expected"),
    [
        ({"event": "open_email_machine"}, on("open_email_machine", "src"), True),
        ({"event": "open_email_machine"}, on("open_email", "src"), True),
        ({"event": "open_email_other"}, on("open_email_machine", "src"), False),
        ({"event": "open_email_other"}, on("open_email_other", "src"), True),
        ({"event": "click_email_alias", "link_alias": "cta"}, on("click_email_alias", "src", alias="cta"), True),
        ({"event": "click_email_alias", "link_alias": "cta"}, on("click_email", "src"), True),
        ({"event": "click_in_app_message_button", "button_id": "b1"},
         on("click_in_app_message_button", "src", button="b1"), True),
        ({"event": "click_in_app_message_button", "button_id": "b1"}, on("click_in_app_message", "src"), False),
    ],
)
def test_rows_named_by_a_derived_interaction_are_their_base_event_with_the_field(
    row: dict, trigger: Trigger, expected: bool
) -> None:
    assert triggers(trigger, row) is expected


@pytest.mark.parametrize(
    ("row", "trigger"),
    [
        ({"event": "click_push_button", "button_id": 1}, on("click_push_button", "src", button="1")),
        ({"event": "click_push_button", "button_id": "1"}, on("click_push_button", "src", button=1)),
        ({"event": "click_push_story_page", "page": 2}, on("click_push_story_page", "src", page="2")),
        ({"event": "perform_conversion_event", "conversion_index": "0"},
         on("perform_conversion_event", "src", conversion=0)),
        ({"event": "perform_conversion_event", "conversion_index": 1},
         on("perform_conversion_event", "src", conversion=1)),
    ],
)
def test_qualifiers_compare_as_strings(row: dict, trigger: Trigger) -> None:
    assert triggers(trigger, row) is True
