"""A safe YAML loader that keeps every node's position and leaves YAML 1.1's traps out.

- ``on``/``off``/``yes``/``no`` (and YAML 1.1's ``=``) stay text; only ``true``/``false`` (any case form of
  YAML 1.2) are booleans.
- ``10:00`` stays the text ``"10:00"`` (no base-60 numbers); ``010`` is 10, not octal 8; ``1_000`` is text.
- Timestamps, quoted or not, are accepted by the time fields (a plain one becomes a ``datetime``).
- Duplicate keys are problems; merge keys (``<<: *base``) work; aliases that expand to more than
  ``MAX_NODES`` values (a "billion laughs" bomb) or refer to themselves are refused, and so are values nested
  more than ``MAX_DEPTH`` levels deep (which would exhaust Python's recursion limit).

The result is a tree of ``Node``: a mapping's ``value`` is ``dict[str, Node]`` (its key nodes in ``keys``), a
sequence's ``list[Node]``, a scalar's the constructed Python value with the source text in ``text``. Each node
knows where it starts (line, column) and which characters of the text it spans (``start``/``end``), so that a
caller can cut a value out of the text, as scenario files do with an embedded campaign mapping.

It is the one YAML reader of the project: campaign files and scenario files both go through it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from campaign_connector.config.problems import Problem

#: Values an alias-expanded document may hold before it is refused as a YAML bomb.
MAX_NODES = 100_000
#: Levels of nested mappings and lists a document may have (a campaign file needs about a dozen).
MAX_DEPTH = 50

#: The messages of the ``yaml-too-large`` refusals.
TOO_MANY_VALUES = (f"the document expands to more than {MAX_NODES:,} values (aliases repeat nodes: a YAML bomb?); "
                   "write the values out")
SELF_REFERENCE = "an alias refers to the node that contains it; YAML recursion is not allowed"
TOO_DEEP = f"values nested more than {MAX_DEPTH} levels deep; flatten the document"

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__(TOO_DEEP)
        self.mark = mark


class SafeLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with YAML 1.2 core booleans and numbers (no 1.1 bool words, base 60, octal 0NN), that
    refuses values nested more than ``MAX_DEPTH`` deep before its recursive composer runs out of stack."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)  # type: ignore[return-value]  # never None once composing
        finally:
            self.depth -= 1


SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in {
        "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:value"}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
SafeLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+|\.[0-9]+[eE][-+]?[0-9]+)$"),
    list("-+0123456789."),
)


def _construct_bool(loader: SafeLoader, node: ScalarNode) -> bool:
    return str(node.value).lower() == "true"


def _construct_int(loader: SafeLoader, node: ScalarNode) -> int:
    return int(str(node.value))


SafeLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
SafeLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class Node:
    """A YAML value with its 1-based position."""

    __slots__ = ("value", "line", "column", "text", "keys", "start", "end")

    def __init__(self, value: Any, line: int, column: int, text: str = "",
                 keys: dict[str, Node] | None = None, start: int = 0, end: int = 0) -> None:
        self.value = value
        """``dict[str, Node]`` for a mapping, ``list[Node]`` for a sequence, else the scalar's Python value."""
        self.line = line
        """1-based line where the value starts."""
        self.column = column
        """1-based column where the value starts."""
        self.text = text
        """A scalar's source text (e.g. ``2026-01-05`` for a date)."""
        self.keys = keys or {}
        """A mapping's key nodes, by key (for positions of key problems)."""
        self.start = start
        """0-based offset in the text of the value's first character."""
        self.end = end
        """Offset in the text just past the value (``text[start:end]`` is its source)."""

    @property
    def is_mapping(self) -> bool:
        """Whether it is a mapping."""
        return isinstance(self.value, dict)

    @property
    def is_sequence(self) -> bool:
        """Whether it is a sequence."""
        return isinstance(self.value, list)

    def plain(self) -> Any:
        """The value as plain Python data (dicts, lists, scalars), positions dropped."""
        if isinstance(self.value, dict):
            return {key: node.plain() for key, node in self.value.items()}
        if isinstance(self.value, list):
            return [node.plain() for node in self.value]
        return self.value

    def __repr__(self) -> str:
        return f"Node({self.plain()!r}, {self.line}:{self.column})"


