"""Reading a YAML ``Node`` tree's values (mappings, lists, text, numbers, times, zones), recording each problem
with its position and key path instead of stopping at the first one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from campaign_connector.config.problems import Problem, one_of, suggest
from campaign_connector.config.yamlload import Node
from campaign_connector.timeutil import (
    TimeParseError,
    is_zone,
    parse_clock,
    parse_duration,
    parse_time,
)

#: What ``scalar`` and ``operand`` return for a value that is not one (None is a value there).
MISSING = object()
#: YAML 1.1 boolean words, which this loader keeps as text (for a hint in messages).
_YAML11_BOOLS: dict[str, str] = {"yes": "true", "on": "true", "y": "true", "no": "false", "off": "false", "n": "false"}


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def key_path(parent: str, key: str | int) -> str:
    """``campaigns`` + 2 → ``campaigns[2]``; ``campaigns[2]`` + ``delay`` → ``campaigns[2].delay``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def describe(node: Node) -> str:
    """How a value reads in a message: ``a list``, ``the number 5``, ``'abc'``."""
    value = node.value
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {node.text}"
    if isinstance(value, datetime | date):
        return f"the time {node.text}"
    return repr(str(value))


class NodeReader:
    """Reads values from a ``Node`` tree and records every problem it meets; ``failed`` remembers the key paths
    whose values were bad, so later checks do not pile secondary complaints on top of them."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.failed: set[str] = set()

    # ------------------------------------------------------------------------------------------
    # recording

    def error(self, node: Node, path: str, code: str, message: str) -> None:
        """Record an error at ``node`` and remember that ``path`` failed."""
        self.problems.append(Problem(self.file, node.line, node.column, path, code, message))
        self.failed.add(path)

    def warn(self, node: Node, path: str, code: str, message: str) -> None:
        """Record a warning at ``node``."""
        self.problems.append(Problem(self.file, node.line, node.column, path, code, message))

    def ok(self, path: str) -> bool:
        """Whether nothing at or under ``path`` failed."""
        return not any(p == path or p.startswith(path + ".") or p.startswith(path + "[") for p in self.failed)

    # ------------------------------------------------------------------------------------------
    # shapes

    def mapping(self, node: Node, path: str, allowed: Sequence[str], required: Sequence[str] = (),
                what: str = "a mapping") -> dict[str, Node] | None:
        """The mapping's entries, after reporting unknown and missing keys; None when it is not a mapping."""
        if not node.is_mapping:
            self.error(node, path, "wrong-type", f"expected {what}, got {describe(node)}")
            return None
        entries: dict[str, Node] = node.value
        for key in entries:
            if key not in allowed:
                hint = suggest(key, allowed) or f" (allowed: {', '.join(allowed)})"
                self.error(node.keys[key], key_path(path, key), "unknown-key", f"unknown key '{key}'{hint}")
        for key in required:
            if entries.get(key) is None and key not in entries:
                self.error(node, path, "missing-key", f"missing required key '{key}'")
        return entries

    def sequence(self, node: Node, path: str, what: str = "a list") -> list[Node] | None:
        """The items of a list, or None (reported) when it is not one."""
        if not node.is_sequence:
            self.error(node, path, "wrong-type", f"expected {what}, got {describe(node)}")
            return None
        items: list[Node] = node.value
        return items

    @staticmethod
    def get(entries: dict[str, Node], key: str) -> Node | None:
        """An optional key's node; None when it is absent or null."""
        node = entries.get(key)
        return None if node is None or node.value is None else node

    # ------------------------------------------------------------------------------------------
    # scalars

    def text(self, node: Node, path: str, what: str = "text") -> str | None:
        """Text; numbers, dates and times are taken as written (``button: 1`` is ``"1"``)."""
        value = node.value
        if isinstance(value, str):
            if not value.strip():
                self.error(node, path, "bad-value", f"expected {what}, got an empty value")
                return None
            return value
        if isinstance(value, int | float | date) and not isinstance(value, bool):
            return node.text
        self.error(node, path, "wrong-type", f"expected {what}, got {describe(node)}")
        return None

    def integer(self, node: Node, path: str, low: int | None = None, high: int | None = None,
                what: str = "a whole number", code: str = "bad-value") -> int | None:
        """An int within [low, high]."""
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(node, path, "wrong-type", f"expected {what}, got {describe(node)}")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            self.error(node, path, code, f"expected {what} {bounds}, got {value}")
            return None
        return value

    def boolean(self, node: Node, path: str) -> bool | None:
        """true or false."""
        if not isinstance(node.value, bool):
            hint = ""
            if isinstance(node.value, str) and node.value.lower() in _YAML11_BOOLS:
                hint = f" ('{node.value}' is text here, as in YAML 1.2: write {_YAML11_BOOLS[node.value.lower()]})"
            self.error(node, path, "wrong-type", f"expected true or false, got {describe(node)}{hint}")
            return None
        return node.value

    def duration(self, node: Node, path: str) -> int | None:
        """``"3 days"`` → seconds."""
        try:
            return parse_duration(node.value)
        except TimeParseError as err:
            self.error(node, path, "bad-duration", str(err).replace(repr(node.value), describe(node)))
            return None

    def time(self, node: Node, path: str) -> int | None:
        """An ISO-8601 time (quoted or not) or epoch seconds → ms."""
        value = node.value
        if isinstance(value, datetime | date) or (isinstance(value, int | float | str) and not isinstance(value, bool)):
            try:
                return parse_time(value)
            except TimeParseError as err:
                self.error(node, path, "bad-time", str(err).replace(repr(value), repr(node.text)))
                return None
        self.error(node, path, "bad-time", f"expected a time like 2026-01-05T09:00:00Z, got {describe(node)}")
        return None

    def clock(self, node: Node, path: str) -> int | None:
        """``"22:00"`` → minutes after midnight."""
        try:
            return parse_clock(node.value)
        except TimeParseError:
            self.error(node, path, "bad-clock", f"expected a clock time like \"22:00\", got {describe(node)}")
            return None

    def zone(self, node: Node, path: str) -> str | None:
        """An IANA zone name."""
        name = self.text(node, path, "an IANA time zone")
        if name is None:
            return None
        if not is_zone(name):
            hint = suggest(name, _zone_names()) or " (use an IANA name like 'America/New_York')"
            self.error(node, path, "bad-zone", f"unknown time zone '{name}'{hint}")
            return None
        return name

    def choice(self, node: Node, path: str, choices: Sequence[str], code: str, what: str) -> str | None:
        """Text that must be one of ``choices``."""
        value = self.text(node, path, what)
        if value is None:
            return None
        if value not in choices:
            hint = suggest(value, choices) or f" (expected {one_of(choices)})"
            self.error(node, path, code, f"unknown {what} '{value}'{hint}")
            return None
        return value

    def percent(self, node: Node, path: str, integer: bool) -> float | None:
        """A percentage 0-100 (whole when ``integer``)."""
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            what = "a whole percentage" if integer else "a percentage"
            self.error(node, path, "wrong-type", f"expected {what} from 0 to 100, got {describe(node)}")
            return None
        if not 0 <= value <= 100:
            self.error(node, path, "bad-percent", f"expected a percentage from 0 to 100, got {node.text}")
            return None
        return value

    def scalar(self, node: Node, path: str) -> Any:
        """A comparison operand: text, number or boolean (dates as written); MISSING when it is not one."""
        value = node.value
        if isinstance(value, datetime | date):
            return node.text
        if isinstance(value, str | int | float | bool):
            return value
        self.error(node, path, "wrong-type", f"expected a text, number or boolean value, got {describe(node)}")
        return MISSING

    def text_list(self, node: Node, path: str, what: str) -> tuple[str, ...]:
        """A list of text items."""
        items = self.sequence(node, path, f"a list of {what}")
        values = [self.text(item, key_path(path, i), what) for i, item in enumerate(items or [])]
        return tuple(v for v in values if v is not None)
