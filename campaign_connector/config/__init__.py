"""The campaign file: YAML text → a validated, frozen ``model.Config`` (SPEC §2).

``load_config``/``load_config_text`` raise ``InvalidConfig`` (a ``ConfigError``) carrying every error;
``check_config``/``check_config_text`` return the config (when it could be built) with every problem,
warnings included, for ``validate``. ``parse_yaml_positions`` is the position-aware safe YAML loader.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from campaign_connector import model
from campaign_connector.config.build import Builder
from campaign_connector.config.problems import PROBLEM_CODES, InvalidConfig, Problem, suggest
from campaign_connector.config.rules import LogFacts, check_rules
from campaign_connector.config.yamlload import MAX_NODES, Node, parse_yaml

__all__ = [
    "MAX_NODES", "PROBLEM_CODES", "InvalidConfig", "LogFacts", "Node", "Problem", "check_config",
    "check_config_text", "load_config", "load_config_text", "parse_yaml_positions", "read_config_file", "suggest",
]


def _file_problem(path: str, code: str, message: str) -> InvalidConfig:
    return InvalidConfig([Problem(path, None, None, "", code, message)])


def read_config_file(path: Path) -> str:
    """The text of a campaign file; ``InvalidConfig`` (one file-level problem) when it is missing, a folder,
    unreadable, binary or not UTF-8."""
    name = str(path)
    if path.is_dir():
        raise _file_problem(name, "file-unreadable", "is a folder, not a campaign file (give the YAML file's path)")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _file_problem(name, "file-unreadable", "no such file (check the path)") from None
    except OSError as err:
        raise _file_problem(name, "file-unreadable", f"cannot read the file ({err.strerror or err})") from None
    if b"\x00" in data:
        raise _file_problem(name, "not-text", "binary file, not YAML text (give the campaign file)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise _file_problem(name, "not-text", f"not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}); "
                                              "save the file as UTF-8") from None


def check_config_text(text: str, path: str = "<config>",
                      log: LogFacts | None = None) -> tuple[model.Config | None, list[Problem]]:
    """Validate campaign-file text: the config (None when the file is not a usable mapping) and every
    problem, errors and warnings, sorted by position. With ``log``, the event-log checks run too."""
    tree, problems = parse_yaml(text, path)
    if tree is None:
        return None, sorted(problems, key=Problem.sort_key)
    builder = Builder(path)
    builder.problems.extend(problems)
    config = builder.build(tree, text, hashlib.sha256(text.encode("utf-8")).hexdigest())
    if config is not None:
        check_rules(builder, log)
    return config, sorted(builder.problems, key=Problem.sort_key)


def check_config(path: Path, log: LogFacts | None = None) -> tuple[model.Config | None, list[Problem]]:
    """``check_config_text`` on a file; ``InvalidConfig`` when the file cannot be read as text."""
    return check_config_text(read_config_file(path), str(path), log)


def load_config_text(text: str, path: str = "<config>") -> model.Config:
    """A validated config from campaign-file text; ``InvalidConfig`` carrying every error otherwise."""
    config, problems = check_config_text(text, path)
    errors = [problem for problem in problems if problem.is_error]
    if errors or config is None:
        raise InvalidConfig(errors)
    return config


def load_config(path: Path) -> model.Config:
    """A validated config from a campaign file; ``InvalidConfig`` carrying every error otherwise."""
    return load_config_text(read_config_file(Path(path)), str(path))


def parse_yaml_positions(text: str, path: str = "<yaml>") -> Node:
    """Safe YAML with positions (no YAML 1.1 traps, duplicate keys refused): a ``Node`` tree.

    Raises ``InvalidConfig`` listing every problem (malformed YAML, duplicate keys, alias bombs, empty text).
    ``node.plain()`` gives plain Python data; ``node.line``/``node.column`` are 1-based.
    """
    tree, problems = parse_yaml(text, path)
    if problems or tree is None:
        raise InvalidConfig(sorted(problems, key=Problem.sort_key))
    return tree
