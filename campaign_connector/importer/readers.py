"""Event logs read as chunks of normalised events: Arrow batches through ``normalize_batch`` (CSV, Parquet) or
rows through the per-row rules (JSON lines, Braze Currents, Python mappings).

Every reader takes the file's display name (used in every message) and the local path it reads, so a source
shown as a URL or ``<stdin>`` can be read from a local copy. A reader yields ``Chunk``s in file order.

CSV is read by ``pyarrow.csv`` (streaming, in C); a file in which that reader meets anything unusual — a row
with the wrong number of fields, a parse error, or any bad row, whose line number only a line-by-line reader
knows (quoted fields span lines, blank lines are skipped) — raises ``Reread``: the caller forgets what it
staged from the file and reads it again with ``csv_python_chunks`` (the ``csv`` module, one row at a time,
into the same normaliser), which words every message exactly as before.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv

from campaign_connector.errors import InputError
from campaign_connector.importer.normalize import BadRow, normalize_batch, rows_batch
from campaign_connector.importer.rows import Bad, kind, mapping_tuple
from campaign_connector.inputs import READ_ERRORS, Opened, _TextGuard
from campaign_connector.inputs.csvfile import CsvFile
from campaign_connector.inputs.currents import NoUser, avro_records, json_records, to_event_row
from campaign_connector.inputs.currents import Record as CurrentsRecord
from campaign_connector.inputs.jsonl import json_rows

#: Rows per chunk of the line-by-line readers (and of Parquet batches).
BATCH_ROWS = 65_536
#: Bytes of CSV text per ``pyarrow.csv`` batch (~25,000 rows). The reader reads blocks ahead of the one being
#: normalised, so the block size sets the import's memory: 2 MiB took a 10M-event import from 422 MB peak RSS
#: (4 MiB) to 313 MB, and was as fast or faster (benchmarks/README.md).
CSV_BLOCK_BYTES = 2 * 1024 * 1024

REQUIRED_EVENT_FIELDS: tuple[str, ...] = ("user_id", "time", "event")
_CSV_EXAMPLE = "user_id,time,event,campaign"


@dataclass(frozen=True)
class Chunk:
    """Some rows of one file, normalised."""

    events: pa.RecordBatch
    """Good rows (``EVENT_SCHEMA`` columns), in file order."""
    bad: list[BadRow]
    """Bad rows, in file order."""
    unknown: frozenset[str]
    """Unknown column names met."""
    rows: int
    """Rows read (good and bad)."""
    position: int
    """Bytes of the file read so far (compressed bytes for ``.gz``)."""


class Reread(Exception):
    """The Arrow CSV reader cannot give this file's exact messages: read it line by line instead."""


def csv_chunks(name: str, path: Path) -> Iterator[Chunk]:
    """A CSV event log through ``pyarrow.csv`` and the batch normaliser. Raises ``Reread`` (see the module)."""
    source = CsvFile(path, name)
    try:
        source.check_header(REQUIRED_EVENT_FIELDS, _CSV_EXAMPLE)
        header = source.header
        if source.reader.line_num != 1:  # a header with a quoted line break
            raise Reread
    finally:
        source.close()
    opened = Opened(path, name)
    try:
        reader = pa_csv.open_csv(
            io.BufferedReader(_TextGuard(opened.binary), CSV_BLOCK_BYTES),
            read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1, block_size=CSV_BLOCK_BYTES,
                                            use_threads=False),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        first = 2
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            chunk = normalize_batch(batch, file=name, first_line=first)
            if chunk.bad:
                raise Reread
            first += batch.num_rows
            yield Chunk(chunk.events, [], chunk.unknown, batch.num_rows, opened.position())
    except Exception:  # the line-by-line reader words whatever this was (bad UTF-8, NUL bytes, bad quoting ...)
        raise Reread from None
    finally:
        opened.close()


def csv_python_chunks(name: str, path: Path) -> Iterator[Chunk]:
    """A CSV event log read line by line with the ``csv`` module (exact line numbers), normalised in batches."""
    source = CsvFile(path, name)
    try:
        source.check_header(REQUIRED_EVENT_FIELDS, _CSV_EXAMPLE)
        header = source.header
        width = len(header)
        reader = source.reader
        columns: list[list[str]] = [[] for _ in header]
        lines: list[int] = []
        ends: list[int] = []
        bad: list[BadRow] = []
        read = 0
        last = reader.line_num
        try:
            for row in reader:
                line = last + 1
                last = reader.line_num
                if len(row) != width:
                    if row:
                        read += 1
                        bad.append(BadRow(name, line, f"has {len(row)} fields, the header has {width} "
                                          "(quote fields that contain commas)", None, last))
                    continue
                read += 1
                for column, value in zip(columns, row, strict=True):
                    column.append(value)
                lines.append(line)
                ends.append(last)
                if len(lines) >= BATCH_ROWS:
                    yield _python_chunk(name, header, columns, lines, ends, bad, read, source.opened.position())
                    columns = [[] for _ in header]
                    lines, ends, bad, read = [], [], [], 0
        except (csv.Error, *READ_ERRORS) as error:
            raise source.failure(error) from None
        yield _python_chunk(name, header, columns, lines, ends, bad, read, source.opened.position())
    finally:
        source.close()


