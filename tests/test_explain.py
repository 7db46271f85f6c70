"""`explain`: one user's replayed timeline (the engine re-run with a trace), each stored decision in plain words,
and for each lost send what would have changed it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from configs import NEWSLETTER_WITH_HOLDOUT
from enginekit import campaign, config, on, quiet, send_window, user_in_bucket
from reportkit import decision, invoke, store_run, text
from rich.console import Console, Group

from campaign_connector.config import load_config_text
from campaign_connector.errors import StoreError
from campaign_connector.importer import import_event_rows
from campaign_connector.inspection import Explanation, what_would_change
from campaign_connector.model import StoredDecision, TraceEntry, UserConversion
from campaign_connector.replay import run_replay
from campaign_connector.report import explain_renderables
from campaign_connector.store import Store
from campaign_connector.timeutil import parse_time

CONTROL_USER = user_in_bucket("holdout_push", 0, 50, prefix="c")


def _click(user: str, time: str, event: str = "click_email", campaign: str | None = "newsletter") -> dict[str, Any]:
    return {"user_id": user, "time": time, "event": event, "campaign": campaign}


EVENTS = [
    _click("sent", "2026-01-05T09:00:00Z"),
    _click("sent", "2026-01-06T09:00:00Z"),
    _click("cancel", "2026-01-05T11:00:00Z"),
    _click("cancel", "2026-01-05T11:30:00Z", "purchase", None),
    _click("early", "2026-01-02T08:00:00Z"),
    _click(CONTROL_USER, "2026-01-05T08:00:00Z", "open_email"),
    _click("pend", "2026-01-09T23:30:00Z"),
    _click("zlast", "2026-01-10T00:00:00Z", "session_start", None),
]


@pytest.fixture()
def replayed(tmp_path: Path) -> Path:
    db = tmp_path / "cc.db"
    with Store.open(db) as store:
        import_event_rows(store, EVENTS)
        run_replay(store, load_config_text(NEWSLETTER_WITH_HOLDOUT, "campaigns.yaml"), name="r1")
    return db


@pytest.mark.parametrize(("user", "expected"), [
    ("sent", ["send of followup_email pending, due 2026-01-05T10:00:00Z",
              "sent:    2026-01-05T10:00:00Z via email",
              "suppressed: not_reeligible: the user had received the campaign and was not yet re-eligible",
              "what-if:    the user received it at 2026-01-05T10:00:00Z and the campaign has no reeligible_after"]),
    ("cancel", ["purchase", "cancelled: exception: an exception event arrived while the send was pending",
                "what-if:   it would have been sent at 2026-01-05T12:00:00Z had no exception event arrived"]),
    ("early", ["suppressed: before_publish: the interaction happened before the follow-up was published",
               "what-if:    the follow-up was published 2026-01-03T00:00:00Z; this click_email was on"]),
    (CONTROL_USER, ["enroll_in_control_group", "control: entered the control group at 2026-01-05T08:00:00Z"]),
    ("pend", ["pending: due 2026-01-10T00:30:00Z, after the run's horizon",
              "note:    still pending at the run's horizon 2026-01-10T00:00:00Z"]),
])
def test_explain_shows_the_timeline_and_each_kind_of_decision(replayed: Path, user: str,
                                                              expected: list[str]) -> None:
    result = invoke(replayed, "explain", user, columns=200)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    output = text(result.stdout)
    assert output.startswith(f"User {user} in run r1\nTimeline\n")
    for line in expected:
        assert line in output


def test_explain_campaign_keeps_that_campaigns_entries_and_with_all_events_every_event(replayed: Path) -> None:
    result = invoke(replayed, "explain", CONTROL_USER, "--campaign", "followup_email", "--all-events", columns=200)
    output = text(result.stdout)
    assert "open_email of newsletter" in output  # events, logged and synthetic, stay with --all-events
    assert "of holdout_push" not in output.replace("enroll_in_control_group of holdout_push", "")
    assert "holdout_push: control" not in output
    assert output.endswith("Decisions\n  none\n")
    assert result.stderr == f"note: user '{CONTROL_USER}' has no decisions for campaign 'followup_email' in run 'r1'\n"


def test_explain_warns_when_the_log_changed_since_the_run(replayed: Path) -> None:
    with Store.open(replayed) as store:
        import_event_rows(store, [_click("late", "2026-01-11T00:00:00Z", "session_start", None)])
    result = invoke(replayed, "explain", "sent")
    assert result.exit_code == 0
    assert result.stderr.startswith("note: the event log changed since run 'r1'")


def test_explain_an_unknown_user_is_one_line_exit_1(replayed: Path) -> None:
    result = invoke(replayed, "explain", "nobody")
    assert result.exit_code == 1
    assert isinstance(result.exception, StoreError)
    assert str(result.exception).startswith("no events or decisions for user 'nobody' in run 'r1'")


def test_explain_without_events_still_explains_stored_decisions(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    with Store.open(db) as store:
        store_run(store, "r", [decision("u1", "followup_email", "suppressed", "2026-01-02T08:00:00Z",
                                        reason="before_publish")])
    result = invoke(db, "explain", "u1")
    assert result.exit_code == 0
    assert "Timeline: no events." in result.stdout
    assert "what-if:    the follow-up was published 2026-01-03T00:00:00Z" in result.stdout


def test_explain_a_run_whose_config_no_longer_loads_shows_stored_decisions_without_hints(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    with Store.open(db) as store:
        store_run(store, "old", [decision("u1", "followup_email", "suppressed", "2026-01-02T08:00:00Z",
                                          reason="before_publish")], config_text="version: 99\n")
    result = invoke(db, "explain", "u1")
    assert result.exit_code == 0
    assert result.stderr == ("note: the config stored with run 'old' no longer loads; showing the stored "
                             "decisions only\n")
    assert "suppressed: before_publish" in result.stdout and "what-if" not in result.stdout


# --------------------------------------------------------------------------------------------------
# what would have changed it: one line per reason

RUN = type("Run", (), {"until": parse_time("2026-02-01T00:00:00Z")})()


def _d(status: str, reason: str | None = None, *, seq: int = 2, triggered: str = "2026-01-10T09:00:00Z",
       due: str | None = None, sent: str | None = None, detail: str | None = None) -> StoredDecision:
    d = decision("u1", "f", status, triggered, reason=reason, due=due, sent=sent, detail=detail)
    return StoredDecision(seq, *d)


RECEIVED = _d("sent", seq=1, triggered="2026-01-05T09:00:00Z", due="2026-01-05T10:00:00Z",
              sent="2026-01-05T10:00:00Z")


@pytest.mark.parametrize(("fields", "d", "hint"), [
    ({}, _d("suppressed", "before_publish", triggered="2025-12-30T00:00:00Z"),
     "the follow-up was published 2026-01-01T00:00:00Z; this click_email was on 2025-12-30T00:00:00Z "
     "(only interactions after publishing count)"),
    ({"end_at": "2026-01-08T00:00:00Z"}, _d("suppressed", "outside_duration"),
     "the campaign ended 2026-01-08T00:00:00Z; this click_email was on 2026-01-10T09:00:00Z"),
    ({"end_at": "2026-01-11T00:00:00Z"}, _d("suppressed", "outside_duration", due="2026-01-12T00:00:00Z"),
     "the send was due 2026-01-12T00:00:00Z, at or after the campaign's end_at 2026-01-11T00:00:00Z; a later "
     "end_at or a shorter delay would have sent it"),
    ({"stopped_at": "2026-01-09T00:00:00Z"}, _d("suppressed", "campaign_stopped"),
     "the campaign was stopped at 2026-01-09T00:00:00Z; a trigger and send before then would have counted"),
    ({"reeligible_after": "3 days"}, _d("suppressed", "not_reeligible"),
     "the user received it at 2026-01-05T10:00:00Z; reeligible_after is 3 days, so not before "
     "2026-01-08T10:00:00Z; reeligible_after: 119 hours or less would have let this trigger through"),
    ({}, _d("suppressed", "already_pending", triggered="2026-01-05T09:30:00Z"),
     "a send triggered 2026-01-05T09:00:00Z was pending until 2026-01-05T10:00:00Z (sent); a trigger after "
     "that would have scheduled another"),
    ({"send_window": send_window("09:00", "17:00")}, _d("suppressed", "outside_send_window"),
     "the send window is 09:00-17:00 user local time; a trigger and due time inside it, or "
     "send_window.next_available: true, would have sent it"),
    ({"quiet_hours": quiet("22:00", "07:00", "abort")}, _d("suppressed", "quiet_hours"),
     "it was due in quiet hours 22:00-07:00 user local time with mode abort; mode next_available would have "
     "held it until 07:00 instead"),
    ({}, _d("suppressed", "frequency_cap", detail="cap push 3/1 week"),
     "a frequency cap was full (cap push 3/1 week); a higher cap, or frequency_capping: false on this campaign, "
     "would have sent it"),
    ({"max_recipients": 100}, _d("suppressed", "max_recipients"),
     "max_recipients: 100 distinct users had been reached before this send; a higher max_recipients would "
     "have sent it"),
    ({}, _d("suppressed", "not_reachable"),
     "the user is unsubscribed from push; being reachable on one of them (users file: unsubscribed) would have "
     "sent it"),
    ({}, _d("pending", due="2026-02-03T00:00:00Z"),
     "still pending at the run's horizon 2026-02-01T00:00:00Z, due 2026-02-03T00:00:00Z; a replay with a later "
     "--until would decide it"),
    ({}, RECEIVED, None),
])
def test_what_would_have_changed_each_lost_send(fields: dict[str, Any], d: StoredDecision, hint: str | None) -> None:
    c = campaign("f", on("click_email", "newsletter"), **fields)
    assert what_would_change(d, c, [RECEIVED, d], config(c), RUN) == hint  # type: ignore[arg-type]


def test_no_hint_without_the_campaigns_config() -> None:
    assert what_would_change(_d("suppressed", "frequency_cap"), None, [], None, RUN) is None  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# the renderer, on a hand-made explanation

EXPLAIN_TEXT = """\
User u1 in run base
Timeline
 time                  kind      campaign  what happened
 2026-01-05T09:00:00Z  event     news      click_email of news
 2026-01-05T09:00:00Z  pending   f         send of f pending, due 2026-01-05T10:00:00Z (1 hour)
 2026-01-05T10:00:00Z  cap       f         cap push 1/1 day: 1 counted for f (news
                                           2026-01-05T08:00:00Z)
 2026-01-05T10:00:00Z  decision  f         f: suppressed (frequency_cap)
