"""Big event logs are read and normalised in a second process while the first inserts (``_read_in_child``).

The rule pinned here: whichever process reads, an import stores the same rows in the same order, counts the
same duplicates, rejects the same rows with the same messages, warns the same, writes the same rejects file
and reports the same progress. ``PARSE_PROCESS_ENV`` = 0 sends even a tiny file through the second process
when the caller asks for one (``second_process=True``, as the command line does); the default threshold keeps
these small files in one. (Killed and interrupted imports on that path are in ``test_faults.py``.)
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
from dataclasses import astuple
from pathlib import Path
from typing import Any

import fastavro
import pytest

from campaign_connector import importer
from campaign_connector.errors import InputError
from campaign_connector.importer import PARSE_PROCESS_ENV, PAUSE_ENV, import_event_files
from campaign_connector.store import Store

#: Slow: a second reading process.
pytestmark = pytest.mark.slow

CSV = (
    "user_id,time,event,campaign,id,link_alias,properties,plan\n"
    "u1,2026-01-05T09:00:00Z,click_email,welcome,e1,cta,,gold\n"
    "u2,1767603600,receive_email,welcome,e2,,,\n"
    "u1,2026-01-05T09:00:00Z,click_email,welcome,e1,cta,,\n"  # duplicate id within the file
    'u3,2026-01-05T10:00:00Z,purchase,,,,"{""cart"":\n12}",\n'  # no id (content hash), two lines
    "u4,never,open_email,welcome,e4,,,\n"  # bad time
    "u5,2026-01-05T11:00:00+01:00,open_email_machine,welcome,e5,,,\n"
    "u6,2026-01-05T11:00:00Z,click_email_alias,welcome,e6,,,\n"  # derived name without its link_alias
    "u7,2026-01-05T12:00:00Z,open_email,welcome,e7,,[1],\n"  # properties not an object
    "u8,2026-01-05T12:00:00Z,session_start\n"  # too few fields
)
JSONL = (
    '{"user_id": "u9", "time": 1767603600, "event": "purchase", "id": "j1", "properties": {"cart": 3}}\n'
    "\n"
    "[1, 2]\n"
    '{"user_id": "u9", "time": 1767603601, "event": "open_email", "campaign": "welcome", "id": "j2", "x": 1}\n'
    '{"user_id": "u1", "time": 1767603600, "event": "click_email", "campaign": "welcome", "id": "e1"}\n'
)
CURRENTS = (
    '{"event_type": "users.messages.email.Send", "id": "c1", "user_id": "b1", "time": 1767603600, '
    '"campaign_id": "welcome"}\n'
    '{"event_type": "users.messages.email.Open", "id": "c2", "user_id": "b1", "time": 1767603700, '
    '"campaign_id": "welcome", "machine_open": {"string": "true"}}\n'
    '{"event_type": "users.nothing.Known", "id": "c3", "user_id": "b1", "time": 1767603800}\n'
)


def avro(path: Path) -> Path:
    schema = fastavro.parse_schema({
        "type": "record", "namespace": "dataexport.S3.inner.users.messages.pushnotification", "name": "Send",
        "fields": [{"name": "id", "type": "string"}, {"name": "user_id", "type": "string"},
                   {"name": "time", "type": "int"},
                   {"name": "campaign_id", "type": ["null", "string"], "default": None}]})
    with path.open("wb") as out:
        fastavro.writer(out, schema, [{"id": f"a{i}", "user_id": f"p{i % 7}", "time": 1767603600 + i,
                                       "campaign_id": "push"} for i in range(300)])
    return path


def inputs(folder: Path) -> list[Path]:
    folder.mkdir()
    (folder / "a.csv").write_text(CSV, encoding="utf-8")
    (folder / "b.jsonl.gz").write_bytes(gzip.compress(JSONL.encode()))
    (folder / "c.json").write_text(CURRENTS, encoding="utf-8")
    return [folder / "a.csv", folder / "b.jsonl.gz", avro(folder / "d.avro"), folder / "c.json"]


def import_with(second_process: bool, monkeypatch: pytest.MonkeyPatch, folder: Path, files: list[str],
                **options: Any) -> tuple[Any, ...]:
    """Import ``files`` (names in ``folder``) into a new database; everything the import produced."""
    if second_process:
        monkeypatch.setenv(PARSE_PROCESS_ENV, "0")
    else:
        monkeypatch.delenv(PARSE_PROCESS_ENV, raising=False)
    progress: list[tuple[int, int, int]] = []
    with Store.open(folder / "t.db") as store:
        try:
            summary = import_event_files(store, [folder / name for name in files], second_process=second_process,
                                         progress=lambda *call: progress.append(call), **options)
            outcome: Any = (summary.stored, summary.duplicates, summary.rejected, summary.by_event,
                            summary.warnings, [Path(f).name for f in summary.rejects_files])
        except InputError as error:
            outcome = (type(error).__name__, str(error).replace(str(folder), "DIR"),
                       [(Path(row.file).name, *astuple(row)[1:]) for row in getattr(error, "bad_rows", [])])
        rows = store.conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
        imports = store.conn.execute("SELECT kind, format, stored, duplicates, rejected FROM imports").fetchall()
    rejects = sorted((p.name, p.read_text(encoding="utf-8").replace(str(folder), "DIR"))
                     for p in folder.glob("*.rejects.jsonl"))
    return outcome, rows, imports, rejects, progress


def both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: list[str], **options: Any) -> tuple[Any, Any]:
    """The same import read in one process and in two, each in its own folder (a ``rejects`` name is put in
    each folder)."""
    results = []
    for second_process, folder in ((False, tmp_path / "one"), (True, tmp_path / "two")):
        inputs(folder)
        given = {**options, "rejects": folder / options["rejects"]} if "rejects" in options else options
        results.append(import_with(second_process, monkeypatch, folder, files, **given))
    return results[0], results[1]


ALL = ["a.csv", "b.jsonl.gz", "d.avro", "c.json"]


@pytest.mark.parametrize(("files", "options"), [
    (ALL, {"skip_invalid": True}),
    (ALL, {}),
    (["d.avro", "c.json"], {"skip_invalid": True}),
    (["b.jsonl.gz"], {"skip_invalid": True, "rejects": "all.rejects.jsonl"}),
], ids=["mixed-skip-invalid", "mixed-all-or-nothing", "currents-only", "jsonl-with-rejects-path"])
def test_a_second_process_imports_exactly_what_one_process_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: list[str], options: dict[str, Any]
) -> None:
    one, two = both(tmp_path, monkeypatch, files, **options)
    assert one == two
    outcome, rows, imports, rejects, progress = one
    if options.get("skip_invalid"):
        assert rows and imports and rejects  # the comparison above compared something
    else:
        assert outcome[0] == "BadRowsError" and not rows and not imports


def test_the_all_or_nothing_message_and_bad_rows_are_the_same(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = both(tmp_path, monkeypatch, ["a.csv"])
    assert one[0] == two[0]
    kind, message, bad = two[0]
    assert kind == "BadRowsError"
    assert message.startswith("4 bad rows; nothing was stored")
    assert [(name, line) for name, line, *_ in bad] == [("a.csv", 7), ("a.csv", 9), ("a.csv", 10), ("a.csv", 11)]


def test_an_unreadable_input_is_the_same_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PARSE_PROCESS_ENV, "0")
    bad = tmp_path / "bad.csv"
    bad.write_text("who,when\nu,1\n", encoding="utf-8")
    with Store.open(tmp_path / "t.db") as store, pytest.raises(InputError) as caught:
        import_event_files(store, [bad], second_process=True)
    assert type(caught.value) is InputError
    assert str(caught.value).startswith(f"{bad}:")
    assert "user_id" in str(caught.value)


def test_progress_is_reported_batch_by_batch_as_in_one_process(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    one, two = both(tmp_path, monkeypatch, ALL, skip_invalid=True)
    assert one[-1] == two[-1]
    progress = two[-1]
    assert len(progress) > 10
    assert progress == sorted(progress)
    total = sum((tmp_path / "two" / name).stat().st_size for name in ALL)
    assert progress[-1][1:] == (total, total)


def test_the_second_process_is_used_from_the_threshold_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below ``PARSE_PROCESS_MIN_BYTES`` no process is started; at it, one is."""
    started: list[int] = []
    real = importer._read_in_child

    def spy(run: Any, paths: Any, kinds: Any, user_key: str) -> None:
        started.append(run.total_bytes)
        real(run, paths, kinds, user_key)

    monkeypatch.setattr(importer, "_read_in_child", spy)
    path = tmp_path / "e.csv"
    path.write_text(CSV.split("u4,")[0], encoding="utf-8")
    size = path.stat().st_size
    for threshold, expected in ((size + 1, []), (size, [size])):
        monkeypatch.setenv(PARSE_PROCESS_ENV, str(threshold))
        with Store.open(tmp_path / f"t{threshold}.db") as store:
            assert import_event_files(store, [path], second_process=True).stored == 3
        assert started == expected


