"""The Arrow data path: the batch normaliser against the per-row rules, the Arrow CSV reader against the
line-by-line one, Parquet in, content ids as earlier versions stored them, and events kept in replay order."""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_connector.errors import InputError
from campaign_connector.importer import (
    BadRowsError,
    ImportSummary,
    import_event_files,
    import_event_sources,
    normalize_batch,
    readers,
    run,
    summary_lines,
)
from campaign_connector.importer.normalize import content_hashes
from campaign_connector.importer.rows import hash_text
from campaign_connector.store import Store
from campaign_connector.store.events import iter_timelines
from campaign_connector.store.schema import MIGRATIONS, SCHEMA_VERSION

# -- the batch normaliser decides exactly as the per-row rules -----------------------------------------------

#: Cells worth trying per column: the shapes the Arrow pass decides, their near misses, and bad values.
CELLS: dict[str, list[str]] = {
    "user_id": ["u1", "u2", "", " ", "ü"],
    "time": ["2026-01-05T09:00:00Z", "2026-01-05T09:00:00.123Z", "2026-01-05T09:00:00.123456+05:30",
             "2026-01-05T09:00:00.1Z", "2026-01-05T09:00:00", "2026-01-05 09:00:00Z", "2026-01-05T09:00:00z",
             "2026-02-30T09:00:00Z", "2026-01-05T24:00:00Z", "2026-01-05T09:00:00+24:00", "1969-12-31T23:59:59Z",
             "2200-01-01T00:00:00Z", "1767603600", "1767603600.5", "1767603600.0005", "0", "-1", " 1767603600",
             "99999999999999999999", "1e9", "nan", "", "soon", "2026-01-05"],
    "event": ["open_email", "click_email", "open_email_machine", "click_email_alias", "purchase", "", "x y"],
    "campaign": ["", "news", "0"],
    "id": ["", "", "e1", "e2"],
    "link_alias": ["", "hero"],
    "machine_open": ["", "1", "0", "true", "TRUE", "True", "yes", " yes", "no", "y", "2", "tRuE", "ｔrue"],
    "conversion_index": ["", "0", "3", " 3", "-1", "1.0", "x", "٣", "123456789012345678901"],
    "timezone": ["", "Europe/London", "America/New_York", "Mars/Olympus", "utc"],
    "properties": ["", "{}", '{"a": 1}', ' {"b":"x"} ', "[1]", "null", "nope", '{"a":', '"s"'],
    "plan": ["", "gold"],
}


@st.composite
def batches(draw: Any) -> pa.RecordBatch:
    optional = [name for name in CELLS if name not in ("user_id", "time", "event")]
    names = ["user_id", "time", "event", *draw(st.lists(st.sampled_from(optional), unique=True))]
    rows = draw(st.lists(st.tuples(*(st.sampled_from(CELLS[name]) for name in names)), min_size=1, max_size=30))
    return pa.RecordBatch.from_arrays([pa.array(column, pa.string()) for column in zip(*rows, strict=True)],
                                      names=names)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(batches())
def test_the_batch_normaliser_decides_every_cell_as_the_row_rules_do(batch: pa.RecordBatch) -> None:
    fast = normalize_batch(batch, file="f.csv", first_line=2)
    rows = normalize_batch(batch, file="f.csv", first_line=2, vectorised=False)
    assert fast.events.to_pylist() == rows.events.to_pylist()
    assert fast.events.schema == rows.events.schema
    assert (fast.bad, fast.unknown) == (rows.bad, rows.unknown)


@pytest.mark.parametrize(("time", "ms"), [
    ("2026-01-05T09:00:00Z", 1767603600000),
    ("2026-01-05T10:00:00+01:00", 1767603600000),
    ("2026-01-05T09:00:00.123456Z", 1767603600123),
    ("1767603600", 1767603600000),
    ("1767603600.0005", 1767603600000),  # half a millisecond rounds to even, as Python's round() does
    ("1767603600.0015", 1767603600002),
])
def test_the_batch_normaliser_keeps_times_to_the_millisecond(time: str, ms: int) -> None:
    batch = pa.RecordBatch.from_pydict({"user_id": ["u"], "time": [time], "event": ["purchase"]})
    assert normalize_batch(batch, file="f").events.column("time").to_pylist() == [ms]


