"""`sends`: a run's decisions in SPEC §4.1 order, filtered, as a terminal table, csv or jsonl, to stdout or -o."""

from __future__ import annotations

import csv
import io
import json
import types
import typing
from pathlib import Path

import pytest
from reportkit import base_db, decision, invoke, store_run, text

from campaign_connector.errors import InputError
from campaign_connector.model import Decision, StoredDecision
from campaign_connector.outputs import atomic_output
from campaign_connector.report import offset
from campaign_connector.store import Store
from campaign_connector.store.results import iter_decisions
from campaign_connector.vocabulary import DECISION_FIELDS, REASONS, STATUSES

SENDS_TABLE = """\
Decisions of run base

 user_id  campaign        status      triggered_at          due  sent  channels
 ──────────────────────────────────────────────────────────────────────────────
 u1       followup_email  sent        2026-01-05T09:00:00Z  +1h  +1h   email
 u1       followup_email  suppressed  2026-01-06T09:00:00Z             email
          not_reeligible
 u2       followup_email  cancelled   2026-01-05T11:00:00Z  +1h        email
          exception: purchase at 2026-01-05T11:30:00Z
 u2       discount_push   control     2026-01-06T08:00:00Z  +0         push

"""
"""At 120 columns fewer than 30 are left for detail beside reason: reason and detail go under their row."""

SENDS_TABLE_WIDE = """\
Decisions of run base

 user_id  campaign        status      reason          triggered_at          due  sent  channels  detail
 ─────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 u1       followup_email  sent                        2026-01-05T09:00:00Z  +1h  +1h   email
 u1       followup_email  suppressed  not_reeligible  2026-01-06T09:00:00Z             email
 u2       followup_email  cancelled   exception       2026-01-05T11:00:00Z  +1h        email     exception: purchase at
                                                                                                 2026-01-05T11:30:00Z
 u2       discount_push   control                     2026-01-06T08:00:00Z  +0         push

"""
"""At 130 columns detail is a column of its own, folded into the 33 columns left."""


def test_a_stored_decision_is_the_engines_decision_with_its_seq_in_front() -> None:
    assert StoredDecision._fields == ("seq", *Decision._fields)
    assert typing.get_type_hints(StoredDecision) == {"seq": int, **typing.get_type_hints(Decision)}


def _keys(output: str) -> list[tuple[str, str, str]]:
    return [(r["user_id"], r["campaign"], r["status"]) for r in csv.DictReader(io.StringIO(output))]


def test_sends_table_golden_shows_the_first_rows_and_says_how_to_get_all(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "sends", "--limit", "4", columns=120)
    assert result.exit_code == 0, result.output
    assert text(result.stdout) == SENDS_TABLE
    assert result.stderr == ("showing 4 of 7 rows (3 more); all of them: campaign-connector sends --run base "
                             "--format csv -o FILE\n")


def test_sends_table_gives_detail_a_column_when_30_columns_are_left_for_it(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "sends", "--limit", "4", columns=130)
    assert text(result.stdout) == SENDS_TABLE_WIDE


def test_sends_table_too_narrow_for_channels_puts_them_under_the_row_too(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "sends", "--limit", "3", columns=75)
    assert text(result.stdout).splitlines()[2:] == [
        " user_id  campaign        status      triggered_at          due  sent",
        " " + "─" * 68,
        " u1       followup_email  sent        2026-01-05T09:00:00Z  +1h  +1h",
        "          email",
        " u1       followup_email  suppressed  2026-01-06T09:00:00Z",
        "          email · not_reeligible",
        " u2       followup_email  cancelled   2026-01-05T11:00:00Z  +1h",
        "          email · exception: purchase at 2026-01-05T11:30:00Z",
        "",
    ]


def test_sends_table_note_repeats_the_filters(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "sends", "--campaign", "followup_email", "--limit", "1")
    assert "campaign-connector sends --run base --campaign followup_email --format csv -o FILE" in result.stderr


def test_sends_with_no_match_prints_no_table_and_says_so(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "sends", "--user", "nobody")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "no decisions match\n")


