"""Run folders (``spark-replay --output DIR``) wherever a run is accepted: ``report``, ``sends`` and ``diff``.

A run folder holds ``run.json`` (the run's header), ``decisions/`` and ``conversions/`` (Parquet). ``open_runs``
resolves each ``--run`` reference — a stored run's name or id, or a run folder — and hands back one store
holding them all, so every reader of runs (``store.results``, ``inspection``) reads a folder's run exactly
as a stored one, with the same record types. When a folder is among them, that store is a throw-away
database in a temporary folder: the folder's rows are read with pyarrow and loaded into it, and a stored run
it is compared with is copied there from the database (which is only read). The user's database is never
written.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from campaign_connector.errors import StoreError
from campaign_connector.model import StoredDecision
from campaign_connector.store import Store
from campaign_connector.store.runs import RunInfo, find_run, get_run
from campaign_connector.vocabulary import DECISION_TIMES

#: The run folder's header file; its presence is what makes a folder a run folder.
RUN_JSON = "run.json"
#: The run folder's Parquet folders of decisions and of conversions.
DECISIONS, CONVERSIONS = "decisions", "conversions"

#: Rows loaded per ``executemany``.
_BATCH = 50_000

#: A decision's columns: those of the record ``store.results`` reads decisions into.
_DECISIONS: tuple[str, ...] = StoredDecision._fields
_CONVERSIONS = ("user_id", "campaign", "conversion_index", "time", "event_id", "decision_seq", "control")
#: The run folder's columns that are timestamps: a decision's times and a conversion's ``time``.
TIME_COLUMNS: frozenset[str] = DECISION_TIMES | {"time"}


def is_run_folder(ref: str | None) -> bool:
    """Whether a ``--run`` reference names a run folder (a folder with ``run.json``)."""
    return ref is not None and (Path(ref) / RUN_JSON).is_file()


@contextmanager
def open_runs(db_path: Path, refs: Sequence[str | None]) -> Iterator[tuple[Store, list[RunInfo]]]:
    """A store and the runs ``refs`` name (a run name or id, None for the latest, or a run folder), in order.

    Without a run folder among ``refs`` this is the database at ``db_path`` itself."""
    if not any(is_run_folder(ref) for ref in refs):
        with Store.open(db_path, create=False) as store:
            yield store, [find_run(store, ref) for ref in refs]
        return
    folder = tempfile.mkdtemp(prefix="campaign-connector-runs-")
    try:
        with Store.open(Path(folder) / "runs.db") as scratch:
            copied: dict[str | None, RunInfo] = {}
            stored = [ref for ref in refs if not is_run_folder(ref)]
            if stored:
                with Store.open(db_path, create=False) as source:
                    copied = {ref: _copy_run(source, scratch, find_run(source, ref)) for ref in stored}
            yield scratch, [_load_folder(scratch, Path(ref)) if ref is not None and is_run_folder(ref) else copied[ref]
                            for ref in refs]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _insert_run(store: Store, header: dict[str, Any]) -> RunInfo:
    names = {name for (name,) in store.conn.execute("SELECT name FROM runs")}
    name = header["name"] if header["name"] not in names else header["fallback_name"]
    with store.atomic() as conn:
        cursor = conn.execute(
            "INSERT INTO runs (name, status, created_at, config_path, config_text, config_hash, log_fingerprint, "
            "engine_version, options, counts, until, events, users, seconds) "
            "VALUES (?, 'complete', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, header["created_at"], header["config_path"], header["config_text"], header["config_hash"],
             header["log_fingerprint"], header["engine_version"], json.dumps(header["options"], sort_keys=True),
             json.dumps(header["counts"], sort_keys=True), header["until"], header["events"], header["users"],
             header.get("seconds")),
        )
        run_id = int(cursor.lastrowid or 0)
    return get_run(store, run_id)


def _copy_run(source: Store, target: Store, run: RunInfo) -> RunInfo:
    """Copy a stored run (header, decisions, conversions) from the user's database into the scratch store."""
    copied = _insert_run(target, {**asdict(run), "fallback_name": f"{run.name} (stored)"})
    rows = source.conn.execute(f"SELECT {', '.join(_DECISIONS)} FROM decisions WHERE run_id = ? ORDER BY seq",
                               (run.id,))
    _load(target, "decisions", copied.id, rows)
    rows = source.conn.execute(f"SELECT {', '.join(_CONVERSIONS)} FROM conversions WHERE run_id = ? ORDER BY rowid",
                               (run.id,))
    _load(target, "conversions", copied.id, rows)
    return copied


def _load(store: Store, table: str, run_id: int, rows: Any) -> None:
    columns = _DECISIONS if table == "decisions" else _CONVERSIONS
    marks = ", ".join("?" * (len(columns) + 1))
    sql = f"INSERT INTO {table} (run_id, {', '.join(columns)}) VALUES ({marks})"
    with store.atomic() as conn:
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append((run_id, *row))
            if len(batch) >= _BATCH:
                conn.executemany(sql, batch)
                batch.clear()
        conn.executemany(sql, batch)


def _parquet_rows(folder: Path, columns: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    """A run folder's Parquet part as row tuples: times as ms, channels joined with ``;``, control as 0/1."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise StoreError(f"{folder.parent}: reading a run folder needs pyarrow "
                         "(pip install 'campaign-connector[spark]')") from None
    try:
        table = pq.read_table(folder, columns=list(columns))
    except (OSError, pa.ArrowException) as error:
        raise StoreError(f"{folder}: cannot read the run's Parquet files ({error}); is the run folder complete?"
                         ) from None
    for batch in table.to_batches(max_chunksize=_BATCH):
        values = []
        for name in columns:
            column = batch.column(name)
            if name in TIME_COLUMNS:
                column = column.cast(pa.timestamp("ms", "UTC")).cast(pa.int64())
            elif name == "channels":
                column = pc.binary_join(column, ";")
            elif name == "control":
                column = column.cast(pa.int8())
            values.append(column.to_pylist())
        yield from zip(*values, strict=True)


def _load_folder(store: Store, folder: Path) -> RunInfo:
    """Load a run folder into the scratch store as a complete run."""
    try:
        manifest = json.loads((folder / RUN_JSON).read_text(encoding="utf-8"))
        header = {key: manifest[key] for key in ("name", "created_at", "config_path", "config_text", "config_hash",
                                                 "engine_version", "options", "counts", "until", "events", "users")}
        header["seconds"] = manifest.get("seconds")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StoreError(f"{folder / RUN_JSON}: not a readable run header ({error}); write the run folder again "
                         "with spark-replay") from None
    header["log_fingerprint"] = json.dumps(manifest.get("files", []))
    run = _insert_run(store, {**header, "fallback_name": str(folder)})
    _load(store, "decisions", run.id, _parquet_rows(folder / DECISIONS, _DECISIONS))
    _load(store, "conversions", run.id, _parquet_rows(folder / CONVERSIONS, _CONVERSIONS))
    return run
