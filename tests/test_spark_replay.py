"""``spark-replay`` (SPEC §5.1) on local Spark: its decisions equal, field for field and in order, those of
``import`` + ``replay`` of the same inputs, compared as ``sends --format csv`` (and its conversions and counts
as stored). One SparkSession serves the whole file; each test runs one replay (a few small Spark jobs). The
tests that start Spark (a JVM) are marked slow; they run in plain ``pytest`` and in CI.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from clikit import cli

from campaign_connector.config import load_config
from campaign_connector.errors import InputError
from campaign_connector.generate import example_config_path, generate_log
from campaign_connector.importer import BadRowsError, import_event_files, import_user_files
from campaign_connector.replay import run_replay
from campaign_connector.report import write_sends_csv
from campaign_connector.store import Store
from campaign_connector.store.results import iter_decisions
from campaign_connector.store.runfolder import open_runs
from campaign_connector.store.runs import RunInfo
from campaign_connector.timeutil import parse_time

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(scope="session")
def spark() -> Any:
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("campaign-connector tests")
               .config("spark.sql.shuffle.partitions", "2").config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def sqlite_run(tmp_path: Path, config: Path, files: list[Path], users: Path | None, name: str,
               until: str | None = None, skip_invalid: bool = False) -> tuple[str, RunInfo, list[tuple[Any, ...]]]:
    """``import`` + ``import-users`` + ``replay --name NAME``: the sends CSV, the run, its conversions."""
    with Store.open(tmp_path / "sqlite.db") as store:
        import_event_files(store, files, skip_invalid=skip_invalid, rejects=tmp_path / "rejects.jsonl")
        if users is not None:
            import_user_files(store, users)
        run = run_replay(store, load_config(config), name=name, until=None if until is None else parse_time(until))
        return sends_csv(store, run), run, conversions(store, run)


def sends_csv(store: Store, run: RunInfo) -> str:
    out = io.StringIO()
    write_sends_csv(iter_decisions(store, run.id), run.name, out)
    return out.getvalue()


def conversions(store: Store, run: RunInfo) -> list[tuple[Any, ...]]:
    return store.conn.execute("SELECT user_id, campaign, conversion_index, time, event_id, decision_seq, control "
                              "FROM conversions WHERE run_id = ? ORDER BY rowid", (run.id,)).fetchall()


def folder_run(folder: Path) -> tuple[str, RunInfo, list[tuple[Any, ...]]]:
    """The run folder read as a run: its sends CSV, the run, its conversions."""
    with open_runs(Path("unused.db"), [str(folder)]) as (store, (run,)):
        return sends_csv(store, run), run, conversions(store, run)


def spark_run(spark: Any, config: Path, inputs: list[Path], output: Path, **options: Any) -> Any:
    from campaign_connector.spark.run import spark_replay

    return spark_replay(spark, load_config(config), [str(p) for p in inputs], str(output), **options)


def assert_same_run(tmp_path: Path, spark_dir: Path, sqlite: tuple[str, RunInfo, list[tuple[Any, ...]]]) -> None:
    csv_a, run_a, conv_a = sqlite
    csv_b, run_b, conv_b = folder_run(spark_dir)
    assert csv_b.splitlines() == csv_a.splitlines()
    assert conv_b == conv_a
    assert (run_b.counts, run_b.events, run_b.users, run_b.until) == (run_a.counts, run_a.events, run_a.users,
                                                                      run_a.until)


@pytest.mark.slow
def test_sample_data_gives_the_sqlite_paths_sends_through_the_command_line(
        spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    config, events, users = SAMPLE / "campaigns.example.yaml", SAMPLE / "events.csv", SAMPLE / "users.csv"
    expected, run, _ = sqlite_run(tmp_path, config, [events], users, "baseline")
    out = tmp_path / "run"
    ran = cli(["spark-replay", str(config), str(events), "--users", str(users), "--output", str(out),
               "--name", "baseline"], monkeypatch, capsys)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == f"{out}\n"
    assert "Read 19,741 events from 1 file(s): 0 duplicates skipped, 0 rejected." in ran.stderr
    monkeypatch.setenv("CAMPAIGN_CONNECTOR_DB", str(tmp_path / "sqlite.db"))
    sends = cli(["sends", "--run", str(out), "--format", "csv"], monkeypatch, capsys)
    assert sends.returncode == 0, sends.stderr
    assert sends.stdout.splitlines() == expected.splitlines()
    manifest = json.loads((out / "run.json").read_text())
    assert (manifest["config_hash"], manifest["engine_version"], manifest["counts"]) == (
        run.config_hash, run.engine_version, run.counts)
    assert cli(["diff", "baseline", str(out), "--fail-on-change"], monkeypatch, capsys).returncode == 0
    reports = [json.loads(cli(["report", "--run", ref, "--format", "json"], monkeypatch, capsys).stdout)
               for ref in (str(out), "baseline")]
    for report in reports:
        del report["run"]["created_at"], report["run"]["id"]
    assert reports[0] == reports[1]


RULES = """\
version: 1
workspace:
  timezone: America/New_York
  frequency_caps:
    - {channel: push, max: 2, per: 1 day}
