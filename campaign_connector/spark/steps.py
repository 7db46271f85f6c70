"""The functions Spark runs on its Python workers (``mapInArrow``): the per-user engine pass and the cross-user
rules. No Spark here: Arrow batches in, Arrow batches out, the project's own engine in between.

The engine pass walks one partition's rows, sorted by (user_id, time, file, row), user by user — a user never
spans two partitions — and runs ``Engine.run_user`` on each timeline exactly as the SQLite replay does
(``store.events`` builds the same ``Event`` and ``UserProfile`` values from the same columns). The engine is
built once per Python worker from the config text and cached by its hash.

Each output row carries its partition and its place in it: partitions are contiguous user_id ranges in
order, so a decision's run-wide ``seq`` is the decisions of the partitions before it plus its index, which
the driver adds once it knows each partition's count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from itertools import groupby
from operator import itemgetter
from typing import Any

import pyarrow as pa

from campaign_connector.engine import Engine
from campaign_connector.engine.crossuser import Send, apply_max_recipients, apply_rate_limit
from campaign_connector.store.events import PropertiesMemo, events_from_rows, profile_from_row

#: Output row kinds of the engine pass.
DECISION, CONVERSION, TALLY = 0, 1, 2

#: The engine pass's output: decisions, conversions and one tally row per partition, told apart by ``kind``.
OUT_SCHEMA = pa.schema([
    ("kind", pa.int8()), ("part", pa.int32()), ("n", pa.int64()), ("idx", pa.int64()),
    ("user_id", pa.string()), ("campaign", pa.string()), ("status", pa.string()), ("reason", pa.string()),
    ("detail", pa.string()), ("trigger", pa.string()), ("source_campaign", pa.string()),
    ("trigger_event_id", pa.string()), ("triggered_at", pa.int64()), ("due_at", pa.int64()),
    ("sent_at", pa.int64()), ("variant", pa.string()), ("channels", pa.list_(pa.string())),
    ("conversion_index", pa.int64()), ("time", pa.int64()), ("event_id", pa.string()), ("control", pa.bool_()),
    ("users", pa.int64()), ("events", pa.int64()),
])

#: The columns the engine pass reads, in this order.
IN_COLUMNS: tuple[str, ...] = (
    "time", "row", "user_id", "event", "campaign", "id", "link_alias", "button_id", "page", "machine_open",
    "conversion_index", "timezone", "properties", "bot", "u_present", "u_timezone", "u_gcg", "u_unsubscribed",
    "u_attributes",
)

#: The cross-user pass's output: one change per moved or dropped send (``engine.crossuser.Change``).
CHANGES_SCHEMA = pa.schema([
    ("seq", pa.int64()), ("new_status", pa.string()), ("new_reason", pa.string()), ("new_sent_at", pa.int64()),
    ("new_detail", pa.string()),
])

#: Output rows gathered before they become one Arrow batch.
OUT_BATCH = 10_000

_engines: dict[str, Engine] = {}


def cached_engine(config_text: str, config_path: str) -> Engine:
    """The engine for this config text, built once per Python worker."""
    key = hashlib.sha256(config_text.encode()).hexdigest()
    engine = _engines.get(key)
    if engine is None:
        from campaign_connector.config import load_config_text

        engine = _engines[key] = Engine(load_config_text(config_text, config_path))
    return engine


def _rows(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[Any, ...]]:
    for batch in batches:
        yield from zip(*(batch.column(name).to_pylist() for name in IN_COLUMNS), strict=True)


def _partition_id() -> int:
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.partitionId() if context is not None else 0


def engine_pass(config_text: str, config_path: str, until: int | None,
                partition_id: Callable[[], int] = _partition_id
                ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The ``mapInArrow`` function of the per-user pass for this config and horizon (ms).

    Events after ``until`` are left out, and a user with none left is not replayed (as ``iter_timelines``
    does). The partition's ``TALLY`` row holds its decisions (``idx``), users and events replayed, and the
    rows it was given (``n``) and their last time (``time``), from which the driver checks the horizon."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        engine = cached_engine(config_text, config_path)
        part = partition_id()
        out: list[tuple[Any, ...]] = []
        memo = PropertiesMemo()
        n = idx = users = events = given = 0
        last: int | None = None
        for user_id, group in groupby(_rows(batches), key=itemgetter(2)):
            rows = list(group)
            given += len(rows)
            last = rows[-1][0] if last is None else max(last, rows[-1][0])
            if until is not None and rows[-1][0] > until:
                rows = [row for row in rows if row[0] <= until]
                if not rows:
                    continue
            first = rows[0]
            profile = profile_from_row((user_id, *first[15:19])) if first[14] else None
            timeline = events_from_rows([row[:14] for row in rows], memo)
            result = engine.run_user(user_id, timeline, profile, until)
            base = idx
            for d in result.decisions:
                out.append((DECISION, part, n, idx, d.user_id, d.campaign, d.status, d.reason, d.detail, d.trigger,
                            d.source_campaign, d.trigger_event_id, d.triggered_at, d.due_at, d.sent_at, d.variant,
                            list(d.channels), None, None, None, None, None, None))
                n += 1
                idx += 1
            for c in result.conversions:
                out.append((CONVERSION, part, n, base + c.decision, c.user_id, c.campaign, None, None, None, None,
                            None, None, None, None, None, None, None, c.conversion_index, c.time, c.event_id,
                            c.control, None, None))
                n += 1
            users += 1
            events += len(rows)
            if len(out) >= OUT_BATCH:
                yield _batch(out, OUT_SCHEMA)
                out = []
        out.append((TALLY, part, given, idx, None, None, None, None, None, None, None, None, None, None, None, None,
                    None, None, last, None, None, users, events))
        yield _batch(out, OUT_SCHEMA)

    return run


def _batch(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.RecordBatch:
    columns = zip(*rows, strict=True)
    return pa.RecordBatch.from_arrays([pa.array(list(c), f.type) for c, f in zip(columns, schema, strict=True)],
                                      schema=schema)


def cross_user_pass(limits: dict[str, tuple[int | None, int | None]], until: int | None
                    ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The ``mapInArrow`` function of the cross-user rules: rows (campaign, seq, user_id, sent_at, detail) of
    ``sent`` decisions, sorted by campaign then ``crossuser.send_order``; ``limits`` maps a campaign to its
    (max_recipients, rate_limit per minute). ``max_recipients`` runs first, then ``rate_limit`` over the sends
    it left ``sent``, as the SQLite replay applies them; a send it moves past ``until`` (the horizon) is
    ``pending``."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        columns = ("campaign", "seq", "user_id", "sent_at", "detail")
        rows = (row for batch in batches
                for row in zip(*(batch.column(c).to_pylist() for c in columns), strict=True))
        out: list[tuple[Any, ...]] = []
        for campaign, group in groupby(rows, key=itemgetter(0)):
            max_recipients, per_minute = limits[campaign]
            sends = [Send(*row[1:]) for row in group]
            if max_recipients is not None:
                dropped = list(apply_max_recipients(sends, max_recipients))
                out.extend(dropped)
                gone = {change.seq for change in dropped}
                sends = [send for send in sends if send.seq not in gone]
            if per_minute is not None:
                out.extend(apply_rate_limit(sends, per_minute, until))
        if out:
            yield _batch(out, CHANGES_SCHEMA)

    return run
