"""Every command, given a folder, a file of random bytes, or a file it may not read where it expects a database,
an input or an output: one ``Error:`` line on stderr naming the path, exit 1, no traceback.

A missing database or input file is pinned in ``test_cli_surface.py``; corrupt, newer and foreign databases under
``doctor`` in ``test_doctor.py``. Commands run through the console script's ``main()`` in this process (the same
code path as the installed command, without starting Python ~60 times).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clikit import cli
from configs import NEWS_AND_FOLLOW_UP

from campaign_connector.config import load_config_text
from campaign_connector.importer import import_event_files
from campaign_connector.replay import run_replay
from campaign_connector.store import Store

#: Commands that take ``--db``, with their other arguments (``{cfg}`` a good campaign file, ``{log}`` a log).
DB_COMMANDS = [
    ["validate", "{cfg}"], ["import", "{log}"], ["import-users", "{users}"], ["replay", "{cfg}"], ["report"],
    ["sends"], ["explain", "u1"], ["diff", "base", "base"], ["runs"], ["doctor"],
]

#: Commands that read a file, with ``{f}`` where it goes.
FILE_COMMANDS = [
    ["validate", "{f}"], ["replay", "{f}", "--db", "{db}"], ["import", "{f}", "--db", "{db}"],
    ["import", "{f}", "--format", "currents", "--db", "{db}"], ["import-users", "{f}", "--db", "{db}"],
    ["generate", "--users", "1", "--days", "1", "-o", "{dir}/g.csv", "--config", "{f}"],
]

#: Commands that write a file, with ``{f}`` where it goes.
OUTPUT_COMMANDS = [
    ["sends", "--format", "csv", "-o", "{f}", "--db", "{db}"],
    ["test", "{dir}/s.yaml", "-o", "{f}"],
    ["generate", "--users", "1", "--days", "1", "-o", "{f}"],
    ["generate", "--users", "1", "--days", "1", "-o", "{dir}/g.csv", "--users-file", "{f}"],
]

RANDOM_BYTES = bytes(range(256)) * 8


def ids(args: list[str]) -> str:
    return " ".join(arg for arg in args if not arg.startswith("{") and not arg.startswith("-"))[:40]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Good inputs: a campaign file, a log, a users file, a scenario, and a database with one run ``base``."""
    (tmp_path / "c.yaml").write_text(NEWS_AND_FOLLOW_UP, encoding="utf-8")
    (tmp_path / "e.csv").write_text("user_id,time,event,campaign\nu1,2026-01-05T09:00:00Z,click_email,news\n",
                                    encoding="utf-8")
    (tmp_path / "u.csv").write_text("user_id,timezone\nu1,Europe/Berlin\n", encoding="utf-8")
    (tmp_path / "s.yaml").write_text("config: c.yaml\nevents: []\nexpect: []\n", encoding="utf-8")
    with Store.open(tmp_path / "good.db") as store:
        import_event_files(store, [tmp_path / "e.csv"])
        run_replay(store, load_config_text(NEWS_AND_FOLLOW_UP, "c.yaml"), name="base")
    return tmp_path


def fill(args: list[str], folder: Path, **paths: Path) -> list[str]:
    values = {"{cfg}": folder / "c.yaml", "{log}": folder / "e.csv", "{users}": folder / "u.csv",
              "{db}": folder / "good.db", **{f"{{{k}}}": v for k, v in paths.items()}}
    out = []
    for arg in args:
        for key, value in values.items():
            arg = arg.replace(key, str(value))
        out.append(arg.replace("{dir}", str(folder)))
    return out


