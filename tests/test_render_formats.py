"""Output formats: every ``--format`` choice of every command has a writer, and ``-o FILE`` picks the format
from FILE's suffix when the choice is the terminal table."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from campaign_connector.errors import InputError
from campaign_connector.render.formats import ExplainFormat, OutputFormat, ReportFormat, SendsFormat, ValidateFormat
from campaign_connector.render.output import FORMAT_BY_SUFFIX, atomic_output

MEMBERS = [member for kind in OutputFormat.__subclasses__() for member in kind]


@pytest.mark.parametrize("member", MEMBERS, ids=lambda m: f"{type(m).__name__}.{m.name}")
def test_to_format_is_exhaustive(member: OutputFormat) -> None:
    assert callable(member.to_format())  # type: ignore[attr-defined]


def test_each_member_of_a_command_has_its_own_writer() -> None:
    for kind in OutputFormat.__subclasses__():
        writers = [member.to_format() for member in kind]  # type: ignore[attr-defined]
        assert len(set(writers)) == len(writers), kind.__name__


@pytest.mark.parametrize(("given", "output", "expected"), [
    (SendsFormat.table, None, SendsFormat.table),
    (SendsFormat.table, "out.csv", SendsFormat.csv),
    (SendsFormat.table, "OUT.JSONL", SendsFormat.jsonl),
    (SendsFormat.table, "out.ndjson", SendsFormat.jsonl),
    (SendsFormat.csv, "out.jsonl", SendsFormat.csv),  # an explicit --format wins over the suffix
    (ReportFormat.table, "report.csv", ReportFormat.csv),
    (ValidateFormat.text, "problems.json", ValidateFormat.text),  # only the table is terminal-only
])
def test_the_table_with_o_takes_the_format_from_the_suffix(given: OutputFormat, output: str | None,
                                                           expected: OutputFormat) -> None:
    assert given.for_output(None if output is None else Path(output)) is expected


@pytest.mark.parametrize(("given", "output", "message"), [
    (SendsFormat.table, "x.txt",
     "x.txt: the table is for the terminal; write a file with --format json, csv, jsonl or parquet"),
    (ExplainFormat.table, "x.csv", "x.csv: the table is for the terminal; write a file with --format json"),
])
def test_the_table_with_o_and_a_suffix_the_command_cannot_write_is_an_error(given: OutputFormat, output: str,
                                                                           message: str) -> None:
    with pytest.raises(InputError) as raised:
        given.for_output(Path(output))
    assert str(raised.value) == message


def test_every_suffix_names_a_format_some_command_writes() -> None:
    values = {member.value for member in MEMBERS}
    assert set(FORMAT_BY_SUFFIX.values()) <= values


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_written_file_gets_the_permissions_of_a_new_file_under_the_umask(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        with atomic_output(tmp_path / "out.csv") as out:
            out.write("a\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o666 & ~umask


def test_a_written_file_replaces_the_old_one_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n", encoding="utf-8")
    with atomic_output(target, newline="") as out:
        out.write("new\r\n")
    assert target.read_bytes() == b"new\r\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_output_to_a_folder_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"), atomic_output(tmp_path) as out:
        out.write("x")
    assert list(tmp_path.iterdir()) == []
