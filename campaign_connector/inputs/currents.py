"""Braze Currents exports → event-log rows (SPEC §3.2, "Exports as they land").

Shapes read:

- Avro container files, whose writer schema's namespace and name give the event type
  (``dataexport.S3.inner.users.messages.email`` + ``Click`` → ``users.messages.email.Click``). A 32-bit
  ``float`` field is read back as the shortest decimal that is the same float32 (``12.34``, not
  ``12.34000015258789``), so ``where:`` filters compare as written.
- JSON: flat records (the Avro record decoded, nullable values possibly Avro-JSON encoded as
  ``{"string": "x"}``) or the ``user``/``properties`` envelope of the Custom HTTP connector; as JSON lines or as
  one JSON document; an object ``{"events": [...]}`` (a Custom HTTP batch) or an array holds one event per
  element. A row without ``event_type`` takes the type from the file's path (``event_type=`` folder), else from
  ``--event-type``.

``to_event_row`` maps one record to a row shaped like our JSON lines, using ``vocabulary.CURRENTS_EVENTS``;
the importer's normaliser then checks it like any other row. A record without a user (null or missing user
key) raises ``NoUser``: it is skipped and counted, never a bad row. CustomEvent properties (the ``properties``
JSON text of storage exports, ``custom_properties`` of Custom HTTP) and Purchase properties (``properties`` /
``purchase_properties`` merged with ``product_id``, ``price``, ``currency``, ``quantity``) are the event's
properties. Email and SMS short-link clicks carry ``bot`` when Braze flags them ``is_suspected_bot_click``.
Currents metadata that is not an event-log field (device, ESP, campaign and variant names, dispatch ids...)
is not stored; the README lists what is.
"""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Iterator
from typing import Any

import fastavro

from campaign_connector.errors import InputError
from campaign_connector.inputs import READ_ERRORS, Opened
from campaign_connector.vocabulary import CURRENTS_BUTTON_EVENT, CURRENTS_EVENTS

#: The user keys ``--user-key`` accepts.
USER_KEYS: tuple[str, ...] = ("user_id", "external_user_id")


def check_user_key(user_key: str) -> None:
    """An ``InputError`` unless ``user_key`` is one of ``USER_KEYS``."""
    if user_key not in USER_KEYS:
        raise InputError(f"--user-key {user_key}: unknown user key (use {' or '.join(USER_KEYS)})")


#: Avro-JSON union branch names: ``{"string": "x"}`` is the value ``"x"``.
_UNION_BRANCHES = frozenset({"string", "int", "long", "float", "double", "boolean", "bytes", "array", "map"})

_CUSTOM_EVENT = "users.behaviors.CustomEvent"
_PURCHASE = "users.behaviors.Purchase"
_CLICK_IAM = "users.messages.inappmessage.Click"
#: Event types whose ``is_suspected_bot_click`` flag is kept (SPEC §3.2, bot clicks).
BOT_CLICK_TYPES: frozenset[str] = frozenset({"users.messages.email.Click", "users.messages.sms.ShortLinkClick"})
#: Standard purchase fields merged into a purchase's properties.
PURCHASE_FIELDS: tuple[str, ...] = ("product_id", "price", "currency", "quantity")

#: The bad-row message for a row whose type nothing gives.
NO_EVENT_TYPE = ("no event type: the row has no event_type, its file's path has no event_type=TYPE folder, "
                 "and no --event-type was given (use one of these three)")

#: A record as the readers yield it: (line or record number, event type or None, record or None, problem, raw).
Record = tuple[int, str | None, dict[str, Any] | None, str | None, Any]


class NoUser(Exception):  # a signal, not an error: the record is skipped and counted
    """A record without a user (null or missing user key): skipped and counted by ``event_type``."""

    def __init__(self, event_type: str) -> None:
        super().__init__(event_type)
        self.event_type = event_type


def event_type_of(schema_name: str) -> str:
    """A writer schema's full name → the Currents event type (the part from ``users.`` on)."""
    if ".inner." in schema_name:
        return schema_name.split(".inner.", 1)[1]
    start = schema_name.find("users.")
    return schema_name[start:] if start >= 0 else schema_name


