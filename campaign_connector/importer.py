"""Import event logs and users files into the store: read → normalise → validate → store (SPEC §3).

Normalisation of an event row (every rule here has a test in ``tests/test_import*.py``):

- ``user_id``, ``time`` and ``event`` are required. ``time`` is ISO-8601 (an offset or ``Z``; none means UTC)
  or epoch seconds (int or float), kept to the millisecond; a time before 1970 or from 2200 on is a bad row.
- A derived interaction name (``vocabulary.DERIVED_EVENTS``) is stored as its base event with the field set:
  ``open_email_machine`` → ``open_email`` with ``machine_open``; ``click_email_alias`` and
  ``click_in_app_message_button`` need their ``link_alias`` / ``button_id`` (a row without one is bad).
- ``machine_open`` is true for ``true``, ``1``, ``yes`` in any case; ``conversion_index`` is a whole number
  ≥ 0; ``timezone`` must be a known IANA zone; qualifiers are kept as text.
- ``properties`` is a JSON object (in CSV, a JSON string, stored as written). Unknown columns/keys are kept in
  ``properties`` (the explicit ``properties`` object wins on a clash; the merge is stored as compact JSON),
  with one warning per import naming them.
- ``id`` absent → the content hash ``h-`` + BLAKE2b-128 (hex) of the normalised fields user_id, time (ms),
  event, campaign, link_alias, button_id, page, machine_open (0/1), conversion_index, timezone and
  properties (its stored text), joined by U+001F with None as the empty string. It is stable across runs and
  machines, so re-importing a file without ids stores nothing twice (and two identical rows are one event).
- An id already stored, or seen earlier in the same import, is skipped and counted as a duplicate.

All-or-nothing: one transaction per call. Every bad row is collected; by default any bad row means nothing
is stored and ``BadRowsError`` lists the first 20 as ``FILE:LINE: message``. With ``skip_invalid`` the good
rows are stored and each bad row goes to the rejects file (one JSON object per line: file, line, reason,
raw). A killed import leaves the database as it was (SQLite rolls the journal back).

Two processes for big logs (``second_process=True``, as the command line asks): from
``PARSE_PROCESS_MIN_BYTES`` of input on, a second process reads and
normalises the files and sends prepared batches down a pipe, while this one inserts them (``_read_in_child``);
the rows, bad rows, warnings and progress are those of reading here. The transaction stays in this process, so
a killed or interrupted import still leaves the database as it was, and the reading process ends with it.

Test hook: when the environment variable ``CAMPAIGN_CONNECTOR_TEST_PAUSE_AFTER_ROWS`` is ``N`` (or ``N:S``),
batches are N rows and the import sleeps S seconds (default 120) after writing its first batch, inside its
transaction, having printed ``test hook: paused`` on stderr — so a test can kill it mid-import, or start a
second import against the held lock, deterministically. Unset, it costs nothing.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import pickle
import signal
import sys
import time as clock
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import blake2b
from pathlib import Path
from typing import Any, BinaryIO

from campaign_connector.errors import InputError
from campaign_connector.inputs import READ_ERRORS, Opened, check_file, raw_lines, reader_kind
from campaign_connector.inputs.csvfile import CsvFile
from campaign_connector.inputs.currents import USER_KEYS, NoUser, Record, avro_records, json_records, to_event_row
from campaign_connector.inputs.jsonl import json_rows
from campaign_connector.inputs.sources import STDIN, Source, open_sources
from campaign_connector.store import Store
from campaign_connector.store.events import (
    EventWriter,
    finish_import,
    replace_users,
    start_import,
)
from campaign_connector.timeutil import MAX_TIME_MS, MIN_TIME_MS, TimeParseError, is_zone, parse_time
from campaign_connector.vocabulary import CHANNELS, DERIVED_EVENTS, EVENT_FIELDS, TRUTHY

#: ``progress(rows_read, bytes_done, bytes_total)``, called after each batch and at the end.
ProgressCallback = Callable[[int, int, int], None]

#: Rows per ``executemany`` batch.
BATCH_ROWS = 50_000
#: Bad rows listed in the error message before "and N more".
SHOWN_BAD_ROWS = 20
#: Environment variable of the kill-test hook (see the module docstring).
PAUSE_ENV = "CAMPAIGN_CONNECTOR_TEST_PAUSE_AFTER_ROWS"
#: Event logs of at least this many bytes (all files together) are read and normalised in a second process
#: while this one inserts (``_read_in_child``); smaller ones are not worth starting it (~0.2 s).
PARSE_PROCESS_MIN_BYTES = 8 * 1024 * 1024
#: Environment variable overriding ``PARSE_PROCESS_MIN_BYTES`` (tests set 0 to take that path on tiny files).
PARSE_PROCESS_ENV = "CAMPAIGN_CONNECTOR_PARSE_PROCESS_MIN_BYTES"

REQUIRED_EVENT_FIELDS: tuple[str, ...] = ("user_id", "time", "event")
USER_FIELDS: tuple[str, ...] = ("user_id", "timezone", "global_control_group", "unsubscribed")

_EVENT_FIELD_SET = frozenset(EVENT_FIELDS)
#: Keys a JSON-lines row may carry besides the event-log fields: ``bot`` marks a suspected bot click (inert).
_ROW_FIELD_SET = _EVENT_FIELD_SET | {"bot"}
#: Columns a CSV row can fill whatever its header (a content-hash id; machine_open from a derived name).
_ALWAYS = frozenset({"id", "user_id", "time", "event", "machine_open"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_fromiso = datetime.fromisoformat
_BOOLEANS = {"true": 1, "1": 1, "yes": 1, "false": 0, "0": 0, "no": 0}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
#: Zone names already checked (``is_zone`` costs more than a set lookup on every row).
_KNOWN_ZONES: set[str] = set()
_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "true/false", int: "a number", float: "a number"}


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that failed validation."""

    file: str
    """The file (or source) as given."""
    line: int
    """Line (CSV, JSON lines) or record number (Avro) where the row starts."""
    reason: str
    """What is wrong."""
    raw: str | None = None
    """The row verbatim (filled for rejects files)."""
    end: int = 0
    """Last line of a multi-line CSV row."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


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
    """Files in the given folders that are not event files, left out."""
    bot_clicks: int = 0
    """Stored events flagged as suspected bot clicks (inert in the replay)."""


class _Bad(Exception):
    """A bad row; the message is the reason."""


# ---------------------------------------------------------------------------------------------------------
# Field normalisation


def _kind(value: Any) -> str:
    return "null" if value is None else _KINDS.get(type(value), type(value).__name__)


def _ms(value: Any) -> int:
    if value.__class__ is str and value[4:5] == "-":
        try:
            dt = _fromiso(value)
        except ValueError:
            dt = None
        if dt is not None:
            delta = dt - _EPOCH if dt.tzinfo is not None else dt - _NAIVE_EPOCH
            ms = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
            if MIN_TIME_MS <= ms < MAX_TIME_MS:
                return ms
    try:
        return parse_time(value)
    except TimeParseError as error:
        message = str(error)
        raise _Bad(f"time: {message.removeprefix('time ')}") from None


def _machine(value: Any) -> int:
    if value is True:
        return 1
    return 1 if str(value).strip().lower() in TRUTHY else 0


def _index(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value)
    else:
        number = -1
    if number < 0:
        raise _Bad(f"conversion_index: expected a whole number >= 0 (0 = the first conversion event), got {value!r}")
    return number


def _zone(value: str | None) -> str | None:
    if not value:
        return None
    if value not in _KNOWN_ZONES:
        if not is_zone(value):
            raise _Bad(f"timezone: unknown time zone {value!r} (use an IANA name like 'America/New_York')")
        _KNOWN_ZONES.add(value)
    return value


_TOO_DEEP = "properties: JSON nested too deeply (keep properties a flat object)"


def _properties(value: Any, extra: dict[str, Any] | None) -> str | None:
    """The properties column: a JSON object's text (a CSV cell's own text when nothing is merged into it)."""
    if value is None or value == "":
        obj: dict[str, Any] | None = None
    elif isinstance(value, dict):
        obj = value
    else:
        try:
            obj = json.loads(value) if isinstance(value, str) else None
        except ValueError:
            raise _Bad(f"properties: not valid JSON (expected an object like {{\"cart_value\": 120}}), "
                       f"got {value!r}") from None
        except RecursionError:
            raise _Bad(_TOO_DEEP) from None
        if not isinstance(obj, dict):
            raise _Bad(f"properties: expected a JSON object like {{\"cart_value\": 120}}, got {_kind(obj)}")
        if not extra:
            return value.strip() if obj else None
    if extra:
        obj = {**extra, **(obj or {})}
    if not obj:
        return None
    try:
        return _dumps(obj)
    except RecursionError:
        raise _Bad(_TOO_DEEP) from None


def _content_id(values: Sequence[Any]) -> str:
    text = "\x1f".join("" if value is None else str(value) for value in values)
    return "h-" + blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _event_tuple(
    user_id: str | None, time: Any, event: str | None, campaign: str | None, event_id: str | None,
    alias: str | None, button: str | None, page: str | None, machine: Any, index: Any, zone: str | None,
    properties: Any, extra: dict[str, Any] | None, bot: Any = None,
) -> tuple[Any, ...]:
    """One row's fields (text fields already str or None) → the ``EVENT_COLUMNS`` tuple; ``_Bad`` if bad.

    Empty values come out as ``0`` (text columns) or ``""`` (conversion_index), not None: the writer stores
    them as NULL, and binding an int or a string is much cheaper than binding None (Python's sqlite3 looks
    for an adapter for every None), an int cheaper than a string.
    """
    if not user_id:
        raise _Bad("missing user_id")
    if time is None or time == "":
        raise _Bad("missing time")
    if not event:
        raise _Bad("missing event")
    ms = _ms(time)
    machine_open = 0 if machine is None or machine == "" else _machine(machine)
    derived = DERIVED_EVENTS.get(event)
    if derived is not None:
        base, needed, value = derived
        if needed == "machine_open":
            if machine is not None and machine != "" and machine_open != int(bool(value)):
                raise _Bad(f"event {event} contradicts machine_open {machine!r} (drop one of them)")
            machine_open = int(bool(value))
        elif not (alias if needed == "link_alias" else button):
            raise _Bad(f"event {event} needs a {needed} value (or name the row {base})")
        event = base
    conversion_index = "" if index is None or index == "" else _index(index)
    zone = _zone(zone) if zone else ""
    props = (_properties(properties, extra) or "") if properties or extra else ""
    if not event_id:
        event_id = _content_id(
            (user_id, ms, event, campaign, alias, button, page, machine_open, conversion_index, zone, props)
        )
    return (event_id, user_id, ms, event, campaign or 0, alias or 0, button or 0, page or 0, machine_open,
            conversion_index, zone or 0, props or 0, 0 if bot is None or bot == "" else _machine(bot))


def _text(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise _Bad(f"{name}: expected text, got {_kind(value)}")


def _mapping_tuple(obj: dict[str, Any], unknown: set[str]) -> tuple[Any, ...]:
    """A JSON-lines-shaped row → the ``EVENT_COLUMNS`` tuple."""
    get = obj.get
    extra_keys = obj.keys() - _ROW_FIELD_SET
    extra = None
    if extra_keys:
        unknown.update(extra_keys)
        extra = {key: value for key, value in obj.items() if key in extra_keys}
    properties = get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise _Bad(f"properties: expected a JSON object like {{\"cart_value\": 120}}, got {_kind(properties)}")
    event = get("event")
    if (event is None or event == "") and "event_type" in obj:
        raise _Bad("missing event (this looks like a Braze Currents export: import it with --format currents)")
    machine = get("machine_open")
    if isinstance(machine, dict | list):
        raise _Bad(f"machine_open: expected true or false, got {_kind(machine)}")
    bot = get("bot")
    if isinstance(bot, dict | list):
        raise _Bad(f"bot: expected true or false, got {_kind(bot)}")
    return _event_tuple(
        _text("user_id", get("user_id")), get("time"), _text("event", event), _text("campaign", get("campaign")),
        _text("id", get("id")), _text("link_alias", get("link_alias")), _text("button_id", get("button_id")),
        _text("page", get("page")), machine, get("conversion_index"), _text("timezone", get("timezone")),
        properties, extra, bot,
    )


def _user_tuple(user_id: Any, zone: Any, gcg: Any, unsubscribed: Any, attributes: dict[str, Any]) -> tuple[Any, ...]:
    """A users-file row → the ``USER_COLUMNS`` tuple; ``_Bad`` if bad."""
    user = _text("user_id", user_id)
    if not user:
        raise _Bad("missing user_id")
    zone = _zone(_text("timezone", zone))
    if gcg is None or gcg == "":
        control = None
    elif isinstance(gcg, bool):
        control = int(gcg)
    else:
        control = _BOOLEANS.get(str(gcg).strip().lower())
        if control is None:
            raise _Bad(f"global_control_group: expected true or false, got {gcg!r}")
    if unsubscribed is None or unsubscribed == "":
        channels: list[str] = []
    elif isinstance(unsubscribed, str):
        channels = [part.strip() for part in unsubscribed.split(";") if part.strip()]
    elif isinstance(unsubscribed, list) and all(isinstance(part, str) for part in unsubscribed):
        channels = list(unsubscribed)
    else:
        raise _Bad(f"unsubscribed: expected channels separated by ';', got {_kind(unsubscribed)}")
    for channel in channels:
        if channel not in CHANNELS:
            raise _Bad(f"unsubscribed: unknown channel {channel!r} (channels: {', '.join(CHANNELS)})")
    text = ";".join(sorted(set(channels))) or None
    return user, zone, control, text, json.dumps(attributes, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------------------
# The import run


#: How to fix an all-or-nothing event import that found bad rows.
SKIP_INVALID_FIX = "fix them, or use --skip-invalid to store the good rows and write the bad ones to a rejects file"


class _Run:
    """State of one import call: the writer, batches, bad rows, progress."""

    def __init__(self, store: Store, *, skip_invalid: bool, progress: ProgressCallback | None,
                 total_bytes: int = 0) -> None:
        self.store = store
        self.skip_invalid = skip_invalid
        self.progress = progress
        self.total_bytes = total_bytes
        self.done_bytes = 0
        self.rows_read = 0
        self.bad: list[BadRow] = []
        self.bad_count = 0
        self.unknown: set[str] = set()
        self.no_user: dict[str, int] = {}
        self.writer: EventWriter | None = None
        rows, _, seconds = os.environ.get(PAUSE_ENV, "").partition(":")
        self.pause_after = int(rows) if rows.isdigit() else 0
        self.pause_seconds = float(seconds) if seconds.replace(".", "", 1).isdigit() else 120.0
        self.batch_rows = self.pause_after or BATCH_ROWS
        self.batches = 0

    def reject(self, file: str, line: int, reason: str, raw: str | None = None, end: int = 0) -> None:
        self.bad_count += 1
        if self.skip_invalid or len(self.bad) < SHOWN_BAD_ROWS:
            self.bad.append(BadRow(file, line, reason, raw, end or line))

    @property
    def writing(self) -> bool:
        """Whether batches are still worth writing (not once an all-or-nothing import has failed)."""
        return self.skip_invalid or not self.bad_count

    def flush(self, batch: list[tuple[Any, ...]], position: int = 0, present: frozenset[str] | None = None) -> None:
        if batch and self.writing:
            self.store_rows(batch, present)
        batch.clear()
        if self.progress is not None:
            self.progress(self.rows_read, self.done_bytes + position, self.total_bytes)

    def store_rows(self, batch: list[tuple[Any, ...]], present: frozenset[str] | None) -> None:
        """Insert one batch of prepared rows (and pause there once when the test hook asks)."""
        if self.writer is None:
            return
        self.writer.insert(batch, present)
        self.batches += 1
        if self.pause_after and self.batches == 1:
            sys.stderr.write("test hook: paused\n")
            sys.stderr.flush()
            clock.sleep(self.pause_seconds)

    def fail_if_too_many(self, max_rejects: int | None) -> None:
        """``--max-rejects``: more bad rows than that fail a ``skip_invalid`` import too (nothing stored)."""
        if max_rejects is None or self.bad_count <= max_rejects:
            return
        shown = self.bad[:SHOWN_BAD_ROWS]
        lines = [str(row) for row in shown]
        if self.bad_count > len(shown):
            lines.append(f"and {self.bad_count - len(shown)} more")
        head = (f"{self.bad_count} bad rows, more than --max-rejects {max_rejects}; nothing was stored "
                "(fix the input, or raise --max-rejects):")
        raise BadRowsError("\n".join([head, *lines]), shown, self.bad_count)

    def fail_if_bad(self, fix: str = SKIP_INVALID_FIX) -> None:
        """All-or-nothing: raise ``BadRowsError`` (the transaction then rolls back) when any row was bad; ``fix``
        says how to fix it (``import-users`` has no ``--skip-invalid``)."""
        if self.skip_invalid or not self.bad_count:
            return
        shown = self.bad[:SHOWN_BAD_ROWS]
        lines = [str(row) for row in shown]
        if self.bad_count > len(shown):
            lines.append(f"and {self.bad_count - len(shown)} more")
        rows = "row" if self.bad_count == 1 else "rows"
        head = f"{self.bad_count} bad {rows}; nothing was stored ({fix}):"
        raise BadRowsError("\n".join([head, *lines]), shown, self.bad_count)

    # -- event sources ----------------------------------------------------------------------------------

    def read_csv(self, path: Path, name: str) -> None:
        source = CsvFile(path, name)
        try:
            source.check_header(REQUIRED_EVENT_FIELDS, "user_id,time,event,campaign")
            self._csv_rows(source, name)
        finally:
            source.close()
        self.done_bytes += path.stat().st_size

    def _csv_rows(self, source: CsvFile, name: str) -> None:
        header = source.header
        width = len(header)
        at = {column: header.index(column) if column in header else width for column in _ROW_FIELD_SET}
        extra_columns = [(column, i) for i, column in enumerate(header) if column not in _ROW_FIELD_SET]
        self.unknown.update(column for column, _ in extra_columns)
        present = _ALWAYS.union(header, ["properties"] if extra_columns else [])
        iu, it, ie, ic, ii = at["user_id"], at["time"], at["event"], at["campaign"], at["id"]
        ia, ib, ip, im, ix = at["link_alias"], at["button_id"], at["page"], at["machine_open"], at["conversion_index"]
        iz, ipr, ibot = at["timezone"], at["properties"], at["bot"]
        batch: list[tuple[Any, ...]] = []
        append = batch.append
        limit = self.batch_rows
        make = _event_tuple
        reader = source.reader
        last = reader.line_num
        read = 0
        extra = None
        try:
            for row in reader:
                line = last + 1
                last = reader.line_num
                if len(row) != width:
                    if row:
                        read += 1
                        self.reject(name, line, f"has {len(row)} fields, the header has {width} "
                                    "(quote fields that contain commas)", end=last)
                    continue
                read += 1
                row.append("")
                try:
                    if extra_columns:
                        extra = {column: row[i] for column, i in extra_columns if row[i]}
                    values = make(row[iu], row[it], row[ie], row[ic], row[ii], row[ia], row[ib], row[ip], row[im],
                                  row[ix], row[iz], row[ipr], extra, row[ibot])
                except _Bad as bad:
                    self.reject(name, line, str(bad), end=last)
                    continue
                append(values)
                if len(batch) >= limit:
                    self.rows_read += read
                    read = 0
                    self.flush(batch, source.opened.position(), present)
        except (csv.Error, *READ_ERRORS) as error:
            raise source.failure(error) from None
        self.rows_read += read
        self.flush(batch, source.opened.position(), present)

    def read_records(self, name: str, records: Iterator[tuple[int, dict[str, Any] | None, str | None, Any]],
                     position: Callable[[], int] = lambda: 0) -> None:
        """Rows from (line, row, problem, raw) records; each row shaped like a JSON-lines object."""
        batch: list[tuple[Any, ...]] = []
        for line, obj, problem, raw in records:
            self.rows_read += 1
            if obj is None:
                self.reject(name, line, problem or "bad row", _raw_text(raw))
                continue
            try:
                batch.append(_mapping_tuple(obj, self.unknown))
            except _Bad as bad:
                self.reject(name, line, str(bad), _raw_text(raw))
                continue
            if len(batch) >= self.batch_rows:
                self.flush(batch, position())
        self.flush(batch, position())

    def read_file(self, source: Source, kind: str, user_key: str, event_type: str | None = None) -> None:
        """Read one file; ``event_type`` (``--event-type``) types Currents JSON rows that its path does not."""
        path, name = source.path, source.name
        if kind == "csv":
            self.read_csv(path, name)
            return
        opened = Opened(path, name)
        try:
            if kind == "jsonl":
                records: Iterator[tuple[int, dict[str, Any] | None, str | None, Any]] = json_rows(opened)
            elif kind == "currents-json":
                records = self._currents(json_records(opened, source.event_type or event_type), user_key)
            else:
                records = self._currents(avro_records(opened), user_key)
            self.read_records(name, records, opened.position)
        finally:
            opened.close()
        self.done_bytes += path.stat().st_size

    def _currents(self, records: Iterator[Record], user_key: str) -> Iterator[
            tuple[int, dict[str, Any] | None, str | None, Any]]:
        """Currents records → JSON-lines-shaped rows; records without a user are counted in ``no_user``."""
        for line, event_type, record, problem, raw in records:
            if record is None or event_type is None:
                yield line, None, problem, raw
                continue
            try:
                yield line, to_event_row(event_type, record, user_key), None, raw
            except NoUser as skipped:
                self.no_user[skipped.event_type] = self.no_user.get(skipped.event_type, 0) + 1
            except ValueError as error:
                yield line, None, str(error), raw


# ---------------------------------------------------------------------------------------------------------
# Reading in a second process


def _parse_process_min_bytes() -> int:
    """The input size from which files are read in a second process (``PARSE_PROCESS_ENV`` overrides it)."""
    value = os.environ.get(PARSE_PROCESS_ENV, "")
    return int(value) if value.isdigit() else PARSE_PROCESS_MIN_BYTES


class _ChildRun(_Run):
    """The reading side of a two-process import: batches go down a pipe instead of into the database."""

    def __init__(self, send: Callable[[Any], None], *, skip_invalid: bool, batch_rows: int, progress: bool) -> None:
        super().__init__(None, skip_invalid=skip_invalid, progress=None)  # type: ignore[arg-type]
        self.send = send
        self.batch_rows = batch_rows
        self.reporting = progress

    def flush(self, batch: list[tuple[Any, ...]], position: int = 0, present: frozenset[str] | None = None) -> None:
        rows = list(batch) if batch and self.writing else None
        batch.clear()
        if rows is not None or self.reporting:
            self.send(("rows", rows, present, self.rows_read, self.done_bytes + position))


def _dumps_fast(message: Any) -> bytes:
    """Pickle without the memo (the rows hold no cycles): a third of the time of ``pickle.dumps``."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(message)
    return out.getvalue()


