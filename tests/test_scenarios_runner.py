"""The scenario runner itself: relative times, matching and diffs, exhaustive mode, JUnit XML, located errors.

The shipped scenarios (``scenarios/*.yaml``) run in ``test_scenarios_shipped.py``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaign_connector.cli import app
from campaign_connector.model import Config, Decision, Workspace
from campaign_connector.scenarios import Expectation, Report, Scenario, ScenarioResult, match, parse_scenario_text
from campaign_connector.scenarios.matching import diff_lines
from campaign_connector.scenarios.render import render_junit, render_text
from campaign_connector.scenarios.runner import FileResult
from campaign_connector.scenarios.timespec import format_offset, parse_when, relative_ms
from campaign_connector.timeutil import TimeParseError, parse_time

BASE = parse_time("2026-01-05T09:00:00Z")
HOUR = 3_600_000
DAY = 24 * HOUR

# --------------------------------------------------------------------------------------------------
# Relative times


@pytest.mark.parametrize(("text", "offset"), [
    ("+2d", 2 * DAY),
    ("+1h30m", 90 * 60_000),
    ("+90s", 90_000),
    ("-1d", -DAY),
    ("+1w2d", 9 * DAY),
    ("+0s", 0),
    ("+1s500ms", 1_500),
])
def test_relative_times_count_exact_units_from_base_time(text: str, offset: int) -> None:
    assert relative_ms(text) == offset
    assert parse_when(text, BASE) == BASE + offset


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-01-06T09:00:00Z", BASE + DAY),
    ("2026-01-06T10:00:00+01:00", BASE + DAY),
    (1767603600, BASE),
])
def test_absolute_times_ignore_base_time(value: object, expected: int) -> None:
    assert parse_when(value, BASE) == expected
    assert parse_when(value, None) == expected


def test_relative_time_without_base_time_says_how_to_fix() -> None:
    with pytest.raises(TimeParseError, match="needs a base_time"):
        parse_when("+2d", None)


@pytest.mark.parametrize(("ms", "text"), [(0, "+0s"), (90 * 60_000, "+1h30m"), (-DAY, "-1d"), (8 * DAY + 1, "+8d1ms")])
def test_offsets_print_in_the_shortest_relative_form(ms: int, text: str) -> None:
    assert format_offset(ms) == text


# --------------------------------------------------------------------------------------------------
# Matching


def decision(user: str, campaign: str, status: str, reason: str | None = None, *, due: int | None = None,
             sent: int | None = None, triggered: int = BASE, channels: tuple[str, ...] = ("push",),
             detail: str | None = None) -> Decision:
    return Decision(user, campaign, status, reason, detail, "receive_push", "src", "e1", triggered, due, sent,
                    None, channels)


def expect(index: int, **fields: object) -> Expectation:
    if "user" in fields:
        fields["user_id"] = fields.pop("user")
    return Expectation(index, 10 + index, fields)


def test_every_expectation_needs_a_distinct_decision() -> None:
    decisions = [decision("u1", "f", "sent", sent=BASE)]
    outcome = match([expect(0, user="u1", campaign="f"), expect(1, user="u1", campaign="f")], decisions,
                    exhaustive=False)
    assert len(outcome.matched) == 1
    assert [e.index for e in outcome.missing] == [1]
    assert not outcome.passed


def test_a_loose_expectation_does_not_steal_the_decision_a_strict_one_needs() -> None:
    decisions = [decision("u1", "f", "sent", sent=BASE + DAY), decision("u1", "f", "cancelled", "exception")]
    outcome = match([expect(0, user="u1", campaign="f"), expect(1, user="u1", status="sent")], decisions,
                    exhaustive=True)
    assert outcome.passed


def test_only_the_fields_given_are_compared() -> None:
    decisions = [decision("u1", "f", "sent", due=BASE, sent=BASE + HOUR, detail="held by quiet hours until 07:00")]
    assert match([expect(0, campaign="f")], decisions, exhaustive=False).passed
    assert match([expect(0, sent_at=BASE + HOUR, detail="quiet hours")], decisions, exhaustive=False).passed
    assert match([expect(0, reason=None, channels=("push",))], decisions, exhaustive=False).passed
    assert not match([expect(0, reason="quiet_hours")], decisions, exhaustive=False).passed


def test_a_near_miss_names_each_differing_field_with_relative_times() -> None:
    decisions = [decision("u2", "resend", "sent", due=BASE + 7 * DAY, sent=BASE + 7 * DAY)]
    outcome = match([expect(0, user="u2", campaign="resend", status="cancelled", reason="exception")], decisions,
                    exhaustive=False)
    assert [(e.index, d.user_id) for e, d in outcome.near_misses] == [(0, "u2")]
    lines = diff_lines(outcome, BASE)
    assert lines[0] == "~ expected #1 (line 10) differs: user_id=u2 campaign=resend status=cancelled reason=exception"
    assert "    status: expected cancelled, got sent" in lines
    assert "    reason: expected exception, got null" in lines
    assert any("sent_at=2026-01-12T09:00:00Z (+7d)" in line for line in lines)


def test_a_time_difference_shows_both_times() -> None:
    decisions = [decision("u1", "f", "sent", due=BASE + DAY, sent=BASE + DAY)]
    outcome = match([expect(0, user="u1", campaign="f", sent_at=BASE + 2 * DAY)], decisions, exhaustive=False)
    assert ("    sent_at: expected 2026-01-07T09:00:00Z (+2d), got 2026-01-06T09:00:00Z (+1d)"
            in diff_lines(outcome, BASE))


def test_missing_when_no_decision_has_the_user_and_campaign() -> None:
    outcome = match([expect(0, user="u3", campaign="f", status="sent")], [decision("u1", "f", "sent")],
                    exhaustive=False)
    assert [e.index for e in outcome.missing] == [0]
    assert diff_lines(outcome, BASE)[0] == "- expected #1 (line 10) missing: user_id=u3 campaign=f status=sent"


def test_exhaustive_reports_decisions_nobody_expected() -> None:
    decisions = [decision("u1", "f", "sent"), decision("u2", "f", "suppressed", "frequency_cap")]
    expected = [expect(0, user="u1", campaign="f")]
    assert match(expected, decisions, exhaustive=False).passed
    outcome = match(expected, decisions, exhaustive=True)
    assert [d.user_id for d in outcome.unexpected] == ["u2"]
    assert any(line.startswith("+ unexpected: user_id=u2 campaign=f status=suppressed reason=frequency_cap")
               for line in diff_lines(outcome, BASE))


def test_exhaustive_with_no_expectations_means_no_decisions_at_all() -> None:
    assert match([], [], exhaustive=True).passed
    assert not match([], [decision("u1", "f", "sent")], exhaustive=True).passed


# --------------------------------------------------------------------------------------------------
# Reports: text and JUnit


def _scenario(name: str) -> Scenario:
    return Scenario(name=name, file="scenarios/x.yaml", line=3, description="A rule in words.",
                    config=Config(Workspace(), ()), base_time=BASE)


def _report() -> Report:
    good = ScenarioResult(_scenario("passes"), match([], [], exhaustive=True))
    bad = ScenarioResult(_scenario("fails"), match([expect(0, user="u9", campaign="f")], [], exhaustive=False))
    broken = ScenarioResult(_scenario("cannot run"), error="could not run: events:1: unknown time zone")
    unreadable = FileResult("scenarios/bad.yaml", problems=[
        parse_scenario_text("evnts: []\n", "scenarios/bad.yaml").problems[0]])
    return Report([FileResult("scenarios/x.yaml", results=[good, bad, broken]), unreadable])


def test_text_report_has_a_line_per_scenario_and_the_summary_last() -> None:
    text = render_text(_report())
    lines = text.splitlines()
    assert lines[0] == "PASS  scenarios/x.yaml: passes"
    assert lines[1] == "FAIL  scenarios/x.yaml: fails"
    assert lines[2] == "      - expected #1 (line 10) missing: user_id=u9 campaign=f"
    assert "ERROR scenarios/bad.yaml" in lines
    assert lines[-1] == "1 passed, 3 failed"


def test_junit_xml_parses_with_the_right_counts() -> None:
    root = ET.fromstring(render_junit(_report()))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "2")
    suite = root.find("testsuite[@file='scenarios/x.yaml']")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["passes", "fails", "cannot run"]
    failure = cases[1].find("failure")
    assert failure is not None and "missing: user_id=u9" in (failure.text or "")
    assert cases[2].find("error") is not None
    bad = root.find("testsuite[@file='scenarios/bad.yaml']/testcase/error")
    assert bad is not None and "scenarios/bad.yaml:1:1: evnts: unknown key" in (bad.text or "")


# --------------------------------------------------------------------------------------------------
# Bad scenario files: located one-line errors


@pytest.mark.parametrize(("text", "message"), [
    ("config: c.yaml\nevnts: []\nexpect: []\n",
     "f.yaml:2:1: evnts: unknown key in a scenario file (did you mean 'events'?)"),
    ("config: c.yaml\nevents:\n  - {user_id: u1, time: +1d, event: purchase}\nexpect: []\n",
     "f.yaml:3:25: events[0].time: relative time '+1d' needs a base_time (add base_time: 2026-01-05T09:00:00Z)"),
    ("config: c.yaml\nevents:\n  - {user_id: u1, tme: 2026-01-05, event: purchase}\nexpect: []\n",
     "f.yaml:3:19: events[0].tme: unknown key in an event row (did you mean 'time'?)"),
    ("config: c.yaml\nevents: []\nexpect:\n  - {user: u1, status: snet}\n",
     "f.yaml:4:24: expect[0].status: unknown status 'snet' (did you mean 'sent'?; known: sent, control, "),
    ("config: c.yaml\nevents: []\nexpect:\n  - {user: u1, reason: exeption}\n",
     "f.yaml:4:24: expect[0].reason: unknown reason 'exeption' (did you mean 'exception'?; known: before_publish, "),
    ("config: c.yaml\nevents: []\nexpect:\n  - {usr: u1}\n",
     "f.yaml:4:6: expect[0].usr: unknown key in an expected decision (did you mean 'user'?)"),
    ("events: []\nexpect: []\n", "f.yaml:1:1: config: missing"),
    ("config: c.yaml\nevents: [\n", "f.yaml:3:1: malformed YAML"),
    ("config: c.yaml\nconfig: d.yaml\n", "f.yaml:2:1: duplicate key 'config'"),
    ("- a\n", "f.yaml:1:1: a scenario file is a mapping"),
    ("config: c.yaml\nbase_time: yesterday\nexpect: []\n", "f.yaml:2:12: base_time: expected an ISO-8601 time"),
])
def test_bad_scenario_files_get_located_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "c.yaml").write_text("version: 1\ncampaigns: []\n")
    parsed = parse_scenario_text(text, str(tmp_path / "f.yaml"))
    shown = [str(p).replace(str(tmp_path) + "/", "") for p in parsed.problems]
    assert any(line.startswith(message) for line in shown), shown
    assert all("\n" not in line for line in shown)
    assert parsed.scenarios == []


def test_cli_reports_a_bad_file_as_failed_with_its_location_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("config: nowhere.yaml\nevents: []\nexpect: []\n")
    result = CliRunner().invoke(app, ["test", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:1:9: config: no campaign file at {tmp_path}/nowhere.yaml" in result.output
    assert result.output.splitlines()[-1] == "0 passed, 1 failed"
    assert "Traceback" not in result.output


def test_cli_missing_path_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["test", str(tmp_path / "none.yaml")])
    assert result.exit_code == 1
    assert "no such file or folder" in str(result.exception)


@pytest.mark.slow
def test_yaml_alias_bombs_are_refused_with_a_location() -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{k}: &{k} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, k in zip("abcdef", "bcdefg", strict=True))
    parsed = parse_scenario_text(text, "bomb.yaml")
    assert [p.message.split(";")[0] for p in parsed.problems] == ["aliases expand to too many values or refer to "
                                                                  "themselves"]


# --------------------------------------------------------------------------------------------------
# Through the real pipeline: embedded configs, shared keys, the CLI

CONFIG = """\
config:
  version: 1
  campaigns:
    - id: newsletter
      channels: [email]
      status: active
      published_at: 2026-01-01T00:00:00Z
    - id: resend
      channels: [email]
      status: active
      published_at: 2026-01-01T00:00:00Z
      triggers: [{interaction: receive_email, campaign: newsletter}]
      delay: 1 week
      exceptions: [{interaction: open_email, campaign: newsletter}]
