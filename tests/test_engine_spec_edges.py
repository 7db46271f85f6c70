"""Engine spec: the decided edges of SPEC §4.1 "Edges", one test each, and suspected bot clicks (SPEC §3.2), which
are shown but inert.

Edges pinned elsewhere (named here so the list is whole): the order of ``outside_duration`` before
``campaign_stopped`` at trigger time (test_engine_spec_groups.py), the 33rd send of one instant refused with
``chain_depth`` (test_engine_spec_chaining.py), a Canvas row of a plain log matching ``click_alias_any_campaign``
(test_engine_spec_interactions.py).
"""

from __future__ import annotations

from pathlib import Path

import currentskit as kit
import pytest
from enginekit import (
    campaign,
    cap,
    config,
    conversion,
    ev,
    in_days,
    next_weekday,
    on,
    on_event,
    profile,
    quiet,
    replay,
    rows,
    send_window,
    source,
    user_in_bucket,
    variants,
)

from campaign_connector.config import load_config_text
from campaign_connector.importer import import_event_files, import_event_rows, import_user_rows, summary_lines
from campaign_connector.model import GlobalControlGroup, PerformedFilter, ReceivedFilter
from campaign_connector.replay import replay_warnings, run_replay
from campaign_connector.store import Store
from campaign_connector.store.results import iter_decisions

BERLIN = "Europe/Berlin"
AT = "2026-01-05T10:00:00Z"


# -- a local time that does not exist moves forward by the gap; an ambiguous one takes its first occurrence ----


@pytest.mark.parametrize(("fields", "trigger_at", "expected_sent"), [
    # 2026-03-29 is a Sunday: Berlin springs forward at 02:00, so 02:30 is 03:30 CEST = 01:30Z.
    ({"delay": in_days(1, "02:30")}, "2026-03-28T12:00:00Z", "2026-03-29T01:30:00Z"),
    ({"delay": next_weekday("sunday", "02:30")}, "2026-03-27T12:00:00Z", "2026-03-29T01:30:00Z"),
    ({"quiet_hours": quiet("22:00", "02:30")}, "2026-03-28T23:30:00Z", "2026-03-29T01:30:00Z"),
    ({"delay": "20 hours", "send_window": send_window("02:30", "05:00", next_available=True)},
     "2026-03-28T03:00:00Z", "2026-03-29T01:30:00Z"),
    # 2026-10-25: 02:30 happens twice in Berlin; the first is 02:30 CEST = 00:30Z.
    ({"delay": in_days(1, "02:30")}, "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"),
    ({"quiet_hours": quiet("22:00", "02:30")}, "2026-10-24T23:30:00Z", "2026-10-25T00:30:00Z"),
], ids=["in-days-gap", "next-weekday-gap", "quiet-end-gap", "send-window-gap", "in-days-ambiguous",
        "quiet-end-ambiguous"])
def test_local_times_in_a_dst_gap_move_forward_and_ambiguous_ones_take_the_first(fields: dict, trigger_at: str,
                                                                                  expected_sent: str) -> None:
    cfg = config(campaign("f", on_event("purchase"), **fields))
    decisions = replay(cfg, [ev(trigger_at, "purchase")], profile(timezone=BERLIN))
    assert rows(decisions, "status", "sent_at") == [("sent", expected_sent)]


# -- within: d covers [t − d, t) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "inside"), [(86_400, True), (86_399, True), (86_401, False), (0, False)],
                         ids=["exactly-d-before", "just-inside", "just-outside", "same-instant"])
@pytest.mark.parametrize("kind", ["performed", "received"])
def test_within_covers_t_minus_d_up_to_t(kind: str, before: int, inside: bool) -> None:
    trigger = 1_767_607_200  # 2026-01-05T10:00:00Z
    audience = PerformedFilter("browse", within=86_400) if kind == "performed" else ReceivedFilter("news",
                                                                                                  within=86_400)
    earlier = ev(trigger - before, "browse") if kind == "performed" else ev(trigger - before, "receive_email", "news")
    cfg = config(source("news", channels=["email"]), campaign("f", on_event("purchase"), audience=audience))
    decisions = replay(cfg, [earlier, ev(trigger, "purchase")])
    assert rows(decisions, "status", "reason") == [("sent", None) if inside else ("suppressed", "not_in_audience")]


# -- a Canvas row with a link alias matches click_alias_any_campaign, from a Currents export too ------------------


def test_a_canvas_click_from_a_currents_export_matches_click_alias_any_campaign(tmp_path: Path, store: Store) -> None:
    click = {**kit.RECORDS["users.messages.email.Click"][0], "campaign_id": None, "canvas_id": "canvas-1",
             "canvas_step_id": "step-1"}
    path = kit.write_avro(tmp_path / "click.avro", "users.messages.email.Click", [click])
    import_event_files(store, [path])
    cfg = load_config_text("""\
version: 1
campaigns:
  - {id: news, channels: [email], status: active, published_at: 2026-01-01T00:00:00Z}
  - id: any
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: click_alias_any_campaign, alias: cta}]
  - id: only_news
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: click_email_alias, campaign: news, alias: cta}]
""")
    run = run_replay(store, cfg)
    assert [(d.campaign, d.status, d.source_campaign) for d in iter_decisions(store, run.id)] == [("any", "sent", None)]


