"""Importing event logs: normalisation of every field, bad rows, all-or-nothing, --skip-invalid, idempotence."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from campaign_connector.errors import InputError
from campaign_connector.importer import BadRowsError, import_event_files, import_event_rows
from campaign_connector.store import Store
from campaign_connector.store.events import iter_timelines
from campaign_connector.timeutil import parse_time

HEADER = "user_id,time,event,campaign,id,link_alias,button_id,page,machine_open,conversion_index,timezone,properties"


def stored(store: Store, *columns: str) -> list[tuple]:
    names = ", ".join(columns)
    return store.conn.execute(f"SELECT {names} FROM events ORDER BY seq").fetchall()


def count(store: Store) -> int:
    return store.conn.execute("SELECT count(*) FROM events").fetchone()[0]


def write(path: Path, text: str) -> Path:
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def store(disk_store: Store) -> Store:
    """Imports here go to a database file, as the command line's do."""
    return disk_store


CSV_TEXT = (
    "user_id,time,event,campaign,id,link_alias\n"
    "u1,2026-01-05T09:00:00Z,click_email,welcome,e1,cta\n"
    "u2,1767603600,receive_email,welcome,e2,\n"
)
JSONL_TEXT = (
    '{"user_id": "u1", "time": "2026-01-05T09:00:00Z", "event": "click_email", "campaign": "welcome", '
    '"id": "e1", "link_alias": "cta"}\n'
    "\n"
    '{"user_id": "u2", "time": 1767603600, "event": "receive_email", "campaign": "welcome", "id": "e2"}\n'
)
EXPECTED = [
    ("e1", "u1", parse_time("2026-01-05T09:00:00Z"), "click_email", "welcome", "cta"),
    ("e2", "u2", 1767603600000, "receive_email", "welcome", None),
]


@pytest.mark.parametrize(("name", "text"), [
    ("events.csv", CSV_TEXT),
    ("events.csv.gz", CSV_TEXT),
    ("events.jsonl", JSONL_TEXT),
    ("events.ndjson", JSONL_TEXT),
    ("events.json", JSONL_TEXT),
    ("events.jsonl.gz", JSONL_TEXT),
])
def test_each_format_stores_the_same_events(store: Store, tmp_path: Path, name: str, text: str) -> None:
    summary = import_event_files(store, [write(tmp_path / name, text)])
    assert stored(store, "id", "user_id", "time", "event", "campaign", "link_alias") == EXPECTED
    assert (summary.stored, summary.duplicates, summary.rejected) == (2, 0, 0)
    assert summary.by_event == {"click_email": 1, "receive_email": 1}


def test_format_option_overrides_the_extension(store: Store, tmp_path: Path) -> None:
    import_event_files(store, [write(tmp_path / "events.txt", JSONL_TEXT)], format="jsonl")
    assert count(store) == 2


def test_an_unknown_extension_asks_for_format(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"events\.txt: cannot tell the format from the extension '\.txt'"):
        import_event_files(store, [write(tmp_path / "events.txt", CSV_TEXT)])


def test_a_utf8_byte_order_mark_is_ignored(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CSV_TEXT.encode())
    import_event_files(store, [path])
    assert count(store) == 2


# --- normalisation, field by field (CSV, then the same rules through JSON rows) -------------------------

def one(store: Store, tmp_path: Path, row: str, header: str = HEADER) -> tuple:
    import_event_files(store, [write(tmp_path / "one.csv", f"{header}\n{row}\n")])
    return stored(store, "event", "time", "link_alias", "button_id", "machine_open", "conversion_index",
                  "timezone", "properties")[0]


@pytest.mark.parametrize(("row", "expected"), [
    # derived interaction names are stored as their base event with the field set
    ("u,2026-01-05T09:00:00Z,open_email_machine,c,,,,,,,,", ("open_email", 1)),
    ("u,2026-01-05T09:00:00Z,open_email_other,c,,,,,,,,", ("open_email", 0)),
    ("u,2026-01-05T09:00:00Z,click_email_alias,c,,cta,,,,,,", ("click_email", 0)),
    ("u,2026-01-05T09:00:00Z,click_alias_any_campaign,,,cta,,,,,,", ("click_email", 0)),
    ("u,2026-01-05T09:00:00Z,click_in_app_message_button,c,,,b1,,,,,", ("click_in_app_message", 0)),
    # machine_open is true for true / 1 / yes in any case, false otherwise
    ("u,2026-01-05T09:00:00Z,open_email,c,,,,,TRUE,,,", ("open_email", 1)),
    ("u,2026-01-05T09:00:00Z,open_email,c,,,,,Yes,,,", ("open_email", 1)),
    ("u,2026-01-05T09:00:00Z,open_email,c,,,,,1,,,", ("open_email", 1)),
    ("u,2026-01-05T09:00:00Z,open_email,c,,,,,false,,,", ("open_email", 0)),
    ("u,2026-01-05T09:00:00Z,open_email,c,,,,,no,,,", ("open_email", 0)),
    ("u,2026-01-05T09:00:00Z,open_email,c,,,,,,,,", ("open_email", 0)),
])
def test_event_names_and_machine_open(store: Store, tmp_path: Path, row: str, expected: tuple) -> None:
    event, _, _, _, machine_open, *_ = one(store, tmp_path, row)
    assert (event, machine_open) == expected


