"""Run scenarios through the real pipeline: the importers and the replay driver, in an in-memory database.

Nothing here decides anything about campaigns: a scenario's users and events are imported with
``import_user_rows`` / ``import_event_rows``, replayed with ``run_replay``, and read back with
``iter_decisions`` — the same code that ``import``, ``import-users``, ``replay`` and ``sends`` run.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from campaign_connector.errors import CampaignConnectorError, InputError
from campaign_connector.scenarios.format import Problem, Scenario, ScenarioFile, load_scenario_file
from campaign_connector.scenarios.matching import Outcome, diff_lines, match
from campaign_connector.store import Store

#: File name endings of scenario files inside a folder.
SCENARIO_SUFFIXES: tuple[str, ...] = (".yaml", ".yml")


@dataclass
class ScenarioResult:
    """One scenario's verdict."""

    scenario: Scenario
    outcome: Outcome | None = None
    """The matching, when the scenario ran."""
    error: str | None = None
    """Why it could not run (bad events for the importer, a replay failure)."""

    @property
    def passed(self) -> bool:
        """Ran, and every expectation held."""
        return self.error is None and self.outcome is not None and self.outcome.passed

    def diff(self) -> list[str]:
        """What went wrong, as lines (empty when it passed)."""
        if self.error is not None:
            return self.error.splitlines()
        return diff_lines(self.outcome, self.scenario.base_time) if self.outcome else []


@dataclass
class FileResult:
    """One scenario file: its scenarios' results, or the problems that kept it from running."""

    path: str
    results: list[ScenarioResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Report:
    """Everything ``campaign-connector test`` ran."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        """Scenarios that passed."""
        return sum(r.passed for f in self.files for r in f.results)

    @property
    def failed(self) -> int:
        """Scenarios that failed or could not run, plus files that could not be read (each counts once)."""
        return sum(not r.passed for f in self.files for r in f.results) + sum(bool(f.problems) for f in self.files)

    @property
    def ok(self) -> bool:
        """Nothing failed."""
        return self.failed == 0

    def summary(self) -> str:
        """``12 passed, 1 failed``."""
        return f"{self.passed} passed, {self.failed} failed"


def scenario_files(paths: Sequence[Path]) -> list[Path]:
    """The files named, and the ``*.yaml``/``*.yml`` files under the folders named (sorted, recursively).

    A path that does not exist, or a folder without scenario files, is an ``InputError``.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SCENARIO_SUFFIXES)
            if not inside:
                raise InputError(f"{path}: no scenario files (*.yaml) in this folder")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder (give scenario files or folders of them)")
    unique: dict[Path, None] = dict.fromkeys(found)
    return list(unique)


def run_scenario(scenario: Scenario) -> ScenarioResult:
    """Import the scenario's users and events into a fresh in-memory database, replay, and match."""
    from campaign_connector.importer import BadRowsError, import_event_rows, import_user_rows
    from campaign_connector.replay import run_replay
    from campaign_connector.store.results import iter_decisions

    store = Store.open(":memory:")
    kind = "users"
    try:
        if scenario.users:
            import_user_rows(store, scenario.users, source=kind)
        kind = "events"
        if scenario.events:
            import_event_rows(store, scenario.events, source=kind)
        run = run_replay(store, scenario.config, until=scenario.until, name="scenario")
        decisions = list(iter_decisions(store, run.id))
    except BadRowsError as error:
        places = scenario.row_places.get(kind, [])
        located = [f"{places[row.line - 1]}: {row.reason}" if 0 < row.line <= len(places) else str(row)
                   for row in error.bad_rows]
        more = [f"and {error.total - len(located)} more"] if error.total > len(located) else []
        return ScenarioResult(scenario, error="\n".join([f"could not run: {error.total} bad {kind} row(s)",
                                                         *located, *more]))
    except CampaignConnectorError as error:
        return ScenarioResult(scenario, error=f"could not run: {error}")
    except Exception as error:  # a test runner reports a crash as this scenario's error, and goes on
        frame = traceback.extract_tb(error.__traceback__)[-1]
        return ScenarioResult(scenario, error=(
            f"internal error (a campaign-connector bug; please report it with this scenario): "
            f"{type(error).__name__}: {error} at {Path(frame.filename).name}:{frame.lineno}"))
    finally:
        store.conn.close()
    return ScenarioResult(scenario, match(scenario.expect, decisions, exhaustive=scenario.exhaustive))


def run_file(path: Path) -> FileResult:
    """Parse one scenario file and run each of its scenarios."""
    parsed: ScenarioFile = load_scenario_file(path)
    if parsed.problems:
        return FileResult(parsed.path, problems=parsed.problems)
    return FileResult(parsed.path, results=[run_scenario(s) for s in parsed.scenarios])


def run_paths(paths: Iterable[Path]) -> Report:
    """Run every scenario file named (folders searched for ``*.yaml``)."""
    return Report([run_file(path) for path in scenario_files(list(paths))])