@pytest.mark.parametrize(("column", "type_", "value", "ms"), [
    ("int seconds", pa.int64(), 1767603600, 1767603600000),
    ("float seconds", pa.float64(), 1767603600.25, 1767603600250),
    ("timestamp", pa.timestamp("ms", tz="UTC"), 1767603600250, 1767603600250),
])
def test_typed_time_columns_are_read_as_in_a_json_line(column: str, type_: pa.DataType, value: Any, ms: int) -> None:
    batch = pa.RecordBatch.from_pydict({"user_id": ["u"], "time": pa.array([value], type_), "event": ["purchase"]})
    for vectorised in (True, False):
        assert normalize_batch(batch, file="f", vectorised=vectorised).events.column("time").to_pylist() == [ms]


def test_bad_rows_are_numbered_from_the_first_line_or_by_the_lines_given() -> None:
    batch = pa.RecordBatch.from_pydict({"user_id": ["u", "", "u"], "time": ["1", "1", "x"], "event": ["a"] * 3})
    assert [str(row) for row in normalize_batch(batch, file="f.csv", first_line=10).bad] == [
        "f.csv:11: missing user_id",
        "f.csv:12: time: expected an ISO-8601 time like 2026-01-05T09:00:00Z or epoch seconds, got 'x'",
    ]
    assert [row.line for row in normalize_batch(batch, file="f.csv", lines=[2, 5, 9]).bad] == [5, 9]


# -- whole files: the Arrow reader, the row rules and the line-by-line reader store and say the same ---------

GOOD = """user_id,time,event,campaign,id,link_alias,machine_open,conversion_index,timezone,properties
u2,2026-01-05T09:00:00Z,open_email,news,e1,,,,Europe/London,
u1,2026-01-05T08:00:00Z,click_email,news,e2,hero,,,,"{""a"": 1}"
u2,2026-01-05T07:00:00Z,open_email_machine,news,e3,,,,,
u3,2026-01-05T09:00:00.250Z,perform_conversion_event,promo,,,,0,,
u1,2026-01-05T08:00:00Z,click_email,news,e2,hero,,,,
"""
NO_IDS = """user_id,time,event,campaign,properties,plan
u2,1767603600,purchase,,"{""price"": 12.5}",
u1,1767603600.25,session_start,,,gold

u1,1767603600.25,session_start,,,gold
u3,1767600000,click_email,news,,
"""
BAD = """user_id,time,event,campaign,properties
u1,2026-01-05T09:00:00Z,open_email,news,
u2,yesterday,open_email,news,
u3,2026-01-05T09:00:00Z,open_email,news,"{""multi"":
""line""}"

u4,2026-01-05T09:00:00Z,open_email
,2026-01-05T09:00:00Z,open_email,news,
u5,2026-01-05T09:00:00Z,click_email_alias,news,"[1]"
"""

#: The ways a CSV file can be read: Arrow reader + batch normaliser (what runs), Arrow reader + row rules
#: only, and the line-by-line reader.
PATHS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "arrow": lambda monkeypatch: None,
    "arrow, row rules": lambda monkeypatch: monkeypatch.setattr(
        readers, "normalize_batch", functools.partial(normalize_batch, vectorised=False)),
    "line by line": lambda monkeypatch: monkeypatch.setattr(run, "csv_chunks", readers.csv_python_chunks),
}


def outcome(folder: Path, text: str, skip_invalid: bool, reimport: bool, monkeypatch: pytest.MonkeyPatch
            ) -> dict[str, Any]:
    """What importing ``text`` as ``log.csv`` (in ``folder``, so every message names the same file) stored,
    printed and rejected."""
    folder.mkdir()
    monkeypatch.chdir(folder)
    log = Path("log.csv")
    log.write_text(text, encoding="utf-8")
    with Store.open("t.db") as store:
        try:
            for _ in range(2 if reimport else 1):
                summary = import_event_files(store, [log], skip_invalid=skip_invalid)
            said = [re.sub(r" in [0-9.]+ s", "", line) for line in summary_lines(summary)]
        except BadRowsError as error:
            said = [str(error)]
        stored = store.conn.execute("SELECT * FROM events").fetchall()
    rejects = Path("log.csv.rejects.jsonl")
    return {"said": said, "stored": stored, "rejects": rejects.read_text() if rejects.exists() else None}


@pytest.mark.parametrize("skip_invalid", [False, True], ids=["all-or-nothing", "skip-invalid"])
@pytest.mark.parametrize("text", [GOOD, NO_IDS, BAD], ids=["ids-iso", "no-ids-epoch", "bad-rows"])
def test_a_csv_file_is_stored_and_reported_the_same_whichever_way_it_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, skip_invalid: bool) -> None:
    results = {}
    for name, patch in PATHS.items():
        with monkeypatch.context() as patched:
            patch(patched)
            results[name] = outcome(tmp_path / name.replace(" ", "-").replace(",", ""), text, skip_invalid,
                                    text != BAD, patched)
    assert results["arrow"] == results["arrow, row rules"] == results["line by line"]
    assert results["arrow"]["stored"] or not skip_invalid and text == BAD


