"""Writing the generated rows: the event log and the users file, CSV or JSON lines, gzipped or not, each through
``atomic_output`` (whole or not at all)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from campaign_connector.errors import InputError
from campaign_connector.generate.simulation import Row, User
from campaign_connector.generate.tables import DAY
from campaign_connector.outputs import atomic_output
from campaign_connector.vocabulary import EVENT_FIELDS

#: What ``generate`` writes, by the file's suffix (before an optional ``.gz``): the log formats it produces —
#: not ``outputs.FORMAT_BY_SUFFIX``, whose ``.json`` and ``.parquet`` it cannot write.
_FORMATS: dict[str, str] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

USERS_FIELDS = (
    "user_id", "timezone", "country", "plan", "lifetime_value", "signup_date", "unsubscribed", "global_control_group",
)


def file_format(path: Path) -> tuple[str, bool]:
    """(``csv``|``jsonl``, gzipped) from the file name."""
    name = path.name.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    for suffix, kind in _FORMATS.items():
        if name.endswith(suffix):
            return kind, gz
    raise InputError(f"{path}: unknown output format (name it .csv or .jsonl, optionally with .gz)")


def check_target(path: Path) -> None:
    """Refuse, before any work, an output path that is a folder or in a folder that does not exist."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder (give a file path)")
    if not path.parent.is_dir():
        raise InputError(f"{path}: cannot write (folder {path.parent} does not exist)")


@lru_cache(maxsize=1)
def _clock() -> tuple[str, ...]:
    """``HH:MM:SSZ`` for every second of a day."""
    return tuple(f"{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60))


_event = itemgetter(2)

#: Rows formatted per ``writerows`` call (bounds the memory of a 10M-event day).
_CHUNK = 65_536


def write_events(
    days: Iterator[tuple[int, list[Row]]], out: IO[str], kind: str, id_prefix: str, counts: Counter[str]
) -> int:
    clock = _clock()
    n = 0
    writer = csv.writer(out, lineterminator="\n")
    if kind == "csv":
        writer.writerow(EVENT_FIELDS)
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    for day, rows in days:
        counts.update(map(_event, rows))
        prefix = f"{date(1970, 1, 1) + timedelta(days=day)}T"
        base = day * DAY
        for first in range(0, len(rows), _CHUNK):
            chunk = rows[first:first + _CHUNK]
            if kind == "csv":
                writer.writerows([
                    (user, prefix + clock[t - base], event, campaign, f"{id_prefix}{i}", alias, button, "", machine,
                     "", zone, props)
                    for i, (t, user, event, campaign, alias, button, machine, zone, props) in enumerate(chunk, n + 1)
                ])
            else:
                out.writelines(
                    _json_line(dumps, user, prefix + clock[t - base], event, campaign, f"{id_prefix}{i}", alias,
                               button, machine, zone, props)
                    for i, (t, user, event, campaign, alias, button, machine, zone, props) in enumerate(chunk, n + 1)
                )
            n += len(chunk)
    return n


def _json_line(
    dumps: Callable[[Any], str], user: str, time: str, event: str, campaign: str, event_id: str, alias: str,
    button: str, machine: str, zone: str, props: str,
) -> str:
    obj: dict[str, Any] = {"user_id": user, "time": time, "event": event}
    if campaign:
        obj["campaign"] = campaign
    obj["id"] = event_id
    if alias:
        obj["link_alias"] = alias
    if button:
        obj["button_id"] = button
    if machine:
        obj["machine_open"] = machine == "true"
    if zone:
        obj["timezone"] = zone
    line = dumps(obj)
    return f'{line[:-1]},"properties":{props}}}\n' if props else f"{line}\n"


def write_users(users: list[User], path: Path) -> None:
    """The users file (CSV or JSONL by extension, ``.gz`` too): zones, attributes, overrides, unsubscribes."""
    kind, gz = file_format(path)
    with atomic_output(path, newline="", compress=gz) as out:
        if kind == "csv":
            writer = csv.DictWriter(out, fieldnames=USERS_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(user.users_row() for user in users)
        else:
            for user in users:
                row = {k: v for k, v in user.users_row().items() if v != ""}
                out.write(json.dumps(row, separators=(",", ":")) + "\n")
