"""Rendering for the inspection commands: Rich renderables for the terminal, and csv/json/jsonl writers.

No business rules here — the data comes shaped from ``inspection`` and ``store.results``. Writers take any
iterable and write row by row, so streamed rows are never all in memory. Every machine format is
deterministic: fixed key and column order, times as ``timeutil.format_time``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TextIO

from rich import box
from rich.cells import cell_len
from rich.columns import Columns
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from campaign_connector.inspection import (
    SUPPRESSION_REASONS,
    CampaignDiff,
    CampaignSummary,
    Explanation,
    RunDiff,
    RunReport,
)
from campaign_connector.model import RunInfo, SendChange, StoredDecision
from campaign_connector.stats import MIN_USERS, Lift, SampleRatio
from campaign_connector.timeutil import DAY_MS, format_time
from campaign_connector.vocabulary import DECISION_FIELDS, DECISION_TIMES, REASON_TEXT, STATUSES

#: Rows a terminal table shows before saying how many more there are.
TABLE_ROWS = 50
#: Widest bar of the daily chart, in characters.
CHART_WIDTH = 40
#: Days the chart shows one bar each; longer runs are charted by week.
CHART_MAX_DAYS = 62
#: Colours of the campaigns in the stacked chart (cycled).
PALETTE: tuple[str, ...] = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")


def _int(n: int) -> str:
    return f"{n:,}"


def _rate(count: int | None, rate: float | None) -> str:
    if count is None:
        return "–"  # no conversion events: no figure, not 0
    return f"{_int(count)}" if rate is None else f"{_int(count)} ({rate:.1%})"


def _day(ms: int) -> str:
    return format_time(ms)[:10]  # type: ignore[index]


def _week_start(day_ms: int) -> int:
    """The Monday (UTC) of the week holding ``day_ms``."""
    return day_ms - datetime.fromtimestamp(day_ms / 1000, UTC).weekday() * DAY_MS


# --------------------------------------------------------------------------------------------------
# sends


#: ``format_time`` remembering recent values: a row's times often repeat, and so do neighbouring rows'.
_format_time = lru_cache(maxsize=65_536)(format_time)


def decision_record(d: StoredDecision, run_name: str) -> dict[str, Any]:
    """A decision as a JSON object: keys in ``DECISION_FIELDS`` order, times formatted, channels a list."""
    (_, user_id, campaign, status, reason, detail, trigger, source, event_id, triggered, due, sent, variant,
     channels) = d
    return {"run": run_name, "user_id": user_id, "campaign": campaign, "status": status, "reason": reason,
            "detail": detail, "trigger": trigger, "source_campaign": source, "trigger_event_id": event_id,
            "triggered_at": _format_time(triggered), "due_at": _format_time(due), "sent_at": _format_time(sent),
            "variant": variant, "channels": list(channels)}


def decision_csv_row(d: StoredDecision, run_name: str) -> list[str]:
    """A decision as CSV cells in ``DECISION_FIELDS`` order: null → empty, channels ``;``-joined."""
    (_, user_id, campaign, status, reason, detail, trigger, source, event_id, triggered, due, sent, variant,
     channels) = d
    return [run_name, user_id, campaign, status, reason or "", detail or "", trigger, source or "", event_id,
            _format_time(triggered) or "", _format_time(due) or "", _format_time(sent) or "", variant or "",
            ";".join(channels)]


def write_sends_csv(decisions: Iterable[StoredDecision], run_name: str, out: TextIO) -> int:
    """Header then one row per decision; returns the rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DECISION_FIELDS)
    count = 0
    for d in decisions:
        writer.writerow(decision_csv_row(d, run_name))
        count += 1
    return count


#: Line and paragraph separators are valid inside JSON strings, but tools that split lines the way Python's
#: ``str.splitlines`` does would cut a row there: escape them.
_LINE_SEPARATORS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029"})


def write_sends_jsonl(decisions: Iterable[StoredDecision], run_name: str, out: TextIO) -> int:
    """One compact JSON object per line; returns the rows written."""
    count = 0
    for d in decisions:
        line = json.dumps(decision_record(d, run_name), ensure_ascii=False, separators=(",", ":"))
        out.write(line.translate(_LINE_SEPARATORS) + "\n")
        count += 1
    return count


def write_sends_json(decisions: Iterable[StoredDecision], run_name: str, out: TextIO) -> int:
    """One JSON array of decision objects, one per line (streamed); returns the rows written."""
    count = 0
    out.write("[")
    for d in decisions:
        line = json.dumps(decision_record(d, run_name), ensure_ascii=False, separators=(",", ":"))
        out.write(("\n" if not count else ",\n") + line.translate(_LINE_SEPARATORS))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write_sends_parquet(decisions: Iterable[StoredDecision], run_name: str, out: TextIO) -> int:
    """The decisions as Parquet (``tables.decision_schema``) into ``out``'s binary buffer; returns the rows."""
    from campaign_connector.tables import decision_batches, decision_schema, write_parquet

    out.flush()
    return write_parquet(decision_batches(decisions, run_name), out.buffer, decision_schema())