def _python_chunk(name: str, header: list[str], columns: list[list[str]], lines: list[int], ends: list[int],
                  bad: list[BadRow], read: int, position: int) -> Chunk:
    batch = pa.RecordBatch.from_arrays([pa.array(column, pa.string()) for column in columns], names=header)
    done = normalize_batch(batch, file=name, lines=lines, ends=ends)
    merged = sorted([*bad, *done.bad], key=lambda row: row.line) if bad else done.bad
    return Chunk(done.events, merged, done.unknown, read, position)


def parquet_chunks(name: str, path: Path) -> Iterator[Chunk]:
    """A Parquet event log: its row groups as batches through the batch normaliser; rows are numbered from 1."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{name}: not a Parquet file ({error}); write it again, or pass the right --format") \
            from None
    names = parquet.schema_arrow.names
    missing = [field for field in REQUIRED_EVENT_FIELDS if field not in names]
    if missing:
        raise InputError(f"{name}: missing required column(s) {', '.join(missing)} "
                         f"(the file has {', '.join(names)})")
    size = path.stat().st_size
    first = 1
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            done = normalize_batch(batch, file=name, first_line=first)
            bad = [BadRow(row.file, row.line, row.reason, _raw_text(batch.slice(row.line - first, 1).to_pylist()[0]),
                          row.line) for row in done.bad]
            first += batch.num_rows
            yield Chunk(done.events, bad, done.unknown, batch.num_rows,
                        size * (first - 1) // max(parquet.metadata.num_rows, 1))
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{name}:{first}: unreadable Parquet data ({error}); write the file again") from None


#: (line or record number, row, problem, raw) — what the line-by-line sources yield.
Record = tuple[int, dict[str, Any] | None, str | None, Any]


def record_chunks(name: str, records: Iterable[Record], position: Any = lambda: 0) -> Iterator[Chunk]:
    """Rows shaped like JSON-lines objects through the per-row rules, in chunks of ``BATCH_ROWS``."""
    good: list[tuple[Any, ...]] = []
    bad: list[BadRow] = []
    unknown: set[str] = set()
    read = 0
    for line, obj, problem, raw in records:
        read += 1
        if obj is None:
            bad.append(BadRow(name, line, problem or "bad row", _raw_text(raw), line))
            continue
        try:
            good.append(mapping_tuple(obj, unknown))
        except Bad as error:
            bad.append(BadRow(name, line, str(error), _raw_text(raw), line))
            continue
        if len(good) >= BATCH_ROWS:
            yield Chunk(rows_batch(good), bad, frozenset(unknown), read, position())
            good, bad, read = [], [], 0
    yield Chunk(rows_batch(good), bad, frozenset(unknown), read, position())


def json_chunks(name: str, path: Path) -> Iterator[Chunk]:
    """A JSON-lines event log."""
    opened = Opened(path, name)
    try:
        yield from record_chunks(name, json_rows(opened), opened.position)
    finally:
        opened.close()


def currents_chunks(name: str, path: Path, kind_: str, user_key: str, event_type: str | None = None,
                    no_user: dict[str, int] | None = None) -> Iterator[Chunk]:
    """A Braze Currents export (Avro container, or JSON): each record mapped by ``currents.to_event_row``.

    ``event_type`` types JSON rows that name none (the file's ``event_type=`` folder, or ``--event-type``).
    Records without a user are not rows: they are counted per event type in ``no_user``."""
    opened = Opened(path, name)
    counts = no_user if no_user is not None else {}
    try:
        records = avro_records(opened) if kind_ == "avro" else json_records(opened, event_type)
        yield from record_chunks(name, _currents_rows(records, user_key, counts), opened.position)
    finally:
        opened.close()


def _raw_text(raw: Any) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    return json.dumps(raw, ensure_ascii=False, default=str)


def _currents_rows(records: Iterator[CurrentsRecord], user_key: str, no_user: dict[str, int]) -> Iterator[Record]:
    for line, event_type, record, problem, raw in records:
        if record is None or event_type is None:
            yield line, None, problem, raw
            continue
        try:
            yield line, to_event_row(event_type, record, user_key), None, raw
        except NoUser as skipped:
            no_user[skipped.event_type] = no_user.get(skipped.event_type, 0) + 1
        except ValueError as error:
            yield line, None, str(error), raw


def mapping_records(rows: Iterable[Any]) -> Iterator[Record]:
    """Python mappings (``import_event_rows``) as records numbered from 1."""
    for number, row in enumerate(rows, 1):
        if isinstance(row, dict):
            yield number, row, None, row
        else:
            yield number, None, f"expected a mapping of event fields, got {kind(row)}", row
