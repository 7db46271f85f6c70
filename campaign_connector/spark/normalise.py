"""Input files → normalised Arrow batches, inside a Spark task (no Spark here: plain Python and pyarrow).

Each task reads whole files with ``import``'s own readers (``importer.readers``), which run the batch
normaliser (``importer.normalize.normalize_batch``) or the per-row rules, so parsing, validation and every
bad-row message are those of ``import``. A batch carries rows of several kinds (``kind``): events in the stored
columns; bad rows (``line``, ``reason``, ``raw``); the unknown columns kept in ``properties`` (the name in
``reason``); Currents records without a user (their type in ``reason``, their count in ``line``); and a file
that cannot be read at all (its message in ``reason``). Every event gets its place in import order: ``file``
(the input's index in the run) and ``row`` (its number among the file's good rows), so equal times keep file
order and duplicate ids keep their first occurrence, as ``import`` does.

Object-store URLs (``s3://`` ...) are copied to a local temporary file through fsspec first, in the task: the
readers want a seekable local file (gzip, Avro containers, Parquet footers).
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
from campaign_connector.importer.normalize import EVENT_SCHEMA, BadRow
from campaign_connector.importer.readers import (
    Chunk,
    Reread,
    csv_chunks,
    csv_python_chunks,
    currents_chunks,
    json_chunks,
    parquet_chunks,
)
from campaign_connector.importer.users import user_records, user_records_csv
from campaign_connector.inputs import Opened, raw_lines
from campaign_connector.inputs.jsonl import json_rows
from campaign_connector.inputs.sources import url_scheme

#: Row kinds of a normalised batch.
EVENT, BAD, UNKNOWN_COLUMN, NO_USER, FAILED = 0, 1, 2, 3, 4

#: The import-order key and the bad-row fields around the stored events columns (``EVENT_SCHEMA``).
_KEY = [("kind", pa.int8()), ("file", pa.int32()), ("row", pa.int64()), ("line", pa.int64())]
_NOTE = [("reason", pa.string()), ("raw", pa.string()), ("name", pa.string())]
EVENTS_SCHEMA = pa.schema([*_KEY, *((f.name, f.type) for f in EVENT_SCHEMA), *_NOTE])

#: A normalised users-file batch (``store.events.USER_COLUMNS``, the line for "the last row of a user wins").
USERS_SCHEMA = pa.schema([
    ("kind", pa.int8()), ("line", pa.int64()), ("user_id", pa.string()), ("u_timezone", pa.string()),
    ("u_gcg", pa.int8()), ("u_unsubscribed", pa.string()), ("u_attributes", pa.string()), *_NOTE,
])


@contextmanager
def local_file(name: str) -> Iterator[Path]:
    """The file itself, or a temporary local copy of an object-store URL (removed afterwards)."""
    if url_scheme(name) is None:
        yield Path(name)
        return
    import fsspec

    suffix = "".join(Path(name.rsplit("/", 1)[-1]).suffixes)
    handle, copy = tempfile.mkstemp(prefix="campaign-connector-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out, fsspec.open(name, "rb") as source:
            shutil.copyfileobj(source, out)
        yield Path(copy)
    finally:
        os.unlink(copy)


def _chunks(name: str, path: Path, kind: str, user_key: str, event_type: str | None,
            no_user: dict[str, int]) -> list[Chunk]:
    """One file's chunks, read as ``import`` reads it (a CSV the Arrow reader cannot word exactly is read
    again line by line, forgetting the first reading)."""
    if kind == "csv":
        try:
            return list(csv_chunks(name, path))
        except Reread:
            return list(csv_python_chunks(name, path))
    if kind == "parquet":
        return list(parquet_chunks(name, path))
    if kind == "jsonl":
        return list(json_chunks(name, path))
    return list(currents_chunks(name, path, kind, user_key, event_type, no_user))


def _keyed(events: pa.RecordBatch, file_index: int, first_row: int) -> pa.RecordBatch:
    """Good rows with their kind and (file, row) key in front and empty note columns behind."""
    n = events.num_rows
    columns = [pa.array([EVENT] * n, pa.int8()), pa.array([file_index] * n, pa.int32()),
               pa.array(range(first_row, first_row + n), pa.int64()), pa.nulls(n, pa.int64()),
               *events.columns, *(pa.nulls(n, pa.string()) for _ in _NOTE)]
    return pa.RecordBatch.from_arrays(columns, schema=EVENTS_SCHEMA)


def _notes(kind: int, file_index: int, notes: list[tuple[int, str, str | None, str]]) -> pa.RecordBatch:
    """Rows that are not events — (line, reason, raw, file name) — as an ``EVENTS_SCHEMA`` batch."""
    n = len(notes)
    lines, reasons, raws, names = ([list(c) for c in zip(*notes, strict=True)] if notes else ([], [], [], []))
    return pa.RecordBatch.from_arrays([
        pa.array([kind] * n, pa.int8()), pa.array([file_index] * n, pa.int32()), pa.nulls(n, pa.int64()),
        pa.array(lines, pa.int64()), *(pa.nulls(n, f.type) for f in EVENT_SCHEMA),
        pa.array(reasons, pa.string()), pa.array(raws, pa.string()), pa.array(names, pa.string()),
    ], schema=EVENTS_SCHEMA)


def _with_raw(bad: list[BadRow], path: Path) -> list[BadRow]:
    """Bad rows with their verbatim text filled in from the file (CSV rows are read back by line), as the
    import's rejects files have them."""
    spans = {row.line: row.end or row.line for row in bad if row.raw is None}
    texts = raw_lines(path, spans) if spans else {}
    return [row if row.raw is not None else BadRow(row.file, row.line, row.reason, texts.get(row.line), row.end)
            for row in bad]