Decisions
1. f
   suppressed: frequency_cap: a frequency cap was reached
   trigger:    click_email of newsletter at 2026-01-05T09:00:00Z (event e1)
   due:        2026-01-05T10:00:00Z
   detail:     cap push 1/1 day
   what-if:    a higher cap would have sent it
Conversions
  2026-01-06T10:00:00Z f conversion event 0 (sent; event p1)
"""


def test_explain_renderer_golden() -> None:
    run = type("Run", (), {"name": "base"})()
    d = StoredDecision(1, *decision("u1", "f", "suppressed", "2026-01-05T09:00:00Z", reason="frequency_cap",
                                    due="2026-01-05T10:00:00Z", detail="cap push 1/1 day", event="e1"))
    at = parse_time("2026-01-05T10:00:00Z")
    trace = [
        TraceEntry(at - 3_600_000, "event", "news", "click_email of news"),
        TraceEntry(at - 3_600_000, "pending", "f", "send of f pending, due 2026-01-05T10:00:00Z (1 hour)"),
        TraceEntry(at, "cap", "f", "cap push 1/1 day: 1 counted for f (news 2026-01-05T08:00:00Z)"),
        TraceEntry(at, "decision", "f", "f: suppressed (frequency_cap)"),
    ]
    conversions = [UserConversion("f", 0, at + 86_400_000, "p1", 1, False)]
    ex = Explanation(run, "u1", None, trace, [d], conversions, {1: "a higher cap would have sent it"}, [])  # type: ignore[arg-type]
    console = Console(width=100, color_system=None, force_terminal=False, record=True, file=io.StringIO())
    console.print(Group(*explain_renderables(ex)))
    assert text(console.export_text()) == EXPLAIN_TEXT
