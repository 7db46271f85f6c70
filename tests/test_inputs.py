"""Readers: format by extension, and every file-level problem as one clear line (never a traceback)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from campaign_connector.errors import InputError
from campaign_connector.importer import import_event_files
from campaign_connector.inputs import reader_kind
from campaign_connector.store import Store

GOOD = b"user_id,time,event\nu,2026-01-05T09:00:00Z,open_email\n"


@pytest.mark.parametrize(("name", "format", "kind"), [
    ("a.csv", "auto", "csv"),
    ("a.CSV.GZ", "auto", "csv"),
    ("a.jsonl", "auto", "jsonl"),
    ("a.ndjson.gz", "auto", "jsonl"),
    ("a.json", "auto", "jsonl"),
    ("a.avro", "auto", "avro"),
    ("a.txt", "csv", "csv"),
    ("a.csv", "jsonl", "jsonl"),
    ("a.avro", "currents", "avro"),
    ("a.json", "currents", "currents-json"),
    ("a.jsonl.gz", "currents", "currents-json"),
])
def test_reader_by_extension_and_format(name: str, format: str, kind: str) -> None:
    assert reader_kind(Path(name), format) == kind


@pytest.fixture
def store(disk_store: Store) -> Store:
    """Imports here go to a database file, as the command line's do."""
    return disk_store


def fails(store: Store, path: Path, **options: object) -> str:
    with pytest.raises(InputError) as caught:
        import_event_files(store, [path], **options)  # type: ignore[arg-type]
    assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    return str(caught.value).replace(str(path), "FILE")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("e.csv", b"", "FILE: empty file (nothing to import)"),
    ("e.csv.gz", gzip.compress(b"", mtime=0), "FILE: empty file (nothing to import)"),
    ("e.jsonl", b"", "FILE: empty file (nothing to import)"),
    ("e.csv", b"u,2026-01-05T09:00:00Z,open_email\n",
     "FILE:1: no header line (the first line must name the columns, e.g. user_id,time,event,campaign)"),
    ("e.csv", b"user_id,event\nu,open_email\n",
     "FILE:1: missing required column(s) time (the header has user_id, event)"),
    ("e.csv", b"user_id,time,event,event\n", "FILE:1: column 'event' appears twice in the header (keep one)"),
    ("e.csv", b"user_id,time,event,\n", "FILE:1: column 4 has no name in the header (name it or remove it)"),
    ("e.csv", GOOD + b"caf\xe9,2026-01-05T09:00:00Z,open_email\n",
     "FILE:3: not UTF-8 text (byte 0xe9); save the file as UTF-8"),
    ("e.jsonl", b'{"user_id": "u", "time": 0, "event": "e"}\n{"user_id": "\xff"}\n',
     "FILE:2: not UTF-8 text (byte 0xff); save the file as UTF-8"),
    ("e.csv", "user_id,time,event\n".encode("utf-16"), "FILE: the file is UTF-16 text; save it as UTF-8"),
    ("e.csv", GOOD + b"u,2026-01-05T09:00:00Z,open\x00email\n",
     "FILE:3: contains a NUL byte (a binary or UTF-16 file?); save it as UTF-8 text"),
    ("e.jsonl", b'{"user_id": "u", "time": 0, "event": "e"}\n{"user_id": "\x00"}\n',
     "FILE:2: contains a NUL byte (a binary or UTF-16 file?); save it as UTF-8 text"),
    ("e.jsonl", b'[{"user_id": "u", "time": 0, "event": "e"}]\n',
     "FILE:1: a JSON array, not JSON lines (write one JSON object per line)"),
    ("e.csv.gz", b"this is not gzip",
     "FILE: not a valid gzip file, or cut short (Not a gzipped file (b'th')); compress it again"),
    ("e.csv.gz", gzip.compress(GOOD * 50, mtime=0)[:-12],
     "FILE: not a valid gzip file, or cut short (Compressed file ended before the end-of-stream marker was "
     "reached); compress it again"),
    ("e.avro", b"not avro at all",
     "FILE: not an Avro container file (cannot read header - is it an avro file?)"),
])
def test_file_problems_are_one_line_each(store: Store, tmp_path: Path, name: str, content: bytes,
                                         message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert fails(store, path) == message


def test_a_missing_file_and_a_folder(store: Store, tmp_path: Path) -> None:
    assert fails(store, tmp_path / "nope.csv") == f"{tmp_path}/nope.csv: no such file".replace(
        f"{tmp_path}/nope.csv", "FILE")
    empty = tmp_path / "export"
    empty.mkdir()
    (empty / "_SUCCESS").write_text("")
    assert fails(store, empty) == ("FILE: no event files in this folder (1 other files; event files end in .avro, "
                                   ".json, .jsonl, .ndjson, .csv, optionally .gz, or .parquet)")


def test_a_missing_second_file_fails_before_anything_is_read(store: Store, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(GOOD)
    with pytest.raises(InputError, match="missing.csv: no such file"):
        import_event_files(store, [good, tmp_path / "missing.csv"])
    assert store.conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_an_unknown_user_key_is_refused(store: Store, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(GOOD)
    with pytest.raises(InputError, match=r"^--user-key email: unknown user key \(use user_id or external_user_id\)$"):
        import_event_files(store, [good], user_key="email")


def test_currents_format_refuses_a_csv_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(GOOD)
    assert fails(store, path, format="currents") == (
        "FILE: Braze Currents exports are Avro (.avro) or JSON lines, not CSV "
        "(import a CSV event log without --format currents)")


def test_a_header_only_file_imports_nothing(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(b"user_id,time,event\n")
    assert import_event_files(store, [path]).stored == 0
