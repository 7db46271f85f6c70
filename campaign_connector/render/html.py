"""``report --html FILE``: one self-contained HTML page to share a run — the counts, the lift table, sends per day
per campaign as an inline SVG chart, and the run's manifest.

The page loads nothing: styles are inline, the chart is SVG written here, there is no script. Campaigns in the
chart are told apart by a fill pattern as well as a colour (a page printed in grey, or read by someone who does
not see the colours, still tells them apart), and every bar segment has a tooltip naming its campaign and count.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from campaign_connector.inspection import CampaignSummary, RunReport
from campaign_connector.report import chart_buckets
from campaign_connector.stats import MIN_USERS
from campaign_connector.timeutil import format_time

#: Fill colours of the campaigns (cycled with ``PATTERNS``); colour-blind-safe (Okabe-Ito).
COLOURS: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
                            "#000000")

#: SVG pattern marks drawn over a campaign's colour, so that campaigns differ without colour. Each is the
#: content of an 8×8 pattern tile.
PATTERNS: tuple[str, ...] = (
    "",  # plain
    '<path d="M0,8 L8,0 M-2,2 L2,-2 M6,10 L10,6" stroke="#fff" stroke-width="1.6"/>',  # diagonal
    '<circle cx="4" cy="4" r="1.6" fill="#fff"/>',  # dots
    '<path d="M0,4 H8" stroke="#fff" stroke-width="1.6"/>',  # horizontal
    '<path d="M4,0 V8" stroke="#fff" stroke-width="1.6"/>',  # vertical
    '<path d="M0,0 L8,8 M0,8 L8,0" stroke="#fff" stroke-width="1.2"/>',  # cross-hatch
    '<path d="M0,0 L8,8 M-2,6 L2,10 M6,-2 L10,2" stroke="#fff" stroke-width="1.6"/>',  # other diagonal
    '<rect x="2" y="2" width="4" height="4" fill="#fff"/>',  # squares
)

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1150px;
       color: #1a1a1a; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n { white-space: nowrap; }
tr.total td { font-weight: 600; border-top: 2px solid #999; }
.warn { color: #8a3b00; font-weight: 600; } .muted { color: #777; }
pre { background: #f6f6f6; padding: .8rem; overflow-x: auto; font-size: 12px; }
.legend { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; margin: .4rem 0; }
.legend span { display: inline-flex; align-items: center; gap: .35rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dt { font-weight: 600; }
dd { margin: 0; word-break: break-all; }
"""


