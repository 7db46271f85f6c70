"""A small safe YAML reader that remembers where every value and key sits, for located one-line errors.

It reads YAML without its 1.1 traps: ``on``/``off``/``yes``/``no`` stay strings, an unquoted ``10:00`` is the
text ``"10:00"`` (not 600), timestamps stay text (the scenario parser reads them as times), and a duplicate
key is an error. Positions are 1-based ``(line, column)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]
"""A key path: mapping keys and list indexes from the document root."""

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
#: Values an alias-expanded document may hold before it is refused (a "billion laughs" bomb).
MAX_NODES = 100_000
#: Levels of nested mappings and lists a document may have (deeper would exhaust Python's recursion limit).
MAX_DEPTH = 50

_TOO_DEEP = f"values nested more than {MAX_DEPTH} levels deep; flatten the document"

_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+)$")


class YamlSyntaxError(ValueError):
    """Malformed YAML; ``line``/``column`` say where (1-based)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass
class Located:
    """A parsed document: plain Python values plus the position of every value and key."""

    data: Any
    """The document as dicts, lists, str, int, float, bool and None."""
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    """Key path → where its value starts."""
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    """Key path → where its key starts (for "unknown key" messages)."""
    spans: dict[Path, tuple[int, int]] = field(default_factory=dict)
    """Key path → (start offset, end offset) of its value in the text (to cut out embedded documents)."""

    def at(self, path: Path) -> tuple[int, int]:
        """Where the value at ``path`` is, else the nearest parent's position (a missing key → its mapping)."""
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), (1, 1))

    def key_at(self, path: Path) -> tuple[int, int]:
        """Where the key of ``path`` is (falls back to its value)."""
        return self.keys.get(path) or self.at(path)


def _scalar(node: yaml.ScalarNode) -> Any:
    text = node.value
    if node.style:  # quoted or block scalars are always text
        return text
    if _NULL.match(text):
        return None
    if _BOOL.match(text):
        return text.lower() == "true"
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _FLOAT.match(text):
        return float(text)
    if text in (".inf", "+.inf", ".Inf", "+.Inf"):
        return float("inf")
    if text in ("-.inf", "-.Inf"):
        return float("-inf")
    return text


def _pos(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


class _Loader(yaml.SafeLoader):
    """PyYAML's SafeLoader, refusing values nested more than ``MAX_DEPTH`` deep before its recursive composer
    runs out of stack."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise YamlSyntaxError(_TOO_DEEP, *_pos(self.peek_event().start_mark))
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self.depth -= 1


def load_located(text: str) -> Located:
    """Parse one YAML document into a ``Located``. Raises ``YamlSyntaxError`` for malformed YAML,
    duplicate keys and non-scalar keys."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = _pos(mark) if mark else (1, 1)
        raise YamlSyntaxError(f"malformed YAML: {error.problem or error.context}", line, column) from None
    except yaml.YAMLError as error:
        raise YamlSyntaxError(f"malformed YAML: {error}", 1, 1) from None
    finally:
        loader.dispose()
    located = Located(None)
    if root is None:
        return located
    located.data = _Walker(located).walk(root, ())
    return located


class _Walker:
    """Composed nodes → plain values, recording positions; refuses alias bombs and self-referring aliases."""

    def __init__(self, located: Located) -> None:
        self.located = located
        self.count = 0
        self.active: set[int] = set()

    def walk(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES or id(node) in self.active:
            line, column = _pos(node.start_mark)
            raise YamlSyntaxError("aliases expand to too many values or refer to themselves; write the values out",
                                  line, column)
        if len(path) >= MAX_DEPTH:
            raise YamlSyntaxError(_TOO_DEEP, *_pos(node.start_mark))
        self.active.add(id(node))
        try:
            return _walk(node, path, self.located, self.walk)
        finally:
            self.active.discard(id(node))


def _walk(node: yaml.Node, path: Path, located: Located, walk: Any) -> Any:
    located.values[path] = _pos(node.start_mark)
    located.spans[path] = (node.start_mark.index, node.end_mark.index)
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [walk(item, (*path, i)) for i, item in enumerate(node.value)]
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        line, column = _pos(key_node.start_mark)
        if not isinstance(key_node, yaml.ScalarNode):
            raise YamlSyntaxError("a key must be plain text", line, column)
        key = str(key_node.value)
        if key in result:
            raise YamlSyntaxError(f"duplicate key {key!r}", line, column)
        located.keys[(*path, key)] = (line, column)
        result[key] = walk(value_node, (*path, key))
    return result
