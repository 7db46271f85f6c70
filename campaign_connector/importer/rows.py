"""The per-row rules of normalisation (SPEC §3.1, §3.3): one row's values → its stored tuple, or ``Bad``.

These rules are the reference: the batch normaliser (``normalize``) decides the cells it can with
``pyarrow.compute`` and hands every other row here, so a message or a stored value never depends on which
path a row took. Every rule has a test in ``tests/test_import*.py``:

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
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from hashlib import blake2b
from typing import Any

from campaign_connector.timeutil import MAX_TIME_MS, MIN_TIME_MS, TimeParseError, is_zone, parse_time
from campaign_connector.vocabulary import CHANNELS, DERIVED_EVENTS, EVENT_FIELDS, TRUTHY

#: Fields a row may carry: the event-log fields, and ``bot`` (a suspected bot click: stored, inert).
_EVENT_FIELD_SET = frozenset(EVENT_FIELDS) | {"bot"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_fromiso = datetime.fromisoformat
_BOOLEANS = {"true": 1, "1": 1, "yes": 1, "false": 0, "0": 0, "no": 0}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
#: Zone names already checked (``is_zone`` costs more than a set lookup on every row).
_KNOWN_ZONES: set[str] = set()
_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "true/false", int: "a number", float: "a number"}


class Bad(Exception):
    """A bad row; the message is the reason."""


def kind(value: Any) -> str:
    """How a message names a JSON value's type."""
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
        raise Bad(f"time: {message.removeprefix('time ')}") from None


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
    if not 0 <= number < 2**63:  # SQLite holds 64-bit integers
        raise Bad(f"conversion_index: expected a whole number >= 0 (0 = the first conversion event), got {value!r}")
    return number


def known_zone(value: str) -> bool:
    """Whether ``value`` is a known IANA zone name (remembered once checked)."""
    if value in _KNOWN_ZONES:
        return True
    if is_zone(value):
        _KNOWN_ZONES.add(value)
        return True
    return False


def _zone(value: str | None) -> str | None:
    if not value:
        return None
    if not known_zone(value):
        raise Bad(f"timezone: unknown time zone {value!r} (use an IANA name like 'America/New_York')")
    return value


_TOO_DEEP = "properties: JSON nested too deeply (keep properties a flat object)"


def properties_text(value: Any, extra: dict[str, Any] | None) -> str | None:
    """The properties column: a JSON object's text (a CSV cell's own text when nothing is merged into it)."""
    if value is None or value == "":
        obj: dict[str, Any] | None = None
    elif isinstance(value, dict):
        obj = value
    else:
        try:
            obj = json.loads(value) if isinstance(value, str) else None
        except ValueError:
            raise Bad(f"properties: not valid JSON (expected an object like {{\"cart_value\": 120}}), "
                      f"got {value!r}") from None
        except RecursionError:
            raise Bad(_TOO_DEEP) from None
        if not isinstance(obj, dict):
            raise Bad(f"properties: expected a JSON object like {{\"cart_value\": 120}}, got {kind(obj)}")
        if not extra:
            return value.strip() if obj else None
    if extra:
        obj = {**extra, **(obj or {})}
    if not obj:
        return None
    try:
        return _dumps(obj)
    except RecursionError:
        raise Bad(_TOO_DEEP) from None


def content_id(values: Sequence[Any]) -> str:
    """``h-`` + BLAKE2b-128 of the normalised fields joined by U+001F (None as the empty string)."""
    return hash_text("\x1f".join("" if value is None else str(value) for value in values))


