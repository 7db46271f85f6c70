"""`diff`: decisions matched by (user_id, campaign, trigger_event_id) between two runs; sends gained, lost and
moved per campaign, and every changed decision with both sides."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from reportkit import BASE, base_db, decision, invoke, store_run, text

from campaign_connector.report import DIFF_COLUMNS
from campaign_connector.store import Store
from campaign_connector.store.results import iter_diff

#: BASE with one decision of each kind of change, stored in another processing order.
WHATIF = [
    decision("u5", "followup_email", "sent", "2026-01-07T09:00:00Z", due="2026-01-07T10:00:00Z",
             sent="2026-01-07T10:00:00Z"),                                                       # gained (new)
    decision("u1", "followup_email", "sent", "2026-01-05T09:00:00Z", due="2026-01-05T10:00:00Z",
             sent="2026-01-05T11:00:00Z", variant="a"),                                          # moved
    BASE[2],                                                                                     # same
    decision("u2", "followup_email", "suppressed", "2026-01-05T11:00:00Z", reason="quiet_hours",
             due="2026-01-05T12:00:00Z"),                                                        # changed
    decision("u3", "discount_push", "sent", "2026-01-02T08:00:00Z", due="2026-01-02T08:00:00Z",
             sent="2026-01-02T08:00:00Z", trigger="open_email", channels=("push",)),             # gained
    BASE[4],                                                                                     # same
    decision("u4", "discount_push", "suppressed", "2026-01-06T09:00:00Z", reason="frequency_cap",
             detail="cap push 3/1 week", due="2026-01-06T09:05:00Z", channels=("push", "email")),  # lost
]                                                                        # u4's pending followup: only in A


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = base_db(tmp_path)
    with Store.open(path) as store:
        store_run(store, "whatif", WHATIF)
    return path


DIFF_TABLE = """\
base → whatif: sends per campaign

 campaign        sent (base)  sent (whatif)  gained  lost  moved  changed
 ────────────────────────────────────────────────────────────────────────
 followup_email            1              2       1     0      1        2
 discount_push             1              1       1     1      0        0

Changed decisions (sent and due times are offsets from triggered_at)

 user_id  campaign        triggered_at          change   base                  whatif
 ──────────────────────────────────────────────────────────────────────────────────────────────────
 u1       followup_email  2026-01-05T09:00:00Z  moved    sent +1h              sent +2h
 u2       followup_email  2026-01-05T11:00:00Z  changed  cancelled exception,  suppressed
                                                         due +1h               quiet_hours, due +1h
 u3       discount_push   2026-01-02T08:00:00Z  gained   suppressed            sent +0
                                                         before_publish
 u4       discount_push   2026-01-06T09:00:00Z  lost     sent +5m              suppressed
                                                                               frequency_cap, due
                                                                               +5m
 u4       followup_email  2026-01-31T23:00:00Z  changed  pending, due +1d 10h  (no decision)
 u5       followup_email  2026-01-07T09:00:00Z  gained   (no decision)         sent +1h