def test_bad_rows_of_a_csv_file_keep_their_lines_and_rejects_their_text(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    result = outcome(tmp_path / "x", BAD, True, False, monkeypatch)
    rejected = [json.loads(line) for line in result["rejects"].splitlines()]
    assert [(row["line"], row["raw"]) for row in rejected] == [
        (3, "u2,yesterday,open_email,news,"),
        (7, "u4,2026-01-05T09:00:00Z,open_email"),
        (8, ",2026-01-05T09:00:00Z,open_email,news,"),
        (9, 'u5,2026-01-05T09:00:00Z,click_email_alias,news,"[1]"'),
    ]
    assert [event for *_, event in [row[:5] for row in result["stored"]]] == ["open_email", "open_email"]


# -- content ids ---------------------------------------------------------------------------------------------

PINNED = """user_id,time,event,campaign,link_alias,machine_open,conversion_index,timezone,properties,plan
u1,2026-01-05T09:00:00Z,click_email,news,,,,,,
u2,1767603600.5,open_email_machine,welcome,,,,Europe/London,,
u3,2026-01-05T10:00:00+01:00,purchase,,,,,,"{""price"": 12.5}",
u4,1767603600,perform_conversion_event,promo,,,2,,,gold
"""
#: The ids version 2 (the per-row importer, commit adf3648) stored for the rows of ``PINNED``.
PINNED_IDS = {
    "u1": "h-117355e10c1a066e8b9c39e5a39a1f0c",
    "u2": "h-1e68f6568bca724a3c8efab06d318124",
    "u3": "h-122584f095bcb19bd85c27602cb5fa9f",
    "u4": "h-0e1106600d1293bf3fd7077bc0272cf5",
}


@pytest.mark.parametrize("path", list(PATHS))
def test_content_ids_are_the_ids_earlier_versions_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         path: str) -> None:
    PATHS[path](monkeypatch)
    log = tmp_path / "log.csv"
    log.write_text(PINNED, encoding="utf-8")
    with Store.open(tmp_path / "t.db") as store:
        assert import_event_files(store, [log]).stored == 4
        assert dict(store.conn.execute("SELECT user_id, id FROM events")) == PINNED_IDS


