"""Audience filters evaluated at a moment of one user's replayed timeline (SPEC §4.1).

A filter sees the user's attributes (today's, for every past moment) and only the events strictly before
the moment: ``performed`` counts replayed events by name (logged ones the replay kept, plus synthetic ones),
``received`` reads the receipts as replayed (replay ``sent``/``control`` for a simulated campaign, logged
``receive_*`` for a source). Look-back windows are ``[moment − within, moment)``.

Filters are compiled once per engine into nested closures, so evaluating one costs no type dispatch.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from campaign_connector.engine.match import compare, where_holds
from campaign_connector.model import (
    AllOf,
    AnyOf,
    AttributeFilter,
    Event,
    Filter,
    Not,
    PerformedFilter,
    ReceivedFilter,
)


class History(Protocol):
    """What a filter reads: the user's attributes and the replayed timeline so far."""

    attributes: dict[str, Any]
    """The users file's attributes."""
    performed: dict[str, tuple[list[int], list[Event]]]
    """Event name → (times, events) seen so far, in time order (only names some filter counts)."""
    receipts: dict[str, list[int]]
    """Campaign id → receipt times, in time order."""


#: A compiled filter: (moment in ms, history) → whether it holds.
Check = Callable[[int, History], bool]


def walk(node: Filter | None) -> Iterator[Filter]:
    """Every node of a filter tree."""
    if node is None:
        return
    yield node
    if isinstance(node, AllOf | AnyOf):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Not):
        yield from walk(node.item)


def _count_before(times: list[int], at: int, within_ms: int | None) -> int:
    """How many sorted times fall in ``[at − within, at)`` (or before ``at`` when there is no window)."""
    end = bisect_left(times, at)
    if within_ms is None:
        return end
    return end - bisect_left(times, at - within_ms, 0, end)


_NO_EVENTS: tuple[list[int], list[Event]] = ([], [])


def compile_filter(node: Filter) -> Check:
    """A filter tree → one closure."""
    if isinstance(node, AttributeFilter):
        name, op, value = node.attribute, node.op, node.value
        return lambda at, history: compare(history.attributes.get(name), op, value)
    if isinstance(node, AllOf):
        return _all_of(tuple(compile_filter(item) for item in node.items))
    if isinstance(node, AnyOf):
        return _any_of(tuple(compile_filter(item) for item in node.items))
    if isinstance(node, Not):
        inner = compile_filter(node.item)
        return lambda at, history: not inner(at, history)
    if isinstance(node, PerformedFilter):
        return _performed(node)
    if isinstance(node, ReceivedFilter):
        campaign = node.campaign
        within = None if node.within is None else node.within * 1000
        return lambda at, history: _count_before(history.receipts.get(campaign, []), at, within) > 0
    raise TypeError(f"unknown audience filter {node!r}")


def _all_of(items: tuple[Check, ...]) -> Check:
    """Every check holds, stopping at the first that fails (a loop: audiences are checked at every trigger and
    send, and a generator per check costs more than the checks)."""

    def check(at: int, history: History) -> bool:
        for item in items:  # noqa: SIM110 (see the docstring)
            if not item(at, history):
                return False
        return True

    return check


def _any_of(items: tuple[Check, ...]) -> Check:
    """Some check holds, stopping at the first that does."""

    def check(at: int, history: History) -> bool:
        for item in items:  # noqa: SIM110 (a loop, as in _all_of)
            if item(at, history):
                return True
        return False

    return check


def _performed(node: PerformedFilter) -> Check:
    name, where, least, most = node.event, node.where, node.at_least, node.at_most
    within = None if node.within is None else node.within * 1000

    def check(at: int, history: History) -> bool:
        times, events = history.performed.get(name, _NO_EVENTS)
        if where:
            end = bisect_left(times, at)
            start = 0 if within is None else bisect_left(times, at - within, 0, end)
            count = sum(1 for e in events[start:end] if where_holds(where, e.properties))
        else:
            count = _count_before(times, at, within)
        return count >= least and (most is None or count <= most)

    return check