def test_sends_orders_by_user_then_triggered_at_then_processing_order(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    with Store.open(db) as store:
        store_run(store, "r", [
            decision("u2", "b", "sent", "2026-01-05T09:00:00Z", sent="2026-01-05T09:00:00Z"),
            decision("u1", "z", "pending", "2026-01-05T09:00:00Z", due="2026-02-05T09:00:00Z"),
            decision("u1", "a", "pending", "2026-01-05T09:00:00Z", due="2026-02-05T09:00:00Z"),
            decision("u1", "m", "pending", "2026-01-04T09:00:00Z", due="2026-02-05T09:00:00Z"),
        ])
    result = invoke(db, "sends", "--format", "csv")
    assert [(u, c) for u, c, _ in _keys(result.stdout)] == [("u1", "m"), ("u1", "z"), ("u1", "a"), ("u2", "b")]


def test_sends_csv_has_every_decision_field_in_order_and_parses_back(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "sends", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == DECISION_FIELDS
    assert len(rows) == 7
    u4_push = next(r for r in rows if r["user_id"] == "u4" and r["campaign"] == "discount_push")
    assert u4_push == {
        "run": "base", "user_id": "u4", "campaign": "discount_push", "status": "sent", "reason": "", "detail": "",
        "trigger": "click_email", "source_campaign": "newsletter", "trigger_event_id": "e-u4-2026-01-06T09:00:00Z",
        "triggered_at": "2026-01-06T09:00:00Z", "due_at": "2026-01-06T09:05:00Z", "sent_at": "2026-01-06T09:05:00Z",
        "variant": "", "channels": "push;email",
    }


def test_sends_jsonl_has_nulls_and_channel_lists_and_parses_back(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "sends", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [tuple(r) for r in records] == [DECISION_FIELDS] * 7
    cancelled = records[2]
    assert cancelled == {
        "run": "base", "user_id": "u2", "campaign": "followup_email", "status": "cancelled", "reason": "exception",
        "detail": "exception: purchase at 2026-01-05T11:30:00Z", "trigger": "click_email",
        "source_campaign": "newsletter", "trigger_event_id": "e-u2-2026-01-05T11:00:00Z",
        "triggered_at": "2026-01-05T11:00:00Z", "due_at": "2026-01-05T12:00:00Z", "sent_at": None,
        "variant": None, "channels": ["email"],
    }
    assert records[5]["channels"] == ["push", "email"]


@pytest.mark.parametrize(("options", "expected"), [
    (["--user", "u2"], [("u2", "followup_email", "cancelled"), ("u2", "discount_push", "control")]),
    (["--campaign", "discount_push"], [("u2", "discount_push", "control"), ("u3", "discount_push", "suppressed"),
                                       ("u4", "discount_push", "sent")]),
    (["--status", "sent"], [("u1", "followup_email", "sent"), ("u4", "discount_push", "sent")]),
    (["--reason", "before_publish"], [("u3", "discount_push", "suppressed")]),
    (["--since", "2026-01-06T09:00:00Z"], [("u1", "followup_email", "suppressed"), ("u4", "discount_push", "sent"),
                                           ("u4", "followup_email", "pending")]),
    (["--before", "2026-01-05T11:00:00Z"], [("u1", "followup_email", "sent"), ("u3", "discount_push", "suppressed")]),
    (["--since", "2026-01-05", "--before", "2026-01-06", "--campaign", "followup_email"],
     [("u1", "followup_email", "sent"), ("u2", "followup_email", "cancelled")]),
    (["--user", "u1", "--status", "pending"], []),
])
def test_sends_filters_combine(tmp_path: Path, options: list[str], expected: list[tuple[str, str, str]]) -> None:
    result = invoke(base_db(tmp_path), "sends", "--format", "csv", *options)
    assert result.exit_code == 0, result.output
    assert _keys(result.stdout) == expected


@pytest.mark.parametrize(("options", "message"), [
    (["--status", "delivered"], f"--status: unknown status 'delivered' (known: {', '.join(STATUSES)})"),
    (["--status", "snet"], f"--status: unknown status 'snet' (did you mean 'sent'?; known: {', '.join(STATUSES)})"),
    (["--reason", "capped"], f"--reason: unknown reason 'capped' (known: {', '.join(REASONS)})"),
    (["--campaign", "discount_psh"], "--campaign: unknown campaign 'discount_psh' (did you mean "
                                     "'discount_push'?; known: followup_email, discount_push)"),
    (["--since", "yesterday"], "--since: expected an ISO-8601 time"),
])
def test_sends_bad_filter_values_are_one_line_errors_listing_what_is_allowed(
        tmp_path: Path, options: list[str], message: str) -> None:
    result = invoke(base_db(tmp_path), "sends", *options)
    assert result.exit_code == 1
    assert isinstance(result.exception, InputError)
    assert str(result.exception).startswith(message)
    assert "\n" not in str(result.exception)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_sends_output_file_holds_exactly_what_stdout_would(tmp_path: Path, fmt: str) -> None:
    db = base_db(tmp_path)
    target = tmp_path / f"sends.{fmt}"
    result = invoke(db, "sends", "--format", fmt, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"wrote 7 decisions to {target}\n"
    assert target.read_text(encoding="utf-8") == invoke(db, "sends", "--format", fmt).stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cc.db", f"sends.{fmt}"]


@pytest.mark.parametrize(("name", "fmt"), [("out.csv", "csv"), ("out.JSONL", "jsonl"), ("out.ndjson", "jsonl")])
def test_sends_o_takes_the_format_from_the_file_name_when_none_is_given(tmp_path: Path, name: str, fmt: str) -> None:
    db = base_db(tmp_path)
    result = invoke(db, "sends", "-o", str(tmp_path / name))
    assert result.exit_code == 0, result.output
    assert (tmp_path / name).read_text(encoding="utf-8") == invoke(db, "sends", "--format", fmt).stdout


def test_sends_table_cannot_go_to_a_file(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "sends", "-o", str(tmp_path / "x.txt"))
    assert isinstance(result.exception, InputError)
    assert not (tmp_path / "x.txt").exists()


def test_sends_to_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "sends", "--format", "csv", "-o", str(tmp_path / "no" / "x.csv"))
    assert result.exit_code == 1
    assert "cannot write" in str(result.exception)


def test_a_failed_write_leaves_the_previous_file_untouched_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_output(target) as out:
        out.write("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_decisions_are_streamed_not_listed(tmp_path: Path) -> None:
    with Store.open(base_db(tmp_path)) as store:
        stream = iter_decisions(store, 1)
        assert isinstance(stream, types.GeneratorType)
        assert next(stream).user_id == "u1"


@pytest.mark.parametrize(("start", "end", "shown"), [
    (0, None, ""), (0, 0, "+0"), (0, 90_000, "+1m 30s"), (0, 3_600_000, "+1h"),
    (0, 86_400_000 + 7_200_000, "+1d 2h"), (0, 1_500, "+1s 500ms"),
])
def test_table_shows_due_and_sent_as_offsets_from_the_trigger(start: int, end: int | None, shown: str) -> None:
    assert offset(start, end) == shown


def test_sends_limit_0_shows_every_row_and_no_note(tmp_path: Path) -> None:
    result = invoke(base_db(tmp_path), "sends", "--limit", "0", columns=120)
    assert sum(line.startswith((" u1 ", " u2 ", " u3 ", " u4 ")) for line in result.stdout.splitlines()) == 7
    assert result.stderr == ""


def test_sends_jsonl_escapes_unicode_line_separators_so_every_row_is_one_line() -> None:
    from campaign_connector.report import write_sends_jsonl

    d = StoredDecision(0, "u\u2028x", "c", "sent", None, "para\u2029graph", "t", None, "e1", 0, 0, 0, None, ("push",))
    out = io.StringIO()
    assert write_sends_jsonl([d], "r", out) == 1
    text_out = out.getvalue()
    assert len(text_out.splitlines()) == 1
    record = json.loads(text_out)
    assert (record["user_id"], record["detail"]) == ("u\u2028x", "para\u2029graph")
