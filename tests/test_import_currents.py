"""Braze Currents exports (SPEC §3.2): Avro containers and JSON lines (flat and envelope), mapped row by row.

The Avro fixtures are written here with fastavro from the field lists in reference/braze_semantics.md §6
(namespace ``dataexport.S3.inner.<prefix>``, record name the event); no Braze sample file is copied.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro
import pytest

from campaign_connector.importer import BadRowsError, import_event_files
from campaign_connector.inputs.currents import event_type_of
from campaign_connector.store import Store

CORE = ["id", "user_id", "external_user_id", "timezone", "campaign_id", "canvas_id", "dispatch_id"]
#: Extra fields per event type (type name after the namespace prefix), from the §6 field lists.
EXTRA: dict[str, dict[str, str]] = {
    "users.messages.email.Open": {"machine_open": "string", "is_amp": "boolean"},
    "users.messages.email.Click": {"link_alias": "string", "url": "string"},
    "users.messages.pushnotification.Open": {"button_string": "string", "button_action_type": "string"},
    "users.messages.inappmessage.Click": {"button_id": "string"},
    "users.campaigns.Conversion": {"conversion_behavior_index": "int", "conversion_behavior": "string"},
    "users.behaviors.CustomEvent": {"name": "string", "properties": "string"},
    "users.behaviors.Purchase": {"product_id": "string", "price": "float", "currency": "string",
                                 "properties": "string"},
}


def schema_for(event_type: str) -> dict[str, Any]:
    namespace, name = event_type.rsplit(".", 1)
    fields: list[dict[str, Any]] = [{"name": "id", "type": "string"}, {"name": "user_id", "type": "string"},
                                    {"name": "time", "type": "int"}]
    fields += [{"name": f, "type": ["null", "string"], "default": None} for f in CORE[2:]]
    fields += [{"name": f, "type": ["null", t], "default": None} for f, t in EXTRA.get(event_type, {}).items()]
    return {"type": "record", "namespace": f"dataexport.S3.inner.{namespace}", "name": name, "fields": fields}


def write_avro(path: Path, event_type: str, records: list[dict[str, Any]]) -> Path:
    schema = fastavro.parse_schema(schema_for(event_type))
    with path.open("wb") as out:
        fastavro.writer(out, schema, records)
    return path


def avro_json(event_type: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record as Currents JSON dumps show it: nullable values Avro-JSON encoded."""
    types = {f["name"]: f["type"] for f in schema_for(event_type)["fields"]}
    out: dict[str, Any] = {"event_type": event_type}
    for key, value in record.items():
        branch = types[key]
        out[key] = {branch[1]: value} if isinstance(branch, list) and value is not None else value
    return out


TIME = 1767603600  # 2026-01-05T09:00:00Z
BASE = {"id": "ev-1", "user_id": "braze-1", "time": TIME, "external_user_id": "ext-1", "campaign_id": "camp-1"}

#: (event type, extra fields) → (event, campaign, link_alias, button_id, machine_open, conversion_index, properties)
MAPPING = [
    ("users.messages.email.Send", {}, ("receive_email", "camp-1", None, None, 0, None, None)),
    ("users.messages.email.Open", {"machine_open": "true"}, ("open_email", "camp-1", None, None, 1, None, None)),
    ("users.messages.email.Open", {"machine_open": None}, ("open_email", "camp-1", None, None, 0, None, None)),
    ("users.messages.email.Click", {"link_alias": "cta"}, ("click_email", "camp-1", "cta", None, 0, None, None)),
    ("users.messages.pushnotification.Send", {}, ("receive_push", "camp-1", None, None, 0, None, None)),
    ("users.messages.pushnotification.Open", {}, ("open_push_directly", "camp-1", None, None, 0, None, None)),
    ("users.messages.pushnotification.Open", {"button_string": "Yes"},
     ("click_push_button", "camp-1", None, "Yes", 0, None, None)),
    ("users.messages.inappmessage.Impression", {}, ("view_in_app_message", "camp-1", None, None, 0, None, None)),
    ("users.messages.inappmessage.Click", {}, ("click_in_app_message", "camp-1", None, None, 0, None, None)),
    ("users.messages.inappmessage.Click", {"button_id": "0"},
     ("click_in_app_message", "camp-1", None, "0", 0, None, None)),
    ("users.messages.contentcard.Impression", {}, ("view_content_card", "camp-1", None, None, 0, None, None)),
    ("users.messages.contentcard.Click", {}, ("click_content_card", "camp-1", None, None, 0, None, None)),
    ("users.messages.contentcard.Dismiss", {}, ("dismiss_content_card", "camp-1", None, None, 0, None, None)),
    ("users.messages.sms.Send", {}, ("receive_sms", "camp-1", None, None, 0, None, None)),
    ("users.messages.sms.ShortLinkClick", {}, ("click_sms_short_link", "camp-1", None, None, 0, None, None)),
    ("users.messages.webhook.Send", {}, ("receive_webhook", "camp-1", None, None, 0, None, None)),
    ("users.campaigns.EnrollInControl", {}, ("enroll_in_control_group", "camp-1", None, None, 0, None, None)),
    ("users.campaigns.Conversion", {"conversion_behavior_index": 1},
     ("perform_conversion_event", "camp-1", None, None, 0, 1, None)),
    ("users.behaviors.CustomEvent", {"campaign_id": None, "name": "added_to_cart", "properties": '{"value": 3}'},
     ("added_to_cart", None, None, None, 0, None, '{"value":3}')),
    ("users.behaviors.Purchase",
     {"campaign_id": None, "product_id": "sku-1", "price": 9.5, "currency": "USD", "properties": '{"size": "M"}'},
     ("purchase", None, None, None, 0, None, '{"size":"M","product_id":"sku-1","price":9.5,"currency":"USD"}')),
    ("users.behaviors.app.SessionStart", {"campaign_id": None}, ("session_start", None, None, None, 0, None, None)),
    ("users.messages.email.Bounce", {}, ("users.messages.email.Bounce", "camp-1", None, None, 0, None, None)),
    ("users.messages.email.Click", {"campaign_id": None, "canvas_id": "canvas-1", "link_alias": "cta"},
     ("click_email", None, "cta", None, 0, None, None)),  # a Canvas row: no campaign
]
COLUMNS = "event, campaign, link_alias, button_id, machine_open, conversion_index, properties"


