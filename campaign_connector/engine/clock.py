"""Local-time arithmetic for the engine: calendar delays, daily windows, calendar-day cap boundaries.

Everything takes and returns integer milliseconds (UTC) and a zone *name*; datetimes live only inside this
module. Results are cached per (zone, minute), since a replay asks the same questions of the same few zones
over and over. A local time that does not exist (DST gap) moves forward by the gap; an ambiguous one takes
its first occurrence (``timeutil.local_wall_to_ms``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from campaign_connector.model import Delay, Window
from campaign_connector.timeutil import format_clock, get_zone, local_wall_to_ms

_MINUTE_MS = 60_000


@lru_cache(maxsize=65_536)
def _local_minute(zone: str, minute: int) -> tuple[date, int]:
    local = datetime.fromtimestamp(minute * 60, tz=UTC).astimezone(get_zone(zone))
    return local.date(), local.hour * 60 + local.minute


def local_day_and_minute(ms: int, zone: str) -> tuple[date, int]:
    """The local date and minute of the day (0..1439) of a moment in a zone."""
    return _local_minute(zone, ms // _MINUTE_MS)


@lru_cache(maxsize=65_536)
def wall(day: date, minutes: int, zone: str) -> int:
    """A local date and clock time (minutes after midnight) in a zone → ms (gap → forward, overlap → first)."""
    return local_wall_to_ms(day, minutes, get_zone(zone))


def delay_due(delay: Delay, triggered_at: int, zone: str) -> int:
    """When a send triggered at ``triggered_at`` is due under ``delay`` (SPEC §2.1). ``zone`` is the zone the
    calendar forms use (the user's or the company's, chosen by the caller)."""
    kind = delay.kind
    if kind == "immediately":
        return triggered_at
    if kind == "duration":
        return triggered_at + delay.seconds * 1000
    day, _ = local_day_and_minute(triggered_at, zone)
    if kind == "in_days":
        due = wall(day + timedelta(days=delay.days), delay.at, zone)
        if due <= triggered_at:
            due = wall(day + timedelta(days=delay.days + 1), delay.at, zone)
        return due
    ahead = (delay.weekday - day.weekday()) % 7 or 7
    return wall(day + timedelta(days=ahead), delay.at, zone)


def in_window(window: Window, ms: int, zone: str) -> bool:
    """Whether a moment falls inside a daily local window ``[start, end)``."""
    return window.contains(local_day_and_minute(ms, zone)[1])


def next_local_clock(ms: int, minutes: int, zone: str, strictly_after: bool) -> int:
    """The first moment at or after (or strictly after) ``ms`` whose local clock reads ``minutes``."""
    day, _ = local_day_and_minute(ms, zone)
    candidate = wall(day, minutes, zone)
    if candidate < ms or (strictly_after and candidate == ms):
        candidate = wall(day + timedelta(days=1), minutes, zone)
    return candidate


def days_start(ms: int, days: int, zone: str) -> int:
    """Local midnight opening the period "today and the ``days`` − 1 calendar days before" around ``ms``."""
    day, _ = local_day_and_minute(ms, zone)
    return wall(day - timedelta(days=days - 1), 0, zone)


def window_text(window: Window) -> str:
    """``22:00-07:00``."""
    return f"{format_clock(window.start)}-{format_clock(window.end)}"


def clock_text(ms: int, zone: str) -> str:
    """``07:00 America/New_York``: a moment's local clock time and zone, for details."""
    return f"{format_clock(local_day_and_minute(ms, zone)[1])} {zone}"