@pytest.mark.parametrize(("value", "ms"), [
    ("2026-01-05T09:00:00Z", 1767603600000),
    ("2026-01-05T09:00:00", 1767603600000),  # no offset = UTC
    ("2026-01-05T10:00:00+01:00", 1767603600000),
    ("2026-01-05T09:00:00.123Z", 1767603600123),
    ("1767603600", 1767603600000),
    ("1767603600.5", 1767603600500),
    ("0", 0),
])
def test_times_are_stored_as_utc_milliseconds(store: Store, tmp_path: Path, value: str, ms: int) -> None:
    assert one(store, tmp_path, f"u,{value},session_start,,,,,,,,,", )[1] == ms


def test_qualifiers_timezone_and_properties_are_kept(store: Store, tmp_path: Path) -> None:
    row = 'u,2026-01-05T09:00:00Z,perform_conversion_event,c,,a,b,3,,2,Europe/Berlin,"{""cart"": 120}"'
    assert one(store, tmp_path, row) == (
        "perform_conversion_event", 1767603600000, "a", "b", 0, 2, "Europe/Berlin", '{"cart": 120}'
    )  # a CSV cell's JSON is kept as written; merged or JSON-lines objects are stored compact


def test_unknown_columns_go_into_properties_with_one_warning(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", 'user_id,time,event,plan,properties,seats\n'
                                     'u,2026-01-05T09:00:00Z,purchase,pro,"{""plan"": ""team""}",3\n'
                                     'u,2026-01-06T09:00:00Z,purchase,,,\n')
    summary = import_event_files(store, [path])
    assert stored(store, "properties") == [('{"plan":"team","seats":"3"}',), (None,)]
    assert summary.warnings == ("unknown column(s) kept in properties: plan, seats",)


def test_json_rows_follow_the_same_rules(store: Store) -> None:
    import_event_rows(store, [
        {"user_id": 7, "time": 1767603600, "event": "open_email_machine", "campaign": "c", "button_id": 5},
        {"user_id": "u", "time": "2026-01-05T09:00:00Z", "event": "purchase", "properties": {"sku": "x"},
         "conversion_index": 0, "extra": [1, 2]},
    ])
    assert stored(store, "user_id", "event", "machine_open", "button_id", "conversion_index", "properties") == [
        ("7", "open_email", 1, "5", None, None),
        ("u", "purchase", 0, None, 0, '{"extra":[1,2],"sku":"x"}'),
    ]


def test_a_row_without_id_gets_a_stable_content_hash(store: Store, tmp_path: Path) -> None:
    row = {"user_id": "u", "time": "2026-01-05T09:00:00Z", "event": "open_email", "campaign": "c"}
    import_event_rows(store, [row])
    [(first,)] = stored(store, "id")
    assert first.startswith("h-") and len(first) == 34
    with Store.open(tmp_path / "other.db") as other:
        import_event_rows(other, [{**row, "time": 1767603600}])  # the same normalised row
        assert stored(other, "id") == [(first,)]


# --- idempotence -----------------------------------------------------------------------------------------

