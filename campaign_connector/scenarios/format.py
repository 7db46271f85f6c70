"""Scenario files → ``Scenario`` objects, with every problem located as ``FILE:LINE:COL: key.path: message``.

The format is described in the package docstring (``campaign_connector.scenarios``). Parsing collects all
problems of a file before giving up, like ``validate`` does for campaign files, and loads each scenario's
campaign file so that a bad config, or an expectation naming a campaign the config does not have, is reported
in the same run.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from campaign_connector.config import InvalidConfig, Node, load_config, load_config_text, parse_yaml_positions
from campaign_connector.config.yamlload import SELF_REFERENCE, TOO_MANY_VALUES
from campaign_connector.errors import CampaignConnectorError
from campaign_connector.model import Config
from campaign_connector.names import known_names
from campaign_connector.scenarios.timespec import parse_when
from campaign_connector.timeutil import TimeParseError, format_time, is_zone, parse_time
from campaign_connector.vocabulary import CHANNELS, EVENT_FIELDS, REASONS, STATUSES

KeyPath = tuple[str | int, ...]
"""A key path: mapping keys and list indexes from the document root."""

#: How scenario files word the YAML loader's alias refusals (a bomb, or an alias inside itself).
ALIAS_REFUSAL = "aliases expand to too many values or refer to themselves; write the values out"

#: Keys of one scenario (also allowed at the top of a file with ``scenarios:``, as defaults for its items).
SCENARIO_KEYS: tuple[str, ...] = (
    "name", "description", "config", "base_time", "users", "events", "until", "expect", "exhaustive",
)
#: Keys of a file's top level.
FILE_KEYS: tuple[str, ...] = (*SCENARIO_KEYS, "scenarios")
#: Keys of one expected decision. ``user`` is short for ``user_id``.
EXPECT_KEYS: tuple[str, ...] = (
    "user", "user_id", "campaign", "status", "reason", "detail", "trigger", "source_campaign",
    "triggered_at", "due_at", "sent_at", "variant", "channels",
)
#: Expected-decision fields that are times (absolute or relative to base_time).
TIME_FIELDS: tuple[str, ...] = ("triggered_at", "due_at", "sent_at")
#: Keys of a users row besides attributes (any other key is an attribute, as in the users file).
USER_FIELDS: tuple[str, ...] = ("user_id", "timezone", "global_control_group", "unsubscribed")


class Problem(NamedTuple):
    """One located problem in a scenario file."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


@dataclass(frozen=True)
class Expectation:
    """One expected decision: the fields given, normalised (times in ms, channels sorted)."""

    index: int
    """0-based position in ``expect``."""
    line: int
    """Line in the scenario file."""
    fields: dict[str, Any]
    """Decision field name (``user_id``, ``campaign``, ``status`` ...) → expected value."""


@dataclass(frozen=True)
class Scenario:
    """One runnable scenario."""

    name: str
    """``name``, else the file's stem (with ``#N`` for items of a ``scenarios:`` list)."""
    file: str
    """The scenario file, as given."""
    line: int
    """Where the scenario starts in the file."""
    description: str
    """What the scenario shows, in marketer words."""
    config: Config
    """The campaign file it runs."""
    base_time: int | None
    """ms; what relative times count from."""
    users: list[dict[str, Any]] = field(default_factory=list)
    """Users-file rows."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """Event-log rows (times already absolute ISO-8601)."""
    until: int | None = None
    """Replay horizon, ms; None = the replay's default (the last event)."""
    expect: list[Expectation] = field(default_factory=list)
    """Expected decisions."""
    exhaustive: bool = False
    """No decisions other than the expected ones."""
    row_places: dict[str, list[str]] = field(default_factory=dict)
    """``"users"``/``"events"`` → each row's ``FILE:LINE:COL: key.path`` (to locate the importers' bad rows)."""


