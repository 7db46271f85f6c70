"""The replay driver: streams users out of the store through the engine, stores their decisions as a run, then
applies the cross-user rules and completes the run.

How a run is written, and what a failure leaves:

- ``create_run`` inserts the run as ``running`` (reserving its name). The per-user pass writes decisions and
  conversions into scratch SQLite files in a temporary folder (``$TMPDIR``), in batches of about
  ``BATCH_ROWS`` rows, so memory holds one batch, not the run. The scratch rows are copied into the database
  (one ``INSERT ... SELECT`` transaction per file) once a file is complete: with one worker after the pass,
  with several as each user range is done (while the workers replay the later ranges). The cross-user rules,
  the counts and the flip to ``complete`` happen in one final transaction.
- Nothing reads a running run (``find_run`` and ``list_runs`` see complete runs only), so until that last
  commit the previous latest run stays the latest. An error or Ctrl-C deletes the run and its rows before
  returning; a replay killed outright leaves at most a running run and its copied rows, which the next
  ``create_run`` deletes once it sees their writer is gone.
- The process that writes to the database never holds a read transaction while it does (the parent's
  snapshot ends before its first copy; the workers only read), so a replay never waits for a write lock while
  it holds its read lock, and two replays on one database cannot deadlock: a copy waits at most for the other
  replay's copy (up to the store's busy timeout, then "database is busy" and nothing is stored).

What a run reads: the horizon, the log fingerprint and every event come from one read snapshot
(``store.snapshot()``; the database is in WAL mode), taken after ``create_run`` (which waits for a running
import to commit). An import that commits during the replay is not in it, and the stored fingerprint says
which log the run saw. Each worker process takes its own snapshot with its first range, keeps it for all its
ranges, and first checks it sees the same log (``log_version``: the latest import, read from the ledger
without scanning the events); if an import slipped in between, the replay stores nothing and says so.

Order: users in ``user_id`` order, each user's decisions in the engine's order; a decision's ``seq`` is its
place in that order across the whole run, and a conversion points at its decision's ``seq``.

``--workers N`` starts N processes (a 'spawn' ``ProcessPoolExecutor`` with top-level functions: safe on every
platform, and a worker that dies is an error, not a hang) and splits the users into ``RANGES_PER_WORKER`` × N
contiguous ``user_id`` ranges of similar event counts (``user_ranges``). A process replays one range at a
time, from the database it opened itself, into the range's own scratch file (never through a pipe). The
parent copies the scratch files into the run in range order, shifting each range's ``seq`` by the decisions
of the ranges before it, so the stored rows are identical to a one-worker replay. An in-memory database
cannot be opened by other processes: it always runs with one worker (``options`` records ``workers`` used
and ``workers_requested``).

The cross-user rules (``max_recipients``, ``rate_limit``) run after the per-user pass, only for the
campaigns that set them; their shifts and drops do not feed back into the per-user pass (see
``engine.crossuser``). A send they suppress loses its conversions.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from campaign_connector import ENGINE_VERSION
from campaign_connector.engine import Engine
from campaign_connector.engine.crossuser import Send, apply_max_recipients, apply_rate_limit
from campaign_connector.errors import CampaignConnectorError
from campaign_connector.model import Config
from campaign_connector.store import Store
from campaign_connector.store.events import (
    count_events,
    count_global_control_overrides,
    iter_timelines,
    log_state,
    log_version,
    user_ranges,
)
from campaign_connector.store.results import status_counts
from campaign_connector.store.runs import (
    RunInfo,
    apply_send_changes,
    complete_run,
    conversion_counts,
    conversion_row,
    create_run,
    decision_row,
    discard_run,
    get_run,
    insert_conversions,
    insert_decisions,
    iter_sends,
    merge_scratch,
    open_scratch,
    record_run_source,
)
from campaign_connector.timeutil import format_time
from campaign_connector.vocabulary import STATUSES

#: Decision and conversion rows buffered before they are written to a scratch file.
BATCH_ROWS = 20_000

#: User ranges per worker process: the parent merges a range's rows while the workers replay later ones, so
#: only the last ranges' merges are left when the workers finish.
RANGES_PER_WORKER = 4

#: Users between two progress reports.
PROGRESS_EVERY = 250

#: ``progress(users_done, events_done, events_total)``; ``events_total`` is the number of logged events the
#: replay reads (known before it starts).
Progress = Callable[[int, int, int], None]


class PartTotals(NamedTuple):
    """What one pass over a user range read and wrote."""

    users: int
    """Users replayed."""
    events: int
    """Logged events read."""
    decisions: int
    """Decision rows written."""
    statuses: dict[tuple[str, str, str | None], int]
    """Decisions written per (campaign, status, reason)."""
    conversions: dict[tuple[str, int], int]
    """Conversions written per (campaign, control 0/1)."""


def run_replay(
    store: Store,
    config: Config,
    *,
    until: int | None = None,
    name: str | None = None,
    workers: int = 1,
    db_path: Path | None = None,
    progress: Progress | None = None,
    replace: bool = False,
) -> RunInfo:
    """Replay the stored log through ``config`` up to ``until`` (default: the last logged event) and store the
    decisions as a complete run named ``name`` (default ``run-N``); returns the run.

    ``workers`` > 1 processes open the database file ``store`` was opened on (``db_path`` overrides it); an
    in-memory database runs with one worker. A taken ``name`` is a ``StoreError`` before anything runs, unless
    ``replace``: then the new run replaces the old one when it completes.
    """
    started = time.monotonic()
    db_path = Path(db_path if db_path is not None else store.path)
    used = workers if workers > 1 and str(db_path) != ":memory:" else 1
    text = config.text
    run = create_run(
        store,
        name=name,
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        config_path=config.path,
        config_text=text,
        config_hash=config.sha256 or hashlib.sha256(text.encode()).hexdigest(),
        log_fingerprint="",
        engine_version=ENGINE_VERSION,
        options={},
        until=None,
        replace=replace,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="campaign-connector-replay-") as folder:
            merge = _Merge(store, run.id)
            with _worker_pool(config, used) as pool:
                with store.snapshot():
                    # One view of the log for the horizon, the fingerprint and every event read: an import that
                    # commits meanwhile is wholly in this run or wholly out of it (workers check they see the same).
                    fingerprint, last, stored = log_state(store)
                    version = log_version(store)
                    horizon = until if until is not None else last
                    total = count_events(store, horizon) if progress is not None and horizon is not None else 0
                    if horizon is not None and pool is None:
                        scratch = Path(folder) / "part-0.db"
                        tick = None if progress is None else (lambda users, events: progress(users, events, total))
                        parts = [_replay_into(store, scratch, Engine(config), run.id, horizon, None, None, tick)]
                    elif horizon is not None and pool is not None:
                        ranges = user_ranges(store, pool.workers * RANGES_PER_WORKER, stored)
                if horizon is None:
                    parts = []
                elif pool is None:
                    merge(scratch, parts[0])
                else:
                    parts = _replay_in_workers(run.id, horizon, version, db_path, pool, ranges, progress, total,
                                               Path(folder), merge)
        options: dict[str, Any] = {
            "until": format_time(horizon),
            "until_given": until is not None,
            "workers": used,
            "workers_requested": workers,
        }
        with store.atomic():
            record_run_source(store, run.id, log_fingerprint=fingerprint, until=horizon, options=options)
            changed = _apply_cross_user(store, run.id, config, horizon)
            counts = _counts(store, run.id, config, parts, changed)
            complete_run(store, run.id, counts=counts, events=sum(p.events for p in parts),
                         users=sum(p.users for p in parts), seconds=round(time.monotonic() - started, 3))
    except BaseException:
        with suppress(CampaignConnectorError):  # if the database is busy, the next create_run clears the run
            discard_run(store, run.id)
        raise
    return get_run(store, run.id)


def replay_part(
    read: Store,
    write: Store,
    engine: Engine,
    run_id: int,
    until: int,
    lo: str | None,
    hi: str | None,
    tick: Callable[[int, int], None] | None = None,
) -> PartTotals:
    """Replay the users in ``[lo, hi)`` read from ``read`` and write their rows into ``write`` (a scratch
    database), ``seq`` counting from 0; ``tick(users, events)`` every ``PROGRESS_EVERY``
    users and at the end."""
    decisions: list[tuple[Any, ...]] = []
    conversions: list[tuple[Any, ...]] = []
    statuses: dict[tuple[str, str, str | None], int] = {}
    converted: dict[tuple[str, int], int] = {}
    seq = users = events = 0

    def flush() -> None:
        with write.atomic():
            insert_decisions(write, decisions)
            insert_conversions(write, conversions)
        decisions.clear()
        conversions.clear()

    for user_id, timeline, profile in iter_timelines(read, until=until, lo=lo, hi=hi):
        result = engine.run_user(user_id, timeline, profile, until)
        base = seq
        for decision in result.decisions:
            decisions.append(decision_row(run_id, seq, decision))
            seq += 1
            key = (decision.campaign, decision.status, decision.reason)
            statuses[key] = statuses.get(key, 0) + 1
        for conversion in result.conversions:
            conversions.append(conversion_row(run_id, base + conversion.decision, conversion))
            group = (conversion.campaign, int(conversion.control))
            converted[group] = converted.get(group, 0) + 1
        users += 1
        events += len(timeline)
        if len(decisions) + len(conversions) >= BATCH_ROWS:
            flush()
        if tick is not None and users % PROGRESS_EVERY == 0:
            tick(users, events)
    if decisions or conversions:
        flush()
    if tick is not None:
        tick(users, events)
    return PartTotals(users, events, seq, statuses, converted)


# --------------------------------------------------------------------------------------------------
# The per-user pass: in this process, or one process per user range; each writes a scratch file


class _Merge:
    """Copies scratch files into the run in range order, each ``seq`` shifted by the decisions before it."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store = store
        self.run_id = run_id
        self.seq_base = 0

    def __call__(self, scratch: Path, part: PartTotals) -> None:
        merge_scratch(self.store, scratch, self.run_id, self.seq_base)
        self.seq_base += part.decisions
        scratch.unlink()