def test_importing_a_file_twice_stores_each_event_once(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", CSV_TEXT)
    import_event_files(store, [path])
    again = import_event_files(store, [path])
    assert count(store) == 2
    assert (again.stored, again.duplicates, again.by_event) == (0, 2, {})


def test_a_file_without_ids_is_idempotent_too(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user_id,time,event\nu,2026-01-05T09:00:00Z,open_email\n"
                                     "u,2026-01-05T09:00:01Z,open_email\n")
    import_event_files(store, [path])
    import_event_files(store, [path])
    assert count(store) == 2


def test_a_duplicate_id_within_one_import_is_skipped_and_counted(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user_id,time,event,id\nu,2026-01-05T09:00:00Z,open_email,x\n"
                                     "u,2026-01-06T09:00:00Z,click_email,x\nu,2026-01-07T09:00:00Z,open_email,y\n")
    summary = import_event_files(store, [path])
    assert stored(store, "id", "event") == [("x", "open_email"), ("y", "open_email")]
    assert (summary.stored, summary.duplicates, summary.by_event) == (2, 1, {"open_email": 2})


def test_overlapping_imports_into_a_non_empty_log_skip_what_is_stored(store: Store, tmp_path: Path) -> None:
    import_event_files(store, [write(tmp_path / "a.csv", CSV_TEXT)])
    overlap = write(tmp_path / "b.csv", "user_id,time,event,id\nu1,2026-01-05T09:00:00Z,click_email,e1\n"
                                        "u3,2026-01-05T09:00:00Z,open_email,e3\nu3,2026-01-05T09:00:00Z,open_email,e3\n")
    summary = import_event_files(store, [overlap])
    assert (summary.stored, summary.duplicates, summary.by_event) == (1, 2, {"open_email": 1})
    assert count(store) == 3


def test_equal_times_keep_import_order(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "user_id,time,event,id\nu,2026-01-05T09:00:00Z,b,2\n"
                                     "u,2026-01-05T09:00:00Z,a,1\nu,2026-01-04T09:00:00Z,c,3\n")
    import_event_files(store, [path])
    [(_, events, _)] = iter_timelines(store, until=None)
    assert [e.id for e in events] == ["3", "2", "1"]


# --- bad rows --------------------------------------------------------------------------------------------

BAD_ROWS = [
    ("u,,open_email", "missing time"),
    (",2026-01-05T09:00:00Z,open_email", "missing user_id"),
    ("u,2026-01-05T09:00:00Z,", "missing event"),
    ("u,yesterday,open_email",
     "time: expected an ISO-8601 time like 2026-01-05T09:00:00Z or epoch seconds, got 'yesterday'"),
    ("u,1969-12-31T23:59:59Z,open_email", "time: '1969-12-31T23:59:59Z' is outside 1970..2199"),
    ("u,2200-01-01T00:00:00Z,open_email", "time: '2200-01-01T00:00:00Z' is outside 1970..2199"),
    ("u,99999999999,open_email", "time: '99999999999' is outside 1970..2199"),
    ("u,2026-01-05T09:00:00Z,click_email_alias", "event click_email_alias needs a link_alias value "
                                                 "(or name the row click_email)"),
    ("u,2026-01-05T09:00:00Z,click_in_app_message_button", "event click_in_app_message_button needs a button_id "
                                                           "value (or name the row click_in_app_message)"),
    ("u,2026-01-05T09:00:00Z,open_email_other,,true",
     "event open_email_other contradicts machine_open 'true' (drop one of them)"),
    ("u,2026-01-05T09:00:00Z,perform_conversion_event,,,first",
     "conversion_index: expected a whole number >= 0 (0 = the first conversion event), got 'first'"),
    ("u,2026-01-05T09:00:00Z,perform_conversion_event,,,-1",
     "conversion_index: expected a whole number >= 0 (0 = the first conversion event), got '-1'"),
    ("u,2026-01-05T09:00:00Z,open_email,,,,Mars/Olympus",
     "timezone: unknown time zone 'Mars/Olympus' (use an IANA name like 'America/New_York')"),
    ("u,2026-01-05T09:00:00Z,purchase,,,,,[1]",
     'properties: expected a JSON object like {"cart_value": 120}, got an array'),
    ("u,2026-01-05T09:00:00Z,purchase,,,,,{oops",
     'properties: not valid JSON (expected an object like {"cart_value": 120}), got \'{oops\''),
    ("u,2026-01-05T09:00:00Z", "has 2 fields, the header has 8 (quote fields that contain commas)"),
    ("u,2026-01-05T09:00:00Z,open_email,,,,,,", "has 9 fields, the header has 8 (quote fields that contain commas)"),
]
BAD_HEADER = "user_id,time,event,link_alias,machine_open,conversion_index,timezone,properties"


@pytest.mark.parametrize(("row", "message"), BAD_ROWS)
def test_bad_csv_rows_are_reported_with_file_and_line(store: Store, tmp_path: Path, row: str, message: str) -> None:
    if not message.startswith("has "):
        row += "," * (7 - row.count(","))
    path = write(tmp_path / "bad.csv", f"{BAD_HEADER}\nu,2026-01-05T09:00:00Z,open_email,,,,,\n{row}\n")
    with pytest.raises(BadRowsError) as caught:
        import_event_files(store, [path])
    assert [str(bad) for bad in caught.value.bad_rows] == [f"{path}:3: {message}"]
    assert count(store) == 0


@pytest.mark.parametrize(("line", "message"), [
    ('["u", "2026-01-05T09:00:00Z"]', "expected a JSON object, got an array"),
    ("null", "expected a JSON object, got null"),
    ('{"user_id": "u", "time": "2026', "not valid JSON: Unterminated string starting at (column 26)"),
    ('{"user_id": "u", "time": true, "event": "open_email"}', "time: expected a time, got True"),
    ('{"user_id": "u", "time": 1767603600, "event": "purchase", "properties": "{}"}',
     'properties: expected a JSON object like {"cart_value": 120}, got a string'),
    ('{"user_id": "u", "time": 1767603600, "event": "x", "link_alias": {"a": 1}}',
     "link_alias: expected text, got an object"),
    ('{"user_id": "u", "time": 1767603600, "event_type": "users.messages.email.Open"}',
     "missing event (this looks like a Braze Currents export: import it with --format currents)"),
])
def test_bad_json_lines_are_reported_with_file_and_line(store: Store, tmp_path: Path, line: str,
                                                        message: str) -> None:
    path = write(tmp_path / "bad.jsonl", f'{{"user_id": "u", "time": 0, "event": "e"}}\n{line}\n')
    with pytest.raises(BadRowsError) as caught:
        import_event_files(store, [path])
    assert [str(bad) for bad in caught.value.bad_rows] == [f"{path}:2: {message}"]


def test_all_or_nothing_lists_twenty_bad_rows_then_a_count(store: Store, tmp_path: Path) -> None:
    good = "u,2026-01-05T09:00:00Z,open_email\n"
    path = write(tmp_path / "bad.csv", "user_id,time,event\n" + good + "u,never,open_email\n" * 25 + good)
    with pytest.raises(BadRowsError) as caught:
        import_event_files(store, [path])
    lines = str(caught.value).splitlines()
    assert lines[0] == ("25 bad rows; nothing was stored (fix them, or use --skip-invalid to store the good rows "
                        "and write the bad ones to a rejects file):")
    assert lines[1].startswith(f"{path}:3: time: expected an ISO-8601 time")
    assert lines[20].startswith(f"{path}:22: ")
    assert lines[21:] == ["and 5 more"]
    assert count(store) == 0
    assert store.conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_a_bad_row_in_a_later_file_stores_nothing_from_the_earlier_ones(store: Store, tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", CSV_TEXT)
    bad = write(tmp_path / "bad.jsonl", '{"user_id": "u"}\n')
    with pytest.raises(BadRowsError, match=r"bad\.jsonl:1: missing time"):
        import_event_files(store, [good, bad])
    assert count(store) == 0


def test_a_multiline_csv_row_is_reported_at_its_first_line(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", 'user_id,time,event,properties\nu,x,open_email,"{\n""a"": 1}"\n'
                                       "u,never,open_email,\n")
    with pytest.raises(BadRowsError) as caught:
        import_event_files(store, [path])
    assert [bad.line for bad in caught.value.bad_rows] == [2, 4]


def test_skip_invalid_stores_good_rows_and_writes_rejects_verbatim(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "mixed.csv", 'user_id,time,event,properties\nu,2026-01-05T09:00:00Z,open_email,\n'
                                         'u,never,open_email,"{""a"":\n1}"\nv,2026-01-05T09:00:00Z,x,[1]\n'
                                         "w,2026-01-05T09:00:00Z,open_email,\n")
    summary = import_event_files(store, [path], skip_invalid=True)
    assert stored(store, "user_id") == [("u",), ("w",)]
    assert (summary.stored, summary.rejected) == (2, 2)
    rejects = tmp_path / "mixed.csv.rejects.jsonl"
    assert summary.rejects_files == (str(rejects),)
    assert [json.loads(line) for line in rejects.read_text().splitlines()] == [
        {"file": str(path), "line": 3,
         "reason": "time: expected an ISO-8601 time like 2026-01-05T09:00:00Z or epoch seconds, got 'never'",
         "raw": 'u,never,open_email,"{""a"":\n1}"'},
        {"file": str(path), "line": 5,
         "reason": 'properties: expected a JSON object like {"cart_value": 120}, got an array',
         "raw": "v,2026-01-05T09:00:00Z,x,[1]"},
    ]
    assert store.conn.execute("SELECT stored, rejected FROM imports").fetchall() == [(2, 2)]


def test_skip_invalid_with_a_rejects_path_and_json_and_gzip_inputs(store: Store, tmp_path: Path) -> None:
    csv_gz = write(tmp_path / "a.csv.gz", "user_id,time,event\nu,nope,open_email\nu,0,open_email\n")
    jsonl = write(tmp_path / "b.jsonl", '{"user_id": "u", "time": 0, "event": "click_email_alias"}\n[]\n')
    target = tmp_path / "all.rejects.jsonl"
    summary = import_event_files(store, [csv_gz, jsonl], skip_invalid=True, rejects=target)
    assert (summary.stored, summary.rejected, summary.rejects_files) == (1, 3, (str(target),))
    raws = [json.loads(line)["raw"] for line in target.read_text().splitlines()]
    assert raws == ["u,nope,open_email", '{"user_id": "u", "time": 0, "event": "click_email_alias"}', "[]"]


def test_skip_invalid_without_bad_rows_writes_no_rejects_file(store: Store, tmp_path: Path) -> None:
    summary = import_event_files(store, [write(tmp_path / "e.csv", CSV_TEXT)], skip_invalid=True)
    assert summary.rejects_files == ()
    assert not (tmp_path / "e.csv.rejects.jsonl").exists()


def test_event_rows_report_their_source_and_position(store: Store) -> None:
    with pytest.raises(BadRowsError) as caught:
        import_event_rows(store, [{"user_id": "u", "time": 0, "event": "e"}, "oops"], source="s.yaml:3 events")
    assert str(caught.value.bad_rows[0]) == "s.yaml:3 events:2: expected a mapping of event fields, got a string"


def test_progress_reports_rows_and_bytes_until_the_whole_input_is_read(store: Store, tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", CSV_TEXT)
    second = write(tmp_path / "b.jsonl.gz", JSONL_TEXT.replace('"e1"', '"j1"').replace('"e2"', '"j2"'))
    calls: list[tuple[int, int, int]] = []
    import_event_files(store, [first, second], progress=lambda *call: calls.append(call))
    total = first.stat().st_size + second.stat().st_size
    assert calls[0] == (2, first.stat().st_size, total)
    assert calls[-1] == (4, total, total)


def test_rows_with_rare_qualifiers_keep_their_fields_and_the_import_order(store: Store, tmp_path: Path) -> None:
    # Few rows with a link_alias/button_id/page/conversion_index: the others' empty cells are stored as NULL,
    # and the seq order is the file's order.
    rare = {10: ",cta,,,", 25: ",,b1,,", 26: ",,,p2,", 40: ",,,,3"}
    lines = [f"u,2026-01-05T09:{i // 60:02d}:{i % 60:02d}Z,e{i},{i}" + rare.get(i, ",,,,") for i in range(100)]
    path = write(tmp_path / "e.csv", "user_id,time,event,id,link_alias,button_id,page,conversion_index\n"
                                     + "\n".join(lines) + "\n")
    import_event_files(store, [path])
    rows = stored(store, "id", "link_alias", "button_id", "page", "conversion_index")
    assert [row[0] for row in rows] == [str(i) for i in range(100)]
    assert [row for row in rows if row[1:] != (None, None, None, None)] == [
        ("10", "cta", None, None, None), ("25", None, "b1", None, None), ("26", None, None, "p2", None),
        ("40", None, None, None, 3),
    ]


def test_a_zero_is_a_value_not_an_empty_cell(store: Store, tmp_path: Path) -> None:
    # The writer binds empty cells as the integer 0 and stores them as NULL; a text "0" must stay "0".
    path = write(tmp_path / "e.csv", "user_id,time,event,campaign,id,link_alias,button_id,page,conversion_index\n"
                                     "0,2026-01-01T00:00:00Z,0,0,0,0,0,0,0\n")
    import_event_files(store, [path])
    assert stored(store, "user_id", "event", "campaign", "id", "link_alias", "button_id", "page",
                  "conversion_index") == [("0", "0", "0", "0", "0", "0", "0", 0)]


def test_an_empty_timezone_cell_is_stored_as_no_zone(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("user_id,time,event,timezone\nu1,2026-01-01T00:00:00Z,session_start,\n", encoding="utf-8")
    with Store.open(":memory:") as store:
        import_event_files(store, [path])
        assert store.conn.execute("SELECT timezone FROM events").fetchall() == [(None,)]


def test_the_unknown_columns_warning_names_twenty_and_counts_the_rest(store: Store, tmp_path: Path) -> None:
    extra = [f"c{n:03d}" for n in range(25)]
    path = write(tmp_path / "x.csv", ",".join(["user_id", "time", "event", *extra]) + "\n"
                 + ",".join(["u", "2026-01-05T09:00:00Z", "purchase", *["1"] * 25]) + "\n")
    summary = import_event_files(store, [path])
    assert summary.warnings == (f"unknown column(s) kept in properties: {', '.join(extra[:20])} and 5 more",)
