"""Braze Currents exports as they land (SPEC §3.2): folders, event types from paths, Custom HTTP payloads,
records without a user, 32-bit floats, bot clicks, standard input and CI options.

The export is written by ``currentskit`` in Braze's storage layout with Braze-shaped Avro schemas.
"""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import currentskit as kit
import pytest
from clikit import Ran, cli

from campaign_connector.config import load_config_text
from campaign_connector.importer import BadRowsError, import_event_files, import_user_files
from campaign_connector.inputs.currents import NO_EVENT_TYPE, shortest_float32
from campaign_connector.inputs.sources import event_type_in_path, is_event_file, open_sources
from campaign_connector.replay import run_replay
from campaign_connector.store import Store


def events(store: Store, columns: str = "event") -> list[tuple[Any, ...]]:
    return store.conn.execute(f"SELECT {columns} FROM events ORDER BY seq").fetchall()


# -- folders ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "taken"), [
    ("x.avro", True), ("x.json", True), ("x.jsonl", True), ("x.ndjson", True), ("x.csv", True),
    ("x.avro.gz", True), ("x.JSON.GZ", True), ("_SUCCESS", False), ("x.txt", False), ("x.parquet", True),
    ("part-00000-1f.snappy.parquet", True), ("x.parquet.gz", False),
    (".x.avro", False), ("x.avro.crc", False), ("manifest", False),
])
def test_folder_walks_take_event_files_by_extension(name: str, taken: bool) -> None:
    assert is_event_file(name) is taken


@pytest.mark.parametrize(("path", "event_type"), [
    ("export/event_type=users.messages.email.Open/date=2026-01-05-14/331/processed/a.avro",
     "users.messages.email.Open"),
    ("s3://bucket/p/event_type=users.behaviors.CustomEvent/date=2026-01-05-14/a.json", "users.behaviors.CustomEvent"),
    ("export/a.json", None),
    ("export/event_type=/a.json", None),
])
def test_the_event_type_segment_of_a_path(path: str, event_type: str | None) -> None:
    assert event_type_in_path(path) == event_type


def test_a_folder_is_walked_recursively_in_sorted_path_order_counting_other_files(tmp_path: Path) -> None:
    for relative in ("b/2.csv", "a/z/1.csv", "a/0.csv", "b/_SUCCESS", "a/notes.txt", "a/empty.csv"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("" if "empty" in relative or "_SUCCESS" in relative else
                        f"user_id,time,event\nu,2026-01-05T09:00:00Z,{path.stem}\n")
    with open_sources([tmp_path]) as found:
        assert [Path(s.name).relative_to(tmp_path).as_posix() for s in found.files] == ["a/0.csv", "a/z/1.csv",
                                                                                         "b/2.csv"]
        assert found.skipped == 3
    summary = import_event_files(Store.open(":memory:"), [tmp_path])
    assert (summary.stored, summary.skipped_files) == (3, 3)


def test_a_folder_of_parquet_parts_and_csv_files_imports_them_all(tmp_path: Path, store: Store) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "log").mkdir()
    pq.write_table(pa.table({"user_id": ["u1", "u2"], "time": ["2026-01-05T09:00:00Z", "2026-01-05T09:01:00Z"],
                             "event": ["purchase", "session_start"]}),
                   tmp_path / "log" / "part-00000.snappy.parquet")
    (tmp_path / "log" / "part-00001.csv").write_text("user_id,time,event\nu3,2026-01-05T09:02:00Z,purchase\n")
    (tmp_path / "log" / "_SUCCESS").write_text("")
    summary = import_event_files(store, [tmp_path / "log"])
    assert (summary.stored, summary.skipped_files) == (3, 1)
    assert events(store, "user_id, event") == [("u1", "purchase"), ("u2", "session_start"), ("u3", "purchase")]


