"""Faults: an import killed at arbitrary moments, a read-only database, a full disk, a database kept busy by
another writer. Each gives one clear line (or the database exactly as it was before), never a traceback and
never a half-written import or run.

The killed import of ``test_import_process.py`` stops at one deterministic point (after its first batch); here
the kill lands wherever the clock says — reading, writing, building indexes or committing.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clikit import Ran, cli, paused_command
from configs import NEWS_AND_FOLLOW_UP

from campaign_connector import store as store_module
from campaign_connector.config import load_config_text
from campaign_connector.errors import StoreError
from campaign_connector.importer import import_event_files, import_user_files
from campaign_connector.replay import run_replay
from campaign_connector.store import Store
from campaign_connector.store.events import log_fingerprint
from campaign_connector.store.runs import find_run, list_runs

#: Slow: kills and interrupts real processes.
pytestmark = pytest.mark.slow


def one_error_line(ran: Ran) -> str:
    """The single ``Error:`` line of a failed command (config warnings aside)."""
    code, stderr = ran.returncode, ran.stderr
    assert code == 1, stderr
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if ": warning: " not in line]
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    return lines[0]


def clicks_csv(path: Path, rows: int, prefix: str = "e") -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("user_id,time,event,campaign,id\n")
        out.writelines(f"u{i % 997:04d},2026-01-{5 + i % 20:02d}T{i % 24:02d}:{i % 60:02d}:00Z,click_email,news,"
                       f"{prefix}{i}\n" for i in range(rows))
    return path


def state(db: Path) -> tuple[Any, ...]:
    """What an import may change, and whether the file is sound."""
    with Store.open(db) as store:
        conn = store.conn
        return (
            conn.execute("SELECT count(*), coalesce(max(seq), 0) FROM events").fetchone(),
            conn.execute("SELECT count(*), coalesce(sum(stored), 0) FROM imports").fetchone(),
            conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'events' ORDER BY name").fetchall(),
            log_fingerprint(store),
            conn.execute("PRAGMA integrity_check").fetchall(),
        )


# -- an import killed at arbitrary moments ------------------------------------------------------------------


#: Rows of the killed import: under a second of work here.
ROWS = 40_000


def import_process(db: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "campaign_connector", "import", "--db", str(db), str(log)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("prior", [False, True], ids=["into-empty-log", "into-existing-log"])
def test_an_import_killed_at_any_moment_leaves_the_log_as_before_or_complete(tmp_path: Path, prior: bool) -> None:
    """Kills at 35%, 60% and 85% of the time a whole import takes on this machine (measured first on a copy):
    starting up, reading, writing, building indexes, committing."""
    db = tmp_path / "t.db"
    with Store.open(db) as store:
        if prior:
            import_event_files(store, [clicks_csv(tmp_path / "old.csv", 500, "old")])
    before = state(db)
    big = clicks_csv(tmp_path / "big.csv", ROWS)
    shutil.copy(db, tmp_path / "measure.db")
    started = time.monotonic()
    assert import_process(tmp_path / "measure.db", big).wait(timeout=60) == 0
    whole = time.monotonic() - started
    complete = state(tmp_path / "measure.db")
    outcomes = []
    for fraction in (0.35, 0.6, 0.85):
        proc = import_process(db, big)
        time.sleep(whole * fraction)
        running = proc.poll() is None
        if running:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        now = state(db)
        assert now[-1] == [("ok",)]
        if now == before:
            outcomes.append("as before")
            continue
        assert now == complete
        outcomes.append("committed, then killed" if running else "complete")
        break
    assert outcomes[0] == "as before"  # a kill at a third of the way is inside the import
    with Store.open(db) as store:
        assert import_event_files(store, [big]).stored == (0 if outcomes[-1] != "as before" else ROWS)
    assert state(db)[0][0] == before[0][0] + ROWS


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, -signal.SIGTERM)],
                         ids=["ctrl-c", "sigterm"])
def test_an_import_interrupted_mid_transaction_leaves_the_log_as_before(tmp_path: Path, sig: signal.Signals,
                                                                        code: int) -> None:
    """Ctrl-C exits 130 (Typer turns KeyboardInterrupt into that exit code, silently); SIGTERM ends the process
    outright, like a kill. Either way the open transaction is never committed."""
    db = tmp_path / "t.db"
    with Store.open(db) as store:
        import_event_files(store, [clicks_csv(tmp_path / "old.csv", 100, "old")])
    before = state(db)
    log = clicks_csv(tmp_path / "e.csv", 3_000)
    proc = subprocess.Popen([*paused_command(120), "import", "--db", str(db), str(log)], stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    assert proc.stderr is not None and proc.stderr.readline() == "test hook: paused\n"
    proc.send_signal(sig)
    try:
        ended = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # say where it is stuck: faulthandler prints every thread's stack on SIGABRT
        proc.send_signal(signal.SIGABRT)
        pytest.fail(f"still running 30 s after {sig.name}:\n{proc.communicate(timeout=30)[1]}")
    assert ended == code
    assert "Traceback" not in proc.stderr.read()
    assert state(db) == before


# -- a read-only database -----------------------------------------------------------------------------------


@pytest.fixture
def read_only_db(tmp_path: Path) -> Iterator[Path]:
    """A database file with three events and a run that this process cannot write: chmod 444 normally; as root
    (whom permissions do not stop) the immutable attribute, or a skip when that is not allowed."""
    db = tmp_path / "ro.db"
    with Store.open(db) as store:
        import_event_files(store, [clicks_csv(tmp_path / "e.csv", 3)])
        run_replay(store, load_config_text(NEWS_AND_FOLLOW_UP, "c.yaml"), name="before")
    (tmp_path / "c.yaml").write_text(NEWS_AND_FOLLOW_UP, encoding="utf-8")
    if os.geteuid() != 0:
        db.chmod(0o444)
        yield db
        db.chmod(0o644)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("running as root without chattr +i: no way to make a file read-only to this process")
    try:
        yield db
    finally:
        subprocess.run([chattr, "-i", str(db)], check=True)


@pytest.mark.parametrize("args", [
    ["import", "{dir}/e.csv"],
    ["import-users", "{dir}/e.csv"],
    ["replay", "{dir}/c.yaml", "--name", "after"],
    ["runs", "--delete", "before"],
], ids=lambda args: args[0] + ("-delete" if "--delete" in args else ""))
def test_writing_to_a_read_only_database_is_one_line(read_only_db: Path, args: list[str],
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    before = state(read_only_db)
    args = [arg.replace("{dir}", str(read_only_db.parent)) for arg in args]
    assert one_error_line(cli([*args, "--db", str(read_only_db)], monkeypatch, capsys)) == (
        f"Error: {read_only_db}: database is read-only (check the file's and folder's permissions)")
    assert state(read_only_db) == before


@pytest.mark.parametrize("args", [["runs"], ["report", "--format", "csv"], ["sends", "--format", "csv"], ["doctor"],
                                  ["explain", "u0001"]], ids=lambda args: args[0])
def test_reading_a_read_only_database_works(read_only_db: Path, args: list[str], monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = cli([*args, "--db", str(read_only_db)], monkeypatch, capsys)
    assert code == 0, stderr


# -- a full disk --------------------------------------------------------------------------------------------


def fill_up(store: Store, pages: int = 4) -> None:
    """Let the database grow by ``pages`` pages only: SQLite then says "database or disk is full", as on a
    full disk (a real tiny filesystem needs root mounts)."""
    count = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {count + pages}")


def test_a_full_disk_during_the_import_command_is_one_line_and_stores_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "t.db"
    log = clicks_csv(tmp_path / "e.csv", 5_000)
    Store.open(db).close()
    before = state(db)
    opened = Store.open.__func__  # type: ignore[attr-defined]

    def open_nearly_full(cls: type[Store], path: Path | str, *, create: bool = True) -> Store:
        store = opened(cls, path, create=create)
        fill_up(store)
        return store

    monkeypatch.setattr(Store, "open", classmethod(open_nearly_full))
    assert one_error_line(cli(["import", "--db", str(db), str(log)], monkeypatch, capsys)) == (
        f"Error: {db}: cannot write the database (database or disk is full); free disk space and run again")
    monkeypatch.undo()
    assert state(db) == before


@pytest.mark.parametrize("kind", ["events", "users"])
def test_a_full_disk_leaves_the_store_unchanged_and_usable(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "t.db"
    log = clicks_csv(tmp_path / "e.csv", 5_000)
    with Store.open(db) as store:
        before = state(db)
        fill_up(store)
        with pytest.raises(StoreError, match="database or disk is full"):
            if kind == "events":
                import_event_files(store, [log])
            else:
                import_user_files(store, log)
        assert not store.conn.in_transaction
        assert state(db) == before
        store.conn.execute("PRAGMA max_page_count = 1073741823")
        import_event_files(store, [log])
    assert state(db)[0][0] == 5_000


def test_a_full_disk_during_a_replay_leaves_the_previous_run_latest(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    config = load_config_text(NEWS_AND_FOLLOW_UP, "c.yaml")
    with Store.open(db) as store:
        import_event_files(store, [clicks_csv(tmp_path / "e.csv", 3_000)])
        run_replay(store, config, name="before")
        fill_up(store)
        with pytest.raises(StoreError, match="database or disk is full"):
            run_replay(store, config, name="full")
        assert [run.name for run in list_runs(store)] == ["before"]
        assert store.conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        store.conn.execute("PRAGMA max_page_count = 1073741823")
        assert run_replay(store, config, name="full").name == find_run(store, None).name == "full"


# -- another process holds the database -------------------------------------------------------------------


@pytest.mark.parametrize(("lock", "args"), [
    ("IMMEDIATE", ["import", "{dir}/new.csv"]),
    ("IMMEDIATE", ["replay", "{dir}/c.yaml", "--name", "blocked"]),
    ("IMMEDIATE", ["runs", "--delete", "before"]),
], ids=lambda v: v if isinstance(v, str) else v[0])
def test_a_database_another_writer_holds_past_the_busy_timeout_is_one_line(
        tmp_path: Path, lock: str, args: list[str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Writers wait ``BUSY_TIMEOUT_SECONDS`` (30 s; 0.2 s here) for each other, then say the database is busy
    and change nothing."""
    db = tmp_path / "t.db"
    (tmp_path / "c.yaml").write_text(NEWS_AND_FOLLOW_UP, encoding="utf-8")
    clicks_csv(tmp_path / "new.csv", 10, "new")
    with Store.open(db) as store:
        import_event_files(store, [clicks_csv(tmp_path / "e.csv", 10)])
        run_replay(store, load_config_text(NEWS_AND_FOLLOW_UP, "c.yaml"), name="before")
    before = state(db)
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 0.2)
    holder = sqlite3.connect(db, isolation_level=None)  # another writer: a connection of its own
    holder.execute(f"BEGIN {lock}")
    try:
        outcome = cli([*(arg.replace("{dir}", str(tmp_path)) for arg in args), "--db", str(db)], monkeypatch, capsys)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert one_error_line(outcome) == (f"Error: {db}: database is busy (another import or replay is writing; try "
                                       "again when it ends)")
    assert state(db) == before


