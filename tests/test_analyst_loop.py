"""SPEC §5.2, the analyst's loop on the command line: formats everywhere (Parquet too, -o by suffix, umask
permissions), standard streams (a closed pipe, tables that fold rather than cut), checked names, runs, explain's
relevant events, the HTML report, readable views and doctor, shell completion."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from reportkit import BASE, base_db, invoke, store_run, text

from campaign_connector.store import Store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = base_db(tmp_path)
    with Store.open(path) as store:
        store_run(store, "whatif", BASE[:4])
    return path


# --------------------------------------------------------------------------------------------------
# Formats everywhere


@pytest.mark.parametrize(("command", "fmt"), [
    (["report"], "json"), (["report"], "csv"), (["report"], "jsonl"),
    (["sends"], "json"), (["sends"], "csv"), (["sends"], "jsonl"),
    (["diff", "base", "whatif"], "json"), (["diff", "base", "whatif"], "csv"), (["diff", "base", "whatif"], "jsonl"),
    (["runs"], "json"), (["runs"], "csv"), (["runs"], "jsonl"),
    (["explain", "u1"], "json"),
])
def test_every_listing_command_writes_json_csv_and_jsonl_that_parse(db: Path, command: list[str], fmt: str) -> None:
    result = invoke(db, *command, "--format", fmt)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        assert isinstance(json.loads(result.stdout), dict | list)
    elif fmt == "jsonl":
        lines = result.stdout.splitlines()
        assert lines and all(isinstance(json.loads(line), dict) for line in lines)
    else:
        rows = list(csv.reader(io.StringIO(result.stdout)))
        assert len(rows) >= 2 and len({len(row) for row in rows}) == 1


def test_sends_json_and_jsonl_hold_the_same_records(db: Path) -> None:
    as_json = json.loads(invoke(db, "sends", "--run", "base", "--format", "json").stdout)
    lines = invoke(db, "sends", "--run", "base", "--format", "jsonl").stdout.splitlines()
    as_jsonl = [json.loads(line) for line in lines]
    assert as_json == as_jsonl and len(as_json) == len(BASE)


def test_runs_show_config_file_hash_horizon_counts_and_time_taken(db: Path) -> None:
    (first, _) = json.loads(invoke(db, "runs", "--format", "json").stdout)
    assert (first["name"], first["config_file"], first["config_hash"], first["until"]) == (
        "base", "campaigns.yaml", "cafe" * 16, "2026-02-01T00:00:00Z")
    assert {"decisions", "sent", "control", "cancelled", "suppressed", "pending", "seconds"} <= set(first)


@pytest.mark.parametrize(("command", "rows"), [
    (["sends", "--run", "base"], len(BASE)),
    (["report"], 2),
    (["diff", "base", "whatif"], 1),  # u4's discount_push send is lost
])
@pytest.mark.parametrize("how", ["suffix", "format"])
def test_sends_report_and_diff_write_parquet(db: Path, tmp_path: Path, command: list[str], rows: int,
                                             how: str) -> None:
    target = tmp_path / ("out.parquet" if how == "suffix" else "out.bin")
    extra = [] if how == "suffix" else ["--format", "parquet"]
    result = invoke(db, *command, "-o", str(target), *extra)
    assert result.exit_code == 0, result.output
    table = pq.read_table(target)
    assert table.num_rows == rows


def test_parquet_decisions_keep_types(db: Path, tmp_path: Path) -> None:
    invoke(db, "sends", "--run", "base", "-o", str(tmp_path / "d.parquet"))
    table = pq.read_table(tmp_path / "d.parquet")
    assert str(table.schema.field("sent_at").type) == "timestamp[ms, tz=UTC]"
    assert table.column("channels").to_pylist()[5] == ["push", "email"]


def test_parquet_to_the_terminal_is_an_error(db: Path) -> None:
    result = invoke(db, "sends", "--format", "parquet")
    assert result.exit_code == 1
    assert str(result.exception) == "--format parquet writes a binary file: give -o FILE.parquet"


@pytest.mark.parametrize(("suffix", "check"), [(".json", json.loads),
                                               (".csv", lambda s: list(csv.DictReader(io.StringIO(s))))])
def test_o_picks_the_format_from_the_suffix(db: Path, tmp_path: Path, suffix: str, check: object) -> None:
    target = tmp_path / f"report{suffix}"
    assert invoke(db, "report", "-o", str(target)).exit_code == 0
    check(target.read_text())  # type: ignore[operator]


@pytest.mark.parametrize("command", [["sends", "--format", "csv"], ["report", "--format", "json"],
                                     ["diff", "base", "whatif", "--format", "csv"], ["sends"]])
def test_files_written_with_o_get_the_umask_permissions(db: Path, tmp_path: Path, command: list[str]) -> None:
    target = tmp_path / ("x.parquet" if command == ["sends"] else "x.out")
    previous = os.umask(0o027)
    try:
        assert invoke(db, *command, "-o", str(target)).exit_code == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --------------------------------------------------------------------------------------------------
# Standard streams


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "table"])
def test_a_closed_pipe_ends_quietly_with_exit_0(tmp_path: Path, fmt: str) -> None:
    db = tmp_path / "cc.db"
    from reportkit import decision
    many = [decision(f"u{i:05d}", "followup_email", "sent", "2026-01-05T09:00:00Z", sent="2026-01-05T10:00:00Z")
            for i in range(30_000)]
    with Store.open(db) as store:
        store_run(store, "big", many)
    reader = subprocess.Popen(["head", "-n", "2"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    sends = subprocess.run([sys.executable, "-m", "campaign_connector", "sends", "--db", str(db), "--format", fmt,
                            "--limit", "0"], stdout=reader.stdin, stderr=subprocess.PIPE, text=True)
    reader.stdin.close()  # type: ignore[union-attr]
    reader.wait()
    assert (sends.returncode, sends.stderr) == (0, "")


@pytest.mark.parametrize("columns", [40, 60, 80])
@pytest.mark.parametrize("command", [["report"], ["diff", "base", "whatif"], ["runs"], ["sends", "--run", "base"]])
def test_tables_never_cut_a_number_or_a_word(db: Path, command: list[str], columns: int) -> None:
    wide = text(invoke(db, *command, columns=200).stdout)
    narrow = invoke(db, *command, columns=columns)
    assert narrow.exit_code == 0, narrow.output
    assert "…" not in narrow.stdout
    assert all(len(line.rstrip()) <= columns for line in narrow.stdout.splitlines())
    def words(output: str) -> set[str]:
        return {word.rstrip(":,") for word in re.findall(r"[\w.:,%+-]{3,}", output)}

    wide_words, narrow_words = words(wide), words(narrow.stdout)
    assert {w for w in wide_words if w[0].isdigit() or "_" in w} <= narrow_words  # numbers and ids stay whole


# --------------------------------------------------------------------------------------------------
# Conversions, in the table


def test_the_report_table_says_when_a_sample_is_too_small_to_judge(tmp_path: Path) -> None:
    from test_report_conversions import _run
    path = tmp_path / "cc.db"
    with Store.open(path) as store:
        _run(store, 20, 4, 5, 1)
    result = invoke(path, "report", columns=200)
    assert "sample too small to judge (under 30 users on a side)" in result.stdout
    assert "[95% CI]" in result.stdout


# --------------------------------------------------------------------------------------------------
# Names are checked


@pytest.mark.parametrize(("command", "message"), [
    (["diff", "base", "whatif", "--campaign", "folowup_email"],
     "--campaign: unknown campaign 'folowup_email' (did you mean 'followup_email'?; known: followup_email, "
     "discount_push)"),
    (["explain", "u1", "--campaign", "discount_psh"], "--campaign: unknown campaign 'discount_psh' (did you mean "
                                                      "'discount_push'?"),
    (["report", "--run", "bsae"], "no run named 'bsae' (did you mean 'base'?; known: whatif, base"),
])
def test_unknown_names_list_the_known_ones_with_a_did_you_mean(db: Path, command: list[str], message: str) -> None:
    result = invoke(db, *command)
    assert result.exit_code == 1
    assert message in str(result.exception)


# --------------------------------------------------------------------------------------------------
# explain


def test_explain_json_has_the_timeline_decisions_and_what_if(db: Path) -> None:
    document = json.loads(invoke(db, "explain", "u1", "--run", "base", "--format", "json").stdout)
    assert document["user_id"] == "u1"
    assert [d["status"] for d in document["decisions"]] == ["sent", "suppressed"]
    assert "what_if" in document["decisions"][1]
    assert set(document) >= {"timeline", "events_not_shown", "conversions", "notes", "since", "until"}


def test_explain_since_and_until_narrow_the_decisions(db: Path) -> None:
    document = json.loads(invoke(db, "explain", "u1", "--run", "base", "--format", "json",
                                 "--since", "2026-01-06T00:00:00Z").stdout)
    assert [d["status"] for d in document["decisions"]] == ["suppressed"]
    document = json.loads(invoke(db, "explain", "u1", "--run", "base", "--format", "json",
                                 "--until", "2026-01-05T09:00:00Z").stdout)
    assert [d["status"] for d in document["decisions"]] == ["sent"]


def test_explain_shows_the_events_that_matter_and_counts_the_rest(tmp_path: Path) -> None:
    import campaign_connector as cc
    path = tmp_path / "cc.db"
    config = ("version: 1\ncampaigns:\n  - {id: news, channels: [email], published_at: 2026-01-01T00:00:00Z}\n"
              "  - id: follow\n    channels: [push]\n    published_at: 2026-01-01T00:00:00Z\n"
              "    triggers: [{interaction: click_email, campaign: news}]\n    delay: 1 hour\n"
              "    exceptions: [{event: purchase}]\n")
    rows = [{"user_id": "u1", "time": f"2026-01-05T0{h}:00:00Z", "event": "session_start"} for h in range(5)]
    rows += [{"user_id": "u1", "time": "2026-01-05T06:00:00Z", "event": "click_email", "campaign": "news"},
             {"user_id": "u1", "time": "2026-01-05T06:30:00Z", "event": "purchase"}]
    with cc.open_store(path) as store:
        cc.import_event_rows(store, rows)
        cc.run_replay(store, cc.load_config_text(config, "c.yaml"), name="r")
    shown = invoke(path, "explain", "u1", columns=200).stdout
    assert "click_email of news" in shown and "purchase" in shown
    assert "session_start (" not in shown
    assert "5 other events not shown (session_start 5)" in shown
    everything = invoke(path, "explain", "u1", "--all-events", columns=200).stdout
    assert everything.count("session_start (") == 5


# --------------------------------------------------------------------------------------------------
# Sharing: the HTML report


def test_report_html_is_one_self_contained_page(db: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = invoke(db, "report", "--run", "base", "--html", str(page))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # only the page, unless a format or -o is asked for too
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched when opened
    assert "<script" not in html and "@import" not in html
    for part in ("Decisions per campaign", "Conversions: sent against control", "Sends per day", "Manifest",
                 "<svg", "cafe" * 16):
        assert part in html
    # campaigns differ by a fill pattern, not by colour alone
    patterns = re.findall(r'<pattern id="p(\d+)"[^>]*><rect[^>]*fill="([^"]+)"/>(.*?)</pattern>', html)
    assert len(patterns) == 2
    assert len({mark for _, _, mark in patterns}) == 2


def test_report_html_and_a_format_together(db: Path, tmp_path: Path) -> None:
    result = invoke(db, "report", "--html", str(tmp_path / "r.html"), "--format", "json")
    assert json.loads(result.stdout)["run"]["name"] == "whatif"
    assert (tmp_path / "r.html").exists()


# --------------------------------------------------------------------------------------------------
# Readable database, doctor


def test_readable_views_show_iso_times_and_run_names(db: Path) -> None:
    import sqlite_utils
    database = sqlite_utils.Database(db)
    assert {"runs_readable", "decisions_readable", "conversions_readable"} <= set(database.view_names())
    row = next(database.query("SELECT run, user_id, sent_at FROM decisions_readable WHERE status = 'sent' "
                              "ORDER BY run, user_id LIMIT 1"))
    assert row == {"run": "base", "user_id": "u1", "sent_at": "2026-01-05T10:00:00Z"}


def test_doctor_lists_tables_and_views(db: Path) -> None:
    result = invoke(db, "doctor")
    assert result.exit_code == 0, result.output
    assert re.search(r"tables: .*decisions 11", result.stdout)
    assert "readable views: runs_readable, decisions_readable, conversions_readable" in result.stdout


# --------------------------------------------------------------------------------------------------
# Shell completion


#: Typer's switch that makes the completion options take a shell's name instead of detecting the shell this
#: test runs in.
NAMED_SHELL = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}


@pytest.mark.slow
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_a_script_for_each_shell(shell: str) -> None:
    ran = subprocess.run([sys.executable, "-m", "campaign_connector", "--show-completion", shell],
                         capture_output=True, text=True, env={**os.environ, **NAMED_SHELL})
    assert ran.returncode == 0, ran.stderr
    assert "_CAMPAIGN_CONNECTOR_COMPLETE" in ran.stdout


@pytest.mark.slow
@pytest.mark.parametrize(("shell", "rc"), [("bash", ".bashrc"), ("zsh", ".zshrc"),
                                           ("fish", ".config/fish/completions/campaign-connector.fish")])
def test_install_completion_writes_the_shells_startup_file(tmp_path: Path, shell: str, rc: str) -> None:
    ran = subprocess.run([sys.executable, "-m", "campaign_connector", "--install-completion", shell],
                         capture_output=True, text=True, env={**os.environ, **NAMED_SHELL, "HOME": str(tmp_path)})
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / rc).exists()


# --------------------------------------------------------------------------------------------------
# Scenario files: names checked, and a hint when nothing was decided


SCENARIO_CONFIG = """\
config:
  version: 1
  campaigns:
    - {id: weekly_newsletter, channels: [email], published_at: 2026-01-01T00:00:00Z}
    - id: resend
      channels: [email]
      published_at: 2026-01-01T00:00:00Z
      triggers: [{interaction: receive_email, campaign: weekly_newsletter}]
