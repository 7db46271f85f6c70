"""Concurrency: an import and a replay, or two replays, on one database at once. SQLite's locking with the
store's busy timeout makes the later one wait; nothing is lost, doubled or torn — a run reflects the log as it
was when it started or after a whole import, never half of one. (Two imports at once are in
``test_import_process.py``; a writer held past the timeout, "database is busy", in ``test_faults.py``.)"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from clikit import spawn
from configs import NEWS_AND_FOLLOW_UP

from campaign_connector.config import load_config_text
from campaign_connector.importer import import_event_files
from campaign_connector.replay import run_replay
from campaign_connector.store import Store
from campaign_connector.store.events import log_fingerprint, log_version
from campaign_connector.store.runs import find_run, list_runs

#: Slow: commands in processes of their own, waiting on each other.
pytestmark = pytest.mark.slow

#: A replay that stops for ``argv[3]`` seconds once 50 users are done: its read of the log is open then.
PAUSED_REPLAY = """
import sys, time
from pathlib import Path
from campaign_connector import replay
from campaign_connector.config import load_config
from campaign_connector.store import Store

replay.PROGRESS_EVERY = 50
store = Store.open(sys.argv[1], create=False)

def progress(users, events, total):
    if users == 50:
        print("paused", flush=True)
        time.sleep(float(sys.argv[3]))

