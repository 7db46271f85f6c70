"""`diff` (SPEC §5.2): each user's sends of a campaign paired in time order between two runs — unchanged,
moved, gained, lost — counted per campaign with the users gained and lost, and listed with both sides."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from reportkit import BASE, base_db, decision, invoke, store_run, text

from campaign_connector.inspection import pair_sends
from campaign_connector.report import CAMPAIGN_DIFF_KEYS, DIFF_COLUMNS
from campaign_connector.store import Store
from campaign_connector.store.results import StoredDecision

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


def _d(seq: int, status: str, sent: str | None, event: str = "e", reason: str | None = None) -> StoredDecision:
    ms = None if sent is None else int(sent) * 1000
    return StoredDecision(seq, "u", "c", status, reason, None, "t", None, f"{event}{seq}" if event == "e" else event,
                          0, ms, ms, None, ())


#: (sends in A as (status, sent_at s), in B, expected kinds in time order)
PAIRING = [
    ("same time is unchanged", [("sent", "10")], [("sent", "10")], ["unchanged"]),
    ("another time is moved", [("sent", "10")], [("sent", "20")], ["moved"]),
    ("only in B is gained", [], [("sent", "10")], ["gained"]),
    ("only in A is lost", [("sent", "10")], [], ["lost"]),
    ("equal times pair first, the rest in time order", [("sent", "10"), ("sent", "30")],
     [("sent", "30"), ("sent", "40")], ["moved", "unchanged"]),
    ("a third send is gained, not a change of the others", [("sent", "10"), ("sent", "20")],
     [("sent", "10"), ("sent", "20"), ("sent", "30")], ["unchanged", "unchanged", "gained"]),
    ("suppressed decisions are not sends", [("suppressed", None)], [("sent", "10")], ["gained"]),
    ("a decision that changed without sending is no change", [("cancelled", None)], [("suppressed", None)], []),
]


@pytest.mark.parametrize(("rule", "a", "b", "kinds"), PAIRING, ids=[case[0] for case in PAIRING])
def test_sends_pair_in_time_order_per_user_and_campaign(rule: str, a: list[tuple[str, str | None]],
                                                         b: list[tuple[str, str | None]], kinds: list[str]) -> None:
    side_a = [_d(i, status, sent) for i, (status, sent) in enumerate(a)]
    side_b = [_d(i, status, sent) for i, (status, sent) in enumerate(b)]
    assert [c.kind for c in pair_sends("u", "c", side_a, side_b)] == kinds


def test_an_unpaired_send_shows_the_other_runs_decision_on_the_same_trigger() -> None:
    a = [_d(1, "sent", "10", event="click-1")]
    b = [_d(1, "suppressed", None, event="click-1", reason="frequency_cap")]
    (change,) = pair_sends("u", "c", a, b)
    assert (change.kind, change.a.status, change.b.reason) == ("lost", "sent", "frequency_cap")  # type: ignore[union-attr]


DIFF_TABLE = """\
base → whatif: sends per campaign, paired per user

 campaign        sent (base)  sent (whatif)  gained  lost  moved  unchanged  users +  users −  conversions Δ
 ───────────────────────────────────────────────────────────────────────────────────────────────────────────
 followup_email            1              2       1     0      1          0        1        0             -1
 discount_push             1              1       1     1      0          0        1        1              0

Sends gained, lost and moved

 user_id  campaign        change  base                       whatif
 ─────────────────────────────────────────────────────────────────────────────────────
 u1       followup_email  moved   sent 2026-01-05T10:00:00Z  sent 2026-01-05T11:00:00Z
 u3       discount_push   gained  suppressed before_publish  sent 2026-01-02T08:00:00Z
 u4       discount_push   lost    sent 2026-01-06T09:05:00Z  suppressed frequency_cap
 u5       followup_email  gained  (no decision)              sent 2026-01-07T10:00:00Z