base_time: 2026-01-05T09:00:00Z
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_embedded_config_problems_are_located_in_the_scenario_file(tmp_path: Path) -> None:
    text = CONFIG.replace("delay: 1 week", "delay: 1 wek").replace("receive_email, campaign", "recieve_email, "
                                                                                           "campaign")
    parsed = parse_scenario_text(text + "events: []\nexpect: []\n", "s.yaml")
    assert [str(p) for p in parsed.problems] == [
        "s.yaml:12:32: config.campaigns[1].triggers[0].interaction: unknown interaction 'recieve_email' "
        "(did you mean 'receive_email'?)",
        "s.yaml:13:14: config.campaigns[1].delay: expected a duration like '3 days' (units: seconds, minutes, "
        "hours, days, weeks), got '1 wek'",
    ]


def test_an_expected_campaign_must_be_a_follow_up_of_the_config() -> None:
    parsed = parse_scenario_text(CONFIG + "events: []\nexpect:\n  - {campaign: resnd}\n  - {campaign: newsletter}\n",
                                 "s.yaml")
    assert [str(p) for p in parsed.problems] == [
        "s.yaml:18:16: expect[0].campaign: 'resnd' is not a follow-up campaign of the config (did you mean "
        "'resend'?; known: resend)",
        "s.yaml:19:16: expect[1].campaign: 'newsletter' is a source campaign (no triggers): the replay decides "
        "only follow-ups' sends",
    ]


