"""Property tests (hypothesis): the config loader and the event and users readers, fed arbitrary text, bytes and
damaged structures, either succeed or raise the tool's own ``CampaignConnectorError`` whose message names the
file — never another exception. And a failed import stores nothing."""

from __future__ import annotations

import copy
import csv
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest
import yaml
from configs import EXAMPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_connector.config import load_config_text
from campaign_connector.errors import CampaignConnectorError
from campaign_connector.importer import import_event_files, import_user_files
from campaign_connector.store import Store

#: Slow: property tests over the readers and the loader.
pytestmark = pytest.mark.slow


#: Modest example counts keep the file at a few seconds; the bugs these found showed within a few hundred.
FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
#: The example config is long: each example loads ~50 ms of YAML.
SLOW = settings(FAST, max_examples=30)


def fails_cleanly_or_works(call: Any, where: str) -> None:
    """``call()`` returns, or raises a ``CampaignConnectorError`` whose message names ``where``."""
    try:
        call()
    except CampaignConnectorError as error:
        assert where in str(error), str(error)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inputs")


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    with Store.open(":memory:") as opened:
        yield opened


def events_in(store: Store) -> tuple[int, int]:
    return store.conn.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM imports)").fetchone()


def import_or_fail(store: Store, path: Path, **options: Any) -> None:
    """Import ``path``; a failure must be the tool's own error naming the file and must store nothing."""
    before = events_in(store)
    try:
        import_event_files(store, [path], **options)
    except CampaignConnectorError as error:
        assert str(path) in str(error), str(error)
        assert events_in(store) == before
    assert not store.conn.in_transaction


# -- the config loader --------------------------------------------------------------------------------------

YAML_PIECES = st.sampled_from([
    "version: 1\n", "campaigns:\n", "  - id: a\n", "    ", "- ", ": ", "[", "]", "{", "}", "&a ", "*a", "<<: ", "!!",
    "'", '"', "#", "|\n", ">-\n", "\t", "\n", "1", "yes", "on", "~", "2026-01-05", "09:00", "é", "\x85", "\ufeff",
    "\x00", "\u2028", "\U0001f389", "triggers:", "delay: ", "1 day", "null",
])


@FAST
@given(st.one_of(st.text(), st.lists(YAML_PIECES).map("".join)))
def test_config_text_loads_or_is_a_located_config_error(text: str) -> None:
    fails_cleanly_or_works(lambda: load_config_text(text, "c.yaml"), "c.yaml")


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


EXAMPLE_TREE = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
EXAMPLE_PATHS = list(_paths(EXAMPLE_TREE))[1:]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=12),
    st.sampled_from(["", "1 day", "0 seconds", "-1 hour", "25:00", "09:00", "Mars/Base", "0001-01-01", "2200-01-01",
                     "9999-12-31T23:59:59Z", "nan", "push", "any", "company", "purchase", "99999999999 weeks"]),
)
KEYS = st.sampled_from(["id", "all", "any", "not", "attribute", "equals", "in", "gt", "performed", "within", "where",
                        "at_least", "received", "event", "interaction", "campaign", "max", "per", "channel", "start",
                        "zone", "percent", "weight"])
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                      max_leaves=6)


@SLOW
@given(st.lists(st.tuples(st.sampled_from(EXAMPLE_PATHS), VALUES, st.booleans()), min_size=1, max_size=3))
def test_any_damage_to_the_example_config_tree_is_a_located_config_error(
        edits: list[tuple[tuple[Any, ...], Any, bool]]) -> None:
    tree = copy.deepcopy(EXAMPLE_TREE)
    for path, value, delete in edits:
        node = tree
        try:
            for key in path[:-1]:
                node = node[key]
            if delete:
                del node[path[-1]]
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    text = yaml.safe_dump(tree, allow_unicode=True)
    fails_cleanly_or_works(lambda: load_config_text(text, "c.yaml"), "c.yaml")


# -- event readers: raw bytes under every reader ------------------------------------------------------------


@FAST
@given(data=st.binary(max_size=400),
       name=st.sampled_from(["e.csv", "e.jsonl", "e.json", "e.csv.gz", "e.jsonl.gz", "e.avro"]),
       format=st.sampled_from(["auto", "currents"]), skip_invalid=st.booleans())
def test_arbitrary_bytes_import_or_fail_with_the_file_named(store: Store, folder: Path, data: bytes, name: str,
                                                            format: str, skip_invalid: bool) -> None:
    path = folder / name
    path.write_bytes(data)
    import_or_fail(store, path, format=format, skip_invalid=skip_invalid, rejects=folder / "rejects.jsonl")


@FAST
@given(text=st.text(max_size=300), name=st.sampled_from(["e.csv", "e.jsonl"]), format=st.sampled_from(["auto",
                                                                                                        "currents"]))
def test_arbitrary_text_imports_or_fails_with_the_file_named(store: Store, folder: Path, text: str, name: str,
                                                             format: str) -> None:
    path = folder / name
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    import_or_fail(store, path, format=format)


# -- event readers: well-formed containers, arbitrary fields ------------------------------------------------

