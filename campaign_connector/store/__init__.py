"""The store: the only part of campaign-connector that speaks SQL. It owns the schema and its migrations.

``Store.open`` applies pending migrations, sets a busy timeout so that two writers wait for each other instead
of failing, and turns every SQLite failure it can foresee (missing, corrupt, newer, read-only, full, busy)
into a one-line ``StoreError`` naming the file. Writes happen inside ``with store.atomic():``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from campaign_connector.errors import StoreError
from campaign_connector.store.schema import MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    import sqlite_utils

#: Seconds a writer waits for another writer before "database is busy".
BUSY_TIMEOUT_SECONDS = 30.0

#: Page size of the database files this tool creates (the store, and its staging and scratch files); SQLite's
#: default is 4096. Bulk writes touch a quarter as many pages: a 10M-event import took 29.8 s against 32.5 s
#: (benchmarks/README.md). A database keeps the page size it was created with.
PAGE_SIZE = 16384

DEFAULT_DB = "campaign_connector.db"
DB_ENVVAR = "CAMPAIGN_CONNECTOR_DB"


def resolve_db_path(option: str | None) -> Path:
    """SPEC §5: ``--db``, else ``$CAMPAIGN_CONNECTOR_DB``, else ``./campaign_connector.db``."""
    return Path(option or os.environ.get(DB_ENVVAR) or DEFAULT_DB)


def describe_sqlite_error(path: Path | str, err: sqlite3.Error) -> StoreError:
    """A one-line ``StoreError`` for an SQLite failure, naming the file and what to do."""
    text = str(err).lower()
    if "locked" in text or "busy" in text:
        return StoreError(f"{path}: database is busy (another import or replay is writing; try again when it ends)")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError(f"{path}: not a campaign-connector database or corrupted ({err}); "
                          "restore it or point --db at another file")
    if "readonly" in text or "read-only" in text:
        return StoreError(f"{path}: database is read-only (check the file's and folder's permissions)")
    if "full" in text or "disk i/o" in text:
        return StoreError(f"{path}: cannot write the database ({err}); free disk space and run again")
    if "unable to open" in text:
        return StoreError(f"{path}: cannot open the database ({err}); check the path and permissions")
    return StoreError(f"{path}: database error: {err}")


class Store:
    """A campaign-connector database. Open with ``Store.open``; use as a context manager to close."""

    def __init__(self, conn: sqlite3.Connection, path: Path | str) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True) -> Store:
        """Open (and with ``create``, create) the database at ``path`` and bring its schema up to date.

        ``":memory:"`` gives a throw-away in-memory database. Without ``create``, a missing file is a
        ``StoreError`` telling the user how to make one.
        """
        where = str(path)
        if where != ":memory:":
            p = Path(where)
            if p.is_dir():
                raise StoreError(f"{p}: is a folder, not a database file (give --db a file path)")
            if not p.exists():
                if not create:
                    raise StoreError(
                        f"{p}: no database here (import events first with `campaign-connector import FILE`, "
                        f"or point --db / ${DB_ENVVAR} at an existing one)"
                    )
                if p.parent and not p.parent.exists():
                    raise StoreError(f"{p}: folder {p.parent} does not exist")
        try:
            conn = sqlite3.connect(where, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            store = cls(conn, where)
            store._migrate()
        except sqlite3.Error as err:
            raise describe_sqlite_error(where, err) from None
        return store

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: database schema version {version} is newer than this campaign-connector "
                f"understands ({SCHEMA_VERSION}); upgrade campaign-connector"
            )
        if version == SCHEMA_VERSION:
            return
        if version == 0 and self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(f"{self.path}: not a campaign-connector database (it has other tables); "
                             "point --db at another file")
        if version == 0 and self.path != ":memory:":
            self.conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # before the first write: the file is empty
            # Write-ahead logging: readers (a long replay) and a writer (an import) do not block each other.
            self.conn.execute("PRAGMA journal_mode = WAL")
        with self.atomic():
            # Another process opening the same new file may have migrated it while this one waited for the lock.
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                MIGRATIONS[number](self.conn)
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside is stored, or nothing is. Waits for other writers."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise describe_sqlite_error(self.path, err) from None
        try:
            yield self.conn
        except BaseException as err:
            self._rollback()
            if isinstance(err, sqlite3.Error):
                raise describe_sqlite_error(self.path, err) from None
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as err:
            self._rollback()
            raise describe_sqlite_error(self.path, err) from None

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every read inside sees the same committed state of the database, whatever
        other processes commit meanwhile (WAL mode). Writes inside are not allowed."""
        try:
            self.conn.execute("BEGIN DEFERRED")
        except sqlite3.Error as err:
            raise describe_sqlite_error(self.path, err) from None
        try:
            yield self.conn
        finally:
            self._rollback()

    def _rollback(self) -> None:
        """Roll back the open transaction, if SQLite has not already (it does itself on a full disk)."""
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    @property
    def db(self) -> sqlite_utils.Database:
        """The same connection as a ``sqlite_utils.Database``, for table introspection and simple queries."""
        import sqlite_utils  # here, not at the top: it takes ~0.1 s (numpy when present); most commands never use it

        return sqlite_utils.Database(self.conn)

    def schema_version(self) -> int:
        """The database's schema version."""
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        """Close; an SQLite failure the store did not foresee (damage found mid-read) leaves the block as a
        one-line ``StoreError`` naming this file."""
        self.close()
        if isinstance(error, sqlite3.Error):
            raise describe_sqlite_error(self.path, error) from None
