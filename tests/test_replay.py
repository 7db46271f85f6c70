"""The replay driver end to end, through the real loader, importer, engine and store: exact decisions, the
horizon, an empty log, the cross-user rules, --workers, failures and the `replay` command."""

from __future__ import annotations

import functools
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
from clikit import run
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from campaign_connector import replay as replay_module
from campaign_connector.cli import app
from campaign_connector.config import load_config_text
from campaign_connector.engine import Engine
from campaign_connector.errors import StoreError
from campaign_connector.importer import import_event_rows
from campaign_connector.replay import replay_part, run_replay
from campaign_connector.store import Store
from campaign_connector.store.runs import create_run, discard_run, find_run, list_runs, merge_scratch, open_scratch
from campaign_connector.timeutil import format_time, parse_time

runner = CliRunner()

CONFIG = """\
version: 1
campaigns:
  - id: welcome_email
    channels: [email]
    status: active
    published_at: 2026-01-01T00:00:00Z
  - id: follow_up
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers:
      - {interaction: click_email, campaign: welcome_email}
    delay: 1 hour
    exceptions:
      - {event: purchase}
    conversion_events:
      - {event: purchase, within: 1 day}
"""

#: Decision columns compared by the tests (everything but run_id).
COLUMNS = ("seq, user_id, campaign, status, reason, detail, trigger, source_campaign, trigger_event_id, "
           "triggered_at, due_at, sent_at, variant, channels")


def config(extra: str = "") -> Any:
    return load_config_text(CONFIG + textwrap.indent(textwrap.dedent(extra), "    "), "c.yaml")


def event(user: str, time: str, name: str = "click_email", campaign: str | None = "welcome_email") -> dict[str, Any]:
    return {"user_id": user, "time": time, "event": name, "campaign": campaign}


def decisions(store: Store, run_id: int) -> list[tuple[Any, ...]]:
    return store.conn.execute(f"SELECT {COLUMNS} FROM decisions WHERE run_id = ? ORDER BY seq", (run_id,)).fetchall()


def outcome(store: Store, run_id: int) -> list[tuple[str, str, str | None, str | None]]:
    """(user, status, reason, sent_at) in processing order."""
    return [(r[1], r[3], r[4], format_time(r[11])) for r in decisions(store, run_id)]


def test_replay_stores_exact_decisions_and_conversions(store: Store) -> None:
    import_event_rows(store, [
        event("u2", "2026-01-05T10:00:00Z"),
        event("u1", "2026-01-05T09:00:00Z"),
        event("u1", "2026-01-05T09:30:00Z", "purchase", None),  # exception while pending: cancelled
        event("u2", "2026-01-05T12:00:00Z", "purchase", None),  # conversion of u2's send
    ])
    run = run_replay(store, config(), name="baseline")
    rows = decisions(store, run.id)
    assert [(r[0], r[1], r[3], r[4], r[5], format_time(r[9]), format_time(r[10]), format_time(r[11]), r[13])
            for r in rows] == [
        (0, "u1", "cancelled", "exception", rows[0][5], "2026-01-05T09:00:00Z", "2026-01-05T10:00:00Z", None, "push"),
        (1, "u2", "sent", None, "trigger 0", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z", "2026-01-05T11:00:00Z",
         "push"),
    ]
    assert "purchase" in rows[0][5]
    assert store.conn.execute("SELECT user_id, decision_seq, control FROM conversions").fetchall() == [("u2", 1, 0)]
    assert (run.name, run.status, run.users, run.events) == ("baseline", "complete", 2, 4)
    assert run.until == parse_time("2026-01-05T12:00:00Z")
    assert run.options == {"until": "2026-01-05T12:00:00Z", "until_given": False, "workers": 1,
                           "workers_requested": 1}
    assert run.config_text == config().text and run.config_path == "c.yaml"
    assert run.counts["campaigns"]["follow_up"] == {
        "triggered": 2, "sent": 1, "control": 0, "cancelled": 1, "suppressed": 0, "pending": 0,
        "reasons": {"exception": 1}, "conversions": 1, "control_conversions": 0,
    }
    assert find_run(store, None).name == "baseline"