def offset(start: int, ms: int | None) -> str:
    """``ms`` as a compact offset from ``start``: ``+0``, ``+90s``, ``+1h``, ``+2d 3h 5m``; None → empty."""
    if ms is None:
        return ""
    seconds, millis = divmod(ms - start, 1000)
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    if millis:
        parts.append(f"{millis}ms")
    return sign + (" ".join(parts) or "0")


#: The columns of the terminal table; ``due`` and ``sent`` are offsets from ``triggered_at`` to keep it
#: narrow (csv and jsonl carry every field, times in full).
SENDS_TABLE_COLUMNS: tuple[str, ...] = (
    "user_id", "campaign", "status", "reason", "triggered_at", "due", "sent", "channels", "detail",
)
#: The fewest columns ``detail`` is folded into; with less room left, reason and detail go under their row.
SENDS_DETAIL_MIN_WIDTH = 30

_GAP = 2
"""Spaces between two columns (and one at the left edge), as the other tables' ``box.SIMPLE_HEAD``."""
_VISIBLE = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t"})
"""Line breaks and tabs in ids and details, shown escaped so that each row keeps its lines."""


class SendsTable:
    """The decisions as a terminal table (``SENDS_TABLE_COLUMNS``), laid out for the width it is printed in.

    User, campaign, status and times are never wrapped. When at least ``SENDS_DETAIL_MIN_WIDTH`` columns (or the
    longest detail) are left beside the other columns, ``detail`` is a column folded into what is left.
    Otherwise each row's reason and detail go on a line of their own under its campaign — and its channels too
    when even the rest does not fit — so that a
    100-column terminal still shows every campaign and time whole; narrower still, each decision is a block of
    ``field: value`` lines (``FoldingTable``).
    """

    def __init__(self, title: str, rows: list[list[str]]) -> None:
        self.title = title
        """``Decisions of run NAME``."""
        self.rows = rows
        """One list of cells per decision, in ``SENDS_TABLE_COLUMNS`` order."""

    def _widths(self, columns: tuple[str, ...]) -> list[int]:
        """Each column's width: its widest cell or header."""
        return [max(cell_len(cell) for cell in (name, *(row[SENDS_TABLE_COLUMNS.index(name)] for row in self.rows)))
                for name in columns]

    def _layout(self, width: int) -> tuple[tuple[str, ...], list[int], tuple[str, ...]]:
        """The columns on a row's line, their widths, and the fields that go under it."""
        columns = SENDS_TABLE_COLUMNS[:-1]
        widths = self._widths(columns)
        longest = max((cell_len(row[-1]) for row in self.rows), default=0)
        room = width - sum(widths) - _GAP * len(widths)
        if room >= min(longest, SENDS_DETAIL_MIN_WIDTH):
            return SENDS_TABLE_COLUMNS, [*widths, max(0, min(longest, room))], ()
        for below in (("reason", "detail"), ("channels", "reason", "detail")):
            columns = tuple(name for name in SENDS_TABLE_COLUMNS if name not in below)
            widths = self._widths(columns)
            if sum(widths) + _GAP * (len(widths) - 1) <= width:
                break
        return columns, widths, below

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width - 1  # after the space at the left edge
        columns, widths, below = self._layout(width)
        if sum(widths) + _GAP * (len(widths) - 1) > width:  # even the narrowest layout would cut: one block a row
            yield FoldingTable(self.title, list(SENDS_TABLE_COLUMNS), self.rows)
            return
        shown = [SENDS_TABLE_COLUMNS.index(name) for name in columns]
        yield Text(self.title, style="table.title", no_wrap=True, overflow="ellipsis")
        yield Text()
        yield _sends_line(list(columns), widths, style="bold")
        yield Text(" " + "─" * (sum(widths) + _GAP * (len(widths) - 1)), no_wrap=True, overflow="crop")
        if not below:  # detail is the last column: its folded lines continue under it
            pad = " " * (1 + sum(widths[:-1]) + _GAP * (len(widths) - 1))
            for row in self.rows:
                lines = Text(row[-1]).wrap(console, max(widths[-1], 1), overflow="fold") if row[-1] else [Text()]
                yield _sends_line([*(row[i] for i in shown[:-1]), lines[0].plain], widths)
                for line in lines[1:]:
                    yield Text(pad + line.plain, no_wrap=True, overflow="ellipsis")
            yield Text()
            return
        indent = " " * (1 + widths[0] + _GAP)  # under the campaign, unless a very long user id leaves no room
        if width - len(indent) < SENDS_DETAIL_MIN_WIDTH:
            indent = " " * (1 + _GAP)
        for row in self.rows:
            yield _sends_line([row[i] for i in shown], widths)
            under = _under_line(dict(zip(SENDS_TABLE_COLUMNS, row, strict=True)), below)
            if under:
                for line in Text(under).wrap(console, max(width + 1 - len(indent), 1), overflow="fold"):
                    yield Text(indent + line.plain, style="dim", no_wrap=True, overflow="ellipsis")
        yield Text()