def test_the_whole_export_imports_from_its_folder_with_nothing_rejected_or_lost(tmp_path: Path, store: Store) -> None:
    kit.write_export(tmp_path)
    summary = import_event_files(store, [tmp_path / "currents"])
    assert summary.rejected == 0
    assert summary.by_event == dict(sorted(kit.STORED.items()))
    assert summary.no_user == kit.NO_USER
    assert summary.bot_clicks == kit.BOT_CLICKS
    assert summary.skipped_files == 1
    records = sum(len(r) for r in kit.RECORDS.values())
    assert summary.stored + sum(summary.no_user.values()) == records
    assert summary.files[0].endswith("/event_type=agentconsole.AgentExecutionStep/date=2026-01-05-09/331/processed/"
                                     "dataexport.prod-03.S3.integration.5f0e8a1b+0+0000000020.avro")


# -- event types ------------------------------------------------------------------------------------------------


def dump(event_type: str, record: dict[str, Any]) -> dict[str, Any]:
    return kit.avro_json(event_type, record)


def test_a_json_dump_without_event_type_takes_the_type_from_its_event_type_folder(tmp_path: Path,
                                                                                  store: Store) -> None:
    """``avro-tools tojson`` of a storage file: no event_type in the rows, Avro-JSON unions; read by extension."""
    opens = kit.RECORDS["users.messages.email.Open"]
    path = kit.write_json_lines(tmp_path / kit.key_for("users.messages.email.Open", "part.json"),
                                [dump("users.messages.email.Open", r) for r in opens])
    summary = import_event_files(store, [tmp_path / "currents"])
    assert summary.rejected == 0
    assert events(store, "event, machine_open, user_id") == [("open_email", 1, "braze-1"), ("open_email", 0, "braze-1")]
    assert path.exists()


@pytest.mark.parametrize(("given", "expected"), [
    (None, None),
    ("users.messages.sms.Send", "receive_sms"),
])
def test_event_type_option_types_rows_that_nothing_else_types(tmp_path: Path, store: Store, given: str | None,
                                                              expected: str | None) -> None:
    record = kit.RECORDS["users.messages.sms.Send"][0]
    path = kit.write_json_lines(tmp_path / "dump.json", [dump("users.messages.sms.Send", record)])
    if expected is None:
        with pytest.raises(BadRowsError) as caught:
            import_event_files(store, [path], format="currents")
        assert [str(b) for b in caught.value.bad_rows] == [f"{path}:1: {NO_EVENT_TYPE}"]
    else:
        import_event_files(store, [path], event_type=given)
        assert events(store) == [(expected,)]


def test_a_rows_own_event_type_wins_over_its_folder_and_the_option(tmp_path: Path, store: Store) -> None:
    record = {**kit.RECORDS["users.messages.webhook.Send"][0], "event_type": "users.messages.webhook.Send"}
    path = kit.write_json_lines(tmp_path / "event_type=users.messages.email.Send" / "a.json", [record])
    import_event_files(store, [path], event_type="users.messages.sms.Send")
    assert events(store) == [("receive_webhook",)]


def test_the_avro_schema_name_wins_over_the_folder(tmp_path: Path, store: Store) -> None:
    path = kit.write_avro(tmp_path / "event_type=users.messages.email.Send" / "a.avro", "users.messages.webhook.Send",
                          kit.RECORDS["users.messages.webhook.Send"])
    import_event_files(store, [path], event_type="users.messages.sms.Send")
    assert events(store) == [("receive_webhook",)]


# -- Custom HTTP connector payloads ---------------------------------------------------------------------------


