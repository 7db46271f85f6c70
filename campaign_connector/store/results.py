"""Read queries over a stored run: its decisions, conversions, per-campaign counts, and the diff of two runs.

Every query orders in SQL and is read through a cursor, so callers can stream a million rows without holding
them. Times stay integer milliseconds; channels come back as tuples.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

from campaign_connector.model import DecisionFilter, StoredDecision, UserConversion
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


def decision_campaigns(store: Store, run_id: int) -> list[str]:
    """The campaigns with decisions in a run, by id."""
    return [row[0] for row in store.conn.execute(
        "SELECT DISTINCT campaign FROM decisions WHERE run_id = ? ORDER BY campaign", (run_id,))]


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


def user_counts(store: Store, run_id: int, split_reasons: tuple[str, ...]) -> list[tuple[str, int, int, int]]:
    """(campaign, users sent, users in control, users past the control split) per campaign: distinct users
    with a ``sent`` decision, with a ``control`` one, and with either or a suppression for one of
    ``split_reasons`` (the rules judged after the control bucket)."""
    marks = ", ".join("?" * len(split_reasons))
    return store.conn.execute(
        "SELECT campaign, count(DISTINCT CASE WHEN status = 'sent' THEN user_id END), "
        "count(DISTINCT CASE WHEN status = 'control' THEN user_id END), "
        f"count(DISTINCT CASE WHEN status IN ('sent', 'control') OR reason IN ({marks}) THEN user_id END) "
        "FROM decisions WHERE run_id = ? GROUP BY campaign ORDER BY campaign",
        (*split_reasons, run_id),
    ).fetchall()


def converted_users(store: Store, run_id: int, index: int = 0) -> list[tuple[str, bool, int]]:
    """(campaign, control, distinct users converted on conversion event ``index``) per campaign and group."""
    rows = store.conn.execute(
        "SELECT campaign, control, count(DISTINCT user_id) FROM conversions "
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


def sent_counts(store: Store, run_id: int) -> dict[str, int]:
    """Campaign → ``sent`` decisions in the run."""
    rows = store.conn.execute(
        "SELECT campaign, count(*) FROM decisions WHERE run_id = ? AND status = 'sent' GROUP BY campaign",
        (run_id,),
    )
    return dict(rows.fetchall())
