"""Every shipped scenario (``scenarios/*.yaml``) runs through the real pipeline and passes.

They are the product page's use cases and the SPEC §4 rules a marketer reasons about, written as living
documentation; a failure here prints the same diff ``campaign-connector test`` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_connector.scenarios import load_scenario_file, run_file

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))


def test_scenarios_are_shipped_for_the_use_cases_and_rules() -> None:
    names = {path.stem for path in FILES}
    assert {n for n in names if n.startswith("use_case_")} >= {
        "use_case_free_shipping_discount", "use_case_email_resend_unless_opened", "use_case_abandoned_cart_push",
        "use_case_control_group_follow_up", "use_case_publish_order",
    }
    assert len([n for n in names if n.startswith("rule_")]) >= 10


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_shipped_scenario_is_documented(path: Path) -> None:
    parsed = load_scenario_file(path)
    assert parsed.problems == []
    for scenario in parsed.scenarios:
        assert len(scenario.description) > 80, f"{scenario.name}: explain the rule in a marketer's words"
        assert scenario.expect, f"{scenario.name}: state the expected decisions"


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_shipped_scenario_passes(path: Path) -> None:
    result = run_file(path)
    assert result.problems == [], "\n".join(str(p) for p in result.problems)
    failures = [f"{r.scenario.name}:\n  " + "\n  ".join(r.diff()) for r in result.results if not r.passed]
    assert not failures, "\n".join(failures)


def test_every_shipped_scenario_is_listed_in_the_scenarios_readme() -> None:
    readme = (SCENARIOS / "README.md").read_text()
    assert [path.name for path in FILES if f"]({path.name})" not in readme] == []