CUSTOM = {
    "event_type": "users.behaviors.CustomEvent", "id": "ce-1", "time": kit.TIME,
    "user": {"user_id": "braze-1", "external_user_id": "ext-1", "device_id": "d-1", "timezone": "America/Chicago"},
    "properties": {"app_id": "app", "platform": "ios", "os_version": "iOS 17", "name": "added_to_cart",
                   "custom_properties": {"cart_value": 120, "sku": "A-1", "tags": ["a", "b"]}},
}
PURCHASE = {
    "event_type": "users.behaviors.Purchase", "id": "p-1", "time": kit.TIME + 60,
    "user": {"user_id": "braze-1", "external_user_id": "ext-1"},
    "properties": {"app_id": "app", "platform": "ios", "product_id": "sku-1", "price": 12.34, "currency": "EUR",
                   "quantity": 2, "purchase_properties": {"size": "M", "gift": True}},
}
CLICK = {
    "event_type": "users.messages.email.Click", "id": "c-1", "time": kit.TIME + 120,
    "user": {"user_id": "braze-1", "external_user_id": "ext-1", "timezone": "Europe/Berlin"},
    "properties": {"campaign_id": "camp-news", "campaign_name": "News", "email_address": "a@example.com",
                   "url": "https://x.test", "link_alias": "cta", "is_suspected_bot_click": False},
}
EXPECTED_PAYLOAD = [
    ("ce-1", "added_to_cart", None, None, '{"cart_value":120,"sku":"A-1","tags":["a","b"]}'),
    ("p-1", "purchase", None, None, '{"size":"M","gift":true,"product_id":"sku-1","price":12.34,"currency":"EUR",'
                                    '"quantity":2}'),
    ("c-1", "click_email", "camp-news", "cta", None),
]


@pytest.mark.parametrize("shape", ["envelope-lines", "batch-document", "batch-lines", "pretty-envelope", "array"])
def test_custom_http_payloads_keep_custom_and_purchase_properties(tmp_path: Path, store: Store, shape: str) -> None:
    payload = [CUSTOM, PURCHASE, CLICK]
    path = tmp_path / "payload.json"
    if shape == "envelope-lines":
        text = "".join(json.dumps(event) + "\n" for event in payload)
    elif shape == "batch-document":
        text = json.dumps({"events": payload}, indent=2)
    elif shape == "batch-lines":
        text = json.dumps({"events": payload[:2]}) + "\n" + json.dumps({"events": payload[2:]}) + "\n"
    elif shape == "pretty-envelope":
        text = json.dumps(CUSTOM, indent=2) + "\n"
        payload = [CUSTOM]
    else:
        text = json.dumps(payload, indent=1)
    path.write_text(text)
    summary = import_event_files(store, [path], format="currents")
    assert summary.stored == len(payload)
    assert events(store, "id, event, campaign, link_alias, properties") == EXPECTED_PAYLOAD[:len(payload)]


def test_a_bad_event_in_a_batch_is_rejected_alone_with_the_event_verbatim(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"events": [CUSTOM, {**PURCHASE, "time": "soon"}, "oops"]}) + "\n")
    summary = import_event_files(store, [path], format="currents", skip_invalid=True)
    assert (summary.stored, summary.rejected) == (1, 2)
    rejects = [json.loads(line) for line in (tmp_path / "batch.json.rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["reason"][:20]) for r in rejects] == [(1, "time: expected an IS"),
                                                                (1, "events[2]: expected ")]
    assert json.loads(rejects[0]["raw"])["id"] == "p-1"


def test_where_filters_match_custom_http_properties(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "payload.json"
    path.write_text(json.dumps({"events": [CUSTOM]}))
    import_event_files(store, [path], format="currents")
    config = load_config_text("""\
version: 1
campaigns:
  - id: f
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: added_to_cart, where: {cart_value: {gte: 100}, sku: {eq: A-1}}}]
""")
    run = run_replay(store, config)
    assert run.counts["totals"]["sent"] == 1


# -- records without a user -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user_key", "no_user"), [
    ("user_id", {"users.messages.sms.InboundReceive": 1, kit.AGENT_TYPE: 1}),
    # Every record of braze-2 has no external id here: under that key they belong to no timeline.
    ("external_user_id", {"users.messages.sms.InboundReceive": 1, kit.AGENT_TYPE: 1, "users.messages.email.Open": 1}),
])
def test_records_without_a_user_are_skipped_and_counted_by_type_never_rejected(
        tmp_path: Path, store: Store, user_key: str, no_user: dict[str, int]) -> None:
    kit.write_avro(tmp_path / "inbound.avro", "users.messages.sms.InboundReceive",
                   kit.RECORDS["users.messages.sms.InboundReceive"])
    kit.write_avro(tmp_path / "agent.avro", kit.AGENT_TYPE, kit.RECORDS[kit.AGENT_TYPE])
    kit.write_avro(tmp_path / "open.avro", "users.messages.email.Open",
                   [{**kit.RECORDS["users.messages.email.Open"][0], "user_id": "braze-2", "external_user_id": None}])
    summary = import_event_files(store, [tmp_path], user_key=user_key)
    assert (summary.rejected, summary.no_user) == (0, dict(sorted(no_user.items())))
    assert summary.rejects_files == ()