def _n(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _rate(count: int | None, rate: float | None) -> str:
    if count is None:
        return "–"
    return f"{count:,}" + (f" ({rate:.1%})" if rate is not None else "")


def _p(value: float) -> str:
    return "&lt; 0.0001" if value < 0.0001 else f"{value:.4f}"


def _swatch(index: int, pattern_id: str) -> str:
    """The ``<pattern>`` of the campaign at ``index``: a colour and a mark; no two of the first 64 alike."""
    colour = COLOURS[index % len(COLOURS)]
    mark = PATTERNS[(index + index // len(COLOURS)) % len(PATTERNS)]
    return (f'<pattern id="{pattern_id}" width="8" height="8" patternUnits="userSpaceOnUse">'
            f'<rect width="8" height="8" fill="{colour}"/>{mark}</pattern>')


def _counts_table(rep: RunReport) -> str:
    headers = ["campaign", "triggered", "sent", "control", "cancelled", "suppressed", "pending", "conv. sent",
               "conv. control"]
    rows = []
    for s in [*rep.campaigns, rep.total]:
        cells = [s.triggered, s.sent, s.control, s.cancelled, s.suppressed, s.pending]
        name = "total" if s is rep.total else s.campaign
        rows.append(
            f'<tr{" class=total" if s is rep.total else ""}><td>{escape(name)}</td>'
            + "".join(f'<td class="n">{_n(c)}</td>' for c in cells)
            + f'<td class="n">{_rate(s.converted_sent, s.conversion_rate_sent)}</td>'
            + f'<td class="n">{_rate(s.converted_control, s.conversion_rate_control)}</td></tr>')
    head = "".join(f'<th{" class=n" if i else ""}>{h}</th>' for i, h in enumerate(headers))
    note = ('<p class="muted">Conversions count sends (or control enrollments) followed by the primary conversion '
            'event; – marks a campaign without conversion events, and the total counts only campaigns that have '
            'them.</p>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"


def _verdict(s: CampaignSummary) -> str:
    notes = []
    if s.lift is not None and s.lift.too_small:
        notes.append(f"sample too small to judge (under {MIN_USERS} users on a side)")
    if s.sample_ratio is not None and s.sample_ratio.mismatch:
        notes.append("sample ratio mismatch: the control share is not the configured one")
    return '<span class="warn">' + escape("; ".join(notes)) + "</span>" if notes else ""


def _lift_table(rep: RunReport) -> str:
    rows = []
    for s in rep.campaigns:
        if s.lift is None and s.sample_ratio is None:
            continue
        lift, ratio = s.lift, s.sample_ratio
        lift_cells = (
            [f"{lift.users_sent:,}", f"{lift.users_control:,}", _pct(lift.rate_sent), _pct(lift.rate_control),
             f"{lift.difference * 100:+.1f} pp", f"{lift.ci95_low * 100:+.1f} … {lift.ci95_high * 100:+.1f} pp",
             _p(lift.p_value)]
            if lift is not None else [_n(s.users_sent), _n(s.users_control), "–", "–", "–", "–", "–"])
        ratio_cell = (f"{ratio.observed_control:.1%} vs {ratio.expected_control:.0%} (p {_p(ratio.p_value)})"
                      if ratio is not None else "–")
        rows.append(f"<tr><td>{escape(s.campaign)}</td>" + "".join(f'<td class="n">{c}</td>' for c in lift_cells)
                    + f'<td class="n">{ratio_cell}</td><td>{_verdict(s)}</td></tr>')
    if not rows:
        return '<p class="muted">No campaign of this run has a control group.</p>'
    headers = ["campaign", "users sent", "users control", "rate sent", "rate control", "difference",
               "95% CI (Newcombe)", "p-value", "control share vs configured", ""]
    head = "".join(f'<th{" class=n" if 0 < i < 9 else ""}>{h}</th>' for i, h in enumerate(headers))
    note = ('<p class="muted">Per user: users converted on the primary conversion event after a send, against '
            'users in the campaign\'s control group. pp = percentage points; p-value of the pooled two-proportion '
            'z-test; control share checked with a chi-square test (a warning below p = 0.001).</p>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"


def _nice_top(value: int) -> int:
    """The axis maximum: the smallest 1, 2 or 5 × 10^k at or above ``value``."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def sends_chart_svg(rep: RunReport) -> str:
    """Sends per UTC day (or week) as stacked bars per campaign, with a legend; empty without sends."""
    unit, buckets = chart_buckets(rep.daily_sent)
    if not buckets:
        return '<p class="muted">No sends in this run.</p>'
    order = [s.campaign for s in rep.campaigns]
    order += sorted({c for _, counts in buckets for c in counts} - set(order))
    shown = [c for c in order if any(counts.get(c) for _, counts in buckets)]
    style = {c: i for i, c in enumerate(order)}
    width, height, left, bottom, top_pad = 1100, 360, 56, 64, 14
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    top = _nice_top(max(sum(counts.values()) for _, counts in buckets))
    slot = plot_w / len(buckets)
    bar = max(min(slot * 0.8, 40.0), 1.0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="Sends per {unit} per campaign">', "<defs>"]
    for campaign in shown:
        i = style[campaign]
        parts.append(_swatch(i, f"p{i}"))
    parts.append("</defs>")
    for k in range(5):  # grid lines and the y axis
        value = top * k // 4
        y = top_pad + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{value:,}</text>')
    label_every = max(1, round(len(buckets) / 20))
    for n, (start, counts) in enumerate(buckets):
        x = left + n * slot + (slot - bar) / 2
        y = top_pad + plot_h
        total = sum(counts.values())
        for campaign in order:
            count = counts.get(campaign, 0)
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.2f}" width="{bar:.1f}" height="{h:.2f}" '
                         f'fill="url(#p{style[campaign]})" stroke="#fff" stroke-width="0.5">'
                         f"<title>{escape(campaign)}: {count:,} on "
                         f"{format_time(start)[:10]}</title></rect>")  # type: ignore[index]
        if n % label_every == 0:
            day = format_time(start)[:10]  # type: ignore[index]
            cx = x + bar / 2
            parts.append(f'<text x="{cx:.1f}" y="{top_pad + plot_h + 12}" font-size="10" text-anchor="end" '
                         f'transform="rotate(-45 {cx:.1f} {top_pad + plot_h + 12})">{day[5:]}</text>')
        if bar >= 14:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="9" text-anchor="middle" '
                         f'fill="#333">{total:,}</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top_pad}" y2="{top_pad + plot_h}" stroke="#888"/>'
                 f'<text x="{left}" y="{height - 4}" font-size="11" fill="#555">UTC {unit}s (MM-DD'
                 f'{", week starting Monday" if unit == "week" else ""}); bars stack campaigns in config order, '
                 "bottom first</text></svg>")
    legend = ['<div class="legend">']
    for campaign in shown:
        i = style[campaign]
        legend.append(f'<span><svg width="22" height="14" aria-hidden="true"><defs>{_swatch(i, f"l{i}")}</defs>'
                      f'<rect width="22" height="14" fill="url(#l{i})" stroke="#333" stroke-width="0.5"/></svg>'
                      f"{escape(campaign)}</span>")
    legend.append("</div>")
    return "".join(parts) + "".join(legend)


def _manifest(rep: RunReport) -> str:
    run = rep.run
    items: list[tuple[str, Any]] = [
        ("run", f"{run.name} (id {run.id})"), ("created", run.created_at), ("horizon", format_time(run.until)),
        ("config file", run.config_path), ("config sha256", run.config_hash),
        ("event log fingerprint", run.log_fingerprint), ("engine version", run.engine_version),
        ("events read", f"{run.events:,}"), ("users replayed", f"{run.users:,}"),
        ("took", "–" if run.seconds is None else f"{run.seconds:.1f} s"),
        ("options", json.dumps(run.options, sort_keys=True)),
    ]
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v if v is not None else '–'))}</dd>" for k, v in items)
    return (f"<dl>{rows}</dl><details><summary>The campaign file as replayed</summary>"
            f"<pre>{escape(run.config_text)}</pre></details>")


def report_html(rep: RunReport) -> str:
    """The whole page."""
    run = rep.run
    until = f", until {format_time(run.until)}" if run.until is not None else ""
    sections = [
        f"<h1>Run {escape(run.name)}</h1>",
        f'<p class="sub">Replayed {escape(run.created_at)}{escape(until)} from {escape(run.config_path)}; '
        f"{run.users:,} users, {run.events:,} events.</p>",
        "<h2>Decisions per campaign</h2>", _counts_table(rep),
        "<h2>Conversions: sent against control</h2>", _lift_table(rep),
        "<h2>Sends per day</h2>", sends_chart_svg(rep),
        "<h2>Manifest</h2>", _manifest(rep),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>campaign-connector: run {escape(run.name)}</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(sections) + "\n</body></html>\n")
