"""The package type-checks: mypy over campaign_connector/ with the settings in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent


def test_the_package_is_mypy_clean() -> None:
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "campaign_connector")])
    assert status == 0, stdout + stderr
