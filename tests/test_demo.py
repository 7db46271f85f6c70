"""`demo`: the whole pipeline on the packaged sample data, in a throw-away folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from campaign_connector.demo import installed_paths, next_steps


@pytest.mark.slow
def test_demo_runs_every_step_and_ends_with_commands_that_name_real_files(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "campaign_connector", "demo"], capture_output=True, text=True,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "COLUMNS": "120"})
    assert proc.returncode == 0, proc.stderr
    for step in ("1/5 Validate", "2/5 Import the sample event log", "3/5 Import the sample users",
                 "4/5 Replay", "5/5 Report", "What next"):
        assert step in proc.stderr
    assert "Stored run demo" in proc.stderr
    assert "newsletter_resend" in proc.stdout and "Sends per UTC day" in proc.stdout
    explain = next(line for line in proc.stderr.splitlines() if "campaign-connector explain" in line)
    assert "USER_ID" not in explain
    assert list(tmp_path.iterdir()) == [], "the demo leaves nothing behind in the working folder"


def test_next_steps_point_at_the_installed_sample_files() -> None:
    paths = installed_paths()
    assert set(paths) == {"config", "events", "users"}
    text = "\n".join(next_steps("u1"))
    for path in paths.values():
        assert Path(path).is_file() and path in text
    assert "explain u1" in text
