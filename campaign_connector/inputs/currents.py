"""Braze Currents exports → event-log rows (SPEC §3.2).

Two shapes are read: Avro container files, whose writer schema's namespace and name give the event type
(``dataexport.S3.inner.users.messages.email`` + ``Click`` → ``users.messages.email.Click``), and JSON lines
carrying ``event_type`` — flat (the Avro record decoded, nullable values possibly Avro-JSON encoded as
``{"string": "x"}``) or in the ``user``/``properties`` envelope of Custom HTTP exports.

``to_event_row`` maps one record to a row shaped like our JSON lines, using ``vocabulary.CURRENTS_EVENTS``:
the importer's normaliser then checks it like any other row. Currents fields that are not event-log fields
(device, ESP, names of campaigns...) are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import fastavro

from campaign_connector.errors import InputError
from campaign_connector.inputs import Opened
from campaign_connector.vocabulary import CURRENTS_BUTTON_EVENT, CURRENTS_EVENTS

#: The user keys ``--user-key`` accepts.
USER_KEYS: tuple[str, ...] = ("user_id", "external_user_id")

#: Avro-JSON union branch names: ``{"string": "x"}`` is the value ``"x"``.
_UNION_BRANCHES = frozenset({"string", "int", "long", "float", "double", "boolean", "bytes", "array", "map"})

_CUSTOM_EVENT = "users.behaviors.CustomEvent"
_PURCHASE = "users.behaviors.Purchase"
_CLICK_IAM = "users.messages.inappmessage.Click"


def event_type_of(schema_name: str) -> str:
    """A writer schema's full name → the Currents event type (the part from ``users.`` on)."""
    if ".inner." in schema_name:
        return schema_name.split(".inner.", 1)[1]
    start = schema_name.find("users.")
    return schema_name[start:] if start >= 0 else schema_name


def avro_records(opened: Opened) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(record number, event type, record) for each record of an Avro container file."""
    # fastavro decodes untrusted bytes: on damaged input it raises IndexError, KeyError, EOFError, zlib.error,
    # SchemaParseException, UnknownType... besides ValueError, so every Exception is a damaged file here.
    try:
        reader = fastavro.reader(opened.binary)
    except Exception as error:
        raise InputError(f"{opened.path}: not an Avro container file ({error})") from None
    schema = reader.writer_schema
    name = str(schema.get("name", "")) if isinstance(schema, dict) else ""
    namespace = schema.get("namespace") if isinstance(schema, dict) else None
    if namespace and "." not in name:
        name = f"{namespace}.{name}"
    event_type = event_type_of(name)
    number = 0
    try:
        for number, record in enumerate(reader, 1):
            if not isinstance(record, dict):
                raise InputError(f"{opened.path}: Avro records are not Currents events (no record schema)")
            yield number, event_type, record
    except InputError:
        raise
    except Exception as error:
        raise InputError(f"{opened.path}:{number + 1}: unreadable Avro record ({error})") from None


def unwrap(value: Any) -> Any:
    """Avro-JSON encoded union values ``{"string": "x"}`` → ``"x"``; other values unchanged."""
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key in _UNION_BRANCHES:
            return value[key]
    return value


def json_record(obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A Currents JSON object (flat or envelope) → (event type, flat record). ``ValueError`` if it has none."""
    event_type = unwrap(obj.get("event_type"))
    if not isinstance(event_type, str) or not event_type:
        raise ValueError("missing event_type (a Currents JSON row names its event type, "
                         "e.g. users.messages.email.Click)")
    user = obj.get("user")
    if isinstance(user, dict):
        properties = obj.get("properties")
        record: dict[str, Any] = dict(properties) if isinstance(properties, dict) else {}
        record.update(user)
        record.update({key: value for key, value in obj.items() if key not in ("user", "properties")})
    else:
        record = dict(obj)
    return event_type, {key: unwrap(value) for key, value in record.items()}


def _json_object(value: Any, field: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return value
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


def to_event_row(event_type: str, record: dict[str, Any], user_key: str = "user_id") -> dict[str, Any]:
    """One Currents record → an event-log row (our field names). ``ValueError`` says what is wrong."""
    user = record.get(user_key)
    if user is None or user == "":
        raise ValueError(f"missing {user_key} (the --user-key field)")
    row: dict[str, Any] = {
        "user_id": user,
        "time": record.get("time"),
        "id": record.get("id"),
        "campaign": record.get("campaign_id"),
        "timezone": record.get("timezone"),
    }
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
        row["properties"] = _json_object(record.get("properties"), "properties") or None
    elif event_type == _PURCHASE:
        properties = _json_object(record.get("properties"), "properties")
        for field in ("product_id", "price", "currency"):
            if record.get(field) is not None:
                properties[field] = record[field]
        row["properties"] = properties or None
    return row