campaigns:
  - {id: news, channels: [email], status: active, published_at: 2026-01-01T00:00:00Z}
  - id: nudge
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: click_email, campaign: news}]
    delay: 1 hour
    exceptions: [{event: purchase}]
    quiet_hours: {start: "22:00", end: "08:00"}
    control_group: 20
    rate_limit: {per_minute: 2}
    reeligible_after: 0 seconds
    conversion_events: [{event: purchase, within: 2 days}]
  - id: chained
    channels: [sms]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: receive_push, campaign: nudge}]
    delay: 30 minutes
    audience: {attribute: plan, equals: pro}
    max_recipients: 2
  - id: second_push
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: open_email, campaign: news}]
    reeligible_after: 0 seconds
"""

ZONES = ["America/New_York", "Asia/Tokyo", "Europe/Berlin", "", "America/Los_Angeles"]


def rules_log(folder: Path) -> list[Path]:
    """Two files of one folder: 14 users clicking and opening ``news`` in one minute (rate limit, caps, chains,
    zones, quiet hours), a purchase that cancels, a conversion, and one bad row; the second file repeats the
    first file's ids (dropped: the first wins) and adds equal-time clicks (kept after the first file's)."""
    header = "user_id,time,event,campaign,id,timezone,properties\n"
    first, second = [header, "u99,not-a-time,click_email,news,x-1,,\n"], [header]
    for n in range(14):
        user, zone = f"u{n:02}", ZONES[n % len(ZONES)]
        first.append(f"{user},2026-01-05T15:00:{n:02}Z,click_email,news,c-{n},{zone},\n")
        first.append(f"{user},2026-01-05T15:00:{n:02}Z,open_email,news,,{zone},\n")
        if n % 5 == 0:
            first.append(f"{user},2026-01-05T15:10:00Z,open_email,news,o-{n},,\n")
        if n % 4 == 0:
            first.append(f"{user},2026-01-05T15:30:00Z,purchase,,p-{n},,\"{{\"\"value\"\": {n}}}\"\n")
        if n % 3 == 0:
            first.append(f"{user},2026-01-05T17:00:00Z,purchase,,q-{n},,\n")
        second.append(f"{user},2026-01-05T15:00:{n:02}Z,click_email,news,c-{n},America/Chicago,\n")
        second.append(f"{user},2026-01-05T15:00:{n:02}Z,click_email,news,d-{n},,\n")
        second.append(f"{user},2026-01-05T15:00:{n:02}Z,open_email,news,,{zone},\n")
    folder.mkdir()
    (folder / "sub").mkdir()
    paths = [folder / "a.csv", folder / "sub" / "b.csv"]
    for path, lines in zip(paths, (first, second), strict=True):
        path.write_text("".join(lines))
    (folder / "notes.txt").write_text("not an event file\n")
    return paths


@pytest.mark.slow
def test_a_folder_every_rule_and_skip_invalid_give_the_sqlite_paths_decisions(spark: Any, tmp_path: Path) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text(RULES)
    files = rules_log(tmp_path / "log")
    users = tmp_path / "users.csv"
    users.write_text("user_id,timezone,plan,unsubscribed\n"
                     + "".join(f"u{n:02},{'Asia/Tokyo' if n == 5 else ''},{'pro' if n % 2 else 'free'},"
                               f"{'push' if n == 7 else ''}\n" for n in range(14)))
    expected = sqlite_run(tmp_path, config, files, users, "rules", skip_invalid=True)
    result = spark_run(spark, config, [tmp_path / "log"], tmp_path / "run", users=str(users), name="rules",
                       skip_invalid=True)
    assert result.manifest["files"] == [str(p) for p in files]
    assert result.manifest["read"] == {"rows": 70 + 3 + 4 + 5, "duplicates": 28, "rejected": 1, "no_user": 0}
    assert_same_run(tmp_path, tmp_path / "run", expected)
    rejects = [json.loads(line) for part in sorted((tmp_path / "run" / "rejects").glob("*.json"))
               for line in part.read_text().splitlines()]
    assert rejects == [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    reasons = {line.split(",")[4] for line in expected[0].splitlines()[1:]}
    assert {"max_recipients", "frequency_cap", "exception", "not_reachable", "not_in_audience"} <= reasons
    assert "rate limit 2/minute moved it" in expected[0] and "held by quiet hours" in expected[0]
    assert ",control," in expected[0] and expected[2], "the log exercises control groups and conversions"


@pytest.mark.slow
def test_a_generated_log_with_a_horizon_gives_the_sqlite_paths_decisions(spark: Any, tmp_path: Path) -> None:
    config = example_config_path()
    events, users = tmp_path / "events.csv", tmp_path / "users.csv"
    generate_log(load_config(config), events, users=300, days=21, seed=11, start=date(2026, 1, 5), users_file=users)
    expected = sqlite_run(tmp_path, config, [events], users, "generated", until="2026-01-20T12:00:00Z")
    spark_run(spark, config, [events], tmp_path / "run", users=str(users), name="generated",
              until=parse_time("2026-01-20T12:00:00Z"))
    assert_same_run(tmp_path, tmp_path / "run", expected)


BAD_LOG = """\
user_id,time,event,campaign,id
u1,2026-01-05T15:00:00Z,click_email,news,e1
u2,yesterday,click_email,news,e2
u3,2026-01-05T15:00:00Z,click_email,news,e3
,2026-01-05T15:00:00Z,click_email,news,e4
"""


@pytest.mark.slow
def test_bad_rows_stop_the_run_with_imports_messages_and_nothing_written(spark: Any, tmp_path: Path) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text(RULES)
    log = tmp_path / "bad.csv"
    log.write_text(BAD_LOG)
    with pytest.raises(BadRowsError) as imported, Store.open(":memory:") as store:
        import_event_files(store, [log])
    with pytest.raises(InputError) as replayed:
        spark_run(spark, config, [log], tmp_path / "run")
    assert str(replayed.value).splitlines()[1:] == str(imported.value).splitlines()[1:] == [
        f"{log}:3: time: expected an ISO-8601 time like 2026-01-05T09:00:00Z or epoch seconds, got 'yesterday'",
        f"{log}:5: missing user_id",
    ]
    assert str(replayed.value).splitlines()[0].startswith("2 bad rows; nothing was written")
    assert sorted(tmp_path.iterdir()) == [log, config]


def test_without_java_the_command_says_what_to_install_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    ran = cli(["spark-replay", str(SAMPLE / "campaigns.example.yaml"), str(SAMPLE / "events.csv"), "--output",
               str(tmp_path / "run"), "--master", "local[2]"], monkeypatch, capsys)
    assert (ran.returncode, ran.stdout) == (1, "")
    assert ran.stderr.splitlines()[-1] == (
        "Error: spark-replay needs Java 17 or later to run Spark: install a JDK (e.g. apt-get install "
        "openjdk-17-jre-headless) or set JAVA_HOME")
    assert not (tmp_path / "run").exists()


def test_without_pyspark_the_command_says_what_to_install_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)
    ran = cli(["spark-replay", str(SAMPLE / "campaigns.example.yaml"), str(SAMPLE / "events.csv"), "--output",
               str(tmp_path / "run")], monkeypatch, capsys)
    assert (ran.returncode, ran.stderr.splitlines()[-1]) == (
        1, "Error: spark-replay needs PySpark 4: pip install 'campaign-connector[spark]'")


def test_an_existing_output_folder_is_refused_before_anything_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    ran = cli(["spark-replay", str(SAMPLE / "campaigns.example.yaml"), str(SAMPLE / "events.csv"), "--output",
               str(tmp_path / "run")], monkeypatch, capsys)
    assert (ran.returncode, ran.stderr.splitlines()[-1]) == (
        1, f"Error: --output {tmp_path / 'run'}: already exists (remove it, or give a new folder)")
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["keep.txt"]


def test_explain_refuses_a_run_folder_with_the_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text("{}")
    ran = cli(["explain", "u1", "--run", str(tmp_path / "run")], monkeypatch, capsys)
    assert ran.returncode == 1
    assert "explain re-runs one user's timeline from the stored log, which a run folder does not hold" in ran.stderr


@pytest.mark.parametrize(("master", "environ", "chosen"), [
    (None, {}, "local[*]"),
    ("local[2]", {}, "local[2]"),
    ("spark://host:7077", {"PYSPARK_GATEWAY_PORT": "4242"}, "spark://host:7077"),
    (None, {"PYSPARK_GATEWAY_PORT": "4242"}, None),
    (None, {"SPARK_REMOTE": "sc://host:15002"}, None),
])
def test_spark_submit_and_spark_remote_choose_the_master_unless_master_is_given(
        master: str | None, environ: dict[str, str], chosen: str | None) -> None:
    from campaign_connector.spark.session import chosen_master

    assert chosen_master(master, environ) == chosen


CURRENTS_CONFIG = """\
version: 1
campaigns:
  - id: thanks
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    reeligible_after: 0 seconds
    triggers: [{event: purchase}, {event: session_start}]
