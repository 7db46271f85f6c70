"""Read queries over a stored run: its decisions, conversions, per-campaign counts, and the diff of two runs.

Every query orders in SQL and is read through a cursor, so callers can stream a million rows without holding
them. Times stay integer milliseconds; channels come back as tuples.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

from campaign_connector.model import DecisionFilter, DiffRow, DiffSide, StoredDecision, UserConversion
from campaign_connector.store import Store

#: Rows fetched from SQLite per round trip while streaming.
BATCH = 2_000

_DECISION_COLUMNS = (
    "seq, user_id, campaign, status, reason, detail, trigger, source_campaign, trigger_event_id, "
    "triggered_at, due_at, sent_at, variant, channels"
)


def _split_channels(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(";")) if text else ()


def _decision(row: tuple[Any, ...]) -> StoredDecision:
    return StoredDecision._make((*row[:13], _split_channels(row[13])))


def _where(filt: DecisionFilter, run_id: int) -> tuple[str, list[Any]]:
    """The SQL condition of a filter, and its parameters."""
    clauses = ["run_id = ?"]
    params: list[Any] = [run_id]
    for column, value in (("user_id", filt.user), ("campaign", filt.campaign), ("status", filt.status),
                          ("reason", filt.reason)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if filt.since is not None:
        clauses.append("triggered_at >= ?")
        params.append(filt.since)
    if filt.before is not None:
        clauses.append("triggered_at < ?")
        params.append(filt.before)
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
    where, params = _where(filt or DecisionFilter(), run_id)
    sql = f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE {where} ORDER BY user_id, triggered_at, seq"
    for row in _stream(store, sql, params):
        yield _decision(row)


def count_decisions(store: Store, run_id: int, filt: DecisionFilter | None = None) -> int:
    """How many decisions ``iter_decisions`` would give."""
    where, params = _where(filt or DecisionFilter(), run_id)
    return int(store.conn.execute(f"SELECT count(*) FROM decisions WHERE {where}", params).fetchone()[0])


def status_counts(store: Store, run_id: int, campaign: str | None = None) -> list[tuple[str, str, str | None, int]]:
    """(campaign, status, reason, count) for every combination that occurs (in one ``campaign`` if given),
    ordered by those columns."""
    where = "run_id = ?"
    params: list[Any] = [run_id]
    if campaign is not None:
        where = "run_id = ? AND campaign = ?"
        params.append(campaign)
    return store.conn.execute(
        f"SELECT campaign, status, reason, count(*) FROM decisions WHERE {where} "
        "GROUP BY campaign, status, reason ORDER BY campaign, status, reason",
        params,
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


def user_conversions(store: Store, run_id: int, user_id: str) -> list[UserConversion]:
    """One user's conversions in a run, in time order."""
    rows = store.conn.execute(
        "SELECT campaign, conversion_index, time, event_id, decision_seq, control FROM conversions "
        "WHERE run_id = ? AND user_id = ? ORDER BY time, campaign, conversion_index",
        (run_id, user_id),
    )
    return [UserConversion._make((*row[:5], bool(row[5]))) for row in rows]


# --------------------------------------------------------------------------------------------------
# Diff of two runs

#: The fields compared between two runs' matched decisions (``detail`` is wording, so it is not compared).
DIFF_FIELDS: tuple[str, ...] = ("status", "reason", "due_at", "sent_at", "variant", "channels")

def _side(values: tuple[Any, ...]) -> DiffSide:
    return DiffSide._make((*values[:7], _split_channels(values[7])))


_SIDE = "seq, status, reason, detail, due_at, sent_at, variant, channels"
#: Matched decisions share user, trigger time (the trigger event's), campaign and trigger event, so both runs
#: streamed in this order line up; ``seq`` numbers repeats of one key.
_MERGE = (f"SELECT user_id, triggered_at, campaign, trigger_event_id, trigger, {_SIDE} FROM decisions "
          "WHERE run_id = ? ORDER BY user_id, triggered_at, campaign, trigger_event_id, seq")
_DIFF_INDEX = tuple(_SIDE.split(", ").index(f) for f in DIFF_FIELDS)


def _keyed(store: Store, run_id: int) -> Iterator[tuple[tuple[Any, ...], str, tuple[Any, ...]]]:
    """(match key, trigger, side values) of a run's decisions in match-key order; the key ends with the
    occurrence number of (user, time, campaign, event)."""
    previous: tuple[Any, ...] = ()
    n = 0
    for row in _stream(store, _MERGE, (run_id,)):
        key = row[:4]
        n = n + 1 if key == previous else 0
        previous = key
        yield (*key, n), row[4], row[5:]


def _change(a: DiffSide | None, b: DiffSide | None) -> str:
    """The kind of change (see ``DiffRow.change``)."""
    a_sent = a is not None and a.status == "sent"
    b_sent = b is not None and b.status == "sent"
    if b_sent and not a_sent:
        return "gained"
    if a_sent and not b_sent:
        return "lost"
    if a_sent and b_sent and a.sent_at != b.sent_at:  # type: ignore[union-attr]
        return "moved"
    return "changed"


def iter_diff(store: Store, run_a: int, run_b: int) -> Iterator[DiffRow]:
    """Decisions that differ between two runs, streamed in (user_id, triggered_at, campaign, trigger) order.

    Decisions are matched on (user_id, campaign, trigger_event_id) — and, should a run hold that key twice,
    on its occurrence number in processing order. Compared: ``DIFF_FIELDS``. Both runs are read as sorted
    streams and merged, so memory stays flat whatever the runs' size.
    """
    end = ((), "", ())
    a_rows, b_rows = _keyed(store, run_a), _keyed(store, run_b)
    a, b = next(a_rows, end), next(b_rows, end)
    while a is not end or b is not end:
        if b is end or (a is not end and a[0] < b[0]):
            key, trigger, side_a, side_b = a[0], a[1], _side(a[2]), None
            a = next(a_rows, end)
        elif a is end or b[0] < a[0]:
            key, trigger, side_a, side_b = b[0], b[1], None, _side(b[2])
            b = next(b_rows, end)
        else:
            same = all(a[2][i] == b[2][i] for i in _DIFF_INDEX)
            key, trigger, side_a, side_b = a[0], a[1], _side(a[2]), _side(b[2])
            a, b = next(a_rows, end), next(b_rows, end)
            if same:
                continue
        user_id, triggered_at, campaign, event_id = key[:4]
        yield DiffRow(_change(side_a, side_b), user_id, campaign, event_id, trigger, triggered_at, side_a, side_b)


def diff_counts(store: Store, run_a: int, run_b: int) -> list[tuple[str, str, int]]:
    """(campaign, change kind, count) of ``iter_diff``'s rows, ordered by campaign and kind."""
    counts: dict[tuple[str, str], int] = {}
    for row in iter_diff(store, run_a, run_b):
        counts[row.campaign, row.change] = counts.get((row.campaign, row.change), 0) + 1
    return [(campaign, change, n) for (campaign, change), n in sorted(counts.items())]


def sent_counts(store: Store, run_id: int) -> dict[str, int]:
    """Campaign → ``sent`` decisions in the run."""
    rows = store.conn.execute(
        "SELECT campaign, count(*) FROM decisions WHERE run_id = ? AND status = 'sent' GROUP BY campaign",
        (run_id,),
    )
    return dict(rows.fetchall())