def _under_line(cells: dict[str, str], below: tuple[str, ...]) -> str:
    """The fields shown under a row: ``channels · reason: detail`` (a detail that starts with its reason alone)."""
    reason, detail = cells["reason"], cells["detail"]
    why = f"{reason}: {detail}" if reason and detail and not detail.startswith(reason) else detail or reason
    parts = [cells["channels"]] if "channels" in below else []
    return " · ".join(part for part in (*parts, why) if part)


def _sends_line(cells: list[str], widths: list[int], style: str = "") -> Text:
    """One line of the table: each cell padded to its column's width, the last one not padded."""
    line = Text(" ", style=style, no_wrap=True, overflow="ellipsis")
    for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        line.append(cell if i == len(cells) - 1 else cell + " " * (width - cell_len(cell) + _GAP))
    line.rstrip()
    return line


def sends_table(decisions: Iterable[StoredDecision], run_name: str) -> SendsTable:
    """The decisions as a terminal table (``SendsTable``)."""
    rows = [[cell.translate(_VISIBLE) for cell in (
        d.user_id, d.campaign, d.status, d.reason or "", format_time(d.triggered_at) or "",
        offset(d.triggered_at, d.due_at), offset(d.triggered_at, d.sent_at), ";".join(d.channels), d.detail or "",
    )] for d in decisions]
    return SendsTable(f"Decisions of run {run_name}", rows)


def more_rows_note(shown: int, total: int, command: str) -> str | None:
    """"showing 50 of 1,234 ..." with ``command``, which gets them all; None when everything was shown."""
    if total <= shown:
        return None
    return f"showing {_int(shown)} of {_int(total)} rows ({_int(total - shown)} more); all of them: {command}"


class FoldingTable:
    """A table that never cuts a number or a word: laid out as columns when the width allows every cell whole
    (the ``wrap`` columns wrapped between words), else folded into one block of ``header: value`` lines per
    row. The last row is a footer (set off by a rule) when ``footer`` is set."""

    def __init__(self, title: str, headers: list[str], rows: list[list[str]], *, right: Iterable[int] = (),
                 wrap: Iterable[int] = (), footer: list[str] | None = None, plain: bool = False) -> None:
        self.title = title
        """Shown above the table (and above the blocks)."""
        self.headers = headers
        """Column headers."""
        self.rows = rows
        """Cells, one list per row."""
        self.right = frozenset(right)
        """Indices of right-aligned (numeric) columns."""
        self.wrap = frozenset(wrap)
        """Indices of text columns that may wrap between words."""
        self.footer = footer
        """A totals row, or None."""
        self.plain = plain
        """No rule under the headers, one space between columns (a timeline rather than a table)."""

    def _min_width(self, column: int) -> int:
        cells = [self.headers[column], *(row[column] for row in self._all_rows())]
        if column in self.wrap:
            return max(cell_len(word) for cell in cells for word in (cell.split() or [""]))
        return max(cell_len(cell) for cell in cells)

    def _all_rows(self) -> list[list[str]]:
        return [*self.rows, *([self.footer] if self.footer else [])]

    def needed_width(self) -> int:
        """The narrowest width that shows every cell whole as columns."""
        return sum(self._min_width(i) for i in range(len(self.headers))) + _GAP * (len(self.headers) - 1)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.needed_width() <= options.max_width:
            table = Table(title=self.title, title_justify="left", header_style="bold",
                          show_footer=self.footer is not None, **({"box": None, "padding": (0, 1)} if self.plain else
                             {"box": box.SIMPLE_HEAD, "pad_edge": False, "collapse_padding": True}))
            for i, header in enumerate(self.headers):
                table.add_column(header, footer=self.footer[i] if self.footer else "",
                                 justify="right" if i in self.right else "left", no_wrap=i not in self.wrap,
                                 min_width=self._min_width(i) if i in self.wrap else None, overflow="fold")
            for row in self.rows:
                table.add_row(*row)
            yield table
            return
        yield Text(self.title, style="table.title")
        label = max(cell_len(h) for h in self.headers)
        width = max(options.max_width - label - 2, 1)
        for n, row in enumerate(self._all_rows()):
            yield Text()
            for header, cell in zip(self.headers, row, strict=True):
                lines = Text(cell).wrap(console, width, overflow="fold") if cell else [Text()]
                style = "bold" if self.footer and n == len(self.rows) else ""
                yield Text(f"{header:<{label}}: ", style="bold").append(lines[0].plain, style=style)
                for line in lines[1:]:
                    yield Text(" " * (label + 2) + line.plain)
        yield Text()


# --------------------------------------------------------------------------------------------------
# report

