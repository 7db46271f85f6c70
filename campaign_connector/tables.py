"""Decisions, reports and diffs as Arrow tables: for Parquet files (``sends``/``report``/``diff -o FILE.parquet``)
and for notebooks (``campaign_connector.decisions_table`` ...; ``.to_pandas()`` gives a DataFrame).

Times are ``timestamp[ms, UTC]``, channels a list of strings, nulls stay null. Decisions are converted in
batches, so a Parquet file of millions of decisions is written without holding them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any, BinaryIO

from campaign_connector.errors import InputError
from campaign_connector.vocabulary import DECISION_FIELDS, DECISION_TIMES

if TYPE_CHECKING:
    import pyarrow as pa

    from campaign_connector.inspection import RunReport, SendChange
    from campaign_connector.store.results import StoredDecision

#: Decisions per record batch.
BATCH_ROWS = 50_000


def _pa() -> Any:
    try:
        import pyarrow
    except ImportError:  # pragma: no cover - pyarrow is a dependency; a broken install still gets one line
        raise InputError("Arrow tables and Parquet files need pyarrow (pip install pyarrow)") from None
    return pyarrow


def decision_schema() -> pa.Schema:
    """The §4.2 decision fields: text, times as ``timestamp[ms, UTC]``, channels as ``list<string>``."""
    pa = _pa()
    types = {name: pa.timestamp("ms", tz="UTC") if name in DECISION_TIMES
             else pa.list_(pa.string()) if name == "channels" else pa.string() for name in DECISION_FIELDS}
    return pa.schema([(name, types[name]) for name in DECISION_FIELDS])


def decision_batches(decisions: Iterable[StoredDecision], run_name: str) -> Iterator[pa.RecordBatch]:
    """The decisions as record batches of ``BATCH_ROWS`` rows (``decision_schema``)."""
    pa = _pa()
    schema = decision_schema()
    rows = iter(decisions)
    while batch := list(islice(rows, BATCH_ROWS)):
        columns: dict[str, list[Any]] = {
            "run": [run_name] * len(batch), "user_id": [d.user_id for d in batch],
            "campaign": [d.campaign for d in batch], "status": [d.status for d in batch],
            "reason": [d.reason for d in batch], "detail": [d.detail for d in batch],
            "trigger": [d.trigger for d in batch], "source_campaign": [d.source_campaign for d in batch],
            "trigger_event_id": [d.trigger_event_id for d in batch],
            "triggered_at": [d.triggered_at for d in batch], "due_at": [d.due_at for d in batch],
            "sent_at": [d.sent_at for d in batch], "variant": [d.variant for d in batch],
            "channels": [list(d.channels) for d in batch],
        }
        yield pa.RecordBatch.from_arrays([pa.array(columns[f.name], type=f.type) for f in schema], schema=schema)


def decisions_table(decisions: Iterable[StoredDecision], run_name: str) -> pa.Table:
    """The decisions as one Arrow table."""
    pa = _pa()
    return pa.Table.from_batches(list(decision_batches(decisions, run_name)), schema=decision_schema())


def report_table(rep: RunReport) -> pa.Table:
    """``report`` as a table: one row per campaign, the csv columns (``report.report_columns``), typed."""
    from campaign_connector.report import report_columns, report_csv_rows

    pa = _pa()
    columns = report_columns()
    rows = list(report_csv_rows(rep, empty=None))
    types = [pa.string() if name == "campaign" else
             pa.float64() if "rate" in name or name.startswith(("lift_", "sample_ratio_")) else pa.int64()
             for name in columns]
    return pa.table({name: pa.array([row[i] for row in rows], type=kind)
                     for i, (name, kind) in enumerate(zip(columns, types, strict=True))})


def diff_table(changes: Iterable[SendChange]) -> pa.Table:
    """``diff``'s send changes as a table: the csv columns (``report.DIFF_COLUMNS``), times as timestamps."""
    from campaign_connector.report import DIFF_COLUMNS, DIFF_SIDE_FIELDS

    pa = _pa()
    data: dict[str, list[Any]] = {name: [] for name in DIFF_COLUMNS}
    for change in changes:
        data["change"].append(change.kind)
        data["user_id"].append(change.user_id)
        data["campaign"].append(change.campaign)
        for prefix, side in (("a_", change.a), ("b_", change.b)):
            for name in DIFF_SIDE_FIELDS:
                value = None if side is None else getattr(side, name)
                data[prefix + name].append(list(value) if name == "channels" and value is not None else value)
    def kind(name: str) -> Any:
        field = name[2:] if name[:2] in ("a_", "b_") else name
        return pa.timestamp("ms", tz="UTC") if field in DECISION_TIMES else (
            pa.list_(pa.string()) if field == "channels" else pa.string())
    return pa.table({name: pa.array(values, type=kind(name)) for name, values in data.items()})


def write_parquet(table_or_batches: pa.Table | Iterable[pa.RecordBatch], sink: BinaryIO,
                  schema: pa.Schema | None = None) -> int:
    """Write a table, or record batches of ``schema``, as Parquet to the binary stream ``sink`` (the caller
    makes the file atomic); returns the rows written."""
    pa = _pa()
    import pyarrow.parquet as pq

    if isinstance(table_or_batches, pa.Table):
        pq.write_table(table_or_batches, sink)
        return int(table_or_batches.num_rows)
    written = 0
    with pq.ParquetWriter(sink, schema) as writer:
        for batch in table_or_batches:
            writer.write_batch(batch)
            written += batch.num_rows
    return written
