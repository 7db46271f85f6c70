"""The database schema as versioned migrations. ``PRAGMA user_version`` records how far a database is.

Add a migration by appending a function; never edit one that has shipped. A database whose version is newer
than the last migration here is refused (it was written by a newer campaign-connector).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _run(conn: sqlite3.Connection, script: str) -> None:
    """Run statements one by one (``executescript`` would commit the migration's transaction)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""


def _v1(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        -- One row per logged event. seq is the import order; time is ms since the epoch, UTC.
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            time INTEGER NOT NULL,
            event TEXT NOT NULL,
            campaign TEXT,
            link_alias TEXT,
            button_id TEXT,
            page TEXT,
            machine_open INTEGER NOT NULL DEFAULT 0,
            conversion_index INTEGER,
            timezone TEXT,
            properties TEXT,
            import_id INTEGER
        );
        CREATE UNIQUE INDEX events_id ON events (id);
        CREATE INDEX events_user_time ON events (user_id, time, seq);
        -- The users file (SPEC §3.3); attributes is a JSON object of every other column.
        CREATE TABLE users (
            user_id TEXT PRIMARY KEY,
            timezone TEXT,
            global_control_group INTEGER,
            unsubscribed TEXT,
            attributes TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE imports (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            files TEXT NOT NULL,
            format TEXT NOT NULL,
            started_at TEXT NOT NULL,
            stored INTEGER NOT NULL,
            duplicates INTEGER NOT NULL,
            rejected INTEGER NOT NULL
        );
        -- A stored replay. status is 'running' until its decisions are all written, then 'complete';
        -- only complete runs are listed or read. owner is the writing process (host:pid) while running.
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            config_path TEXT NOT NULL,
            config_text TEXT NOT NULL,
            config_hash TEXT NOT NULL,
            log_fingerprint TEXT NOT NULL,
            engine_version TEXT NOT NULL,
            options TEXT NOT NULL,
            counts TEXT NOT NULL DEFAULT '{}',
            until INTEGER,
            events INTEGER NOT NULL DEFAULT 0,
            users INTEGER NOT NULL DEFAULT 0,
            owner TEXT
        );
        -- The decisions of a run (SPEC §4.2); seq is the processing order within the run.
        CREATE TABLE decisions (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            user_id TEXT NOT NULL,
            campaign TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT,
            detail TEXT,
            trigger TEXT NOT NULL,
            source_campaign TEXT,
            trigger_event_id TEXT NOT NULL,
            triggered_at INTEGER NOT NULL,
            due_at INTEGER,
            sent_at INTEGER,
            variant TEXT,
            channels TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)
        );
        CREATE INDEX decisions_user ON decisions (run_id, user_id, triggered_at, seq);
        CREATE INDEX decisions_campaign ON decisions (run_id, campaign, status);
        -- Conversions counted by a run; decision_seq is the converted send's or enrollment's decision.
        CREATE TABLE conversions (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            campaign TEXT NOT NULL,
            conversion_index INTEGER NOT NULL,
            time INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            decision_seq INTEGER NOT NULL,
            control INTEGER NOT NULL
        );
        CREATE INDEX conversions_run ON conversions (run_id, campaign);
        """
    )


def _v2(conn: sqlite3.Connection) -> None:
    """Drop ``decisions_campaign``: keeping it up to date was half the cost of storing a run's decisions, and no
    query needs it — those by campaign read a run's rows in seq or user order (figures: benchmarks/README.md)."""
    conn.execute("DROP INDEX IF EXISTS decisions_campaign")