def test_horizon_leaves_sends_due_after_it_pending(store: Store) -> None:
    import_event_rows(store, [event("u1", "2026-01-05T09:00:00Z"), event("u2", "2026-01-05T09:30:00Z")])
    default = run_replay(store, config())
    assert outcome(store, default.id) == [("u1", "pending", None, None), ("u2", "pending", None, None)]
    later = run_replay(store, config(), until=parse_time("2026-01-05T10:00:00Z"))
    assert outcome(store, later.id) == [("u1", "sent", None, "2026-01-05T10:00:00Z"), ("u2", "pending", None, None)]
    earlier = run_replay(store, config(), until=parse_time("2026-01-05T09:10:00Z"))
    assert outcome(store, earlier.id) == [("u1", "pending", None, None)]
    assert (earlier.users, earlier.events, earlier.options["until_given"]) == (1, 1, True)


def test_an_empty_log_stores_a_run_with_no_decisions(store: Store) -> None:
    run = run_replay(store, config())
    assert (run.status, run.until, run.users, run.events) == ("complete", None, 0, 0)
    assert decisions(store, run.id) == []
    assert run.counts["totals"]["triggered"] == 0
    assert run.counts["campaigns"] == {"follow_up": run.counts["totals"]}


def test_max_recipients_then_rate_limit_are_applied_to_the_stored_run(store: Store) -> None:
    # six users click at 09:00:00 (u6 a second later): sends due at 10:00:00
    import_event_rows(store, [event(f"u{i}", "2026-01-05T09:00:00Z") for i in (5, 3, 1, 4, 2)]
                      + [event("u6", "2026-01-05T09:00:01Z"), event("u1", "2026-01-06T00:00:00Z", "purchase", None)])
    run = run_replay(store, config("""
        max_recipients: 4
        rate_limit: {per_minute: 2}
    """))
    assert outcome(store, run.id) == [
        ("u1", "sent", None, "2026-01-05T10:00:00Z"),
        ("u2", "sent", None, "2026-01-05T10:00:00Z"),
        ("u3", "sent", None, "2026-01-05T10:01:00Z"),
        ("u4", "sent", None, "2026-01-05T10:01:00Z"),
        ("u5", "suppressed", "max_recipients", None),
        ("u6", "suppressed", "max_recipients", None),
    ]
    rows = decisions(store, run.id)
    assert [r[5] for r in rows] == ["trigger 0", "trigger 0",
                                    "trigger 0; rate limit 2/minute moved it from 2026-01-05T10:00:00Z",
                                    "trigger 0; rate limit 2/minute moved it from 2026-01-05T10:00:00Z",
                                    "trigger 0; max_recipients 4 reached", "trigger 0; max_recipients 4 reached"]
    assert all(format_time(r[10]) in ("2026-01-05T10:00:00Z", "2026-01-05T10:00:01Z") for r in rows)  # due kept
    assert run.counts["totals"]["reasons"] == {"max_recipients": 2}


def write_log(store: Store, users: int) -> None:
    rows = []
    for i in range(users):
        user = f"user-{i:03d}"
        rows.append(event(user, f"2026-01-{5 + i % 3:02d}T{8 + i % 10:02d}:00:00Z"))
        if i % 4 == 0:
            rows.append(event(user, f"2026-01-{5 + i % 3:02d}T{8 + i % 10:02d}:20:00Z", "purchase", None))
        if i % 5 == 0:
            rows.append(event(user, f"2026-01-{6 + i % 3:02d}T07:00:00Z", "purchase", None))
        rows.append(event(user, "2026-01-09T00:00:00Z", "session_start", None))
    import_event_rows(store, rows)


