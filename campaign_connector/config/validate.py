"""``validate``: check a campaign file (and optionally its event log) and render the problems.

The rules live in ``campaign_connector.config``; this module adds the event-log facts of ``--db`` and the
text and JSON renderings, and decides the outcome (``ok`` is true exactly when the exit code is 0).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from campaign_connector import model, vocabulary
from campaign_connector.config import InvalidConfig, Problem, check_config, check_config_text
from campaign_connector.store import Store
from campaign_connector.store.checks import campaigns_present, count_interactions


class StoreLogFacts:
    """``config.LogFacts`` answered from a campaign-connector database."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name

    def present(self, values: Sequence[str]) -> set[str]:
        """Which campaign values appear in the log."""
        return campaigns_present(self.store, values)

    def count_interactions(self, trigger: model.Trigger, values: Sequence[str], before: int) -> tuple[int, int]:
        """Logged rows matching a connector trigger before ``before``: (events, users)."""
        interaction = vocabulary.INTERACTIONS[trigger.name]
        return count_interactions(
            self.store, event=interaction.base_event, campaigns=values, before=before,
            fields=trigger.qualifiers, condition=interaction.condition,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of validating one file."""

    problems: list[Problem]
    """Errors and warnings, sorted by position."""
    strict: bool
    """Whether warnings fail too."""

    @property
    def errors(self) -> list[Problem]:
        """The errors."""
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        """The warnings."""
        return [p for p in self.problems if not p.is_error]

    @property
    def ok(self) -> bool:
        """True exactly when the exit code is 0."""
        return not self.errors and not (self.strict and self.warnings)

    @property
    def exit_code(self) -> int:
        """0 or 1."""
        return 0 if self.ok else 1

    def summary(self) -> str:
        """``2 errors, 1 warning`` (``no problems`` when clean)."""
        if not self.problems:
            return "no problems"
        errors, warnings = len(self.errors), len(self.warnings)
        text = f"{errors} error{'' if errors == 1 else 's'}, {warnings} warning{'' if warnings == 1 else 's'}"
        return text + (" (--strict: warnings fail)" if self.strict and warnings and not errors else "")

    def text_lines(self) -> list[str]:
        """One line per problem, in position order."""
        return [problem.format() for problem in self.problems]

    def as_json(self) -> str:
        """``{"ok", "errors", "warnings"}`` for CI annotations."""
        return json.dumps({
            "ok": self.ok,
            "errors": [p.as_json() for p in self.errors],
            "warnings": [p.as_json() for p in self.warnings],
        }, indent=2, ensure_ascii=False)


def database_unusable(db: str, error: Exception, strict: bool = False) -> Outcome:
    """The outcome of ``validate --db`` when the database cannot be used: one file-level error naming it."""
    return Outcome(problems=[Problem(db, None, None, "", "database-unusable", str(error))], strict=strict)


def validate_file(path: Path, *, store: Store | None = None, db_name: str = "", strict: bool = False,
                  text: str | None = None) -> Outcome:
    """Validate a campaign file; with ``store``, check it against the event log too. With ``text`` (standard
    input's), that is the config and ``path`` only names it in messages.

    A file that cannot be read as text is an outcome with one file-level error (not an exception).
    """
    log = StoreLogFacts(store, db_name or str(store.path)) if store is not None else None
    try:
        if text is not None:
            _, problems = check_config_text(text, str(path), log)
        else:
            _, problems = check_config(path, log)
    except InvalidConfig as err:
        problems = err.problems
    return Outcome(problems=problems, strict=strict)
