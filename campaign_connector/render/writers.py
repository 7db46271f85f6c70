"""The writers behind every ``--format`` choice, one table per command (``render.formats`` looks them up).

Every writer takes the command's data and the text stream to write to (stdout, or ``atomic_output``'s file).
A table writer prints Rich renderables through ``console.table_console``; the machine formats are
``report``'s writers. To add a format: write the function, give it its line in the command's table, and its
member in ``render.formats``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from itertools import islice
from typing import TYPE_CHECKING, TextIO

from rich.console import Console, Group

from campaign_connector import report
from campaign_connector.inspection import Explanation, RunDiff, RunReport
from campaign_connector.model import RunInfo, SendChange, StoredDecision
from campaign_connector.render.console import say, table_console
from campaign_connector.render.formats import (
    DiffFormat,
    ExplainFormat,
    ReportFormat,
    RunsFormat,
    SendsFormat,
    TestFormat,
    ValidateFormat,
)

if TYPE_CHECKING:  # the scenario runner and the validator load only for the commands that use them
    from campaign_connector.config.validate import Outcome
    from campaign_connector.scenarios import Report

#: Writes a validation outcome.
ValidateWriter = Callable[["Outcome", TextIO], None]
#: Writes a run's report.
ReportWriter = Callable[[RunReport, TextIO], None]
#: Writes a run's decisions (named by the run's name); returns how many it wrote.
SendsWriter = Callable[[Iterable[StoredDecision], str, TextIO], int]
#: Writes the diff of two runs: its summary and the changed decisions.
DiffWriter = Callable[[RunDiff, Iterable[SendChange], TextIO], None]
#: Writes the stored runs.
RunsWriter = Callable[[list[RunInfo], TextIO], None]
#: Writes one user's explanation.
ExplainWriter = Callable[[Explanation, TextIO], None]
#: Writes the result of the scenario files.
TestWriter = Callable[["Report", TextIO], None]


def _validate_text(outcome: Outcome, out: TextIO) -> None:
    for line in outcome.text_lines():
        out.write(line + "\n")


def _validate_json(outcome: Outcome, out: TextIO) -> None:
    out.write(outcome.as_json() + "\n")


VALIDATE: dict[ValidateFormat, ValidateWriter] = {
    ValidateFormat.text: _validate_text,
    ValidateFormat.json: _validate_json,
}


def _report_table(rep: RunReport, out: TextIO) -> None:
    table_console(out).print(Group(*report.report_renderables(rep)))


def _report_json(rep: RunReport, out: TextIO) -> None:
    out.write(report.report_json(rep))


REPORT: dict[ReportFormat, ReportWriter] = {
    ReportFormat.table: _report_table,
    ReportFormat.json: _report_json,
    ReportFormat.csv: report.write_report_csv,
    ReportFormat.jsonl: report.write_report_jsonl,
    ReportFormat.parquet: report.write_report_parquet,
}


def _sends_table(decisions: Iterable[StoredDecision], run_name: str, out: TextIO) -> int:
    """The decisions as a table laid out for the stream's width (piped: 80 columns, as Rich's default), nothing
    when there are none; the caller limits the rows."""
    table = report.sends_table(decisions, run_name)
    if table.rows:
        Console(file=out, highlight=False, emoji=False).print(table)
    return len(table.rows)


SENDS: dict[SendsFormat, SendsWriter] = {
    SendsFormat.table: _sends_table,
    SendsFormat.json: report.write_sends_json,
    SendsFormat.csv: report.write_sends_csv,
    SendsFormat.jsonl: report.write_sends_jsonl,
    SendsFormat.parquet: report.write_sends_parquet,
}


def _diff_table(summary: RunDiff, rows: Iterable[SendChange], out: TextIO) -> None:
    """The per-campaign table and the first ``report.TABLE_ROWS`` changed decisions; on stderr, how to get the
    rest."""
    table_console(out).print(Group(*report.diff_renderables(summary, islice(rows, report.TABLE_ROWS))))
    note = report.more_rows_note(report.TABLE_ROWS, summary.differences,
                                 f"campaign-connector diff {summary.run_a.name} {summary.run_b.name} "
                                 "--format csv > FILE")
    if note:
        say(note)


def _diff_csv(summary: RunDiff, rows: Iterable[SendChange], out: TextIO) -> None:
    report.write_diff_csv(rows, out)


def _diff_jsonl(summary: RunDiff, rows: Iterable[SendChange], out: TextIO) -> None:
    report.write_diff_jsonl(rows, out)


def _diff_parquet(summary: RunDiff, rows: Iterable[SendChange], out: TextIO) -> None:
    report.write_diff_parquet(rows, out)


DIFF: dict[DiffFormat, DiffWriter] = {
    DiffFormat.table: _diff_table,
    DiffFormat.json: report.write_diff_json,
    DiffFormat.csv: _diff_csv,
    DiffFormat.jsonl: _diff_jsonl,
    DiffFormat.parquet: _diff_parquet,
}


def _runs_table(runs: list[RunInfo], out: TextIO) -> None:
    """The runs as a table; on stderr, how to make one when there are none."""
    if not runs:
        say("No runs yet (run `campaign-connector replay CONFIG` first).", soft_wrap=False)
        return
    table_console(out).print(report.runs_table(runs))


RUNS: dict[RunsFormat, RunsWriter] = {
    RunsFormat.table: _runs_table,
    RunsFormat.json: report.write_runs_json,
    RunsFormat.csv: report.write_runs_csv,
    RunsFormat.jsonl: report.write_runs_jsonl,
}


def _explain_table(explanation: Explanation, out: TextIO) -> None:
    table_console(out).print(Group(*report.explain_renderables(explanation)))


def _explain_json(explanation: Explanation, out: TextIO) -> None:
    out.write(json.dumps(report.explain_record(explanation), indent=2, ensure_ascii=False) + "\n")


EXPLAIN: dict[ExplainFormat, ExplainWriter] = {
    ExplainFormat.table: _explain_table,
    ExplainFormat.json: _explain_json,
}


def _test_text(result: Report, out: TextIO) -> None:
    from campaign_connector.scenarios import render_text

    out.write(render_text(result))


def _test_junit(result: Report, out: TextIO) -> None:
    from campaign_connector.scenarios import render_junit

    out.write(render_junit(result))


TEST: dict[TestFormat, TestWriter] = {
    TestFormat.text: _test_text,
    TestFormat.junit: _test_junit,
}
