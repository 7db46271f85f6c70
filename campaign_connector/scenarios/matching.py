"""Expected decisions against actual ones: a one-to-one matching, near-misses, and a readable diff.

Each expectation must match a *distinct* actual decision on the fields it gives (a maximum bipartite matching,
so that a loose expectation never steals the only decision a stricter one could match). An expectation left
over is a **near-miss** when an unmatched decision has its user and campaign — the diff then names the fields
that differ — else it is **missing**. With ``exhaustive``, decisions nobody matched are **unexpected**.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from campaign_connector.model import Decision, StoredDecision
from campaign_connector.scenarios.format import TIME_FIELDS, Expectation
from campaign_connector.scenarios.timespec import show_time

AnyDecision = Decision | StoredDecision
"""A decision from the engine, or as stored under a run (the same fields, plus ``seq``)."""

#: The order fields are shown in.
SHOWN_FIELDS: tuple[str, ...] = (
    "user_id", "campaign", "status", "reason", "trigger", "source_campaign", "triggered_at", "due_at", "sent_at",
    "variant", "channels", "detail",
)


def actual_value(decision: AnyDecision, name: str) -> Any:
    """A decision's field, in the form expectations hold (channels sorted)."""
    value = getattr(decision, name)
    return tuple(sorted(value)) if name == "channels" else value


def field_matches(name: str, expected: Any, decision: AnyDecision) -> bool:
    """Whether one expected field holds: ``detail`` is a substring match, the rest equality."""
    actual = actual_value(decision, name)
    if name == "detail" and expected is not None:
        return actual is not None and expected in actual
    return bool(expected == actual)


def differences(expectation: Expectation, decision: AnyDecision) -> list[str]:
    """The fields of ``expectation`` that ``decision`` does not meet, in display order."""
    return [name for name in SHOWN_FIELDS
            if name in expectation.fields and not field_matches(name, expectation.fields[name], decision)]


@dataclass
class Outcome:
    """How a scenario's expectations met its decisions."""

    decisions: list[AnyDecision]
    """Every actual decision, in processing order."""
    matched: list[tuple[Expectation, AnyDecision]] = field(default_factory=list)
    near_misses: list[tuple[Expectation, AnyDecision]] = field(default_factory=list)
    missing: list[Expectation] = field(default_factory=list)
    unexpected: list[AnyDecision] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No near-miss, nothing missing, nothing unexpected."""
        return not (self.near_misses or self.missing or self.unexpected)


def match(expect: Sequence[Expectation], decisions: Sequence[AnyDecision], *, exhaustive: bool) -> Outcome:
    """Match expectations to distinct decisions; see the module docstring."""
    candidates = [[j for j, d in enumerate(decisions) if not differences(e, d)] for e in expect]
    owner: dict[int, int] = {}  # decision index → expectation index

    def augment(i: int, seen: set[int]) -> bool:
        for j in candidates[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(expect)):
        augment(i, set())
    by_expectation = {i: j for j, i in owner.items()}
    outcome = Outcome(list(decisions))
    used = set(owner)
    for i, expectation in enumerate(expect):
        if i in by_expectation:
            outcome.matched.append((expectation, decisions[by_expectation[i]]))
            continue
        near = _nearest(expectation, decisions, used)
        if near is None:
            outcome.missing.append(expectation)
        else:
            used.add(near)
            outcome.near_misses.append((expectation, decisions[near]))
    if exhaustive:
        outcome.unexpected = [d for j, d in enumerate(decisions) if j not in used]
    return outcome


def _nearest(expectation: Expectation, decisions: Sequence[AnyDecision], used: set[int]) -> int | None:
    """The unused decision with the expectation's user and campaign that differs in the fewest fields."""
    keys = [k for k in ("user_id", "campaign") if k in expectation.fields]
    if not keys:
        return None
    best: tuple[int, int] | None = None
    for j, decision in enumerate(decisions):
        if j in used or any(actual_value(decision, k) != expectation.fields[k] for k in keys):
            continue
        score = len(differences(expectation, decision))
        if best is None or score < best[0]:
            best = (score, j)
    return None if best is None else best[1]


# --------------------------------------------------------------------------------------------------
# Rendering


def _show(name: str, value: Any, base_time: int | None) -> str:
    if name in TIME_FIELDS:
        return show_time(value, base_time)
    if name == "channels":
        return "[" + ", ".join(value) + "]"
    return "null" if value is None else str(value)


def describe_expectation(expectation: Expectation, base_time: int | None) -> str:
    """``user=u1 campaign=x status=sent sent_at=2026-01-06T09:00:00Z (+1d)``."""
    return " ".join(f"{name}={_show(name, expectation.fields[name], base_time)}"
                    for name in SHOWN_FIELDS if name in expectation.fields)


def describe_decision(decision: AnyDecision, base_time: int | None) -> str:
    """A decision on one line, the null fields left out."""
    parts = []
    for name in SHOWN_FIELDS:
        value = actual_value(decision, name)
        if value is None:
            continue
        parts.append(f"{name}={_show(name, value, base_time)}")
    return " ".join(parts)


def diff_lines(outcome: Outcome, base_time: int | None) -> list[str]:
    """The readable diff of a failed scenario (empty when it passed)."""
    if outcome.passed:
        return []
    lines: list[str] = []
    for expectation, decision in outcome.near_misses:
        lines.append(f"~ expected #{expectation.index + 1} (line {expectation.line}) differs: "
                     + describe_expectation(expectation, base_time))
        lines.append("    actual: " + describe_decision(decision, base_time))
        lines.extend(f"    {name}: expected {_show(name, expectation.fields[name], base_time)}, "
                     f"got {_show(name, actual_value(decision, name), base_time)}"
                     for name in differences(expectation, decision))
    lines.extend(f"- expected #{expectation.index + 1} (line {expectation.line}) missing: "
                 + describe_expectation(expectation, base_time) for expectation in outcome.missing)
    lines.extend("+ unexpected: " + describe_decision(decision, base_time) for decision in outcome.unexpected)
    lines.append(f"actual decisions ({len(outcome.decisions)}):")
    lines.extend("    " + describe_decision(d, base_time) for d in outcome.decisions)
    if not outcome.decisions:
        lines.append("    (none: no event triggered a follow-up; check the events' names and campaigns against the "
                     "follow-ups' triggers, and their times against published_at)")
    return lines