# -- at the due time, due ≥ stopped_at is campaign_stopped ---------------------------------------------------------


@pytest.mark.parametrize(("stopped_at", "expected"), [
    ("2026-01-06T10:00:00Z", ("suppressed", "campaign_stopped")),
    ("2026-01-06T10:00:00.001Z", ("sent", None)),
], ids=["due-equals-stop", "due-just-before-stop"])
def test_a_send_due_at_or_after_stopped_at_is_campaign_stopped(stopped_at: str, expected: tuple) -> None:
    cfg = config(campaign("f", on_event("purchase"), delay="1 day", stopped_at=stopped_at))
    assert rows(replay(cfg, [ev(AT, "purchase")]), "status", "reason") == [expected]


# -- not_reachable after the control bucket, before quiet hours and caps -----------------------------------------


def test_not_reachable_is_judged_after_control_and_before_quiet_hours_and_caps() -> None:
    in_control = user_in_bucket("f", 0, 50)
    not_control = user_in_bucket("f", 50, 100)
    cfg = config(source("src"), campaign("f", on_event("purchase"), control_group=50,
                                         quiet_hours=quiet("00:00", "23:59", "abort")),
                 caps=[cap("push", 1, "1 day")])
    logged = [ev("2026-01-05T09:00:00Z", "receive_push", "src"), ev(AT, "purchase")]
    unreachable = {"unsubscribed": ["push"]}
    assert rows(replay(cfg, logged, profile(in_control, **unreachable), user_id=in_control),
                "status", "reason") == [("control", None)]
    assert rows(replay(cfg, logged, profile(not_control, **unreachable), user_id=not_control),
                "status", "reason") == [("suppressed", "not_reachable")]
    assert rows(replay(cfg, logged, profile(not_control), user_id=not_control),
                "status", "reason") == [("suppressed", "quiet_hours")]


# -- variant on every row but control rows -----------------------------------------------------------------------


def test_variant_is_set_on_every_row_but_control_rows() -> None:
    user = user_in_bucket("f", 60, 100)  # variant b
    cfg = config(campaign("f", on_event("cart"), delay="1 day", exceptions=[on_event("purchase")],
                          published_at="2026-01-05T09:30:00Z", control_group=20,
                          variants=variants(("a", 40), ("b", 40)), reeligible_after="0 seconds"))
    events = [ev("2026-01-05T09:00:00Z", "cart"), ev(AT, "cart"), ev("2026-01-05T11:00:00Z", "cart"),
              ev("2026-01-05T12:00:00Z", "purchase"), ev("2026-01-05T13:00:00Z", "cart")]
    decisions = replay(cfg, events, profile(user), until="2026-01-05T14:00:00Z", user_id=user)
    assert rows(decisions, "status", "reason", "variant") == [
        ("suppressed", "before_publish", "b"), ("cancelled", "exception", "b"),
        ("suppressed", "already_pending", "b"), ("pending", None, "b")]
    control_user = user_in_bucket("f", 0, 20)
    decisions = replay(cfg, [ev(AT, "cart")], profile(control_user), user_id=control_user)
    assert rows(decisions, "status", "variant") == [("control", None)]


# -- global_control_group: true in the users file without a workspace group ---------------------------------------


def test_a_users_file_global_control_group_without_a_workspace_group_is_ignored_with_one_warning(store: Store) -> None:
    imported = import_user_rows(store, [{"user_id": "u1", "global_control_group": True},
                                        {"user_id": "u2", "global_control_group": True}, {"user_id": "u3"}])
    assert summary_lines(imported)[1:] == [
        "Warning: 2 users have global_control_group: true; it applies only in a workspace with a "
        "global_control_group, and is ignored otherwise"]
    without = config(campaign("f", on_event("purchase")))
    decisions = replay(without, [ev(AT, "purchase")], profile(global_control_group=True))
    assert rows(decisions, "status") == [("sent",)]
    assert replay_warnings(store, without) == [
        "2 users are marked global_control_group: true in the users file, but the workspace has no "
        "global_control_group: ignored (add workspace.global_control_group to use it)"]
    with_group = config(campaign("f", on_event("purchase")), gcg=GlobalControlGroup(5))
    assert replay_warnings(store, with_group) == []


# -- a send rate_limit moves past --until is pending ---------------------------------------------------------------


