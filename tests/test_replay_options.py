"""`replay`'s options: run names that could not be read back, and more workers than cores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from configs import NEWS_AND_FOLLOW_UP

from campaign_connector.store import Store

#: Slow: each case starts the command in a process of its own.
pytestmark = pytest.mark.slow


def replay(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "c.yaml"
    config.write_text(NEWS_AND_FOLLOW_UP, encoding="utf-8")
    db = tmp_path / "t.db"
    if not db.exists():
        Store.open(db).close()
    return subprocess.run([sys.executable, "-m", "campaign_connector", "replay", str(config), "--db", str(db), *args],
                          capture_output=True, text=True)


@pytest.mark.parametrize("name", ["", "  ", "42", "two\nlines", "x" * 201])
def test_a_run_name_that_could_not_be_read_back_is_refused(name: str, tmp_path: Path) -> None:
    proc = replay(tmp_path, "--name", name)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: --name: ") and proc.stderr.count("\n") == 1, proc.stderr


def test_more_workers_than_cores_runs_as_many_as_there_are_cores(tmp_path: Path) -> None:
    cores = os.cpu_count() or 1
    proc = replay(tmp_path, "--workers", str(cores + 5), "--name", "many")
    assert proc.returncode == 0, proc.stderr
    assert f"--workers {cores + 5}: this machine has {cores} cores; using {cores}." in proc.stderr
    assert proc.stdout.strip() == "many"
