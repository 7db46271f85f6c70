"""The consoles and progress bars. Results go to stdout; progress, summaries and errors to stderr."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

#: Progress, summaries and errors go to stderr; results go to stdout.
err = Console(stderr=True, highlight=False)

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
    console = Console(file=out, highlight=False)
    return console if console.is_terminal or os.environ.get("COLUMNS") else \
        Console(file=out, highlight=False, width=PIPED_WIDTH)


def wide_console(*, stderr: bool = False) -> Console:
    """The console of the ``runs`` table (stdout) and ``replay``'s summary (stderr): the terminal's width, else
    ``PIPED_WIDTH`` columns whatever $COLUMNS says — whole cells, never an ellipsis."""
    if stderr and err.is_terminal:
        return err
    console = Console(stderr=stderr, highlight=False)
    return console if console.is_terminal else Console(stderr=stderr, highlight=False, width=PIPED_WIDTH)


class ImportProgress:
    """The progress bar of ``import`` on a terminal (rows, rows/s); inactive when stderr is not one."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.active = err.is_terminal
        self.bar = Progress(TextColumn("Importing"), BarColumn(),
                            TextColumn("{task.fields[rows]:,} rows  {task.fields[rate]}"), TimeRemainingColumn(),
                            console=err, transient=True, disable=not self.active)
        self.task = self.bar.add_task("import", total=None, rows=0, rate="")

    def __enter__(self) -> ImportProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, rows: int, done: int, total: int) -> None:
        rate = rows / max(time.monotonic() - self.started, 1e-6)
        self.bar.update(self.task, completed=done, total=total, rows=rows, rate=f"{rate:,.0f} rows/s")


class ReplayProgress:
    """The progress bar of ``replay`` on a terminal (events read, users, users/s); inactive when piped."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.active = err.is_terminal
        self.bar = Progress(
            TextColumn("replaying"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} events"),
            TextColumn("{task.fields[users]:,} users, {task.fields[rate]:,.0f} users/s"), TimeRemainingColumn(),
            console=err, transient=True, disable=not self.active,
        )
        self.task = self.bar.add_task("replay", total=0, users=0, rate=0.0)

    def __enter__(self) -> ReplayProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, users: int, events: int, total: int) -> None:
        rate = users / max(time.monotonic() - self.started, 1e-6)
        self.bar.update(self.task, completed=events, total=total, users=users, rate=rate)


class DaysProgress:
    """The progress bar of ``generate`` on a terminal (days written); inactive when piped."""

    def __init__(self, days: int) -> None:
        self.bar = Progress(console=err, transient=True, disable=not err.is_terminal)
        self.task = self.bar.add_task("Generating (days)", total=days)

    def __enter__(self) -> DaysProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, done: int, total: int) -> None:
        self.bar.update(self.task, completed=done)