run = replay.run_replay(store, load_config(Path(sys.argv[2])), name="paused", progress=progress)
print(run.events, flush=True)
"""


def clicks_csv(path: Path, users: int, prefix: str) -> Path:
    """One click per user ``{prefix}NNN``, each at its own minute."""
    rows = [f"{prefix}{u:03d},2026-01-05T{u // 60:02d}:{u % 60:02d}:00Z,click_email,news" for u in range(users)]
    path.write_text("user_id,time,event,campaign\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def sends(store: Store, run: str) -> list[list[str]]:
    from campaign_connector.report import write_sends_csv
    from campaign_connector.store.results import iter_decisions

    out = io.StringIO()
    write_sends_csv(iter_decisions(store, find_run(store, run).id), run, out)
    return [row[1:] for row in csv.reader(io.StringIO(out.getvalue()))]


def test_an_import_during_a_replay_waits_and_the_run_sees_the_log_it_started_with(tmp_path: Path) -> None:
    db, config = tmp_path / "t.db", tmp_path / "c.yaml"
    config.write_text(NEWS_AND_FOLLOW_UP, encoding="utf-8")
    with Store.open(db) as store:
        import_event_files(store, [clicks_csv(tmp_path / "a.csv", 200, "a")])
        before = log_fingerprint(store)
    replay = subprocess.Popen([sys.executable, "-c", PAUSED_REPLAY, str(db), str(config), "1.0"],
                              stdout=subprocess.PIPE, text=True)
    assert replay.stdout is not None and replay.stdout.readline() == "paused\n"
    # users "b..." sort after "a...": had the import slipped in, the replay would have read them too
    importer = spawn("import", "--db", str(db), str(clicks_csv(tmp_path / "b.csv", 100, "b")))
    _, import_err = importer.communicate(timeout=60)
    replayed, _ = replay.communicate(timeout=60)
    assert (importer.returncode, replay.returncode) == (0, 0), import_err
    assert "Imported 100 events" in import_err
    assert replayed == "200\n"
    with Store.open(db) as store:
        run = find_run(store, "paused")
        assert (run.events, run.log_fingerprint) == (200, before)
        assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 300
        assert store.conn.execute("SELECT count(DISTINCT user_id) FROM decisions").fetchone()[0] == 200


def test_a_replay_during_an_import_waits_for_it_and_sees_all_of_it(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with Store.open(db) as store:
        import_event_files(store, [clicks_csv(tmp_path / "a.csv", 50, "a")])
    importer = spawn("import", "--db", str(db), str(clicks_csv(tmp_path / "b.csv", 300, "b")),
                     pause=2.0)  # holds the write lock, its 300 rows written, for 2 s
    assert importer.stderr is not None and importer.stderr.readline() == "test hook: paused\n"
    with Store.open(db) as store:
        run = run_replay(store, load_config_text(NEWS_AND_FOLLOW_UP, "c.yaml"), name="after")
        assert importer.wait(timeout=60) == 0
        assert (run.events, run.users) == (350, 350)
        assert run.log_fingerprint == log_fingerprint(store)


def test_two_replays_at_once_get_their_own_names_and_the_same_decisions(tmp_path: Path) -> None:
    db, config = tmp_path / "t.db", tmp_path / "c.yaml"
    config.write_text(NEWS_AND_FOLLOW_UP, encoding="utf-8")
    with Store.open(db) as store:
        import_event_files(store, [clicks_csv(tmp_path / "a.csv", 300, "a")])
    first, second = spawn("replay", "--db", str(db), str(config)), spawn("replay", "--db", str(db), str(config))
    names = sorted(proc.communicate(timeout=60)[0].strip() for proc in (first, second))
    assert (first.returncode, second.returncode) == (0, 0)
    assert names == ["run-1", "run-2"]
    with Store.open(db) as store:
        assert sorted(run.name for run in list_runs(store)) == names
        assert sends(store, "run-1") == sends(store, "run-2")
        assert len(sends(store, "run-1")) == 301


def test_a_worker_that_sees_another_log_than_the_replay_started_with_stores_nothing(tmp_path: Path) -> None:
    """Workers read in their own processes: each checks, inside its read snapshot, that the log is the one the
    parent saw (the latest import's id), so an import committing between the two can never mix into one run."""
    import multiprocessing

    from campaign_connector import replay as replay_module
    from campaign_connector.engine import Engine
    from campaign_connector.errors import CampaignConnectorError

    db = tmp_path / "t.db"
    with Store.open(db) as store:
        import_event_files(store, [clicks_csv(tmp_path / "a.csv", 20, "a")])
        stale = log_version(store)
        import_event_files(store, [clicks_csv(tmp_path / "b.csv", 5, "b")])
        assert log_version(store) != stale
    replay_module._init_worker(load_config_text(NEWS_AND_FOLLOW_UP, "c.yaml"), multiprocessing.Value("q", 0),
                               multiprocessing.Value("q", 0))
    assert isinstance(replay_module._worker["engine"], Engine)
    job = replay_module._Job(str(db), str(tmp_path / "part.db"), 1, 2**62, stale, None, None)
    with pytest.raises(CampaignConnectorError, match="the event log changed while the replay was starting"):
        replay_module._run_job(job)
    assert not (tmp_path / "part.db").exists()


def test_a_worker_reads_all_its_ranges_in_the_snapshot_of_its_first(tmp_path: Path) -> None:
    """A worker process replays several user ranges in turn; an import that commits between two of them is in
    neither, so the run holds one log whatever the timing."""
    import multiprocessing

    from campaign_connector import replay as replay_module

    db = tmp_path / "t.db"
    with Store.open(db) as store:
        import_event_files(store, [clicks_csv(tmp_path / "a.csv", 20, "a")])
        version = log_version(store)
    replay_module._init_worker(load_config_text(NEWS_AND_FOLLOW_UP, "c.yaml"), multiprocessing.Value("q", 0),
                               multiprocessing.Value("q", 0))
    try:
        first = replay_module._run_job(replay_module._Job(str(db), str(tmp_path / "p0.db"), 1, 2**62, version,
                                                          None, "b"))
        with Store.open(db) as store:
            import_event_files(store, [clicks_csv(tmp_path / "b.csv", 5, "b")])
        second = replay_module._run_job(replay_module._Job(str(db), str(tmp_path / "p1.db"), 1, 2**62, version,
                                                           "b", None))
        assert (first.events, second.events) == (20, 0)
        # the next replay (another run) reads the log as it is now
        with Store.open(db) as store:
            now = log_version(store)
        third = replay_module._run_job(replay_module._Job(str(db), str(tmp_path / "p2.db"), 2, 2**62, now,
                                                          "b", None))
        assert third.events == 5
    finally:
        replay_module._worker.pop("opened").close()
        replay_module._worker.clear()
