"""The position-aware safe YAML loader: no YAML 1.1 traps, duplicate keys refused, bombs refused, positions kept;
and reading the campaign file itself (missing, folder, binary, not UTF-8, empty)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from campaign_connector.config import InvalidConfig, check_config, load_config, load_config_text, parse_yaml_positions
from campaign_connector.errors import ConfigError


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("on", "on"), ("off", "off"), ("yes", "yes"), ("no", "no"), ("y", "y"), ("N", "N"),
        ("true", True), ("True", True), ("FALSE", False),
        ("10:00", "10:00"), ("1:30:00", "1:30:00"),
        ("010", 10), ("-5", -5), ("1_000", "1_000"), ("0x10", "0x10"), ("0b11", "0b11"),
        ("1.5", 1.5), ("1e3", 1000.0), (".inf", ".inf"), (".nan", ".nan"),
        ("null", None), ("~", None), ("", None),
        ("'2026-01-05T09:00:00Z'", "2026-01-05T09:00:00Z"),
        ("2026-01-05T09:00:00Z", datetime(2026, 1, 5, 9, tzinfo=UTC)),
        ("2026-01-05 10:00:00 +01:00", datetime(2026, 1, 5, 10, tzinfo=timezone(timedelta(hours=1)))),
        ("2026-13-45", "2026-13-45"), ("0000-01-01", "0000-01-01"), ("=", "="),
    ],
)
def test_scalars_follow_yaml_1_2_not_1_1(scalar: str, value: object) -> None:
    assert parse_yaml_positions(f"key: {scalar}\n").plain() == {"key": value}


def test_a_date_that_does_not_exist_is_a_located_bad_time_not_a_crash() -> None:
    text = "version: 1\ncampaigns:\n  - id: a\n    channels: [push]\n    published_at: 2026-13-45\n"
    with pytest.raises(InvalidConfig) as caught:
        load_config_text(text, "c.yaml")
    assert str(caught.value) == ("c.yaml:5:19: campaigns[0].published_at: expected an ISO-8601 time like "
                                 "2026-01-05T09:00:00Z or epoch seconds, got '2026-13-45'")


def test_each_node_spans_its_source_text() -> None:
    text = "a:\n  b: [x, {c: 1}]\n  k: v\nd: 2\n"
    tree = parse_yaml_positions(text)
    a, b = tree.value["a"], tree.value["a"].value["b"]
    assert text[b.start:b.end] == "[x, {c: 1}]"
    assert text[a.start:a.end] == "b: [x, {c: 1}]\n  k: v\n"
    assert text[a.keys["k"].start:a.keys["k"].end] == "k"


def test_positions_are_one_based_line_and_column_of_keys_and_values() -> None:
    tree = parse_yaml_positions("a:\n  b: [x, {c: 1}]\n")
    b = tree.value["a"].value["b"]
    assert (tree.value["a"].line, tree.value["a"].column) == (2, 3)
    assert (tree.value["a"].keys["b"].line, tree.value["a"].keys["b"].column) == (2, 3)
    assert (b.line, b.column) == (2, 6)
    assert [(item.line, item.column) for item in b.value] == [(2, 7), (2, 10)]
    assert (b.value[1].value["c"].line, b.value[1].value["c"].column) == (2, 14)


def test_duplicate_keys_are_reported_at_the_second_key_with_the_first_line() -> None:
    with pytest.raises(InvalidConfig) as caught:
        parse_yaml_positions("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "f.yaml")
    assert str(caught.value).splitlines() == [
        "f.yaml:4:3: b.c: duplicate key 'c' (first at line 3); keep one",
        "f.yaml:5:1: a: duplicate key 'a' (first at line 1); keep one",
    ]


def test_merge_keys_fill_missing_keys_and_explicit_keys_override_them() -> None:
    tree = parse_yaml_positions("base: &b {x: 1, y: 2}\nm: {<<: *b, y: 3}\nn: {y: 4, <<: *b}\n")
    assert tree.plain()["m"] == {"x": 1, "y": 3}
    assert tree.plain()["n"] == {"y": 4, "x": 1}


@pytest.mark.slow
def test_an_alias_bomb_is_refused_with_one_problem() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(InvalidConfig) as caught:
        parse_yaml_positions("\n".join(lines))
    assert [p.code for p in caught.value.problems] == ["yaml-too-large"]
    assert "YAML bomb" in caught.value.problems[0].message


def test_a_self_referencing_alias_is_refused() -> None:
    with pytest.raises(InvalidConfig) as caught:
        parse_yaml_positions("a: &x [1, *x]\n")
    assert [p.code for p in caught.value.problems] == ["yaml-too-large"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1\n", "malformed YAML: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence)"),
        ("a: 1\n---\nb: 2\n", "malformed YAML: expected a single document in the stream, but found another "
                              "document"),
        ("a: !!python/object:os.system x\n", "malformed YAML: could not determine a constructor for the tag "
                                              "'tag:yaml.org,2002:python/object:os.system'"),
        ("a: b\n\x07\n", "malformed YAML: unacceptable character #x0007: special characters are not allowed"),
    ],
)
def test_malformed_yaml_is_one_located_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        parse_yaml_positions(text)
    assert [(p.code, p.message) for p in caught.value.problems] == [("yaml-syntax", message)]


def test_empty_text_is_an_empty_file_problem() -> None:
    with pytest.raises(InvalidConfig) as caught:
        parse_yaml_positions("# only a comment\n", "e.yaml")
    assert str(caught.value) == "e.yaml:1:1: empty file: expected a mapping with 'version: 1' and 'campaigns'"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file (check the path)"),
        ("folder", "is a folder, not a campaign file (give the YAML file's path)"),
        (b"version: 1\x00\x01\x02", "binary file, not YAML text (give the campaign file)"),
        (b"version: 1\nname: caf\xe9\n", "not UTF-8 text (byte 0xe9 on line 2); save the file as UTF-8"),
    ],
    ids=["missing", "folder", "binary", "latin-1"],
)
def test_unreadable_files_are_one_line_config_errors(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "c.yaml"
    if content == "folder":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: {message}"
    assert "\n" not in str(caught.value)


def test_empty_file_and_byte_order_mark(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert [p.code for p in check_config(empty)[1]] == ["empty-file"]
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffversion: 1\ncampaigns: []\n".encode())
    assert load_config(bom).campaigns == ()
