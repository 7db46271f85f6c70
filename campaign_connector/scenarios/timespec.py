"""Times in scenario files: absolute (ISO-8601 or epoch seconds) or relative to the scenario's ``base_time``.

A relative time is a sign and one or more ``<number><unit>`` parts, units ``w d h m s ms``:
``+2d``, ``+1h30m``, ``+90s``, ``-1d``, ``+1w2d``, ``+0s``. Each unit is exact (a day is 86,400 s), like the
durations of campaign files.
"""

from __future__ import annotations

import re

from campaign_connector.timeutil import TimeParseError, format_time, parse_time

_RELATIVE = re.compile(r"^([+-])((?:\d+(?:ms|w|d|h|m|s))+)$")
_PART = re.compile(r"(\d+)(ms|w|d|h|m|s)")
_UNIT_MS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}


def is_relative(value: object) -> bool:
    """Whether ``value`` is written as a relative time like ``+2d``."""
    return isinstance(value, str) and bool(_RELATIVE.match(value.strip()))


def relative_ms(value: str) -> int:
    """``"+1h30m"`` → 5,400,000; ``"-1d"`` → -86,400,000."""
    match = _RELATIVE.match(value.strip())
    if not match:
        raise TimeParseError(f"expected a relative time like +2d or +1h30m, got {value!r}")
    total = sum(int(n) * _UNIT_MS[unit] for n, unit in _PART.findall(match.group(2)))
    return total if match.group(1) == "+" else -total


def parse_when(value: object, base_time: int | None) -> int:
    """A scenario time → ms: relative to ``base_time`` (``+2d``), or absolute (ISO-8601, epoch seconds)."""
    if is_relative(value):
        if base_time is None:
            raise TimeParseError(f"relative time {value!r} needs a base_time (add base_time: 2026-01-05T09:00:00Z)")
        return base_time + relative_ms(str(value))
    try:
        return parse_time(value)
    except TimeParseError as error:
        raise TimeParseError(f"{error}; or a relative time like +2d, +1h30m, -1d") from None


def format_offset(ms: int) -> str:
    """Milliseconds → the shortest relative form: 5,400,000 → ``+1h30m``; 0 → ``+0s``."""
    sign = "-" if ms < 0 else "+"
    rest = abs(ms)
    parts = []
    for unit in ("d", "h", "m", "s", "ms"):
        size = _UNIT_MS[unit]
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return sign + ("".join(parts) or "0s")


def show_time(ms: int | None, base_time: int | None) -> str:
    """A time for a diff: ISO-8601 UTC, with its offset from ``base_time`` when there is one."""
    if ms is None:
        return "null"
    text = format_time(ms) or ""
    return f"{text} ({format_offset(ms - base_time)})" if base_time is not None else text
