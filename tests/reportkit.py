"""Fixtures for the inspection commands' tests: stored runs built row by row, and the CLI at a fixed width.

Runs are written with ``store.runs`` (create_run → insert_decisions → complete_run), as the replay stores
them, so these tests do not depend on the engine. Times are ISO strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from configs import NEWSLETTER_WITH_DISCOUNT
from typer.testing import CliRunner, Result

from campaign_connector.cli import app
from campaign_connector.model import Conversion, Decision
from campaign_connector.store import Store
from campaign_connector.store.events import log_fingerprint
from campaign_connector.store.runs import (
    RunInfo,
    complete_run,
    conversion_row,
    create_run,
    decision_row,
    find_run,
    insert_conversions,
    insert_decisions,
)
from campaign_connector.timeutil import parse_time

#: CliRunner environment: a 100-column terminal without colour.
ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}


def t(text: str | None) -> int | None:
    """ISO → ms (None stays None)."""
    return None if text is None else parse_time(text)


def decision(user: str, campaign: str, status: str, triggered: str, *, reason: str | None = None,
             detail: str | None = None, due: str | None = None, sent: str | None = None,
             trigger: str = "click_email", source: str | None = "newsletter", event: str | None = None,
             variant: str | None = None, channels: Sequence[str] = ("email",)) -> Decision:
    """A decision in one line; the trigger event id defaults to ``e-<user>-<triggered>``."""
    return Decision(user, campaign, status, reason, detail, trigger, source, event or f"e-{user}-{triggered}",
                    t(triggered), t(due), t(sent), variant, tuple(channels))  # type: ignore[arg-type]


def store_run(store: Store, name: str, decisions: Sequence[Decision],
              conversions: Sequence[tuple[int, Conversion]] = (), *, config_text: str = NEWSLETTER_WITH_DISCOUNT,
              until: str | None = "2026-02-01T00:00:00Z", fingerprint: str | None = None) -> RunInfo:
    """Store a complete run: decisions with seq 1..n in the given order, conversions as (decision seq, c).
    The run's log fingerprint is the store's current one unless given."""
    fingerprint = log_fingerprint(store) if fingerprint is None else fingerprint
    run = create_run(store, name=name, created_at="2026-02-01T12:00:00Z", config_path="campaigns.yaml",
                     config_text=config_text, config_hash="cafe" * 16, log_fingerprint=fingerprint,
                     engine_version="1", options={}, until=t(until))
    with store.atomic():
        insert_decisions(store, (decision_row(run.id, seq, d) for seq, d in enumerate(decisions, 1)))
        insert_conversions(store, (conversion_row(run.id, seq, c) for seq, c in conversions))
        complete_run(store, run.id, counts={}, events=0, users=len({d.user_id for d in decisions}))
    return find_run(store, name)


def invoke(db: Path, *args: str, columns: int = 100, **kwargs: Any) -> Result:
    """Run the CLI against ``db`` in a colourless terminal ``columns`` wide."""
    return CliRunner().invoke(app, [*args, "--db", str(db)], env={**ENV, "COLUMNS": str(columns)}, **kwargs)


#: A small run exercising every status: u1 sent then not re-eligible, u2 cancelled then control,
#: u3 suppressed before publish, u4 pending at the horizon. Used by report, sends and diff tests.
BASE = [
    decision("u1", "followup_email", "sent", "2026-01-05T09:00:00Z", due="2026-01-05T10:00:00Z",
             sent="2026-01-05T10:00:00Z", variant="a"),
    decision("u2", "followup_email", "cancelled", "2026-01-05T11:00:00Z", reason="exception",
             detail="exception: purchase at 2026-01-05T11:30:00Z", due="2026-01-05T12:00:00Z"),
    decision("u1", "followup_email", "suppressed", "2026-01-06T09:00:00Z", reason="not_reeligible"),
    decision("u3", "discount_push", "suppressed", "2026-01-02T08:00:00Z", reason="before_publish",
             trigger="open_email", channels=("push",)),
    decision("u2", "discount_push", "control", "2026-01-06T08:00:00Z", due="2026-01-06T08:00:00Z",
             channels=("push",)),
    decision("u4", "discount_push", "sent", "2026-01-06T09:00:00Z", due="2026-01-06T09:05:00Z",
             sent="2026-01-06T09:05:00Z", channels=("push", "email")),
    decision("u4", "followup_email", "pending", "2026-01-31T23:00:00Z", due="2026-02-02T09:00:00Z"),
]

#: Conversions of BASE: u1's send (seq 1) and u2's control enrollment (seq 5) converted on the primary event.
BASE_CONVERSIONS = [
    (1, Conversion("u1", "followup_email", 0, t("2026-01-05T18:00:00Z"), "p1", 0, False)),  # type: ignore[arg-type]
    (5, Conversion("u2", "discount_push", 0, t("2026-01-07T08:00:00Z"), "p2", 0, True)),  # type: ignore[arg-type]
    (1, Conversion("u1", "followup_email", 1, t("2026-01-05T19:00:00Z"), "p3", 0, False)),  # type: ignore[arg-type]
]


def base_db(tmp_path: Path) -> Path:
    """A database file holding run ``base`` (BASE, BASE_CONVERSIONS)."""
    path = tmp_path / "cc.db"
    with Store.open(path) as store:
        store_run(store, "base", BASE, BASE_CONVERSIONS)
    return path


def text(output: str) -> str:
    """Rendered output with each line's trailing padding removed (Rich pads table lines to the width)."""
    return "\n".join(line.rstrip() for line in output.splitlines()) + "\n"
