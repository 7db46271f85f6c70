"""Property tests (hypothesis): a replay depends on the events, not on how they were imported — the order of
rows with distinct times, splitting the log into several files or several imports, content-hash ids instead of
given ones — nor on ``--workers``. Compared as ``sends --format csv`` without the run column, and the run's
counts, on the example workspace and slices of the shipped sample log."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from configs import EXAMPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_connector.config import load_config
from campaign_connector.importer import import_event_files, import_user_files
from campaign_connector.replay import run_replay
from campaign_connector.report import write_sends_csv
from campaign_connector.store import Store
from campaign_connector.store.results import iter_decisions

#: Slow: property tests over whole replays.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
CONFIG = load_config(EXAMPLE)

with (SAMPLE / "events.csv").open(newline="", encoding="utf-8") as handle:
    _reader = csv.reader(handle)
    HEADER = next(_reader)
    ROWS = list(_reader)
TIME = HEADER.index("time")
USER = HEADER.index("user_id")
ID = HEADER.index("id")
USERS = sorted({row[USER] for row in ROWS})


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def replayed(imports: list[list[Path]], db: str = ":memory:", workers: int = 1) -> tuple[list[list[str]], Any]:
    """Import the users file and then each group of files (one import call per group), replay the example
    workspace; the sends rows without the run column, and the run's counts."""
    with Store.open(db) as store:
        import_user_files(store, SAMPLE / "users.csv")
        for files in imports:
            import_event_files(store, files)
        run = run_replay(store, CONFIG, workers=workers, db_path=Path(db))
        out = io.StringIO()
        write_sends_csv(iter_decisions(store, run.id), run.name, out)
    return [row[1:] for row in csv.reader(io.StringIO(out.getvalue()))], run.counts


def distinct_times(rows: list[list[str]]) -> list[list[str]]:
    """The rows minus any whose time an earlier row has (equal times keep import order, by design)."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        if row[TIME] not in seen:
            seen.add(row[TIME])
            kept.append(row)
    return kept


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(users=st.lists(st.sampled_from(USERS), min_size=2, max_size=8, unique=True), data=st.data(),
       with_ids=st.booleans(), one_call=st.booleans())
def test_replay_ignores_import_order_and_how_the_log_is_split(tmp_path_factory: Any, users: list[str], data: Any,
                                                              with_ids: bool, one_call: bool) -> None:
    folder = tmp_path_factory.mktemp("split")
    chosen = set(users)
    rows = distinct_times([row for row in ROWS if row[USER] in chosen])
    header = HEADER
    if not with_ids:  # ids are then content hashes: the same whatever the order
        header = [name for name in HEADER if name != "id"]
        rows = [row[:ID] + row[ID + 1:] for row in rows]
    shuffled = data.draw(st.permutations(rows), label="order")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(rows)), max_size=3), label="cuts"))
    pieces = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]
    parts = [write_csv(folder / f"part{i}.csv", header, piece) for i, piece in enumerate(pieces)]
    baseline = replayed([[write_csv(folder / "all.csv", header, rows)]])
    assert replayed([[write_csv(folder / "shuffled.csv", header, shuffled)]]) == baseline
    assert replayed([parts] if one_call else [[part] for part in parts]) == baseline


def test_replay_with_two_workers_equals_one_worker(tmp_path: Path) -> None:
    """A third of the sample log (200 users, ~6,500 events) in a database file, replayed with 1 and 2 workers."""
    log = write_csv(tmp_path / "e.csv", HEADER, [row for row in ROWS if row[USER] in set(USERS[::3])])
    one = replayed([[log]], str(tmp_path / "one.db"))
    two = replayed([[log]], str(tmp_path / "two.db"), workers=2)
    assert one == two
    assert len(one[0]) > 100
