"""SPEC §5.2 "Conversions, honestly": per-user lift of sent over control with its interval and p-value, the
sample-ratio check, and no conversion figures (null, not 0) for campaigns without conversion events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reportkit import decision, invoke, store_run, t

from campaign_connector import stats
from campaign_connector.inspection import build_report
from campaign_connector.model import Conversion
from campaign_connector.report import report_json
from campaign_connector.store import Store
from campaign_connector.store.runs import find_run

CONFIG = """\
version: 1
campaigns:
  - {id: newsletter, channels: [email], status: active, published_at: 2026-01-01T00:00:00Z}
  - id: promo
    channels: [push]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: click_email, campaign: newsletter}]
    control_group: 10
    conversion_events: [{event: purchase}]
  - id: thanks
    channels: [email]
    published_at: 2026-01-01T00:00:00Z
    triggers: [{interaction: click_email, campaign: newsletter}]
"""


def _run(store: Store, sent: int, control: int, converted_sent: int, converted_control: int,
         capped: int = 0, thanks: int = 5) -> None:
    """promo: ``sent`` users sent, ``control`` in control, ``capped`` suppressed by a cap (past the split);
    thanks (no conversion events): ``thanks`` users sent, each with a stored conversion that must not count."""
    decisions = []
    conversions = []
    at = "2026-01-05T09:00:00Z"
    for i in range(sent):
        decisions.append(decision(f"s{i:03}", "promo", "sent", at, due=at, sent=at, channels=("push",)))
        if i < converted_sent:
            conversions.append((len(decisions), Conversion(f"s{i:03}", "promo", 0, t("2026-01-06T09:00:00Z"),
                                                           f"p-s{i}", 0, False)))
    for i in range(control):
        decisions.append(decision(f"c{i:03}", "promo", "control", at, due=at, channels=("push",)))
        if i < converted_control:
            conversions.append((len(decisions), Conversion(f"c{i:03}", "promo", 0, t("2026-01-06T09:00:00Z"),
                                                           f"p-c{i}", 0, True)))
    decisions += [decision(f"f{i:03}", "promo", "suppressed", at, reason="frequency_cap", channels=("push",))
                  for i in range(capped)]
    for i in range(thanks):
        decisions.append(decision(f"t{i:03}", "thanks", "sent", at, due=at, sent=at))
        conversions.append((len(decisions), Conversion(f"t{i:03}", "thanks", 0, t("2026-01-06T09:00:00Z"),
                                                       f"p-t{i}", 0, False)))
    decisions.sort(key=lambda d: (d.user_id, d.triggered_at))
    seqs = {(d.user_id, d.campaign): n for n, d in enumerate(decisions, 1)}  # seq after sorting
    store_run(store, "r", decisions, [(seqs[c.user_id, c.campaign], c) for _, c in conversions], config_text=CONFIG)


def _report(tmp_path: Path, *args: int, **kwargs: int) -> dict:  # type: ignore[type-arg]
    db = tmp_path / "cc.db"
    with Store.open(db) as store:
        _run(store, *args, **kwargs)
        return json.loads(report_json(build_report(store, find_run(store, "r"))))


def test_lift_is_per_user_sent_over_control_with_newcombe_interval_and_p_value(tmp_path: Path) -> None:
    document = _report(tmp_path, 60, 40, 18, 6)
    promo = document["campaigns"][0]
    expected = stats.lift(18, 60, 6, 40)
    assert expected is not None
    assert list(promo["lift"]) == ["rate_sent", "rate_control", "difference", "ci95_low", "ci95_high", "p_value"]
    assert promo["lift"]["rate_sent"] == 0.3
    assert promo["lift"]["rate_control"] == 0.15
    assert promo["lift"]["ci95_low"] == pytest.approx(expected.ci95_low, rel=1e-5)
    assert promo["lift"]["ci95_high"] == pytest.approx(expected.ci95_high, rel=1e-5)
    assert promo["lift"]["p_value"] == pytest.approx(expected.p_value, rel=1e-5)


def test_sample_ratio_compares_the_control_share_with_the_configured_percent(tmp_path: Path) -> None:
    promo = _report(tmp_path, 60, 40, 18, 6, capped=20)["campaigns"][0]
    assert list(promo["sample_ratio"]) == ["expected_control", "observed_control", "p_value"]
    assert promo["sample_ratio"]["expected_control"] == 0.1
    assert promo["sample_ratio"]["observed_control"] == pytest.approx(40 / 120)  # capped users passed the split
    expected = stats.sample_ratio(40, 80, 0.1)
    assert expected is not None and expected.mismatch
    assert promo["sample_ratio"]["p_value"] == pytest.approx(expected.p_value, rel=1e-5)


def test_a_campaign_without_conversion_events_has_null_conversion_figures(tmp_path: Path) -> None:
    thanks = _report(tmp_path, 60, 40, 18, 6)["campaigns"][1]
    assert thanks["campaign"] == "thanks"
    assert (thanks["converted_sent"], thanks["converted_control"]) == (None, None)
    assert (thanks["conversion_rate_sent"], thanks["conversion_rate_control"]) == (None, None)
    assert (thanks["lift"], thanks["sample_ratio"]) == (None, None)


def test_totals_count_conversions_only_of_campaigns_with_conversion_events(tmp_path: Path) -> None:
    total = _report(tmp_path, 60, 40, 18, 6, thanks=100)["total"]
    assert total["sent"] == 160
    assert total["converted_sent"] == 18  # thanks' 100 stored conversions do not count
    assert total["conversion_rate_sent"] == 0.3  # 18 of promo's 60 sends, not of 160


def test_report_csv_has_lift_and_sample_ratio_columns_empty_where_they_do_not_apply(tmp_path: Path) -> None:
    db = tmp_path / "cc.db"
    with Store.open(db) as store:
        _run(store, 60, 40, 18, 6)
    result = invoke(db, "report", "--format", "csv")
    assert result.exit_code == 0, result.output
    header, promo, thanks = (line.split(",") for line in result.stdout.splitlines())
    row = dict(zip(header, promo, strict=True))
    assert row["lift_rate_sent"] == "0.3"
    assert row["sample_ratio_expected_control"] == "0.1"
    empty = dict(zip(header, thanks, strict=True))
    assert [empty[k] for k in ("converted_sent", "lift_p_value", "sample_ratio_p_value")] == ["", "", ""]