"""


def test_a_scenario_event_naming_a_campaign_the_config_lacks_is_an_error() -> None:
    from campaign_connector.scenarios import parse_scenario_text

    parsed = parse_scenario_text(SCENARIO_CONFIG + "events:\n  - {user_id: u1, time: 2026-01-05T09:00:00Z, "
                                 "event: receive_email, campaign: newsletter}\nexpect: []\n", "s.yaml")
    assert [str(p) for p in parsed.problems] == [
        "s.yaml:10:79: events[0].campaign: unknown campaign 'newsletter': not in the config (did you mean "
        "'weekly_newsletter'?; known: weekly_newsletter, resend)"]


def test_a_scenario_whose_replay_decides_nothing_says_what_to_check(tmp_path: Path) -> None:
    from campaign_connector.scenarios import render_text, run_paths

    (tmp_path / "s.yaml").write_text(SCENARIO_CONFIG + "events:\n  - {user_id: u1, time: 2026-01-05T09:00:00Z, "
                                     "event: open_email, campaign: weekly_newsletter}\n"
                                     "expect:\n  - {user: u1, campaign: resend, status: sent}\n")
    output = render_text(run_paths([tmp_path / "s.yaml"]))
    assert "actual decisions (0):" in output
    assert "(none: no event triggered a follow-up; check the events' names and campaigns" in output
