"""The consoles. Results go to stdout; progress, summaries and errors to stderr."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TextIO

from rich.console import Console

#: Progress, summaries and errors go to stderr; results go to stdout.
err = Console(stderr=True, highlight=False, emoji=False)

#: Columns of a table printed to a pipe or file, so that ids and counts stay whole in logs and CI.
PIPED_WIDTH = 160


def say(text: str, *, soft_wrap: bool = True) -> None:
    """One message on stderr, as given (no markup); ``soft_wrap=False`` folds it at the terminal's width."""
    err.print(text, markup=False, soft_wrap=soft_wrap)


def say_lines(lines: Iterable[str]) -> None:
    """Messages on stderr, one per line."""
    for line in lines:
        say(line)


def rule(title: str) -> None:
    """A titled rule across stderr (the steps of ``demo``)."""
    err.rule(title)


def table_console(out: TextIO | None = None) -> Console:
    """The console of ``report``, ``explain``, ``diff`` and ``runs`` tables: the terminal's (or $COLUMNS')
    width, else ``PIPED_WIDTH`` columns when piped, so that counts, names and ids stay whole in logs and CI (at
    Rich's default 80 columns report's sent counts were cut to "…", explain folded synthetic event ids over
    three lines, and diff cut campaign names and folded "pending" into "pendin/g")."""
    console = Console(file=out, highlight=False, emoji=False)
    return console if console.is_terminal or os.environ.get("COLUMNS") else \
        Console(file=out, highlight=False, emoji=False, width=PIPED_WIDTH)


def wide_console(*, stderr: bool = False) -> Console:
    """The console of the ``runs`` table (stdout) and ``replay``'s summary (stderr): the terminal's width, else
    ``PIPED_WIDTH`` columns whatever $COLUMNS says — whole cells, never an ellipsis."""
    if stderr and err.is_terminal:
        return err
    console = Console(stderr=stderr, highlight=False, emoji=False)
    return console if console.is_terminal else Console(stderr=stderr, highlight=False, emoji=False, width=PIPED_WIDTH)
