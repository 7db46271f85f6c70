"""SPEC §5.2 "Python": ``import campaign_connector`` exposes the library through ``__all__``, every name is
documented in the README's "Python API" section, and its example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import campaign_connector as cc

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.index("\n## ", start + 1)
    return README[start:end]


def test_every_name_in_all_is_importable_and_documented_in_the_readme() -> None:
    documented = set(re.findall(r"`([A-Za-z_]+)[`(]", _section("Python API")))
    for name in cc.__all__:
        assert getattr(cc, name) is not None
        assert name in documented, f"{name} is in __all__ but not in the README's Python API section"


@pytest.mark.slow
def test_importing_the_package_loads_no_library_module_until_a_name_is_used() -> None:
    code = ("import sys, campaign_connector as cc; assert 'campaign_connector.replay' not in sys.modules; "
            "cc.run_replay; assert 'campaign_connector.replay' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.slow
def test_the_readme_python_example_runs_as_written() -> None:
    code = re.search(r"```python\n(.*?)```", _section("Python API"), re.S).group(1)  # type: ignore[union-attr]
    ran = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert "'rate_sent'" in ran.stdout and "'expected_control'" in ran.stdout
    assert "'users_gained'" in ran.stdout


@pytest.mark.slow
def test_the_readme_scenario_example_passes_against_the_example_config(tmp_path: Path) -> None:
    text = re.search(r"```yaml\n(name: .*?)```", _section("Scenario tests"), re.S).group(1)  # type: ignore[union-attr]
    (tmp_path / "campaigns.example.yaml").write_text((ROOT / "campaigns.example.yaml").read_text())
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "resend.yaml").write_text(text)
    ran = subprocess.run([sys.executable, "-m", "campaign_connector", "test", "scenarios"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 passed, 0 failed" in ran.stdout


def test_decisions_come_back_as_records_and_as_an_arrow_table(tmp_path: Path) -> None:
    with cc.open_store(tmp_path / "cc.db") as store:
        cc.import_event_rows(store, [{"user_id": "u1", "time": "2026-01-05T09:00:00Z", "event": "click_email",
                                      "campaign": "news"}])
        config = cc.load_config_text(
            "version: 1\ncampaigns:\n  - {id: news, channels: [email], published_at: 2026-01-01T00:00:00Z}\n"
            "  - id: follow\n    channels: [push]\n    published_at: 2026-01-01T00:00:00Z\n"
            "    triggers: [{interaction: click_email, campaign: news}]\n", "c.yaml")
        run = cc.run_replay(store, config, name="r", workers=2)
        assert run.options["workers"] == 2  # taken from the store's file, no db_path= needed
        (record,) = cc.decisions(store, "r")
        assert (record["user_id"], record["status"], record["sent_at"]) == ("u1", "sent", "2026-01-05T09:00:00Z")
        table = cc.decisions_table(store)
        assert table.num_rows == 1
        assert str(table.schema.field("sent_at").type) == "timestamp[ms, tz=UTC]"
        assert table.column("channels").to_pylist() == [["push"]]
        assert cc.run_report_table(store).column("campaign").to_pylist() == ["follow"]
        with pytest.raises(cc.InputError, match="did you mean 'follow'"):
            cc.decisions(store, campaign="folow")