def shortest_float32(value: float) -> float:
    """The shortest decimal that reads back as the same 32-bit float (``12.34`` for float32(12.34))."""
    try:
        single: float = struct.unpack("<f", struct.pack("<f", value))[0]
    except (OverflowError, struct.error):
        return value
    if single != single or single in (float("inf"), float("-inf")):
        return single
    for digits in range(1, 10):
        candidate = float(f"{single:.{digits}g}")
        try:
            if struct.unpack("<f", struct.pack("<f", candidate))[0] == single:
                return candidate
        except OverflowError:  # rounded past the largest float32
            continue
    return single


def _float_fields(schema: Any) -> frozenset[str]:
    """Top-level fields of a record schema typed ``float`` (alone or in a union)."""
    if not isinstance(schema, dict):
        return frozenset()
    found = set()
    for field in schema.get("fields") or ():
        kind = field.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(k == "float" or (isinstance(k, dict) and k.get("type") == "float") for k in kinds):
            found.add(field.get("name"))
    return frozenset(found)


def avro_records(opened: Opened) -> Iterator[Record]:
    """(record number, event type, record, None, record) for each record of an Avro container file."""
    # fastavro decodes untrusted bytes: on damaged input it raises IndexError, KeyError, EOFError, zlib.error,
    # SchemaParseException, UnknownType... besides ValueError, so every Exception is a damaged file here.
    try:
        reader = fastavro.reader(opened.binary)
    except Exception as error:
        raise InputError(f"{opened.name}: not an Avro container file ({error})") from None
    schema = reader.writer_schema
    name = str(schema.get("name", "")) if isinstance(schema, dict) else ""
    namespace = schema.get("namespace") if isinstance(schema, dict) else None
    if namespace and "." not in name:
        name = f"{namespace}.{name}"
    event_type = event_type_of(name)
    floats = _float_fields(schema)
    number = 0
    try:
        for number, record in enumerate(reader, 1):
            if not isinstance(record, dict):
                raise InputError(f"{opened.name}: Avro records are not Currents events (no record schema)")
            for key in floats:
                value = record.get(key)
                if isinstance(value, float):
                    record[key] = shortest_float32(value)
            yield number, event_type, record, None, record
    except InputError:
        raise
    except Exception as error:
        raise InputError(f"{opened.name}:{number + 1}: unreadable Avro record ({error})") from None


def unwrap(value: Any) -> Any:
    """Avro-JSON encoded union values ``{"string": "x"}`` → ``"x"``; other values unchanged."""
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key in _UNION_BRANCHES:
            return value[key]
    return value


def _events_of(value: Any, line: int, raw: str, event_type: str | None) -> Iterator[Record]:
    """The events a JSON value holds: itself, each element of ``{"events": [...]}``, or of an array."""
    if isinstance(value, dict) and isinstance(value.get("events"), list) and "event_type" not in value:
        elements: list[Any] = value["events"]
        label = "events"
    elif isinstance(value, list):
        elements, label = value, ""
    else:
        yield from _one_event(value, line, raw, event_type)
        return
    for index, element in enumerate(elements):
        where = f"{label}[{index}]"
        text = json.dumps(element, ensure_ascii=False, default=str)
        for number, kind, record, problem, raw_text in _one_event(element, line, text, event_type):
            yield number, kind, record, f"{where}: {problem}" if problem else None, raw_text


def _one_event(value: Any, line: int, raw: str, event_type: str | None) -> Iterator[Record]:
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        yield line, None, None, f"expected a JSON object (a Currents event), got {kind}", raw
        return
    try:
        found, record = json_record(value, event_type)
    except ValueError as error:
        yield line, None, None, str(error), raw
        return
    yield line, found, record, None, raw


def json_records(opened: Opened, event_type: str | None = None) -> Iterator[Record]:
    """Currents JSON events of a file: JSON lines, or one JSON document (pretty-printed, a batch, an array).

    ``event_type`` is the type for rows that name none (from the file's path or ``--event-type``). A file whose
    first line is not JSON by itself is read as one document; when that fails too, as JSON lines.
    """
    text = opened.text()
    number = 0
    try:
        for number, line in enumerate(text, 1):
            first = line.strip()
            if not first:
                continue
            try:
                json.loads(first)
            except ValueError:
                content = line + "".join(text)
                try:
                    document = json.loads(content)
                except (ValueError, RecursionError):
                    yield from _json_lines(enumerate(content.splitlines(), number), event_type)
                    return
                yield from _events_of(document, number, content.strip(), event_type)
                return
            except RecursionError:
                pass
            yield from _json_lines(itertools.chain([(number, line)], enumerate(text, number + 1)), event_type)
            return
    except READ_ERRORS as error:
        raise opened.failure(error, number + 1) from None


