"""The replay contract end to end through the command line (import, import-users, replay, sends): each test
writes a tiny log and campaign file, runs the real commands and compares the decisions with SPEC §3-§4.2's
words — the paths where the importer, the store, the engine and the writers meet."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from clikit import cli

HEAD = """\
version: 1
workspace: {timezone: UTC}
campaigns:
  - id: em
    braze_id: BZ-EM
    channels: [email]
    status: active
    published_at: 2026-01-01T00:00:00Z
"""


class Replay:
    """Files in a temporary folder, and the CLI run over them."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self.tmp = tmp_path
        self.db = str(tmp_path / "audit.db")
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def run(self, *args: str) -> str:
        """One command with --db; it must succeed; its stdout."""
        ran = cli([*args, "--db", self.db], self.monkeypatch, self.capsys)
        assert ran.returncode == 0, ran.stderr
        return ran.stdout

    def file(self, name: str, text: str) -> str:
        """Write a file of the test (its text dedented) and give its path."""
        path = self.tmp / name
        path.write_text(textwrap.dedent(text))
        return str(path)

    def decisions(self, campaigns: str, events: dict[str, str], users: str | None = None,
                  *replay_options: str) -> list[dict[str, Any]]:
        """Import each log file (in order) and the users file, replay, and read the rows back as JSON lines."""
        for name, text in events.items():
            self.run("import", self.file(name, text))
        if users is not None:
            self.run("import-users", self.file("users.csv", users))
        self.run("replay", self.file("campaigns.yaml", HEAD + campaigns), *replay_options)
        return [json.loads(line) for line in self.run("sends", "--format", "jsonl").splitlines()]


@pytest.fixture
def replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Replay:
    return Replay(tmp_path, monkeypatch, capsys)


def pick(rows: list[dict[str, Any]], *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(row[field] for field in fields) for row in rows]


FOLLOW_UP = """\
  - id: fu
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    reeligible_after: 1 second
    triggers: [{event: ping}]
"""


def test_log_times_in_every_form_print_as_utc_with_milliseconds_only_when_not_zero(replay: Replay) -> None:
    log = """\
        {"user_id": "t", "time": 1767312000.5, "event": "ping", "id": "epoch-float"}
        {"user_id": "t", "time": "1767312002", "event": "ping", "id": "epoch-text"}
        {"user_id": "t", "time": "2026-01-02T00:00:04.1239Z", "event": "ping", "id": "micro"}
        {"user_id": "t", "time": "2026-01-02T05:30:06+05:30", "event": "ping", "id": "offset"}
        {"user_id": "t", "time": "2026-01-02 00:00:08", "event": "ping", "id": "naive"}
        {"user_id": "t", "time": "2026-01-02T00:00:10.000Z", "event": "ping", "id": "zero-ms"}
    """
    rows = replay.decisions(FOLLOW_UP, {"log.jsonl": log})
    assert pick(rows, "trigger_event_id", "triggered_at", "sent_at") == [
        ("epoch-float", "2026-01-02T00:00:00.500Z", "2026-01-02T00:00:00.500Z"),
        ("epoch-text", "2026-01-02T00:00:02Z", "2026-01-02T00:00:02Z"),
        ("micro", "2026-01-02T00:00:04.123Z", "2026-01-02T00:00:04.123Z"),
        ("offset", "2026-01-02T00:00:06Z", "2026-01-02T00:00:06Z"),
        ("naive", "2026-01-02T00:00:08Z", "2026-01-02T00:00:08Z"),
        ("zero-ms", "2026-01-02T00:00:10Z", "2026-01-02T00:00:10Z"),
    ]


def test_the_same_row_without_an_id_is_stored_once_whatever_its_file_format(replay: Replay) -> None:
    replay.run("import", replay.file("a.csv", "user_id,time,event,campaign\nd,2026-01-02T00:00:00Z,ping,\n"))
    rows = replay.decisions(FOLLOW_UP, {"b.jsonl": """\
        {"user_id": "d", "time": "2026-01-02T00:00:00Z", "event": "ping"}
        {"user_id": "d", "time": 1767312000, "event": "ping", "campaign": null}
    """})
    assert pick(rows, "status", "reason") == [("sent", None)]


