"""Users files (SPEC §3.3): CSV or JSON lines → the users table, all-or-nothing. Rows are few (one per user),
so they go through the per-row rules and ``executemany`` of prepared tuples."""

from __future__ import annotations

import time as clock
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from campaign_connector.errors import InputError
from campaign_connector.importer.normalize import BadRow
from campaign_connector.importer.rows import Bad, kind, user_tuple
from campaign_connector.importer.run import Collector, ImportSummary
from campaign_connector.inputs import Opened, check_file, reader_kind
from campaign_connector.inputs.csvfile import CsvFile
from campaign_connector.inputs.jsonl import json_rows
from campaign_connector.inputs.sources import open_sources
from campaign_connector.store import Store
from campaign_connector.store.events import finish_import, replace_users, start_import

USER_FIELDS: tuple[str, ...] = ("user_id", "timezone", "global_control_group", "unsubscribed")
#: Users per ``executemany``.
BATCH_ROWS = 50_000

UserRecord = tuple[int, tuple[Any, ...] | None, str | None]


def user_records_csv(path: Path, name: str) -> Iterator[UserRecord]:
    """A users CSV file's rows → ``UserRecord``s (line, user tuple or None, problem or None)."""
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
                yield line, user_tuple(row[at["user_id"]], row[at["timezone"]], row[at["global_control_group"]],
                                       row[at["unsubscribed"]], attributes), None
            except Bad as bad:
                yield line, None, str(bad)
    finally:
        source.close()


def user_records(objects: Iterable[tuple[int, Any, str | None]]) -> Iterator[UserRecord]:
    """(line, parsed JSON object, parse problem) triples → ``UserRecord``s."""
    for line, obj, problem in objects:
        if not isinstance(obj, dict):
            yield line, None, problem or f"expected a JSON object, got {kind(obj)}"
            continue
        attributes = {key: value for key, value in obj.items() if key not in USER_FIELDS and value is not None}
        try:
            yield line, user_tuple(obj.get("user_id"), obj.get("timezone"), obj.get("global_control_group"),
                                   obj.get("unsubscribed"), attributes), None
        except Bad as bad:
            yield line, None, str(bad)


def _store_users(store: Store, name: str, format: str, records: Iterable[UserRecord], started: float) -> ImportSummary:
    collector = Collector(skip_invalid=False)
    with store.atomic():
        import_id = start_import(store, kind="users", files=[name], format=format)
        batch: list[tuple[Any, ...]] = []
        stored = 0
        held_out = 0
        for line, values, problem in records:
            if values is None:
                collector.add(BadRow(name, line, problem or "bad row", None, line))
            elif not collector.count:
                held_out += values[2] == 1
                batch.append(values)
                if len(batch) >= BATCH_ROWS:
                    stored += replace_users(store, batch)
                    batch.clear()
        collector.fail_if_bad("fix them and import the file again")
        if batch:
            stored += replace_users(store, batch)
        finish_import(store, import_id, stored=stored, duplicates=0, rejected=0)
    return ImportSummary("users", (name,), stored, seconds=clock.perf_counter() - started,
                         warnings=_held_out_warning(held_out))


def _held_out_warning(held_out: int) -> tuple[str, ...]:
    """SPEC §4.1 edges: ``global_control_group: true`` counts only in a workspace with a global control group
    (the import cannot see the config; ``replay`` warns again when it is ignored)."""
    if not held_out:
        return ()
    users = "user has" if held_out == 1 else "users have"
    return (f"{held_out:,} {users} global_control_group: true; it applies only in a workspace with a "
            "global_control_group, and is ignored otherwise",)


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
        kind_ = "currents" if format == "currents" else reader_kind(path, format, name)
        if kind_ not in ("csv", "jsonl"):
            raise InputError(f"{name}: a users file is CSV or JSON lines (use --format csv or --format jsonl)")
        if kind_ == "csv":
            return _store_users(store, name, kind_, user_records_csv(path, name), started)
        opened = Opened(path, name)
        try:
            objects = ((line, obj, problem) for line, obj, problem, _ in json_rows(opened))
            return _store_users(store, name, kind_, user_records(objects), started)
        finally:
            opened.close()


def import_user_rows(store: Store, rows: Iterable[dict[str, Any]], *, source: str = "<rows>") -> ImportSummary:
    """Import users from mappings shaped like JSON-lines objects (scenarios use it); all-or-nothing."""
    started = clock.perf_counter()
    objects = ((number, row, None) for number, row in enumerate(rows, 1))
    return _store_users(store, source, "rows", user_records(objects), started)
