"""Read queries over a stored run: its decisions, conversions, per-campaign counts, and the diff of two runs.

Every query orders in SQL and is read through a cursor, so callers can stream a million rows without holding
them. Times stay integer milliseconds; channels come back as tuples.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, NamedTuple

from campaign_connector.store import Store

#: Rows fetched from SQLite per round trip while streaming.
BATCH = 2_000

_DECISION_COLUMNS = (
    "seq, user_id, campaign, status, reason, detail, trigger, source_campaign, trigger_event_id, "
    "triggered_at, due_at, sent_at, variant, channels"
)


class StoredDecision(NamedTuple):
    """A decision as stored under a run: ``model.Decision``'s fields plus its processing order ``seq``."""

    seq: int
    """Processing order within the run."""
    user_id: str
    """The user."""
    campaign: str
    """The follow-up's config id."""
    status: str
    """One of ``vocabulary.STATUSES``."""
    reason: str | None
    """One of ``vocabulary.REASONS``, or None."""
    detail: str | None
    """What moved or stopped it."""
    trigger: str
    """The matched trigger's interaction or event name."""
    source_campaign: str | None
    """The triggering event's campaign."""
    trigger_event_id: str
    """The triggering event's id."""
    triggered_at: int
    """ms."""
    due_at: int | None
    """ms or None."""
    sent_at: int | None
    """ms or None."""
    variant: str | None
    """Variant id or None."""
    channels: tuple[str, ...]
    """Channels (sent ones for ``sent``)."""


def _split_channels(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(";")) if text else ()


def _decision(row: tuple[Any, ...]) -> StoredDecision:
    return StoredDecision(*row[:13], _split_channels(row[13]))


