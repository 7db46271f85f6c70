"""`validate` and `schema` from the command line: text and JSON output, exit codes, --strict, --db, the
example config, and the JSON Schema."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from configs import EXAMPLE
from typer.testing import CliRunner

from campaign_connector import vocabulary
from campaign_connector.cli import app
from campaign_connector.config import check_config
from campaign_connector.store import Store
from campaign_connector.timeutil import parse_time

runner = CliRunner()

SOURCE = """\
version: 1
campaigns:
  - id: src
    braze_id: braze-src
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
"""
#: A follow-up published a day after its source: one publish-order warning.
LATE = SOURCE + """\
  - id: late
    channels: [push]
    published_at: 2026-01-02T00:00:00Z
    triggers: [{interaction: click_push_button, campaign: src, button: buy}]
"""
#: The same plus an error.
BROKEN = LATE + """\
    delay: soon
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def invoke(*args: str) -> Result:
    return runner.invoke(app, ["validate", *args])


def test_clean_config_prints_nothing_and_exits_0(tmp_path: Path) -> None:
    result = invoke(str(write(tmp_path, SOURCE)))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "no problems\n")


def test_text_output_one_problem_per_line_and_summary_on_stderr(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    result = invoke(str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:10:59: campaigns[1].triggers[0].campaign: warning: 'late' is published 2026-01-02T00:00:00Z, "
        "after its source 'src' (2026-01-01T00:00:00Z): click_push_button interactions before "
        "2026-01-02T00:00:00Z never trigger it (publish the follow-up first)",
        f"{path}:11:12: campaigns[1].delay: expected a duration like '3 days' (units: seconds, minutes, hours, "
        "days, weeks), got 'soon'",
    ]
    assert result.stderr == "1 error, 1 warning\n"


@pytest.mark.parametrize(("strict", "exit_code"), [(False, 0), (True, 1)])
def test_warnings_fail_only_with_strict(tmp_path: Path, strict: bool, exit_code: int) -> None:
    result = invoke(str(write(tmp_path, LATE)), *(["--strict"] if strict else []))
    assert result.exit_code == exit_code
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "strict", "ok", "errors", "warnings"),
    [
        (SOURCE, False, True, [], []),
        (LATE, False, True, [], ["publish-order"]),
        (LATE, True, False, [], ["publish-order"]),
        (BROKEN, False, False, ["bad-duration"], ["publish-order"]),
    ],
    ids=["clean", "warning", "warning-strict", "error"],
)
def test_json_output_ok_matches_the_exit_code(tmp_path: Path, text: str, strict: bool, ok: bool,
                                              errors: list[str], warnings: list[str]) -> None:
    result = invoke(str(write(tmp_path, text)), "--format", "json", *(["--strict"] if strict else []))
    report = json.loads(result.stdout)
    assert list(report) == ["ok", "errors", "warnings"]
    assert report["ok"] is ok
    assert result.exit_code == (0 if ok else 1)
    assert [item["code"] for item in report["errors"]] == errors
    assert [item["code"] for item in report["warnings"]] == warnings


def test_json_items_carry_file_line_column_path_code_message(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    report = json.loads(invoke(str(path), "--format", "json").stdout)
    assert report["errors"] == [{
        "file": str(path), "line": 11, "column": 12, "path": "campaigns[1].delay", "code": "bad-duration",
        "message": "expected a duration like '3 days' (units: seconds, minutes, hours, days, weeks), got 'soon'",
    }]


def test_missing_file_in_json_mode_is_a_json_error_without_a_position(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "nope.yaml"), "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"ok": False, "warnings": [], "errors": [{
        "file": str(tmp_path / "nope.yaml"), "line": None, "column": None, "path": "",
        "code": "file-unreadable", "message": "no such file (check the path)",
    }]}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file (check the path)"),
        (lambda p: p.mkdir(), "is a folder, not a campaign file (give the YAML file's path)"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00"), "binary file, not YAML text (give the campaign file)"),
    ],
    ids=["missing", "folder", "binary"],
)
def test_unreadable_file_in_text_mode_is_one_error_line_exit_1(
    tmp_path: Path, make: Callable[[Path], object], message: str
) -> None:
    path = tmp_path / "c.yaml"
    make(path)
    proc = subprocess.run([sys.executable, "-m", "campaign_connector", "validate", str(path)],
                          capture_output=True, text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", f"Error: {path}: {message}\n")


@pytest.mark.parametrize("text", ["", "campaigns: [\n", "- just\n- a list\n"], ids=["empty", "malformed", "list"])
def test_unusable_yaml_is_one_located_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    result = invoke(str(path))
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 1
    assert result.stdout.startswith(f"{path}:")
    assert result.stderr == "1 error, 0 warnings\n"


# ----------------------------------------------------------------------------------------------
# --db


def add_events(db: Path, rows: list[tuple[str, str, str, str | None, str | None]]) -> None:
    """(user_id, time, event, campaign, button_id) rows, straight into the events table."""
    with Store.open(db) as store, store.atomic() as conn:
        conn.executemany(
            "INSERT INTO events (seq, id, user_id, time, event, campaign, button_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i, f"e{i}", user, parse_time(time), event, campaign, button)
             for i, (user, time, event, campaign, button) in enumerate(rows)],
        )


