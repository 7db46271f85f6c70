"""The import as a process: the CLI's output and exit codes, a killed import, two imports at once."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from clikit import Ran, spawn
from clikit import cli as run_main

from campaign_connector.importer import import_event_files
from campaign_connector.store import Store

#: Slow: imports in processes of their own.
pytestmark = pytest.mark.slow


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Ran]:
    """The console script run in this process (``main()``: errors become ``Error: ...`` and exit 1)."""
    return lambda *args: run_main(list(args), monkeypatch, capsys)


def wait_for_pause(proc: subprocess.Popen[str]) -> None:
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line == "test hook: paused\n", line + proc.stderr.read()


def events_csv(path: Path, users: int, per_user: int, prefix: str = "e") -> Path:
    rows = [f"u{u},2026-01-05T09:{m:02d}:00Z,open_email,welcome,{prefix}{u}-{m}"
            for u in range(users) for m in range(per_user)]
    path.write_text("user_id,time,event,campaign,id\n" + "\n".join(rows) + "\n")
    return path


def snapshot(db: Path) -> tuple:
    with Store.open(db) as store:
        conn = store.conn
        return (
            conn.execute("SELECT count(*), coalesce(max(seq), 0) FROM events").fetchone(),
            conn.execute("SELECT count(*) FROM imports").fetchone(),
            conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
                         "ORDER BY name").fetchall(),
            conn.execute("PRAGMA integrity_check").fetchone(),
        )


def test_cli_import_prints_a_summary_on_stderr_and_nothing_on_stdout(
    cli: Callable[..., Ran], tmp_path: Path
) -> None:
    path = events_csv(tmp_path / "e.csv", 2, 2)
    result = cli("import", "--db", str(tmp_path / "t.db"), str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"Imported 4 events from {path} in ")
    assert lines[0].endswith(": 0 duplicates skipped, 0 rejected.")
    assert lines[1:] == ["  open_email             4"]


def test_cli_bad_rows_exit_1_with_every_row_and_no_traceback(
    cli: Callable[..., Ran], tmp_path: Path
) -> None:
    path = tmp_path / "e.csv"
    path.write_text("user_id,time,event\nu,soon,open_email\nu,2026-01-05T09:00:00Z\n")
    result = cli("import", "--db", str(tmp_path / "t.db"), str(path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: 2 bad rows; nothing was stored (fix them, or use --skip-invalid to store the good rows and write "
        "the bad ones to a rejects file):",
        f"{path}:2: time: expected an ISO-8601 time like 2026-01-05T09:00:00Z or epoch seconds, got 'soon'",
        f"{path}:3: has 2 fields, the header has 3 (quote fields that contain commas)",
    ]


def test_cli_skip_invalid_with_rejects_and_users(
    cli: Callable[..., Ran], tmp_path: Path
) -> None:
    path = tmp_path / "e.csv"
    path.write_text("user_id,time,event\nu,soon,open_email\nu,2026-01-05T09:00:00Z,open_email\n")
    db = str(tmp_path / "t.db")
    result = cli("import", "--db", db, "--skip-invalid", "--rejects", str(tmp_path / "r.jsonl"), str(path))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"Imported 1 event from {path} in ")
    assert ": 0 duplicates skipped, 1 rejected." in result.stderr
    assert f"Bad rows written to {tmp_path / 'r.jsonl'}" in result.stderr
    users = tmp_path / "users.csv"
    users.write_text("user_id,timezone\nu,Europe/Berlin\n")
    result = cli("import-users", "--db", db, str(users))
    assert result.returncode == 0 and result.stderr.startswith(f"Imported 1 user from {users} in ")


@pytest.mark.parametrize(("args", "message"), [
    (["import", "missing.csv"], "Error: missing.csv: no such file"),
    (["import-users", "."], "Error: .: is a folder, not a file (give the file itself)"),
    (["import-users", "missing.csv"], "Error: missing.csv: no such file"),
])
def test_cli_file_errors_are_one_line(
    cli: Callable[..., Ran], tmp_path: Path, args: list[str], message: str
) -> None:
    result = cli(*args, "--db", str(tmp_path / "t.db"))
    assert (result.returncode, result.stderr.strip()) == (1, message)


@pytest.mark.parametrize("prior", [False, True], ids=["into-empty-log", "into-existing-log"])
def test_a_killed_import_leaves_the_database_as_it_was(tmp_path: Path, prior: bool) -> None:
    db = tmp_path / "t.db"
    Store.open(db).close()
    if prior:
        with Store.open(db) as store:
            import_event_files(store, [events_csv(tmp_path / "old.csv", 3, 2, "old")])
    before = snapshot(db)
    big = events_csv(tmp_path / "big.csv", 50, 40)
    proc = spawn("import", "--db", str(db), str(big), pause=120)
    wait_for_pause(proc)  # the rows are written inside the open transaction
    proc.kill()
    proc.wait(timeout=30)
    assert snapshot(db) == before
    with Store.open(db) as store:
        assert import_event_files(store, [big]).stored == 2000


def test_two_imports_at_once_both_complete_and_nothing_is_doubled(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    Store.open(db).close()
    first = events_csv(tmp_path / "a.csv", 20, 10)
    second = tmp_path / "b.csv"  # overlaps the first file by half, plus its own rows
    second.write_text(first.read_text() + "\n".join(f"v{u},2026-01-06T00:00:00Z,open_email,,x{u}"
                                                    for u in range(100)) + "\n")
    a = spawn("import", "--db", str(db), str(first), pause=1.5)
    wait_for_pause(a)  # a holds the write lock now; b must wait for it
    started = time.monotonic()
    b = spawn("import", "--db", str(db), str(second), env={})
    _, a_err = a.communicate(timeout=60)
    _, b_err = b.communicate(timeout=60)
    assert (a.returncode, b.returncode) == (0, 0), a_err + b_err
    assert time.monotonic() - started >= 0.5
    assert snapshot(db)[0][0] == 300
    assert "Imported 100 events" in b_err and "200 duplicates skipped" in b_err
