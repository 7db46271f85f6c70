"""Time as the whole tool sees it: integer milliseconds since the Unix epoch, UTC.

Parsing (ISO-8601 or epoch seconds), printing (ISO-8601 UTC with ``Z``, milliseconds only when not zero),
durations (exact seconds), and the few local-time helpers the engine needs. Pure functions, no clock.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campaign_connector.vocabulary import DURATION_UNITS

MS = 1000
DAY_MS = 86_400_000
#: Times outside [1970, 2200) are absurd for an interaction log.
MIN_TIME_MS = 0
MAX_TIME_MS = 7_258_118_400_000  # 2200-01-01T00:00:00Z

_EPOCH_RE = re.compile(r"^[+-]?\d+(\.\d+)?$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([a-z]+?)s?\s*$")
_HHMM_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class TimeParseError(ValueError):
    """A value that is not a time, duration, clock time or zone. The message says what was expected."""


def parse_time(value: object) -> int:
    """ISO-8601 (with an offset or ``Z``; none means UTC) or epoch seconds (int, float or their text) → ms."""
    if isinstance(value, bool):
        raise TimeParseError(f"expected a time, got {value!r}")
    if isinstance(value, int | float):
        ms = _epoch_ms(value)
    elif isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        ms = _datetime_ms(dt)
    elif isinstance(value, date):
        ms = _datetime_ms(datetime(value.year, value.month, value.day, tzinfo=UTC))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise TimeParseError("expected a time, got an empty value")
        if _EPOCH_RE.match(text):
            ms = _epoch_ms(text)
        else:
            try:
                dt = datetime.fromisoformat(text.replace("z", "Z"))
            except ValueError:
                raise TimeParseError(
                    f"expected an ISO-8601 time like 2026-01-05T09:00:00Z or epoch seconds, got {value!r}"
                ) from None
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            ms = _datetime_ms(dt)
    else:
        raise TimeParseError(f"expected a time, got {type(value).__name__}")
    if not MIN_TIME_MS <= ms < MAX_TIME_MS:
        raise TimeParseError(f"time {value!r} is outside 1970..2199")
    return ms


def _epoch_ms(value: int | float | str) -> int:
    """Epoch seconds → ms; values no float holds (inf, nan, 400 digits) are out of range, not a crash."""
    try:
        return round(float(value) * MS)
    except (OverflowError, ValueError):
        raise TimeParseError(f"time {value!r} is outside 1970..2199") from None


def _datetime_ms(dt: datetime) -> int:
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * MS + delta.microseconds // 1000


def format_time(ms: int | None) -> str | None:
    """ms → ``2026-01-05T09:00:00Z`` (``.123Z`` only when the milliseconds are not zero); None stays None."""
    if ms is None:
        return None
    seconds, millis = divmod(ms, MS)
    dt = datetime(1970, 1, 1) + timedelta(seconds=seconds)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def to_datetime(ms: int, zone: ZoneInfo | None = None) -> datetime:
    """ms → an aware datetime in ``zone`` (UTC by default)."""
    dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return dt.astimezone(zone) if zone is not None else dt


def parse_duration(value: object) -> int:
    """``"3 days"``, ``"1 week"``, ``"90 seconds"`` → exact seconds (a day is 86,400 s, a week 604,800 s)."""
    if not isinstance(value, str):
        raise TimeParseError(f"expected a duration like '3 days', got {value!r}")
    match = _DURATION_RE.match(value.lower())
    unit = match.group(2) if match else ""
    if not match or unit not in DURATION_UNITS:
        units = ", ".join(f"{u}s" for u in DURATION_UNITS)
        raise TimeParseError(f"expected a duration like '3 days' (units: {units}), got {value!r}")
    return int(match.group(1)) * DURATION_UNITS[unit]


def format_duration(seconds: int) -> str:
    """Exact seconds → the largest whole unit: 604800 → ``1 week``, 90 → ``90 seconds``."""
    for unit, size in sorted(DURATION_UNITS.items(), key=lambda item: -item[1]):
        if seconds and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("" if count == 1 else "s")
    return f"{seconds} seconds"


def parse_clock(value: object) -> int:
    """``"22:00"`` → minutes after local midnight (1320). YAML's sexagesimal ints are refused by the loader."""
    if not isinstance(value, str) or not _HHMM_RE.match(value.strip()):
        raise TimeParseError(f"expected a clock time like \"22:00\", got {value!r}")
    hours, minutes = value.strip().split(":")
    return int(hours) * 60 + int(minutes)


def format_clock(minutes: int) -> str:
    """Minutes after midnight → ``HH:MM``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@lru_cache(maxsize=4096)
def get_zone(name: str) -> ZoneInfo:
    """An IANA zone by name; ``TimeParseError`` for an unknown one."""
    try:
        if not name or name != name.strip():
            raise ValueError
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise TimeParseError(f"unknown time zone {name!r} (use an IANA name like 'America/New_York')") from None


def is_zone(name: str) -> bool:
    """Whether ``name`` is a known IANA zone."""
    try:
        get_zone(name)
    except TimeParseError:
        return False
    return True


def local_wall_to_ms(day: date, minutes: int, zone: ZoneInfo) -> int:
    """A local date and clock time → ms. A time in a DST gap moves forward by the gap; an ambiguous one
    takes its first occurrence (``fold=0`` does both)."""
    wall = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=zone)
    return _datetime_ms(wall.astimezone(UTC))