def test_db_publish_order_counts_the_matching_interactions_and_users_it_loses(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    add_events(db, [
        ("u1", "2026-01-01T10:00:00Z", "click_push_button", "src", "buy"),
        ("u1", "2026-01-01T11:00:00Z", "click_push_button", "braze-src", "buy"),
        ("u2", "2026-01-01T12:00:00Z", "click_push_button", "src", "buy"),
        ("u3", "2026-01-01T12:00:00Z", "click_push_button", "src", "later"),    # another button
        ("u4", "2026-01-01T12:00:00Z", "open_push_directly", "src", None),      # another interaction
        ("u5", "2026-01-02T00:00:00Z", "click_push_button", "src", "buy"),      # at publication: counts
    ])
    path = write(tmp_path, LATE)
    result = invoke(str(path), "--db", str(db), "--format", "json")
    [warning] = json.loads(result.stdout)["warnings"]
    assert warning["code"] == "publish-order"
    assert warning["message"].endswith(f"; in {db} that loses 3 logged interactions from 2 users")


def test_db_flags_a_referenced_source_campaign_absent_from_the_log(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    add_events(db, [("u1", "2026-01-03T00:00:00Z", "purchase", None, None)])
    text = SOURCE + """\
  - id: follow
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: receive_push, campaign: braze-src}]
  - id: chained
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: receive_push, campaign: follow}]
"""
    report = json.loads(invoke(str(write(tmp_path, text)), "--db", str(db), "--format", "json").stdout)
    assert [(w["line"], w["column"], w["path"], w["code"], w["message"]) for w in report["warnings"]] == [
        (10, 54, "campaigns[1].triggers[0].campaign", "campaign-not-in-log",
         f"campaign 'src' or its braze_id 'braze-src' never appears in the event log {db} "
         "(check the id or braze_id, or import its events)"),
    ]
    assert report["ok"] is True


def test_db_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    result = invoke(str(write(tmp_path, SOURCE)), "--db", str(tmp_path / "none.db"))
    assert result.exit_code == 1
    assert not (tmp_path / "none.db").exists()


# ----------------------------------------------------------------------------------------------
# the shipped example and the schema




def test_the_example_config_has_no_errors_and_only_its_deliberate_warning() -> None:
    config, problems = check_config(EXAMPLE)
    assert config is not None
    assert [(p.code, p.path) for p in problems] == [("publish-order", "campaigns[5].triggers[0].campaign")]
    assert config.campaigns[5].id == "discount_push"


def test_schema_is_draft_2020_12_built_from_the_vocabulary() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    campaign = schema["properties"]["campaigns"]["items"]
    assert campaign["properties"]["channels"]["items"]["enum"] == list(vocabulary.CHANNELS)
    assert campaign["properties"]["status"]["enum"] == list(vocabulary.CAMPAIGN_STATUSES)
    interactions = [form["properties"]["interaction"]["const"] for form in schema["$defs"]["trigger"]["oneOf"][:-1]]
    assert interactions == list(vocabulary.INTERACTIONS)


def test_schema_lists_exactly_the_keys_the_loader_accepts() -> None:
    from campaign_connector.config import keys
    from campaign_connector.config.schema import campaign_schema

    schema = campaign_schema()
    assert tuple(schema["properties"]) == keys.TOP_KEYS
    assert tuple(schema["properties"]["campaigns"]["items"]["properties"]) == keys.CAMPAIGN_KEYS
    assert tuple(schema["properties"]["workspace"]["properties"]) == keys.WORKSPACE_KEYS


def test_the_example_config_satisfies_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from campaign_connector.config import parse_yaml_positions
    from campaign_connector.config.schema import campaign_schema

    def as_json(value: object) -> object:
        if isinstance(value, dict):
            return {k: as_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [as_json(v) for v in value]
        return value.isoformat() if hasattr(value, "isoformat") else value

    data = as_json(parse_yaml_positions(EXAMPLE.read_text()).plain())
    validator = jsonschema.Draft202012Validator(campaign_schema())
    assert [error.message for error in validator.iter_errors(data)] == []


def test_validate_checks_a_database_only_when_db_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_CONNECTOR_DB", str(tmp_path / "nowhere.db"))
    result = invoke(str(write(tmp_path, SOURCE)))
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "nowhere.db").exists()


def test_an_unusable_db_in_json_mode_is_still_a_json_report(tmp_path: Path) -> None:
    result = invoke(str(write(tmp_path, SOURCE)), "--db", str(tmp_path / "missing.db"), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["warnings"] == []
    [error] = report["errors"]
    assert (error["file"], error["line"], error["column"], error["code"]) == (
        str(tmp_path / "missing.db"), None, None, "database-unusable")
    assert "no database here" in error["message"]
