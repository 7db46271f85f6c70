"""One import: read every file into normalised chunks, stage them, then store them in one transaction.

Reading and normalising happen before the store is touched: chunks go to a scratch file (``Staging``, ADBC)
and bad rows are collected. Then, all-or-nothing: any bad row (without ``skip_invalid``) raises
``BadRowsError`` and nothing is stored; otherwise one transaction adds the ledger row and copies the staged
events in, sorted by user and time (``copy_staged``). A killed or interrupted import leaves the database as
it was: either the transaction never began, or SQLite rolls it back.

Inside the importer each input is a (display name, local path) pair: messages, rejects and the ledger show
the name; the path is what is read.
"""

from __future__ import annotations

import json
import time as clock
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from campaign_connector.errors import InputError
from campaign_connector.importer.normalize import BadRow, unknown_warning
from campaign_connector.importer.readers import (
    Chunk,
    Reread,
    csv_chunks,
    csv_python_chunks,
    currents_chunks,
    json_chunks,
    mapping_records,
    parquet_chunks,
    record_chunks,
)
from campaign_connector.inputs import check_file, raw_lines, reader_kind
from campaign_connector.inputs.currents import USER_KEYS
from campaign_connector.store import Store
from campaign_connector.store.events import (
    Staging,
    attached,
    copy_staged,
    finish_import,
    import_counts,
    start_import,
)

#: ``progress(rows_read, bytes_done, bytes_total)``, called after each chunk and at the end.
ProgressCallback = Callable[[int, int, int], None]

#: Bad rows listed in the error message before "and N more".
SHOWN_BAD_ROWS = 20

#: How to fix an all-or-nothing event import that found bad rows.
SKIP_INVALID_FIX = "fix them, or use --skip-invalid to store the good rows and write the bad ones to a rejects file"


class BadRowsError(InputError):
    """Bad rows in an all-or-nothing import: nothing was stored. ``bad_rows`` holds the first ones."""

    def __init__(self, message: str, bad_rows: list[BadRow], total: int) -> None:
        super().__init__(message)
        self.bad_rows = bad_rows
        self.total = total


@dataclass(frozen=True)
class ImportSummary:
    """What an import did."""

    kind: str
    """``events`` or ``users``."""
    files: tuple[str, ...]
    """The files (or source) read."""
    stored: int
    """Rows written."""
    duplicates: int = 0
    """Events skipped because their id was already stored or seen earlier in the import."""
    rejected: int = 0
    """Bad rows written to rejects files (``skip_invalid``)."""
    by_event: dict[str, int] = field(default_factory=dict)
    """Stored events per event name."""
    warnings: tuple[str, ...] = ()
    """Things worth saying that did not stop the import (unknown columns)."""
    rejects_files: tuple[str, ...] = ()
    """Rejects files written."""
    seconds: float = 0.0
    """Wall time."""


class Collector:
    """Bad rows of one import: all of them with ``skip_invalid`` (for the rejects files), else the first
    ``SHOWN_BAD_ROWS`` and a count."""

    def __init__(self, skip_invalid: bool) -> None:
        self.skip_invalid = skip_invalid
        self.bad: list[BadRow] = []
        self.count = 0

    def add(self, row: BadRow) -> None:
        self.count += 1
        if self.skip_invalid or len(self.bad) < SHOWN_BAD_ROWS:
            self.bad.append(row)

    def fail_if_bad(self, fix: str = SKIP_INVALID_FIX) -> None:
        """All-or-nothing: raise ``BadRowsError`` when any row was bad; ``fix`` says how to fix it."""
        if self.skip_invalid or not self.count:
            return
        shown = self.bad[:SHOWN_BAD_ROWS]
        lines = [str(row) for row in shown]
        if self.count > len(shown):
            lines.append(f"and {self.count - len(shown)} more")
        rows = "row" if self.count == 1 else "rows"
        head = f"{self.count} bad {rows}; nothing was stored ({fix}):"
        raise BadRowsError("\n".join([head, *lines]), shown, self.count)


