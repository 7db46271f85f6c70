"""Audience filters evaluated at a moment of one user's replayed timeline (SPEC §4.1).

A filter sees the user's attributes (today's, for every past moment) and only the events strictly before
the moment: ``performed`` counts replayed events by name (logged ones the replay kept, plus synthetic ones),
``received`` reads the receipts as replayed (replay ``sent``/``control`` for a simulated campaign, logged
``receive_*`` for a source).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

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


def _count_before(times: list[int], at: int, within: int | None) -> int:
    """How many sorted times fall in ``[at − within, at)`` (or before ``at`` when ``within`` is None)."""
    end = bisect_left(times, at)
    if within is None:
        return end
    return end - bisect_left(times, at - within * 1000, 0, end)


def holds(
    node: Filter,
    at: int,
    attributes: dict[str, Any],
    performed: dict[str, tuple[list[int], list[Event]]],
    receipts: dict[str, list[int]],
) -> bool:
    """Whether the filter holds at ``at`` (ms). ``performed`` maps an event name to the times and events seen
    so far; ``receipts`` maps a campaign id to its receipt times. Look-back windows are ``[at − within, at)``."""
    if isinstance(node, AttributeFilter):
        return compare(attributes.get(node.attribute), node.op, node.value)
    if isinstance(node, AllOf):
        return all(holds(item, at, attributes, performed, receipts) for item in node.items)
    if isinstance(node, AnyOf):
        return any(holds(item, at, attributes, performed, receipts) for item in node.items)
    if isinstance(node, Not):
        return not holds(node.item, at, attributes, performed, receipts)
    if isinstance(node, PerformedFilter):
        times, events = performed.get(node.event, ([], []))
        if node.where:
            end = bisect_left(times, at)
            start = 0 if node.within is None else bisect_left(times, at - node.within * 1000, 0, end)
            count = sum(1 for e in events[start:end] if where_holds(node.where, e.properties))
        else:
            count = _count_before(times, at, node.within)
        return count >= node.at_least and (node.at_most is None or count <= node.at_most)
    if isinstance(node, ReceivedFilter):
        return _count_before(receipts.get(node.campaign, []), at, node.within) > 0
    raise TypeError(f"unknown audience filter {node!r}")
