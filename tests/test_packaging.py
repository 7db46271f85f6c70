"""Packaging: every subpackage ships, and the sample data is importable as package data."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "campaign_connector").rglob("__init__.py")
    }
    assert on_disk <= listed, f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"


def test_sample_data_ships_with_the_example_config() -> None:
    data = files("campaign_connector.sample_data")
    assert (data / "campaigns.example.yaml").read_text().startswith(
        (ROOT / "campaigns.example.yaml").read_text()[:20]
    )