def test_the_imports_ledger_records_records_without_a_user_and_skipped_files(tmp_path: Path, store: Store) -> None:
    kit.write_export(tmp_path)
    import_event_files(store, [tmp_path])
    ledger = store.conn.execute("SELECT no_user, skipped_files, rejected FROM imports").fetchone()
    assert (json.loads(ledger[0]), ledger[1], ledger[2]) == (kit.NO_USER, 1, 0)


# -- 32-bit floats ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "read"), [
    (12.34, 12.34), (0.1, 0.1), (9.99, 9.99), (19.5, 19.5), (100.0, 100.0), (1e-7, 1e-7),
    (3.4028234663852886e38, 3.4028235e38), (16777217.0, 16777216.0),
])
def test_an_avro_float_reads_back_as_its_shortest_float32_decimal(written: float, read: float) -> None:
    import struct

    single = struct.unpack("<f", struct.pack("<f", written))[0]
    assert shortest_float32(single) == read


def test_an_avro_price_is_stored_as_written_so_where_filters_compare_as_written(tmp_path: Path, store: Store) -> None:
    purchase = kit.RECORDS["users.behaviors.Purchase"][0]
    avro = kit.write_avro(tmp_path / "p.avro", "users.behaviors.Purchase", [purchase])
    flat = kit.write_json_lines(tmp_path / "p.json", [{**purchase, "event_type": "users.behaviors.Purchase",
                                                       "id": "json-1"}])
    import_event_files(store, [avro, flat], format="currents")
    prices = [json.loads(text)["price"] for (text,) in events(store, "properties")]
    assert prices == [12.34, 12.34]
    config = load_config_text("""\
version: 1
campaigns:
  - id: f
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    reeligible_after: 0 seconds
    triggers: [{event: purchase, where: {price: {eq: 12.34}}}]
""")
    assert run_replay(store, config).counts["totals"]["sent"] == 2


# -- bot clicks -------------------------------------------------------------------------------------------------


def test_suspected_bot_clicks_are_stored_flagged_and_counted(tmp_path: Path, store: Store) -> None:
    clicks = kit.RECORDS["users.messages.email.Click"] + [
        {**kit.RECORDS["users.messages.email.Click"][0], "id": "click-9", "is_suspected_bot_click": None}]
    path = kit.write_avro(tmp_path / "c.avro", "users.messages.email.Click", clicks)
    sms = kit.write_avro(tmp_path / "s.avro", "users.messages.sms.ShortLinkClick",
                         kit.RECORDS["users.messages.sms.ShortLinkClick"])
    summary = import_event_files(store, [path, sms])
    assert events(store, "id, bot") == [("click-4", 0), ("click-5", 1), ("click-9", 0), ("shortlinkclick-16", 1),
                                        ("shortlinkclick-17", 0)]
    assert summary.bot_clicks == 2
    again = import_event_files(store, [path, sms])
    assert (again.stored, again.bot_clicks) == (0, 0)


@pytest.mark.parametrize(("value", "bot"), [(True, 1), ("true", 1), ("1", 1), (False, 0), ("no", 0), (None, 0)])
def test_a_plain_log_may_flag_bot_clicks_too(tmp_path: Path, store: Store, value: Any, bot: int) -> None:
    path = kit.write_json_lines(tmp_path / "e.jsonl", [{"user_id": "u", "time": kit.TIME, "event": "click_email",
                                                        "campaign": "news", "bot": value}])
    summary = import_event_files(store, [path])
    assert events(store, "bot, properties") == [(bot, None)]
    assert summary.warnings == ()


