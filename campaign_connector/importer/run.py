"""One import: read every file into normalised chunks, stage them, then store them in one transaction.

Reading and normalising happen before the store is touched: chunks go to a scratch file (``Staging``, ADBC)
and bad rows are collected. Then, all-or-nothing: any bad row (without ``skip_invalid``) raises
``BadRowsError`` and nothing is stored; otherwise one transaction adds the ledger row and copies the staged
events in, sorted by user and time (``copy_staged``). A killed or interrupted import leaves the database as
it was: either the transaction never began, or SQLite rolls it back.

Inside the importer each input is an ``inputs.sources.Source`` (display name, local path, the event type its
path names): messages, rejects and the ledger show the name; the path is what is read. ``import_event_files``
expands paths, folders, object-store URLs and ``-`` into sources.
"""

from __future__ import annotations

import json
import time as clock
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

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
from campaign_connector.inputs.currents import check_user_key
from campaign_connector.inputs.sources import EVENT_FILE_NAMES, STDIN, Source, event_type_in_path, open_sources
from campaign_connector.store import Store
from campaign_connector.store.events import (
    Staging,
    attached,
    copy_staged,
    finish_import,
    import_bot_clicks,
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
    no_user: dict[str, int] = field(default_factory=dict)
    """Records without a user (null or missing user key), skipped, per Currents event type."""
    skipped_files: int = 0
    """Files in the given folders that are not event files (or are empty), left out."""
    bot_clicks: int = 0
    """Stored events flagged as suspected bot clicks (inert in the replay)."""


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
        rows = "row" if self.count == 1 else "rows"
        self._fail(f"{self.count} bad {rows}; nothing was stored ({fix}):")

    def fail_if_too_many(self, max_rejects: int | None) -> None:
        """``--max-rejects``: more bad rows than that fail a ``skip_invalid`` import too (nothing stored)."""
        if max_rejects is None or self.count <= max_rejects:
            return
        self._fail(f"{self.count} bad rows, more than --max-rejects {max_rejects}; nothing was stored "
                   "(fix the input, or raise --max-rejects):")

    def _fail(self, head: str) -> NoReturn:
        """``BadRowsError``: ``head``, then the first ``SHOWN_BAD_ROWS`` bad rows and how many more there are."""
        shown = self.bad[:SHOWN_BAD_ROWS]
        lines = [str(row) for row in shown]
        if self.count > len(shown):
            lines.append(f"and {self.count - len(shown)} more")
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
        self.sources: dict[str, Source] = {}
        self.no_user: dict[str, int] = {}
        self.bots = 0

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
                self.bots += pc.sum(chunk.events.column("bot")).as_py() or 0
            if self.progress is not None:
                self.progress(self.rows_read, self.done_bytes + chunk.position, self.total_bytes)

    def read_csv(self, name: str, path: Path) -> None:
        """CSV through Arrow; read again line by line (forgetting what was staged from it) on ``Reread``."""
        mark = (self.staging.rows, self.rows_read, Counter(self.counts), set(self.unknown), self.bots)
        try:
            self.take(csv_chunks(name, path))
        except Reread:
            self.staging.truncate(mark[0])
            self.rows_read, self.counts, self.unknown, self.bots = mark[1], mark[2], mark[3], mark[4]
            self.take(csv_python_chunks(name, path))

    def read_file(self, source: Source, kind: str, user_key: str, event_type: str | None = None) -> None:
        """Read one file; ``event_type`` (``--event-type``) types Currents JSON rows that its path does not."""
        name, path = source.name, source.path
        self.sources[name] = source
        if kind == "csv":
            self.read_csv(name, path)
        elif kind == "parquet":
            self.take(parquet_chunks(name, path))
        elif kind == "jsonl":
            self.take(json_chunks(name, path))
        else:
            self.take(currents_chunks(name, path, kind, user_key, source.event_type or event_type, self.no_user))
        self.done_bytes += path.stat().st_size

    def store(self, store: Store, *, files: Sequence[str], format: str, started: float,
              rejects: Path | None = None, max_rejects: int | None = None, skipped_files: int = 0) -> ImportSummary:
        """All-or-nothing check, then the one transaction; rejects files after it commits."""
        self.collector.fail_if_bad()
        self.collector.fail_if_too_many(max_rejects)
        no_user = dict(sorted(self.no_user.items()))
        with attached(store, self.staging), store.atomic():
            import_id = start_import(store, kind="events", files=files, format=format)
            copied = copy_staged(store, import_id)
            stored = copied.stored
            duplicates = self.staging.rows - stored
            finish_import(store, import_id, stored=stored, duplicates=duplicates, rejected=self.collector.count,
                          no_user=no_user, skipped_files=skipped_files)
            counts, bots = Counter(self.counts), self.bots
            if duplicates and copied.dropped is not None:  # the staged counts less the rows left out
                for event, bot in copied.dropped:
                    counts[event] -= 1
                    bots -= bot
            elif duplicates:
                counts = Counter(import_counts(store, import_id))
                bots = import_bot_clicks(store, import_id) if bots else 0
            by_event = {event: n for event, n in sorted(counts.items()) if n}
        bad = self.collector.bad
        written = _write_rejects(bad, rejects, self.sources) if bad else ()
        return ImportSummary("events", tuple(files), stored, duplicates, self.collector.count, by_event,
                             unknown_warning(self.unknown), written, clock.perf_counter() - started, no_user,
                             skipped_files, bots)


def _rejects_path(source: Source) -> Path:
    """``<input>.rejects.jsonl`` next to a local file; for an object or standard input, in the current folder."""
    if source.local:
        return source.path.with_name(source.path.name + ".rejects.jsonl")
    base = "stdin" if source.name == STDIN else source.name.rstrip("/").rsplit("/", 1)[-1]
    return Path(base + ".rejects.jsonl")


def _write_rejects(bad: list[BadRow], rejects: Path | None, sources: dict[str, Source] | None = None
                   ) -> tuple[str, ...]:
    """Write bad rows (raw text filled from the files) to the rejects file(s); return the files written."""
    by_file: dict[str, list[BadRow]] = {}
    for row in bad:
        by_file.setdefault(row.file, []).append(row)
    targets: dict[Path, list[BadRow]] = {}
    for name, rows in by_file.items():
        source = (sources or {}).get(name) or Source(name, Path(name))
        spans = {row.line: row.end for row in rows if row.raw is None}
        texts = raw_lines(source.path, spans) if spans else {}
        filled = [row if row.raw is not None else BadRow(row.file, row.line, row.reason, texts.get(row.line), row.end)
                  for row in rows]
        targets.setdefault(rejects or _rejects_path(source), []).extend(filled)
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
    event_type: str | None = None,
    max_rejects: int | None = None,
    stdin: BinaryIO | None = None,
) -> ImportSummary:
    """Import event logs (CSV, JSON lines, Parquet, Currents Avro/JSON; ``.gz`` too) in one transaction.

    Each of ``files`` is a file, a folder (walked for event files, in sorted path order), an object-store URL
    (``s3://``, ``gs://``, ``az://``) or ``-`` (``stdin``, default the process's standard input); see
    ``inputs.sources``. ``event_type`` types Currents JSON rows that neither name a type nor sit under an
    ``event_type=`` folder.

    Raises ``InputError`` for unreadable files and, unless ``skip_invalid``, ``BadRowsError`` for bad rows
    (nothing stored). With ``skip_invalid`` bad rows go to ``rejects`` (default ``<input>.rejects.jsonl``),
    unless there are more than ``max_rejects`` of them: then ``BadRowsError`` and nothing is stored.
    """
    if not files:
        raise InputError("no files to import (give one or more event logs)")
    if max_rejects is not None and max_rejects < 0:
        raise InputError(f"--max-rejects {max_rejects}: must be 0 or more")
    with open_sources(files, format=format, stdin=stdin) as expanded:
        return import_event_sources(store, expanded.files, format=format, skip_invalid=skip_invalid,
                                    rejects=rejects, user_key=user_key, progress=progress, event_type=event_type,
                                    max_rejects=max_rejects, skipped_files=expanded.skipped)


