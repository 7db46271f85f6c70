"""Input files → normalised Arrow batches, inside a Spark task (no Spark here: plain Python and pyarrow).

Each task reads whole files with ``import``'s own readers and normaliser, so parsing, validation and every
bad-row message are those of ``import``. A batch carries three kinds of rows (``kind``): an event in the
stored-events columns, a bad row (``reason``, ``raw``, ``line``), and the note of an unknown column kept in
``properties`` (its name in ``reason``), for the import's warning. Every event gets its place in import order:
``file`` (the input's index in the run) and ``row`` (its number among the file's good rows), so equal times
keep file order and duplicate ids keep their first occurrence, as ``import`` does.

Object-store URLs (``s3://`` ...) are copied to a local temporary file through fsspec first; the readers
want a seekable local file (gzip, Avro containers).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from campaign_connector.errors import CampaignConnectorError
from campaign_connector.importer import BadRow, _Run, _user_records, _user_records_csv
from campaign_connector.inputs import Opened, raw_lines
from campaign_connector.inputs.jsonl import json_rows

#: Row kinds of a normalised batch (``FAILED``: the file could not be read at all; its message in ``reason``).
EVENT, BAD, UNKNOWN_COLUMN, FAILED = 0, 1, 2, 3

#: The normalised events batch: the stored-events columns plus the import-order key and bad-row fields.
EVENTS_SCHEMA = pa.schema([
    ("kind", pa.int8()), ("file", pa.int32()), ("row", pa.int64()), ("line", pa.int64()),
    ("id", pa.string()), ("user_id", pa.string()), ("time", pa.int64()), ("event", pa.string()),
    ("campaign", pa.string()), ("link_alias", pa.string()), ("button_id", pa.string()), ("page", pa.string()),
    ("machine_open", pa.bool_()), ("conversion_index", pa.int64()), ("timezone", pa.string()),
    ("properties", pa.string()), ("reason", pa.string()), ("raw", pa.string()), ("name", pa.string()),
])

#: A normalised users-file batch (``USER_COLUMNS`` plus the line, for "last row of a user wins").
USERS_SCHEMA = pa.schema([
    ("kind", pa.int8()), ("line", pa.int64()), ("user_id", pa.string()), ("u_timezone", pa.string()),
    ("u_gcg", pa.int8()), ("u_unsubscribed", pa.string()), ("u_attributes", pa.string()),
    ("reason", pa.string()), ("raw", pa.string()), ("name", pa.string()),
])

#: Good rows gathered before they become one Arrow batch.
BATCH_ROWS = 50_000

_TEXT = (4, 5, 6, 7, 10, 11)  # campaign, link_alias, button_id, page, timezone, properties (EVENT_COLUMNS places)


def is_url(path: str) -> bool:
    """Whether ``path`` is an object-store (fsspec) URL rather than a local path."""
    return "://" in path and not path.startswith("file://")


@contextmanager
def local_file(path: str) -> Iterator[Path]:
    """The file itself, or a temporary local copy of an object-store URL (removed afterwards)."""
    if not is_url(path):
        yield Path(path.removeprefix("file://"))
        return
    import fsspec

    suffix = "".join(Path(path.rsplit("/", 1)[-1]).suffixes)
    handle, name = tempfile.mkstemp(prefix="campaign-connector-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out, fsspec.open(path, "rb") as source:
            shutil.copyfileobj(source, out)
        yield Path(name)
    finally:
        os.unlink(name)


class _Collector(_Run):
    """``import``'s reading run, with the rows gathered into Arrow batches instead of stored."""

    def __init__(self, file_index: int) -> None:
        super().__init__(None, skip_invalid=True, progress=None)  # type: ignore[arg-type]
        self.file_index = file_index
        self.rows = 0
        self.sealed: list[pa.RecordBatch] = []
        self.pending: list[tuple[Any, ...]] = []

    def flush(self, batch: list[tuple[Any, ...]], position: int = 0, present: frozenset[str] | None = None) -> None:
        self.pending.extend(batch)
        batch.clear()
        if len(self.pending) >= BATCH_ROWS:
            self.seal()

    def seal(self) -> None:
        """Turn the gathered rows into one Arrow batch (Arrow holds them far more compactly than tuples)."""
        if self.pending:
            self.sealed.append(_events_batch(self.pending, self.file_index, self.rows))
            self.rows += len(self.pending)
            self.pending = []


