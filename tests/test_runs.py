"""Stored runs: running runs stay invisible, stale ones are cleared with their rows, live ones are left alone;
the cross-user changes and scratch merges of the replay driver; the `runs` command."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaign_connector.cli import app
from campaign_connector.errors import StoreError
from campaign_connector.model import Conversion, Decision
from campaign_connector.store import Store
from campaign_connector.store.runs import (
    apply_send_changes,
    complete_run,
    conversion_row,
    create_run,
    decision_row,
    discard_run,
    find_run,
    insert_conversions,
    insert_decisions,
    iter_sends,
    list_runs,
    merge_scratch,
    open_scratch,
)

runner = CliRunner()


def new_run(store: Store, name: str | None = None) -> int:
    return create_run(store, name=name, created_at="2026-01-01T00:00:00Z", config_path="c.yaml", config_text="x",
                      config_hash="ab" * 32, log_fingerprint="fp", engine_version="1", options={}, until=None).id


def decision(user: str, status: str = "sent", sent_at: int | None = 1000) -> Decision:
    return Decision(user, "f", status, None, None, "click_email", "src", f"e-{user}", 0, 1000, sent_at, None,
                    ("push",))


def fill(store: Store, run_id: int, users: list[str]) -> None:
    with store.atomic():
        insert_decisions(store, [decision_row(run_id, seq, decision(u)) for seq, u in enumerate(users)])
        insert_conversions(store, [conversion_row(run_id, seq, Conversion(u, "f", 0, 2000, f"c-{u}", seq, False))
                                   for seq, u in enumerate(users)])


def finish(store: Store, run_id: int, decisions: int = 0, sent: int = 0) -> None:
    with store.atomic():
        complete_run(store, run_id, counts={"totals": {"triggered": decisions, "sent": sent}}, events=7, users=3)


def rows(store: Store, table: str, run_id: int) -> int:
    return store.conn.execute(f"SELECT count(*) FROM {table} WHERE run_id = ?", (run_id,)).fetchone()[0]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_running_run_is_neither_found_nor_listed(store: Store) -> None:
    done = new_run(store, "done")
    finish(store, done)
    running = new_run(store, "busy")
    fill(store, running, ["a", "b"])
    assert find_run(store, None).name == "done"
    assert [r.name for r in list_runs(store)] == ["done"]
    with pytest.raises(StoreError, match="no run named 'busy'"):
        find_run(store, "busy")


def test_create_run_deletes_the_rows_of_a_run_whose_writer_is_gone(store: Store) -> None:
    stale = new_run(store, "killed")
    fill(store, stale, ["a", "b"])
    store.conn.execute("UPDATE runs SET owner = ? WHERE id = ?", (f"{socket.gethostname()}:{dead_pid()}", stale))
    new_run(store, "next")
    assert (rows(store, "decisions", stale), rows(store, "conversions", stale)) == (0, 0)
    assert [r[0] for r in store.conn.execute("SELECT name FROM runs")] == ["next"]


def test_create_run_leaves_a_live_concurrent_run_alone(store: Store) -> None:
    live = new_run(store, "other")  # owned by this (living) process
    fill(store, live, ["a"])
    new_run(store, "mine")
    assert rows(store, "decisions", live) == 1
    with pytest.raises(StoreError, match="being written by another replay"):
        new_run(store, "other")


def test_a_taken_name_is_a_clean_error(store: Store) -> None:
    finish(store, new_run(store, "baseline"))
    with pytest.raises(StoreError, match="a run named 'baseline' exists already .*runs --delete"):
        new_run(store, "baseline")


def test_unnamed_runs_are_numbered_past_taken_names(store: Store) -> None:
    finish(store, new_run(store))
    finish(store, new_run(store, "run-3"))
    new_run(store)
    assert [r[0] for r in store.conn.execute("SELECT name FROM runs ORDER BY id")] == ["run-1", "run-3", "run-4"]


def test_discard_run_deletes_a_running_run_and_its_rows_only(store: Store) -> None:
    done = new_run(store, "done")
    fill(store, done, ["a"])
    finish(store, done)
    running = new_run(store)
    fill(store, running, ["a", "b"])
    discard_run(store, running)
    discard_run(store, done)
    assert (rows(store, "decisions", running), rows(store, "decisions", done)) == (0, 1)


def test_send_changes_update_decisions_and_drop_conversions_of_suppressed_sends(store: Store) -> None:
    run_id = new_run(store)
    fill(store, run_id, ["b", "a", "c"])
    with store.atomic():
        assert [s[:3] for s in iter_sends(store, run_id, "f")] == [(1, "a", 1000), (0, "b", 1000), (2, "c", 1000)]
        changed = apply_send_changes(store, run_id, ((seq, "suppressed", "max_recipients", None, "max 1")
                                                     for seq, *_ in iter_sends(store, run_id, "f") if seq != 1))
        apply_send_changes(store, run_id, [(1, "sent", None, 60_000, "moved")])
    assert changed == 2
    got = store.conn.execute("SELECT seq, status, reason, sent_at, detail FROM decisions ORDER BY seq").fetchall()
    assert got == [(0, "suppressed", "max_recipients", None, "max 1"), (1, "sent", None, 60_000, "moved"),
                   (2, "suppressed", "max_recipients", None, "max 1")]
    assert [r[0] for r in store.conn.execute("SELECT decision_seq FROM conversions")] == [1]


def test_merge_scratch_shifts_seq_by_the_ranges_before(tmp_path: Path, store: Store) -> None:
    run_id = new_run(store)
    scratch = open_scratch(tmp_path / "part.db")
    fill(scratch, 0, ["x", "y"])
    scratch.close()
    merge_scratch(store, tmp_path / "part.db", run_id, 5)
    assert store.conn.execute("SELECT run_id, seq, user_id FROM decisions").fetchall() == [(run_id, 5, "x"),
                                                                                           (run_id, 6, "y")]
    assert store.conn.execute("SELECT decision_seq FROM conversions ORDER BY 1").fetchall() == [(5,), (6,)]


# --------------------------------------------------------------------------------------------------
# the `runs` command


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "c.db"
    with Store.open(path) as s:
        first = new_run(s, "baseline")
        fill(s, first, ["a", "b"])
        finish(s, first, decisions=2, sent=2)
        finish(s, new_run(s), decisions=0)
        new_run(s, "half-written")
    return path


def test_runs_lists_complete_runs_as_a_table(db: Path) -> None:
    result = runner.invoke(app, ["runs", "--db", str(db)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[2] == ["name", "id", "config", "sha256", "until", "events", "users", "decisions", "sent", "took"]
    assert lines[4][:9] == ["baseline", "1", "c.yaml", "abababab", "-", "7", "3", "2", "2"]  # no horizon: no events
    assert lines[5][0] == "run-2"
    assert "half-written" not in result.stdout


def test_runs_delete_says_what_it_deleted(db: Path) -> None:
    result = runner.invoke(app, ["runs", "--db", str(db), "--delete", "baseline"])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "Deleted run baseline (id 1) and its 2 decisions." in result.stderr
    with Store.open(db) as s:
        assert [r.name for r in list_runs(s)] == ["run-2"]
        assert rows(s, "decisions", 1) == 0


@pytest.mark.slow
def test_runs_delete_of_an_unknown_run_is_an_error(db: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "campaign_connector", "runs", "--db", str(db), "--delete", "nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: ")
    assert "no run named 'nope' (known: run-2, baseline" in proc.stderr


def test_runs_on_an_empty_database_says_so(tmp_path: Path) -> None:
    Store.open(tmp_path / "e.db").close()
    result = runner.invoke(app, ["runs", "--db", str(tmp_path / "e.db")])
    assert (result.exit_code, result.stdout) == (0, "")
    assert "No runs yet" in result.stderr


def test_decision_values_that_look_like_the_empty_sentinels_are_stored_as_given() -> None:
    """decision_row binds missing values as cheap sentinels (0 / '') that the insert turns into NULL: a real
    "0" variant or detail and a due time at the epoch itself must survive."""
    from campaign_connector.store.results import iter_decisions
    from campaign_connector.store.runs import complete_run, create_run, decision_row, insert_decisions

    with Store.open(":memory:") as store:
        run = create_run(store, name="r", created_at="x", config_path="c", config_text="", config_hash="h",
                         log_fingerprint="f", engine_version="1", options={}, until=None)
        kept = Decision("u", "c", "sent", None, "0", "t", "0", "e", 5, 0, 0, "0", ("push",))
        empty = Decision("v", "c", "suppressed", "frequency_cap", None, "t", None, "e2", 5, None, None, None, ("push",))
        with store.atomic():
            insert_decisions(store, [decision_row(run.id, 0, kept), decision_row(run.id, 1, empty)])
            complete_run(store, run.id, counts={}, events=0, users=0)
        rows = [tuple(d)[1:] for d in iter_decisions(store, run.id)]
    assert rows == [tuple(kept), tuple(empty)]