def import_event_sources(
    store: Store,
    sources: Sequence[Source | tuple[str, Path]],
    *,
    format: str = "auto",
    skip_invalid: bool = False,
    rejects: Path | str | None = None,
    user_key: str = "user_id",
    progress: ProgressCallback | None = None,
    event_type: str | None = None,
    max_rejects: int | None = None,
    skipped_files: int = 0,
) -> ImportSummary:
    """``import_event_files`` for sources already local: ``Source``s, or (display name, local path) pairs.
    Every message, the ledger and the rejects files show the name (a URL, ``<stdin>``); the path is read."""
    started = clock.perf_counter()
    check_user_key(user_key)
    if not sources:
        raise InputError("no files to import (give one or more event logs)")
    given = [source if isinstance(source, Source) else
             Source(source[0], source[1], event_type_in_path(source[0]), local=source[0] == str(source[1]))
             for source in sources]
    kinds = []
    for source in given:
        check_file(source.path, source.name)
        kinds.append(reader_kind(source.path, format, source.name, currents_path=bool(source.event_type or event_type)))
    local = {source.path.resolve() for source in given if source.local}
    if rejects is not None and Path(rejects).resolve() in {*local, Path(str(store.path)).resolve()}:
        raise InputError(f"--rejects {rejects}: is an input file or the database (give the rejects another path)")
    staging = Staging()
    try:
        run = _EventRun(staging, skip_invalid=skip_invalid, progress=progress,
                        total_bytes=sum(source.path.stat().st_size for source in given))
        for source, kind in zip(given, kinds, strict=True):
            run.read_file(source, kind, user_key, event_type)
        return run.store(store, files=[source.name for source in given], format=",".join(sorted(set(kinds))),
                         started=started, rejects=Path(rejects) if rejects else None, max_rejects=max_rejects,
                         skipped_files=skipped_files)
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


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}{'' if n == 1 else 's'}"


