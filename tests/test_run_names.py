"""The store's run-name rule, and SQLite failures inside a store's block naming its file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from campaign_connector.errors import StoreError
from campaign_connector.store import Store
from campaign_connector.store.runs import next_run_name, run_name_problem


@pytest.mark.parametrize(("name", "refused"), [
    ("baseline", False),
    ("what-if 2", False),
    ("run-7", False),
    ("x" * 200, False),
    ("x" * 201, True),  # longer than MAX_RUN_NAME
    ("42", True),  # --run reads digits as an id
    ("", True),
    ("   ", True),
    ("two\nlines", True),
])
def test_a_run_name_is_printable_not_blank_not_only_digits_and_at_most_200_characters(name: str,
                                                                                     refused: bool) -> None:
    problem = run_name_problem(name)
    assert (problem is not None) == refused
    if problem:
        assert problem.startswith(f"{name!r} cannot name a run (use up to 200 printable characters")


@pytest.mark.parametrize(("taken", "expected"), [
    ([], "run-1"),
    (["baseline"], "run-2"),
    (["run-2"], "run-3"),  # one more than the runs, past a name already taken
    (["run-2", "run-3"], "run-4"),
])
def test_an_unnamed_run_is_run_n_past_the_names_taken(store: Store, taken: list[str], expected: str) -> None:
    for i, name in enumerate(taken):
        store.conn.execute("INSERT INTO runs (name, status, created_at, config_path, config_text, config_hash, "
                           "log_fingerprint, engine_version, options) VALUES (?, 'complete', ?, '', '', '', '', '', "
                           "'{}')", (name, f"2026-01-0{i + 1}"))
    assert next_run_name(store.conn) == expected


def test_an_sqlite_failure_inside_a_stores_block_is_a_store_error_naming_its_file(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    with pytest.raises(StoreError) as raised, Store.open(db):
        raise sqlite3.DatabaseError("database disk image is malformed")
    assert str(raised.value).startswith(f"{db}: not a campaign-connector database or corrupted")
