"""Audience filters (``all``/``any``/``not``/``attribute``/``performed``/``received``), ``where`` conditions on
event properties, and the names they refer to: campaigns (by id or braze_id) and segments."""

from __future__ import annotations

from typing import Any

from campaign_connector import model, vocabulary
from campaign_connector.config.keys import FILTER_KINDS, PERFORMED_KEYS, RECEIVED_KEYS
from campaign_connector.config.nodes import MISSING, NodeReader, describe, key_path
from campaign_connector.config.problems import one_of, suggest
from campaign_connector.config.yamlload import Node


class FilterReader(NodeReader):
    """Reads segments and filters, and resolves the campaign and segment names they use."""

    def __init__(self, file: str) -> None:
        super().__init__(file)
        self.campaign_keys: dict[str, str] = {}
        """Every id and braze_id → the campaign's id (the builder fills it before anything refers to one)."""
        self.campaign_ids: list[str] = []
        self.segment_nodes: dict[str, Node] = {}
        self.segments: dict[str, model.Filter] = {}

    def resolve_campaign(self, node: Node, path: str) -> str | None:
        """A campaign reference (id or braze_id) → the config id; unknown ones are reported."""
        value = self.text(node, path, "a campaign id")
        if value is None:
            return None
        if value in self.campaign_keys:
            return self.campaign_keys[value]
        hint = suggest(value, self.campaign_keys) or (
            f" (declared: {', '.join(self.campaign_ids)})" if 0 < len(self.campaign_ids) <= 8 else ""
        )
        self.error(node, path, "unknown-campaign", f"unknown campaign '{value}'{hint}")
        return None

    def build_segments(self, node: Node) -> None:
        """``segments:`` name → filter."""
        entries = self.mapping(node, "segments", tuple(node.value) if node.is_mapping else ())
        for name, item in (entries or {}).items():
            path = key_path("segments", name)
            self.segment_nodes[name] = item
            built = self.filter(item, path)
            if built is not None:
                self.segments[name] = built

    def filter(self, node: Node, path: str) -> model.Filter | None:
        """An audience filter: all / any / not / attribute / performed / received."""
        if not node.is_mapping:
            self.error(node, path, "wrong-type",
                       f"expected a filter ({one_of(FILTER_KINDS)}), got {describe(node)}")
            return None
        kinds = [k for k in FILTER_KINDS if k in node.value]
        if not kinds:
            first = next(iter(node.value), "")
            hint = suggest(first, FILTER_KINDS) if first else ""
            where = node.keys[first] if first else node
            self.error(where, key_path(path, first) if first else path, "bad-filter",
                       f"unknown filter '{first}'{hint}; a filter is one of {one_of(FILTER_KINDS)}" if first
                       else f"empty filter; a filter is one of {one_of(FILTER_KINDS)}")
            return None
        if len(kinds) > 1:
            self.error(node, path, "bad-filter",
                       f"one filter per mapping, got {' and '.join(kinds)} (combine them with all: [...])")
            return None
        kind = kinds[0]
        if kind in ("all", "any"):
            self.mapping(node, path, (kind,))
            items = self.sequence(node.value[kind], key_path(path, kind), "a list of filters")
            if items is None:
                return None
            if not items:
                self.error(node.value[kind], key_path(path, kind), "bad-filter", f"{kind}: needs at least one filter")
                return None
            built = [self.filter(item, key_path(key_path(path, kind), i)) for i, item in enumerate(items)]
            if any(b is None for b in built):
                return None
            parts = tuple(b for b in built if b is not None)
            return model.AllOf(parts) if kind == "all" else model.AnyOf(parts)
        if kind == "not":
            self.mapping(node, path, ("not",))
            inner = self.filter(node.value["not"], key_path(path, "not"))
            return None if inner is None else model.Not(inner)
        if kind == "attribute":
            return self.attribute_filter(node, path)
        if kind == "performed":
            return self.performed_filter(node, path)
        return self.received_filter(node, path)

    def attribute_filter(self, node: Node, path: str) -> model.AttributeFilter | None:
        """``{attribute: country, equals: US}``."""
        entries = self.mapping(node, path, ("attribute", *vocabulary.ATTRIBUTE_OPERATORS))
        if entries is None:
            return None
        name = self.text(entries["attribute"], key_path(path, "attribute"), "an attribute name")
        ops = [op for op in vocabulary.ATTRIBUTE_OPERATORS if op in entries]
        if not ops:
            self.error(node, path, "missing-key",
                       f"an attribute filter needs one of {one_of(vocabulary.ATTRIBUTE_OPERATORS)}")
            return None
        if len(ops) > 1:
            self.error(node, path, "bad-filter",
                       f"one operator per attribute filter, got {' and '.join(ops)} (combine them with all: [...])")
            return None
        op = ops[0]
        value = self.operand(entries[op], key_path(path, op), op)
        if name is None or value is MISSING:
            return None
        return model.AttributeFilter(attribute=name, op=op, value=value)

    def operand(self, node: Node, path: str, op: str) -> Any:
        """The value of an attribute or ``where`` operator: a list for ``in``, a boolean for ``exists``."""
        if op == "in":
            items = self.sequence(node, path, "a list of values")
            if items is None:
                return MISSING
            values = tuple(self.scalar(item, key_path(path, i)) for i, item in enumerate(items))
            return MISSING if MISSING in values else values
        if op == "exists":
            value = self.boolean(node, path)
            return MISSING if value is None else value
        if node.value is None:
            self.error(node, path, "wrong-type", "expected a value, got null (use exists: false for a missing one)")
            return MISSING
        return self.scalar(node, path)

    def performed_filter(self, node: Node, path: str) -> model.PerformedFilter | None:
        """``{performed: purchase, at_least: 1, at_most: 3, within: 30 days, where: {...}}``."""
        entries = self.mapping(node, path, PERFORMED_KEYS)
        if entries is None:
            return None
        event = self.event_name(entries["performed"], key_path(path, "performed"))
        at_least: int | None = 1
        if self.get(entries, "at_least"):
            at_least = self.integer(entries["at_least"], key_path(path, "at_least"), 0)
        at_most = None
        if self.get(entries, "at_most"):
            at_most = self.integer(entries["at_most"], key_path(path, "at_most"), 0)
            if at_most is not None and at_least is not None and at_most < at_least:
                self.error(entries["at_most"], key_path(path, "at_most"), "bad-value",
                           f"at_most {at_most} is less than at_least {at_least}")
                at_most = None
        within = self.duration(entries["within"], key_path(path, "within")) if self.get(entries, "within") else None
        where = self.where(entries["where"], key_path(path, "where")) if self.get(entries, "where") else ()
        if event is None or at_least is None or not self.ok(path):
            return None
        return model.PerformedFilter(event=event, at_least=at_least, at_most=at_most, within=within,
                                     where=where or ())

    def received_filter(self, node: Node, path: str) -> model.ReceivedFilter | None:
        """``{received: discount_push, within: 90 days}``."""
        entries = self.mapping(node, path, RECEIVED_KEYS)
        if entries is None:
            return None
        campaign = self.resolve_campaign(entries["received"], key_path(path, "received"))
        within = self.duration(entries["within"], key_path(path, "within")) if self.get(entries, "within") else None
        if campaign is None or not self.ok(path):
            return None
        return model.ReceivedFilter(campaign=campaign, within=within)

    def event_name(self, node: Node, path: str) -> str | None:
        """An event name counted from the log: derived interaction names are stored under their base name."""
        name = self.text(node, path, "an event name")
        if name is not None and name in vocabulary.DERIVED_EVENTS:
            base, fld, _ = vocabulary.DERIVED_EVENTS[name]
            self.error(node, path, "derived-event-name",
                       f"'{name}' is stored in the log as '{base}' with {fld} set; count '{base}' instead")
            return None
        return name

    def where(self, node: Node, path: str) -> tuple[model.PropertyFilter, ...] | None:
        """``where: {plan: gold, cart_value: {gte: 100, lt: 200}, tier: [a, b]}``.

        ``key: value`` means ``eq``, ``key: [a, b]`` means ``in``, ``key: {op: value}`` uses the operators of
        ``vocabulary.WHERE_OPERATORS`` (several in one mapping all apply).
        """
        entries = self.mapping(node, path, tuple(node.value) if node.is_mapping else (),
                               what="a mapping of property conditions")
        if entries is None:
            return None
        filters: list[model.PropertyFilter] = []
        for key, value_node in entries.items():
            item_path = key_path(path, key)
            if value_node.is_mapping:
                if not value_node.value:
                    self.error(value_node, item_path, "bad-value",
                               f"expected operators ({' '.join(vocabulary.WHERE_OPERATORS)}), got an empty mapping")
                for op, operand_node in value_node.value.items():
                    if op not in vocabulary.WHERE_OPERATORS:
                        hint = suggest(op, vocabulary.WHERE_OPERATORS) or \
                            f" (expected {one_of(vocabulary.WHERE_OPERATORS)})"
                        self.error(value_node.keys[op], key_path(item_path, op), "unknown-operator",
                                   f"unknown operator '{op}'{hint}")
                        continue
                    operand = self.operand(operand_node, key_path(item_path, op), op)
                    if operand is not MISSING:
                        filters.append(model.PropertyFilter(key=key, op=op, value=operand))
            elif value_node.is_sequence:
                operand = self.operand(value_node, item_path, "in")
                if operand is not MISSING:
                    filters.append(model.PropertyFilter(key=key, op="in", value=operand))
            else:
                operand = self.operand(value_node, item_path, "eq")
                if operand is not MISSING:
                    filters.append(model.PropertyFilter(key=key, op="eq", value=operand))
        return tuple(filters)
