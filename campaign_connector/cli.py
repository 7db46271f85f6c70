"""The command line: parse → call → pick a renderer → exit code. Each command body is short; the work lives in
the library modules, which never import typer, and the output in ``render`` and ``report``.

Exit codes: 0 success; 1 an error the tool reports (bad config, bad input, missing run); 2 wrong usage.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from campaign_connector import __version__
from campaign_connector.errors import EXIT_ERROR, CampaignConnectorError
from campaign_connector.render.console import say, say_lines
from campaign_connector.render.formats import (
    DiffFormat,
    ExplainFormat,
    ReportFormat,
    RunsFormat,
    SendsFormat,
    TestFormat,
    ValidateFormat,
)
from campaign_connector.store import DB_ENVVAR, describe_sqlite_error, resolve_db_path


class _Commands(TyperGroup):
    """The commands; a reader that stops early (``sends | head``) ends the command quietly, exit 0."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # What is left in stdout's buffer goes nowhere, instead of failing again when Python exits.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None


if TYPE_CHECKING:
    from campaign_connector.model import Config
    from campaign_connector.store import Store

app = typer.Typer(
    cls=_Commands,
    name="campaign-connector",
    help=(
        "Replay interaction logs through Campaign Connector follow-up campaigns: who would get which "
        "follow-up, when, and why not.\n\n"
        "Example: campaign-connector demo"
    ),
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

def _version(value: bool) -> None:
    if value:
        from campaign_connector.engine import COMPILED

        print(f"campaign-connector {__version__}")
        print("engine: compiled with mypyc" if COMPILED else "engine: pure Python")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Replay interaction logs through Campaign Connector follow-up campaigns."""


DbOption = typer.Option(
    None, "--db", envvar=DB_ENVVAR, show_envvar=True,
    help="Database file (default ./campaign_connector.db).",
)
RunOption = typer.Option(None, "--run", help="Run name or id (default: the latest run), or a run folder.")


class ImportFormat(StrEnum):
    """An input format (the output choices are ``render.formats``)."""

    auto = "auto"
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"
    currents = "currents"


@app.command()
def validate(
    config: Path = typer.Argument(..., help="The campaign file (YAML), or - for standard input."),
    db: str | None = typer.Option(
        None, "--db", help="Also check against this database's event log (only when given: validate never "
        "reads $CAMPAIGN_CONNECTOR_DB, so a CI job's environment cannot change its verdict)."
    ),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail too (exit 1)."),
    format: ValidateFormat = typer.Option(ValidateFormat.text, "--format", help="text, or json for CI."),
) -> None:
    """Check a campaign file; every problem as FILE:LINE:COL: key.path: message.

    Example: campaign-connector validate campaigns.yaml --strict
    """
    from contextlib import nullcontext

    from campaign_connector.config.validate import database_unusable, validate_file
    from campaign_connector.errors import ConfigError, StoreError
    from campaign_connector.store import Store

    try:
        store = Store.open(resolve_db_path(db), create=False) if db else None
    except StoreError as error:
        if format is not ValidateFormat.json:
            raise
        format.to_format()(database_unusable(str(db), error, strict), sys.stdout)  # CI parsing stdout gets a report
        raise typer.Exit(EXIT_ERROR) from None
    with store or nullcontext():
        text = sys.stdin.read() if str(config) == "-" else None
        outcome = validate_file(Path("<stdin>") if text is not None else config, store=store,
                                db_name=str(resolve_db_path(db)) if db else "", strict=strict, text=text)
    file_level = [p for p in outcome.problems if p.line is None]
    if format is ValidateFormat.text and file_level:
        raise ConfigError(file_level[0].format())
    format.to_format()(outcome, sys.stdout)
    say(outcome.summary())
    raise typer.Exit(outcome.exit_code)


def _horizon(until: str | None) -> int | None:
    """``--until`` as ms, or None for the last logged event."""
    from campaign_connector.errors import InputError
    from campaign_connector.timeutil import TimeParseError, parse_time

    try:
        return None if until is None else parse_time(until)
    except TimeParseError as error:
        raise InputError(f"--until: {error} (give an ISO-8601 time like 2026-01-31T23:59:59Z)") from None


def _check_run_name(name: str | None) -> None:
    from campaign_connector.errors import InputError
    from campaign_connector.store.runs import run_name_problem

    if name is not None and (problem := run_name_problem(name)):
        raise InputError(f"--name: {problem}")


def _checked_config(config: Path) -> Config:
    """The campaign file loaded and checked; its errors raise, its warnings go to stderr."""
    from campaign_connector.config import InvalidConfig, check_config

    loaded, problems = check_config(config)
    if loaded is None or any(p.is_error for p in problems):
        raise InvalidConfig([p for p in problems if p.is_error] or problems)
    say_lines(warning.format() for warning in problems)
    return loaded


@contextmanager
def _import_store(option: str | None) -> Iterator[Store]:
    """The database an import writes; when the import fails and the file did not exist before, it is removed,
    so a failed first import leaves no empty database behind."""
    from campaign_connector.store import Store

    path = resolve_db_path(option)
    fresh = str(path) != ":memory:" and not path.exists()
    try:
        with Store.open(path) as store:
            yield store
    except BaseException:
        if fresh:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with suppress(OSError):
                    Path(f"{path}{suffix}").unlink()
        raise


@app.command("import")
def import_(
    files: list[str] = typer.Argument(
        ..., help="Event logs: files (.csv, .jsonl, Currents .avro/.json; .gz too), folders (walked), s3:// gs:// "
        "az:// URLs, or - for standard input."),
    format: ImportFormat = typer.Option(ImportFormat.auto, "--format", help="Input format (default: by extension)."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Store good rows; write bad rows to a rejects file."
    ),
    rejects: Path | None = typer.Option(None, "--rejects", help="Rejects file (default <input>.rejects.jsonl)."),
    user_key: str = typer.Option("user_id", "--user-key", help="Currents: user_id or external_user_id."),
    event_type: str | None = typer.Option(
        None, "--event-type", help="Currents: the event type of JSON rows that name none and whose path has no "
        "event_type= folder (e.g. users.messages.email.Open)."),
    max_rejects: int | None = typer.Option(
        None, "--max-rejects", min=0, help="With --skip-invalid: more bad rows than this store nothing and exit 1."),
    db: str | None = DbOption,
) -> None:
    """Import interaction events into the database (all-or-nothing; re-importing stores nothing twice).

    Example: campaign-connector import events.csv.gz
    """
    from campaign_connector.importer import import_event_files, summary_lines
    from campaign_connector.render.progress import ImportProgress

    with _import_store(db) as store, ImportProgress() as bar:
        summary = import_event_files(store, files, format=format.value, skip_invalid=skip_invalid, rejects=rejects,
                                     user_key=user_key, progress=bar if bar.active else None,
                                     event_type=event_type, max_rejects=max_rejects)
    say_lines(summary_lines(summary))


@app.command("import-users")
def import_users(
    file: str = typer.Argument(
        ..., help="Users file: CSV or JSONL with user_id, timezone, attributes (a URL, or - for standard input)."),
    format: ImportFormat = typer.Option(ImportFormat.auto, "--format", help="csv or jsonl (default: by extension)."),
    db: str | None = DbOption,
) -> None:
    """Import user profiles: time zones, global control group overrides, unsubscribes, attributes.

    Example: campaign-connector import-users users.csv
    """
    from campaign_connector.importer import import_user_files, summary_lines

    with _import_store(db) as store:
        summary = import_user_files(store, file, format=format.value)
    say_lines(summary_lines(summary))


@app.command()
def replay(
    config: Path = typer.Argument(..., help="The campaign file (YAML)."),
    until: str | None = typer.Option(None, "--until", help="Horizon (ISO-8601); default: the last logged event."),
    name: str | None = typer.Option(None, "--name", help="Name of the run (default run-N)."),
    replace: bool = typer.Option(False, "--replace", help="Replace the run of that --name once this one is "
                                 "complete."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes to split users across."),
    db: str | None = DbOption,
) -> None:
    """Replay the event log through the campaigns and store the decisions as a run.

    Example: campaign-connector replay campaigns.yaml --name baseline
    """
    from campaign_connector.errors import InputError
    from campaign_connector.render.commands import print_replay_summary
    from campaign_connector.render.progress import ReplayProgress
    from campaign_connector.replay import replay_warnings, run_replay
    from campaign_connector.store import Store

    horizon = _horizon(until)
    _check_run_name(name)
    if replace and name is None:
        raise InputError("--replace: give the --name of the run to replace")
    cores = os.cpu_count() or 1
    if workers > cores:
        say(f"--workers {workers}: this machine has {cores} cores; using {cores}.", soft_wrap=False)
        workers = cores
    loaded = _checked_config(config)
    # The database is created on demand: an empty log is a run too.
    with Store.open(resolve_db_path(db)) as store, ReplayProgress() as bar:
        run = run_replay(store, loaded, until=horizon, name=name, workers=workers,
                         progress=bar if bar.active else None, replace=replace)
        ignored = replay_warnings(store, loaded)
    say_lines(f"Warning: {line}" for line in ignored)
    print_replay_summary(run, [c.id for c in loaded.campaigns])
    print(run.name)


@app.command("spark-replay")
def spark_replay(
    config: Path = typer.Argument(..., help="The campaign file (YAML)."),
    inputs: list[str] = typer.Argument(..., help="Event logs: files, folders or object-store URLs."),
    output: str = typer.Option(..., "--output", help="The run folder to write (must not exist)."),
    users: str | None = typer.Option(None, "--users", help="A users file (CSV or JSON lines)."),
    format: ImportFormat = typer.Option(ImportFormat.auto, "--format", help="Input format (default: by extension)."),
    until: str | None = typer.Option(None, "--until", help="Horizon (ISO-8601); default: the last event."),
    name: str | None = typer.Option(None, "--name", help="Name of the run (default: the folder's name)."),
    master: str | None = typer.Option(None, "--master", help="Spark master (default local[*]; sc://HOST for Connect)."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Replay the good rows; bad ones to DIR/rejects/."),
    user_key: str = typer.Option("user_id", "--user-key", help="Currents user key: user_id or external_user_id."),
) -> None:
    """Replay event logs on Apache Spark, without SQLite, into a run folder (Parquet).

    Example: campaign-connector spark-replay campaigns.yaml events/ --output runs/baseline
    """
    from campaign_connector.spark import replay_on_spark

    horizon = _horizon(until)
    _check_run_name(name)
    loaded = _checked_config(config)
    result = replay_on_spark(loaded, inputs, output, users=users, format=format.value, until=horizon, name=name,
                             master=master, skip_invalid=skip_invalid, user_key=user_key)
    say_lines(result.summary_lines())
    print(result.output)


@app.command()
def report(
    run: str | None = RunOption,
    format: ReportFormat = typer.Option(ReportFormat.table, "--format",
                                       help="table, json, csv, jsonl, or parquet (with -o)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file (the format from its "
                                       "suffix unless --format says)."),
    html: Path | None = typer.Option(None, "--html", help="Also write the report as one self-contained HTML "
                                     "page (counts, lift, sends per day, the run's manifest)."),
    db: str | None = DbOption,
) -> None:
    """Per campaign: triggered, sent, control, cancelled, suppressed by reason, pending, conversions, and the
    lift of sent over control with its 95% interval and p-value.

    Example: campaign-connector report --html report.html
    """
    from campaign_connector.inspection import build_report
    from campaign_connector.outputs import atomic_output
    from campaign_connector.render.html import report_html
    from campaign_connector.store.runfolder import open_runs

    format = format.for_output(_output_file(output, db))
    _output_file(html, db)
    with open_runs(resolve_db_path(db), [run]) as (store, (found,)):
        summary = build_report(store, found)
    if html is not None:
        with atomic_output(html) as page:
            page.write(report_html(summary))
        say(f"wrote the report of run {summary.run.name} to {html}")
    if html is None or output is not None or format is not ReportFormat.table:
        with atomic_output(output, newline="") as out:
            format.to_format()(summary, out)
        if output is not None:
            say(f"wrote the report of run {summary.run.name} to {output}")


def _output_file(output: Path | None, db: str | None) -> Path | None:
    """``-o FILE``, refused when it is the database."""
    from campaign_connector.errors import InputError

    if output is not None and output.resolve() == resolve_db_path(db).resolve():
        raise InputError(f"{output}: is the database; give -o another file")
    return output


@app.command()
def sends(
    run: str | None = RunOption,
    user: str | None = typer.Option(None, "--user", help="Only this user."),
    campaign: str | None = typer.Option(None, "--campaign", help="Only this campaign."),
    status: str | None = typer.Option(None, "--status", help="Only this status."),
    reason: str | None = typer.Option(None, "--reason", help="Only this reason."),
    since: str | None = typer.Option(None, "--since", help="Triggered at or after this time."),
    before: str | None = typer.Option(None, "--before", help="Triggered before this time."),
    format: SendsFormat = typer.Option(SendsFormat.table, "--format",
                                      help="table, json, csv, jsonl, or parquet (with -o)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
    limit: int = typer.Option(50, "--limit", min=0, help="Rows the table shows (0 = all); the other formats give "
                              "all."),
    db: str | None = DbOption,
) -> None:
    """The decisions of a run, one row per trigger.

    Example: campaign-connector sends --campaign discount_push --status suppressed --format csv
    """
    from itertools import islice

    from campaign_connector.inspection import check_campaign, sends_filter
    from campaign_connector.outputs import atomic_output
    from campaign_connector.render.commands import print_sends_footer
    from campaign_connector.store.results import count_decisions, iter_decisions
    from campaign_connector.store.runfolder import open_runs

    filt = sends_filter(user=user, campaign=campaign, status=status, reason=reason, since=since, before=before)
    format = format.for_output(_output_file(output, db))
    with open_runs(resolve_db_path(db), [run]) as (store, (found,)):
        check_campaign(store, [found], campaign)
        rows = iter_decisions(store, found.id, filt)
        if format is SendsFormat.table:
            total = count_decisions(store, found.id, filt)
            shown = format.to_format()(islice(rows, limit or None), found.name, sys.stdout)
            print_sends_footer(shown, total, found.name, [("--user", user), ("--campaign", campaign),
                               ("--status", status), ("--reason", reason), ("--since", since), ("--before", before)])
            return
        with atomic_output(output, newline="") as out:
            written = format.to_format()(rows, found.name, out)
    if output is not None:
        say(f"wrote {written:,} decisions to {output}")


@app.command()
def explain(
    user: str = typer.Argument(..., help="The user id."),
    run: str | None = RunOption,
    campaign: str | None = typer.Option(None, "--campaign", help="Only this campaign's decisions."),
    all_events: bool = typer.Option(False, "--all-events", help="Show every event, not only those that matter "
                                    "to the campaigns explained."),
    since: str | None = typer.Option(None, "--since", help="Only from this time on (ISO-8601)."),
    until: str | None = typer.Option(None, "--until", help="Only up to this time (ISO-8601, inclusive)."),
    format: ExplainFormat = typer.Option(ExplainFormat.table, "--format", help="table or json."),
    db: str | None = DbOption,
) -> None:
    """One user's timeline: the events that matter, triggers, pending sends, exceptions, caps, and each decision
    and why.

    Example: campaign-connector explain u00042 --campaign newsletter_resend
    """
    from campaign_connector.errors import InputError
    from campaign_connector.inspection import build_explanation, check_campaign, option_times
    from campaign_connector.store import Store
    from campaign_connector.store.runfolder import is_run_folder
    from campaign_connector.store.runs import find_run

    if is_run_folder(run):
        raise InputError(f"--run {run}: explain re-runs one user's timeline from the stored log, which a run folder "
                         "does not hold (import the inputs and replay them to explain a user)")
    times = option_times(since=since, until=until)
    with Store.open(resolve_db_path(db), create=False) as store:
        found = find_run(store, run)
        check_campaign(store, [found], campaign)
        explanation = build_explanation(store, found, user, campaign, all_events=all_events,
                                        since=times["since"], until=times["until"])
    say_lines(f"note: {note}" for note in explanation.notes)
    format.to_format()(explanation, sys.stdout)


@app.command()
def diff(
    run_a: str = typer.Argument(..., help="The baseline run (name or id, or a run folder)."),
    run_b: str = typer.Argument(..., help="The what-if run (name or id, or a run folder)."),
    campaign: str | None = typer.Option(None, "--campaign", help="Only this campaign."),
    user: str | None = typer.Option(None, "--user", help="Only this user."),
    format: DiffFormat = typer.Option(DiffFormat.table, "--format",
                                      help="table, json, csv, jsonl, or parquet (with -o)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file (the format from its "
                                       "suffix unless --format says)."),
    fail_on_change: bool = typer.Option(False, "--fail-on-change", help="Exit 1 when a send was gained, lost or "
                                        "moved."),
    db: str | None = DbOption,
) -> None:
    """What-if: each user's sends paired between two runs — gained, lost and moved, per campaign and per user.

    Example: campaign-connector diff baseline what-if
    """
    from campaign_connector.inspection import build_diff, check_campaign, iter_send_changes
    from campaign_connector.outputs import atomic_output
    from campaign_connector.store.runfolder import open_runs

    format = format.for_output(_output_file(output, db))
    with open_runs(resolve_db_path(db), [run_a, run_b]) as (store, (a, b)):
        check_campaign(store, [b, a], campaign)
        summary = build_diff(store, a, b, user=user, campaign=campaign)
        with atomic_output(output, newline="") as out:
            format.to_format()(summary, iter_send_changes(store, a, b, user=user, campaign=campaign), out)
    if output is not None:
        say(f"wrote the diff of {a.name} and {b.name} to {output}")
    if fail_on_change and summary.differences:
        raise typer.Exit(EXIT_ERROR)


@app.command()
def runs(
    delete: str | None = typer.Option(None, "--delete", help="Delete this run (name or id)."),
    format: RunsFormat = typer.Option(RunsFormat.table, "--format", help="table, json, csv or jsonl."),
    db: str | None = DbOption,
) -> None:
    """The stored runs: config file and hash, horizon, counts, and the time each replay took.

    Example: campaign-connector runs --format json
    """
    from campaign_connector.render.commands import print_deleted_run
    from campaign_connector.store import Store
    from campaign_connector.store.runs import delete_run, list_runs

    with Store.open(resolve_db_path(db), create=False) as store:
        if delete is not None:
            print_deleted_run(delete_run(store, delete))
            return
        stored = list_runs(store)
    format.to_format()(stored, sys.stdout)


@app.command()
def demo() -> None:
    """The whole pipeline on the shipped sample data, in a throw-away database.

    Example: campaign-connector demo
    """
    import tempfile

    from campaign_connector.demo import next_steps, sample_data, showcase_user
    from campaign_connector.render.console import rule

    with tempfile.TemporaryDirectory(prefix="campaign-connector-demo-") as folder, sample_data(Path(folder)) as data:
        steps = [
            ("Validate the example campaigns", ["validate", str(data.config)]),
            ("Import the sample event log", ["import", "--db", str(data.db), str(data.events)]),
            ("Import the sample users", ["import-users", "--db", str(data.db), str(data.users)]),
            ("Replay the log through the campaigns", ["replay", "--db", str(data.db), "--name", "demo",
                                                      str(data.config)]),
            ("Report per campaign", ["report", "--db", str(data.db)]),
        ]
        for number, (title, args) in enumerate(steps, 1):
            rule(f"{number}/{len(steps)} {title}: campaign-connector {args[0]}")
            app(args, prog_name="campaign-connector", standalone_mode=False)
        user = showcase_user(data.db)
    rule("What next")
    say_lines(next_steps(user))


@app.command()
def generate(
    users: int = typer.Option(..., "--users", min=1, help="Number of users."),
    days: int = typer.Option(..., "--days", min=1, help="Days of activity."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same file)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output file (.csv, .jsonl, .gz too)."),
    users_file: Path | None = typer.Option(
        None, "--users-file", help="Also write the users file (zones, country, plan, unsubscribes) here."
    ),
    start: str | None = typer.Option(None, "--start", help="First day, YYYY-MM-DD (default 2025-12-29)."),
    config: Path | None = typer.Option(
        None, "--config", help="Campaign file whose source campaigns send (default: campaigns.example.yaml)."
    ),
) -> None:
    """A realistic synthetic event log for campaigns.example.yaml.

    Example: campaign-connector generate --users 1000 --days 30 -o events.csv
    """
    from campaign_connector.config import load_config
    from campaign_connector.generate import example_config_path, generate_log, parse_start
    from campaign_connector.render.progress import DaysProgress

    workspace = load_config(config or example_config_path())
    with DaysProgress(days) as progress:
        summary = generate_log(workspace, output, users=users, days=days, seed=seed, start=parse_start(start),
                               users_file=users_file, progress=progress)
    say(summary.describe(), soft_wrap=False)


@app.command()
def schema() -> None:
    """The campaign file's JSON Schema, for editors.

    Example: campaign-connector schema > campaigns.schema.json
    """
    from campaign_connector.config.schema import schema_json

    print(schema_json())


@app.command("test")
def test_(
    paths: list[Path] = typer.Argument(..., help="Scenario files or folders of them."),
    format: TestFormat = typer.Option(TestFormat.text, "--format", help="text, or junit (XML)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the report here."),
) -> None:
    """Run scenario files: events in, expected decisions out. Exit 1 when any scenario fails.

    Example: campaign-connector test scenarios/ --format junit -o scenarios.xml
    """
    from campaign_connector.outputs import atomic_output
    from campaign_connector.scenarios import run_paths

    report = run_paths(paths)
    with atomic_output(output) as out:
        format.to_format()(report, out)
    if output is not None or format is TestFormat.junit:
        say(report.summary(), soft_wrap=False)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def doctor(db: str | None = DbOption) -> None:
    """Check a database: integrity, schema version, and what it holds. Exit 1 when it is not healthy.

    Example: campaign-connector doctor --db campaign_connector.db
    """
    from campaign_connector.render.commands import print_health
    from campaign_connector.store import Store
    from campaign_connector.store.doctor import check

    with Store.open(resolve_db_path(db), create=False) as store:
        health = check(store)
    print_health(health, sys.stdout)
    if not health.ok:
        raise typer.Exit(EXIT_ERROR)


def main() -> None:
    """Console-script entry point. Usage errors exit 2 (Click); foreseen errors print one line and exit 1."""
    try:
        app(prog_name="campaign-connector")
    except CampaignConnectorError as error:
        say(f"Error: {error}")
        sys.exit(error.exit_code)
    except sqlite3.Error as error:
        # A store names its file when SQLite fails inside its ``with`` block; this is the net outside one.
        say(f"Error: {describe_sqlite_error('database', error)}")
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        say("Interrupted; nothing was half-written.", soft_wrap=False)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(EXIT_ERROR)