def _json_lines(lines: Iterator[tuple[int, str]], event_type: str | None) -> Iterator[Record]:
    for number, line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        try:
            value = json.loads(stripped)
        except ValueError as error:
            message = getattr(error, "msg", str(error))
            column = getattr(error, "colno", None)
            yield number, None, None, f"not valid JSON: {message}{f' (column {column})' if column else ''}", stripped
            continue
        except RecursionError:
            yield number, None, None, "JSON nested too deeply (keep each line a flat object)", stripped
            continue
        yield from _events_of(value, number, stripped, event_type)


def json_record(obj: dict[str, Any], event_type: str | None = None) -> tuple[str, dict[str, Any]]:
    """A Currents JSON object (flat or envelope) → (event type, flat record). ``event_type`` is used when the
    object names none; ``ValueError`` when neither gives one."""
    if "event_type" not in obj and "EVENT_TYPE" in obj or "user_id" not in obj and "USER_ID" in obj:
        obj = {key.lower() if key.isupper() else key: value for key, value in obj.items()}  # upper-case columns
    found = unwrap(obj.get("event_type"))
    if not isinstance(found, str) or not found:
        if not event_type:
            raise ValueError(NO_EVENT_TYPE)
        found = event_type
    user = obj.get("user")
    if isinstance(user, dict):
        properties = obj.get("properties")
        record: dict[str, Any] = dict(properties) if isinstance(properties, dict) else {}
        record.update(user)
        record.update({key: value for key, value in obj.items() if key not in ("user", "properties")})
    else:
        record = dict(obj)
    return found, {key: unwrap(value) for key, value in record.items()}


def _json_object(value: Any, field: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ValueError(f"{field}: not valid JSON") from None
        except RecursionError:
            raise ValueError(f"{field}: JSON nested too deeply") from None
        if isinstance(parsed, dict):
            return parsed
    raise ValueError(f"{field}: expected a JSON object")


def _event_properties(record: dict[str, Any], nested: str) -> dict[str, Any]:
    """``properties`` (storage exports: JSON text) merged with ``nested`` (Custom HTTP: an object)."""
    properties = _json_object(record.get("properties"), "properties")
    properties.update(_json_object(record.get(nested), nested))
    return properties


def to_event_row(event_type: str, record: dict[str, Any], user_key: str = "user_id") -> dict[str, Any]:
    """One Currents record → an event-log row (our field names). ``NoUser`` for a record without a user;
    ``ValueError`` says what else is wrong."""
    user = record.get(user_key)
    if user is None or user == "":
        raise NoUser(event_type)
    row: dict[str, Any] = {
        "user_id": user,
        "time": record.get("time"),
        "id": record.get("id"),
        "campaign": record.get("campaign_id"),
        "timezone": record.get("timezone"),
    }
    if event_type in BOT_CLICK_TYPES and record.get("is_suspected_bot_click") is True:
        row["bot"] = True
    event = CURRENTS_EVENTS.get(event_type)
    if event is None:
        row["event"] = event_type
        return row
    row["event"] = event
    button = CURRENTS_BUTTON_EVENT.get(event_type)
    if button is not None and record.get(button[0]):
        row["event"] = button[1]
        row["button_id"] = record[button[0]]
    if event_type == _CLICK_IAM:
        row["button_id"] = record.get("button_id")
    elif event == "open_email":
        row["machine_open"] = record.get("machine_open")
    elif event == "click_email":
        row["link_alias"] = record.get("link_alias")
    elif event == "perform_conversion_event":
        row["conversion_index"] = record.get("conversion_behavior_index")
    elif event_type == _CUSTOM_EVENT:
        name = record.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("CustomEvent without a name")
        row["event"] = name
        row["properties"] = _event_properties(record, "custom_properties") or None
    elif event_type == _PURCHASE:
        properties = _event_properties(record, "purchase_properties")
        for field in PURCHASE_FIELDS:
            if record.get(field) is not None:
                properties[field] = record[field]
        row["properties"] = properties or None
    return row
