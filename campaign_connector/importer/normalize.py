"""The batch normaliser: an Arrow batch of raw event columns → the stored events columns, bad rows, warnings.

This is the one implementation of parsing, validation and messages for event logs read as batches (CSV,
Parquet; and ``spark-replay`` runs it inside ``mapInArrow``). It touches no database, no file and no global
state, so it can run anywhere a batch is.

Contract of ``normalize_batch(batch, file=..., first_line=..., lines=..., ends=...)`` (stable):

- ``batch``: a ``pyarrow.RecordBatch`` whose column names are the log's columns (SPEC §3.1): ``user_id``,
  ``time``, ``event`` required; ``campaign``, ``id``, ``link_alias``, ``button_id``, ``page``,
  ``machine_open``, ``conversion_index``, ``timezone``, ``properties`` optional; any other column is an
  unknown column, kept in ``properties``. Columns are text as a CSV file holds them (``properties`` a JSON
  string); other Arrow types (numbers, booleans, timestamps) are read as the same values in a JSON line would
  be, except that a text ``properties`` is JSON text.
- ``file`` and the row's line name a bad row: ``FILE:LINE: message``. Row ``i`` is on line ``lines[i]`` when
  ``lines`` is given, else ``first_line + i``; ``ends[i]`` is where a multi-line row ends (rejects files).
- Returns ``Normalized``: ``events``, a batch of the good rows in input order with exactly the columns and
  types of ``EVENT_SCHEMA`` (the ``events`` table's, ``id`` filled with the content hash where the log has
  none); ``bad``, the bad rows in input order with their messages; ``unknown``, the unknown column names (the
  import's warning is ``unknown_warning`` of all of them).

How: ``pyarrow.compute`` decides each cell it can — ISO-8601 times of the common shape and epoch seconds, the
usual ``machine_open`` spellings, whole-number ``conversion_index``, known zones and valid ``properties``
(checked once per distinct value), content ids (fields joined in Arrow, hashed per row) — and every row with a
cell it cannot decide (a bad value, a derived event name, an unusual time form, a value in an unknown column)
goes through the per-row rules of ``rows.py``, which alone word the messages. ``vectorised=False`` sends
every row through them (the tests compare both).
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from campaign_connector.importer.rows import Bad, event_tuple, known_zone, text
from campaign_connector.timeutil import MAX_TIME_MS, MIN_TIME_MS
from campaign_connector.vocabulary import DERIVED_EVENTS, EVENT_FIELDS, TRUTHY

#: The stored events columns (``store.events.EVENT_COLUMNS``) as Arrow types.
EVENT_SCHEMA = pa.schema([
    ("id", pa.string()), ("user_id", pa.string()), ("time", pa.int64()), ("event", pa.string()),
    ("campaign", pa.string()), ("link_alias", pa.string()), ("button_id", pa.string()), ("page", pa.string()),
    ("machine_open", pa.int64()), ("conversion_index", pa.int64()), ("timezone", pa.string()),
    ("properties", pa.string()), ("bot", pa.int64()),
])

#: Known columns: the event-log fields and ``bot`` (a suspected bot click, spelled like ``machine_open``).
_FIELDS = frozenset(EVENT_FIELDS) | {"bot"}
_TEXT_TYPES = (pa.string(), pa.large_string(), pa.null())
#: ISO-8601 times decided in Arrow: the shape ``generate`` and most exports write. Others go to the row rules.
_ISO = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3}|\.[0-9]{6})?"
        r"(Z|[+-](0[0-9]|1[0-9]|2[0-3]):[0-5][0-9])$")
_EPOCH_INT = r"^[0-9]{1,12}$"
_EPOCH_FLOAT = r"^[0-9]{1,12}\.[0-9]{1,9}$"
_WHOLE = r"^[0-9]{1,18}$"
#: ``machine_open`` spellings decided in Arrow (any other value goes to the row rules).
_MACHINE = {"": 0, "0": 0, "1": 1, "false": 0, "true": 1, "False": 0, "True": 1, "FALSE": 0, "TRUE": 1,
            "no": 0, "yes": 1, "No": 0, "Yes": 1, "NO": 0, "YES": 1}
assert all((value == 1) == (key.lower() in TRUTHY) for key, value in _MACHINE.items() if key)
_MACHINE_TRUE = pa.array([key for key, value in _MACHINE.items() if value])
_MACHINE_ANY = pa.array(list(_MACHINE))
_DERIVED = pa.array(sorted(DERIVED_EVENTS))
_UNIT_SEP = "\x1f"


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that failed validation."""

    file: str
    """The file (or source) as given."""
    line: int
    """Line (CSV, JSON lines) or record number (Avro, Parquet) where the row starts."""
    reason: str
    """What is wrong."""
    raw: str | None = None
    """The row verbatim (filled for rejects files)."""
    end: int = 0
    """Last line of a multi-line CSV row."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class Normalized:
    """What ``normalize_batch`` made of one batch."""

    events: pa.RecordBatch
    """The good rows, in input order, with the columns of ``EVENT_SCHEMA``."""
    bad: list[BadRow]
    """The bad rows, in input order."""
    unknown: frozenset[str]
    """Unknown column names (kept in ``properties``)."""


def normalize_batch(batch: pa.RecordBatch, *, file: str, first_line: int = 1, lines: Sequence[int] | None = None,
                    ends: Sequence[int] | None = None, vectorised: bool = True) -> Normalized:
    """Raw event columns → stored events columns, bad rows and unknown columns (see the module docstring)."""
    names = batch.schema.names
    unknown = frozenset(name for name in names if name not in _FIELDS)
    n = batch.num_rows
    if n == 0:
        return Normalized(_empty(), [], unknown)
    decided = _vector_pass(batch, unknown) if vectorised and _decidable(batch.schema) else None
    if decided is not None and decided[0] is None:
        return Normalized(decided[1], [], unknown)
    rest = list(range(n)) if decided is None or decided[0] is None else decided[0].to_pylist()
    good_at: list[int] = []
    good: list[tuple[Any, ...]] = []
    bad: list[BadRow] = []
    extras = [name for name in names if name in unknown]
    for i, row in zip(rest, batch.take(pa.array(rest, pa.int64())).to_pylist(), strict=True):
        try:
            good.append(_row_tuple(row, extras))
            good_at.append(i)
        except Bad as error:
            line = lines[i] if lines is not None else first_line + i
            bad.append(BadRow(file, line, str(error), None, ends[i] if ends is not None else line))
    fallback = rows_batch(good)
    if decided is None:
        return Normalized(fallback, bad, unknown)
    _, vector, vector_at = decided
    merged = pa.Table.from_batches([vector, fallback]).combine_chunks()
    order = pc.sort_indices(pa.concat_arrays([vector_at, pa.array(good_at, pa.int64())]))
    return Normalized(_one_batch(merged.take(order)), bad, unknown)


def _empty() -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], field.type) for field in EVENT_SCHEMA], schema=EVENT_SCHEMA)


def _one_batch(table: pa.Table) -> pa.RecordBatch:
    batches = table.combine_chunks().to_batches()
    return batches[0] if batches else _empty()


def _row_tuple(row: dict[str, Any], extras: list[str]) -> tuple[Any, ...]:
    """The per-row rules for one row of a batch (CSV cells; typed values as in JSON)."""
    get = row.get
    extra = {name: row[name] for name in extras if row[name] is not None and row[name] != ""} or None
    return event_tuple(
        text("user_id", get("user_id")), get("time"), text("event", get("event")), text("campaign", get("campaign")),
        text("id", get("id")), text("link_alias", get("link_alias")), text("button_id", get("button_id")),
        text("page", get("page")), get("machine_open"), get("conversion_index"), text("timezone", get("timezone")),
        get("properties"), extra, get("bot"),
    )


def _decidable(schema: pa.Schema) -> bool:
    """Whether the Arrow pass can read these column types (text; numbers for ``time``)."""
    for field in schema:
        if field.type in _TEXT_TYPES:
            continue
        if field.name == "time" and (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)):
            continue
        return False
    return True


def _empty_mask(column: pa.Array) -> pa.Array:
    return pc.fill_null(pc.equal(column, ""), True)


def _vector_pass(batch: pa.RecordBatch, unknown: frozenset[str]) -> tuple[
        pa.Array | None, pa.RecordBatch, pa.Array] | None:
    """Decide what Arrow can. Returns (row indexes left for the row rules or None if none, the decided rows'
    events batch, their row indexes)."""
    n = batch.num_rows
    columns = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}

    def textual(name: str) -> pa.Array | None:
        column = columns.get(name)
        if column is None or column.type == pa.null():
            return None
        return column.cast(pa.string()) if column.type != pa.string() else column

    user, event, time = textual("user_id"), textual("event"), columns.get("time")
    if user is None or event is None or time is None or time.type == pa.null():
        return None
    ok = pc.and_(pc.invert(_empty_mask(user)), pc.invert(_empty_mask(event)))
    ok = pc.and_(ok, pc.invert(pc.is_in(event, _DERIVED)))
    ms, time_ok = _times(time)
    ok = pc.and_(ok, time_ok)
    flags = {}
    for name in ("machine_open", "bot"):
        flag_text = textual(name)
        if flag_text is None:
            flags[name] = pa.nulls(n, pa.int64()).fill_null(0)
        else:
            filled = flag_text.fill_null("")
            ok = pc.and_(ok, pc.is_in(filled, _MACHINE_ANY))
            flags[name] = pc.is_in(filled, _MACHINE_TRUE).cast(pa.int64())
    machine = flags["machine_open"]
    index_text = textual("conversion_index")
    if index_text is None:
        index = pa.nulls(n, pa.int64())
    else:
        whole = pc.fill_null(pc.match_substring_regex(index_text, _WHOLE), False)
        ok = pc.and_(ok, pc.or_(_empty_mask(index_text), whole))
        index = pc.if_else(whole, index_text, None).cast(pa.int64())
    zone = _checked(textual("timezone"), _zone_value, n)
    ok = pc.and_(ok, zone[1])
    props = _checked(textual("properties"), _properties_value, n)
    ok = pc.and_(ok, props[1])
    for name in unknown:
        column = textual(name)
        if column is not None:
            ok = pc.and_(ok, _empty_mask(column))
    stored_text = {name: _nullable(textual(name), n) for name in ("campaign", "link_alias", "button_id", "page")}
    ok = pc.fill_null(ok, False)
    all_ok = pc.all(ok).as_py()
    keep = None if all_ok else pc.indices_nonzero(ok)

    def pick(array: pa.Array) -> pa.Array:
        return array if keep is None else array.take(keep)

    fields = {"user_id": pick(user), "time": pick(ms), "event": pick(event),
              **{name: pick(value) for name, value in stored_text.items()}, "machine_open": pick(machine),
              "conversion_index": pick(index), "timezone": pick(zone[0]), "properties": pick(props[0]),
              "bot": pick(flags["bot"])}
    fields["id"] = _ids(pick(_nullable(textual("id"), n)), fields)
    events = pa.RecordBatch.from_arrays([fields[field.name] for field in EVENT_SCHEMA], schema=EVENT_SCHEMA)
    if keep is None:
        return None, events, pa.array([], pa.int64())
    return pc.indices_nonzero(pc.invert(ok)).cast(pa.int64()), events, keep.cast(pa.int64())


def _nullable(column: pa.Array | None, n: int) -> pa.Array:
    if column is None:
        return pa.nulls(n, pa.string())
    return pc.if_else(_empty_mask(column), pa.scalar(None, pa.string()), column)


def _times(time: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(ms, decided) for a time column; an undecided cell goes to the row rules (which word any message)."""
    if pa.types.is_integer(time.type):
        seconds = time.cast(pa.int64())
        fits = pc.fill_null(pc.and_(pc.greater_equal(seconds, 0), pc.less(seconds, MAX_TIME_MS // 1000 + 1)), False)
        ms = pc.multiply(pc.if_else(fits, seconds, 0), 1000)
    elif pa.types.is_floating(time.type):
        seconds = time.cast(pa.float64())
        fits = pc.fill_null(pc.and_(pc.greater_equal(seconds, 0.0), pc.less(seconds, MAX_TIME_MS / 1000 + 1)), False)
        ms = pc.round(pc.multiply(pc.if_else(fits, seconds, 0.0), 1000.0), 0, "half_to_even").cast(pa.int64())
    else:
        text_time = time.cast(pa.string()) if time.type != pa.string() else time
        iso = pc.fill_null(pc.match_substring_regex(text_time, _ISO), False)
        whole = pc.fill_null(pc.match_substring_regex(text_time, _EPOCH_INT), False)
        frac = pc.fill_null(pc.match_substring_regex(text_time, _EPOCH_FLOAT), False)
        try:
            micros = pc.if_else(iso, text_time, "1970-01-01T00:00:00Z").cast(pa.timestamp("us", tz="UTC")).cast(
                pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # an impossible date: the row rules say so
            iso = pc.and_(iso, False)
            micros = pa.nulls(len(time), pa.int64()).fill_null(0)
        iso_ms = pc.if_else(pc.greater_equal(micros, 0), pc.divide(micros, 1000), -1)
        whole_ms = pc.multiply(pc.if_else(whole, text_time, "0").cast(pa.int64()), 1000)
        frac_ms = pc.round(pc.multiply(pc.if_else(frac, text_time, "0").cast(pa.float64()), 1000.0), 0,
                           "half_to_even").cast(pa.int64())
        ms = pc.if_else(iso, iso_ms, pc.if_else(whole, whole_ms, frac_ms))
        fits = pc.or_(iso, pc.or_(whole, frac))
    fits = pc.and_(fits, pc.and_(pc.greater_equal(ms, MIN_TIME_MS), pc.less(ms, MAX_TIME_MS)))
    return ms, fits


def _zone_value(value: str) -> str | None:
    return value if known_zone(value) else _UNDECIDED


def _properties_value(value: str) -> str | None:
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return _UNDECIDED
    if not isinstance(parsed, dict):
        return _UNDECIDED
    return value.strip() if parsed else None


#: A value the per-distinct-value check leaves to the row rules.
_UNDECIDED = "\x00undecided"


def _checked(column: pa.Array | None, check: Any, n: int) -> tuple[pa.Array, pa.Array]:
    """(stored value, decided) for a column whose values are checked in Python once per distinct value."""
    if column is None:
        return pa.nulls(n, pa.string()), pa.nulls(n, pa.bool_()).fill_null(True)
    empty = _empty_mask(column)
    distinct = pc.unique(pc.if_else(empty, pa.scalar(None, pa.string()), column)).drop_null()
    values = [check(value) for value in distinct.to_pylist()]
    stored = pa.array([None if value == _UNDECIDED else value for value in values], pa.string())
    decided = pa.array([value != _UNDECIDED for value in values], pa.bool_())
    at = pc.index_in(column, distinct)
    return (pc.if_else(empty, pa.scalar(None, pa.string()), stored.take(at)),
            pc.fill_null(pc.or_kleene(empty, decided.take(at)), False))


def _ids(given: pa.Array, fields: dict[str, pa.Array]) -> pa.Array:
    """The id column: the log's id, else the content hash of the normalised fields (``rows.content_id``)."""
    missing = pc.is_null(given)
    if not pc.any(missing).as_py():
        return given
    parts = [fields["user_id"], fields["time"].cast(pa.string()), fields["event"], fields["campaign"],
             fields["link_alias"], fields["button_id"], fields["page"], fields["machine_open"].cast(pa.string()),
             fields["conversion_index"].cast(pa.string()), fields["timezone"], fields["properties"]]
    joined = pc.binary_join_element_wise(*[part.fill_null("") for part in parts], _UNIT_SEP)
    return pc.replace_with_mask(given, missing, content_hashes(joined.filter(missing)))


#: An unkeyed BLAKE2b-128 hasher with no input: each row's hasher is a copy (cheaper than a new one).
_BLAKE2B_128 = blake2b(digest_size=16)


def content_hashes(joined: pa.Array) -> pa.Array:
    """``rows.hash_text`` of each text of ``joined`` (no nulls), as a string array. Only BLAKE2b runs per row in
    Python; the hex digits and the ``h-`` prefix are made for the whole array at once."""
    digests: list[bytes] = []
    append = digests.append
    for value in joined.cast(pa.binary()).to_pylist():
        hasher = _BLAKE2B_128.copy()
        hasher.update(value)
        append(hasher.digest())
    n = len(digests)
    hexes = pa.StringArray.from_buffers(n, pa.py_buffer(array("i", range(0, 32 * n + 1, 32))),
                                        pa.py_buffer(b"".join(digests).hex().encode("ascii")))
    return pc.binary_join_element_wise(pa.scalar("h"), hexes, "-")


def rows_batch(rows: Sequence[tuple[Any, ...]]) -> pa.RecordBatch:
    """Stored-events tuples (the row rules' output) → a batch of ``EVENT_SCHEMA``."""
    if not rows:
        return _empty()
    return pa.RecordBatch.from_arrays([pa.array(column, field.type) for column, field in
                                       zip(zip(*rows, strict=True), EVENT_SCHEMA, strict=True)], schema=EVENT_SCHEMA)


#: Unknown column names the import warning lists by name; the rest are counted.
UNKNOWN_COLUMNS_SHOWN = 20


def unknown_warning(unknown: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The import's warning about unknown columns (kept in properties), or none."""
    if not unknown:
        return ()
    names = sorted(unknown)
    shown = ", ".join(names[:UNKNOWN_COLUMNS_SHOWN])
    more = f" and {len(names) - UNKNOWN_COLUMNS_SHOWN:,} more" if len(names) > UNKNOWN_COLUMNS_SHOWN else ""
    return (f"unknown column(s) kept in properties: {shown}{more}",)
