"""Health of a database for ``campaign-connector doctor``: integrity, schema version, what it holds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from campaign_connector.model import Health
from campaign_connector.store import Store, describe_sqlite_error
from campaign_connector.store.schema import READABLE_VIEWS, SCHEMA_VERSION


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
