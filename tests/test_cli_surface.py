"""The CLI surface: help, version, usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from clikit import cli, run
from typer.testing import CliRunner

from campaign_connector import __version__
from campaign_connector.cli import app
from campaign_connector.engine import COMPILED

runner = CliRunner()

#: Every command the app has, read from it: a new command is covered without editing this list.
COMMANDS = sorted(typer.main.get_group(app).commands)


def test_version_prints_the_package_version_and_which_engine_is_installed() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    engine = "engine: compiled with mypyc" if COMPILED else "engine: pure Python"
    assert result.output.splitlines() == [f"campaign-connector {__version__}", engine]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: campaign-connector" in result.output


@pytest.mark.slow
def test_unknown_option_is_a_usage_error_exit_2() -> None:
    proc = run("runs", "--bogus")
    assert proc.returncode == 2
    assert "No such option: --bogus" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- a missing database or file: one line on stderr, exit 1 ----------------------------------------------

#: A campaign file without warnings (so that stderr holds only the error).
QUIET_CONFIG = "version: 1\ncampaigns:\n  - {id: src, channels: [email], status: active, published_at: 2026-01-05}\n"

#: Commands that read the database: a missing one is an error, and they do not create it. (``replay`` creates
#: it on demand — an empty log is a run with no decisions — but not a missing folder: it is listed too.)
READS_DATABASE = [
    ["report"], ["sends"], ["runs"], ["explain", "u000001"], ["diff", "run-1", "run-2"], ["replay", "quiet.yaml"],
]

#: (arguments, the missing path the message must name). ``{db}`` is a fresh database path.
MISSING_FILES = [
    (["validate", "missing.yaml"], "missing.yaml"),
    (["replay", "missing.yaml", "--db", "{db}"], "missing.yaml"),
    (["import", "missing.csv", "--db", "{db}"], "missing.csv"),
    (["import-users", "missing.csv", "--db", "{db}"], "missing.csv"),
    (["test", "missing.yaml"], "missing.yaml"),
    (["generate", "--users", "1", "--days", "1", "-o", "e.csv", "--config", "missing.yaml"], "missing.yaml"),
    (["generate", "--users", "1", "--days", "1", "-o", "no-such-folder/e.csv"], "no-such-folder"),
]


def _main(
    args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """Run the console script's ``main()`` in-process in ``cwd``: (exit code, stderr)."""
    (cwd / "quiet.yaml").write_text(QUIET_CONFIG, encoding="utf-8")
    monkeypatch.chdir(cwd)
    ran = cli(args, monkeypatch, capsys)
    return ran.returncode, ran.stderr


def _assert_one_line_error(code: int, stderr: str, names: str) -> None:
    assert code == 1, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ") and names in lines[0], lines[0]


@pytest.mark.parametrize("args", READS_DATABASE, ids=lambda args: args[0])
def test_a_missing_database_is_a_one_line_error_and_is_not_created(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "nowhere" / "missing.db"
    _assert_one_line_error(*_main([*args, "--db", str(db)], tmp_path, monkeypatch, capsys), str(db))
    assert not db.parent.exists()


def test_a_missing_database_named_by_the_environment_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "missing.db"
    monkeypatch.setenv("CAMPAIGN_CONNECTOR_DB", str(db))
    _assert_one_line_error(*_main(["report"], tmp_path, monkeypatch, capsys), str(db))
    assert not db.exists()


@pytest.mark.parametrize(("args", "missing"), MISSING_FILES, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_a_missing_file_is_a_one_line_error(
    args: list[str], missing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [arg.replace("{db}", str(tmp_path / "cc.db")) for arg in args]
    _assert_one_line_error(*_main(args, tmp_path, monkeypatch, capsys), missing)


def test_replay_creates_a_missing_database_and_stores_an_empty_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fresh.db"
    (tmp_path / "quiet.yaml").write_text(QUIET_CONFIG, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    ran = cli(["replay", "quiet.yaml", "--db", str(db)], monkeypatch, capsys)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "run-1\n"
    assert "The event log is empty: stored run run-1 with no decisions" in ran.stderr
    assert db.exists()