def version_2_database(path: Path, rows: list[tuple[Any, ...]]) -> None:
    """A database as version 2 left it: a rowid events table with the user index; ``rows`` are
    (seq, id, user_id, time, event)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:2]:
        migration(conn)
    conn.executemany("INSERT INTO events (seq, id, user_id, time, event) VALUES (?, ?, ?, ?, ?)", rows)
    conn.execute("PRAGMA user_version = 2")
    conn.close()


def test_a_file_a_version_2_database_holds_is_not_stored_twice(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    version_2_database(db, [(1, PINNED_IDS["u1"], "u1", 1767603600000, "click_email")])
    log = tmp_path / "log.csv"
    log.write_text(PINNED, encoding="utf-8")
    with Store.open(db) as store:
        summary = import_event_files(store, [log])
        assert (summary.stored, summary.duplicates) == (3, 1)


# -- events in replay order ----------------------------------------------------------------------------------


def events_table_sql(store: Store) -> str:
    return str(store.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()[0])


def test_a_version_2_database_is_migrated_to_events_keyed_by_user_time_and_seq(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    rows = [(1, "a", "u2", 5, "open_email"), (2, "b", "u1", 9, "click_email"), (3, "c", "u1", 2, "purchase")]
    version_2_database(db, rows)
    with Store.open(db) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert "PRIMARY KEY (user_id, time, seq)" in events_table_sql(store)
        assert "WITHOUT ROWID" in events_table_sql(store)
        assert store.conn.execute("SELECT seq, id, user_id, time, event FROM events").fetchall() == [
            rows[2], rows[1], rows[0]]


def test_events_lie_in_replay_order_after_every_import(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("user_id,time,event\n" + "".join(f"u{u % 7},{1767603600 + u},open_email\n"
                                                        for u in range(40, 0, -1)), encoding="utf-8")
    second.write_text("user_id,time,event\n" + "".join(f"u{u % 5},{1767600000 + u},purchase\n"
                                                         for u in range(30)), encoding="utf-8")
    with Store.open(tmp_path / "t.db") as store:
        for log in (first, second):
            import_event_files(store, [log])
            # in table order: event is in no index, so SQLite walks the table itself
            on_disk = store.conn.execute("SELECT user_id, time, seq, event FROM events").fetchall()
            assert on_disk == sorted(on_disk)
        plan = store.conn.execute("EXPLAIN QUERY PLAN SELECT * FROM events ORDER BY user_id, time, seq").fetchall()
        assert not any("TEMP B-TREE" in row[-1] or "INDEX" in row[-1] for row in plan), plan
        timelines = list(iter_timelines(store, until=None))
        assert [user for user, _, _ in timelines] == [f"u{u}" for u in range(7)]
        assert all([e.time for e in events] == sorted(e.time for e in events) for _, events, _ in timelines)


def import_into(store: Store, folder: Path, text: str, *, prior: bool) -> ImportSummary:
    """Import ``text`` as ``log.csv``; with ``prior``, into a log that already has an event (else an empty one)."""
    if prior:
        old = folder / "old.csv"
        old.write_text("user_id,time,event,id\nu5,1767600000,purchase,old\n", encoding="utf-8")
        import_event_files(store, [old])
    log = folder / "log.csv"
    log.write_text(text, encoding="utf-8")
    return import_event_files(store, [log])


@pytest.mark.parametrize("prior", [False, True], ids=["into-empty-log", "into-existing-log"])
def test_an_id_repeated_within_an_import_keeps_its_first_row_in_file_order(tmp_path: Path, prior: bool) -> None:
    with Store.open(tmp_path / "t.db") as store:
        summary = import_into(store, tmp_path, "user_id,time,event,id\nu9,1767603600,open_email,x\n"
                                               "u1,1767600000,purchase,x\n", prior=prior)
        assert (summary.stored, summary.duplicates, summary.by_event) == (1, 1, {"open_email": 1})
        assert store.conn.execute("SELECT user_id FROM events WHERE id = 'x'").fetchall() == [("u9",)]


# -- Parquet in ----------------------------------------------------------------------------------------------


def test_a_parquet_log_stores_what_the_same_csv_log_stores(tmp_path: Path) -> None:
    csv_log, parquet_log = tmp_path / "log.csv", tmp_path / "log.parquet"
    csv_log.write_text(GOOD, encoding="utf-8")
    header = GOOD.splitlines()[0].split(",")
    pq.write_table(pa_csv.read_csv(csv_log, convert_options=pa_csv.ConvertOptions(
        column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False)), parquet_log)
    stored = []
    for log in (csv_log, parquet_log):
        with Store.open(tmp_path / f"{log.suffix}.db") as store:
            summary = import_event_files(store, [log])
            stored.append((summary.stored, summary.duplicates, summary.by_event,
                           store.conn.execute("SELECT * FROM events").fetchall()))
    assert stored[0] == stored[1]


def test_a_parquet_log_with_typed_columns_and_bad_rows_names_each_by_record(tmp_path: Path) -> None:
    log = tmp_path / "events.data"
    pq.write_table(pa.table({"user_id": ["u1", "u2", None], "time": pa.array([1767603600, -5, 1767603600]),
                             "event": ["purchase", "purchase", "purchase"], "machine_open": [True, False, None]}), log)
    with Store.open(tmp_path / "t.db") as store:
        with pytest.raises(BadRowsError) as caught:
            import_event_files(store, [log], format="parquet")
        assert [str(row) for row in caught.value.bad_rows] == [
            f"{log}:2: time: -5 is outside 1970..2199", f"{log}:3: missing user_id"]
        summary = import_event_files(store, [log], format="parquet", skip_invalid=True, rejects=tmp_path / "r.jsonl")
        assert summary.stored == 1
        raws = [json.loads(line)["raw"] for line in (tmp_path / "r.jsonl").read_text().splitlines()]
        assert [json.loads(raw)["time"] for raw in raws] == [-5, 1767603600]


@pytest.mark.parametrize(("content", "message"), [
    (b"user_id,time,event\n", "not a Parquet file"),
    (None, "missing required column(s) time (the file has user_id, event)"),
])
def test_a_parquet_file_that_cannot_be_a_log_is_one_line(tmp_path: Path, content: bytes | None, message: str) -> None:
    log = tmp_path / "e.parquet"
    if content is None:
        pq.write_table(pa.table({"user_id": ["u"], "event": ["purchase"]}), log)
    else:
        log.write_bytes(content)
    with Store.open(tmp_path / "t.db") as store, pytest.raises(InputError) as caught:
        import_event_files(store, [log])
    assert str(caught.value).startswith(f"{log}: {message}")
    assert "\n" not in str(caught.value)


# -- sources shown by name -----------------------------------------------------------------------------------


def test_every_message_names_the_source_as_given_while_the_local_copy_is_read(tmp_path: Path) -> None:
    local = tmp_path / "copy.csv"
    local.write_text("user_id,time,event\nu1,1767603600,purchase\nu2,never,purchase\n", encoding="utf-8")
    with Store.open(tmp_path / "t.db") as store:
        with pytest.raises(BadRowsError, match=r"s3://bucket/log\.csv:3: time: "):
            import_event_sources(store, [("s3://bucket/log.csv", local)])
        summary = import_event_sources(store, [("s3://bucket/log.csv", local)], skip_invalid=True,
                                       rejects=tmp_path / "r.jsonl")
    assert summary.files == ("s3://bucket/log.csv",)
    rejected = json.loads((tmp_path / "r.jsonl").read_text())
    assert (rejected["file"], rejected["line"], rejected["raw"]) == ("s3://bucket/log.csv", 3, "u2,never,purchase")


# -- the staging thread --------------------------------------------------------------------------------------


def test_a_failure_on_the_staging_thread_is_raised_by_the_importer_and_leaves_no_scratch_file() -> None:
    from campaign_connector.store.events import Staging

    staging = Staging()
    try:
        with pytest.raises(Exception, match="no column named nonsense"):  # by the next call, whichever it is
            staging.append(pa.record_batch({"nonsense": [1]}))
            staging.append(pa.record_batch({"nonsense": [2]}))
            staging.finish()
    finally:
        staging.close()
    assert not staging.folder.exists()


def test_rows_staged_by_the_thread_keep_file_order_across_many_batches_and_a_reread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 256)  # a batch every few rows
    rows = [f"u{n % 3},{1767600000 + n % 7},open_email,c{n}" for n in range(300)]
    rows[250] = "u1,yesterday,open_email,c250"  # read again line by line from here, after ~70 batches
    log = tmp_path / "log.csv"
    log.write_text("user_id,time,event,campaign\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with Store.open(tmp_path / "t.db") as store:
        summary = import_event_files(store, [log], skip_invalid=True, rejects=tmp_path / "rejects.jsonl")
        stored = [campaign for (campaign,) in store.conn.execute("SELECT campaign FROM events ORDER BY seq")]
    assert (summary.stored, summary.rejected) == (299, 1)
    assert stored == [f"c{n}" for n in range(300) if n != 250]


# -- counts of an import with repeated ids -------------------------------------------------------------------

REPEATED_BOTS = """user_id,time,event,campaign,link_alias,bot,id
u1,1767600000,click_email,news,cta,true,
u1,1767600000,click_email,news,cta,true,
u2,1767600000,click_email,news,cta,,
u2,1767600000,click_email,news,cta,,
u3,1767600000,open_email,news,,,
u4,1767600000,purchase,,,,p1
u5,1767600300,purchase,,,,p1
"""


@pytest.mark.parametrize("returning", [True, False], ids=["delete-returning", "recounted"])
@pytest.mark.parametrize("prior", [False, True], ids=["into-empty-log", "into-existing-log"])
def test_an_imports_counts_leave_out_the_rows_with_repeated_ids(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prior: bool, returning: bool) -> None:
    from campaign_connector.store import events as store_events

    monkeypatch.setattr(store_events, "_RETURNING", returning)
    with Store.open(tmp_path / "t.db") as store:
        summary = import_into(store, tmp_path, REPEATED_BOTS, prior=prior)
        # one click of each user, u3's open and the first p1 are stored; the bot click counts once
        assert (summary.stored, summary.duplicates, summary.bot_clicks) == (4, 3, 1)
        assert summary.by_event == {"click_email": 2, "open_email": 1, "purchase": 1}
        assert store.conn.execute("SELECT user_id FROM events WHERE id = 'p1'").fetchall() == [("u4",)]


def test_a_staging_thread_that_cannot_start_its_driver_fails_the_import_instead_of_waiting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from campaign_connector.store.events import Staging

    real_import = builtins.__import__

    def no_driver(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("adbc_driver_sqlite"):
            raise ImportError("No module named 'adbc_driver_sqlite'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_driver)
    with pytest.raises(ImportError, match="adbc_driver_sqlite"):
        Staging()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=300), max_size=40))
def test_the_batch_content_hash_is_the_row_rules_hash(texts: list[str]) -> None:
    """Short and multi-block texts, any characters, none at all: the same ids as ``rows.hash_text``."""
    assert content_hashes(pa.array(texts, pa.string())).to_pylist() == [hash_text(text) for text in texts]
