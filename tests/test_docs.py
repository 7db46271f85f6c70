"""The README documents the whole public vocabulary, and its two opening commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from campaign_connector import vocabulary
from campaign_connector.cli import app
from campaign_connector.config.problems import PROBLEM_CODES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands() -> list[str]:
    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", commands())
def test_every_command_is_documented(name: str) -> None:
    assert f"| `{name}" in README, f"README's command table lacks {name}"


@pytest.mark.parametrize(
    "word",
    [*vocabulary.INTERACTIONS, *vocabulary.REASONS, *vocabulary.STATUSES, *vocabulary.CHANNELS,
     *vocabulary.CURRENTS_EVENTS, *PROBLEM_CODES],
)
def test_every_public_name_is_documented(word: str) -> None:
    if word.startswith("users."):  # Currents types: the README's table groups them by prefix
        prefix, name = word.rsplit(".", 1)
        assert f"`{name}`" in README or f"{name}`" in README, f"README does not map {word}"
        assert prefix.split(".app")[0] in README, f"README does not map {word}"
    else:
        assert f"`{word}`" in README, f"README does not mention {word}"


def test_decision_fields_are_documented_in_order() -> None:
    assert ", ".join(vocabulary.DECISION_FIELDS) in " ".join(README.split())


def test_readme_opens_with_the_demo_and_the_test_command_that_ci_runs() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    assert blocks[0] == "pip install . && campaign-connector demo"
    assert blocks[1] == "pip install -e '.[test]' && pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert blocks[1] in ci.splitlines()
    assert {"ruff check .", "mypy"} <= set(ci.splitlines())
