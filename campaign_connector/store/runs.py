"""Runs and their decisions: create, fill, complete, find, list, delete.

A run is written as ``status = 'running'`` and flipped to ``'complete'`` in the transaction that writes its
last decisions, so a replay killed midway never leaves a half-written run behind that anything reads:
``find_run`` and ``list_runs`` see complete runs only, and ``create_run`` clears stale running rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from campaign_connector.errors import StoreError
from campaign_connector.model import Conversion, Decision
from campaign_connector.store import Store


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A stored run's header."""

    id: int
    """Row id."""
    name: str
    """``--name`` or ``run-N``."""
    status: str
    """``running`` or ``complete``."""
    created_at: str
    """ISO-8601 UTC."""
    config_path: str
    """The config file as given."""
    config_text: str
    """The config file's text at replay time."""
    config_hash: str
    """sha256 of the config text."""
    log_fingerprint: str
    """Fingerprint of the event log the run read."""
    engine_version: str
    """``campaign_connector.ENGINE_VERSION`` at replay time."""
    options: dict[str, Any]
    """Replay options (until, workers ...)."""
    counts: dict[str, Any]
    """Counts by status, reason, campaign."""
    until: int | None
    """Horizon, ms."""
    events: int
    """Events read."""
    users: int
    """Users replayed."""


_COLUMNS = (
    "id, name, status, created_at, config_path, config_text, config_hash, log_fingerprint, engine_version, "
    "options, counts, until, events, users"
)


def _row_to_run(row: tuple[Any, ...]) -> RunInfo:
    values = list(row)
    values[9] = json.loads(values[9])
    values[10] = json.loads(values[10])
    return RunInfo(*values)


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
) -> RunInfo:
    """Insert a ``running`` run (named ``run-N`` when ``name`` is None); a taken name is a ``StoreError``."""
    with store.atomic() as conn:
        conn.execute("DELETE FROM runs WHERE status = 'running'")
        if name is None:
            number = conn.execute("SELECT count(*) FROM runs").fetchone()[0] + 1
            while conn.execute("SELECT 1 FROM runs WHERE name = ?", (f"run-{number}",)).fetchone():
                number += 1
            name = f"run-{number}"
        elif conn.execute("SELECT 1 FROM runs WHERE name = ?", (name,)).fetchone():
            raise StoreError(f"{store.path}: a run named {name!r} exists already "
                             "(pick another --name, or `campaign-connector runs --delete NAME`)")
        cursor = conn.execute(
            "INSERT INTO runs (name, status, created_at, config_path, config_text, config_hash, log_fingerprint, "
            "engine_version, options, until) VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, created_at, config_path, config_text, config_hash, log_fingerprint, engine_version,
             json.dumps(options, sort_keys=True), until),
        )
        run_id = cursor.lastrowid
    found = store.conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
    return _row_to_run(found)


def decision_row(run_id: int, seq: int, d: Decision) -> tuple[Any, ...]:
    """A decision as a ``decisions`` row tuple (channels joined with ``;``)."""
    return (run_id, seq, d.user_id, d.campaign, d.status, d.reason, d.detail, d.trigger, d.source_campaign,
            d.trigger_event_id, d.triggered_at, d.due_at, d.sent_at, d.variant, ";".join(d.channels))


def insert_decisions(store: Store, rows: Iterable[tuple[Any, ...]]) -> None:
    """Append decision rows (from ``decision_row``); call inside ``store.atomic()``."""
    store.conn.executemany("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def conversion_row(run_id: int, decision_seq: int, c: Conversion) -> tuple[Any, ...]:
    """A conversion as a ``conversions`` row tuple."""
    return (run_id, c.user_id, c.campaign, c.index, c.time, c.event_id, decision_seq, int(c.control))


def insert_conversions(store: Store, rows: Iterable[tuple[Any, ...]]) -> None:
    """Append conversion rows (from ``conversion_row``); call inside ``store.atomic()``."""
    store.conn.executemany("INSERT INTO conversions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def complete_run(store: Store, run_id: int, *, counts: dict[str, Any], events: int, users: int) -> None:
    """Mark a run complete with its counts; call inside the transaction that writes its last rows."""
    store.conn.execute(
        "UPDATE runs SET status = 'complete', counts = ?, events = ?, users = ? WHERE id = ?",
        (json.dumps(counts, sort_keys=True), events, users, run_id),
    )


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
    if row is None and ref.isdigit():
        row = conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE status = 'complete' AND id = ?", (int(ref),)
                           ).fetchone()
    if row is None:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM runs WHERE status = 'complete' ORDER BY id DESC LIMIT 5")]
        hint = f"stored runs: {', '.join(names)}" if names else "no runs are stored yet"
        raise StoreError(f"{store.path}: no run named {ref!r} ({hint}; see `campaign-connector runs`)")
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
