"""Runs and their decisions: create, fill, complete, find, list, delete.

A run is written as ``status = 'running'`` and flipped to ``'complete'`` in the transaction that writes its
last decisions, so a replay killed midway never leaves a half-written run behind that anything reads:
``find_run`` and ``list_runs`` see complete runs only. A running run records its writer (``host:pid``);
``create_run`` deletes the running runs whose writer is gone — with their decisions and conversions — and
leaves a live concurrent replay alone.

The replay driver's other queries live here too: the sends the cross-user rules read, the changes they make,
the per-campaign counts, and the scratch databases that ``--workers`` processes write into before the parent
copies their rows into the run in user order.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from campaign_connector.errors import StoreError
from campaign_connector.model import Conversion, Decision, RunInfo
from campaign_connector.names import known_names
from campaign_connector.store import PAGE_SIZE, Store, describe_sqlite_error

_COLUMNS = (
    "id, name, status, created_at, config_path, config_text, config_hash, log_fingerprint, engine_version, "
    "options, counts, until, events, users, seconds"
)

def _provisional_name(name: str) -> str:
    """The name a run replacing ``name`` has while it is written: not printable, so no user name clashes."""
    return f"\x00replacing\x00{current_owner()}\x00{name}"


def _row_to_run(row: tuple[Any, ...]) -> RunInfo:
    values = list(row)
    values[9] = json.loads(values[9])
    values[10] = json.loads(values[10])
    return RunInfo(*values)


def current_owner() -> str:
    """This process as a run's writer: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _writer_is_gone(owner: str | None) -> bool:
    """Whether a running run's writer has ended. Unknown writers (another host, no way to ask) count as alive."""
    if not owner:
        return True
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or os.name != "posix":
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _delete_runs(conn: sqlite3.Connection, run_ids: list[int]) -> None:
    for run_id in run_ids:
        conn.execute("DELETE FROM conversions WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM decisions WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))


def _clear_stale_runs(conn: sqlite3.Connection) -> None:
    running = conn.execute("SELECT id, owner FROM runs WHERE status = 'running' ORDER BY id").fetchall()
    _delete_runs(conn, [run_id for run_id, owner in running if _writer_is_gone(owner)])


#: The longest run name, in characters.
MAX_RUN_NAME = 200


def run_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a run given on the command line, or None when it can: a name is printable, not
    blank, at most ``MAX_RUN_NAME`` characters, and not only digits (``find_run`` reads digits as a run id)."""
    if not name.strip() or name.isdigit() or not name.isprintable() or len(name) > MAX_RUN_NAME:
        return (f"{name!r} cannot name a run (use up to {MAX_RUN_NAME} printable characters, not only digits, "
                "which --run reads as a run id)")
    return None


def next_run_name(conn: sqlite3.Connection) -> str:
    """``run-N``: N one more than the stored runs, raised past any name already taken."""
    number = conn.execute("SELECT count(*) FROM runs").fetchone()[0] + 1
    while conn.execute("SELECT 1 FROM runs WHERE name = ?", (f"run-{number}",)).fetchone():
        number += 1
    return f"run-{number}"


def create_run(
    store: Store,
    *,
    name: str | None,
    created_at: str,
    config_path: str,
    config_text: str,
    config_hash: str,
    log_fingerprint: str,
    engine_version: str,
    options: dict[str, Any],
    until: int | None,
    replace: bool = False,
) -> RunInfo:
    """Insert a ``running`` run owned by this process (named ``run-N`` when ``name`` is None), after deleting the
    running runs of writers that are gone. A taken name is a ``StoreError`` unless ``replace``: then the new run
    is written under a provisional name, and ``complete_run`` swaps it for the old one in one transaction (an
    interrupted replay leaves the old run as it was). Any name is stored as given: the CLI refuses the names
    ``run_name_problem`` names, the Python API leaves that to its caller."""
    with store.atomic() as conn:
        _clear_stale_runs(conn)
        if name is None:
            name = next_run_name(conn)
        else:
            taken = conn.execute("SELECT status FROM runs WHERE name = ?", (name,)).fetchone()
            if taken and taken[0] == "running":
                raise StoreError(f"{store.path}: a run named {name!r} is being written by another replay "
                                 "(wait for it, or pick another name)")
            if taken and not replace:
                raise StoreError(f"{store.path}: a run named {name!r} exists already (pick another name, replace "
                                 "it (`replay --replace`), or delete it (`campaign-connector runs --delete NAME`))")
            if taken:
                name = _provisional_name(name)
        cursor = conn.execute(
            "INSERT INTO runs (name, status, created_at, config_path, config_text, config_hash, log_fingerprint, "
            "engine_version, options, until, owner) VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, created_at, config_path, config_text, config_hash, log_fingerprint, engine_version,
             json.dumps(options, sort_keys=True), until, current_owner()),
        )
        run_id = cursor.lastrowid
    found = store.conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
    return _row_to_run(found)


def decision_row(run_id: int, seq: int, d: Decision) -> tuple[Any, ...]:
    """A decision as a ``decisions`` row tuple (channels joined with ``;``) for ``insert_decisions``.

    A missing value is 0 in the text columns that may lack one (reason, detail, source_campaign, variant) and
    ``""`` in due_at and sent_at; ``insert_decisions`` stores these NULL. Python's sqlite3 binds None slowly
    (it looks for an adapter each time), and most decisions lack three to five values.
    """
    (user_id, campaign, status, reason, detail, trigger, source, event_id, triggered_at, due_at, sent_at, variant,
     channels) = d
    return (run_id, seq, user_id, campaign, status, 0 if reason is None else reason, 0 if detail is None else detail,
            trigger, 0 if source is None else source, event_id, triggered_at, "" if due_at is None else due_at,
            "" if sent_at is None else sent_at, 0 if variant is None else variant, ";".join(channels))


def insert_decisions(store: Store, rows: Iterable[tuple[Any, ...]]) -> None:
    """Append decision rows (from ``decision_row``, or with None for missing values); call inside
    ``store.atomic()``."""
    store.conn.executemany(
        "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, nullif(?, 0), nullif(?, 0), ?, nullif(?, 0), ?, ?, "
        "nullif(?, ''), nullif(?, ''), nullif(?, 0), ?)",
        rows,
    )


def conversion_row(run_id: int, decision_seq: int, c: Conversion) -> tuple[Any, ...]:
    """A conversion as a ``conversions`` row tuple."""
    return (run_id, c.user_id, c.campaign, c.conversion_index, c.time, c.event_id, decision_seq, int(c.control))


def insert_conversions(store: Store, rows: Iterable[tuple[Any, ...]]) -> None:
    """Append conversion rows (from ``conversion_row``); call inside ``store.atomic()``."""
    store.conn.executemany("INSERT INTO conversions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def complete_run(store: Store, run_id: int, *, counts: dict[str, Any], events: int, users: int,
                 seconds: float | None = None) -> None:
    """Mark a run complete with its counts and duration; call inside the transaction that writes its last rows.
    A run written under a provisional name (``create_run(replace=True)``) takes its name now, and the run it
    replaces is deleted with its decisions."""
    conn = store.conn
    (name,) = conn.execute("SELECT name FROM runs WHERE id = ?", (run_id,)).fetchone()
    if name.startswith(_provisional_name("")):
        name = name.rsplit("\x00", 1)[1]
        old = [row[0] for row in conn.execute("SELECT id FROM runs WHERE name = ? AND id != ?", (name, run_id))]
        _delete_runs(conn, old)
    conn.execute(
        "UPDATE runs SET status = 'complete', name = ?, counts = ?, events = ?, users = ?, seconds = ?, owner = NULL "
        "WHERE id = ?",
        (name, json.dumps(counts, sort_keys=True), events, users, seconds, run_id),
    )


def record_run_source(store: Store, run_id: int, *, log_fingerprint: str, until: int | None,
                      options: dict[str, Any]) -> None:
    """Record what a running run read (known only once its read snapshot is taken); call inside a transaction."""
    store.conn.execute(
        "UPDATE runs SET log_fingerprint = ?, until = ?, options = ? WHERE id = ?",
        (log_fingerprint, until, json.dumps(options, sort_keys=True), run_id),
    )


def discard_run(store: Store, run_id: int) -> None:
    """Delete a running run and every row written for it (a replay that failed or was interrupted)."""
    try:
        with store.atomic() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ? AND status = 'running'", (run_id,)).fetchone():
                _delete_runs(conn, [run_id])
    except sqlite3.Error as err:
        raise describe_sqlite_error(store.path, err) from None


def get_run(store: Store, run_id: int) -> RunInfo:
    """A run by id, complete or running (the replay driver's own handle)."""
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise StoreError(f"{store.path}: run {run_id} is gone (was it deleted while the replay ran?)")
    return _row_to_run(row)


# --------------------------------------------------------------------------------------------------
# The cross-user pass and the counts


def iter_sends(store: Store, run_id: int, campaign: str) -> Iterator[tuple[int, str, int, str | None]]:
    """A campaign's ``sent`` decisions as (seq, user_id, sent_at, detail), by sent_at, user_id (code point), seq."""
    yield from store.conn.execute(
        "SELECT seq, user_id, sent_at, detail FROM decisions WHERE run_id = ? AND campaign = ? AND status = 'sent' "
        "ORDER BY sent_at, user_id, seq",
        (run_id, campaign),
    )


def apply_send_changes(store: Store, run_id: int, changes: Iterable[tuple[int, str, str | None, int | None, str | None]]
                       ) -> int:
    """Apply one cross-user rule's changes — (seq, status, reason, sent_at, detail) — to a run's decisions, and
    drop the conversions of the sends that became suppressed. Call inside ``store.atomic()``.

    ``changes`` may be a generator that is still reading the decisions it changes (via ``iter_sends``), so they
    are staged in a temporary table and applied once it has been read through. Returns how many changed.
    """
    conn = store.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS send_changes (seq INTEGER PRIMARY KEY, status TEXT NOT NULL, "
                 "reason TEXT, sent_at INTEGER, detail TEXT)")
    conn.execute("DELETE FROM temp.send_changes")
    conn.executemany("INSERT INTO temp.send_changes VALUES (?, ?, ?, ?, ?)", changes)
    changed = conn.execute(
        "UPDATE decisions SET (status, reason, sent_at, detail) = (SELECT status, reason, sent_at, detail "
        "FROM temp.send_changes c WHERE c.seq = decisions.seq) "
        "WHERE run_id = ? AND seq IN (SELECT seq FROM temp.send_changes)",
        (run_id,),
    ).rowcount
    conn.execute(
        "DELETE FROM conversions WHERE run_id = ? AND decision_seq IN "
        "(SELECT seq FROM temp.send_changes WHERE status != 'sent')",
        (run_id,),
    )
    conn.execute("DELETE FROM temp.send_changes")
    return changed


def conversion_counts(store: Store, run_id: int, campaign: str) -> list[tuple[str, int, int]]:
    """(campaign, control 0/1, count) of a run's conversions of one campaign."""
    return store.conn.execute(
        "SELECT campaign, control, count(*) FROM conversions WHERE run_id = ? AND campaign = ? "
        "GROUP BY campaign, control ORDER BY campaign, control",
        (run_id, campaign),
    ).fetchall()


# --------------------------------------------------------------------------------------------------
# Scratch databases: where --workers processes write their users' rows


def open_scratch(path: Path) -> Store:
    """A throw-away database holding ``decisions`` and ``conversions`` (same columns, no constraints) for one
    worker; seq counts from 0 within the worker's user range. Written without a journal: it is discarded on
    any failure."""
    try:
        conn = sqlite3.connect(str(path), isolation_level=None)
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("CREATE TABLE decisions (run_id, seq, user_id, campaign, status, reason, detail, trigger, "
                     "source_campaign, trigger_event_id, triggered_at, due_at, sent_at, variant, channels)")
        conn.execute("CREATE TABLE conversions (run_id, user_id, campaign, conversion_index, time, event_id, "
                     "decision_seq, control)")
    except sqlite3.Error as err:
        raise describe_sqlite_error(path, err) from None
    return Store(conn, str(path))


def merge_scratch(store: Store, path: Path, run_id: int, seq_base: int) -> None:
    """Copy a worker's scratch rows into the run, shifting their seq (and conversions' decision_seq) by
    ``seq_base``, in one transaction. Rows are copied in rowid order: a worker writes its decisions in seq
    order, and reading them so spares a sort."""
    conn = store.conn
    try:
        conn.execute("ATTACH DATABASE ? AS scratch", (str(path),))
    except sqlite3.Error as err:
        raise describe_sqlite_error(path, err) from None
    try:
        with store.atomic():
            conn.execute(
                "INSERT INTO decisions SELECT ?, seq + ?, user_id, campaign, status, reason, detail, trigger, "
                "source_campaign, trigger_event_id, triggered_at, due_at, sent_at, variant, channels "
                "FROM scratch.decisions ORDER BY rowid",
                (run_id, seq_base),
            )
            conn.execute(
                "INSERT INTO conversions SELECT ?, user_id, campaign, conversion_index, time, event_id, "
                "decision_seq + ?, control FROM scratch.conversions ORDER BY rowid",
                (run_id, seq_base),
            )
    finally:
        conn.execute("DETACH DATABASE scratch")


def find_run(store: Store, ref: str | None) -> RunInfo:
    """A complete run by name, else by id; ``None`` = the latest. ``StoreError`` naming the choices if absent."""
    conn = store.conn
    if ref is None:
        row = conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE status = 'complete' ORDER BY id DESC LIMIT 1"
                           ).fetchone()
        if row is None:
            raise StoreError(f"{store.path}: no runs yet (run `campaign-connector replay CONFIG` first)")
        return _row_to_run(row)
    row = conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE status = 'complete' AND name = ?", (ref,)).fetchone()
    if row is None and ref.isascii() and ref.isdigit() and int(ref) < 2**63:  # a rowid SQLite can hold
        row = conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE status = 'complete' AND id = ?", (int(ref),)
                           ).fetchone()
    if row is None:
        names = [r[0] for r in conn.execute("SELECT name FROM runs WHERE status = 'complete' ORDER BY id DESC")]
        if not names:
            raise StoreError(f"{store.path}: no run named {ref!r} (no runs are stored yet; see "
                             "`campaign-connector runs`)")
        raise StoreError(f"{store.path}: no run named {ref!r}{known_names(ref, names)[:-1]}; newest first, see "
                         "`campaign-connector runs`)")
    return _row_to_run(row)


def list_runs(store: Store) -> list[RunInfo]:
    """Every complete run, oldest first."""
    rows = store.conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE status = 'complete' ORDER BY id")
    return [_row_to_run(row) for row in rows]


def delete_run(store: Store, ref: str) -> RunInfo:
    """Delete a complete run and its decisions; returns what was deleted."""
    run = find_run(store, ref)
    with store.atomic() as conn:
        conn.execute("DELETE FROM conversions WHERE run_id = ?", (run.id,))
        conn.execute("DELETE FROM decisions WHERE run_id = ?", (run.id,))
        conn.execute("DELETE FROM runs WHERE id = ?", (run.id,))
    return run