def report_columns() -> list[str]:
    """The csv header of ``report``: ``suppressed_<reason>`` for every suppression reason, in rule order."""
    return ["campaign", "triggered", "sent", "control", "cancelled", "suppressed",
            *(f"suppressed_{r}" for r in SUPPRESSION_REASONS), "pending", "converted_sent", "converted_control",
            "conversion_rate_sent", "conversion_rate_control", *(f"lift_{k}" for k in LIFT_KEYS),
            *(f"sample_ratio_{k}" for k in SAMPLE_RATIO_KEYS)]


#: The keys of a campaign's ``lift`` object (SPEC §5.2).
LIFT_KEYS: tuple[str, ...] = ("rate_sent", "rate_control", "difference", "ci95_low", "ci95_high", "p_value")
#: The keys of a campaign's ``sample_ratio`` object (SPEC §5.2).
SAMPLE_RATIO_KEYS: tuple[str, ...] = ("expected_control", "observed_control", "p_value")


def _figure(value: float) -> float:
    """A statistic for the machine formats: six significant digits (stable across platforms' last bits)."""
    return float(f"{value:.6g}")


def lift_record(lift: Lift | None) -> dict[str, float] | None:
    """A lift as a JSON object (``LIFT_KEYS``), or None."""
    return None if lift is None else {key: _figure(getattr(lift, key)) for key in LIFT_KEYS}


def sample_ratio_record(ratio: SampleRatio | None) -> dict[str, float] | None:
    """A sample-ratio check as a JSON object (``SAMPLE_RATIO_KEYS``), or None."""
    return None if ratio is None else {key: _figure(getattr(ratio, key)) for key in SAMPLE_RATIO_KEYS}


def summary_record(s: CampaignSummary) -> dict[str, Any]:
    """A campaign's counts as a JSON object (stable keys, every suppression reason present)."""
    return {
        "campaign": s.campaign, "triggered": s.triggered, "sent": s.sent, "control": s.control,
        "cancelled": s.cancelled, "suppressed": s.suppressed, "suppressed_by_reason": dict(s.suppressed_by_reason),
        "pending": s.pending, "converted_sent": s.converted_sent, "converted_control": s.converted_control,
        "conversion_rate_sent": s.conversion_rate_sent, "conversion_rate_control": s.conversion_rate_control,
        "lift": lift_record(s.lift), "sample_ratio": sample_ratio_record(s.sample_ratio),
    }


def run_record(run: RunInfo) -> dict[str, Any]:
    """The identifying fields of a run."""
    return {"name": run.name, "id": run.id, "created_at": run.created_at, "config_hash": run.config_hash,
            "until": format_time(run.until)}


#: The keys of a run in ``runs --format json/csv/jsonl``, in order.
RUN_LIST_KEYS: tuple[str, ...] = (
    "name", "id", "created_at", "config_file", "config_path", "config_hash", "until", "events", "users",
    "decisions", *STATUSES, "seconds",
)


def runs_records(runs: Iterable[RunInfo]) -> list[dict[str, Any]]:
    """Stored runs as JSON objects (``RUN_LIST_KEYS``): the config file, its hash, the horizon, the counts and
    the time the replay took (null for runs stored before it was recorded)."""
    records = []
    for run in runs:
        totals = run.counts.get("totals", {})
        records.append({
            "name": run.name, "id": run.id, "created_at": run.created_at, "config_file": run.config_name,
            "config_path": run.config_path, "config_hash": run.config_hash, "until": format_time(run.until),
            "events": run.events, "users": run.users, "decisions": totals.get("triggered", 0),
            **{status: totals.get(status, 0) for status in STATUSES}, "seconds": run.seconds,
        })
    return records


def write_runs_json(runs: list[RunInfo], out: TextIO) -> None:
    """``runs --format json``: an array of ``runs_records``."""
    out.write(json.dumps(runs_records(runs), indent=2, ensure_ascii=False) + "\n")