def _child_main(pipe: Any, files: list[tuple[Source, str]], user_key: str, skip_invalid: bool, batch_rows: int,
                progress: bool, event_type: str | None = None) -> None:
    """Entry point of the reading process: read every file, send batches, then the bad rows and the rest.
    Ctrl-C is the parent's to handle; a parent that has gone away (closed pipe) ends this process quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        def send(message: Any) -> None:
            pipe.send_bytes(_dumps_fast(message))

        run = _ChildRun(send, skip_invalid=skip_invalid, batch_rows=batch_rows, progress=progress)
        try:
            for source, kind in files:
                run.read_file(source, kind, user_key, event_type)
        except Exception as error:  # sent to the parent, which raises it (or reports it as one line)
            try:
                send(("error", error))
            except Exception:
                send(("error", InputError(f"import: {type(error).__name__}: {error}")))
            return
        send(("done", run.bad, run.bad_count, run.unknown, run.rows_read, run.done_bytes, run.no_user))
    except (OSError, EOFError):
        pass
    finally:
        with suppress(OSError):
            pipe.close()


def _read_in_child(run: _Run, sources: Sequence[Source], kinds: Sequence[str], user_key: str,
                   event_type: str | None) -> None:
    """Read and normalise the files in a second process while this one inserts the batches it sends.

    On two cores the import then costs about the larger of reading and inserting instead of their sum. The
    rows, bad rows, warnings and progress are exactly those of reading in this process (tests compare both).
    """
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(
        target=_child_main, daemon=True, name="campaign-connector-import-reader",
        args=(send, list(zip(sources, kinds, strict=True)), user_key, run.skip_invalid, run.batch_rows,
              run.progress is not None, event_type),
    )
    process.start()
    send.close()
    try:
        while True:
            try:
                message = pickle.loads(receive.recv_bytes())
            except EOFError:
                process.join(timeout=10)
                raise InputError(
                    f"import: the reading process ended unexpectedly (exit code {process.exitcode}); nothing was "
                    "stored (run the import again)") from None
            if message[0] == "rows":
                _, rows, present, run.rows_read, position = message
                if rows:
                    run.store_rows(rows, present)
                if run.progress is not None:
                    run.progress(run.rows_read, position, run.total_bytes)
            elif message[0] == "done":
                _, run.bad, run.bad_count, run.unknown, run.rows_read, run.done_bytes, run.no_user = message
                return
            else:
                raise message[1]
    finally:
        receive.close()
        if process.is_alive():
            process.terminate()
        process.join()


def _raw_text(raw: Any) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    return json.dumps(raw, ensure_ascii=False, default=str)


def _rejects_path(source: Source) -> Path:
    """``<input>.rejects.jsonl`` next to a local file; for an object or standard input, in the current folder."""
    if source.local:
        return source.path.with_name(source.path.name + ".rejects.jsonl")
    base = "stdin" if source.name == STDIN else source.name.rstrip("/").rsplit("/", 1)[-1]
    return Path(base + ".rejects.jsonl")


def _write_rejects(bad: list[BadRow], rejects: Path | None, sources: Sequence[Source]) -> tuple[str, ...]:
    """Write bad rows (raw text filled from the files) to the rejects file(s); return the files written."""
    by_name = {source.name: source for source in sources}
    by_file: dict[str, list[BadRow]] = {}
    for row in bad:
        by_file.setdefault(row.file, []).append(row)
    targets: dict[Path, list[BadRow]] = {}
    for name, rows in by_file.items():
        source = by_name.get(name, Source(name, Path(name)))
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


#: Unknown column names the import warning lists by name; the rest are counted.
UNKNOWN_COLUMNS_SHOWN = 20


def _unknown_warning(unknown: set[str]) -> tuple[str, ...]:
    if not unknown:
        return ()
    names = sorted(unknown)
    shown = ", ".join(names[:UNKNOWN_COLUMNS_SHOWN])
    more = f" and {len(names) - UNKNOWN_COLUMNS_SHOWN:,} more" if len(names) > UNKNOWN_COLUMNS_SHOWN else ""
    return (f"unknown column(s) kept in properties: {shown}{more}",)


def import_event_files(
    store: Store,
    files: Sequence[Path | str],
    *,
    format: str = "auto",
    skip_invalid: bool = False,
    rejects: Path | str | None = None,
    user_key: str = "user_id",
    progress: ProgressCallback | None = None,
    second_process: bool = False,
    event_type: str | None = None,
    max_rejects: int | None = None,
    stdin: BinaryIO | None = None,
) -> ImportSummary:
    """Import event logs (CSV, JSON lines, Currents Avro/JSON; ``.gz`` too) in one transaction.

    Each of ``files`` is a file, a folder (walked for event files), an object-store URL or ``-`` (``stdin``,
    default the process's standard input); see ``inputs.sources``. ``event_type`` types Currents JSON rows that
    neither name a type nor sit under an ``event_type=`` folder.

    Raises ``InputError`` for unreadable files and, unless ``skip_invalid``, ``BadRowsError`` for bad rows
    (nothing stored). With ``skip_invalid`` bad rows go to ``rejects`` (default ``<input>.rejects.jsonl``),
    unless there are more than ``max_rejects`` of them: then ``BadRowsError`` and nothing is stored.

    ``second_process``: read logs of ``PARSE_PROCESS_MIN_BYTES`` or more in a second process (the command
    line does). Off by default: that process is spawned, and spawning re-imports the caller's main module,
    which a script without an ``if __name__ == "__main__":`` guard cannot survive.
    """
    started = clock.perf_counter()
    if user_key not in USER_KEYS:
        raise InputError(f"--user-key {user_key}: unknown user key (use {' or '.join(USER_KEYS)})")
    if max_rejects is not None and max_rejects < 0:
        raise InputError(f"--max-rejects {max_rejects}: must be 0 or more")
    if not files:
        raise InputError("no files to import (give one or more event logs)")
    with open_sources(files, format=format, stdin=stdin) as expanded:
        sources = expanded.files
        kinds = []
        for source in sources:
            check_file(source.path, source.name)
            kinds.append(reader_kind(source.path, format, source.name,
                                     currents_path=bool(source.event_type or event_type)))
        local = {source.path.resolve() for source in sources if source.local}
        if rejects is not None and Path(rejects).resolve() in {*local, Path(str(store.path)).resolve()}:
            raise InputError(f"--rejects {rejects}: is an input file or the database (give the rejects another path)")
        run = _Run(store, skip_invalid=skip_invalid, progress=progress,
                   total_bytes=sum(source.path.stat().st_size for source in sources))
        names = [source.name for source in sources]
        with store.atomic():
            import_id = start_import(store, kind="events", files=names, format=",".join(sorted(set(kinds))))
            run.writer = EventWriter(store, import_id)
            if second_process and run.total_bytes >= _parse_process_min_bytes():
                _read_in_child(run, sources, kinds, user_key, event_type)
            else:
                for source, kind in zip(sources, kinds, strict=True):
                    run.read_file(source, kind, user_key, event_type)
            run.fail_if_bad()
            run.fail_if_too_many(max_rejects)
            by_event = run.writer.finish()
            bot_clicks = run.writer.bot_clicks()
            no_user = dict(sorted(run.no_user.items()))
            finish_import(store, import_id, stored=run.writer.stored, duplicates=run.writer.duplicates,
                          rejected=run.bad_count, no_user=no_user, skipped_files=expanded.skipped)
        written = _write_rejects(run.bad, Path(rejects) if rejects else None, sources) if run.bad else ()
    return ImportSummary(
        "events", tuple(names), run.writer.stored, run.writer.duplicates, run.bad_count, by_event,
        _unknown_warning(run.unknown), written, clock.perf_counter() - started, no_user, expanded.skipped,
        bot_clicks,
    )


def import_event_rows(store: Store, rows: Iterable[dict[str, Any]], *, source: str = "<rows>") -> ImportSummary:
    """Import rows shaped like JSON-lines objects (scenarios use it); all-or-nothing, bad rows raise
    ``BadRowsError`` with ``SOURCE:N`` (N counts rows from 1)."""
    started = clock.perf_counter()
    run = _Run(store, skip_invalid=False, progress=None)

    def records() -> Iterator[tuple[int, dict[str, Any] | None, str | None, Any]]:
        for number, row in enumerate(rows, 1):
            if isinstance(row, dict):
                yield number, row, None, row
            else:
                yield number, None, f"expected a mapping of event fields, got {_kind(row)}", row

    with store.atomic():
        import_id = start_import(store, kind="events", files=[source], format="rows")
        run.writer = EventWriter(store, import_id)
        run.read_records(source, records())
        run.fail_if_bad()
        by_event = run.writer.finish()
        finish_import(store, import_id, stored=run.writer.stored, duplicates=run.writer.duplicates, rejected=0)
    return ImportSummary("events", (source,), run.writer.stored, run.writer.duplicates, 0, by_event,
                         _unknown_warning(run.unknown), (), clock.perf_counter() - started)


# ---------------------------------------------------------------------------------------------------------
# Users


def _user_records_csv(path: Path, name: str) -> Iterator[tuple[int, tuple[Any, ...] | None, str | None]]:
    source = CsvFile(path, name)
    try:
        source.check_header(("user_id",), "user_id,timezone,plan")
        header = source.header
        width = len(header)
        at = {column: header.index(column) if column in header else width for column in USER_FIELDS}
        others = [(column, i) for i, column in enumerate(header) if column not in USER_FIELDS]
        for line, row in source.rows():
            if len(row) != width:
                yield line, None, f"has {len(row)} fields, the header has {width} (quote fields that contain commas)"
                continue
            row.append("")
            attributes = {column: row[i] for column, i in others if row[i] != ""}
            try:
                yield line, _user_tuple(row[at["user_id"]], row[at["timezone"]], row[at["global_control_group"]],
                                        row[at["unsubscribed"]], attributes), None
            except _Bad as bad:
                yield line, None, str(bad)
    finally:
        source.close()


def _user_records(objects: Iterable[tuple[int, Any, str | None]]) -> Iterator[
        tuple[int, tuple[Any, ...] | None, str | None]]:
    for line, obj, problem in objects:
        if not isinstance(obj, dict):
            yield line, None, problem or f"expected a JSON object, got {_kind(obj)}"
            continue
        attributes = {key: value for key, value in obj.items() if key not in USER_FIELDS and value is not None}
        try:
            yield line, _user_tuple(obj.get("user_id"), obj.get("timezone"), obj.get("global_control_group"),
                                    obj.get("unsubscribed"), attributes), None
        except _Bad as bad:
            yield line, None, str(bad)


def _store_users(store: Store, name: str, format: str,
                 records: Iterable[tuple[int, tuple[Any, ...] | None, str | None]], started: float) -> ImportSummary:
    run = _Run(store, skip_invalid=False, progress=None)
    with store.atomic():
        import_id = start_import(store, kind="users", files=[name], format=format)
        batch: list[tuple[Any, ...]] = []
        stored = 0
        for line, values, problem in records:
            if values is None:
                run.reject(name, line, problem or "bad row")
            elif not run.bad_count:
                batch.append(values)
                if len(batch) >= BATCH_ROWS:
                    stored += replace_users(store, batch)
                    batch.clear()
        run.fail_if_bad("fix them and import the file again")
        if batch:
            stored += replace_users(store, batch)
        finish_import(store, import_id, stored=stored, duplicates=0, rejected=0)
    return ImportSummary("users", (name,), stored, seconds=clock.perf_counter() - started)


def import_user_files(store: Store, file: Path | str, *, format: str = "auto",
                      stdin: BinaryIO | None = None) -> ImportSummary:
    """Import a users file (CSV or JSON lines, ``.gz`` too; SPEC §3.3), all-or-nothing. ``file`` may be an
    object-store URL, or ``-`` for ``stdin`` (default: the process's standard input).

    A user already stored is replaced by the new row (attributes are not merged); within one file the last
    row of a user wins.
    """
    started = clock.perf_counter()
    with open_sources([file], format=format, stdin=stdin, folders=False) as expanded:
        (source,) = expanded.files
        path, name = source.path, source.name
        check_file(path, name)
        kind = "currents" if format == "currents" else reader_kind(path, format, name)
        if kind not in ("csv", "jsonl"):
            raise InputError(f"{name}: a users file is CSV or JSON lines (use --format csv or --format jsonl)")
        if kind == "csv":
            return _store_users(store, name, kind, _user_records_csv(path, name), started)
        opened = Opened(path, name)
        try:
            objects = ((line, obj, problem) for line, obj, problem, _ in json_rows(opened))
            return _store_users(store, name, kind, _user_records(objects), started)
        finally:
            opened.close()


def import_user_rows(store: Store, rows: Iterable[dict[str, Any]], *, source: str = "<rows>") -> ImportSummary:
    """Import users from mappings shaped like JSON-lines objects (scenarios use it); all-or-nothing."""
    started = clock.perf_counter()
    objects = ((number, row, None) for number, row in enumerate(rows, 1))
    return _store_users(store, source, "rows", _user_records(objects), started)


def summary_lines(summary: ImportSummary) -> list[str]:
    """The import's summary as plain lines for stderr: totals, warnings, rejects files, counts per event."""
    files = summary.files[0] if len(summary.files) == 1 else f"{len(summary.files)} files"
    things = summary.kind if summary.stored != 1 else summary.kind[:-1]
    if summary.kind == "users":
        return [f"Imported {summary.stored:,} {things} from {files} in {summary.seconds:.1f} s."]
    lines = [f"Imported {summary.stored:,} {things} from {files} in {summary.seconds:.1f} s: "
             f"{summary.duplicates:,} duplicates skipped, {summary.rejected:,} rejected."]
    if summary.skipped_files:
        lines.append(f"{summary.skipped_files:,} files in the folders skipped: not event files "
                     "(.avro, .json, .jsonl, .ndjson, .csv, optionally .gz), or empty.")
    if summary.no_user:
        total = sum(summary.no_user.values())
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in summary.no_user.items())
        lines.append(f"{total:,} records without a user skipped ({kinds}).")
    if summary.bot_clicks:
        lines.append(f"{summary.bot_clicks:,} suspected bot clicks stored, flagged: they trigger, cancel and "
                     "convert nothing.")
    lines += [f"Warning: {warning}" for warning in summary.warnings]
    lines += [f"Bad rows written to {path}" for path in summary.rejects_files]
    width = max((len(event) for event in summary.by_event), default=0)
    lines += [f"  {event:<{width}}  {count:>12,}" for event, count in summary.by_event.items()]
    return lines
