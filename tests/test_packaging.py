"""Packaging: every subpackage ships, the sample data and the example config are package data, and the version
is written once."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

from configs import EXAMPLE

import campaign_connector

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "campaign_connector").rglob("__init__.py")
    }
    assert on_disk <= listed, f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"


def test_sample_data_ships_the_example_config_users_see() -> None:
    shipped = files("campaign_connector.sample_data") / "campaigns.example.yaml"
    assert shipped.read_bytes() == EXAMPLE.read_bytes()


def test_the_repository_holds_one_example_config() -> None:
    """sample_data/campaigns.example.yaml links to the root file, so the two cannot drift apart."""
    assert (ROOT / "sample_data" / "campaigns.example.yaml").resolve() == EXAMPLE.resolve()


def test_the_version_is_written_once_and_installed_metadata_reads_it() -> None:
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert version("campaign-connector") == campaign_connector.__version__
