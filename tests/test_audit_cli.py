"""Audit of the command-line contract (SPEC §2.2, §3.4, §5): mismatches found by running the CLI the way
acceptance scenarios and CI jobs do — stdout piped, so Rich sees no terminal and defaults to 80 columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import cli
from configs import EXAMPLE


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with two runs of the example campaigns over a generated log: ``early`` (until 2026-01-03)
    and ``full``."""
    folder = tmp_path_factory.mktemp("audit")
    db, log = folder / "a.db", folder / "events.csv"
    with pytest.MonkeyPatch.context() as mp:
        capsys = _Capture()
        for args in (["generate", "--users", "60", "--days", "10", "--seed", "5", "-o", str(log)],
                     ["import", "--db", str(db), str(log)],
                     ["replay", "--db", str(db), "--name", "early", "--until", "2026-01-03", str(EXAMPLE)],
                     ["replay", "--db", str(db), "--name", "full", str(EXAMPLE)]):
            assert cli(args, mp, capsys).returncode == 0  # type: ignore[arg-type]
    return db


class _Capture:
    """A stand-in for pytest's capsys in a module-scoped fixture: the CLI's output is not needed there."""

    def readouterr(self) -> tuple[str, str]:
        return "", ""


@pytest.fixture(autouse=True)
def _piped(monkeypatch: pytest.MonkeyPatch) -> None:
    """No COLUMNS from the environment: the width is what a pipe gets."""
    monkeypatch.delenv("COLUMNS", raising=False)


def _count(n: int) -> str:
    return f"{n:,}"


def test_report_table_piped_keeps_every_count_whole(replayed: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # At 80 columns the sent column of `report | cat` (and of `demo`) read "…" or "1…".
    data = json.loads(cli(["report", "--db", str(replayed), "--run", "full", "--format", "json"],
                          monkeypatch, capsys).stdout)
    table = cli(["report", "--db", str(replayed), "--run", "full"], monkeypatch, capsys)
    assert table.returncode == 0
    assert "…" not in table.stdout
    rows: dict[str, list[str]] = {}
    for line in table.stdout.splitlines():  # the per-campaign table comes first; later tables repeat names
        if line.strip():
            rows.setdefault(line.split()[0], line.split()[1:7])
    for c in [*data["campaigns"], {"campaign": "total", **data["total"]}]:
        expected = [_count(c[k]) for k in ("triggered", "sent", "control", "cancelled", "suppressed", "pending")]
        assert rows[c["campaign"]] == expected, c["campaign"]


def test_explain_piped_keeps_synthetic_event_ids_on_one_line(replayed: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    rows = cli(["sends", "--db", str(replayed), "--run", "full", "--status", "sent", "--format", "jsonl"],
               monkeypatch, capsys).stdout.splitlines()
    sent = json.loads(rows[0])
    ran = cli(["explain", "--db", str(replayed), "--run", "full", sent["user_id"]], monkeypatch, capsys)
    assert ran.returncode == 0
    synthetic = [line for line in ran.stdout.splitlines() if " synthetic " in line]
    assert synthetic
    for line in synthetic:  # "receive_x of C (receive_x:C:USER:TIME)" whole, its closing parenthesis included
        assert line.rstrip().endswith("Z)"), line


def test_diff_table_piped_keeps_campaign_names_and_cells_whole(replayed: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # At 80 columns `diff` cut "abandoned_cart_reminder" to "abandoned_cart_remi…" and folded "pending" in two.
    data = json.loads(cli(["diff", "--db", str(replayed), "early", "full", "--format", "json"],
                          monkeypatch, capsys).stdout)
    assert data["campaigns"] and data["changes"], "the two runs should differ"
    table = cli(["diff", "--db", str(replayed), "early", "full"], monkeypatch, capsys)
    assert table.returncode == 0
    assert "…" not in table.stdout
    firsts = {line.split()[0] for line in table.stdout.splitlines() if line.strip()}
    assert {c["campaign"] for c in data["campaigns"]} <= firsts
    rows = [line.split() for line in table.stdout.splitlines() if line.startswith(" u") and "user_id" not in line]
    shown = [(c["user_id"], c["campaign"], c["change"]) for c in data["changes"][:len(rows)]]
    assert [(r[0], r[1], r[2]) for r in rows] == shown  # one line per change: nothing folded under it


@pytest.mark.parametrize(("content", "fmt", "must", "must_not"), [
    # all-or-nothing users import: the fix it names must exist (import-users has no --skip-invalid)
    ("user_id,timezone\n,UTC\nu2,Mars/Base\n", "auto", "fix them and import the file again", "--skip-invalid"),
    # --format currents on a users file: a users-file message, not the event log's
    ("user_id,timezone\nu1,UTC\n", "currents", "a users file is CSV or JSON lines", "event log"),
])
def test_import_users_errors_name_a_fix_that_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], content: str, fmt: str,
                                                    must: str, must_not: str) -> None:
    users = tmp_path / "users.csv"
    users.write_text(content)
    ran = cli(["import-users", "--db", str(tmp_path / "u.db"), "--format", fmt, str(users)], monkeypatch, capsys)
    assert ran.returncode == 1
    assert ran.stdout == ""
    assert must in ran.stderr
    assert must_not not in ran.stderr
    assert "Traceback" not in ran.stderr
