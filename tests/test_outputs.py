"""``atomic_output``: a written file appears whole or not at all, with the permissions a new file gets."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import pytest

from campaign_connector.errors import InputError
from campaign_connector.outputs import atomic_output


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_written_file_gets_the_permissions_of_a_new_file_under_the_umask(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        with atomic_output(tmp_path / "out.csv") as out:
            out.write("a\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o666 & ~umask


def test_a_written_file_replaces_the_old_one_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n", encoding="utf-8")
    with atomic_output(target, newline="") as out:
        out.write("new\r\n")
    assert target.read_bytes() == b"new\r\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_output_to_a_folder_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"), atomic_output(tmp_path) as out:
        out.write("x")
    assert list(tmp_path.iterdir()) == []


def test_a_compressed_file_holds_the_text_and_the_same_text_gives_the_same_bytes(tmp_path: Path) -> None:
    written = []
    for name in ("a.csv.gz", "b.csv.gz"):
        with atomic_output(tmp_path / name, newline="", compress=True) as out:
            out.write("user_id,time\r\nu1,2026-01-05T09:00:00Z\n")
        written.append((tmp_path / name).read_bytes())
    assert gzip.decompress(written[0]) == b"user_id,time\r\nu1,2026-01-05T09:00:00Z\n"
    assert written[0] == written[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv.gz", "b.csv.gz"]
