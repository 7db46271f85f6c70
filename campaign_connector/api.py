"""The Python API's reading functions: runs, decisions, reports and diffs as plain Python records (dicts and
lists, shaped as the commands' JSON), or as Arrow tables (``.to_pandas()`` gives a DataFrame).

``campaign_connector/__init__.py`` re-exports these with the store, config, import and replay functions; the
README's "Python API" section documents every name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campaign_connector.store import Store
from campaign_connector.store.runs import RunInfo, find_run, list_runs

if TYPE_CHECKING:
    import pyarrow as pa

    from campaign_connector.model import StoredDecision


def open_store(path: str | Path, *, create: bool = True) -> Store:
    """Open (and with ``create``, create) the database at ``path`` (``":memory:"`` for a throw-away one). Use
    it as a context manager, or call ``.close()``."""
    return Store.open(path, create=create)


def _run(store: Store, run: str | int | RunInfo | None) -> RunInfo:
    if isinstance(run, RunInfo):
        return run
    return find_run(store, None if run is None else str(run))


def _decisions(store: Store, run: str | int | RunInfo | None, *, user: str | None, campaign: str | None,
               status: str | None, reason: str | None) -> tuple[RunInfo, Iterator[StoredDecision]]:
    """The run and its decisions that pass the filters (checked first, as ``sends`` checks its options)."""
    from campaign_connector.inspection import check_campaign, sends_filter
    from campaign_connector.store.results import iter_decisions

    found = _run(store, run)
    filt = sends_filter(user=user, campaign=campaign, status=status, reason=reason)
    check_campaign(store, [found], campaign, "campaign")
    return found, iter_decisions(store, found.id, filt)


def runs(store: Store) -> list[dict[str, Any]]:
    """Every stored run, oldest first, as dicts (``runs --format json``'s items)."""
    from campaign_connector.report import runs_records

    return runs_records(list_runs(store))


def decisions(store: Store, run: str | int | RunInfo | None = None, *, user: str | None = None,
              campaign: str | None = None, status: str | None = None, reason: str | None = None
              ) -> list[dict[str, Any]]:
    """A run's decisions (default: the latest run) as dicts with the §4.2 fields, times as ISO text — the
    rows of ``sends --format jsonl``. Filters as ``sends``' options."""
    from campaign_connector.report import decision_record

    found, rows = _decisions(store, run, user=user, campaign=campaign, status=status, reason=reason)
    return [decision_record(d, found.name) for d in rows]


def decisions_table(store: Store, run: str | int | RunInfo | None = None, *, user: str | None = None,
                    campaign: str | None = None, status: str | None = None, reason: str | None = None) -> pa.Table:
    """``decisions`` as a pyarrow Table: times as ``timestamp[ms, UTC]``, channels as lists."""
    from campaign_connector.tables import decisions_table as table

    found, rows = _decisions(store, run, user=user, campaign=campaign, status=status, reason=reason)
    return table(rows, found.name)


def run_report(store: Store, run: str | int | RunInfo | None = None) -> dict[str, Any]:
    """A run's report (default: the latest run) as ``report --format json``'s document: ``run``,
    ``campaigns`` (with ``lift`` and ``sample_ratio``), ``total``, ``daily_sent``."""
    from campaign_connector.inspection import build_report
    from campaign_connector.report import report_json

    return json.loads(report_json(build_report(store, _run(store, run))))  # type: ignore[no-any-return]


def run_report_table(store: Store, run: str | int | RunInfo | None = None) -> pa.Table:
    """A run's report as a pyarrow Table, one row per campaign (``report --format csv``'s columns, typed)."""
    from campaign_connector.inspection import build_report
    from campaign_connector.tables import report_table

    return report_table(build_report(store, _run(store, run)))


def diff(store: Store, run_a: str | int | RunInfo, run_b: str | int | RunInfo, *, user: str | None = None,
         campaign: str | None = None) -> dict[str, Any]:
    """Two runs compared, per user, as ``diff --format json``'s document: ``run_a``, ``run_b``,
    ``differences``, ``campaigns`` and ``changes``."""
    import io

    from campaign_connector.inspection import build_diff, check_campaign, iter_send_changes
    from campaign_connector.report import write_diff_json

    a, b = _run(store, run_a), _run(store, run_b)
    check_campaign(store, [b, a], campaign, "campaign")
    out = io.StringIO()
    write_diff_json(build_diff(store, a, b, user=user, campaign=campaign),
                    iter_send_changes(store, a, b, user=user, campaign=campaign), out)
    return json.loads(out.getvalue())  # type: ignore[no-any-return]


def diff_table(store: Store, run_a: str | int | RunInfo, run_b: str | int | RunInfo, *, user: str | None = None,
               campaign: str | None = None) -> pa.Table:
    """The sends gained, lost and moved between two runs as a pyarrow Table (``diff --format csv``'s columns)."""
    from campaign_connector.inspection import iter_send_changes
    from campaign_connector.tables import diff_table as table

    return table(iter_send_changes(store, _run(store, run_a), _run(store, run_b), user=user, campaign=campaign))