class _EventRun:
    """Chunks of one import into the staging file: counts, bad rows, unknown columns, progress."""

    def __init__(self, staging: Staging, *, skip_invalid: bool, progress: ProgressCallback | None,
                 total_bytes: int) -> None:
        self.staging = staging
        self.collector = Collector(skip_invalid)
        self.progress = progress
        self.total_bytes = total_bytes
        self.done_bytes = 0
        self.rows_read = 0
        self.unknown: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.local: dict[str, Path] = {}

    def take(self, chunks: Iterable[Chunk]) -> None:
        for chunk in chunks:
            for row in chunk.bad:
                self.collector.add(row)
            self.unknown.update(chunk.unknown)
            self.rows_read += chunk.rows
            if chunk.events.num_rows and (self.collector.skip_invalid or not self.collector.count):
                self.staging.append(chunk.events)
                for item in pc.value_counts(chunk.events.column("event")).to_pylist():
                    self.counts[item["values"]] += item["counts"]
            if self.progress is not None:
                self.progress(self.rows_read, self.done_bytes + chunk.position, self.total_bytes)

    def read_csv(self, name: str, path: Path) -> None:
        """CSV through Arrow; read again line by line (forgetting what was staged from it) on ``Reread``."""
        mark = (self.staging.rows, self.rows_read, Counter(self.counts), set(self.unknown))
        try:
            self.take(csv_chunks(name, path))
        except Reread:
            self.staging.truncate(mark[0])
            self.rows_read, self.counts, self.unknown = mark[1], mark[2], mark[3]
            self.take(csv_python_chunks(name, path))

    def read_file(self, name: str, path: Path, kind: str, user_key: str) -> None:
        self.local[name] = path
        if kind == "csv":
            self.read_csv(name, path)
        elif kind == "parquet":
            self.take(parquet_chunks(name, path))
        elif kind == "jsonl":
            self.take(json_chunks(name, path))
        else:
            self.take(currents_chunks(name, path, kind, user_key))
        self.done_bytes += path.stat().st_size

    def store(self, store: Store, *, files: Sequence[str], format: str, started: float,
              rejects: Path | None = None) -> ImportSummary:
        """All-or-nothing check, then the one transaction; rejects files after it commits."""
        self.collector.fail_if_bad()
        with attached(store, self.staging), store.atomic():
            import_id = start_import(store, kind="events", files=files, format=format)
            stored = copy_staged(store, import_id)
            duplicates = self.staging.rows - stored
            finish_import(store, import_id, stored=stored, duplicates=duplicates, rejected=self.collector.count)
            by_event = dict(sorted(self.counts.items())) if not duplicates else import_counts(store, import_id)
        bad = self.collector.bad
        written = _write_rejects(bad, rejects, self.local) if bad else ()
        return ImportSummary("events", tuple(files), stored, duplicates, self.collector.count, by_event,
                             unknown_warning(self.unknown), written, clock.perf_counter() - started)


def _rejects_path(name: str) -> Path:
    return Path(name + ".rejects.jsonl")


def _write_rejects(bad: list[BadRow], rejects: Path | None, local: dict[str, Path] | None = None) -> tuple[str, ...]:
    """Write bad rows (raw text filled from the files) to the rejects file(s); return the files written."""
    by_file: dict[str, list[BadRow]] = {}
    for row in bad:
        by_file.setdefault(row.file, []).append(row)
    targets: dict[Path, list[BadRow]] = {}
    for name, rows in by_file.items():
        spans = {row.line: row.end for row in rows if row.raw is None}
        texts = raw_lines((local or {}).get(name, Path(name)), spans) if spans else {}
        filled = [row if row.raw is not None else BadRow(row.file, row.line, row.reason, texts.get(row.line), row.end)
                  for row in rows]
        targets.setdefault(rejects or _rejects_path(name), []).extend(filled)
    for target, rows in targets.items():
        try:
            with target.open("w", encoding="utf-8") as out:
                for row in rows:
                    record = {"file": row.file, "line": row.line, "reason": row.reason, "raw": row.raw}
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError as error:
            raise InputError(f"{target}: cannot write the rejects file ({error.strerror or error}); "
                             "the good rows were stored") from None
    return tuple(str(target) for target in targets)