def write_runs_jsonl(runs: list[RunInfo], out: TextIO) -> None:
    """``runs --format jsonl``: one run per line."""
    for record in runs_records(runs):
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def write_runs_csv(runs: list[RunInfo], out: TextIO) -> None:
    """``runs --format csv``: ``RUN_LIST_KEYS`` columns, null → empty."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RUN_LIST_KEYS)
    for record in runs_records(runs):
        writer.writerow("" if record[key] is None else record[key] for key in RUN_LIST_KEYS)


def runs_table(runs: list[RunInfo]) -> FoldingTable:
    """The stored runs for the terminal: config file and hash (its first 8 characters), horizon, counts, the time
    the replay took."""
    rows = [[record["name"], str(record["id"]), record["config_file"], record["config_hash"][:8],
             record["until"] or "-", _int(record["events"]), _int(record["users"]), _int(record["decisions"]),
             _int(record["sent"]), "-" if record["seconds"] is None else f"{record['seconds']:.1f} s"]
            for record in runs_records(runs)]
    return FoldingTable("Runs (--format json has every field)", ["name", "id", "config", "sha256", "until",
                                                                 "events", "users", "decisions", "sent", "took"],
                        rows, right={1, 5, 6, 7, 8, 9})


def report_json(rep: RunReport) -> str:
    """``report --format json``: one indented JSON document."""
    document = {
        "run": run_record(rep.run),
        "campaigns": [summary_record(s) for s in rep.campaigns],
        "total": {k: v for k, v in summary_record(rep.total).items() if k != "campaign"},
        "daily_sent": [{"date": _day(day), "sent": sum(counts.values()), "campaigns": counts}
                       for day, counts in rep.daily_sent],
        "bot_clicks": rep.bot_clicks,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def report_csv_rows(rep: RunReport, empty: Any = "") -> Iterator[list[Any]]:
    """One row per campaign, cells in ``report_columns()`` order; a figure that does not apply is ``empty``."""
    for s in rep.campaigns:
        row = [s.campaign, s.triggered, s.sent, s.control, s.cancelled, s.suppressed,
               *(s.suppressed_by_reason.get(reason, 0) for reason in SUPPRESSION_REASONS),
               s.pending, *(empty if v is None else v for v in (s.converted_sent, s.converted_control,
                                                                s.conversion_rate_sent, s.conversion_rate_control))]
        for record, keys in ((lift_record(s.lift), LIFT_KEYS),
                             (sample_ratio_record(s.sample_ratio), SAMPLE_RATIO_KEYS)):
            row.extend(empty if record is None else record[key] for key in keys)
        yield row


def write_report_jsonl(rep: RunReport, out: TextIO) -> None:
    """``report --format jsonl``: one campaign's JSON object per line (with the run's name)."""
    for s in rep.campaigns:
        out.write(json.dumps({"run": rep.run.name, **summary_record(s)}, ensure_ascii=False,
                             separators=(",", ":")) + "\n")


def write_report_parquet(rep: RunReport, out: TextIO) -> None:
    """``report --format parquet``: the csv's columns, typed, into ``out``'s binary buffer."""
    from campaign_connector.tables import report_table, write_parquet

    out.flush()
    write_parquet(report_table(rep), out.buffer)


def write_report_csv(rep: RunReport, out: TextIO) -> None:
    """``report --format csv``: one row per campaign, columns ``report_columns()``."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(report_columns())
    writer.writerows(report_csv_rows(rep))


def _lift_cells(s: CampaignSummary) -> list[str]:
    """The lift table's cells of a campaign: users and conversion rates sent / control, the difference with its
    95% interval, the p-value, the sample-ratio check, and what to make of it."""
    lift, ratio = s.lift, s.sample_ratio
    users = f"{_int(s.users_sent)} / {_int(s.users_control)}"
    if lift is None:
        cells = [users, "–", "–", "–"]
    else:
        cells = [users, f"{lift.rate_sent:.1%} / {lift.rate_control:.1%}",
                 f"{lift.difference * 100:+.1f}pp [{lift.ci95_low * 100:+.1f}, {lift.ci95_high * 100:+.1f}]",
                 _p_value(lift.p_value)]
    cells.append("–" if ratio is None else f"{ratio.observed_control:.1%} (configured {ratio.expected_control:.0%}, "
                 f"p {_p_value(ratio.p_value)})")
    notes = []
    if lift is not None and lift.too_small:
        notes.append(f"sample too small to judge (under {MIN_USERS} users on a side)")
    elif lift is None and s.converted_sent is None:
        notes.append("no conversion events")
    if ratio is not None and ratio.mismatch:
        notes.append("warning: sample ratio mismatch (the control share is unlike the configured one)")
    cells.append("; ".join(notes))
    return cells


def _p_value(p: float) -> str:
    return "<0.0001" if p < 0.0001 else f"{p:.4f}"


