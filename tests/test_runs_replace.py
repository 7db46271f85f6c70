"""SPEC §5.2 "Runs": `replay --replace` replaces a run of the same name (atomically: an interrupted replacement
leaves the old run), and runs record how long they took. (The run-name rule: tests/test_run_names.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from clikit import cli
from configs import NEWS_AND_FOLLOW_UP as CONFIG

from campaign_connector.config import load_config_text
from campaign_connector.errors import StoreError
from campaign_connector.importer import import_event_rows
from campaign_connector.replay import run_replay
from campaign_connector.store import Store
from campaign_connector.store.results import count_decisions
from campaign_connector.store.runs import find_run, list_runs

ROWS = [{"user_id": f"u{i}", "time": "2026-01-05T09:00:00Z", "event": "click_email", "campaign": "news"}
        for i in range(3)]


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "cc.db")
    import_event_rows(opened, ROWS)
    yield opened  # type: ignore[misc]
    opened.close()


def test_a_taken_name_is_an_error_without_replace(store: Store) -> None:
    config = load_config_text(CONFIG, "c.yaml")
    run_replay(store, config, name="base")
    with pytest.raises(StoreError, match="exists already.*replay --replace"):
        run_replay(store, config, name="base")


def test_replace_swaps_the_run_and_its_decisions(store: Store) -> None:
    config = load_config_text(CONFIG, "c.yaml")
    old = run_replay(store, config, name="base")
    import_event_rows(store, [{"user_id": "u9", "time": "2026-01-06T09:00:00Z", "event": "click_email",
                               "campaign": "news"}])
    new = run_replay(store, config, name="base", replace=True)
    assert new.name == "base" and new.id != old.id
    assert [r.name for r in list_runs(store)] == ["base"]
    assert find_run(store, "base").id == new.id
    assert count_decisions(store, old.id) == 0
    assert count_decisions(store, new.id) == 4


def test_an_interrupted_replacement_leaves_the_old_run(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config_text(CONFIG, "c.yaml")
    old = run_replay(store, config, name="base")

    def boom(*_: object) -> set[str]:
        raise KeyboardInterrupt

    monkeypatch.setattr("campaign_connector.replay._apply_cross_user", boom)
    with pytest.raises(KeyboardInterrupt):
        run_replay(store, config, name="base", replace=True)
    assert [(r.name, r.id) for r in list_runs(store)] == [("base", old.id)]
    assert count_decisions(store, old.id) == 3


def test_a_run_records_its_duration_and_config_file_name(store: Store) -> None:
    run = run_replay(store, load_config_text(CONFIG, "configs/campaigns.yaml"), name="base")
    assert run.seconds is not None and run.seconds >= 0
    assert run.config_name == "campaigns.yaml"


def test_workers_come_from_the_stores_path(store: Store) -> None:
    run = run_replay(store, load_config_text(CONFIG, "c.yaml"), name="two", workers=2)
    assert run.options["workers"] == 2


def test_replay_replace_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cc.db"
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    with Store.open(db) as opened:
        import_event_rows(opened, ROWS)
    replay = ["replay", str(config), "--name", "base", "--db", str(db)]
    assert cli(replay, monkeypatch, capsys).returncode == 0
    again = cli(replay, monkeypatch, capsys)
    assert again.returncode == 1 and "replay --replace" in again.stderr
    assert cli([*replay, "--replace"], monkeypatch, capsys).returncode == 0
    no_name = cli(["replay", str(config), "--replace", "--db", str(db)], monkeypatch, capsys)
    assert (no_name.returncode, no_name.stderr) == (1, "Error: --replace: give the --name of the run to replace\n")