def _replay_into(
    read: Store, scratch: Path, engine: Engine, run_id: int, until: int, lo: str | None, hi: str | None,
    tick: Callable[[int, int], None] | None,
) -> PartTotals:
    """``replay_part`` into a new scratch file."""
    write = open_scratch(scratch)
    try:
        return replay_part(read, write, engine, run_id, until, lo, hi, tick)
    finally:
        write.close()


class _Job(NamedTuple):
    db_path: str
    scratch: str
    run_id: int
    until: int
    version: int
    """The parent's ``log_version``."""
    lo: str | None
    hi: str | None


_worker: dict[str, Any] = {}


def _init_worker(config: Config, users_done: Any, events_done: Any) -> None:
    """Pool initializer: one engine per process, and the shared progress counters."""
    _worker["engine"] = Engine(config)
    _worker["users"] = users_done
    _worker["events"] = events_done


def _run_job(job: _Job) -> PartTotals:
    """Pool task: replay one user range from the database into a scratch file.

    A process reads all its ranges in one read transaction, begun with its first range and checked then to see
    the parent's log (``log_version``): an import that commits during the replay is in none of its ranges. The
    transaction ends when the process does, with the pool."""
    seen = [0, 0]

    def tick(users: int, events: int) -> None:
        for counter, now, index in ((_worker["users"], users, 0), (_worker["events"], events, 1)):
            with counter.get_lock():
                counter.value += now - seen[index]
            seen[index] = now

    key = (job.db_path, job.run_id, job.version)
    if _worker.get("read_key") != key:
        if "read_key" in _worker:
            _worker.pop("read_key")
            _worker.pop("opened").close()
        opened = ExitStack()
        try:
            read = opened.enter_context(Store.open(job.db_path, create=False))
            opened.enter_context(read.snapshot())
            if log_version(read) != job.version:
                raise CampaignConnectorError(
                    f"{job.db_path}: the event log changed while the replay was starting (an import committed); "
                    "nothing was stored (run the replay again)")
        except BaseException:
            opened.close()
            raise
        _worker.update(read=read, opened=opened, read_key=key)
    return _replay_into(_worker["read"], Path(job.scratch), _worker["engine"], job.run_id, job.until, job.lo,
                        job.hi, tick)