def report_renderables(rep: RunReport) -> list[RenderableType]:
    """The per-campaign table, the lift table (campaigns with a control group), the suppressed-by-reason table
    (when any), and the daily sends chart. Tables fold into one record per block when too narrow."""
    until = f", until {format_time(rep.run.until)}" if rep.run.until is not None else ""
    total = rep.total
    table = FoldingTable(
        f"Run {rep.run.name} ({rep.run.created_at}{until})",
        ["campaign", "triggered", "sent", "control", "cancelled", "suppressed", "pending", "conv. sent",
         "conv. ctrl"],
        [[s.campaign, _int(s.triggered), _int(s.sent), _int(s.control), _int(s.cancelled), _int(s.suppressed),
          _int(s.pending), _rate(s.converted_sent, s.conversion_rate_sent),
          _rate(s.converted_control, s.conversion_rate_control)] for s in rep.campaigns],
        right=range(1, 9),
        footer=["total", _int(total.triggered), _int(total.sent), _int(total.control), _int(total.cancelled),
                _int(total.suppressed), _int(total.pending), _rate(total.converted_sent, total.conversion_rate_sent),
                _rate(total.converted_control, total.conversion_rate_control)] if rep.campaigns else None,
    )
    out: list[RenderableType] = [table]
    if not rep.total.triggered:
        out.append(Text("This run has no decisions."))
    if rep.bot_clicks:
        out.append(Text(f"{rep.bot_clicks:,} suspected bot clicks in the log were ignored: they trigger, cancel and "
                        "convert nothing."))
    if any(s.converted_sent is None for s in rep.campaigns) and rep.campaigns:
        out.append(Text("conv.: sends (control enrollments) followed by the primary conversion event; – a campaign "
                        "without conversion events (the total counts only campaigns with them)\n", style="dim"))
    tested = [s for s in rep.campaigns if s.sample_ratio is not None or s.lift is not None]
    if tested:
        out.append(FoldingTable(
            "Conversions per user, sent against control (difference in percentage points, 95% Newcombe interval)",
            ["campaign", "users sent / ctrl", "converted", "difference [95% CI]", "p", "control share", "verdict"],
            [[s.campaign, *_lift_cells(s)] for s in tested], right=range(1, 5), wrap={5, 6},
        ))
    reasons = [[s.campaign, reason, _int(count), REASON_TEXT.get(reason, "")]
               for s in rep.campaigns for reason, count in s.suppressed_by_reason.items() if count]
    if reasons:
        out.append(FoldingTable("Suppressed by reason", ["campaign", "reason", "count", "meaning"], reasons,
                                right={2}, wrap={3}))
    if rep.daily_sent:
        out.append(daily_chart(rep.daily_sent, [s.campaign for s in rep.campaigns]))
    return out


class _Bars:
    """The chart's table of stacked bars, the bars as wide as the console leaves room for (up to
    ``CHART_WIDTH``): a bar is never cut."""

    def __init__(self, title: str, label: str, buckets: list[tuple[int, dict[str, int]]], order: list[str],
                 styles: dict[str, tuple[str, str]]) -> None:
        self.title, self.label, self.buckets, self.order, self.styles = title, label, buckets, order, styles

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        top = max(sum(counts.values()) for _, counts in self.buckets)
        count_width = max(len(_int(sum(counts.values()))) for _, counts in self.buckets)
        width = max(1, min(CHART_WIDTH, options.max_width - 10 - max(count_width, 4) - 6))
        chart = Table(title=self.title, title_justify="left", box=None, header_style="bold", padding=(0, 1))
        chart.add_column(self.label, no_wrap=True)
        chart.add_column("sent", justify="right", no_wrap=True)
        chart.add_column("", no_wrap=True)
        for start, counts in self.buckets:
            bar = Text()
            done = 0
            cumulative = 0
            for campaign in self.order:
                if counts.get(campaign):
                    cumulative += counts[campaign]
                    length = round(cumulative / top * width) - done
                    mark, colour = self.styles[campaign]
                    bar.append(mark * length, style=colour)
                    done += length
            chart.add_row(_day(start), _int(sum(counts.values())), bar)
        yield chart


#: The marks of the campaigns in the terminal chart (cycled): each campaign its own character as well as its
#: own colour, so the chart reads without colour (NO_COLOR, a pipe, colour blindness).
CHART_MARKS: tuple[str, ...] = ("█", "▒", "#", "=", "+", "*", "o", "x", "~", "%", "@", "/")


def chart_buckets(days: list[tuple[int, dict[str, int]]]) -> tuple[str, list[tuple[int, dict[str, int]]]]:
    """What a sends chart shows: ``("day", days)``, or for runs longer than ``CHART_MAX_DAYS`` days the sends
    summed per week (weeks start on Monday) as ``("week", weeks)``. The terminal and the HTML chart both use it."""
    if not days or days[-1][0] - days[0][0] < CHART_MAX_DAYS * DAY_MS:
        return "day", days
    weeks: dict[int, dict[str, int]] = {}
    for day, counts in days:
        week = weeks.setdefault(_week_start(day), {})
        for campaign, count in counts.items():
            week[campaign] = week.get(campaign, 0) + count
    return "week", sorted(weeks.items())


def daily_chart(days: list[tuple[int, dict[str, int]]], order: list[str]) -> RenderableType:
    """Sends per UTC day as horizontal bars stacked by campaign — each its own mark and colour, legend below;
    runs longer than ``CHART_MAX_DAYS`` days are charted per week (``chart_buckets``)."""
    unit, buckets = chart_buckets(days)
    label = "day" if unit == "day" else "week of"
    everyone = order + sorted({c for _, counts in buckets for c in counts} - set(order))
    styles = {c: (CHART_MARKS[i % len(CHART_MARKS)], PALETTE[i % len(PALETTE)]) for i, c in enumerate(everyone)}
    chart = _Bars(f"Sends per UTC {unit}", label, buckets, everyone, styles)
    shown = [c for c in everyone if any(counts.get(c) for _, counts in buckets)]
    if len(shown) < 2:
        return chart
    legend = [Text(styles[c][0] * 2, style=styles[c][1]).append(f" {c}", style="") for c in shown]
    return Group(chart, Columns(legend, padding=(0, 2)))


