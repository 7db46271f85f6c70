"""The CLI surface: help, version, usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from campaign_connector import __version__
from campaign_connector.cli import app

runner = CliRunner()

COMMANDS = [
    "validate", "import", "import-users", "replay", "report", "sends", "explain", "diff", "runs",
    "demo", "generate", "schema", "test",
]


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"campaign-connector {__version__}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: campaign-connector" in result.output


def test_unknown_option_is_a_usage_error_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "campaign_connector", "runs", "--bogus"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "No such option: --bogus" in proc.stderr
    assert "Traceback" not in proc.stderr