@pytest.mark.slow
def test_workers_give_the_same_decisions_as_one_worker(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with Store.open(path) as s:
        write_log(s, 60)
        cfg = config("rate_limit: {per_minute: 3}\n")
        one = run_replay(s, cfg, name="one", db_path=path)
        calls: list[tuple[int, int, int]] = []
        two = run_replay(s, cfg, name="two", workers=2, db_path=path, progress=lambda *c: calls.append(c))
        assert two.options["workers"] == 2
        assert calls[-1] == (60, two.events, two.events)
        assert decisions(s, one.id) == decisions(s, two.id)
        assert len(decisions(s, one.id)) == 60
        conversions = "SELECT user_id, campaign, conversion_index, time, event_id, decision_seq, control " \
                      "FROM conversions WHERE run_id = ? ORDER BY decision_seq, conversion_index"
        assert s.conn.execute(conversions, (one.id,)).fetchall() == s.conn.execute(conversions, (two.id,)).fetchall()
        assert (one.users, one.events, one.counts) == (two.users, two.events, two.counts)


SECOND_FOLLOW_UP = """\
  - id: capped_follow_up
    channels: [email]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers:
      - {interaction: click_email, campaign: welcome_email}
    delay: 2 hours
    max_recipients: 7
    conversion_events:
      - {event: purchase, within: 2 days}
"""


def recount(store: Store, run_id: int) -> dict[str, Any]:
    """A run's counts worked out again from its stored rows, independently of the replay's tallies."""
    campaigns: dict[str, Any] = {}
    for campaign, status, reason, n in store.conn.execute(
            "SELECT campaign, status, reason, count(*) FROM decisions WHERE run_id = ? GROUP BY 1, 2, 3", (run_id,)):
        bucket = campaigns.setdefault(campaign, {"triggered": 0, "reasons": {}, "conversions": 0,
                                                 "control_conversions": 0})
        bucket["triggered"] += n
        bucket[status] = bucket.get(status, 0) + n
        if reason is not None:
            bucket["reasons"][reason] = n
    for campaign, control, n in store.conn.execute(
            "SELECT campaign, control, count(*) FROM conversions WHERE run_id = ? GROUP BY 1, 2", (run_id,)):
        campaigns[campaign]["control_conversions" if control else "conversions"] = n
    return campaigns


@pytest.mark.parametrize("workers", [1, 2])
def test_a_runs_counts_are_those_of_its_stored_rows_after_the_cross_user_rules(tmp_path: Path, workers: int) -> None:
    """The counts come from what the per-user pass wrote, except for the campaigns a cross-user rule changed
    afterwards (max_recipients here drops sends and their conversions): those are counted again."""
    path = tmp_path / "c.db"
    with Store.open(path) as s:
        write_log(s, 40)
        run = run_replay(s, load_config_text(CONFIG + SECOND_FOLLOW_UP, "c.yaml"), workers=workers, db_path=path)
        expected = recount(s, run.id)
    capped = expected["capped_follow_up"]
    assert capped["reasons"].get("max_recipients", 0) > 0 and capped["conversions"] > 0  # the rule bit
    assert expected["follow_up"]["conversions"] > 0
    for campaign, counts in expected.items():
        stored = run.counts["campaigns"][campaign]
        assert {key: value for key, value in stored.items() if value or key == "triggered"} == {
            key: value for key, value in counts.items() if value or key == "triggered"}
    assert run.counts["totals"]["triggered"] == sum(c["triggered"] for c in expected.values())
    assert run.counts["totals"]["conversions"] == sum(c["conversions"] for c in expected.values())


@pytest.mark.slow
def test_a_failing_worker_is_an_error_and_leaves_no_run(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with Store.open(path) as s:
        write_log(s, 4)
        with pytest.raises(StoreError, match="gone.db: no database here"):
            run_replay(s, config(), workers=2, db_path=tmp_path / "gone.db")
        assert s.conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


@functools.cache
def logged_store() -> Store:
    """An in-memory log of 30 users and a complete one-worker run of it, shared by the property examples."""
    store = Store.open(":memory:")
    write_log(store, 30)
    run_replay(store, config(), name="whole")
    return store


@pytest.mark.slow
@settings(max_examples=20, deadline=None)
@given(cuts=st.lists(st.integers(0, 29), max_size=3, unique=True))
def test_splitting_users_into_ranges_changes_nothing(cuts: list[int]) -> None:
    # what --workers does, in one process: replay user ranges into scratch files, copy them in, shifting seq
    store = logged_store()
    whole = find_run(store, "whole")
    bounds = [None, *sorted(f"user-{c:03d}" for c in cuts), None]
    run = create_run(store, name=None, created_at="", config_path="", config_text="", config_hash="",
                     log_fingerprint="", engine_version="", options={}, until=whole.until)
    with tempfile.TemporaryDirectory() as folder:
        seq_base = 0
        for k, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            scratch = open_scratch(Path(folder) / f"{k}.db")
            part = replay_part(store, scratch, Engine(config()), run.id, whole.until, lo, hi)
            scratch.close()
            merge_scratch(store, Path(folder) / f"{k}.db", run.id, seq_base)
            seq_base += part.decisions
    try:
        assert decisions(store, run.id) == decisions(store, whole.id)
    finally:
        discard_run(store, run.id)


def test_an_in_memory_database_replays_with_one_worker(store: Store) -> None:
    write_log(store, 3)
    run = run_replay(store, config(), workers=2, db_path=Path(":memory:"))
    assert (run.options["workers"], run.options["workers_requested"]) == (1, 2)


def test_a_failed_replay_leaves_no_run_behind(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    write_log(store, 10)
    run_replay(store, config(), name="before")
    monkeypatch.setattr(replay_module, "BATCH_ROWS", 1)
    calls = []

    def interrupt(users: int, events: int, total: int) -> None:
        calls.append(users)
        raise KeyboardInterrupt

    monkeypatch.setattr(replay_module, "PROGRESS_EVERY", 5)
    with pytest.raises(KeyboardInterrupt):
        run_replay(store, config(), name="interrupted", progress=interrupt)
    assert calls == [5]
    assert [r.name for r in list_runs(store)] == ["before"]
    assert store.conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    assert store.conn.execute("SELECT count(DISTINCT run_id) FROM decisions").fetchone()[0] == 1


def test_a_duplicate_name_is_refused_before_anything_runs(store: Store) -> None:
    run_replay(store, config(), name="baseline")
    with pytest.raises(StoreError, match="a run named 'baseline' exists already"):
        run_replay(store, config(), name="baseline")
    assert store.conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


#: A replay in another process that pauses (argv: db, config, phase, seconds, run name) while "replaying"
#: (holding its read of the log) or after "copying" its rows into the database.
PAUSING_REPLAY = """
import sys, time
from pathlib import Path
from campaign_connector import replay
from campaign_connector.config import load_config
from campaign_connector.store import Store

replay.BATCH_ROWS = 1
replay.PROGRESS_EVERY = 1
store = Store.open(sys.argv[1], create=False)


def pause(*args):
    print("paused", flush=True)
    time.sleep(float(sys.argv[4]))


def progress(users, events, total):
    if users == 3 and sys.argv[3] == "replaying":  # some batches are in the scratch file by now
        pause()


def merge_then_pause(*args):
    merge(*args)
    if sys.argv[3] == "copying":  # the rows are in the database, the run not complete
        pause()


merge, replay.merge_scratch = replay.merge_scratch, merge_then_pause
replay.run_replay(store, load_config(Path(sys.argv[2])), name=sys.argv[5], progress=progress)
"""


@pytest.mark.slow
@pytest.mark.parametrize(("phase", "copied"), [("replaying", 0), ("copying", 10)])
def test_a_killed_replay_leaves_the_previous_run_latest_and_is_cleared_next_time(tmp_path: Path, phase: str,
                                                                                  copied: int) -> None:
    path, cfg = tmp_path / "c.db", tmp_path / "c.yaml"
    cfg.write_text(CONFIG)
    with Store.open(path) as s:
        write_log(s, 10)
        run_replay(s, config(), name="before")
    proc = subprocess.Popen([sys.executable, "-c", PAUSING_REPLAY, str(path), str(cfg), phase, "60", "killed"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "paused\n"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with Store.open(path) as s:
        assert s.conn.execute("SELECT count(*) FROM decisions d JOIN runs r ON r.id = d.run_id "
                              "WHERE r.status = 'running'").fetchone()[0] == copied
        assert find_run(s, None).name == "before"  # nothing reads the killed run
        assert [r.name for r in list_runs(s)] == ["before"]
        run_replay(s, config(), name="killed")  # the name is free again, the rows are gone
        assert s.conn.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall() == [("complete", 2)]
        assert s.conn.execute("SELECT count(*) FROM decisions").fetchone()[0] == 20


@pytest.mark.slow
def test_two_replays_at_once_both_complete(tmp_path: Path) -> None:
    path, cfg = tmp_path / "c.db", tmp_path / "c.yaml"
    cfg.write_text(CONFIG)
    with Store.open(path) as s:
        write_log(s, 10)
    other = subprocess.Popen([sys.executable, "-c", PAUSING_REPLAY, str(path), str(cfg), "replaying", "1.5",
                              "other"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert other.stdout is not None and other.stdout.readline() == "paused\n"
    with Store.open(path) as s:
        mine = run_replay(s, config(), name="mine")  # waits for the other's read, then writes
        assert other.wait(30) == 0, other.communicate()
        assert sorted(r.name for r in list_runs(s)) == ["mine", "other"]
        assert decisions(s, mine.id) == decisions(s, find_run(s, "other").id)


# --------------------------------------------------------------------------------------------------
# the `replay` command


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    db, cfg = tmp_path / "c.db", tmp_path / "c.yaml"
    cfg.write_text(CONFIG)
    with Store.open(db) as s:
        import_event_rows(s, [event("u1", "2026-01-05T09:00:00Z"), event("u2", "2026-01-05T11:00:00Z")])
    return db, cfg


cli = functools.partial(run, env={"COLUMNS": "120"})
"""``python -m campaign_connector ARGS`` in a 120-column terminal."""


@pytest.mark.slow
def test_replay_prints_the_run_name_and_a_summary_on_stderr(files: tuple[Path, Path]) -> None:
    db, cfg = files
    proc = cli("replay", str(cfg), "--db", str(db), "--name", "baseline")
    assert (proc.returncode, proc.stdout) == (0, "baseline\n")
    lines = proc.stderr.splitlines()
    assert [c.strip() for c in lines[1].strip("┃ ").split("┃")] == [
        "campaign", "triggered", "sent", "control", "cancelled", "suppressed", "pending"]
    assert [c.strip() for c in lines[3].strip("│ ").split("│")] == ["follow_up", "2", "1", "0", "0", "0", "1"]
    assert lines[-1] == ("Stored run baseline (id 1): 2 users, 2 events up to 2026-01-05T11:00:00Z, "
                         "2 decisions.")


@pytest.mark.slow
def test_replay_with_a_taken_name_is_a_one_line_error(files: tuple[Path, Path]) -> None:
    db, cfg = files
    assert cli("replay", str(cfg), "--db", str(db), "--name", "x").returncode == 0
    proc = cli("replay", str(cfg), "--db", str(db), "--name", "x")
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: {db}: a run named 'x' exists already")
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--until", "next tuesday"], "Error: --until: "),
        (["--db", "no-such-folder/t.db"], "Error: no-such-folder/t.db: folder no-such-folder does not exist"),
    ],
)
def test_replay_bad_input_is_a_one_line_error(files: tuple[Path, Path], args: list[str], message: str,
                                              tmp_path: Path) -> None:
    db, cfg = files
    options = ["--db", str(db), *args] if "--db" not in args else [*args]
    proc = subprocess.run([sys.executable, "-m", "campaign_connector", "replay", str(cfg), *options],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith(message)
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_replay_with_a_bad_config_lists_every_problem(files: tuple[Path, Path]) -> None:
    db, cfg = files
    cfg.write_text(CONFIG.replace("channels: [push]", "channels: [pigeon]").replace("delay: 1 hour", "delay: soon"))
    proc = cli("replay", str(cfg), "--db", str(db))
    assert proc.returncode == 1
    assert "pigeon" in proc.stderr and "soon" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_replay_prints_config_warnings_and_goes_on(files: tuple[Path, Path]) -> None:
    db, cfg = files
    cfg.write_text(CONFIG.replace("      - {event: purchase}\n", "      - {interaction: click_email, campaign: "
                                  "welcome_email}\n", 1))
    proc = cli("replay", str(cfg), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "warning:" in proc.stderr.splitlines()[0]


def test_replay_of_an_empty_log_says_so(tmp_path: Path) -> None:
    Store.open(tmp_path / "e.db").close()
    (tmp_path / "c.yaml").write_text(CONFIG)
    result = runner.invoke(app, ["replay", str(tmp_path / "c.yaml"), "--db", str(tmp_path / "e.db")])
    assert result.exit_code == 0
    assert result.stdout == "run-1\n"
    assert "The event log is empty: stored run run-1 with no decisions" in result.stderr



def _die_on_start() -> None:
    """A worker initializer whose process ends at once, as a worker killed by the system would."""
    os._exit(3)


@pytest.mark.slow
def test_a_worker_that_dies_is_a_clear_error_not_a_hang(tmp_path: Path) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from campaign_connector.errors import CampaignConnectorError

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context, initializer=_die_on_start) as executor:
        pool = replay_module._Pool(executor, 2, context.Value("q", 0), context.Value("q", 0))
        merged: list[Path] = []
        with pytest.raises(CampaignConnectorError, match="a worker process ended unexpectedly.*--workers 1"):
            replay_module._replay_in_workers(1, 2**62, 1, tmp_path / "t.db", pool, [(None, "m"), ("m", None)],
                                             None, 0, tmp_path, lambda scratch, part: merged.append(scratch))
        assert merged == []