FIELDS = st.sampled_from([
    "user_id", "time", "event", "campaign", "id", "link_alias", "button_id", "page", "machine_open",
    "conversion_index", "timezone", "properties", "event_type", "external_user_id", "campaign_id", "button_string",
    "name", "user", "conversion_behavior_index", "unknown",
])
VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=10),
    st.sampled_from(["2026-01-05T09:00:00Z", "1767600000", "-5", "1e400", "9" * 400, "nan", "2199-12-31T23:59:59Z",
                     "2200-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "open_email_machine", "click_email_alias",
                     "click_in_app_message_button", "Europe/Berlin", "Mars/Base", "users.messages.email.Click",
                     "users.behaviors.CustomEvent", "users.behaviors.Purchase", '{"a": 1}', "[1]", "true"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
OBJECTS = st.recursive(st.dictionaries(FIELDS, VALUE, max_size=8),
                       lambda inner: st.dictionaries(FIELDS, VALUE | inner, max_size=8), max_leaves=4)


@FAST
@given(rows=st.lists(OBJECTS, min_size=1, max_size=4), format=st.sampled_from(["auto", "currents"]),
       skip_invalid=st.booleans())
def test_json_lines_of_arbitrary_objects_import_or_fail_with_the_file_named(
        store: Store, folder: Path, rows: list[dict[str, Any]], format: str, skip_invalid: bool) -> None:
    path = folder / "e.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    import_or_fail(store, path, format=format, skip_invalid=skip_invalid, rejects=folder / "rejects.jsonl")


CELLS = st.one_of(VALUE.map(lambda v: v if isinstance(v, str) else json.dumps(v)), st.text(max_size=6))


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


@FAST
@given(header=st.lists(FIELDS, min_size=1, max_size=7, unique=True),
       rows=st.lists(st.lists(CELLS, max_size=8), max_size=4), skip_invalid=st.booleans())
def test_csv_with_arbitrary_columns_and_cells_imports_or_fails_with_the_file_named(
        store: Store, folder: Path, header: list[str], rows: list[list[str]], skip_invalid: bool) -> None:
    path = folder / "e.csv"
    path.write_bytes(_csv(header, rows))
    import_or_fail(store, path, skip_invalid=skip_invalid, rejects=folder / "rejects.jsonl")


@FAST
@given(rows=st.lists(st.lists(CELLS, max_size=6), max_size=4))
def test_users_csv_with_arbitrary_cells_imports_or_fails_with_the_file_named(
        store: Store, folder: Path, rows: list[list[str]]) -> None:
    path = folder / "u.csv"
    path.write_bytes(_csv(["user_id", "timezone", "global_control_group", "unsubscribed", "plan"], rows))
    fails_cleanly_or_works(lambda: import_user_files(store, path), str(path))
    assert not store.conn.in_transaction


def _avro_files() -> list[bytes]:
    kinds = [
        ("users.messages.email", "Click",
         [("user_id", "string"), ("time", "long"), ("campaign_id", ["null", "string"]),
          ("link_alias", ["null", "string"])],
         lambda i: {"user_id": f"u{i}", "time": 1_767_600_000 + i, "campaign_id": "c", "link_alias": None}),
        ("users.behaviors", "CustomEvent", [("user_id", "string"), ("time", "long"), ("name", "string"),
                                            ("properties", ["null", "string"])],
         lambda i: {"user_id": f"u{i}", "time": 1_767_600_000 + i, "name": "ev", "properties": '{"a": 1}'}),
        ("users.behaviors", "Purchase", [("user_id", ["null", "string"]), ("time", "double"), ("price", "double")],
         lambda i: {"user_id": f"u{i}", "time": 1_767_600_000.5 + i, "price": 1.5}),
    ]
    files = []
    for namespace, name, fields, record in kinds:
        schema = fastavro.parse_schema({"type": "record", "name": name, "namespace": namespace,
                                        "fields": [{"name": n, "type": t} for n, t in fields]})
        for codec in ("null", "deflate"):
            out = io.BytesIO()
            fastavro.writer(out, schema, [record(i) for i in range(12)], codec=codec)
            files.append(out.getvalue())
    return files


AVRO_FILES = _avro_files()


@FAST
@given(source=st.sampled_from(AVRO_FILES), seed=st.integers(0, 2**32), skip_invalid=st.booleans())
def test_damaged_avro_files_import_or_fail_with_the_file_named(store: Store, folder: Path, source: bytes, seed: int,
                                                               skip_invalid: bool) -> None:
    """Bytes flipped, cut and inserted in real Currents Avro files (fastavro raises a dozen kinds of error)."""
    rnd = random.Random(seed)
    data = bytearray(source)
    for _ in range(rnd.randint(1, 3)):
        at = rnd.randrange(len(data) or 1)
        roll = rnd.random()
        if roll < 0.5 and data:
            data[at] = rnd.randrange(256)
        elif roll < 0.7:
            del data[at:]
        else:
            data[at:at] = rnd.randbytes(rnd.randint(1, 8))
    path = folder / "e.avro"
    path.write_bytes(bytes(data))
    import_or_fail(store, path, skip_invalid=skip_invalid, rejects=folder / "rejects.jsonl")


@pytest.mark.parametrize("value", ["1e400", "NaN", "-Infinity", "9" * 400])
def test_times_no_float_holds_are_bad_rows_not_crashes(store: Store, folder: Path, value: str) -> None:
    """Found by the properties above: ``parse_time`` raised OverflowError/ValueError for these."""
    path = folder / "t.jsonl"
    path.write_text(f'{{"user_id": "u", "time": {value}, "event": "e"}}\n', encoding="utf-8")
    with pytest.raises(CampaignConnectorError, match=rf"^1 bad row;.*\n{path}:1: time: .* is outside 1970\.\.2199$"):
        import_event_files(store, [path])