def write_source(tmp_path: Path, shape: str, event_type: str, records: list[dict[str, Any]]) -> Path:
    if shape == "avro":
        return write_avro(tmp_path / "export.avro", event_type, records)
    path = tmp_path / "export.json"
    lines = []
    for record in records:
        if shape == "flat":
            lines.append(avro_json(event_type, record))
        else:
            user = {k: record[k] for k in ("user_id", "external_user_id", "timezone") if k in record}
            properties = {k: v for k, v in record.items() if k not in user and k not in ("id", "time")}
            lines.append({"event_type": event_type, "id": record["id"], "time": record["time"], "user": user,
                          "properties": properties})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.parametrize("shape", ["avro", "flat", "envelope"])
@pytest.mark.parametrize(("event_type", "fields", "expected"), MAPPING)
def test_currents_mapping_row_by_row(tmp_path: Path, shape: str, event_type: str, fields: dict[str, Any],
                                     expected: tuple, store: Store) -> None:
    path = write_source(tmp_path, shape, event_type, [{**BASE, **fields}])
    import_event_files(store, [path], format="currents")
    row = store.conn.execute(f"SELECT id, user_id, time, {COLUMNS} FROM events").fetchone()
    assert row == ("ev-1", "braze-1", TIME * 1000, *expected)


@pytest.mark.parametrize("shape", ["avro", "flat", "envelope"])
def test_external_user_id_as_the_user_key(tmp_path: Path, shape: str, store: Store) -> None:
    """A user without an external_user_id is a record without a user under that key: skipped, not rejected."""
    path = write_source(tmp_path, shape, "users.messages.email.Send",
                        [BASE, {**BASE, "id": "ev-2", "external_user_id": None, "timezone": "Europe/Paris"}])
    summary = import_event_files(store, [path], format="currents", user_key="external_user_id")
    assert store.conn.execute("SELECT user_id FROM events").fetchall() == [("ext-1",)]
    assert (summary.rejected, summary.no_user) == (0, {"users.messages.email.Send": 1})


def test_avro_by_extension_needs_no_format_option(tmp_path: Path, store: Store) -> None:
    import_event_files(store, [write_avro(tmp_path / "x.avro", "users.messages.email.Send", [BASE])])
    assert store.conn.execute("SELECT event FROM events").fetchall() == [("receive_email",)]


def test_currents_delivers_at_least_once_so_overlapping_exports_store_once(tmp_path: Path, store: Store) -> None:
    first = write_avro(tmp_path / "a.avro", "users.messages.email.Send", [BASE, {**BASE, "id": "ev-2"}])
    second = write_avro(tmp_path / "b.avro", "users.messages.email.Send", [{**BASE, "id": "ev-2"}])
    summary = import_event_files(store, [first, second])
    assert (summary.stored, summary.duplicates) == (2, 1)


@pytest.mark.parametrize(("line", "reason"), [
    ({"id": "x", "user_id": "u", "time": TIME},
     "no event type: the row has no event_type, its file's path has no event_type=TYPE folder, and no --event-type "
     "was given (use one of these three)"),
    ({"event_type": "users.behaviors.CustomEvent", "id": "x", "user_id": "u", "time": TIME},
     "CustomEvent without a name"),
    ({"event_type": "users.behaviors.CustomEvent", "id": "x", "user_id": "u", "time": TIME, "name": "n",
      "properties": "{nope"}, "properties: not valid JSON"),
    ({"event_type": "users.messages.email.Send", "id": "x", "user_id": "u", "time": {"long": -5}},
     "time: -5 is outside 1970..2199"),
])
def test_bad_currents_rows(store: Store, tmp_path: Path, line: dict[str, Any], reason: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(BadRowsError) as caught:
        import_event_files(store, [path], format="currents")
    assert [str(bad) for bad in caught.value.bad_rows] == [f"{path}:1: {reason}"]


def test_bad_avro_records_are_rejected_with_their_record_verbatim(tmp_path: Path, store: Store) -> None:
    path = write_avro(tmp_path / "x.avro", "users.messages.email.Send",
                      [BASE, {**BASE, "id": "ev-2", "timezone": "Nowhere/Land"}])
    summary = import_event_files(store, [path], skip_invalid=True)
    assert (summary.stored, summary.rejected) == (1, 1)
    reject = json.loads((tmp_path / "x.avro.rejects.jsonl").read_text())
    assert reject["line"] == 2
    assert json.loads(reject["raw"])["timezone"] == "Nowhere/Land"


@pytest.mark.parametrize(("name", "event_type"), [
    ("dataexport.S3.inner.users.messages.email.Click", "users.messages.email.Click"),
    ("dataexport.S3.inner.users.behaviors.app.SessionStart", "users.behaviors.app.SessionStart"),
    ("com.example.users.campaigns.Conversion", "users.campaigns.Conversion"),
    ("Other", "Other"),
])
def test_event_type_from_the_writer_schema_name(name: str, event_type: str) -> None:
    assert event_type_of(name) == event_type