def one_error_line(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``campaign-connector ARGS``: exit 1 and exactly one ``Error:`` line on stderr; return that line."""
    code, _, err = cli(args, monkeypatch, capsys)
    assert code == 1, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    return lines[0]


def unreadable(path: Path) -> Path:
    """``path`` made unreadable; skips as root, whom file permissions do not stop."""
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading")
    path.chmod(0)
    return path


# -- the database ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", DB_COMMANDS, ids=ids)
def test_a_folder_as_the_database_is_one_line(folder: Path, args: list[str], monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line([*fill(args, folder), "--db", str(folder)], monkeypatch, capsys)
    assert line == f"Error: {folder}: is a folder, not a database file (give --db a file path)"


@pytest.mark.parametrize("args", DB_COMMANDS, ids=ids)
def test_random_bytes_as_the_database_are_one_line_and_left_alone(
        folder: Path, args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    db = folder / "junk.db"
    db.write_bytes(RANDOM_BYTES)
    line = one_error_line([*fill(args, folder), "--db", str(db)], monkeypatch, capsys)
    assert line == (f"Error: {db}: not a campaign-connector database or corrupted (file is not a database); "
                    "restore it or point --db at another file")
    assert db.read_bytes() == RANDOM_BYTES


@pytest.mark.parametrize("args", DB_COMMANDS, ids=ids)
def test_an_unreadable_database_is_one_line(folder: Path, args: list[str], monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = unreadable(folder / "good.db")
    line = one_error_line([*fill(args, folder), "--db", str(db)], monkeypatch, capsys)
    assert line.startswith(f"Error: {db}: ")


def test_a_database_in_a_missing_folder_is_not_created(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    db = folder / "nowhere" / "t.db"
    line = one_error_line(["import", str(folder / "e.csv"), "--db", str(db)], monkeypatch, capsys)
    assert line == f"Error: {db}: folder {db.parent} does not exist"
    assert not db.parent.exists()


# -- input files ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", FILE_COMMANDS, ids=ids)
def test_a_folder_as_an_input_file_is_one_line(folder: Path, args: list[str], monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    given = folder / "inputs.csv"
    given.mkdir()
    line = one_error_line(fill(args, folder, f=given), monkeypatch, capsys)
    expected = "no event files in this folder" if args[0] == "import" else "is a folder, not a "  # import walks it
    assert line.startswith(f"Error: {given}: {expected}"), line


@pytest.mark.parametrize("args", FILE_COMMANDS, ids=ids)
def test_random_bytes_as_an_input_file_are_one_line_and_store_nothing(
        folder: Path, args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    given = folder / "junk.csv"
    given.write_bytes(RANDOM_BYTES)
    before = (folder / "good.db").read_bytes()
    line = one_error_line(fill(args, folder, f=given), monkeypatch, capsys)
    assert line.startswith(f"Error: {given}"), line
    assert (folder / "good.db").read_bytes() == before


@pytest.mark.parametrize("args", FILE_COMMANDS, ids=ids)
def test_an_unreadable_input_file_is_one_line(folder: Path, args: list[str], monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    given = folder / "secret.csv"
    given.write_text("user_id\n", encoding="utf-8")
    unreadable(given)
    line = one_error_line(fill(args, folder, f=given), monkeypatch, capsys)
    assert line.startswith(f"Error: {given}: "), line


@pytest.mark.parametrize(("content", "message"), [
    (None, "{f}: is a folder, not a scenario file"),
    (RANDOM_BYTES, "{f}:1:1: cannot read the file: 'utf-8' codec can't decode byte 0x80 in position 128: "
                   "invalid start byte"),
], ids=["folder", "random-bytes"])
def test_test_reports_a_bad_scenario_file_as_that_scenario_failing(
        folder: Path, content: bytes | None, message: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``test`` goes on with the other scenarios: a file it cannot read is an ERROR in its report, exit 1."""
    given = folder / "bad.yaml"
    if content is None:
        given.mkdir()
        (given / "x.txt").write_text("not a scenario", encoding="utf-8")
    else:
        given.write_bytes(content)
    code, out, err = cli(["test", str(given), str(folder / "s.yaml")], monkeypatch, capsys)
    assert code == 1 and "Traceback" not in out + err
    if content is None:
        assert err == f"Error: {given}: no scenario files (*.yaml) in this folder\n"
    else:
        assert message.format(f=given) in out
        assert "1 passed, 1 failed" in out


# -- output files ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", OUTPUT_COMMANDS, ids=ids)
@pytest.mark.parametrize("where", ["folder", "missing-folder"])
def test_an_output_path_that_cannot_be_written_is_one_line_and_leaves_nothing(
        folder: Path, args: list[str], where: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    given = folder / "out.csv" if where == "folder" else folder / "nowhere" / "out.csv"
    if where == "folder":
        given.mkdir()
    before = sorted(folder.rglob("*"))
    line = one_error_line(fill(args, folder, f=given), monkeypatch, capsys)
    assert line.startswith(f"Error: {given}"), line
    assert sorted(folder.rglob("*")) == before  # no temporary or half-written file left behind


def test_a_rejects_path_that_cannot_be_written_says_the_good_rows_were_stored(
        folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The rejects file is written after the import commits: the message says so, and re-importing is safe."""
    log = folder / "mixed.csv"
    log.write_text("user_id,time,event\nu2,soon,open_email\nu2,2026-01-05T09:00:00Z,open_email\n", encoding="utf-8")
    line = one_error_line(["import", str(log), "--skip-invalid", "--rejects", str(folder), "--db",
                           str(folder / "good.db")], monkeypatch, capsys)
    assert line == f"Error: {folder}: cannot write the rejects file (Is a directory); the good rows were stored"


@pytest.mark.parametrize(("args", "target"), [
    (["sends", "--format", "csv", "-o", "{db}", "--db", "{db}"], "{db}"),
    (["import", "{dir}/mixed.csv", "--skip-invalid", "--rejects", "{dir}/mixed.csv", "--db", "{db}"],
     "{dir}/mixed.csv"),
    (["import", "{dir}/mixed.csv", "--skip-invalid", "--rejects", "{db}", "--db", "{db}"], "{db}"),
], ids=["sends-over-the-database", "rejects-over-the-input", "rejects-over-the-database"])
def test_an_output_that_would_overwrite_an_input_or_the_database_is_refused(
        folder: Path, args: list[str], target: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Found here: these replaced the database with CSV, or the input file with its own bad rows."""
    (folder / "mixed.csv").write_text("user_id,time,event\nu2,soon,open_email\nu2,2026-01-05T09:00:00Z,open_email\n",
                                      encoding="utf-8")
    path = Path(fill([target], folder)[0])
    before = path.read_bytes()
    line = one_error_line(fill(args, folder), monkeypatch, capsys)
    assert line.startswith("Error: ") and ("is the database" in line or "is an input file or the database" in line)
    assert path.read_bytes() == before


@pytest.mark.parametrize("line", [100, 1234])
def test_a_bad_rows_position_is_printed_as_written_never_as_an_emoji(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], line: int) -> None:
    # Rich turned "log.csv:100:" into "log.csv💯" (its :100: emoji code) and ":1234:" into 🔢
    rows = ["u1,2026-01-05T09:00:00Z,open_email"] * (line - 2) + ["u1,yesterday,open_email"]
    log = tmp_path / "log.csv"
    log.write_text("user_id,time,event\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ran = cli(["import", str(log), "--db", str(tmp_path / "t.db")], monkeypatch, capsys)
    assert ran.returncode == 1
    assert f"log.csv:{line}: time: " in ran.stderr