def test_items_of_a_scenarios_list_inherit_the_top_level_keys(tmp_path: Path) -> None:
    text = CONFIG + """\
until: +8d
exhaustive: true
scenarios:
  - name: never opened
    events: [{user_id: u1, time: +0s, event: receive_email, campaign: newsletter}]
    expect: [{user: u1, campaign: resend, status: sent, sent_at: +7d}]
  - events: [{user_id: u2, time: +0s, event: receive_email, campaign: newsletter}]
    until: +1d
    expect: [{user: u2, campaign: resend, status: pending, due_at: +7d}]
"""
    parsed = parse_scenario_text(text, "list.yaml")
    assert parsed.problems == []
    assert [(s.name, s.line, s.exhaustive, s.until) for s in parsed.scenarios] == [
        ("never opened", 19, True, BASE + 8 * DAY), ("list #2", 22, True, BASE + DAY)]
    assert parsed.scenarios[0].config is parsed.scenarios[1].config


def test_cli_runs_scenarios_through_the_pipeline_and_prints_the_diff(tmp_path: Path) -> None:
    _write(tmp_path, "good.yaml", CONFIG + """\
events:
  - {user_id: u1, time: +0s, event: receive_email, campaign: newsletter}
  - {user_id: u2, time: +0s, event: receive_email, campaign: newsletter}
  - {user_id: u2, time: +2d, event: open_email, campaign: newsletter}
until: +8d
exhaustive: true
expect:
  - {user: u1, campaign: resend, status: sent, sent_at: +7d}
  - {user: u2, campaign: resend, status: cancelled, reason: exception, detail: open_email}
""")
    _write(tmp_path, "bad.yaml", CONFIG + """\
events:
  - {user_id: u1, time: +0s, event: receive_email, campaign: newsletter}
  - {user_id: u2, time: +0s, event: receive_email, campaign: newsletter}
until: +8d
exhaustive: true
expect:
  - {user: u1, campaign: resend, status: sent, sent_at: +6d}
""")
    result = CliRunner().invoke(app, ["test", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"FAIL  {tmp_path}/bad.yaml: bad"
    assert lines[1] == ("      ~ expected #1 (line 22) differs: user_id=u1 campaign=resend status=sent "
                        "sent_at=2026-01-11T09:00:00Z (+6d)")
    assert "          sent_at: expected 2026-01-11T09:00:00Z (+6d), got 2026-01-12T09:00:00Z (+7d)" in lines
    assert any(line.startswith("      + unexpected: user_id=u2 campaign=resend status=sent") for line in lines)
    assert f"PASS  {tmp_path}/good.yaml: good" in lines
    assert lines[-1] == "1 passed, 1 failed"


def test_cli_writes_junit_xml_to_a_file_and_the_summary_to_stderr(tmp_path: Path) -> None:
    scenario = _write(tmp_path, "one.yaml", CONFIG + """\
events: [{user_id: u1, time: +0s, event: receive_email, campaign: newsletter}]
expect: [{user: u1, campaign: resend, status: pending, due_at: +7d}]
""")
    report = tmp_path / "report.xml"
    result = CliRunner().invoke(app, ["test", str(scenario), "--format", "junit", "-o", str(report)])
    assert result.exit_code == 0, result.output
    root = ET.parse(report).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("1", "0", "0")
    assert [c.get("name") for c in root.iter("testcase")] == ["one"]
    assert "1 passed, 0 failed" in result.output


def test_rows_the_importer_refuses_are_located_in_the_scenario_file(tmp_path: Path) -> None:
    scenario = _write(tmp_path, "rows.yaml", CONFIG + """\
events:
  - {user_id: u1, time: +0s, event: receive_email, campaign: newsletter}
  - {user_id: u1, time: +1h, event: click_email_alias, campaign: newsletter}
expect: []
""")
    result = CliRunner().invoke(app, ["test", str(scenario)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[1] == "      could not run: 1 bad events row(s)"
    assert lines[2].startswith(f"      {scenario}:18:5: events[1]: ") and "link_alias" in lines[2]


def test_a_crash_in_the_pipeline_is_reported_as_that_scenarios_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import campaign_connector.replay

    def crash(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(campaign_connector.replay, "run_replay", crash)
    scenario = _write(tmp_path, "crash.yaml", CONFIG + "events: []\nexpect: []\n")
    result = CliRunner().invoke(app, ["test", str(scenario)])
    assert result.exit_code == 1
    assert "internal error (a campaign-connector bug" in result.output
    assert "ZeroDivisionError: boom" in result.output
    assert result.output.splitlines()[-1] == "0 passed, 1 failed"


def test_a_problem_in_shared_keys_is_reported_once() -> None:
    text = CONFIG + """\
events: [{user_id: u1, time: soon, event: receive_email}]
scenarios:
  - {expect: []}
  - {expect: []}
"""
    assert [str(p) for p in parse_scenario_text(text, "s.yaml").problems] == [
        "s.yaml:16:30: events[0].time: expected an ISO-8601 time like 2026-01-05T09:00:00Z or epoch seconds, got "
        "'soon'; or a relative time like +2d, +1h30m, -1d"]
