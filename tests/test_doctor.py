"""`doctor` and the store's handling of databases it cannot use: missing, corrupt, newer, foreign."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from clikit import run
from configs import NEWS_AND_FOLLOW_UP

from campaign_connector.config import load_config_text
from campaign_connector.errors import StoreError
from campaign_connector.importer import import_event_rows
from campaign_connector.replay import run_replay
from campaign_connector.store import Store
from campaign_connector.store.runs import find_run
from campaign_connector.store.schema import SCHEMA_VERSION


@pytest.mark.slow
def test_doctor_reports_a_healthy_empty_database(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    Store.open(db).close()
    proc = run("doctor", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "integrity: ok" in proc.stdout
    assert f"schema version: {SCHEMA_VERSION} (this campaign-connector writes {SCHEMA_VERSION})" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"\x13\x37" * 2000), "not a campaign-connector database or corrupted"),
        (lambda p: (Store.open(p).close(), p.write_bytes(p.read_bytes()[:3000])), "corrupted"),
        (lambda p: None, "no database here"),
    ],
    ids=["random-bytes", "truncated", "missing"],
)
def test_unusable_database_is_one_line_naming_the_file(tmp_path: Path, make, message: str) -> None:
    db = tmp_path / "x.db"
    make(db)
    proc = run("doctor", "--db", str(db))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {db}: "), proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr


def test_a_database_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    Store.open(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this campaign-connector understands"):
        Store.open(db)


def test_an_older_database_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    sqlite3.connect(db).close()  # an empty file: version 0
    with Store.open(db) as store:
        assert store.schema_version() == SCHEMA_VERSION


def test_a_version_1_database_keeps_its_events_and_runs_and_loses_the_campaign_index(tmp_path: Path) -> None:
    """Version 2 drops ``decisions_campaign`` (it only slowed the storing of decisions down)."""
    db = tmp_path / "x.db"
    with Store.open(db) as store:
        import_event_rows(store, [{"user_id": "u1", "time": "2026-01-05T09:00:00Z", "event": "click_email",
                                   "campaign": "news"}])
        run = run_replay(store, load_config_text(NEWS_AND_FOLLOW_UP, "c.yaml"), name="old")
        rows = store.conn.execute("SELECT * FROM decisions").fetchall()
    assert rows
    with sqlite3.connect(db) as conn:  # as version 1 left it (without what versions 2 and up change)
        conn.execute("CREATE INDEX decisions_campaign ON decisions (run_id, campaign, status)")
        for table, column in (("events", "bot"), ("imports", "no_user"), ("imports", "skipped_files")):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 1")
    with Store.open(db) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.conn.execute("SELECT name FROM sqlite_master WHERE name = 'decisions_campaign'").fetchall() == []
        assert store.conn.execute("SELECT * FROM decisions").fetchall() == rows
        assert find_run(store, "old").counts == run.counts


def test_a_foreign_sqlite_database_is_not_touched(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE other (a)")
    with pytest.raises(StoreError, match="not a campaign-connector database"):
        Store.open(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("other",)]


def test_a_folder_given_as_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        Store.open(tmp_path)