def import_event_files(
    store: Store,
    files: Sequence[Path | str],
    *,
    format: str = "auto",
    skip_invalid: bool = False,
    rejects: Path | str | None = None,
    user_key: str = "user_id",
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import event logs (CSV, JSON lines, Parquet, Currents Avro/JSON; ``.gz`` too) in one transaction.

    Raises ``InputError`` for unreadable files and, unless ``skip_invalid``, ``BadRowsError`` for bad rows
    (nothing stored). With ``skip_invalid`` bad rows go to ``rejects`` (default ``<input>.rejects.jsonl``).
    """
    return import_event_sources(store, [(str(file), Path(file)) for file in files], format=format,
                                skip_invalid=skip_invalid, rejects=rejects, user_key=user_key, progress=progress)


def import_event_sources(
    store: Store,
    sources: Sequence[tuple[str, Path]],
    *,
    format: str = "auto",
    skip_invalid: bool = False,
    rejects: Path | str | None = None,
    user_key: str = "user_id",
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """``import_event_files`` for (display name, local path) pairs: every message, the ledger and the rejects
    files show the name (a URL, ``<stdin>``); the path is the file read."""
    started = clock.perf_counter()
    if user_key not in USER_KEYS:
        raise InputError(f"--user-key {user_key}: unknown user key (use {' or '.join(USER_KEYS)})")
    if not sources:
        raise InputError("no files to import (give one or more event logs)")
    kinds = []
    for _, path in sources:
        check_file(path)
        kinds.append(reader_kind(path, format))
    paths = [path for _, path in sources]
    if rejects is not None and Path(rejects).resolve() in {*(path.resolve() for path in paths),
                                                           Path(str(store.path)).resolve()}:
        raise InputError(f"--rejects {rejects}: is an input file or the database (give the rejects another path)")
    staging = Staging()
    try:
        run = _EventRun(staging, skip_invalid=skip_invalid, progress=progress,
                        total_bytes=sum(path.stat().st_size for path in paths))
        for (name, path), kind in zip(sources, kinds, strict=True):
            run.read_file(name, path, kind, user_key)
        return run.store(store, files=[name for name, _ in sources], format=",".join(sorted(set(kinds))),
                         started=started, rejects=Path(rejects) if rejects else None)
    finally:
        staging.close()


def import_event_rows(store: Store, rows: Iterable[dict[str, Any]], *, source: str = "<rows>") -> ImportSummary:
    """Import rows shaped like JSON-lines objects (scenarios use it); all-or-nothing, bad rows raise
    ``BadRowsError`` with ``SOURCE:N`` (N counts rows from 1)."""
    started = clock.perf_counter()
    staging = Staging()
    try:
        run = _EventRun(staging, skip_invalid=False, progress=None, total_bytes=0)
        run.take(record_chunks(source, mapping_records(rows)))
        return run.store(store, files=[source], format="rows", started=started)
    finally:
        staging.close()


def summary_lines(summary: ImportSummary) -> list[str]:
    """The import's summary as plain lines for stderr: totals, warnings, rejects files, counts per event."""
    files = summary.files[0] if len(summary.files) == 1 else f"{len(summary.files)} files"
    things = summary.kind if summary.stored != 1 else summary.kind[:-1]
    if summary.kind == "users":
        return [f"Imported {summary.stored:,} {things} from {files} in {summary.seconds:.1f} s."]
    lines = [f"Imported {summary.stored:,} {things} from {files} in {summary.seconds:.1f} s: "
             f"{summary.duplicates:,} duplicates skipped, {summary.rejected:,} rejected."]
    lines += [f"Warning: {warning}" for warning in summary.warnings]
    lines += [f"Bad rows written to {path}" for path in summary.rejects_files]
    width = max((len(event) for event in summary.by_event), default=0)
    lines += [f"  {event:<{width}}  {count:>12,}" for event, count in summary.by_event.items()]
    return lines