QUALIFIED = """\
  - id: f_machine
    channels: [sms]
    status: active
    published_at: 2026-01-01T00:00:00Z
    reeligible_after: 1 second
    triggers: [{interaction: open_email_machine, campaign: em}]
  - id: f_other
    channels: [sms]
    status: active
    published_at: 2026-01-01T00:00:00Z
    reeligible_after: 1 second
    triggers: [{interaction: open_email_other, campaign: em}]
  - id: f_alias
    channels: [sms]
    status: active
    published_at: 2026-01-01T00:00:00Z
    reeligible_after: 1 second
    triggers: [{interaction: click_alias_any_campaign, alias: "007"}]
"""


def test_csv_qualifiers_derived_names_braze_ids_and_canvas_rows(replay: Replay) -> None:
    log = """\
        user_id,time,event,campaign,id,machine_open,link_alias
        m,2026-01-02T00:00:01Z,open_email,em,true-any-case,TRUE,
        m,2026-01-02T00:00:02Z,open_email,BZ-EM,yes,Yes,
        m,2026-01-02T00:00:03Z,open_email,em,one,1,
        m,2026-01-02T00:00:04Z,open_email,em,zero,0,
        m,2026-01-02T00:00:05Z,open_email,em,empty,,
        m,2026-01-02T00:00:06Z,open_email,em,on,on,
        m,2026-01-02T00:00:07Z,open_email_machine,em,derived,,
        m,2026-01-02T00:00:08Z,click_email,em,alias-as-string,,007
        m,2026-01-02T00:00:09Z,click_email,em,alias-number,,7
        m,2026-01-02T00:00:10Z,click_email,,canvas,,007
        m,2026-01-02T00:00:11Z,click_email,Undeclared-1,undeclared,,007
    """
    rows = replay.decisions(QUALIFIED, {"log.csv": log})
    assert pick(rows, "trigger_event_id", "campaign", "trigger", "source_campaign") == [
        ("true-any-case", "f_machine", "open_email_machine", "em"),
        ("yes", "f_machine", "open_email_machine", "em"),
        ("one", "f_machine", "open_email_machine", "em"),
        ("zero", "f_other", "open_email_other", "em"),
        ("empty", "f_other", "open_email_other", "em"),
        ("on", "f_other", "open_email_other", "em"),
        ("derived", "f_machine", "open_email_machine", "em"),
        ("alias-as-string", "f_alias", "click_alias_any_campaign", "em"),
        ("canvas", "f_alias", "click_alias_any_campaign", None),
        ("undeclared", "f_alias", "click_alias_any_campaign", "Undeclared-1"),
    ]


PROFILED = """\
  - id: fu
    channels: [push, sms]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: open_email, campaign: em}]
    delay: {in_days: 1, at: "09:00", zone: user}
    audience: {attribute: tier, equals: 10}
"""


def test_the_users_file_gives_zone_unsubscribes_and_attributes_to_the_replay(replay: Replay) -> None:
    users = """\
        user_id,timezone,unsubscribed,tier
        tokyo,Asia/Tokyo,sms,10.0
        berlin,Europe/Berlin,push;sms,10
        low,,,9
    """
    log = """\
        user_id,time,event,campaign,timezone
        tokyo,2026-01-02T01:00:00Z,open_email,em,America/New_York
        berlin,2026-01-02T08:30:00Z,open_email,em,
        low,2026-01-02T13:30:00Z,open_email,em,
        absent,2026-01-02T13:30:00Z,open_email,em,
        zz,2026-01-05T00:00:00Z,session_start,,
    """
    rows = replay.decisions(PROFILED, {"log.csv": log}, users)
    assert pick(rows, "user_id", "status", "reason", "due_at", "sent_at", "channels") == [
        ("absent", "suppressed", "not_in_audience", None, None, ["push", "sms"]),
        ("berlin", "suppressed", "not_reachable", "2026-01-03T08:00:00Z", None, ["push", "sms"]),
        ("low", "suppressed", "not_in_audience", None, None, ["push", "sms"]),
        ("tokyo", "sent", None, "2026-01-03T00:00:00Z", "2026-01-03T00:00:00Z", ["push"]),
    ]


