"""Hostile input: ids full of quotes, semicolons, commas, newlines and unicode; 10,000-character values; times at
the edges of 1970..2199 and beyond; YAML bombs and absurd nesting; JSON nested a thousand deep; a single line of
tens of megabytes. Each either flows through import → replay → sends unchanged, or is refused with one located
line — never a traceback, never unbounded memory."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
from clikit import cli

from campaign_connector.config import load_config_text
from campaign_connector.errors import CampaignConnectorError, InputError
from campaign_connector.importer import import_event_files, import_user_files
from campaign_connector.inputs import MAX_LINE_BYTES
from campaign_connector.replay import run_replay
from campaign_connector.store import Store

SOURCE_ID = "x'); DROP TABLE events; --,\"é\" ;"
EVENT = "weird, \"name\"; é\n2"

CONFIG = f"""\
version: 1
campaigns:
  - id: src
    braze_id: {json.dumps(SOURCE_ID)}
    channels: [email]
    status: active
    published_at: 1970-01-01T00:00:00Z
  - id: fu
    channels: [push]
    status: active
    published_at: 1970-01-01T00:00:00Z
    reeligible_after: 1 hour
    triggers:
      - {{interaction: click_email, campaign: {json.dumps(SOURCE_ID)}}}
      - {{event: {json.dumps(EVENT)}}}
    delay: 1 hour
