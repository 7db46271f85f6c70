"""Progress bars on stderr, shown on a terminal only (a separate module: rich.progress loads only for the
commands that show one)."""

from __future__ import annotations

import time
from typing import Self

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from campaign_connector.render.console import err


class _Bar:
    """A progress bar that shows while its ``with`` block runs."""

    bar: Progress

    def __enter__(self) -> Self:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


class ImportProgress(_Bar):
    """The progress bar of ``import`` on a terminal (rows, rows/s); inactive when stderr is not one."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.active = err.is_terminal
        self.bar = Progress(TextColumn("Importing"), BarColumn(),
                            TextColumn("{task.fields[rows]:,} rows  {task.fields[rate]}"), TimeRemainingColumn(),
                            console=err, transient=True, disable=not self.active)
        self.task = self.bar.add_task("import", total=None, rows=0, rate="")

    def __call__(self, rows: int, done: int, total: int) -> None:
        rate = rows / max(time.monotonic() - self.started, 1e-6)
        self.bar.update(self.task, completed=done, total=total, rows=rows, rate=f"{rate:,.0f} rows/s")


class ReplayProgress(_Bar):
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

    def __call__(self, users: int, events: int, total: int) -> None:
        rate = users / max(time.monotonic() - self.started, 1e-6)
        self.bar.update(self.task, completed=events, total=total, users=users, rate=rate)


class DaysProgress(_Bar):
    """The progress bar of ``generate`` on a terminal (days written); inactive when piped."""

    def __init__(self, days: int) -> None:
        self.bar = Progress(console=err, transient=True, disable=not err.is_terminal)
        self.task = self.bar.add_task("Generating (days)", total=days)

    def __call__(self, done: int, total: int) -> None:
        self.bar.update(self.task, completed=done)