class _Pool(NamedTuple):
    """The worker processes of a replay, and the progress counters they add to."""

    executor: ProcessPoolExecutor
    workers: int
    users_done: Any
    events_done: Any


def _ready() -> None:
    """Pool task that does nothing: submitting it starts the worker processes."""


@contextmanager
def _worker_pool(config: Config, workers: int) -> Iterator[_Pool | None]:
    """``workers`` started worker processes (None for one worker: the replay runs in this process).

    They start at once, so that their interpreters start and their engines are built while this process reads
    the log's state and splits the users; leaving the block waits for them to stop."""
    if workers == 1:
        yield None
        return
    context = multiprocessing.get_context("spawn")
    users_done = context.Value("q", 0)
    events_done = context.Value("q", 0)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(config, users_done, events_done)) as executor:
        executor.submit(_ready)
        yield _Pool(executor, workers, users_done, events_done)


def _replay_in_workers(
    run_id: int, until: int, version: int, db_path: Path, pool: _Pool, ranges: list[tuple[str | None, str | None]],
    progress: Progress | None, total: int, folder: Path, merge: Callable[[Path, PartTotals], None],
) -> list[PartTotals]:
    """Replay each user range in the pool, and ``merge`` each range's scratch file, in range order, as soon as it
    and the ranges before it are done (the merges overlap the later ranges' replay); returns the ranges' totals.

    The caller holds no read transaction: merging writes to the database."""

    def report() -> None:
        if progress is not None:
            progress(pool.users_done.value, pool.events_done.value, total)

    jobs = [_Job(str(db_path), str(folder / f"part-{k}.db"), run_id, until, version, lo, hi)
            for k, (lo, hi) in enumerate(ranges)]
    parts: list[PartTotals] = []
    try:
        futures = [pool.executor.submit(_run_job, job) for job in jobs]  # a pool broken at start fails here
        while len(parts) < len(futures):
            wait([futures[len(parts)]], timeout=0.2)
            report()
            for future in futures[len(parts):]:
                if future.done() and future.exception() is not None:
                    future.result()  # the first failure, wherever it is, ends the replay now
            while len(parts) < len(futures) and futures[len(parts)].done():
                part = futures[len(parts)].result()
                merge(Path(jobs[len(parts)].scratch), part)
                parts.append(part)
        report()
    except BrokenProcessPool as error:
        raise CampaignConnectorError(
            f"replay: a worker process ended unexpectedly ({error}); nothing was stored "
            "(run again, or with --workers 1)") from None
    except BaseException:
        pool.executor.shutdown(cancel_futures=True)
        raise
    return parts