def _events_batch(rows: list[tuple[Any, ...]], file_index: int, first_row: int) -> pa.RecordBatch:
    """``EVENT_COLUMNS`` tuples as the importer prepares them (0 or "" for empty) → an ``EVENTS_SCHEMA`` batch."""
    columns = [list(c) for c in zip(*rows, strict=True)]
    for i in _TEXT:
        columns[i] = [None if v == 0 else v for v in columns[i]]
    columns[8] = [v == 1 for v in columns[8]]
    columns[9] = [None if v == "" else v for v in columns[9]]
    n = len(rows)
    event_id, user_id, time, event, campaign, alias, button, page, machine, index, zone, props = columns
    return pa.RecordBatch.from_arrays([
        pa.array([EVENT] * n, pa.int8()), pa.array([file_index] * n, pa.int32()),
        pa.array(range(first_row, first_row + n), pa.int64()), pa.nulls(n, pa.int64()),
        pa.array(event_id, pa.string()), pa.array(user_id, pa.string()), pa.array(time, pa.int64()),
        pa.array(event, pa.string()), pa.array(campaign, pa.string()), pa.array(alias, pa.string()),
        pa.array(button, pa.string()), pa.array(page, pa.string()), pa.array(machine, pa.bool_()),
        pa.array(index, pa.int64()), pa.array(zone, pa.string()), pa.array(props, pa.string()),
        pa.nulls(n, pa.string()), pa.nulls(n, pa.string()), pa.nulls(n, pa.string()),
    ], schema=EVENTS_SCHEMA)


def _notes_batch(kind: int, file_index: int, notes: list[tuple[int, str, str | None, str]]) -> pa.RecordBatch:
    """Bad rows or unknown-column notes as an ``EVENTS_SCHEMA`` batch: (line, reason, raw, file name)."""
    n = len(notes)
    lines, reasons, raws, names = ([list(c) for c in zip(*notes, strict=True)] if notes else ([], [], [], []))
    empty_text = pa.nulls(n, pa.string())
    return pa.RecordBatch.from_arrays([
        pa.array([kind] * n, pa.int8()), pa.array([file_index] * n, pa.int32()), pa.nulls(n, pa.int64()),
        pa.array(lines, pa.int64()), empty_text, empty_text, pa.nulls(n, pa.int64()), empty_text, empty_text,
        empty_text, empty_text, empty_text, pa.nulls(n, pa.bool_()), pa.nulls(n, pa.int64()), empty_text,
        empty_text, pa.array(reasons, pa.string()), pa.array(raws, pa.string()), pa.array(names, pa.string()),
    ], schema=EVENTS_SCHEMA)


def _with_raw(bad: list[BadRow], path: Path) -> list[BadRow]:
    """Bad rows with their verbatim text filled in from the file (CSV rows are read back by line)."""
    spans = {row.line: row.end for row in bad if row.raw is None}
    texts = raw_lines(path, spans) if spans else {}
    return [row if row.raw is not None else BadRow(row.file, row.line, row.reason, texts.get(row.line), row.end)
            for row in bad]


def read_events(file_index: int, name: str, kind: str, user_key: str) -> Iterator[pa.RecordBatch]:
    """One input file (``name`` as given; ``kind`` from ``inputs.reader_kind``) → normalised batches: its events
    in file order, then its bad rows, then the unknown columns it had."""
    with local_file(name) as path:
        run = _Collector(file_index)
        try:
            run.read_file(path, kind, user_key)
        except CampaignConnectorError as error:  # a file-level problem: the whole run stops, as an import does
            yield _notes_batch(FAILED, file_index, [(0, str(error), None, name)])
            return
        run.seal()
        yield from run.sealed
        if run.bad:
            bad = _with_raw(run.bad, path)
            yield _notes_batch(BAD, file_index, [(row.line, row.reason, row.raw, name) for row in bad])
        if run.unknown:
            yield _notes_batch(UNKNOWN_COLUMN, file_index, [(0, column, None, name) for column in sorted(run.unknown)])


def read_users(name: str, kind: str) -> Iterator[pa.RecordBatch]:
    """A users file → normalised ``USERS_SCHEMA`` batches (bad rows as ``BAD`` rows), with ``import-users``' rules."""
    try:
        good, bad = _users(name, kind)
    except CampaignConnectorError as error:
        good, bad = [], [BadRow(name, 0, str(error))]
        failed = True
    else:
        failed = False
    rows: list[tuple[Any, ...]] = [(EVENT, line, user, zone, gcg, unsub, attrs, None, None, name)
                                   for line, user, zone, gcg, unsub, attrs in good]
    rows += [(FAILED if failed else BAD, row.line, None, None, None, None, None, row.reason, row.raw, name)
             for row in bad]
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in USERS_SCHEMA]
    yield pa.RecordBatch.from_arrays([pa.array(c, f.type) for c, f in zip(columns, USERS_SCHEMA, strict=True)],
                                     schema=USERS_SCHEMA)


def _users(name: str, kind: str) -> tuple[list[tuple[Any, ...]], list[BadRow]]:
    with local_file(name) as path:
        if kind == "csv":
            records = _user_records_csv(path)
        else:
            opened = Opened(path)
            try:
                records = _user_records([(line, obj, problem) for line, obj, problem, _ in json_rows(opened)])
            finally:
                opened.close()
        good: list[tuple[Any, ...]] = []
        bad: list[BadRow] = []
        for line, values, problem in records:
            if values is None:
                bad.append(BadRow(name, line, problem or "bad row", None, line))
            else:
                good.append((line, *values))
        return good, _with_raw(bad, path)