"""

USER_IDS = [
    "o'brien", '"quoted"', "a;b", "a,b", "x'); DROP TABLE events; --", "ünïcödé 用户 🎉", "line1\nline2", "tab\there",
    "cr\r\nlf", "  spaces  ", "=cmd|' /C calc'!A0", "\u202eRTL\u2028sep", "x" * 10_000, "NULL", "\\back\\slash",
    "%s {0} <script>",
]


def hostile_rows() -> list[dict[str, str]]:
    rows = []
    for i, user in enumerate(USER_IDS):
        rows += [
            {"user_id": user, "time": "1970-01-01T00:00:00Z", "event": EVENT, "campaign": "", "link_alias": ""},
            {"user_id": user, "time": f"2026-01-05T09:{i:02d}:00Z", "event": "click_email", "campaign": SOURCE_ID,
             "link_alias": user},
            {"user_id": user, "time": "2199-12-31T22:00:00.500Z", "event": EVENT, "campaign": "", "link_alias": ""},
        ]
    # the last millisecond a log may hold: the horizon, after every send is due
    return [*rows, {"user_id": "last", "time": "2199-12-31T23:59:59.999Z", "event": "session_start", "campaign": "",
                    "link_alias": ""}]


def write_log(path: Path, rows: list[dict[str, str]]) -> Path:
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        path.write_text("".join(json.dumps({k: v for k, v in row.items() if v}, ensure_ascii=False) + "\n"
                                for row in rows), encoding="utf-8")
    return path


def as_csv(record: dict[str, Any]) -> dict[str, str]:
    """A ``sends`` JSON record as its CSV row: null → empty, channels joined with ';'."""
    return {key: ";".join(value) if isinstance(value, list) else "" if value is None else value
            for key, value in record.items()}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The hostile log imported from CSV and from JSON lines into two databases, each replayed."""
    folder = tmp_path_factory.mktemp("hostile")
    dbs = {}
    for kind in ("csv", "jsonl"):
        db = folder / f"{kind}.db"
        with Store.open(db) as store:
            import_event_files(store, [write_log(folder / f"e.{kind}", hostile_rows())])
            run_replay(store, load_config_text(CONFIG, "c.yaml"), name="hostile")
        dbs[kind] = db
    return dbs


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_hostile_ids_and_names_flow_through_import_replay_and_sends_unchanged(
        replayed: dict[str, Path], kind: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(["sends", "--db", str(replayed[kind]), "--format", "csv"], monkeypatch, capsys)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    code, out, err = cli(["sends", "--db", str(replayed[kind]), "--format", "jsonl"], monkeypatch, capsys)
    assert code == 0, err
    records = [json.loads(line) for line in out.split("\n")[:-1]]  # JSON lines end in \n only, not at U+2028
    assert [as_csv(record) for record in records] == rows
    by_user: dict[str, list[tuple[str, str, str, str]]] = {}
    for row in rows:
        by_user.setdefault(row["user_id"], []).append((row["status"], row["trigger"], row["source_campaign"],
                                                       row["sent_at"]))
    assert sorted(by_user) == sorted(USER_IDS)
    for i, user in enumerate(USER_IDS):
        assert by_user[user] == [
            ("sent", EVENT, "", "1970-01-01T01:00:00Z"),
            ("sent", "click_email", "src", f"2026-01-05T10:{i:02d}:00Z"),
            ("sent", EVENT, "", "2199-12-31T23:00:00.500Z"),
        ]


def test_csv_and_json_lines_imports_of_hostile_rows_give_identical_sends(
        replayed: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = [cli(["sends", "--db", str(replayed[kind]), "--format", "csv"], monkeypatch, capsys)[1]
               for kind in ("csv", "jsonl")]
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("user", [USER_IDS[0], USER_IDS[4], USER_IDS[6], USER_IDS[12]],
                         ids=["quote", "sql", "newline", "10k-chars"])
def test_a_hostile_user_id_is_matched_exactly_by_sends_and_explain(
        replayed: dict[str, Path], user: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(["sends", "--db", str(replayed["csv"]), "--user", user, "--format", "jsonl"], monkeypatch,
                         capsys)
    assert code == 0, err
    assert [json.loads(line)["user_id"] for line in out.split("\n")[:-1]] == [user] * 3
    code, out, err = cli(["explain", user, "--db", str(replayed["csv"])], monkeypatch, capsys)
    assert code == 0, err
    assert "fu: sent on push" in out


def test_a_run_name_with_quotes_and_a_newline_is_found_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "t.db"
    with Store.open(db) as store:
        import_event_files(store, [write_log(tmp_path / "e.csv", hostile_rows()[:3])])
        run_replay(store, load_config_text(CONFIG, "c.yaml"), name="we\nird'; --")
    code, out, err = cli(["report", "--db", str(db), "--run", "we\nird'; --", "--format", "json"], monkeypatch, capsys)
    assert code == 0, err
    assert json.loads(out)["run"]["name"] == "we\nird'; --"


@pytest.mark.parametrize("ref", ["99999999999999999999999", "²"])
def test_a_run_reference_no_id_can_be_is_an_unknown_name(
        tmp_path: Path, ref: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Found here: these crashed with OverflowError / ValueError when tried as an id."""
    db = tmp_path / "t.db"
    Store.open(db).close()
    code, _, err = cli(["runs", "--db", str(db), "--delete", ref], monkeypatch, capsys)
    assert (code, err) == (1, f"Error: {db}: no run named {ref!r} (no runs are stored yet; see `campaign-connector "
                              "runs`)\n")


# -- times at the edges -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("time", "problem"), [
    ("1970-01-01T00:00:00Z", None),
    ("0", None),
    ("1970-01-01T01:00:00+01:00", None),
    ("2199-12-31T23:59:59.999Z", None),
    ("7258118399.999", None),
    ("1969-12-31T23:59:59.999Z", "time: '1969-12-31T23:59:59.999Z' is outside 1970..2199"),
    ("-1", "time: '-1' is outside 1970..2199"),
    ("2200-01-01T00:00:00Z", "time: '2200-01-01T00:00:00Z' is outside 1970..2199"),
    ("2199-12-31T23:59:59-01:00", "time: '2199-12-31T23:59:59-01:00' is outside 1970..2199"),
    ("7258118400", "time: '7258118400' is outside 1970..2199"),
    ("0001-01-01T00:00:00Z", "time: '0001-01-01T00:00:00Z' is outside 1970..2199"),
    ("9999-12-31T23:59:59Z", "time: '9999-12-31T23:59:59Z' is outside 1970..2199"),
    ("+275760-09-13T00:00:00Z", "time: expected an ISO-8601 time like 2026-01-05T09:00:00Z or epoch seconds, got "
                                "'+275760-09-13T00:00:00Z'"),
    ("9" * 400, f"time: '{'9' * 400}' is outside 1970..2199"),
])
def test_event_times_from_1970_to_2199_are_kept_and_others_are_located_bad_rows(
        tmp_path: Path, time: str, problem: str | None) -> None:
    path = tmp_path / "e.csv"
    path.write_text(f"user_id,time,event\nu,{time},purchase\n", encoding="utf-8")
    with Store.open(":memory:") as store:
        if problem is None:
            assert import_event_files(store, [path]).stored == 1
        else:
            with pytest.raises(InputError) as caught:
                import_event_files(store, [path])
            assert str(caught.value).splitlines()[1] == f"{path}:2: {problem}"


# -- YAML: bombs and nesting --------------------------------------------------------------------------------


def billion_laughs(last: str) -> str:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{b}: &{b} [" + ", ".join([f"*{a}"] * 10) + "]" for a, b in zip("abcdefgh", "bcdefghi", strict=True)]
    return "\n".join(lines) + f"\n{last}: *i\n"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "text", "args", "message"), [
    ("bomb.yaml", "version: 1\n" + billion_laughs("campaigns"), ["replay", "{f}", "--db", "{db}"],
     "Error: {f}:2:32: the document expands to more than 100,000 values (aliases repeat nodes: a YAML bomb?); "
     "write the values out"),
    ("bomb.yaml", "version: 1\n" + billion_laughs("campaigns"), ["generate", "--users", "1", "--days", "1", "-o",
                                                                "{dir}/g.csv", "--config", "{f}"],
     "Error: {f}:2:32: the document expands to more than 100,000 values (aliases repeat nodes: a YAML bomb?); "
     "write the values out"),
    ("deep.yaml", "version: 1\ncampaigns: " + "[" * 3000 + "]" * 3000 + "\n", ["replay", "{f}", "--db", "{db}"],
     "Error: {f}:2:61: values nested more than 50 levels deep; flatten the document"),
    ("deep.yaml", "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 600)), ["replay", "{f}", "--db", "{db}"],
     "Error: {f}:50:99: values nested more than 50 levels deep; flatten the document"),
], ids=["bomb-replay", "bomb-generate", "deep-flow", "deep-block"])
def test_yaml_bombs_and_deep_nesting_are_refused_with_one_located_line(
        tmp_path: Path, name: str, text: str, args: list[str], message: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """They finish (bounded work, no RecursionError); the nesting ones crashed before this issue."""
    path, db = tmp_path / name, tmp_path / "t.db"
    path.write_text(text, encoding="utf-8")
    Store.open(db).close()
    fill = {"{f}": str(path), "{db}": str(db), "{dir}": str(tmp_path)}
    code, _, err = cli([fill.get(arg, arg.replace("{dir}", str(tmp_path))) for arg in args], monkeypatch, capsys)
    assert (code, err) == (1, message.format(f=path) + "\n")


@pytest.mark.slow
@pytest.mark.parametrize(("text", "message"), [
    ("config: c.yaml\n" + billion_laughs("events"),
     "{f}:2:32: aliases expand to too many values or refer to themselves; write the values out"),
    ("config: c.yaml\nevents: " + "[" * 3000 + "]" * 3000 + "\n",
     "{f}:2:58: values nested more than 50 levels deep; flatten the document"),
], ids=["bomb", "deep"])
def test_scenario_files_with_bombs_or_deep_nesting_fail_as_that_scenario(
        tmp_path: Path, text: str, message: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = cli(["test", str(path)], monkeypatch, capsys)
    assert code == 1 and "Traceback" not in err
    assert message.format(f=path) in out


# -- JSON nested a thousand deep -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("e.jsonl", '{"user_id": "u", "time": 0, "event": "e", "properties": {"a": ' + "[" * 5000 + "]" * 5000 + "}}\n",
     "JSON nested too deeply (keep each line a flat object)"),
    ("e.csv", 'user_id,time,event,properties\nu,0,e,"{""a"": ' + "[" * 5000 + "]" * 5000 + '}"\n',
     "properties: JSON nested too deeply (keep properties a flat object)"),
], ids=["jsonl", "csv-properties"])
def test_json_nested_thousands_deep_is_a_bad_row(tmp_path: Path, name: str, content: str, reason: str) -> None:
    """Found here: json.loads raised RecursionError, which escaped the importer."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with Store.open(":memory:") as store, pytest.raises(InputError) as caught:
        import_event_files(store, [path])
    line = 2 if name.endswith(".csv") else 1
    assert str(caught.value).splitlines()[1] == f"{path}:{line}: {reason}"


def test_json_nested_a_few_hundred_deep_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"user_id": "u", "time": 0, "event": "e", "properties": {"a": ' + "[" * 300 + "]" * 300 + "}}\n",
                    encoding="utf-8")
    with Store.open(":memory:") as store:
        assert import_event_files(store, [path]).stored == 1


# -- one enormous line --------------------------------------------------------------------------------------


def huge_line_file(path: Path, megabytes: int) -> Path:
    """A header (CSV) and then one line of ``megabytes`` MB, written in chunks (never whole in memory)."""
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    chunk = "x" * (1 << 20)
    with opener(path, "wt", encoding="utf-8", **({"compresslevel": 1} if path.name.endswith(".gz") else {})) as out:
        if ".csv" in path.name:
            out.write('user_id,time,event,properties\nu,0,e,"{""a"": ""')
        else:
            out.write('{"user_id": "u", "time": 0, "event": "e", "properties": {"a": "')
        for _ in range(megabytes):
            out.write(chunk)
        out.write('"}}\n' if ".jsonl" in path.name else '""}"\n')
    return path


@pytest.mark.slow
@pytest.mark.parametrize(("name", "megabytes", "line"), [
    ("e.jsonl", 50, 1),
    ("e.csv", 50, 2),
    ("e.jsonl.gz", 64, 1),
], ids=["jsonl-50MB", "csv-50MB", "gzip-64MB-decompressed"])
def test_a_line_longer_than_the_cap_is_refused_before_it_is_read_whole(
        tmp_path: Path, name: str, megabytes: int, line: int) -> None:
    """Found here: a 50 MB JSON line was read whole and stored (peak RSS 415 MB; a 2 GB line would exhaust
    memory). The readers now stop once a line passes ``MAX_LINE_BYTES`` (16 MiB)."""
    path = huge_line_file(tmp_path / name, megabytes)
    with Store.open(":memory:") as store:
        with pytest.raises(InputError) as caught:
            import_event_files(store, [path])
        assert str(caught.value) == (f"{path}:{line}: line longer than {MAX_LINE_BYTES >> 20} MiB (is this an event "
                                     "log? split huge values, or keep properties small)")
        assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_a_users_file_with_an_enormous_line_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text("user_id,plan\nu," + "x" * (MAX_LINE_BYTES + 10) + "\n", encoding="utf-8")
    with Store.open(":memory:") as store, pytest.raises(CampaignConnectorError, match=r":2: line longer than 16 MiB"):
        import_user_files(store, path)


def test_a_long_line_under_the_cap_is_kept_whole(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    value = "é" * (4 << 20)  # 8 MB of UTF-8
    path.write_text(json.dumps({"user_id": "u", "time": 0, "event": "e", "properties": {"a": value}},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    with Store.open(":memory:") as store:
        assert import_event_files(store, [path]).stored == 1
        stored = store.conn.execute("SELECT properties FROM events").fetchone()[0]
        assert json.loads(stored) == {"a": value}


@pytest.mark.slow
def test_a_csv_with_fifty_thousand_columns_imports_them_into_properties(tmp_path: Path) -> None:
    """Found here: checking the header for duplicates was quadratic (100,000 columns took 100 s)."""
    names = [f"c{i}" for i in range(50_000)]
    path = tmp_path / "e.csv"
    path.write_text(",".join(["user_id", "time", "event", *names]) + "\n"
                    + ",".join(["u", "2026-01-05T09:00:00Z", "e", *names]) + "\n", encoding="utf-8")
    with Store.open(":memory:") as store:
        assert import_event_files(store, [path]).stored == 1
        properties = json.loads(store.conn.execute("SELECT properties FROM events").fetchone()[0])
    assert properties == {name: name for name in names}