@dataclass
class ScenarioFile:
    """A parsed file: its scenarios, or the problems that stop it from running."""

    path: str
    scenarios: list[Scenario] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """`` (did you mean 'x'?)`` for a close match, else the list of allowed words."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (allowed: {', '.join(choices)})"


def key_path(path: KeyPath) -> str:
    """``("scenarios", 1, "expect", 0, "status")`` → ``scenarios[1].expect[0].status``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Document:
    """A scenario file's YAML: plain data, and where each value and key is by key path."""

    def __init__(self, root: Node | None) -> None:
        self.root = root
        self.data = _plain(root) if root is not None else None
        """The document as dicts, lists, str, int, float, bool and None; times stay text."""

    def node(self, path: KeyPath) -> Node | None:
        """The node at ``path``, or None when a part of it is missing."""
        node = self.root
        for part in path:
            if node is None:
                return None
            children = node.value
            if isinstance(part, int):
                node = children[part] if isinstance(children, list) and part < len(children) else None
            else:
                node = children.get(part) if isinstance(children, dict) else None
        return node

    def at(self, path: KeyPath) -> tuple[int, int]:
        """Where the value at ``path`` is, else the nearest parent's position (a missing key → its mapping)."""
        while path:
            node = self.node(path)
            if node is not None:
                return node.line, node.column
            path = path[:-1]
        return (self.root.line, self.root.column) if self.root is not None else (1, 1)

    def key_at(self, path: KeyPath) -> tuple[int, int]:
        """Where the key of ``path`` is (falls back to its value)."""
        parent = self.node(path[:-1]) if path else None
        key = parent.keys.get(path[-1]) if parent is not None and isinstance(path[-1], str) else None
        return (key.line, key.column) if key is not None else self.at(path)


def _plain(node: Node) -> Any:
    """A node as plain data; a time stays its text (scenario times are read by ``parse_when``)."""
    if node.is_mapping:
        return {key: _plain(child) for key, child in node.value.items()}
    if node.is_sequence:
        return [_plain(child) for child in node.value]
    return node.text if isinstance(node.value, date) else node.value