# --------------------------------------------------------------------------------------------------
# diff

#: The fields shown for each side of a send change.
DIFF_SIDE_FIELDS: tuple[str, ...] = ("status", "reason", "detail", "trigger_event_id", "triggered_at", "due_at",
                                     "sent_at", "variant", "channels")

#: diff's csv columns.
DIFF_COLUMNS: tuple[str, ...] = (
    "change", "user_id", "campaign", *(f"a_{f}" for f in DIFF_SIDE_FIELDS), *(f"b_{f}" for f in DIFF_SIDE_FIELDS),
)

#: diff's per-campaign keys (json), in order.
CAMPAIGN_DIFF_KEYS: tuple[str, ...] = (
    "campaign", "sent_a", "sent_b", "gained", "lost", "moved", "unchanged", "users_gained", "users_lost",
    "conversions_a", "conversions_b", "conversions_change",
)


def _side_record(side: StoredDecision | None) -> dict[str, Any] | None:
    if side is None:
        return None
    record: dict[str, Any] = {}
    for name in DIFF_SIDE_FIELDS:
        value = getattr(side, name)
        record[name] = format_time(value) if name in DECISION_TIMES else list(value) if name == "channels" else value
    return record


def diff_record(row: SendChange) -> dict[str, Any]:
    """A send change as a JSON object; ``a``/``b`` are null when that run has no decision to show."""
    return {"change": row.kind, "user_id": row.user_id, "campaign": row.campaign, "a": _side_record(row.a),
            "b": _side_record(row.b)}


def diff_csv_row(row: SendChange) -> list[Any]:
    """A send change as csv cells (``DIFF_COLUMNS``): null → empty, channels ``;``-joined."""
    cells: list[Any] = [row.kind, row.user_id, row.campaign]
    for side in (row.a, row.b):
        values = _side_record(side) or {}
        for name in DIFF_SIDE_FIELDS:
            value = values.get(name)
            cells.append(";".join(value) if isinstance(value, list) else "" if value is None else value)
    return cells


def campaign_diff_record(c: CampaignDiff) -> dict[str, Any]:
    """A campaign's diff counts as a JSON object (``CAMPAIGN_DIFF_KEYS``)."""
    return {key: getattr(c, key) for key in CAMPAIGN_DIFF_KEYS}


def write_diff_json(summary: RunDiff, rows: Iterable[SendChange], out: TextIO) -> None:
    """``diff --format json``: one JSON document; its ``changes`` array is written one element per line."""
    head = {"run_a": run_record(summary.run_a), "run_b": run_record(summary.run_b),
            "differences": summary.differences, "campaigns": [campaign_diff_record(c) for c in summary.campaigns]}
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    out.write(text[:-1] + ',"changes":[')
    separator = "\n"
    for row in rows:
        out.write(separator + json.dumps(diff_record(row), ensure_ascii=False, separators=(",", ":")))
        separator = ",\n"
    out.write("\n]}\n")


def write_diff_jsonl(rows: Iterable[SendChange], out: TextIO) -> None:
    """``diff --format jsonl``: one send change per line."""
    for row in rows:
        out.write(json.dumps(diff_record(row), ensure_ascii=False, separators=(",", ":")) + "\n")


def write_diff_parquet(rows: Iterable[SendChange], out: TextIO) -> None:
    """``diff --format parquet``: the csv's columns, times as timestamps, into ``out``'s binary buffer."""
    from campaign_connector.tables import diff_table, write_parquet

    out.flush()
    write_parquet(diff_table(rows), out.buffer)