def _v3(conn: sqlite3.Connection) -> None:
    """Events keyed by ``(user_id, time, seq)`` in a ``WITHOUT ROWID`` table: a replay walks each user's events
    where they lie instead of looking every row up from the user index (benchmarks/README.md), and the
    key keeps that order after every later import. The rows are copied in key order; seq and ids unchanged."""
    _run(
        conn,
        """
        CREATE TABLE events_v3 (
            seq INTEGER NOT NULL,
            id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            time INTEGER NOT NULL,
            event TEXT NOT NULL,
            campaign TEXT,
            link_alias TEXT,
            button_id TEXT,
            page TEXT,
            machine_open INTEGER NOT NULL DEFAULT 0,
            conversion_index INTEGER,
            timezone TEXT,
            properties TEXT,
            import_id INTEGER,
            PRIMARY KEY (user_id, time, seq)
        ) WITHOUT ROWID;
        INSERT INTO events_v3 SELECT seq, id, user_id, time, event, campaign, link_alias, button_id, page,
            machine_open, conversion_index, timezone, properties, import_id FROM events ORDER BY user_id, time, seq;
        DROP TABLE events;
        ALTER TABLE events_v3 RENAME TO events;
        CREATE UNIQUE INDEX events_id ON events (id);
        """
    )


def _v4(conn: sqlite3.Connection) -> None:
    """Currents exports as they land (SPEC §3.2): ``events.bot`` flags suspected bot clicks (stored, shown, inert
    in the replay); the import ledger records records without a user skipped (a JSON object by event type) and
    non-event files skipped in folders."""
    _run(
        conn,
        """
        ALTER TABLE events ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE imports ADD COLUMN no_user TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE imports ADD COLUMN skipped_files INTEGER NOT NULL DEFAULT 0;
        """,
    )


def iso_sql(column: str) -> str:
    """SQL for a millisecond column as ISO-8601 UTC with ``Z``, milliseconds only when not zero (as the
    tool prints times); NULL stays NULL."""
    return (f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} % 1000 = 0 "
            f"THEN strftime('%Y-%m-%dT%H:%M:%SZ', {column} / 1000, 'unixepoch') "
            f"ELSE strftime('%Y-%m-%dT%H:%M:%fZ', {column} / 1000.0, 'unixepoch') END")


#: Views for people who open the database with sqlite-utils or Datasette: times as ISO text, runs by name.
#: Only complete runs show (a running one is half-written).
READABLE_VIEWS: dict[str, str] = {
    "runs_readable": (
        "SELECT id, name, created_at, config_path, config_hash, engine_version, "
        f"{iso_sql('until')} AS until, events, users, seconds, options, counts "
        "FROM runs WHERE status = 'complete'"
    ),
    "decisions_readable": (
        "SELECT r.name AS run, d.run_id, d.seq, d.user_id, d.campaign, d.status, d.reason, d.detail, d.trigger, "
        f"d.source_campaign, d.trigger_event_id, {iso_sql('d.triggered_at')} AS triggered_at, "
        f"{iso_sql('d.due_at')} AS due_at, {iso_sql('d.sent_at')} AS sent_at, d.variant, d.channels "
        "FROM decisions d JOIN runs r ON r.id = d.run_id WHERE r.status = 'complete'"
    ),
    "conversions_readable": (
        "SELECT r.name AS run, c.run_id, c.user_id, c.campaign, c.conversion_index, "
        f"{iso_sql('c.time')} AS time, c.event_id, c.decision_seq, c.control "
        "FROM conversions c JOIN runs r ON r.id = c.run_id WHERE r.status = 'complete'"
    ),
}


def _v5(conn: sqlite3.Connection) -> None:
    """Runs record how long they took (``seconds``); readable views (``READABLE_VIEWS``) for people who open
    the database with sqlite-utils or Datasette, created by sqlite-utils (a one-off, never the hot path)."""
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    runs = db.table("runs")
    if "seconds" not in runs.columns_dict:
        runs.add_column("seconds", float)
    for name, sql in READABLE_VIEWS.items():
        db.create_view(name, sql, replace=True)


#: Migrations in order; migration i brings a database to version i + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2, _v3, _v4, _v5)

SCHEMA_VERSION = len(MIGRATIONS)