DELAYED = """\
  - id: fu
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    reeligible_after: 1 second
    triggers: [{event: ping}]
    delay: 1 hour
    exceptions: [{event: stop}]
"""


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        ("2026-01-02T00:29:59Z", [("a", "pending", "2026-01-02T01:00:00Z", None),
                                  ("b", "pending", "2026-01-02T01:00:00Z", None)]),
        ("2026-01-02T00:59:59.999Z", [("a", "pending", "2026-01-02T01:00:00Z", None),
                                      ("b", "cancelled", "2026-01-02T01:00:00Z", None)]),
        ("2026-01-02T01:00:00+00:00", [("a", "sent", "2026-01-02T01:00:00Z", "2026-01-02T01:00:00Z"),
                                       ("b", "cancelled", "2026-01-02T01:00:00Z", None)]),
    ],
)
def test_until_reads_events_at_or_before_it_and_runs_sends_due_at_or_before_it(
        replay: Replay, until: str, expected: list[tuple[Any, ...]]) -> None:
    log = """\
        user_id,time,event
        a,2026-01-02T00:00:00Z,ping
        b,2026-01-02T00:00:00Z,ping
        b,2026-01-02T00:30:00Z,stop
        a,2026-01-02T05:00:00Z,stop
    """
    rows = replay.decisions(DELAYED, {"log.csv": log}, None, "--until", until)
    assert pick(rows, "user_id", "status", "due_at", "sent_at") == expected


CHAINED = """\
  - id: a_first
    channels: [sms]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: receive_push, campaign: b_second}]
  - id: b_second
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: ping}]
    max_recipients: 2
  - id: c_third
    channels: [email]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: ping}]
"""


def test_sends_order_users_by_code_point_then_time_then_processing_order(replay: Replay) -> None:
    log = """\
        user_id,time,event
        b,2026-01-02T00:00:00Z,ping
        a,2026-01-02T00:00:00Z,ping
        B,2026-01-02T00:00:00Z,ping
    """
    rows = replay.decisions(CHAINED, {"log.csv": log})
    assert pick(rows, "user_id", "campaign", "status", "reason", "trigger_event_id")[:3] == [
        ("B", "b_second", "sent", None, rows[0]["trigger_event_id"]),
        ("B", "c_third", "sent", None, rows[0]["trigger_event_id"]),
        ("B", "a_first", "sent", None, "receive_push:b_second:B:2026-01-02T00:00:00Z"),
    ]
    assert pick(rows, "user_id", "campaign", "status", "reason")[3:] == [
        ("a", "b_second", "sent", None),
        ("a", "c_third", "sent", None),
        ("a", "a_first", "sent", None),
        ("b", "b_second", "suppressed", "max_recipients"),
        ("b", "c_third", "sent", None),
        ("b", "a_first", "sent", None),
    ]


SAME_DUE = """\
  - id: a
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: x}]
    delay: 1 hour
  - id: b
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: y}]
    delay: 2 hours
  - id: c
    channels: [sms]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: receive_push, campaign: b}, {interaction: receive_push, campaign: a}]
"""


def test_sends_due_at_one_instant_run_in_config_order_not_creation_order(replay: Replay) -> None:
    log = """\
        user_id,time,event
        k,2026-01-02T00:00:00Z,y
        k,2026-01-02T01:00:00Z,x
        k,2026-01-02T03:00:00Z,z
    """
    rows = replay.decisions(SAME_DUE, {"log.csv": log})
    assert pick(rows, "campaign", "status", "reason", "trigger_event_id", "detail")[2:] == [
        ("c", "sent", None, "receive_push:a:k:2026-01-02T02:00:00Z", "trigger 1"),
        ("c", "suppressed", "not_reeligible", "receive_push:b:k:2026-01-02T02:00:00Z",
         "received 2026-01-02T02:00:00Z; once per user"),
    ]