@dataclass(frozen=True, slots=True)
class DecisionFilter:
    """Which decisions of a run to read (``sends`` options). ``None`` = no condition."""

    user: str | None = None
    """Only this user."""
    campaign: str | None = None
    """Only this campaign."""
    status: str | None = None
    """Only this status."""
    reason: str | None = None
    """Only this reason."""
    since: int | None = None
    """Triggered at or after (ms)."""
    before: int | None = None
    """Triggered before (ms)."""

    def where(self, run_id: int) -> tuple[str, list[Any]]:
        """The SQL condition and its parameters."""
        clauses = ["run_id = ?"]
        params: list[Any] = [run_id]
        for column, value in (("user_id", self.user), ("campaign", self.campaign), ("status", self.status),
                              ("reason", self.reason)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.since is not None:
            clauses.append("triggered_at >= ?")
            params.append(self.since)
        if self.before is not None:
            clauses.append("triggered_at < ?")
            params.append(self.before)
        return " AND ".join(clauses), params


def _stream(store: Store, sql: str, params: list[Any] | tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    cursor = store.conn.execute(sql, params)
    try:
        while batch := cursor.fetchmany(BATCH):
            yield from batch
    finally:
        with suppress(sqlite3.ProgrammingError):  # the store was closed before the stream was finished
            cursor.close()


def iter_decisions(store: Store, run_id: int, filt: DecisionFilter | None = None) -> Iterator[StoredDecision]:
    """A run's decisions in SPEC §4.1 order (user_id, then triggered_at, then processing order), streamed."""
    where, params = (filt or DecisionFilter()).where(run_id)
    sql = f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE {where} ORDER BY user_id, triggered_at, seq"
    for row in _stream(store, sql, params):
        yield _decision(row)


def count_decisions(store: Store, run_id: int, filt: DecisionFilter | None = None) -> int:
    """How many decisions ``iter_decisions`` would give."""
    where, params = (filt or DecisionFilter()).where(run_id)
    return int(store.conn.execute(f"SELECT count(*) FROM decisions WHERE {where}", params).fetchone()[0])


def status_counts(store: Store, run_id: int) -> list[tuple[str, str, str | None, int]]:
    """(campaign, status, reason, count) for every combination that occurs, ordered by those columns."""
    return store.conn.execute(
        "SELECT campaign, status, reason, count(*) FROM decisions WHERE run_id = ? "
        "GROUP BY campaign, status, reason ORDER BY campaign, status, reason",
        (run_id,),
    ).fetchall()


def converted_counts(store: Store, run_id: int, index: int = 0) -> list[tuple[str, bool, int]]:
    """(campaign, control, decisions converted on conversion event ``index``) per campaign and group."""
    rows = store.conn.execute(
        "SELECT campaign, control, count(DISTINCT decision_seq) FROM conversions "
        "WHERE run_id = ? AND conversion_index = ? GROUP BY campaign, control ORDER BY campaign, control",
        (run_id, index),
    ).fetchall()
    return [(campaign, bool(control), count) for campaign, control, count in rows]


def daily_sent(store: Store, run_id: int) -> list[tuple[int, str, int]]:
    """(UTC day start in ms, campaign, sends) for ``sent`` decisions, by day then campaign."""
    return store.conn.execute(
        "SELECT (sent_at / 86400000) * 86400000 AS day, campaign, count(*) FROM decisions "
        "WHERE run_id = ? AND status = 'sent' AND sent_at IS NOT NULL GROUP BY day, campaign ORDER BY day, campaign",
        (run_id,),
    ).fetchall()


class UserConversion(NamedTuple):
    """A conversion counted for a user."""

    campaign: str
    """The campaign converted on."""
    conversion_index: int
    """0 = primary."""
    time: int
    """ms of the converting event."""
    event_id: str
    """The converting event."""
    decision_seq: int
    """The converted decision's ``seq``."""
    control: bool
    """Whether that decision was a control enrollment."""


def user_conversions(store: Store, run_id: int, user_id: str) -> list[UserConversion]:
    """One user's conversions in a run, in time order."""
    rows = store.conn.execute(
        "SELECT campaign, conversion_index, time, event_id, decision_seq, control FROM conversions "
        "WHERE run_id = ? AND user_id = ? ORDER BY time, campaign, conversion_index",
        (run_id, user_id),
    )
    return [UserConversion(*row[:5], bool(row[5])) for row in rows]


# --------------------------------------------------------------------------------------------------
# Diff of two runs

#: The fields compared between two runs' matched decisions (``detail`` is wording, so it is not compared).
DIFF_FIELDS: tuple[str, ...] = ("status", "reason", "due_at", "sent_at", "variant", "channels")

#: The decision fields shown for each side of a changed decision.
DIFF_SIDE_FIELDS: tuple[str, ...] = ("status", "reason", "detail", "due_at", "sent_at", "variant", "channels")

#: Kinds of change, in the order reports list them.
CHANGE_KINDS: tuple[str, ...] = ("gained", "lost", "moved", "changed")


class DiffSide(NamedTuple):
    """One run's version of a matched decision."""

    seq: int
    """Processing order within its run."""
    status: str
    """Status."""
    reason: str | None
    """Reason."""
    detail: str | None
    """Detail."""
    due_at: int | None
    """ms."""
    sent_at: int | None
    """ms."""
    variant: str | None
    """Variant."""
    channels: tuple[str, ...]
    """Channels."""


class DiffRow(NamedTuple):
    """A decision that differs between run A and run B (missing on one side, or with different fields)."""

    change: str
    """``gained`` (sent in B, not in A), ``lost`` (sent in A, not in B), ``moved`` (sent in both at different
    times), ``changed`` (anything else that differs)."""
    user_id: str
    """The user."""
    campaign: str
    """The follow-up."""
    trigger_event_id: str
    """The triggering event."""
    trigger: str
    """The trigger's name."""
    triggered_at: int
    """ms."""
    a: DiffSide | None
    """Run A's decision, None if A has none."""
    b: DiffSide | None
    """Run B's decision, None if B has none."""


_SIDE = "seq, status, reason, detail, due_at, sent_at, variant, channels"
_KEY = "user_id, campaign, trigger_event_id"
_NUMBERED = (
    f"SELECT {_KEY}, trigger, triggered_at, {_SIDE}, "
    f"row_number() OVER (PARTITION BY {_KEY} ORDER BY seq) AS n FROM decisions WHERE run_id = ?"
)
_JOIN = "a.user_id = b.user_id AND a.campaign = b.campaign AND a.trigger_event_id = b.trigger_event_id AND a.n = b.n"
_DIFFERS = " OR ".join(f"a.{f} IS NOT b.{f}" for f in DIFF_FIELDS)
# One place decides the kind of change; the per-campaign counts and the per-decision rows both read it.
_CHANGE = (
    "CASE WHEN b_status = 'sent' AND a_status IS NOT 'sent' THEN 'gained' "
    "WHEN a_status = 'sent' AND b_status IS NOT 'sent' THEN 'lost' "
    "WHEN a_status = 'sent' AND b_status = 'sent' AND a_sent_at IS NOT b_sent_at THEN 'moved' "
    "ELSE 'changed' END"
)
_A_COLS = ", ".join(f"a.{c} AS a_{c}" for c in _SIDE.split(", "))
_B_COLS = ", ".join(f"b.{c} AS b_{c}" for c in _SIDE.split(", "))
_SIDES = ", ".join(f"{side}_{c}" for side in "ab" for c in _SIDE.split(", "))
_DIFF = (
    f"WITH a AS ({_NUMBERED}), b AS ({_NUMBERED}), d AS ("
    f"SELECT a.user_id, a.campaign, a.trigger_event_id, a.trigger, a.triggered_at, a.n, {_A_COLS}, {_B_COLS} "
    f"FROM a LEFT JOIN b ON {_JOIN} WHERE b.seq IS NULL OR {_DIFFERS} "
    "UNION ALL "
    f"SELECT b.user_id, b.campaign, b.trigger_event_id, b.trigger, b.triggered_at, b.n, {_A_COLS}, {_B_COLS} "
    f"FROM b LEFT JOIN a ON {_JOIN} WHERE a.seq IS NULL) "
)


def _side(values: tuple[Any, ...]) -> DiffSide | None:
    if values[0] is None:
        return None
    return DiffSide(*values[:7], _split_channels(values[7]))


def iter_diff(store: Store, run_a: int, run_b: int) -> Iterator[DiffRow]:
    """Decisions that differ between two runs, streamed in (user_id, triggered_at, campaign, trigger) order.

    Decisions are matched on (user_id, campaign, trigger_event_id) — and, should a run hold that key twice,
    on its occurrence number in processing order. Compared: ``DIFF_FIELDS``.
    """
    sql = (f"{_DIFF} SELECT {_CHANGE}, user_id, campaign, trigger_event_id, trigger, triggered_at, "
           f"{_SIDES} "
           "FROM d ORDER BY user_id, triggered_at, campaign, trigger_event_id, n")
    for row in _stream(store, sql, (run_a, run_b)):
        yield DiffRow(*row[:6], _side(row[6:14]), _side(row[14:22]))


def diff_counts(store: Store, run_a: int, run_b: int) -> list[tuple[str, str, int]]:
    """(campaign, change kind, count) of ``iter_diff``'s rows, ordered by campaign and kind."""
    sql = f"{_DIFF} SELECT campaign, {_CHANGE} AS change, count(*) FROM d GROUP BY campaign, change " \
          "ORDER BY campaign, change"
    return store.conn.execute(sql, (run_a, run_b)).fetchall()


def sent_counts(store: Store, run_id: int) -> dict[str, int]:
    """Campaign → ``sent`` decisions in the run."""
    rows = store.conn.execute(
        "SELECT campaign, count(*) FROM decisions WHERE run_id = ? AND status = 'sent' GROUP BY campaign",
        (run_id,),
    )
    return dict(rows.fetchall())
