"""Health of a database for ``campaign-connector doctor``: integrity, schema version, what it holds."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from campaign_connector.store import Store, describe_sqlite_error
from campaign_connector.store.schema import READABLE_VIEWS, SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class Health:
    """What ``doctor`` reports."""

    path: str
    """The database file."""
    size_bytes: int
    """File size on disk."""
    schema_version: int
    """The database's schema version (``PRAGMA user_version``)."""
    current_version: int
    """The schema version this campaign-connector writes."""
    integrity: list[str]
    """``PRAGMA quick_check`` lines; ``["ok"]`` when healthy."""
    events: int
    """Stored events."""
    users: int
    """Distinct users with events."""
    profiles: int
    """Rows of the users file."""
    imports: int
    """Recorded imports."""
    runs: int
    """Complete runs."""
    stale_runs: int
    """Runs left ``running`` by an interrupted replay (cleared by the next replay)."""
    first_event: int | None
    """ms of the earliest event."""
    last_event: int | None
    """ms of the latest event."""
    tables: dict[str, int] = field(default_factory=dict)
    """Table → rows, every table of the database (read by sqlite-utils' introspection)."""
    views: list[str] = field(default_factory=list)
    """The database's views (the readable ones: ``schema.READABLE_VIEWS``)."""
    missing_views: list[str] = field(default_factory=list)
    """Readable views this version creates that the database lacks (re-create them with ``Store.open``)."""

    @property
    def ok(self) -> bool:
        """Healthy: intact, and at this tool's schema version."""
        return self.integrity == ["ok"] and self.schema_version == self.current_version


def check(store: Store) -> Health:
    """Inspect an open store (read-only queries)."""
    conn = store.conn
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA quick_check")]

        def scalar(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        first, last = conn.execute("SELECT min(time), max(time) FROM events").fetchone()
        db = store.db
        tables = {table.name: table.count for table in db.tables}
        views = db.view_names()
        return Health(
            path=str(store.path),
            size_bytes=Path(store.path).stat().st_size if store.path != ":memory:" else 0,
            schema_version=store.schema_version(),
            current_version=SCHEMA_VERSION,
            integrity=integrity,
            events=scalar("SELECT count(*) FROM events"),
            users=scalar("SELECT count(*) FROM (SELECT DISTINCT user_id FROM events)"),
            profiles=scalar("SELECT count(*) FROM users"),
            imports=scalar("SELECT count(*) FROM imports"),
            runs=scalar("SELECT count(*) FROM runs WHERE status = 'complete'"),
            stale_runs=scalar("SELECT count(*) FROM runs WHERE status = 'running'"),
            first_event=first,
            last_event=last,
            tables=tables,
            views=views,
            missing_views=[name for name in READABLE_VIEWS if name not in views],
        )
    except sqlite3.Error as error:
        raise describe_sqlite_error(store.path, error) from None