class _TooLarge(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node


class _Converter:
    """Composed YAML nodes → ``Node`` tree, collecting duplicate-key and value problems."""

    def __init__(self, loader: SafeLoader, path: str) -> None:
        self.loader = loader
        self.path = path
        self.count = 0
        self.depth = 0
        self.active: set[int] = set()
        self.problems: list[Problem] = []

    def problem(self, node: yaml.Node, code: str, message: str, key_path: str = "") -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.path, mark.line + 1, mark.column + 1, key_path, code, message))

    def convert(self, node: yaml.Node, key_path: str) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge(node, TOO_MANY_VALUES)
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        start, end = node.start_mark.index, node.end_mark.index
        if isinstance(node, ScalarNode):
            try:
                value = self.loader.construct_object(node, deep=True)
            except yaml.YAMLError as err:
                self.problem(node, "yaml-syntax", _problem_text(err), key_path)
                value = node.value
            except (ValueError, OverflowError):  # a date that does not exist (2026-13-45): the field's check says so
                value = node.value
            return Node(value, line, column, text=str(node.value), start=start, end=end)
        if id(node) in self.active:
            raise _TooLarge(node, SELF_REFERENCE)
        self.active.add(id(node))
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooLarge(node, TOO_DEEP)
            if isinstance(node, SequenceNode):
                items = [self.convert(item, f"{key_path}[{i}]") for i, item in enumerate(node.value)]
                return Node(items, line, column, start=start, end=end)
            assert isinstance(node, MappingNode)
            values: dict[str, Node] = {}
            keys: dict[str, Node] = {}
            merged: set[str] = set()
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    merged.update(self._merge(value_node, key_path, values, keys))
                    continue
                if not isinstance(key_node, ScalarNode):
                    self.problem(key_node, "wrong-type", "a key must be plain text, not a list or mapping", key_path)
                    continue
                key = str(key_node.value)
                child_path = f"{key_path}.{key}" if key_path else key
                if key in keys and key not in merged:
                    first = keys[key]
                    self.problem(key_node, "duplicate-key",
                                 f"duplicate key '{key}' (first at line {first.line}); keep one", child_path)
                    continue
                merged.discard(key)
                keys[key] = Node(key, key_node.start_mark.line + 1, key_node.start_mark.column + 1, text=key,
                                 start=key_node.start_mark.index, end=key_node.end_mark.index)
                values[key] = self.convert(value_node, child_path)
            return Node(values, line, column, keys=keys, start=start, end=end)
        finally:
            self.depth -= 1
            self.active.discard(id(node))

    def _merge(self, node: yaml.Node, key_path: str, values: dict[str, Node], keys: dict[str, Node]) -> set[str]:
        """Add a merge key's mappings' entries that are not set yet; return the keys it added."""
        added: set[str] = set()
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, MappingNode):
                self.problem(source, "wrong-type", "a merge key (<<) takes a mapping or a list of mappings", key_path)
                continue
            merged = self.convert(source, key_path)
            for key, value in merged.value.items():
                if key not in values:
                    values[key] = value
                    keys[key] = merged.keys[key]
                    added.add(key)
        return added


def _problem_text(err: yaml.YAMLError) -> str:
    """A one-line description of a PyYAML error, without its marks."""
    problem = getattr(err, "problem", None)
    context = getattr(err, "context", None)
    if isinstance(err, yaml.reader.ReaderError):
        return f"malformed YAML: unacceptable character #x{err.character:04x}: {err.reason}"
    if not problem:
        return f"malformed YAML: {str(err).splitlines()[0]}"
    if context and str(problem).startswith("but "):
        return f"malformed YAML: {context}, {problem}"
    return f"malformed YAML: {problem}" + (f" ({context})" if context else "")


def parse_yaml(text: str, path: str = "<config>") -> tuple[Node | None, list[Problem]]:
    """Parse YAML text into a ``Node`` tree and the problems found (syntax, duplicate keys, bombs).

    The tree is None when the text is not YAML at all, holds no document, or is refused as a bomb.
    """
    try:
        loader = SafeLoader(text)
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        return None, [Problem(path, line, column, "", "yaml-syntax", _problem_text(err))]
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            return None, [Problem(path, line, column, "", "yaml-syntax", _problem_text(err))]
        except yaml.YAMLError as err:
            return None, [Problem(path, 1, 1, "", "yaml-syntax", _problem_text(err))]
        except _TooDeep as err:
            return None, [Problem(path, err.mark.line + 1, err.mark.column + 1, "", "yaml-too-large", str(err))]
        if root is None:
            return None, [Problem(path, 1, 1, "", "empty-file",
                                  "empty file: expected a mapping with 'version: 1' and 'campaigns'")]
        converter = _Converter(loader, path)
        try:
            tree = converter.convert(root, "")
        except _TooLarge as err:
            mark = err.node.start_mark
            return None, [Problem(path, mark.line + 1, mark.column + 1, "", "yaml-too-large", str(err))]
        return tree, converter.problems
    finally:
        loader.dispose()