# --------------------------------------------------------------------------------------------------
# After the per-user pass


def replay_warnings(store: Store, config: Config) -> list[str]:
    """What a replay of ``config`` over the stored users ignores, as one line each: users-file
    ``global_control_group: true`` without a workspace global control group (SPEC §4.1 edges)."""
    if config.workspace.global_control_group is not None:
        return []
    marked = count_global_control_overrides(store)
    if not marked:
        return []
    users = "user is" if marked == 1 else "users are"
    return [f"{marked:,} {users} marked global_control_group: true in the users file, but the workspace has no "
            "global_control_group: ignored (add workspace.global_control_group to use it)"]


def _apply_cross_user(store: Store, run_id: int, config: Config, until: int | None) -> set[str]:
    """Apply ``max_recipients`` and ``rate_limit`` (sends it moves past ``until`` stay pending); return the
    campaigns whose decisions they changed."""
    changed = set()
    for campaign in config.campaigns:
        if campaign.max_recipients is not None and apply_send_changes(store, run_id, apply_max_recipients(
                (Send(*row) for row in iter_sends(store, run_id, campaign.id)), campaign.max_recipients)):
            changed.add(campaign.id)
        if campaign.rate_limit_per_minute is not None and apply_send_changes(store, run_id, apply_rate_limit(
                (Send(*row) for row in iter_sends(store, run_id, campaign.id)), campaign.rate_limit_per_minute,
                until)):
            changed.add(campaign.id)
    return changed