"""


def test_diff_table_golden(db: Path) -> None:
    result = invoke(db, "diff", "base", "whatif", columns=110)
    assert result.exit_code == 0, result.output
    assert text(result.stdout) == DIFF_TABLE


def test_diff_table_folds_into_records_rather_than_cut_a_word(db: Path) -> None:
    result = invoke(db, "diff", "base", "whatif", columns=60)
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    assert "campaign     : followup_email\n" in result.stdout
    assert "conversions Δ: -1\n" in result.stdout
    for line in result.stdout.splitlines():
        assert len(line.rstrip()) <= 60


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_diff_of_a_run_with_itself_is_empty(db: Path, fmt: str) -> None:
    result = invoke(db, "diff", "base", "base", "--format", fmt, "--fail-on-change")
    assert result.exit_code == 0, result.output
    if fmt == "table":
        assert result.stdout == "no differences between base and base\n"
    elif fmt == "json":
        document = json.loads(result.stdout)
        assert (document["differences"], document["changes"]) == (0, [])
        assert all(c["gained"] == c["lost"] == c["moved"] == 0 for c in document["campaigns"])
    else:
        assert result.stdout == ",".join(DIFF_COLUMNS) + "\n"


def test_fail_on_change_exits_1_when_a_send_was_gained_lost_or_moved(db: Path) -> None:
    assert invoke(db, "diff", "base", "whatif", "--fail-on-change").exit_code == 1
    assert invoke(db, "diff", "base", "whatif").exit_code == 0


def test_diff_json_counts_per_campaign_and_lists_both_sides(db: Path) -> None:
    result = invoke(db, "diff", "base", "whatif", "--format", "json")
    document = json.loads(result.stdout)
    assert (document["run_a"]["name"], document["run_b"]["name"], document["differences"]) == ("base", "whatif", 4)
    assert [list(c) for c in document["campaigns"]] == [list(CAMPAIGN_DIFF_KEYS)] * 2
    assert document["campaigns"][0] == {
        "campaign": "followup_email", "sent_a": 1, "sent_b": 2, "gained": 1, "lost": 0, "moved": 1, "unchanged": 0,
        "users_gained": 1, "users_lost": 0, "conversions_a": 1, "conversions_b": 0, "conversions_change": -1}
    assert [(c["change"], c["user_id"], c["campaign"]) for c in document["changes"]] == [
        ("moved", "u1", "followup_email"), ("gained", "u3", "discount_push"), ("lost", "u4", "discount_push"),
        ("gained", "u5", "followup_email"),
    ]
    lost = document["changes"][2]
    assert lost["a"] == {"status": "sent", "reason": None, "detail": None,
                         "trigger_event_id": "e-u4-2026-01-06T09:00:00Z", "triggered_at": "2026-01-06T09:00:00Z",
                         "due_at": "2026-01-06T09:05:00Z",
                         "sent_at": "2026-01-06T09:05:00Z", "variant": None, "channels": ["push", "email"]}
    assert (lost["b"]["status"], lost["b"]["reason"], lost["b"]["detail"]) == (
        "suppressed", "frequency_cap", "cap push 3/1 week")
    assert document["changes"][3]["a"] is None


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
    assert {c["campaign"]: (c["gained"], c["lost"], c["users_gained"], c["users_lost"])
            for c in document["campaigns"]} == {"followup_email": (0, 1, 0, 1), "discount_push": (1, 1, 1, 1)}


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--campaign", "discount_push", [("gained", "u3"), ("lost", "u4")]),
    ("--user", "u1", [("moved", "u1")]),
])
def test_diff_filters_by_campaign_and_user(db: Path, option: str, value: str, expected: list[tuple[str, str]]) -> None:
    document = json.loads(invoke(db, "diff", "base", "whatif", option, value, "--format", "json").stdout)
    assert [(c["change"], c["user_id"]) for c in document["changes"]] == expected


def test_users_gained_and_lost_count_users_whose_number_of_sends_changed(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    one = decision("u1", "f", "sent", "2026-01-05T09:00:00Z", event="e1", sent="2026-01-05T09:00:00Z")
    two = decision("u1", "f", "sent", "2026-01-06T09:00:00Z", event="e2", sent="2026-01-06T09:00:00Z")
    other = decision("u2", "f", "sent", "2026-01-06T09:00:00Z", event="e3", sent="2026-01-07T09:00:00Z")
    with Store.open(db) as store:
        store_run(store, "a", [one, two])
        store_run(store, "b", [one, other])
    document = json.loads(invoke(db, "diff", "a", "b", "--format", "json").stdout)
    (f,) = document["campaigns"]
    assert (f["unchanged"], f["lost"], f["gained"], f["users_lost"], f["users_gained"]) == (1, 1, 1, 1, 1)


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
