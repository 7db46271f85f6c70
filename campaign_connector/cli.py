"""The command line: parse → call → render → exit code. Each command body is short; the work lives in the
library modules, which never import typer.

Exit codes: 0 success; 1 an error the tool reports (bad config, bad input, missing run); 2 wrong usage.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from campaign_connector import __version__
from campaign_connector.errors import EXIT_ERROR, CampaignConnectorError
from campaign_connector.store import DB_ENVVAR, describe_sqlite_error, resolve_db_path
from campaign_connector.store.runs import RunInfo

app = typer.Typer(
    name="campaign-connector",
    help=(
        "Replay interaction logs through Campaign Connector follow-up campaigns: who would get which "
        "follow-up, when, and why not.\n\n"
        "Example: campaign-connector demo"
    ),
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

#: Progress, summaries and errors go to stderr; results go to stdout.
err = Console(stderr=True, highlight=False)


def _table_console() -> Console:
    """The stdout console for ``report``, ``explain`` and ``diff``: the terminal's (or $COLUMNS') width, else 160
    columns when piped, so that counts, names and ids stay whole in logs and CI (at Rich's default 80 columns
    report's sent counts were cut to "…", explain folded synthetic event ids over three lines, and diff cut
    campaign names and folded "pending" into "pendin/g")."""
    out = Console(highlight=False)
    return out if out.is_terminal or os.environ.get("COLUMNS") else Console(highlight=False, width=160)


def _version(value: bool) -> None:
    if value:
        print(f"campaign-connector {__version__}")
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
RunOption = typer.Option(None, "--run", help="Run name or id (default: the latest run).")


class ValidateFormat(StrEnum):
    text = "text"
    json = "json"


class ImportFormat(StrEnum):
    auto = "auto"
    csv = "csv"
    jsonl = "jsonl"
    currents = "currents"


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class SendsFormat(StrEnum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"


class TestFormat(StrEnum):
    text = "text"
    junit = "junit"


@app.command()
def validate(
    config: Path = typer.Argument(..., help="The campaign file (YAML)."),
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
    from campaign_connector.errors import ConfigError, StoreError
    from campaign_connector.store import Store
    from campaign_connector.validate import database_unusable, validate_file

    try:
        store = Store.open(db_path(db), create=False) if db else None
    except StoreError as error:
        if format != ValidateFormat.json:
            raise
        print(database_unusable(str(db), error, strict).as_json())  # CI parsing stdout still gets a report
        raise typer.Exit(EXIT_ERROR) from None
    try:
        outcome = validate_file(config, store=store, db_name=str(db_path(db)) if db else "", strict=strict)
    finally:
        if store is not None:
            store.close()
    file_level = [p for p in outcome.problems if p.line is None]
    if format == ValidateFormat.text and file_level:
        raise ConfigError(file_level[0].format())
    if format == ValidateFormat.json:
        print(outcome.as_json())
    else:
        for line in outcome.text_lines():
            print(line)
    err.print(outcome.summary(), markup=False, soft_wrap=True)
    raise typer.Exit(outcome.exit_code)


@app.command("import")
def import_(
    files: list[Path] = typer.Argument(..., help="Event logs: .csv, .jsonl (.gz too), Currents .avro/.json."),
    format: ImportFormat = typer.Option(ImportFormat.auto, "--format", help="Input format (default: by extension)."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Store good rows; write bad rows to a rejects file."
    ),
    rejects: Path | None = typer.Option(None, "--rejects", help="Rejects file (default <input>.rejects.jsonl)."),
    user_key: str = typer.Option("user_id", "--user-key", help="Currents: user_id or external_user_id."),
    db: str | None = DbOption,
) -> None:
    """Import interaction events into the database (all-or-nothing; re-importing stores nothing twice).

    Example: campaign-connector import events.csv.gz
    """
    import time

    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from campaign_connector.importer import import_event_files, summary_lines
    from campaign_connector.store import Store

    bar = Progress(TextColumn("Importing"), BarColumn(), TextColumn("{task.fields[rows]:,} rows  {task.fields[rate]}"),
                   TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal)
    task = bar.add_task("import", total=None, rows=0, rate="")
    started = time.monotonic()

    def progress(rows: int, done: int, total: int) -> None:
        rate = rows / max(time.monotonic() - started, 1e-6)
        bar.update(task, completed=done, total=total, rows=rows, rate=f"{rate:,.0f} rows/s")

    with Store.open(db_path(db)) as store, bar:
        summary = import_event_files(store, files, format=format.value, skip_invalid=skip_invalid, rejects=rejects,
                                     user_key=user_key, progress=progress if err.is_terminal else None,
                                     second_process=True)
    for line in summary_lines(summary):
        err.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("import-users")
def import_users(
    file: Path = typer.Argument(..., help="Users file: CSV or JSONL with user_id, timezone, attributes."),
    format: ImportFormat = typer.Option(ImportFormat.auto, "--format", help="csv or jsonl (default: by extension)."),
    db: str | None = DbOption,
) -> None:
    """Import user profiles: time zones, global control group overrides, unsubscribes, attributes.

    Example: campaign-connector import-users users.csv
    """
    from campaign_connector.importer import import_user_files, summary_lines
    from campaign_connector.store import Store

    with Store.open(db_path(db)) as store:
        summary = import_user_files(store, file, format=format.value)
    for line in summary_lines(summary):
        err.print(line, markup=False, highlight=False, soft_wrap=True)


class _ReplayProgress:
    """The progress bar of ``replay`` on a terminal (events read, users, users/s); inactive when piped."""

    def __init__(self, console: Console) -> None:
        import time

        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.clock = time.monotonic
        self.started = self.clock()
        self.bar = Progress(
            TextColumn("replaying"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} events"),
            TextColumn("{task.fields[users]:,} users, {task.fields[rate]:,.0f} users/s"), TimeRemainingColumn(),
            console=console, transient=True, disable=not console.is_terminal,
        )
        self.active = console.is_terminal
        self.task = self.bar.add_task("replay", total=0, users=0, rate=0.0)

    def __enter__(self) -> _ReplayProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, users: int, events: int, total: int) -> None:
        rate = users / max(self.clock() - self.started, 1e-6)
        self.bar.update(self.task, completed=events, total=total, users=users, rate=rate)


def _print_replay_summary(run: RunInfo, order: list[str]) -> None:
    """The per-campaign summary ``replay`` prints on stderr (campaigns in config order), and the run's line."""
    from rich.table import Table

    from campaign_connector.timeutil import format_time

    columns = ("triggered", "sent", "control", "cancelled", "suppressed", "pending")
    campaigns = run.counts.get("campaigns", {})
    names = [c for c in order if c in campaigns] + sorted(set(campaigns) - set(order))
    totals = run.counts.get("totals", {})
    if names:
        table = Table()
        table.add_column("campaign")
        for column in columns:
            table.add_column(column, justify="right")
        for campaign in names:
            table.add_row(campaign, *(f"{campaigns[campaign][column]:,}" for column in columns))
        if len(names) > 1:
            table.add_row("total", *(f"{totals.get(column, 0):,}" for column in columns), style="bold")
        wide = err if err.is_terminal else Console(stderr=True, highlight=False, width=160)  # piped: whole ids
        wide.print(table)
    if run.until is None:
        line = f"The event log is empty: stored run {run.name} with no decisions (import events first)."
    else:
        line = (f"Stored run {run.name} (id {run.id}): {run.users:,} users, {run.events:,} events up to "
                f"{format_time(run.until)}, {totals.get('triggered', 0):,} decisions.")
    if run.options.get("workers") != run.options.get("workers_requested"):
        line += " Ran with 1 worker: an in-memory database cannot be shared with worker processes."
    err.print(line, markup=False, soft_wrap=True)


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
    from campaign_connector.config import InvalidConfig, check_config
    from campaign_connector.errors import InputError
    from campaign_connector.replay import run_replay
    from campaign_connector.store import Store
    from campaign_connector.store.runs import check_run_name
    from campaign_connector.timeutil import TimeParseError, parse_time

    try:
        horizon = None if until is None else parse_time(until)
    except TimeParseError as error:
        raise InputError(f"--until: {error} (give an ISO-8601 time like 2026-01-31T23:59:59Z)") from None
    if name is not None:
        try:
            check_run_name(name)
        except InputError as error:
            raise InputError(f"--name: {error}") from None
    if replace and name is None:
        raise InputError("--replace: give the --name of the run to replace")
    cores = os.cpu_count() or 1
    if workers > cores:
        err.print(f"--workers {workers}: this machine has {cores} cores; using {cores}.")
        workers = cores
    loaded, problems = check_config(config)
    if loaded is None or any(p.is_error for p in problems):
        raise InvalidConfig([p for p in problems if p.is_error] or problems)
    for warning in problems:
        err.print(warning.format(), markup=False, soft_wrap=True)
    path = db_path(db)
    with Store.open(path) as store, _ReplayProgress(err) as bar:  # created on demand: an empty log is a run too
        run = run_replay(store, loaded, until=horizon, name=name, workers=workers, db_path=path,
                         progress=bar if bar.active else None, replace=replace)
    _print_replay_summary(run, [c.id for c in loaded.campaigns])
    print(run.name)