def hash_text(text: str) -> str:
    """The content id of an already joined text (the batch normaliser joins the fields with ``pyarrow``)."""
    return "h-" + blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def event_tuple(
    user_id: str | None, time: Any, event: str | None, campaign: str | None, event_id: str | None,
    alias: str | None, button: str | None, page: str | None, machine: Any, index: Any, zone: str | None,
    properties: Any, extra: dict[str, Any] | None, bot: Any = None,
) -> tuple[Any, ...]:
    """One row's fields (text fields already str or None) → the ``EVENT_COLUMNS`` tuple; ``Bad`` if bad.
    Empty values come out as None. ``bot`` (true like ``machine_open``) is not part of the content id."""
    if not user_id:
        raise Bad("missing user_id")
    if time is None or time == "":
        raise Bad("missing time")
    if not event:
        raise Bad("missing event")
    ms = _ms(time)
    machine_open = 0 if machine is None or machine == "" else _machine(machine)
    derived = DERIVED_EVENTS.get(event)
    if derived is not None:
        base, needed, value = derived
        if needed == "machine_open":
            if machine is not None and machine != "" and machine_open != int(bool(value)):
                raise Bad(f"event {event} contradicts machine_open {machine!r} (drop one of them)")
            machine_open = int(bool(value))
        elif not (alias if needed == "link_alias" else button):
            raise Bad(f"event {event} needs a {needed} value (or name the row {base})")
        event = base
    conversion_index = None if index is None or index == "" else _index(index)
    zone = _zone(zone) if zone else None
    props = properties_text(properties, extra) if properties or extra else None
    if not event_id:
        event_id = content_id(
            (user_id, ms, event, campaign, alias, button, page, machine_open, conversion_index, zone, props)
        )
    return (event_id, user_id, ms, event, campaign or None, alias or None, button or None, page or None,
            machine_open, conversion_index, zone or None, props or None,
            0 if bot is None or bot == "" else _machine(bot))


def text(name: str, value: Any) -> str | None:
    """A field that is text: numbers and booleans as written in JSON; ``Bad`` for objects and arrays."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise Bad(f"{name}: expected text, got {kind(value)}")


def mapping_tuple(obj: dict[str, Any], unknown: set[str]) -> tuple[Any, ...]:
    """A JSON-lines-shaped row → the ``EVENT_COLUMNS`` tuple; unknown keys are added to ``unknown``."""
    get = obj.get
    extra_keys = obj.keys() - _EVENT_FIELD_SET
    extra = None
    if extra_keys:
        unknown.update(extra_keys)
        extra = {key: value for key, value in obj.items() if key in extra_keys}
    properties = get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise Bad(f"properties: expected a JSON object like {{\"cart_value\": 120}}, got {kind(properties)}")
    event = get("event")
    if (event is None or event == "") and ("event_type" in obj or "events" in obj):
        raise Bad("missing event (this looks like a Braze Currents export: import it with --format currents)")
    machine = get("machine_open")
    if isinstance(machine, dict | list):
        raise Bad(f"machine_open: expected true or false, got {kind(machine)}")
    bot = get("bot")
    if isinstance(bot, dict | list):
        raise Bad(f"bot: expected true or false, got {kind(bot)}")
    return event_tuple(
        text("user_id", get("user_id")), get("time"), text("event", event), text("campaign", get("campaign")),
        text("id", get("id")), text("link_alias", get("link_alias")), text("button_id", get("button_id")),
        text("page", get("page")), machine, get("conversion_index"), text("timezone", get("timezone")),
        properties, extra, bot,
    )


def user_tuple(user_id: Any, zone: Any, gcg: Any, unsubscribed: Any, attributes: dict[str, Any]) -> tuple[Any, ...]:
    """A users-file row → the ``USER_COLUMNS`` tuple; ``Bad`` if bad."""
    user = text("user_id", user_id)
    if not user:
        raise Bad("missing user_id")
    zone = _zone(text("timezone", zone))
    if gcg is None or gcg == "":
        control = None
    elif isinstance(gcg, bool):
        control = int(gcg)
    else:
        control = _BOOLEANS.get(str(gcg).strip().lower())
        if control is None:
            raise Bad(f"global_control_group: expected true or false, got {gcg!r}")
    if unsubscribed is None or unsubscribed == "":
        channels: list[str] = []
    elif isinstance(unsubscribed, str):
        channels = [part.strip() for part in unsubscribed.split(";") if part.strip()]
    elif isinstance(unsubscribed, list) and all(isinstance(part, str) for part in unsubscribed):
        channels = list(unsubscribed)
    else:
        raise Bad(f"unsubscribed: expected channels separated by ';', got {kind(unsubscribed)}")
    for channel in channels:
        if channel not in CHANNELS:
            raise Bad(f"unsubscribed: unknown channel {channel!r} (channels: {', '.join(CHANNELS)})")
    joined = ";".join(sorted(set(channels))) or None
    return user, zone, control, joined, json.dumps(attributes, ensure_ascii=False, separators=(",", ":"))