def test_a_send_the_rate_limit_moves_past_the_horizon_is_pending_with_its_shifted_time(store: Store) -> None:
    import_event_rows(store, [{"user_id": f"u{n}", "time": "2026-01-05T10:00:30Z", "event": "purchase"}
                              for n in range(3)])
    cfg = load_config_text("""\
version: 1
campaigns:
  - id: f
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers: [{event: purchase}]
    rate_limit: {per_minute: 2}
""")
    run = run_replay(store, cfg, until=1_767_607_259_000)  # 10:00:59Z
    got = [(d.user_id, d.status, d.sent_at, d.detail) for d in iter_decisions(store, run.id)]
    assert got == [
        ("u0", "sent", 1_767_607_230_000, "trigger 0"),
        ("u1", "sent", 1_767_607_230_000, "trigger 0"),
        ("u2", "pending", None, "trigger 0; rate limit 2/minute moved it from 2026-01-05T10:00:30Z to "
                                "2026-01-05T10:01:00Z, after the horizon"),
    ]
    assert run.counts["totals"]["pending"] == 1


# -- channels in the campaign's config order ----------------------------------------------------------------------


def test_channels_are_listed_in_the_campaigns_config_order() -> None:
    cfg = config(source("src", channels=["sms"]),
                 campaign("f", on_event("purchase"), channels=["webhook", "sms", "email", "push"]),
                 caps=[cap("sms", 1, "1 day")])
    decisions = replay(cfg, [ev("2026-01-05T09:00:00Z", "receive_sms", "src"), ev(AT, "purchase")])
    assert rows(decisions, "status", "channels") == [("sent", ("webhook", "email", "push"))]


# -- suspected bot clicks are inert -------------------------------------------------------------------------------


@pytest.mark.parametrize("flagged", [True, False], ids=["bot", "human"])
def test_a_bot_click_triggers_nothing(flagged: bool) -> None:
    cfg = config(source("news", channels=["email"]), source("text", channels=["sms"]),
                 campaign("f", on("click_email", "news")), campaign("g", on("click_sms_short_link", "text")))
    events = [ev(AT, "click_email", "news", bot=flagged), ev(AT, "click_sms_short_link", "text", bot=flagged)]
    assert rows(replay(cfg, events), "campaign", "status") == ([] if flagged else [("f", "sent"), ("g", "sent")])


@pytest.mark.parametrize("flagged", [True, False], ids=["bot", "human"])
def test_a_bot_click_cancels_nothing(flagged: bool) -> None:
    cfg = config(source("news", channels=["email"]),
                 campaign("f", on_event("cart"), delay="1 day", exceptions=[on("click_email", "news")]))
    events = [ev(AT, "cart"), ev("2026-01-05T11:00:00Z", "click_email", "news", bot=flagged)]
    assert rows(replay(cfg, events), "status") == [("sent",) if flagged else ("cancelled",)]


@pytest.mark.parametrize("flagged", [True, False], ids=["bot", "human"])
def test_a_bot_click_converts_nothing(flagged: bool) -> None:
    from enginekit import run

    cfg = config(source("news", channels=["email"]),
                 campaign("f", on_event("cart"), conversion_events=(conversion("click_sms_short_link"),)))
    events = [ev(AT, "cart"), ev("2026-01-05T11:00:00Z", "click_sms_short_link", "news", bot=flagged)]
    assert len(run(cfg, events).conversions) == (0 if flagged else 1)


@pytest.mark.parametrize("flagged", [True, False], ids=["bot", "human"])
def test_a_bot_click_does_not_count_for_performed_filters(flagged: bool) -> None:
    cfg = config(source("news", channels=["email"]),
                 campaign("f", on_event("purchase"), audience=PerformedFilter("click_email")))
    events = [ev("2026-01-05T09:00:00Z", "click_email", "news", bot=flagged), ev(AT, "purchase")]
    assert rows(replay(cfg, events), "status", "reason") == [
        ("suppressed", "not_in_audience") if flagged else ("sent", None)]


def test_explain_shows_a_bot_click_as_ignored(tmp_path: Path, store: Store) -> None:
    from campaign_connector.inspection import build_explanation
    from campaign_connector.store.runs import find_run

    path = kit.write_avro(tmp_path / "c.avro", "users.messages.email.Click", kit.RECORDS["users.messages.email.Click"])
    import_event_files(store, [path])
    cfg = load_config_text("""\
version: 1
campaigns:
  - {id: news, braze_id: camp-news, channels: [email], status: active, published_at: 2026-01-01T00:00:00Z}
  - id: f
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    reeligible_after: 0 seconds
    triggers: [{interaction: click_email, campaign: news}]
""")
    run = run_replay(store, cfg)
    assert run.counts["totals"]["sent"] == 1
    explanation = build_explanation(store, find_run(store, None), "braze-1")
    texts = [entry.text for entry in explanation.trace if entry.kind == "event"]
    assert [t.endswith("— suspected bot click, ignored") for t in texts] == [False, True]