@pytest.mark.parametrize("args", [["report"], ["sends", "--format", "csv"]], ids=lambda v: v[0])
def test_readers_are_not_blocked_by_a_writer_in_the_middle_of_a_transaction(
        tmp_path: Path, args: list[str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The database is in WAL mode: a reader sees the last committed state while another process writes."""
    db = tmp_path / "t.db"
    with Store.open(db) as store:
        import_event_files(store, [clicks_csv(tmp_path / "e.csv", 10)])
        run_replay(store, load_config_text(NEWS_AND_FOLLOW_UP, "c.yaml"), name="before")
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 0.2)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("DELETE FROM decisions")
    try:
        code, _, stderr = cli([*args, "--db", str(db)], monkeypatch, capsys)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 0, stderr


# -- damaged pages inside a database ----------------------------------------------------------------------


@pytest.mark.parametrize("args", [["report"], ["sends", "--format", "csv"]], ids=lambda args: args[0])
def test_damaged_pages_found_while_reading_are_one_line(tmp_path: Path, args: list[str],
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "t.db"
    with Store.open(db) as store:
        import_event_files(store, [clicks_csv(tmp_path / "e.csv", 3_000)])
        run_replay(store, load_config_text(NEWS_AND_FOLLOW_UP, "c.yaml"), name="before")
    data = bytearray(db.read_bytes())
    pages = len(data) // 4096
    data[pages * 3 // 4 * 4096:] = b"Z" * (len(data) - pages * 3 // 4 * 4096)  # the last quarter: the run's rows
    db.write_bytes(bytes(data))
    assert one_error_line(cli([*args, "--db", str(db)], monkeypatch, capsys)) == (
        f"Error: {db}: not a campaign-connector database or corrupted (database disk image is malformed); restore "
        "it or point --db at another file")