"""


def test_diff_table_golden(db: Path) -> None:
    result = invoke(db, "diff", "base", "whatif")
    assert result.exit_code == 0, result.output
    assert text(result.stdout) == DIFF_TABLE


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_diff_of_a_run_with_itself_is_empty(db: Path, fmt: str) -> None:
    result = invoke(db, "diff", "base", "base", "--format", fmt, "--fail-on-change")
    assert result.exit_code == 0, result.output
    if fmt == "table":
        assert result.stdout == "no differences between base and base\n"
    elif fmt == "json":
        document = json.loads(result.stdout)
        assert (document["differences"], document["campaigns"], document["changes"]) == (0, [], [])
    else:
        assert result.stdout == ",".join(DIFF_COLUMNS) + "\n"


def test_fail_on_change_exits_1_when_the_runs_differ(db: Path) -> None:
    assert invoke(db, "diff", "base", "whatif", "--fail-on-change").exit_code == 1
    assert invoke(db, "diff", "base", "whatif").exit_code == 0


def test_diff_json_counts_per_campaign_and_lists_both_sides(db: Path) -> None:
    result = invoke(db, "diff", "base", "whatif", "--format", "json")
    document = json.loads(result.stdout)
    assert (document["run_a"]["name"], document["run_b"]["name"], document["differences"]) == ("base", "whatif", 6)
    assert document["campaigns"] == [
        {"campaign": "followup_email", "sent_a": 1, "sent_b": 2, "gained": 1, "lost": 0, "moved": 1, "changed": 2},
        {"campaign": "discount_push", "sent_a": 1, "sent_b": 1, "gained": 1, "lost": 1, "moved": 0, "changed": 0},
    ]
    assert [(c["change"], c["user_id"], c["campaign"]) for c in document["changes"]] == [
        ("moved", "u1", "followup_email"), ("changed", "u2", "followup_email"), ("gained", "u3", "discount_push"),
        ("lost", "u4", "discount_push"), ("changed", "u4", "followup_email"), ("gained", "u5", "followup_email"),
    ]
    lost = document["changes"][3]
    assert lost["a"] == {"status": "sent", "reason": None, "detail": None, "due_at": "2026-01-06T09:05:00Z",
                         "sent_at": "2026-01-06T09:05:00Z", "variant": None, "channels": ["push", "email"]}
    assert (lost["b"]["status"], lost["b"]["reason"], lost["b"]["detail"]) == (
        "suppressed", "frequency_cap", "cap push 3/1 week")
    assert document["changes"][5]["a"] is None and document["changes"][4]["b"] is None


def test_diff_csv_has_a_and_b_columns_and_parses_back(db: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(invoke(db, "diff", "base", "whatif", "--format", "csv").stdout)))
    assert tuple(rows[0]) == DIFF_COLUMNS
    moved = rows[0]
    assert (moved["change"], moved["a_sent_at"], moved["b_sent_at"], moved["a_channels"]) == (
        "moved", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z", "email")
    gained = rows[-1]
    assert (gained["a_status"], gained["b_status"]) == ("", "sent")


def test_diff_b_to_a_swaps_gained_and_lost(db: Path) -> None:
    document = json.loads(invoke(db, "diff", "whatif", "base", "--format", "json").stdout)
    assert {c["campaign"]: (c["gained"], c["lost"]) for c in document["campaigns"]} == {
        "followup_email": (0, 1), "discount_push": (1, 1)}


def test_diff_matches_repeated_keys_by_occurrence(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    twice = [decision("u1", "f", "sent", "2026-01-05T09:00:00Z", event="e1", sent="2026-01-05T09:00:00Z"),
             decision("u1", "f", "suppressed", "2026-01-05T09:00:00Z", event="e1", reason="already_pending")]
    with Store.open(db) as store:
        a = store_run(store, "a", twice)
        b = store_run(store, "b", twice[:1])
        assert [(r.change, r.a.status if r.a else None, r.b) for r in iter_diff(store, a.id, b.id)] == [
            ("changed", "suppressed", None)]


def test_diff_with_an_unknown_run_is_an_error(db: Path) -> None:
    result = invoke(db, "diff", "base", "nope")
    assert result.exit_code == 1
    assert "no run named 'nope'" in str(result.exception)


def test_diff_table_lists_the_first_50_changes_and_says_how_to_get_all(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    many = [decision(f"u{i:03d}", "followup_email", "sent", "2026-01-05T09:00:00Z", sent="2026-01-05T10:00:00Z")
            for i in range(60)]
    with Store.open(db) as store:
        store_run(store, "a", many)
        store_run(store, "b", many[:5])
    result = invoke(db, "diff", "a", "b", columns=120)
    assert result.exit_code == 0
    assert " u054 " in result.stdout and " u055 " not in result.stdout
    assert result.stderr == ("showing 50 of 55 rows (5 more); all of them: campaign-connector diff a b "
                             "--format csv > FILE\n")