def test_a_library_caller_reads_in_one_process_unless_it_asks(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Spawning re-imports the caller's main module: a script calling ``import_event_files`` without a
    ``__main__`` guard would run again in the child and fail. So only callers that ask get the second process,
    however big the input; ``campaign-connector import`` asks."""
    monkeypatch.setattr(importer, "_read_in_child", lambda *args: pytest.fail("a second process was started"))
    monkeypatch.setenv(PARSE_PROCESS_ENV, "0")
    path = tmp_path / "e.csv"
    path.write_text(CSV.split("u4,")[0], encoding="utf-8")
    with Store.open(tmp_path / "t.db") as store:
        assert import_event_files(store, [path]).stored == 3
    script = tmp_path / "unguarded.py"
    script.write_text("from campaign_connector.importer import import_event_files\n"
                      "from campaign_connector.store import Store\n"
                      f"with Store.open({str(tmp_path / 'u.db')!r}) as store:\n"
                      f"    print(import_event_files(store, [{str(path)!r}]).stored)\n", encoding="utf-8")
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, PARSE_PROCESS_ENV: "0"})
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "3\n", "")


def reading_processes(pid: int) -> list[int]:
    """The spawned children of ``pid`` that run a ``Process`` (not multiprocessing's resource tracker)."""
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
            if b"pipe_handle=" in Path(f"/proc/{child}/cmdline").read_bytes()]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the reading process through /proc")
def test_a_reading_process_that_dies_is_one_line_and_nothing_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    Store.open(db).close()
    log = tmp_path / "e.csv"
    log.write_text("user_id,time,event,id\n" + "".join(f"u{i % 50},{1767603600 + i},open_email,e{i}\n"
                                                        for i in range(20_000)), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "campaign_connector", "import", "--db", str(db), str(log)],
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, PARSE_PROCESS_ENV: "0", PAUSE_ENV: "500:2"})
    assert proc.stderr is not None and proc.stderr.readline() == "test hook: paused\n"
    [reader] = reading_processes(proc.pid)
    os.kill(reader, signal.SIGKILL)
    assert proc.wait(timeout=30) == 1
    assert proc.stderr.read() == ("Error: import: the reading process ended unexpectedly (exit code -9); nothing was "
                                  "stored (run the import again)\n")
    with Store.open(db) as store:
        assert store.conn.execute("SELECT count(*) FROM events").fetchone() == (0,)
        assert store.conn.execute("SELECT count(*) FROM imports").fetchone() == (0,)