def _status_order(item: tuple[tuple[str, str, str | None], int]) -> tuple[str, str, str]:
    """The order ``status_counts`` gives (campaign, status, reason; no reason first: reasons are never empty),
    so that the counts' dictionaries list their keys as before."""
    campaign, status, reason = item[0]
    return campaign, status, reason or ""


def _empty_counts() -> dict[str, Any]:
    return {"triggered": 0, **dict.fromkeys(STATUSES, 0), "reasons": {}, "conversions": 0,
            "control_conversions": 0}


def _counts(store: Store, run_id: int, config: Config, parts: list[PartTotals], changed: set[str]) -> dict[str, Any]:
    """The run's counts: per campaign (every simulated campaign, in config order, zeros included) and in total,
    decisions by status and by reason, and conversions of sends and of control enrollments.

    They are the workers' tallies of what they wrote, except for the ``changed`` campaigns (the cross-user
    rules changed their decisions afterwards), which are counted in the database."""
    statuses: dict[tuple[str, str, str | None], int] = {}
    converted: dict[tuple[str, int], int] = {}
    for part in parts:
        for key, n in part.statuses.items():
            if key[0] not in changed:
                statuses[key] = statuses.get(key, 0) + n
        for group, n in part.conversions.items():
            if group[0] not in changed:
                converted[group] = converted.get(group, 0) + n
    for campaign_id in sorted(changed):
        for campaign, status, reason, n in status_counts(store, run_id, campaign_id):
            statuses[campaign, status, reason] = n
        for campaign, control, n in conversion_counts(store, run_id, campaign_id):
            converted[campaign, control] = n
    return tally_counts(config, statuses, converted)


def tally_counts(config: Config, statuses: dict[tuple[str, str, str | None], int],
                 converted: dict[tuple[str, int], int]) -> dict[str, Any]:
    """A run's counts (the ``counts`` of ``RunInfo``) from its decisions per (campaign, status, reason) and its
    conversions per (campaign, control 0/1): every simulated campaign in config order, zeros included, then
    any other, and the totals. ``spark-replay`` records the same shape in ``run.json``."""
    campaigns = {c.id: _empty_counts() for c in config.campaigns if c.simulated and c.status != "draft"}
    totals = _empty_counts()
    for (campaign, status, reason), n in sorted(statuses.items(), key=_status_order):
        for bucket in (campaigns.setdefault(campaign, _empty_counts()), totals):
            bucket["triggered"] += n
            bucket[status] += n
            if reason is not None:
                bucket["reasons"][reason] = bucket["reasons"].get(reason, 0) + n
    for (campaign, control), n in sorted(converted.items()):
        field = "control_conversions" if control else "conversions"
        for bucket in (campaigns.setdefault(campaign, _empty_counts()), totals):
            bucket[field] += n
    return {"campaigns": campaigns, "totals": totals}