def read_events(file_index: int, name: str, kind: str, user_key: str, event_type: str | None
                ) -> Iterator[pa.RecordBatch]:
    """One input file (``name`` as given or listed; ``kind`` from ``inputs.reader_kind``) → normalised batches:
    its events in file order, then its bad rows, unknown columns and records without a user."""
    no_user: dict[str, int] = {}
    with local_file(name) as path:
        try:
            chunks = _chunks(name, path, kind, user_key, event_type, no_user)
        except CampaignConnectorError as error:  # a file-level problem stops the whole run, as in an import
            yield _notes(FAILED, file_index, [(0, str(error), None, name)])
            return
        bad = _with_raw([row for chunk in chunks for row in chunk.bad], path)
    row = 0
    for chunk in chunks:
        if chunk.events.num_rows:
            yield _keyed(chunk.events, file_index, row)
            row += chunk.events.num_rows
    unknown = sorted({column for chunk in chunks for column in chunk.unknown})
    notes: list[tuple[int, list[tuple[int, str, str | None, str]]]] = [
             (BAD, [(b.line, b.reason, b.raw, name) for b in bad]),
             (UNKNOWN_COLUMN, [(0, column, None, name) for column in unknown]),
             (NO_USER, [(count, event, None, name) for event, count in sorted(no_user.items())])]
    for kind_, rows in notes:
        if rows:
            yield _notes(kind_, file_index, rows)


def read_users(name: str, kind: str) -> Iterator[pa.RecordBatch]:
    """A users file → one ``USERS_SCHEMA`` batch with ``import-users``' rules (bad rows as ``BAD`` rows; a file
    that cannot be read as one ``FAILED`` row)."""
    try:
        good, bad = _users(name, kind)
        failed = False
    except CampaignConnectorError as error:
        good, bad, failed = [], [BadRow(name, 0, str(error))], True
    rows: list[tuple[Any, ...]] = [(EVENT, line, user, zone, gcg, unsub, attrs, None, None, name)
                                   for line, user, zone, gcg, unsub, attrs in good]
    rows += [(FAILED if failed else BAD, row.line, None, None, None, None, None, row.reason, row.raw, name)
             for row in bad]
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in USERS_SCHEMA]
    yield pa.RecordBatch.from_arrays([pa.array(c, f.type) for c, f in zip(columns, USERS_SCHEMA, strict=True)],
                                     schema=USERS_SCHEMA)


def _users(name: str, kind: str) -> tuple[list[tuple[Any, ...]], list[BadRow]]:
    with local_file(name) as path:
        opened = None
        if kind == "csv":
            records = user_records_csv(path, name)
        else:
            opened = Opened(path, name)
            records = user_records((line, obj, problem) for line, obj, problem, _ in json_rows(opened))
        good: list[tuple[Any, ...]] = []
        bad: list[BadRow] = []
        try:
            for line, values, problem in records:
                if values is None:
                    bad.append(BadRow(name, line, problem or "bad row", None, line))
                else:
                    good.append((line, *values))
        finally:
            if opened is not None:
                opened.close()
        return good, _with_raw(bad, path)
