"""Matching events against triggers, exceptions, conversion events and property/attribute conditions.

A trigger is compiled once into a ``Matcher`` holding only the row checks its dispatch key does not already
guarantee: the event name and the source campaign are the key of the engine's dispatch table, so most
connector triggers compile to no check at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from campaign_connector.model import ConversionEvent, Event, PropertyFilter, Trigger
from campaign_connector.vocabulary import INTERACTIONS, PURCHASE

_NUMBER_START = frozenset("0123456789+-.")


def _number(value: Any) -> float | None:
    """A value as a number when it is one or its text parses as one (booleans, ``nan`` and ``inf`` are not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if not value or value[0] not in _NUMBER_START:  # cheap: most texts are not numbers
            return None
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    """A value as the string it compares as: booleans as ``true``/``false``, whole floats without ``.0``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list):
        return any(_equal(item, expected) for item in actual)
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left == right
    return _text(actual) == _text(expected)


def compare(actual: Any, op: str, expected: Any) -> bool:
    """One condition on a property or attribute value (``None`` = absent). Numbers compare as numbers when
    both sides parse as numbers, otherwise as strings. An absent value fails every operator but
    ``exists: false`` (``not: {attribute: X, equals: V}`` is how to include users without X)."""
    if op == "exists":
        return (actual is not None) == bool(expected)
    if actual is None:
        return False
    if op in ("eq", "equals"):
        return _equal(actual, expected)
    if op in ("ne", "not_equals"):
        return not _equal(actual, expected)
    if op == "in":
        options = expected if isinstance(expected, list | tuple | set | frozenset) else [expected]
        return any(_equal(actual, option) for option in options)
    left, right = _number(actual), _number(expected)
    if left is None or right is None:
        left_text, right_text = _text(actual), _text(expected)
        return _ORDER[op](left_text, right_text)
    return _ORDER[op](left, right)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def where_holds(where: Sequence[PropertyFilter], properties: dict[str, Any] | None) -> bool:
    """Whether an event's properties meet every ``where`` condition."""
    props = properties or {}
    return all(compare(props.get(f.key), f.op, f.value) for f in where)


def product_matches(product: str, properties: dict[str, Any] | None) -> bool:
    """``purchase`` with ``product``: the event's ``product_id`` (or ``product``) property equals it."""
    props = properties or {}
    value = props.get("product_id", props.get("product"))
    return value is not None and _text(value) == product


def _present(value: Any) -> bool:
    return value is not None and value != ""


class Matcher:
    """The row checks of one trigger beyond its event name and source campaign."""

    __slots__ = ("condition", "qualifiers", "product", "where")

    def __init__(self, trigger: Trigger) -> None:
        interaction = INTERACTIONS.get(trigger.interaction) if trigger.interaction else None
        self.condition = interaction.condition if interaction else None
        self.qualifiers = trigger.qualifiers
        self.product = trigger.product if (trigger.event == PURCHASE or trigger.interaction is None) else None
        self.where = trigger.where

    @property
    def trivial(self) -> bool:
        """True when every row with the right name and campaign matches."""
        return not (self.condition or self.qualifiers or self.product or self.where)

    def matches(self, event: Event) -> bool:
        """Whether the row meets the trigger's condition, qualifiers, product and property filters."""
        condition = self.condition
        if condition is not None:
            if condition == "no_button":
                if _present(event.button_id):
                    return False
            elif condition == "has_button":
                if not _present(event.button_id):
                    return False
            elif condition == "machine_open":
                if not event.machine_open:
                    return False
            elif event.machine_open:  # not_machine_open
                return False
        for field, value in self.qualifiers:
            actual = getattr(event, field, None)
            if actual is None or _text(actual) != value:
                return False
        if self.product is not None and not product_matches(self.product, event.properties):
            return False
        return not self.where or where_holds(self.where, event.properties)


def trigger_event(trigger: Trigger) -> str:
    """The (base) event name a trigger listens to."""
    if trigger.interaction:
        return INTERACTIONS[trigger.interaction].base_event
    return trigger.event or ""


def trigger_accepts_campaign(trigger: Trigger, campaign: str | None) -> bool:
    """Whether a row of this (resolved) campaign can match: event triggers and ``click_alias_any_campaign``
    take any campaign (none included); other connector triggers only their source."""
    if not trigger.interaction:
        return True
    if INTERACTIONS[trigger.interaction].any_campaign:
        return True
    return trigger.campaign == campaign


def conversion_matches(conversion: ConversionEvent, event: Event) -> bool:
    """Whether an event is an occurrence of a conversion event."""
    if event.event != conversion.event:
        return False
    if conversion.product is not None and not product_matches(conversion.product, event.properties):
        return False
    return not conversion.where or where_holds(conversion.where, event.properties)
