"""Running the command line in tests: the console script's ``main()`` in this process (the same code path as the
installed command, without the cost of starting Python), or ``python -m campaign_connector`` in a process of its
own where a test needs one (concurrency, kills, real exit codes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from campaign_connector.cli import main


class Ran(NamedTuple):
    """How a command run in this process ended (named like ``subprocess.CompletedProcess``'s fields)."""

    returncode: int
    """Exit code (0 when ``main()`` returned)."""
    stdout: str
    """What it printed on stdout."""
    stderr: str
    """What it printed on stderr."""


def cli(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Ran:
    """``campaign-connector ARGS`` through the console script's ``main()`` in this process."""
    monkeypatch.setattr(sys, "argv", ["campaign-connector", *args])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return Ran(code, out, err)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m campaign_connector ARGS`` run to its end, output captured (``env`` on top of this one's)."""
    return subprocess.run([sys.executable, "-m", "campaign_connector", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def spawn(*args: str, env: dict[str, str] | None = None, pause: float | None = None) -> subprocess.Popen[str]:
    """``python -m campaign_connector ARGS`` started, stdout and stderr piped (``env`` on top of this one's).
    With ``pause``, an import pauses that many seconds inside its transaction (``tests/paused_import.py``)."""
    return subprocess.Popen([*paused_command(pause), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def paused_command(pause: float | None) -> list[str]:
    """The command line that runs campaign-connector; with ``pause``, through ``tests/paused_import.py``."""
    if pause is None:
        return [sys.executable, "-m", "campaign_connector"]
    return [sys.executable, str(Path(__file__).with_name("paused_import.py")), str(pause)]