"""


@pytest.mark.slow
def test_a_currents_export_folder_gives_the_sqlite_paths_decisions(spark: Any, tmp_path: Path) -> None:
    """Braze's storage layout, Avro files under event_type= folders, records without a user and bot clicks."""
    import currentskit as kit

    kit.write_export(tmp_path / "export")
    config = tmp_path / "currents.yaml"
    config.write_text(CURRENTS_CONFIG)
    expected = sqlite_run(tmp_path, config, [tmp_path / "export" / "currents"], None, "currents")
    result = spark_run(spark, config, [tmp_path / "export" / "currents"], tmp_path / "run", name="currents")
    assert result.manifest["read"] == {"rows": sum(kit.STORED.values()), "duplicates": 0, "rejected": 0,
                                       "no_user": sum(kit.NO_USER.values())}
    assert_same_run(tmp_path, tmp_path / "run", expected)
    assert expected[1].counts["totals"]["sent"] > 0


RATE_LIMITED = """\
version: 1
campaigns:
  - {id: news, channels: [email], status: active, published_at: 2026-01-01T00:00:00Z}
  - id: nudge
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: click_email, campaign: news}]
    rate_limit: {per_minute: 1}
"""


@pytest.mark.slow
def test_a_send_the_rate_limit_moves_past_the_horizon_is_pending_as_in_the_sqlite_path(
        spark: Any, tmp_path: Path) -> None:
    config = tmp_path / "rate.yaml"
    config.write_text(RATE_LIMITED)
    log = tmp_path / "events.csv"
    log.write_text("user_id,time,event,campaign\n"
                   + "".join(f"u{n},2026-01-05T15:00:00Z,click_email,news\n" for n in range(3))
                   + "u9,2026-01-05T15:00:30Z,session_start,\n")
    expected = sqlite_run(tmp_path, config, [log], None, "rate", until="2026-01-05T15:01:30Z")
    statuses = [line.split(",")[3] for line in expected[0].splitlines()[1:]]
    assert statuses == ["sent", "sent", "pending"], "one send a minute: the third moves to 15:02, past the horizon"
    spark_run(spark, config, [log], tmp_path / "run", name="rate", until=parse_time("2026-01-05T15:01:30Z"))
    assert_same_run(tmp_path, tmp_path / "run", expected)