def summary_lines(summary: ImportSummary) -> list[str]:
    """The import's summary as plain lines for stderr: totals, warnings, rejects files, counts per event."""
    files = summary.files[0] if len(summary.files) == 1 else f"{len(summary.files)} files"
    things = summary.kind if summary.stored != 1 else summary.kind[:-1]
    if summary.kind == "users":
        return [f"Imported {summary.stored:,} {things} from {files} in {summary.seconds:.1f} s.",
                *(f"Warning: {warning}" for warning in summary.warnings)]
    lines = [f"Imported {summary.stored:,} {things} from {files} in {summary.seconds:.1f} s: "
             f"{summary.duplicates:,} duplicates skipped, {summary.rejected:,} rejected."]
    if summary.skipped_files:
        lines.append(f"{_count(summary.skipped_files, 'file')} in the folders skipped: not event files "
                     f"({EVENT_FILE_NAMES}), or empty.")
    if summary.no_user:
        total = sum(summary.no_user.values())
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in summary.no_user.items())
        lines.append(f"{_count(total, 'record')} without a user skipped ({kinds}).")
    if summary.bot_clicks:
        lines.append(f"{_count(summary.bot_clicks, 'suspected bot click')} stored, flagged: they trigger, cancel "
                     "and convert nothing.")
    lines += [f"Warning: {warning}" for warning in summary.warnings]
    lines += [f"Bad rows written to {path}" for path in summary.rejects_files]
    width = max((len(event) for event in summary.by_event), default=0)
    lines += [f"  {event:<{width}}  {count:>12,}" for event, count in summary.by_event.items()]
    return lines


