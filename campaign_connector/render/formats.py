"""The ``--format`` choices: one enum per command, whose members know their writer (``to_format()``).

A member's value is what the user types. ``to_format()`` looks the member up in its command's table in
``render.writers`` (imported then, not when the CLI starts: the writers pull in the inspection layer).
Adding a format to a command is its member here and its entry, beside the writer, in ``render.writers``;
``tests/test_render_formats.py`` fails while any member has no writer.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Self

from campaign_connector.errors import InputError
from campaign_connector.outputs import format_by_suffix

if TYPE_CHECKING:
    from campaign_connector.render.writers import (
        DiffWriter,
        ExplainWriter,
        ReportWriter,
        RunsWriter,
        SendsWriter,
        TestWriter,
        ValidateWriter,
    )

#: The choice that is for the terminal only: ``-o FILE`` with it takes the format from FILE's suffix.
TABLE = "table"
#: The choice that writes a binary file: only with ``-o FILE``.
PARQUET = "parquet"


class OutputFormat(StrEnum):
    """Base of the ``--format`` enums."""

    def for_output(self, output: Path | None) -> Self:
        """This choice; but the terminal table with ``-o FILE`` becomes the format FILE's suffix names, and an
        ``InputError`` when that is none of this command's."""
        if output is None and self.value == PARQUET:
            raise InputError("--format parquet writes a binary file: give -o FILE.parquet")
        if output is None or self.value != TABLE:
            return self
        named = format_by_suffix(output)
        files = [member.value for member in type(self) if member.value != TABLE]
        if named not in files:
            listed = f"{', '.join(files[:-1])} or {files[-1]}" if len(files) > 1 else files[0]
            raise InputError(f"{output}: the table is for the terminal; write a file with --format {listed}")
        return type(self)(named)


class ValidateFormat(OutputFormat):
    """``validate --format``."""

    text = "text"
    json = "json"

    def to_format(self) -> ValidateWriter:
        """This format's writer."""
        from campaign_connector.render.writers import VALIDATE

        return VALIDATE[self]


class ReportFormat(OutputFormat):
    """``report --format``."""

    table = "table"
    json = "json"
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"

    def to_format(self) -> ReportWriter:
        """This format's writer."""
        from campaign_connector.render.writers import REPORT

        return REPORT[self]


class SendsFormat(OutputFormat):
    """``sends --format``."""

    table = "table"
    json = "json"
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"

    def to_format(self) -> SendsWriter:
        """This format's writer."""
        from campaign_connector.render.writers import SENDS

        return SENDS[self]


class DiffFormat(OutputFormat):
    """``diff --format``."""

    table = "table"
    json = "json"
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"

    def to_format(self) -> DiffWriter:
        """This format's writer."""
        from campaign_connector.render.writers import DIFF

        return DIFF[self]


class RunsFormat(OutputFormat):
    """``runs --format``."""

    table = "table"
    json = "json"
    csv = "csv"
    jsonl = "jsonl"

    def to_format(self) -> RunsWriter:
        """This format's writer."""
        from campaign_connector.render.writers import RUNS

        return RUNS[self]


class ExplainFormat(OutputFormat):
    """``explain --format``."""

    table = "table"
    json = "json"

    def to_format(self) -> ExplainWriter:
        """This format's writer."""
        from campaign_connector.render.writers import EXPLAIN

        return EXPLAIN[self]


class TestFormat(OutputFormat):
    """``test --format``."""

    text = "text"
    junit = "junit"

    def to_format(self) -> TestWriter:
        """This format's writer."""
        from campaign_connector.render.writers import TEST

        return TEST[self]