class _Parser:
    """Walks one located document, collecting problems."""

    def __init__(self, file: str, text: str, doc: _Document) -> None:
        self.file = file
        self.text = text
        self.doc = doc
        self.problems: list[Problem] = []
        self.configs: dict[KeyPath | str, Config | None] = {}

    def problem(self, path: KeyPath, message: str, *, at_key: bool = False) -> None:
        line, column = self.doc.key_at(path) if at_key else self.doc.at(path)
        self.problems.append(Problem(self.file, line, column, key_path(path), message))

    def check_keys(self, mapping: dict[str, Any], path: KeyPath, allowed: tuple[str, ...], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem((*path, key), f"unknown key in {what}{suggest(key, allowed)}", at_key=True)

    # ---------------------------------------------------------------------------------------------
    def parse(self) -> list[Scenario]:
        data = self.doc.data
        if not isinstance(data, dict):
            self.problem((), "a scenario file is a mapping with config, events and expect (see `scenarios/`)")
            return []
        self.check_keys(data, (), FILE_KEYS, "a scenario file")
        stem = Path(self.file).stem
        if "scenarios" not in data:
            scenario = self.scenario(data, (), stem)
            return [scenario] if scenario else []
        items = data["scenarios"]
        if "expect" in data:
            self.problem(("expect",), "with a scenarios: list, put expect inside each item", at_key=True)
        if not isinstance(items, list) or not items:
            self.problem(("scenarios",), "expected a non-empty list of scenarios")
            return []
        shared = [key for key in SCENARIO_KEYS if key not in ("expect", "name")]
        defaults = {key: value for key, value in data.items() if key in shared}
        title = data["name"] if isinstance(data.get("name"), str) and data["name"].strip() else stem
        result = []
        for i, item in enumerate(items):
            path: KeyPath = ("scenarios", i)
            if not isinstance(item, dict):
                self.problem(path, "expected a mapping (a scenario with events and expect)")
                continue
            self.check_keys(item, path, SCENARIO_KEYS, "a scenario")
            merged = {**defaults, **item}
            scenario = self.scenario(merged, path, f"{title.strip()} #{i + 1}", own=item)
            if scenario:
                result.append(scenario)
        return result

    def scenario(
        self, data: dict[str, Any], path: KeyPath, default_name: str, own: dict[str, Any] | None = None
    ) -> Scenario | None:
        """One scenario; keys not in ``own`` come from the file's top level (their problems point there)."""
        own = data if own is None else own

        def where(key: str) -> KeyPath:
            return (*path, key) if key in own else (key,)

        before = len(self.problems)
        name = data.get("name", default_name)
        if not isinstance(name, str) or not name.strip():
            self.problem(where("name"), "expected a non-empty text")
        description = data.get("description") or ""
        if not isinstance(description, str):
            self.problem(where("description"), "expected a text")
            description = ""
        base_time = None
        if data.get("base_time") is not None:
            try:
                base_time = parse_time(data["base_time"])
            except TimeParseError as error:
                self.problem(where("base_time"), str(error))
        config = None
        if "config" not in data:
            self.problem((*path, "config"), "missing (a campaign file path relative to this file, or a mapping)")
        else:
            config = self.config(data["config"], where("config"))
        users = self.users(data.get("users"), where("users"))
        events = self.events(data.get("events"), where("events"), base_time, config)
        until = None
        if data.get("until") is not None:
            until = self.when(data["until"], where("until"), base_time)
        exhaustive = data.get("exhaustive", False)
        if not isinstance(exhaustive, bool):
            self.problem(where("exhaustive"), "expected true or false")
        if "expect" not in data:
            self.problem((*path, "expect"), "missing (a list of expected decisions; [] with exhaustive: true "
                         "means no decisions at all)")
        expect = self.expectations(data.get("expect"), where("expect"), base_time, config)
        if len(self.problems) > before or config is None:
            return None
        line = self.doc.at(path)[0] if path else 1
        places = {kind: [self.place((*where(kind), i)) for i in range(len(rows))]
                  for kind, rows in (("users", users), ("events", events))}
        return Scenario(
            name=str(name).strip(), file=self.file, line=line, description=" ".join(description.split()),
            config=config, base_time=base_time, users=users, events=events, until=until, expect=expect,
            exhaustive=bool(exhaustive), row_places=places,
        )

    def place(self, path: KeyPath) -> str:
        """``FILE:LINE:COL: key.path`` of a value."""
        line, column = self.doc.at(path)
        return f"{self.file}:{line}:{column}: {key_path(path)}"

    def when(self, value: Any, path: KeyPath, base_time: int | None) -> int | None:
        try:
            return parse_when(value, base_time)
        except TimeParseError as error:
            self.problem(path, str(error))
            return None

    # ---------------------------------------------------------------------------------------------
    def config(self, value: Any, path: KeyPath) -> Config | None:
        """Load the campaign file (path relative to the scenario file, or an embedded mapping)."""
        cache_key: KeyPath | str = str(value) if isinstance(value, str) else path
        if cache_key in self.configs:
            return self.configs[cache_key]
        config: Config | None = None
        try:
            if isinstance(value, str):
                target = Path(self.file).parent / value
                if not target.is_file():
                    self.problem(path, f"no campaign file at {target} (the path is relative to the scenario file)")
                else:
                    config = load_config(target)
            elif isinstance(value, dict) and (node := self.doc.node(path)) is not None:
                # Pad the embedded mapping so that the loader's positions are the scenario file's positions.
                text = "\n" * (node.line - 1) + " " * (node.column - 1) + self.text[node.start:node.end] + "\n"
                config = load_config_text(text, self.file)
            else:
                self.problem(path, "expected a campaign file path or an embedded campaign mapping")
        except CampaignConnectorError as error:
            self.config_problems(error, path)
        self.configs[cache_key] = config
        return config

    def config_problems(self, error: CampaignConnectorError, path: KeyPath) -> None:
        """A config's problems, as lines of their own (an embedded config's are already in this file)."""
        problems = getattr(error, "problems", None)
        if not problems:
            line, column = self.doc.at(path)
            self.problems.append(Problem(self.file, line, column, key_path(path), str(error)))
            return
        embedded = isinstance(self.doc.data, dict) and not isinstance(self._value(path), str)
        prefix = key_path(path) + "." if embedded else ""
        for p in problems:
            inner = p.path or ""
            self.problems.append(Problem(
                p.file, p.line or 1, p.column or 1,
                prefix + inner if inner else key_path(path) if embedded else "", p.message,
            ))

    def _value(self, path: KeyPath) -> Any:
        value: Any = self.doc.data
        for part in path:
            value = value[part]
        return value

    # ---------------------------------------------------------------------------------------------
    def users(self, rows: Any, path: KeyPath) -> list[dict[str, Any]]:
        if rows is None:
            return []
        if not isinstance(rows, list):
            self.problem(path, "expected a list of users rows ({user_id: u1, timezone: Europe/Berlin, ...})")
            return []
        result = []
        for i, row in enumerate(rows):
            row_path = (*path, i)
            if not isinstance(row, dict):
                self.problem(row_path, "expected a mapping with user_id (and timezone, attributes ...)")
                continue
            out = dict(row)
            if not isinstance(row.get("user_id"), str | int) or not str(row.get("user_id")).strip():
                self.problem((*row_path, "user_id"), "missing or empty (every users row needs a user_id)")
            else:
                out["user_id"] = str(row["user_id"])
            zone = row.get("timezone")
            if zone is not None and (not isinstance(zone, str) or not is_zone(zone)):
                self.problem((*row_path, "timezone"), f"unknown time zone {zone!r} (use an IANA name like "
                             "'America/New_York')")
            unsub = row.get("unsubscribed")
            if isinstance(unsub, list):
                for j, channel in enumerate(unsub):
                    if channel not in CHANNELS:
                        self.problem((*row_path, "unsubscribed", j),
                                     f"unknown channel {channel!r}{suggest(str(channel), CHANNELS)}")
                out["unsubscribed"] = ";".join(str(c) for c in unsub)
            gcg = row.get("global_control_group")
            if gcg is not None and not isinstance(gcg, bool):
                self.problem((*row_path, "global_control_group"), "expected true or false")
            for key, value in row.items():
                if isinstance(value, dict | list) and key != "unsubscribed":
                    self.problem((*row_path, key), "an attribute is a single value (text, number, true/false)")
            result.append(out)
        return result

    def events(self, rows: Any, path: KeyPath, base_time: int | None,
               config: Config | None = None) -> list[dict[str, Any]]:
        if rows is None:
            return []
        if not isinstance(rows, list):
            self.problem(path, "expected a list of event rows ({user_id: u1, time: +1h, event: ...})")
            return []
        result = []
        for i, row in enumerate(rows):
            row_path = (*path, i)
            if not isinstance(row, dict):
                self.problem(row_path, "expected a mapping with user_id, time and event")
                continue
            self.check_keys(row, row_path, EVENT_FIELDS, "an event row")
            out = dict(row)
            for key in ("user_id", "event"):
                value = row.get(key)
                if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
                    self.problem((*row_path, key), "missing or empty (every event row needs user_id, time, event)")
                else:
                    out[key] = str(value)
            if "time" not in row:
                self.problem((*row_path, "time"), "missing (an ISO-8601 time, or relative to base_time like +2d)")
            else:
                ms = self.when(row["time"], (*row_path, "time"), base_time)
                if ms is not None:
                    out["time"] = format_time(ms)
            campaign = row.get("campaign")
            if config is not None and campaign is not None and str(campaign) not in config.campaign_keys():
                ids = [c.id for c in config.campaigns]
                self.problem((*row_path, "campaign"), f"unknown campaign {str(campaign)!r}: not in the config"
                             f"{known_names(str(campaign), ids)}")
            props = row.get("properties")
            if props is not None and not isinstance(props, dict):
                self.problem((*row_path, "properties"), "expected a mapping of event properties")
            zone = row.get("timezone")
            if zone is not None and (not isinstance(zone, str) or not is_zone(zone)):
                self.problem((*row_path, "timezone"), f"unknown time zone {zone!r} (use an IANA name like "
                             "'America/New_York')")
            result.append(out)
        return result

    # ---------------------------------------------------------------------------------------------
    def expectations(
        self, items: Any, path: KeyPath, base_time: int | None, config: Config | None
    ) -> list[Expectation]:
        if items is None:
            return []
        if not isinstance(items, list):
            self.problem(path, "expected a list of expected decisions ({user: u1, campaign: x, status: sent})")
            return []
        simulated = [c.id for c in config.campaigns if c.simulated] if config else []
        result = []
        for i, item in enumerate(items):
            item_path = (*path, i)
            if not isinstance(item, dict) or not item:
                self.problem(item_path, "expected a mapping of decision fields (user, campaign, status, ...)")
                continue
            self.check_keys(item, item_path, EXPECT_KEYS, "an expected decision")
            if "user" in item and "user_id" in item:
                self.problem((*item_path, "user_id"), "give user or user_id, not both", at_key=True)
            fields: dict[str, Any] = {}
            for key, value in item.items():
                if key not in EXPECT_KEYS:
                    continue
                name = "user_id" if key == "user" else key
                fields[name] = self.expected_value(name, value, (*item_path, key), base_time, simulated, config)
            result.append(Expectation(i, self.doc.at(item_path)[0], fields))
        return result

    def expected_value(
        self, name: str, value: Any, path: KeyPath, base_time: int | None, simulated: list[str],
        config: Config | None,
    ) -> Any:
        if name in TIME_FIELDS:
            return None if value is None else self.when(value, path, base_time)
        if name == "channels":
            channels = value.split(";") if isinstance(value, str) else value
            if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
                self.problem(path, "expected a list of channels like [push, email]")
                return ()
            for channel in channels:
                if channel not in CHANNELS:
                    self.problem(path, f"unknown channel {channel!r}{suggest(channel, CHANNELS)}")
            return tuple(sorted(channels))
        if value is not None and (isinstance(value, dict | list | bool)):
            self.problem(path, "expected a single value")
            return None
        text = None if value is None else str(value)
        if name == "status" and text not in STATUSES:
            self.problem(path, f"unknown status {text!r}{known_names(str(text), STATUSES)}")
        elif name == "reason" and text is not None and text not in REASONS:
            self.problem(path, f"unknown reason {text!r}{known_names(text, REASONS)}")
        elif name == "campaign" and config is not None and text not in simulated:
            known = config.campaign(str(text))
            hint = (" is a source campaign (no triggers): the replay decides only follow-ups' sends" if known
                    else f" is not a follow-up campaign of the config{known_names(str(text), simulated)}")
            self.problem(path, f"{text!r}{hint}")
        elif name in ("user_id", "campaign", "status") and text is None:
            self.problem(path, "expected a value (leave the key out to match any)")
        return text


def parse_scenario_text(text: str, file: str) -> ScenarioFile:
    """Parse a scenario file's text; problems are collected, never raised."""
    result = ScenarioFile(file)
    try:
        root: Node | None = parse_yaml_positions(text, file)
    except InvalidConfig as error:
        if [p.code for p in error.problems] != ["empty-file"]:  # an empty file is "not a mapping", said below
            result.problems = [
                Problem(file, p.line or 1, p.column or 1, "",
                        ALIAS_REFUSAL if p.message in (TOO_MANY_VALUES, SELF_REFERENCE) else p.message)
                for p in error.problems]
            return result
        root = None
    parser = _Parser(file, text, _Document(root))
    scenarios = parser.parse()
    unique = dict.fromkeys(parser.problems)  # keys shared by a scenarios: list are checked once per item
    result.problems = sorted(unique, key=lambda p: (p.file != file, p.file, p.line, p.column))
    if not result.problems:
        result.scenarios = scenarios
    return result


def load_scenario_file(path: Path) -> ScenarioFile:
    """Read and parse one scenario file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return ScenarioFile(str(path), problems=[Problem(str(path), 1, 1, "", f"cannot read the file: {reason}")])
    return parse_scenario_text(text, str(path))