def write_diff_csv(rows: Iterable[SendChange], out: TextIO) -> None:
    """``diff --format csv``: one row per send change, columns ``DIFF_COLUMNS`` (null → empty)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DIFF_COLUMNS)
    for row in rows:
        writer.writerow(diff_csv_row(row))


def _side_text(side: StoredDecision | None) -> str:
    """``sent 2026-01-05T10:00:00Z``, ``suppressed frequency_cap``, or ``(no decision)``."""
    if side is None:
        return "(no decision)"
    if side.status == "sent":
        return f"sent {format_time(side.sent_at)}"
    return side.status + (f" {side.reason}" if side.reason else "")


def _signed(n: int | None) -> str:
    return "–" if n is None else f"{n:+,}" if n else "0"


def diff_renderables(summary: RunDiff, rows: Iterable[SendChange]) -> list[RenderableType]:
    """The per-campaign table and the send changes (``rows`` should be limited by the caller)."""
    a, b = summary.run_a.name, summary.run_b.name
    if not summary.differences:
        return [Text(f"no differences between {a} and {b}")]
    table = FoldingTable(
        f"{a} → {b}: sends per campaign, paired per user",
        ["campaign", f"sent ({a})", f"sent ({b})", "gained", "lost", "moved", "unchanged", "users +", "users −",
         "conversions Δ"],
        [[c.campaign, _int(c.sent_a), _int(c.sent_b), _int(c.gained), _int(c.lost), _int(c.moved),
          _int(c.unchanged), _int(c.users_gained), _int(c.users_lost), _signed(c.conversions_change)]
         for c in summary.campaigns],
        right=range(1, 10),
    )
    changes = FoldingTable(
        "Sends gained, lost and moved",
        ["user_id", "campaign", "change", a, b],
        [[row.user_id, row.campaign, row.kind, _side_text(row.a), _side_text(row.b)] for row in rows],
        wrap={3, 4},
    )
    return [table, changes]


# --------------------------------------------------------------------------------------------------
# explain


def _decision_lines(d: StoredDecision, hint: str | None) -> list[tuple[str, str]]:
    """(label, text) lines describing one stored decision."""
    lines: list[tuple[str, str]] = []
    if d.status == "sent":
        variant = f" (variant {d.variant})" if d.variant else ""
        lines.append(("sent", f"{format_time(d.sent_at)} via {', '.join(d.channels) or '-'}{variant}"))
    elif d.status == "control":
        lines.append(("control", f"entered the control group at {format_time(d.due_at)}"))
    elif d.status == "pending":
        lines.append(("pending", f"due {format_time(d.due_at)}, after the run's horizon"))
    else:
        lines.append((d.status, f"{d.reason}: {REASON_TEXT.get(d.reason or '', '')}"))
    source = f" of {d.source_campaign}" if d.source_campaign else ""
    lines.append(("trigger", f"{d.trigger}{source} at {format_time(d.triggered_at)} (event {d.trigger_event_id})"))
    if d.due_at is not None and d.status not in ("pending", "control"):
        lines.append(("due", format_time(d.due_at) or ""))
    if d.detail:
        lines.append(("detail", d.detail))
    if hint:
        lines.append(("note" if d.status == "pending" else "what-if", hint))
    return lines


def explain_record(ex: Explanation) -> dict[str, Any]:
    """``explain --format json``: the user, the timeline, each decision (its §4.2 fields, and ``what_if``),
    the conversions, the events not shown (per event name) and the notes."""
    decisions = []
    for d in ex.decisions:
        record = decision_record(d, ex.run.name)
        record["what_if"] = ex.hints.get(d.seq)
        decisions.append(record)
    return {
        "run": run_record(ex.run), "user_id": ex.user_id, "campaign": ex.campaign,
        "since": format_time(ex.since), "until": format_time(ex.until),
        "timeline": None if ex.trace is None else [
            {"time": format_time(t.time), "kind": t.kind, "campaign": t.campaign, "text": t.text} for t in ex.trace],
        "events_not_shown": ex.hidden, "decisions": decisions,
        "conversions": [{"time": format_time(c.time), "campaign": c.campaign, "conversion_index": c.conversion_index,
                         "event_id": c.event_id, "control": c.control} for c in ex.conversions],
        "notes": ex.notes,
    }


def explain_renderables(ex: Explanation) -> list[RenderableType]:
    """Header, the replayed timeline (when available), each decision with its reason and what would have
    changed it, and the conversions."""
    scope = f", campaign {ex.campaign}" if ex.campaign else ""
    out: list[RenderableType] = [Text(f"User {ex.user_id} in run {ex.run.name}{scope}", style="bold")]
    if ex.trace is not None:
        timeline = FoldingTable("Timeline", ["time", "kind", "campaign", "what happened"],
                                [[format_time(e.time) or "", e.kind, e.campaign or "", e.text] for e in ex.trace],
                                wrap={3}, plain=True)
        out.append(timeline if ex.trace else Text("Timeline: no events."))
        if ex.hidden:
            counts = ", ".join(f"{name} {count:,}" for name, count in ex.hidden.items())
            out.append(Text(f"{sum(ex.hidden.values()):,} other events not shown ({counts}): they match no "
                            "trigger, exception, conversion, audience or cap of the campaigns explained; "
                            "--all-events shows them", style="dim"))
    out.append(Text("Decisions", style="bold"))
    if not ex.decisions:
        out.append(Text("  none"))
    for number, d in enumerate(ex.decisions, 1):
        out.append(Text(f"{number}. ").append(d.campaign, style="bold"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for label, text in _decision_lines(d, ex.hints.get(d.seq)):
            grid.add_row(f"{label}:", text)
        out.append(Padding(grid, (0, 0, 0, 3)))
    if ex.conversions:
        out.append(Text("Conversions", style="bold"))
        for c in ex.conversions:
            group = "control" if c.control else "sent"
            out.append(Text(f"  {format_time(c.time)} {c.campaign} conversion event {c.conversion_index} "
                            f"({group}; event {c.event_id})"))
    return out
