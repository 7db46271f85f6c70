"""The event log, the users table and the import ledger: every SQL statement that writes or reads them.

Write side: ``Staging`` bulk-writes an import's Arrow batches to a scratch file with ADBC while the files are
read; ``copy_staged`` moves them into the events table inside the caller's ``store.atomic()`` transaction
(skipping ids already stored or seen earlier in the same import); ``replace_users`` writes users files;
``start_import`` / ``finish_import`` keep the ``imports`` ledger.

The events table is keyed by ``(user_id, time, seq)`` (``WITHOUT ROWID``, schema v3), so each user's events
lie together on disk in replay order, after every import.

Read side (the replay's): ``iter_timelines`` streams users in ``user_id`` order with one cursor over the
table's key, merged with the users table, and never holds the whole log; ``user_ranges``
splits users into contiguous ranges of similar event counts for workers; ``load_timeline``,
``log_state`` (the fingerprint, the last event's time and the count), ``log_version`` and ``count_events`` answer the
rest.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from campaign_connector.model import Event, UserProfile
from campaign_connector.store import PAGE_SIZE, Store, describe_sqlite_error
from campaign_connector.timeutil import DAY_MS

#: The columns an import writes, in the order of the importer's prepared tuples.
EVENT_COLUMNS: tuple[str, ...] = (
    "id", "user_id", "time", "event", "campaign", "link_alias", "button_id", "page", "machine_open",
    "conversion_index", "timezone", "properties", "bot",
)

#: Columns of the users table, in the order of ``replace_users`` tuples.
USER_COLUMNS: tuple[str, ...] = ("user_id", "timezone", "global_control_group", "unsubscribed", "attributes")

#: Page cache (KiB, negative as SQLite wants it) while staged events are added to a log that has some: the
#: inserts land all over the ``(user_id, time, seq)`` key and the id index, so they should stay in memory.
_APPEND_CACHE_KIB = 131_072

#: Page cache (KiB) and sorter helper threads while staged events are sorted into an empty log and its id
#: index is built: with a small cache SQLite sorts in runs that its helper threads merge, which beats one big
#: in-memory sort on big logs (benchmarks/README.md).
_SORT_CACHE_KIB = 4096
_SORT_THREADS = min(4, os.cpu_count() or 1)

#: The unique id index of the events table (its primary key is ``(user_id, time, seq)``).
_ID_INDEX = "CREATE UNIQUE INDEX events_id ON events (id)"

#: An import's events get ``seq`` = import id × 2**32 + their order in the import: import order, then file
#: order, without reading the highest seq stored (a full scan of a table keyed by user).
SEQ_PER_IMPORT = 2**32

#: Columns read into ``model.Event``, in its field order (synthetic excluded).
_EVENT_SELECT = (
    "SELECT time, seq, user_id, event, campaign, id, link_alias, button_id, page, machine_open, "
    "conversion_index, timezone, properties, bot FROM events"
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


def finish_import(store: Store, import_id: int, *, stored: int, duplicates: int, rejected: int,
                  no_user: dict[str, int] | None = None, skipped_files: int = 0) -> None:
    """Record an import's counts in the ledger: rows stored, duplicates, rejects, records without a user skipped
    (per Currents event type) and non-event files skipped in folders."""
    store.conn.execute(
        "UPDATE imports SET stored = ?, duplicates = ?, rejected = ?, no_user = ?, skipped_files = ? WHERE id = ?",
        (stored, duplicates, rejected, json.dumps(dict(sorted((no_user or {}).items()))), skipped_files, import_id),
    )


#: Batches waiting for the staging thread (each a CSV block's rows, ~25,000): enough to ride out a slow
#: batch on either side, few enough to keep the import's memory flat.
_STAGING_QUEUE = 4


class Staging:
    """A scratch SQLite file that an import's normalised batches are bulk-written to with ADBC
    (``adbc_driver_sqlite``'s ``adbc_ingest``: Arrow columns bound in C, several times cheaper than
    ``executemany`` of Python tuples; benchmarks/README.md), while the files are read and before the store is
    touched.

    The writing happens on a thread of its own, which owns the ADBC connection: ``adbc_ingest`` releases the
    GIL, so the next batch is read and normalised on the other core meanwhile. ``append`` queues a batch
    (waiting while ``_STAGING_QUEUE`` are queued); ``truncate`` and ``finish`` wait for the queue to drain.
    A failure on the thread is raised by the next call of the importer's.

    ``copy_staged`` then moves the rows into the events table inside the store's transaction, sorted by user
    and time; the scratch file is private to the import and deleted by ``close`` (a killed import leaves it
    in the temporary folder, never in the database).
    """

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="campaign-connector-import-"))
        self.path = self.folder / "staging.db"
        self.rows = 0
        self._tasks: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=_STAGING_QUEUE)
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = threading.Thread(target=self._work, name="staging", daemon=True)
        self._thread.start()
        try:
            self._put("open")
            self._sync()
        except BaseException:
            self.close()
            raise

    def _work(self) -> None:
        """The staging thread: run the queued tasks (``open`` first) until ``stop``; after a failure, skip all
        but ``stop``."""
        try:  # here: it loads the driver's shared library, which most commands never use
            import adbc_driver_sqlite.dbapi
        except BaseException as error:  # every task but stop is then skipped, and open raises this
            self._failure = error
        conn: Any = None
        cursor: Any = None
        task = ""
        while task != "stop":
            task, argument = self._tasks.get()
            try:
                if task == "stop":
                    if cursor is not None:
                        cursor.close()
                    if conn is not None:
                        conn.close()
                elif self._failure is not None:
                    pass
                elif task == "open":
                    conn = adbc_driver_sqlite.dbapi.connect(str(self.path), autocommit=True)
                    cursor = conn.cursor()
                    for statement in (f"PRAGMA page_size = {PAGE_SIZE}", "PRAGMA journal_mode = OFF",
                                      "PRAGMA synchronous = OFF", "BEGIN",
                                      f"CREATE TABLE events ({', '.join(EVENT_COLUMNS)})"):
                        cursor.execute(statement)
                elif task == "ingest":
                    cursor.adbc_ingest("events", argument, mode="append")
                else:
                    cursor.execute(argument)
            except BaseException as error:  # raised again on the importer's thread
                self._failure = self._failure or error
            finally:
                self._tasks.task_done()

    def _put(self, task: str, argument: Any = None) -> None:
        self._raise_failure()
        if self._thread is None:
            raise RuntimeError("the staging file is finished")
        self._tasks.put((task, argument))

    def _sync(self) -> None:
        """Wait until every queued task has run; raise what failed."""
        self._tasks.join()
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def append(self, batch: Any) -> None:
        """Queue a ``pyarrow.RecordBatch`` with the ``EVENT_COLUMNS`` columns (rowid = order of arrival)."""
        if batch.num_rows:
            self._put("ingest", batch)
            self.rows += batch.num_rows

    def truncate(self, rows: int) -> None:
        """Forget every row after the first ``rows`` (a file that is read again another way)."""
        if rows < self.rows:
            self._put("sql", f"DELETE FROM events WHERE rowid > {int(rows)}")
            self._sync()
            self.rows = rows

    def finish(self) -> None:
        """Write what is queued, commit, and close the scratch file's connection and thread (the file is then
        read through ``attached``)."""
        if self._thread is None:
            return
        self._put("sql", "COMMIT")
        self._tasks.put(("stop", None))
        self._thread.join()
        self._thread = None
        self._raise_failure()

    def close(self) -> None:
        """Stop the thread (if ``finish`` was not called) and delete the scratch file."""
        if self._thread is not None:
            self._failure = self._failure or RuntimeError("closed")
            self._tasks.put(("stop", None))
            self._thread.join()
            self._thread = None
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def attached(store: Store, staging: Staging) -> Iterator[None]:
    """The staging file attached to the store's connection as ``staging`` (ATTACH cannot run inside a
    transaction: enter this before ``store.atomic()``)."""
    staging.finish()
    try:
        store.conn.execute("ATTACH DATABASE ? AS staging", (str(staging.path),))
    except sqlite3.Error as err:
        raise describe_sqlite_error(store.path, err) from None
    try:
        yield
    finally:
        with suppress(sqlite3.Error):
            store.conn.execute("DETACH DATABASE staging")


@dataclass(frozen=True)
class Copied:
    """What ``copy_staged`` did."""

    stored: int
    """Rows stored."""
    dropped: list[tuple[str, int]] | None
    """(event, bot) of each staged row left out as a repeated id, when known (an import into an empty log);
    None when not (``import_counts`` then counts what was stored)."""


def copy_staged(store: Store, import_id: int) -> Copied:
    """Move the attached staging rows into the events table (inside the caller's transaction). An id already
    stored, or earlier in the staging rows, is skipped.

    Into an empty log the rows go in ``(user_id, time, seq)`` order — appended at the end of the table's
    B-tree — with the id index dropped and built once afterwards; duplicate ids are then deleted, keeping the
    first in file order (the DDL is part of the transaction, so a killed import leaves the index as it was).
    Into a log that has events they go in file order with ``INSERT OR IGNORE`` on the id index; the table
    being keyed by user, each user's events stay together on disk whatever order they arrive in.
    """
    conn = store.conn
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    columns = ", ".join(EVENT_COLUMNS)
    select = (f"SELECT rowid + {int(import_id) * SEQ_PER_IMPORT}, {columns}, {int(import_id)} "
              "FROM staging.events")
    insert = f"INTO events (seq, {columns}, import_id) {select}"
    empty = conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is None
    try:
        if empty:
            conn.execute(f"PRAGMA cache_size = -{_SORT_CACHE_KIB}")
            conn.execute(f"PRAGMA threads = {_SORT_THREADS}")
            conn.execute("DROP INDEX IF EXISTS events_id")
            stored = conn.execute(f"INSERT {insert} ORDER BY user_id, time, rowid").rowcount
            deleted, dropped = _build_id_index(conn)
            stored -= deleted
        else:
            conn.execute(f"PRAGMA cache_size = -{_APPEND_CACHE_KIB}")
            stored = conn.execute(f"INSERT OR IGNORE {insert} ORDER BY rowid").rowcount
            dropped = None
    finally:
        conn.execute("PRAGMA threads = 0")
        conn.execute(f"PRAGMA cache_size = {int(cache)}")
    return Copied(max(stored, 0), dropped)


#: Rows repeating an earlier row's id at the same user and time: a content id's repeats always are (the id
#: hashes user and time). Found through the table's key, one short range per row, not by sorting the ids.
_SAME_KEY_REPEATS = (
    "DELETE FROM events WHERE EXISTS (SELECT 1 FROM events AS first WHERE first.user_id = events.user_id "
    "AND first.time = events.time AND first.seq < events.seq AND first.id = events.id)"
)


#: ``DELETE ... RETURNING`` (SQLite 3.35+) says which rows a delete took; older SQLite counts them afterwards.
_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)


def _delete(conn: sqlite3.Connection, delete: str, dropped: list[tuple[str, int]] | None) -> int:
    """Run ``delete``; add the (event, bot) of each row it took to ``dropped`` (if given). Returns the count."""
    if dropped is None:
        return int(conn.execute(delete).rowcount)
    rows = conn.execute(f"{delete} RETURNING event, bot").fetchall()
    dropped.extend(rows)
    return len(rows)


def _build_id_index(conn: sqlite3.Connection) -> tuple[int, list[tuple[str, int]] | None]:
    """Build the unique id index of a freshly filled events table, deleting first every row whose id an earlier
    row (in seq order) has; return how many were deleted and (with SQLite 3.35+) their (event, bot).

    When the import has content ids, their repeats (same user and time) are deleted where they lie
    (``_SAME_KEY_REPEATS``). Repeats left after that (a log's own ids at other users or times) make the
    index build fail; they are then found by grouping the ids, a sort of the whole table paid only by such logs.
    """
    deleted = 0
    dropped: list[tuple[str, int]] | None = [] if _RETURNING else None
    if conn.execute("SELECT 1 FROM staging.events WHERE id LIKE 'h-%' LIMIT 1").fetchone():
        deleted += _delete(conn, _SAME_KEY_REPEATS, dropped)
    try:
        conn.execute(_ID_INDEX)
    except sqlite3.IntegrityError:
        deleted += _delete(conn, "DELETE FROM events WHERE seq NOT IN (SELECT min(seq) FROM events GROUP BY id)",
                           dropped)
        conn.execute(_ID_INDEX)
    return deleted, dropped


def import_counts(store: Store, import_id: int) -> dict[str, int]:
    """Stored events per event name of one import (when some of its rows were duplicates)."""
    rows = store.conn.execute(
        "SELECT event, count(*) FROM events WHERE import_id = ? GROUP BY event ORDER BY event", (import_id,)
    ).fetchall()
    return dict(rows)


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


class PropertiesMemo(dict[str, Any]):
    """Properties texts → parsed dicts, remembered for the length of one read (cleared when it grows past
    ``_PROPERTIES_MEMO``): events with the same text share one dict, which nothing downstream mutates."""

    def __missing__(self, text: str) -> Any:
        if len(self) >= _PROPERTIES_MEMO:
            self.clear()
        parsed = self[text] = json.loads(text)
        return parsed


def events_from_rows(rows: Iterable[tuple[Any, ...]], memo: PropertiesMemo | None = None,
                     _new: Callable[..., Any] = tuple.__new__) -> list[Event]:
    """``_EVENT_SELECT`` rows → logged ``Event`` tuples (built with ``tuple.__new__``, as ``Event._make`` does,
    without a function call per row: the replay reads every event through here). ``memo`` parses each
    distinct properties text once."""
    parsed = PropertiesMemo() if memo is None else memo
    return [
        _new(Event, (t, seq, user_id, event, campaign, event_id, alias, button, page, machine == 1, index, zone,
                     parsed[props] if props else None, False, bot == 1))
        for t, seq, user_id, event, campaign, event_id, alias, button, page, machine, index, zone, props, bot in rows
    ]


def profile_from_row(row: tuple[Any, ...]) -> UserProfile:
    """A ``USER_COLUMNS`` row → the user's ``UserProfile``."""
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
    memo = PropertiesMemo()
    for user_id, rows in groupby(events, key=itemgetter(2)):
        while pending is not None and pending[0] < user_id:
            pending = users.fetchone()
        profile = profile_from_row(pending) if pending is not None and pending[0] == user_id else None
        yield user_id, events_from_rows(rows, memo), profile
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
    return events_from_rows(rows), (profile_from_row(found) if found else None)


def user_ranges(store: Store, n: int, events: int | None = None) -> list[tuple[str | None, str | None]]:
    """Split users into at most ``n`` contiguous ``[lo, hi)`` user_id ranges of similar event counts.

    The first range starts at None (everything below) and the last ends at None (everything above), so the
    ranges cover every user_id; fewer than ``n`` come back when there are fewer users than ``n``. Each bound is
    about the user whose events include the k/n-th event in user order, found with an ``OFFSET`` over the
    events table's ``(user_id, time, seq)`` key (SQLite skips rows without handing them to Python) that starts
    at the bound before it, so that all bounds together step over the log once. (Counted from the previous
    bound's first event, a bound falls at most that user's event count short of the k/n-th event.) ``events``
    is the count of stored events when the caller has it (``log_state``); else it is counted here.
    """
    total = store.conn.execute("SELECT count(*) FROM events").fetchone()[0] if events is None else events
    if n <= 1 or total == 0:
        return [(None, None)]
    first = store.conn.execute("SELECT min(user_id) FROM events").fetchone()[0]
    bounds: list[str] = []
    anchor, at = first, 0  # a user, and where (at most) its first event is
    for k in range(1, n):
        target = total * k // n
        (user_id,) = store.conn.execute(
            "SELECT user_id FROM events WHERE user_id >= ? ORDER BY user_id LIMIT 1 OFFSET ?",
            (anchor, target - at)).fetchone()
        if user_id > anchor:
            bounds.append(user_id)
            anchor, at = user_id, target
    edges: list[str | None] = [None, *bounds, None]
    return list(zip(edges[:-1], edges[1:], strict=True))


def log_fingerprint(store: Store) -> str:
    """A short text that changes whenever the stored events or users change.

    Events are only ever added, so their count, highest seq and sum of times of day (ms since midnight UTC:
    a sum of whole times overflows SQLite's 64-bit integers past ~5 million events) pin them; the users part
    is the users count and the last users import that stored something (a re-import replaces rows in place).
    """
    return log_state(store)[0]


class LogState(NamedTuple):
    """What a replay reads of the log before it starts, from one pass over the events."""

    fingerprint: str
    """``log_fingerprint``."""
    last: int | None
    """The last event's time (ms), None for an empty log."""
    events: int
    """Events stored."""


def log_state(store: Store) -> LogState:
    """``log_fingerprint``, the last event's time and the count of events from one pass over the events."""
    count, total, max_seq, last = store.conn.execute(
        f"SELECT count(*), coalesce(sum(time % {DAY_MS}), 0), coalesce(max(seq), 0), max(time) FROM events"
    ).fetchone()
    users = store.conn.execute("SELECT count(*) FROM users").fetchone()[0]
    users_import = store.conn.execute(
        "SELECT coalesce(max(id), 0) FROM imports WHERE kind = 'users' AND stored > 0"
    ).fetchone()[0]
    return LogState(f"events={count}/{max_seq}/{total};users={users}/{users_import}",
                    None if last is None else int(last), int(count))


def log_version(store: Store) -> int:
    """The latest import's id: every write to the events and users tables is an import with a ledger row, so
    two reads that see the same version see the same log (a check that reads no events)."""
    return int(store.conn.execute("SELECT coalesce(max(id), 0) FROM imports").fetchone()[0])


def import_bot_clicks(store: Store, import_id: int) -> int:
    """Events one import stored flagged as suspected bot clicks."""
    return int(store.conn.execute("SELECT count(*) FROM events WHERE import_id = ? AND bot = 1",
                                  (import_id,)).fetchone()[0])


def count_global_control_overrides(store: Store) -> int:
    """Users the users file puts in the global control group (``global_control_group: true``)."""
    return int(store.conn.execute("SELECT count(*) FROM users WHERE global_control_group = 1").fetchone()[0])


def count_bot_clicks(store: Store, until: int | None) -> int:
    """How many logged events at or before ``until`` (all for None) are flagged suspected bot clicks."""
    if until is None:
        return int(store.conn.execute("SELECT count(*) FROM events WHERE bot = 1").fetchone()[0])
    return int(store.conn.execute("SELECT count(*) FROM events WHERE bot = 1 AND time <= ?", (until,)).fetchone()[0])


def count_events(store: Store, until: int | None) -> int:
    """How many logged events are at or before ``until`` (all of them for None)."""
    if until is None:
        return int(store.conn.execute("SELECT count(*) FROM events").fetchone()[0])
    return int(store.conn.execute("SELECT count(*) FROM events WHERE time <= ?", (until,)).fetchone()[0])

