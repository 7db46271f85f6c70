"""Problems found in a campaign file: one record per error or warning, the table of their codes, suggestions.

Every rule of SPEC §2.2 has a stable ``code``; CI jobs and the README depend on these names (add, never
rename). ``PROBLEM_CODES`` is the one table of them, with a one-line description each.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from campaign_connector.errors import ConfigError

Severity = Literal["error", "warning"]

#: Every problem code: code → (severity, one-line description). The README's table is generated from this.
PROBLEM_CODES: dict[str, tuple[Severity, str]] = {
    # reading the file
    "file-unreadable": ("error", "the file is missing, a folder, or cannot be read"),
    "database-unusable": ("error", "with --db: the database is missing, busy or not a campaign-connector database"),
    "not-text": ("error", "the file is binary or not UTF-8 text"),
    "empty-file": ("error", "the file has no YAML document"),
    "yaml-syntax": ("error", "malformed YAML"),
    "yaml-too-large": ("error", "aliases expand to too many values (a YAML bomb) or refer to themselves, or values "
                                "nest too deeply"),
    "duplicate-key": ("error", "a key appears twice in one mapping"),
    # shapes and values
    "unknown-key": ("error", "a key the campaign file does not define (with a suggestion)"),
    "missing-key": ("error", "a required key is absent (reported at its parent mapping)"),
    "wrong-type": ("error", "a value of the wrong type (text, number, list, mapping ...)"),
    "bad-version": ("error", "version is not 1"),
    "bad-value": ("error", "a value out of range or not of the allowed form"),
    "bad-duration": ("error", "not a duration like '3 days'"),
    "bad-time": ("error", "not an ISO-8601 time or epoch seconds"),
    "bad-clock": ("error", "not a clock time like \"22:00\""),
    "bad-zone": ("error", "not an IANA time zone"),
    "bad-percent": ("error", "a percentage outside 0-100"),
    "bad-id": ("error", "a campaign id that is not [a-z0-9_-]+"),
    "unknown-channel": ("error", "a channel that does not exist"),
    "unknown-status": ("error", "a campaign status that does not exist"),
    "unknown-weekday": ("error", "a weekday that does not exist"),
    "unknown-interaction": ("error", "an interaction that does not exist"),
    "unknown-operator": ("error", "a where/attribute operator that does not exist"),
    "unknown-segment": ("error", "an audience naming an undeclared segment"),
    "unknown-campaign": ("error", "a trigger, exception or received filter naming an undeclared campaign"),
    "bad-filter": ("error", "an audience filter that is not all/any/not/attribute/performed/received"),
    "bad-trigger": ("error", "a trigger or exception that needs exactly one of interaction or event"),
    "interaction-as-event": ("error", "an event trigger named like a connector interaction"),
    "derived-event-name": ("error", "a performed/conversion event named by a derived interaction, not its log name"),
    "duplicate-id": ("error", "two campaigns (or variants) with the same id or braze_id"),
    "empty-window": ("error", "quiet hours or a send window whose start equals its end"),
    "time-order": ("error", "end_at or stopped_at not after start_at"),
    "interaction-channel": ("error", "an interaction the source campaign's channels cannot produce"),
    "enroll-needs-control-group": ("error", "enroll_in_control_group on a source with no control group"),
    "in-app-connector-trigger": ("error", "an in_app campaign with a connector trigger"),
    "self-trigger": ("error", "a follow-up whose trigger names itself"),
    "exception-needs-delay": ("error", "exceptions on a campaign whose delay is immediately"),
    "session-start-trigger-and-exception": ("error", "session_start as both a trigger and an exception"),
    "multichannel-control": ("error", "a control group or variants on a multichannel campaign"),
    "variant-sum": ("error", "variants plus control group do not add up to 100"),
    "in-app-multichannel": ("error", "in_app in a multichannel campaign"),
    "in-app-delay": ("error", "an in-app campaign with a delay over 2 hours"),
    "reeligible-too-long": ("error", "reeligible_after over 720 days"),
    "too-many-conversion-events": ("error", "more than 4 conversion events"),
    "conversion-window-too-long": ("error", "a conversion window over 30 days"),
    "immediate-cycle": ("error", "a trigger cycle, all immediately and re-eligible after 0 seconds: it never ends"),
    # warnings
    "publish-order": ("warning", "a follow-up published after its source: earlier interactions never trigger it"),
    "source-not-active": ("warning", "a source campaign in draft, stopped or archived"),
    "delay-exceeds-duration": ("warning", "a delay longer than the campaign's duration: nothing can be sent"),
    "trigger-cycle": ("warning", "campaigns that trigger each other in a cycle (A → B → A)"),
    "exception-equals-trigger": ("warning", "an exception equal to a trigger: repeats restart the delay"),
    "audience-uses-trigger-event": ("warning", "an audience filter counting the trigger event, which it never sees"),
    "campaign-not-in-log": ("warning", "with --db: a referenced campaign that never appears in the event log"),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning, located in the file (1-based line and column; None for the file as a whole)."""

    file: str
    """The config's path as given."""
    line: int | None
    """1-based line of the offending key or value (a missing key: its parent mapping)."""
    column: int | None
    """1-based column."""
    path: str
    """Key path like ``campaigns[2].triggers[0].interaction`` ("" for the document or the file)."""
    code: str
    """A key of ``PROBLEM_CODES``."""
    message: str
    """What is wrong and how to fix it."""

    @property
    def severity(self) -> Severity:
        """``error`` or ``warning``, from the code table."""
        return PROBLEM_CODES[self.code][0]

    @property
    def is_error(self) -> bool:
        """Whether it fails validation without ``--strict``."""
        return self.severity == "error"

    def sort_key(self) -> tuple[int, int, str, str]:
        """File-level problems first, then by position."""
        return (self.line or 0, self.column or 0, self.path, self.message)

    def format(self) -> str:
        """``FILE:LINE:COL: key.path: message`` (warnings say ``warning:`` before the message)."""
        where = self.file if self.line is None else f"{self.file}:{self.line}:{self.column}"
        parts = [where]
        if self.path:
            parts.append(self.path)
        parts.append(self.message if self.is_error else f"warning: {self.message}")
        return ": ".join(parts)

    def as_json(self) -> dict[str, object]:
        """The ``--format json`` item."""
        return {
            "file": self.file, "line": self.line, "column": self.column, "path": self.path,
            "code": self.code, "message": self.message,
        }


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or ``""``."""
    matches = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


def one_of(choices: Iterable[str]) -> str:
    """``a, b or c`` for a message listing the allowed values."""
    items = list(choices)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


class InvalidConfig(ConfigError):
    """A campaign file with errors. ``problems`` holds every error; the message lists them one per line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(problem.format() for problem in problems))
        self.problems = problems
        """Every error found, sorted by position."""
