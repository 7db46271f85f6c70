"""The summaries and small tables of single commands: ``replay``'s per-campaign counts, the ``runs`` table, the
``sends`` footer, ``explain``'s page, ``doctor``'s rows. Plain data in, text out; no business rules."""

from __future__ import annotations

from typing import TextIO

from rich.table import Table

from campaign_connector.model import Health, RunInfo
from campaign_connector.render.console import say, wide_console
from campaign_connector.report import more_rows_note
from campaign_connector.timeutil import format_time

#: The counts of ``replay``'s summary table, in column order.
REPLAY_COLUMNS: tuple[str, ...] = ("triggered", "sent", "control", "cancelled", "suppressed", "pending")


def print_replay_summary(run: RunInfo, order: list[str]) -> None:
    """The per-campaign summary ``replay`` prints on stderr (campaigns in config order), and the run's line."""
    campaigns = run.counts.get("campaigns", {})
    names = [c for c in order if c in campaigns] + sorted(set(campaigns) - set(order))
    totals = run.counts.get("totals", {})
    if names:
        table = Table()
        table.add_column("campaign")
        for column in REPLAY_COLUMNS:
            table.add_column(column, justify="right")
        for campaign in names:
            table.add_row(campaign, *(f"{campaigns[campaign][column]:,}" for column in REPLAY_COLUMNS))
        if len(names) > 1:
            table.add_row("total", *(f"{totals.get(column, 0):,}" for column in REPLAY_COLUMNS), style="bold")
        wide_console(stderr=True).print(table)
    if run.until is None:
        line = f"The event log is empty: stored run {run.name} with no decisions (import events first)."
    else:
        line = (f"Stored run {run.name} (id {run.id}): {run.users:,} users, {run.events:,} events up to "
                f"{format_time(run.until)}, {totals.get('triggered', 0):,} decisions.")
    if run.options.get("workers") != run.options.get("workers_requested"):
        line += " Ran with 1 worker: an in-memory database cannot be shared with worker processes."
    say(line)


def print_deleted_run(run: RunInfo) -> None:
    """``runs --delete``'s line on stderr."""
    decisions = run.counts.get("totals", {}).get("triggered", 0)
    say(f"Deleted run {run.name} (id {run.id}) and its {decisions:,} decisions.", soft_wrap=False)


def print_sends_footer(shown: int, total: int, run_name: str, filters: list[tuple[str, str | None]]) -> None:
    """Under ``sends``' table, on stderr: how many rows were left out and the command that writes them all
    (with the ``filters`` given, as (option, value)), or that no decision matches."""
    command = " ".join(["campaign-connector sends --run", run_name,
                        *(f"{flag} {value}" for flag, value in filters if value is not None), "--format csv -o FILE"])
    note = more_rows_note(shown, total, command)
    if note or not total:
        say(note or "no decisions match")


def health_rows(health: Health) -> list[tuple[str, str]]:
    """``doctor``'s (label, value) rows."""
    runs = f"{health.runs:,}" + (f" (+{health.stale_runs} interrupted)" if health.stale_runs else "")
    return [
        ("database", health.path),
        ("size", f"{health.size_bytes / 1e6:.1f} MB"),
        ("schema version", f"{health.schema_version} (this campaign-connector writes {health.current_version})"),
        ("integrity", "; ".join(health.integrity[:5])),
        ("events", f"{health.events:,} from {health.users:,} users"),
        ("time span", f"{format_time(health.first_event) or '-'} .. {format_time(health.last_event) or '-'}"),
        ("users file rows", f"{health.profiles:,}"),
        ("imports", f"{health.imports:,}"),
        ("runs", runs),
        ("tables", ", ".join(f"{name} {count:,}" for name, count in health.tables.items())),
        ("readable views", ", ".join(health.views) + (f" (missing: {', '.join(health.missing_views)})"
                                                      if health.missing_views else "")),
    ]


def print_health(health: Health, out: TextIO) -> None:
    """``doctor``'s report: one ``label: value`` line per row, labels right-aligned."""
    for label, value in health_rows(health):
        out.write(f"{label:>16}: {value}\n")
