"""The event log, the users table and the import ledger: every SQL statement that writes or reads them.

Write side: ``EventWriter`` bulk-inserts prepared tuples with ``executemany`` inside the caller's
``store.atomic()`` transaction (``INSERT OR IGNORE`` on the unique ``id`` index skips events already stored or
seen earlier in the same import); ``replace_users`` writes users files; ``start_import`` / ``finish_import``
keep the ``imports`` ledger.

Read side (the replay's): ``iter_timelines`` streams users in ``user_id`` order with a cursor over the
``(user_id, time, seq)`` index, merged with the users table, and never holds the whole log; ``user_ranges``
splits users into contiguous ranges of similar event counts for workers; ``load_timeline``,
``log_fingerprint``, ``last_event_time`` and ``count_events`` answer the rest.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

from campaign_connector.model import Event, UserProfile
from campaign_connector.store import Store
from campaign_connector.timeutil import DAY_MS

#: The columns an import writes, in the order of the importer's prepared tuples.
EVENT_COLUMNS: tuple[str, ...] = (
    "id", "user_id", "time", "event", "campaign", "link_alias", "button_id", "page", "machine_open",
    "conversion_index", "timezone", "properties",
)

#: Columns of the users table, in the order of ``replace_users`` tuples.
USER_COLUMNS: tuple[str, ...] = ("user_id", "timezone", "global_control_group", "unsubscribed", "attributes")

#: Page cache for the length of an import (KiB, negative as SQLite wants it): index inserts stay in memory.
_IMPORT_CACHE_KIB = 131_072

#: Page cache (KiB) and sorter helper threads while the indexes dropped for an import are built (``finish``).
_SORT_CACHE_KIB = 4096
_SORT_THREADS = min(4, os.cpu_count() or 1)

#: Indexes of the events table, dropped for an import into an empty table and built once at its end.
_INDEXES: dict[str, str] = {
    "events_id": "CREATE UNIQUE INDEX events_id ON events (id)",
    "events_user_time": "CREATE INDEX events_user_time ON events (user_id, time, seq)",
}

#: Columns read into ``model.Event``, in its field order (synthetic excluded).
_EVENT_SELECT = (
    "SELECT time, seq, user_id, event, campaign, id, link_alias, button_id, page, machine_open, "
    "conversion_index, timezone, properties FROM events"
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def start_import(store: Store, *, kind: str, files: Sequence[str], format: str) -> int:
    """Add a row to the import ledger (inside the import's transaction) and return its id."""
    cursor = store.conn.execute(
        "INSERT INTO imports (kind, files, format, started_at, stored, duplicates, rejected) "
        "VALUES (?, ?, ?, ?, 0, 0, 0)",
        (kind, json.dumps(list(files)), format, _now()),
    )
    return int(cursor.lastrowid or 0)


def finish_import(store: Store, import_id: int, *, stored: int, duplicates: int, rejected: int) -> None:
    """Record an import's counts in the ledger."""
    store.conn.execute(
        "UPDATE imports SET stored = ?, duplicates = ?, rejected = ? WHERE id = ?",
        (stored, duplicates, rejected, import_id),
    )


#: Empty values ``insert`` stores as NULL, besides None (which is slow to bind): 0 for the text columns that
#: may be NULL, ``""`` for conversion_index (where 0 is a value). Integers bind fastest.
_EMPTY: dict[str, str] = {
    **dict.fromkeys(("campaign", "link_alias", "button_id", "page", "timezone", "properties"), "0"),
    "conversion_index": "''",
}


class EventWriter:
    """Bulk insert of one import, inside the caller's transaction.

    ``insert(rows)`` takes ``EVENT_COLUMNS`` tuples and keeps the stored count per event name.

    Into an empty table the indexes are dropped for the import and built once by ``finish()`` — a sort is
    much faster than maintaining two B-trees row by row. Duplicate ids within the import are then removed
    before the unique index is built (the first one is kept, as ``INSERT OR IGNORE`` would). The DDL is part
    of the transaction, so a killed import leaves the indexes as they were.
    """

    def __init__(self, store: Store, import_id: int) -> None:
        self.conn = store.conn
        self.import_id = import_id
        self.attempted = 0
        self.stored = 0
        self.counts: dict[str, int] = {}
        self._prepared: dict[tuple[str, ...], tuple[str, Callable[..., Any] | None]] = {}
        self._cache = self.conn.execute("PRAGMA cache_size").fetchone()[0]
        self.conn.execute(f"PRAGMA cache_size = -{_IMPORT_CACHE_KIB}")
        self.seq_before = self.conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        present = {name for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                         "AND tbl_name = 'events'")}
        self._dropped = [name for name in _INDEXES if name in present] if self.seq_before == 0 else []
        for name in self._dropped:
            self.conn.execute(f"DROP INDEX {name}")

    def insert(self, rows: Sequence[tuple[Any, ...]], present: Iterable[str] | None = None) -> None:
        """Insert ``EVENT_COLUMNS`` tuples in order; an id already stored (or earlier in this import) is skipped.
        An empty value is None, or faster to bind, 0 in a text column and ``""`` in conversion_index.

        Binding parameters is most of the cost of an insert from Python, so columns that are NULL throughout
        are not bound: ``present`` names the columns that can hold a value (a CSV file's header).
        """
        can_fill = None if present is None else frozenset(present)
        columns = EVENT_COLUMNS if can_fill is None else tuple(c for c in EVENT_COLUMNS if c in can_fill)
        self._execute(columns, rows)
        self.attempted += len(rows)
        for event, count in Counter(map(itemgetter(3), rows)).items():
            self.counts[event] = self.counts.get(event, 0) + count

    def _execute(self, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
        prepared = self._prepared.get(columns)
        if prepared is None:
            marks = ", ".join(f"nullif(?, {_EMPTY[c]})" if c in _EMPTY else "?" for c in columns)
            sql = (f"INSERT OR IGNORE INTO events ({', '.join(columns)}, import_id) "
                   f"VALUES ({marks}, {int(self.import_id)})")
            pick: Callable[..., Any] | None = (
                None if columns == EVENT_COLUMNS else itemgetter(*(EVENT_COLUMNS.index(c) for c in columns)))
            prepared = self._prepared[columns] = (sql, pick)
        sql, pick = prepared
        cursor = self.conn.executemany(sql, rows if pick is None else map(pick, rows))
        self.stored += max(cursor.rowcount, 0)

    def finish(self) -> dict[str, int]:
        """Build what was dropped, restore the cache size; return the stored count per event name.

        The index builds are SQLite sorts: with a small page cache they sort in runs that its helper threads
        merge (``PRAGMA threads``), which measured twice as fast on 10M events as one big in-memory sort.
        """
        if self._dropped:
            self.conn.execute(f"PRAGMA cache_size = -{_SORT_CACHE_KIB}")
            self.conn.execute(f"PRAGMA threads = {_SORT_THREADS}")
        if "events_id" in self._dropped:
            try:
                self.conn.execute(_INDEXES["events_id"])
            except sqlite3.IntegrityError:
                deleted = self.conn.execute(
                    "DELETE FROM events WHERE seq NOT IN (SELECT min(seq) FROM events GROUP BY id)"
                ).rowcount
                self.stored -= deleted
                self.conn.execute(_INDEXES["events_id"])
        for name in self._dropped:
            if name != "events_id":
                self.conn.execute(_INDEXES[name])
        self._dropped = []
        self.conn.execute("PRAGMA threads = 0")
        self.conn.execute(f"PRAGMA cache_size = {int(self._cache)}")
        if self.stored == self.attempted:
            return dict(sorted(self.counts.items()))
        rows = self.conn.execute(
            "SELECT event, count(*) FROM events WHERE seq > ? GROUP BY event ORDER BY event", (self.seq_before,)
        ).fetchall()
        return dict(rows)

    @property
    def duplicates(self) -> int:
        """Rows skipped because their id was already stored or seen earlier in this import."""
        return self.attempted - self.stored


def replace_users(store: Store, rows: Iterable[tuple[Any, ...]]) -> int:
    """Write users rows (``USER_COLUMNS`` tuples); a user already stored is replaced. Returns rows written."""
    cursor = store.conn.executemany(
        "INSERT OR REPLACE INTO users (user_id, timezone, global_control_group, unsubscribed, attributes) "
        "VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    return max(cursor.rowcount, 0)


# ---------------------------------------------------------------------------------------------------------
# Read side


#: How many distinct properties texts a read keeps parsed (logs repeat a few hundred texts over and over).
_PROPERTIES_MEMO = 4096


class _Properties(dict[str, Any]):
    """Properties texts → parsed dicts, remembered for the length of one read (cleared when it grows past
    ``_PROPERTIES_MEMO``): events with the same text share one dict, which nothing downstream mutates."""

    def __missing__(self, text: str) -> Any:
        if len(self) >= _PROPERTIES_MEMO:
            self.clear()
        parsed = self[text] = json.loads(text)
        return parsed


def _events(rows: Iterable[tuple[Any, ...]], memo: _Properties | None = None,
            _new: Callable[..., Any] = tuple.__new__) -> list[Event]:
    """``_EVENT_SELECT`` rows → logged ``Event`` tuples (built with ``tuple.__new__``, as ``Event._make`` does,
    without a function call per row: the replay reads every event through here). ``memo`` parses each
    distinct properties text once."""
    parsed = _Properties() if memo is None else memo
    return [
        _new(Event, (t, seq, user_id, event, campaign, event_id, alias, button, page, machine == 1, index, zone,
                     parsed[props] if props else None, False))
        for t, seq, user_id, event, campaign, event_id, alias, button, page, machine, index, zone, props in rows
    ]


def _profile(row: tuple[Any, ...]) -> UserProfile:
    user_id, zone, gcg, unsubscribed, attributes = row
    return UserProfile(
        user_id,
        timezone=zone or None,
        global_control_group=None if gcg is None else gcg == 1,
        unsubscribed=frozenset(unsubscribed.split(";")) if unsubscribed else frozenset(),
        attributes=json.loads(attributes) if attributes else {},
    )


def _range_sql(lo: str | None, hi: str | None, params: list[Any]) -> list[str]:
    where = []
    if lo is not None:
        where.append("user_id >= ?")
        params.append(lo)
    if hi is not None:
        where.append("user_id < ?")
        params.append(hi)
    return where


def iter_timelines(
    store: Store, *, until: int | None, lo: str | None = None, hi: str | None = None
) -> Iterator[tuple[str, list[Event], UserProfile | None]]:
    """Every user with events in ``[lo, hi)`` (user_id order) with their events in (time, seq) order.

    Events after ``until`` (ms) are left out, and a user with none left is not yielded. The profile is the
    user's users-file row, or None. Streams: one user's events are in memory at a time.
    """
    params: list[Any] = []
    where = _range_sql(lo, hi, params)
    user_params = list(params)
    if until is not None:
        where.append("time <= ?")
        params.append(until)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    events = store.conn.execute(f"{_EVENT_SELECT}{clause} ORDER BY user_id, time, seq", params)
    user_where = _range_sql(lo, hi, [])
    user_clause = f" WHERE {' AND '.join(user_where)}" if user_where else ""
    users = store.conn.execute(
        f"SELECT {', '.join(USER_COLUMNS)} FROM users{user_clause} ORDER BY user_id", user_params
    )
    pending = users.fetchone()
    memo = _Properties()
    for user_id, rows in groupby(events, key=itemgetter(2)):
        while pending is not None and pending[0] < user_id:
            pending = users.fetchone()
        profile = _profile(pending) if pending is not None and pending[0] == user_id else None
        yield user_id, _events(rows, memo), profile
    users.close()


def load_timeline(store: Store, user_id: str, until: int | None) -> tuple[list[Event], UserProfile | None]:
    """One user's events (time, seq order; none after ``until``) and users-file profile (or None)."""
    params: list[Any] = [user_id]
    clause = " WHERE user_id = ?"
    if until is not None:
        clause += " AND time <= ?"
        params.append(until)
    rows = store.conn.execute(f"{_EVENT_SELECT}{clause} ORDER BY user_id, time, seq", params).fetchall()
    found = store.conn.execute(
        f"SELECT {', '.join(USER_COLUMNS)} FROM users WHERE user_id = ?", (user_id,)
    ).fetchone()
    return _events(rows), (_profile(found) if found else None)


def user_ranges(store: Store, n: int) -> list[tuple[str | None, str | None]]:
    """Split users into at most ``n`` contiguous ``[lo, hi)`` user_id ranges of similar event counts.

    The first range starts at None (everything below) and the last ends at None (everything above), so the
    ranges cover every user_id; fewer than ``n`` come back when there are fewer users than ``n``. Each bound is
    the user whose events include the k/n-th event in user order, found with an ``OFFSET`` over the
    ``(user_id, time, seq)`` index (SQLite skips rows without handing them to Python).
    """
    total = store.conn.execute("SELECT count(*) FROM events").fetchone()[0]
    if n <= 1 or total == 0:
        return [(None, None)]
    first = store.conn.execute("SELECT min(user_id) FROM events").fetchone()[0]
    bounds: list[str] = []
    for k in range(1, n):
        (user_id,) = store.conn.execute("SELECT user_id FROM events ORDER BY user_id LIMIT 1 OFFSET ?",
                                        (total * k // n,)).fetchone()
        if user_id > (bounds[-1] if bounds else first):
            bounds.append(user_id)
    edges: list[str | None] = [None, *bounds, None]
    return list(zip(edges[:-1], edges[1:], strict=True))


def log_fingerprint(store: Store) -> str:
    """A short text that changes whenever the stored events or users change.

    Events are only ever added, so their count, highest seq and sum of times of day (ms since midnight UTC:
    a sum of whole times overflows SQLite's 64-bit integers past ~5 million events) pin them; the users part
    is the users count and the last users import that stored something (a re-import replaces rows in place).
    """
    count, total = store.conn.execute(f"SELECT count(*), coalesce(sum(time % {DAY_MS}), 0) FROM events").fetchone()
    max_seq = store.conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
    users = store.conn.execute("SELECT count(*) FROM users").fetchone()[0]
    users_import = store.conn.execute(
        "SELECT coalesce(max(id), 0) FROM imports WHERE kind = 'users' AND stored > 0"
    ).fetchone()[0]
    return f"events={count}/{max_seq}/{total};users={users}/{users_import}"


def last_event_time(store: Store) -> int | None:
    """The latest logged event time (ms), or None for an empty log."""
    value = store.conn.execute("SELECT max(time) FROM events").fetchone()[0]
    return None if value is None else int(value)


def count_events(store: Store, until: int | None) -> int:
    """How many logged events are at or before ``until`` (all of them for None)."""
    if until is None:
        return int(store.conn.execute("SELECT count(*) FROM events").fetchone()[0])
    return int(store.conn.execute("SELECT count(*) FROM events WHERE time <= ?", (until,)).fetchone()[0])