# -- standard input, CI ----------------------------------------------------------------------------------------


CSV = b"user_id,time,event,campaign\nu1,2026-01-05T09:00:00Z,click_email,news\n"


def test_standard_input_is_read_as_the_format_given(store: Store) -> None:
    summary = import_event_files(store, ["-"], format="csv", stdin=io.BytesIO(CSV))
    assert summary.files == ("<stdin>",) and events(store) == [("click_email",)]


def test_standard_input_may_be_gzip_or_avro(tmp_path: Path, store: Store) -> None:
    import_event_files(store, ["-"], format="csv", stdin=io.BytesIO(gzip.compress(CSV)))
    avro = kit.write_avro(tmp_path / "a.avro", "users.messages.sms.Send", kit.RECORDS["users.messages.sms.Send"])
    import_event_files(store, ["-"], stdin=io.BytesIO(avro.read_bytes()))
    assert events(store) == [("click_email",), ("receive_sms",)]


def test_standard_input_without_a_format_is_one_line(store: Store) -> None:
    with pytest.raises(Exception, match=r"^<stdin>: cannot tell the format of standard input \(pass --format csv, "
                                        r"jsonl or currents\)$"):
        import_event_files(store, ["-"], stdin=io.BytesIO(CSV))


def test_bad_rows_from_standard_input_are_named_stdin(store: Store) -> None:
    with pytest.raises(BadRowsError) as caught:
        import_event_files(store, ["-"], format="csv", stdin=io.BytesIO(CSV + b"u2,later,open_email,news\n"))
    assert str(caught.value.bad_rows[0]).startswith("<stdin>:3: time: ")


def test_users_from_standard_input(store: Store) -> None:
    summary = import_user_files(store, "-", format="csv", stdin=io.BytesIO(b"user_id,timezone\nu1,Europe/Berlin\n"))
    assert summary.files == ("<stdin>",)
    assert store.conn.execute("SELECT user_id, timezone FROM users").fetchall() == [("u1", "Europe/Berlin")]


@pytest.mark.parametrize(("bad", "limit", "stored"), [(2, 2, 1), (3, 2, None), (1, 0, None), (0, 0, 1)])
def test_max_rejects_stores_nothing_when_more_rows_are_bad(tmp_path: Path, bad: int, limit: int,
                                                           stored: int | None, store: Store) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(CSV + b"".join(b"u,never,open_email,news\n" for _ in range(bad)))
    if stored is None:
        with pytest.raises(BadRowsError, match=rf"^{bad} bad rows?, more than --max-rejects {limit}; nothing was "
                                               r"stored"):
            import_event_files(store, [path], skip_invalid=True, max_rejects=limit)
        assert events(store) == [] and not (tmp_path / "e.csv.rejects.jsonl").exists()
    else:
        summary = import_event_files(store, [path], skip_invalid=True, max_rejects=limit)
        assert (summary.stored, summary.rejected) == (stored, bad)


def run_cli(args: list[str], stdin: bytes, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> Ran:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    return cli(args, monkeypatch, capsys)


def test_the_command_line_reads_standard_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "t.db")
    ran = run_cli(["import", "-", "--format", "csv", "--db", db], CSV, monkeypatch, capsys)
    assert ran.returncode == 0 and ran.stderr.startswith("Imported 1 event from <stdin> in "), ran.stderr
    ran = run_cli(["import-users", "-", "--format", "csv", "--db", db], b"user_id\nu1\n", monkeypatch, capsys)
    assert ran.returncode == 0 and ran.stderr.startswith("Imported 1 user from <stdin> in "), ran.stderr
    config = b"version: 1\ncampaigns:\n  - {id: news, channels: [email], status: activ}\n"
    ran = run_cli(["validate", "-"], config, monkeypatch, capsys)
    assert ran.returncode == 1 and ran.stdout.startswith("<stdin>:3:"), ran.stdout


