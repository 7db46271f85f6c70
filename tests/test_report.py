"""`report`: per-campaign counts of a stored run as a terminal table with a daily chart, json and csv."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from reportkit import BASE, base_db, decision, invoke, store_run, t, text
from rich.console import Console

from campaign_connector.errors import StoreError
from campaign_connector.inspection import SUPPRESSION_REASONS
from campaign_connector.report import daily_chart, report_columns
from campaign_connector.store import Store

REPORT_TABLE = """\
Run base (2026-02-01T12:00:00Z, until 2026-02-01T00:00:00Z)

 campaign        triggered  sent  control  cancelled  suppressed  pending  conv. sent  conv. ctrl
 ────────────────────────────────────────────────────────────────────────────────────────────────
 followup_email          4     1        0          1           1        1  1 (100.0%)           0
 discount_push           3     1        1          0           1        0    0 (0.0%)  1 (100.0%)

 total                   7     2        1          1           2        1   1 (50.0%)  1 (100.0%)

Suppressed by reason

 campaign        reason          count  meaning
 ──────────────────────────────────────────────────────────────────────────────────────────────────
 followup_email  not_reeligible      1  the user had received the campaign and was not yet
                                        re-eligible
 discount_push   before_publish      1  the interaction happened before the follow-up was published

Sends per UTC day
 day         sent
 2026-01-05     1  ████████████████████████████████████████
 2026-01-06     1  ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒
██ followup_email  ▒▒ discount_push
"""


def test_report_table_golden_at_100_columns(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "report")
    assert result.exit_code == 0, result.output
    assert text(result.stdout) == REPORT_TABLE


def test_report_lists_campaigns_in_config_order_not_alphabetically(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "report", "--format", "json")
    assert [c["campaign"] for c in json.loads(result.stdout)["campaigns"]] == ["followup_email", "discount_push"]


def test_report_json_counts_each_status_reason_and_conversion(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "report", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["run"] == {"name": "base", "id": 1, "created_at": "2026-02-01T12:00:00Z",
                               "config_hash": "cafe" * 16, "until": "2026-02-01T00:00:00Z"}
    followup, discount = document["campaigns"]
    assert {k: v for k, v in followup.items() if k != "suppressed_by_reason"} == {
        "campaign": "followup_email", "triggered": 4, "sent": 1, "control": 0, "cancelled": 1, "suppressed": 1,
        "pending": 1, "converted_sent": 1, "converted_control": 0, "conversion_rate_sent": 1.0,
        "conversion_rate_control": None, "lift": None, "sample_ratio": None,
    }
    assert list(followup["suppressed_by_reason"]) == list(SUPPRESSION_REASONS)  # stable keys, rule order
    assert {r: n for r, n in followup["suppressed_by_reason"].items() if n} == {"not_reeligible": 1}
    assert {r: n for r, n in discount["suppressed_by_reason"].items() if n} == {"before_publish": 1}
    assert (discount["converted_control"], discount["conversion_rate_control"]) == (1, 1.0)
    assert document["total"]["triggered"] == len(BASE)
    assert document["total"]["conversion_rate_sent"] == 0.5
    assert document["daily_sent"] == [
        {"date": "2026-01-05", "sent": 1, "campaigns": {"followup_email": 1}},
        {"date": "2026-01-06", "sent": 1, "campaigns": {"discount_push": 1}},
    ]


def test_report_csv_parses_back_with_one_column_per_suppression_reason(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "report", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == report_columns()
    assert [(r["campaign"], r["triggered"], r["sent"], r["suppressed_not_reeligible"], r["conversion_rate_control"])
            for r in rows] == [("followup_email", "4", "1", "1", ""), ("discount_push", "3", "1", "0", "1.0")]


def test_report_is_byte_identical_across_calls(tmp_path: Path) -> None:
    db = base_db(tmp_path)
    for fmt in ("table", "json", "csv"):
        assert invoke(db, "report", "--format", fmt).stdout == invoke(db, "report", "--format", fmt).stdout


def test_report_of_a_run_without_decisions_says_so_and_lists_config_campaigns(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    with Store.open(db) as store:
        store_run(store, "empty", [])
    result = invoke(db, "report")
    assert "This run has no decisions." in result.stdout
    document = json.loads(invoke(db, "report", "--format", "json").stdout)
    assert [(c["campaign"], c["triggered"]) for c in document["campaigns"]] == [
        ("followup_email", 0), ("discount_push", 0)]


def test_report_reads_the_latest_run_by_default_and_any_run_by_name_or_id(tmp_path: Path) -> None:
    db = base_db(tmp_path)
    with Store.open(db) as store:
        store_run(store, "later", [decision("u9", "followup_email", "pending", "2026-01-20T00:00:00Z",
                                            due="2026-02-03T00:00:00Z")])
    total = {ref: json.loads(invoke(db, "report", "--format", "json", *ref).stdout)["total"]["triggered"]
             for ref in [(), ("--run", "base"), ("--run", "1"), ("--run", "later")]}
    assert total == {(): 1, ("--run", "base"): 7, ("--run", "1"): 7, ("--run", "later"): 1}


def test_unknown_run_is_a_store_error_naming_the_stored_runs(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "report", "--run", "nope")
    assert result.exit_code == 1
    assert isinstance(result.exception, StoreError)
    assert "no run named 'nope' (known: base" in str(result.exception)


@pytest.mark.slow
def test_unknown_run_prints_one_error_line_and_exits_1(tmp_path: Path) -> None:
    db = base_db(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "campaign_connector", "report", "--run", "nope", "--db", str(db)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("Error: ")


def test_missing_database_is_an_error_not_a_new_file(tmp_path: Path) -> None:
    result = invoke(tmp_path / "absent.db", "report")
    assert isinstance(result.exception, StoreError)
    assert not (tmp_path / "absent.db").exists()


def _chart(days: list[tuple[str, dict[str, int]]], order: list[str]) -> str:
    console = Console(width=100, color_system=None, force_terminal=False, record=True, file=io.StringIO())
    console.print(daily_chart([(t(day), counts) for day, counts in days], order))  # type: ignore[misc]
    return text(console.export_text())


def test_daily_chart_bars_are_proportional_to_the_busiest_day() -> None:
    chart = _chart([("2026-01-05", {"a": 4}), ("2026-01-06", {"a": 1, "b": 1}), ("2026-01-07", {"b": 8})],
                   ["a", "b"])
    assert chart == (
        "Sends per UTC day\n"
        " day         sent\n"
        " 2026-01-05     4  ████████████████████\n"
        " 2026-01-06     2  █████▒▒▒▒▒\n"  # each campaign its own mark: readable without colour
        " 2026-01-07     8  ▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒▒\n"
        "██ a  ▒▒ b\n"
    )


def test_daily_chart_groups_by_week_when_the_run_spans_more_than_62_days() -> None:
    chart = _chart([("2026-01-05", {"a": 1}), ("2026-01-11", {"a": 1}), ("2026-03-09", {"a": 2})], ["a"])
    assert chart.splitlines()[:4] == [
        "Sends per UTC week", " week of     sent", " 2026-01-05     2  ████████████████████████████████████████",
        " 2026-03-09     2  ████████████████████████████████████████"]
