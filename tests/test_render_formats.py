"""Output formats: every ``--format`` choice of every command has a writer, and ``-o FILE`` picks the format
from FILE's suffix when the choice is the terminal table."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_connector.errors import InputError
from campaign_connector.outputs import FORMAT_BY_SUFFIX
from campaign_connector.render.formats import ExplainFormat, OutputFormat, ReportFormat, SendsFormat, ValidateFormat

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