def test_a_failed_first_import_leaves_no_database_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "t.db"
    ran = run_cli(["import", "-", "--format", "csv", "--db", str(db)], CSV + b"u,never,x,y\n", monkeypatch, capsys)
    assert ran.returncode == 1 and "nothing was stored" in ran.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    ran = run_cli(["import", "-", "--format", "csv", "--db", str(db)], CSV, monkeypatch, capsys)
    assert ran.returncode == 0
    ran = run_cli(["import", "-", "--format", "csv", "--db", str(db)], b"u,never,x,y\n", monkeypatch, capsys)
    assert ran.returncode == 1 and db.exists()  # not a first import: the database stays, as it was
    assert sqlite3.connect(db).execute("SELECT count(*) FROM events").fetchone() == (1,)


def test_the_import_summary_says_what_was_skipped_and_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    kit.write_export(tmp_path / "export")
    ran = cli(["import", str(tmp_path / "export"), "--db", str(tmp_path / "t.db")], monkeypatch, capsys)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stderr.splitlines()
    assert lines[0].startswith("Imported 25 events from 21 files in ")
    assert lines[0].endswith(": 0 duplicates skipped, 0 rejected.")
    assert lines[1:4] == [
        "1 file in the folders skipped: not event files (.avro, .json, .jsonl, .ndjson, .csv, optionally .gz, or "
        ".parquet), or empty.",
        "2 records without a user skipped (agentconsole.AgentExecutionStep 1, users.messages.sms.InboundReceive 1).",
        "2 suspected bot clicks stored, flagged: they trigger, cancel and convert nothing.",
    ]


def test_upper_case_currents_columns_read_like_lower_case(tmp_path: Path, store: Store) -> None:
    """Warehouse copies of Currents (data sharing, unloads) spell the columns in upper case."""
    row = {"ID": "up-1", "USER_ID": "braze-1", "EXTERNAL_USER_ID": "ext-1", "TIME": kit.TIME,
           "EVENT_TYPE": "users.messages.email.Click", "CAMPAIGN_ID": "camp-news", "LINK_ALIAS": "cta"}
    path = kit.write_json_lines(tmp_path / "upper.json", [row])
    import_event_files(store, [path], format="currents")
    assert events(store, "id, user_id, event, campaign, link_alias") == [
        ("up-1", "braze-1", "click_email", "camp-news", "cta")]


def test_folder_files_sort_as_text_like_object_keys(tmp_path: Path) -> None:
    for relative in ("a-b/1.csv", "a/2.csv", "a.c/3.csv"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("user_id,time,event\nu,2026-01-05T09:00:00Z,x\n")
    with open_sources([tmp_path]) as found:
        assert [Path(s.name).relative_to(tmp_path).as_posix() for s in found.files] == ["a-b/1.csv", "a.c/3.csv",
                                                                                         "a/2.csv"]


def test_a_custom_http_batch_read_as_a_plain_log_says_to_use_format_currents(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "payload.jsonl"
    path.write_text(json.dumps({"events": [CUSTOM]}) + "\n")
    with pytest.raises(BadRowsError) as caught:
        import_event_files(store, [path])
    assert [str(bad) for bad in caught.value.bad_rows] == [
        f"{path}:1: missing event (this looks like a Braze Currents export: import it with --format currents)"]


def test_standard_input_from_a_terminal_is_one_line_not_a_wait(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    controller, terminal = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "campaign_connector", "import", "-", "--format", "csv", "--db",
                               str(tmp_path / "t.db")], stdin=terminal, capture_output=True, text=True, timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert (proc.returncode, proc.stderr) == (1, "Error: -: standard input is a terminal (pipe the data in: ... | "
                                                 "campaign-connector import - --format csv)\n")
    assert list(tmp_path.iterdir()) == []