@app.command()
def report(
    run: str | None = RunOption,
    format: ReportFormat = typer.Option(ReportFormat.table, "--format", help="table, json or csv."),
    db: str | None = DbOption,
) -> None:
    """Per campaign: triggered, sent, control, cancelled, suppressed by reason, pending, conversions.

    Example: campaign-connector report --format json
    """
    from rich.console import Group

    from campaign_connector import report as render
    from campaign_connector.inspection import build_report
    from campaign_connector.store import Store
    from campaign_connector.store.runs import find_run

    with Store.open(db_path(db), create=False) as store:
        summary = build_report(store, find_run(store, run))
    if format is ReportFormat.json:
        sys.stdout.write(render.report_json(summary))
    elif format is ReportFormat.csv:
        render.write_report_csv(summary, sys.stdout)
    else:
        _table_console().print(Group(*render.report_renderables(summary)))


@app.command()
def sends(
    run: str | None = RunOption,
    user: str | None = typer.Option(None, "--user", help="Only this user."),
    campaign: str | None = typer.Option(None, "--campaign", help="Only this campaign."),
    status: str | None = typer.Option(None, "--status", help="Only this status."),
    reason: str | None = typer.Option(None, "--reason", help="Only this reason."),
    since: str | None = typer.Option(None, "--since", help="Triggered at or after this time."),
    before: str | None = typer.Option(None, "--before", help="Triggered before this time."),
    format: SendsFormat = typer.Option(SendsFormat.table, "--format", help="table, csv or jsonl."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
    limit: int = typer.Option(50, "--limit", min=0, help="Rows the table shows (0 = all); csv/jsonl give all."),
    db: str | None = DbOption,
) -> None:
    """The decisions of a run, one row per trigger.

    Example: campaign-connector sends --campaign discount_push --status suppressed --format csv
    """
    from itertools import islice

    from campaign_connector import report as render
    from campaign_connector.errors import InputError
    from campaign_connector.inspection import check_campaign, sends_filter
    from campaign_connector.store import Store
    from campaign_connector.store.results import count_decisions, iter_decisions
    from campaign_connector.store.runs import find_run

    filt = sends_filter(user=user, campaign=campaign, status=status, reason=reason, since=since, before=before)
    if format is SendsFormat.table and output is not None:  # -o FILE.csv / FILE.jsonl says the format itself
        by_suffix = {".csv": SendsFormat.csv, ".jsonl": SendsFormat.jsonl, ".ndjson": SendsFormat.jsonl}
        if output.suffix.lower() not in by_suffix:
            raise InputError(f"{output}: the table is for the terminal; write a file with --format csv or jsonl")
        format = by_suffix[output.suffix.lower()]
    if output is not None and output.resolve() == db_path(db).resolve():
        raise InputError(f"{output}: is the database; give -o another file")
    with Store.open(db_path(db), create=False) as store:
        found = find_run(store, run)
        check_campaign(store, [found], campaign)
        rows = iter_decisions(store, found.id, filt)
        if format is SendsFormat.table:
            total = count_decisions(store, found.id, filt)
            if total:
                Console(highlight=False).print(render.sends_table(islice(rows, limit or None), found.name))
            given = [("--user", user), ("--campaign", campaign), ("--status", status), ("--reason", reason),
                     ("--since", since), ("--before", before)]
            command = " ".join(["campaign-connector sends --run", found.name,
                                *(f"{flag} {value}" for flag, value in given if value is not None),
                                "--format csv -o FILE"])
            note = render.more_rows_note(min(limit or total, total), total, command)
            if note or not total:
                err.print(note or "no decisions match", markup=False, soft_wrap=True)
            return
        writer = render.write_sends_csv if format is SendsFormat.csv else render.write_sends_jsonl
        with render.atomic_output(output, newline="") as out:
            written = writer(rows, found.name, out)
    if output is not None:
        err.print(f"wrote {written:,} decisions to {output}", markup=False, soft_wrap=True)


@app.command()
def explain(
    user: str = typer.Argument(..., help="The user id."),
    run: str | None = RunOption,
    campaign: str | None = typer.Option(None, "--campaign", help="Only this campaign's decisions."),
    db: str | None = DbOption,
) -> None:
    """One user's timeline: events, triggers, pending sends, exceptions, caps, and each decision and why.

    Example: campaign-connector explain u00042
    """
    from rich.console import Group

    from campaign_connector import report as render
    from campaign_connector.inspection import build_explanation
    from campaign_connector.store import Store
    from campaign_connector.store.runs import find_run

    with Store.open(db_path(db), create=False) as store:
        explanation = build_explanation(store, find_run(store, run), user, campaign)
    for note in explanation.notes:
        err.print(f"note: {note}", markup=False, soft_wrap=True)
    _table_console().print(Group(*render.explain_renderables(explanation)))


@app.command()
def diff(
    run_a: str = typer.Argument(..., help="The baseline run (name or id)."),
    run_b: str = typer.Argument(..., help="The what-if run (name or id)."),
    campaign: str | None = typer.Option(None, "--campaign", help="Only this campaign."),
    user: str | None = typer.Option(None, "--user", help="Only this user."),
    format: ReportFormat = typer.Option(ReportFormat.table, "--format", help="table, json or csv."),
    fail_on_change: bool = typer.Option(False, "--fail-on-change", help="Exit 1 when a send was gained, lost or "
                                        "moved."),
    db: str | None = DbOption,
) -> None:
    """What-if: each user's sends paired between two runs — gained, lost and moved, per campaign and per user.

    Example: campaign-connector diff baseline what-if
    """
    from itertools import islice

    from rich.console import Group

    from campaign_connector import report as render
    from campaign_connector.inspection import build_diff, check_campaign, iter_send_changes
    from campaign_connector.store import Store
    from campaign_connector.store.runs import find_run

    with Store.open(db_path(db), create=False) as store:
        a, b = find_run(store, run_a), find_run(store, run_b)
        check_campaign(store, [b, a], campaign)
        summary = build_diff(store, a, b, user=user, campaign=campaign)
        rows = iter_send_changes(store, a, b, user=user, campaign=campaign)
        if format is ReportFormat.json:
            render.write_diff_json(summary, rows, sys.stdout)
        elif format is ReportFormat.csv:
            render.write_diff_csv(rows, sys.stdout)
        else:
            _table_console().print(Group(*render.diff_renderables(summary, islice(rows, render.TABLE_ROWS))))
            note = render.more_rows_note(render.TABLE_ROWS, summary.differences,
                                         f"campaign-connector diff {a.name} {b.name} --format csv > FILE")
            if note:
                err.print(note, markup=False, soft_wrap=True)
    if fail_on_change and summary.differences:
        raise typer.Exit(EXIT_ERROR)


@app.command()
def runs(
    delete: str | None = typer.Option(None, "--delete", help="Delete this run (name or id)."),
    db: str | None = DbOption,
) -> None:
    """The stored runs.

    Example: campaign-connector runs
    """
    from rich.table import Table

    from campaign_connector.store import Store
    from campaign_connector.store.runs import delete_run, list_runs

    with Store.open(db_path(db), create=False) as store:
        if delete is not None:
            gone = delete_run(store, delete)
            decisions = gone.counts.get("totals", {}).get("triggered", 0)
            err.print(f"Deleted run {gone.name} (id {gone.id}) and its {decisions:,} decisions.", markup=False)
            return
        stored = list_runs(store)
    if not stored:
        err.print("No runs yet (run `campaign-connector replay CONFIG` first).", markup=False)
        return
    table = Table()
    for column in ("name", "id", "created", "config", "events", "users", "decisions", "sent"):
        table.add_column(column, justify="left" if column in {"name", "created", "config"} else "right")
    for r in stored:
        totals = r.counts.get("totals", {})
        table.add_row(r.name, str(r.id), r.created_at, r.config_hash[:12], f"{r.events:,}", f"{r.users:,}",
                      f"{totals.get('triggered', 0):,}", f"{totals.get('sent', 0):,}")
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=160)  # piped: whole cells, never an ellipsis
    out.print(table)


@app.command()
def demo() -> None:
    """The whole pipeline on the shipped sample data, in a throw-away database.

    Example: campaign-connector demo
    """
    import tempfile

    from campaign_connector.demo import next_steps, sample_data, showcase_user

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
            err.rule(f"{number}/{len(steps)} {title}: campaign-connector {args[0]}")
            app(args, prog_name="campaign-connector", standalone_mode=False)
        user = showcase_user(data.db)
    err.rule("What next")
    for line in next_steps(user):
        err.print(line, markup=False, highlight=False, soft_wrap=True)


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
    from rich.progress import Progress

    from campaign_connector.config import load_config
    from campaign_connector.generate import example_config_path, generate_log, parse_start

    workspace = load_config(config or example_config_path())
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("Generating (days)", total=days)
        summary = generate_log(
            workspace, output, users=users, days=days, seed=seed, start=parse_start(start), users_file=users_file,
            progress=lambda done, total: bar.update(task, completed=done),
        )
    err.print(summary.describe(), markup=False)


@app.command()
def schema() -> None:
    """The campaign file's JSON Schema, for editors.

    Example: campaign-connector schema > campaigns.schema.json
    """
    from campaign_connector.jsonschema import schema_json

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
    from campaign_connector.errors import InputError
    from campaign_connector.scenarios import render_junit, render_text, run_paths

    report = run_paths(paths)
    text = render_junit(report) if format is TestFormat.junit else render_text(report)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise InputError(f"{output}: cannot write the report ({error.strerror or error})") from None
    if output is not None or format is TestFormat.junit:
        err.print(report.summary())
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def doctor(db: str | None = DbOption) -> None:
    """Check a database: integrity, schema version, and what it holds. Exit 1 when it is not healthy.

    Example: campaign-connector doctor --db campaign_connector.db
    """
    from campaign_connector.store import Store
    from campaign_connector.store.doctor import check
    from campaign_connector.timeutil import format_time

    with Store.open(db_path(db), create=False) as store:
        health = check(store)
    rows = [
        ("database", health.path),
        ("size", f"{health.size_bytes / 1e6:.1f} MB"),
        ("schema version", f"{health.schema_version} (this campaign-connector writes {health.current_version})"),
        ("integrity", "; ".join(health.integrity[:5])),
        ("events", f"{health.events:,} from {health.users:,} users"),
        ("time span", f"{format_time(health.first_event) or '-'} .. {format_time(health.last_event) or '-'}"),
        ("users file rows", f"{health.profiles:,}"),
        ("imports", f"{health.imports:,}"),
        ("runs", f"{health.runs:,}" + (f" (+{health.stale_runs} interrupted)" if health.stale_runs else "")),
    ]
    for label, value in rows:
        print(f"{label:>16}: {value}")
    if not health.ok:
        raise typer.Exit(EXIT_ERROR)


#: The database the running command uses (set by ``db_path``), to name it when SQLite fails mid-read.
_db_in_use: Path | None = None


def db_path(option: str | None) -> Path:
    """The database location rule of SPEC §5 (remembered, so that an SQLite failure can name the file)."""
    global _db_in_use
    _db_in_use = resolve_db_path(option)
    return _db_in_use


def main() -> None:
    """Console-script entry point. Usage errors exit 2 (Click); foreseen errors print one line and exit 1."""
    try:
        app(prog_name="campaign-connector")
    except CampaignConnectorError as error:
        err.print(f"Error: {error}", markup=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except sqlite3.Error as error:
        # The store translates what it foresees; damage found later, mid-read, still gets one line naming the file.
        err.print(f"Error: {describe_sqlite_error(_db_in_use or 'database', error)}", markup=False, soft_wrap=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        err.print("Interrupted; nothing was half-written.")
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(EXIT_ERROR)
