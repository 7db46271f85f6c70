"""Files the tool writes: ``atomic_output``, and the suffix → format table ``-o`` reads.

Every command that writes a file goes through ``atomic_output`` (the library's writers can too: this module
imports neither rich nor the CLI): the text goes to a temporary file in the
target's folder, is flushed to disk, and is renamed over the target only when complete — an error or an
interrupt leaves the previous file (or none) and no temporary file. The new file gets the permissions any new
file gets under the umask (``tempfile.mkstemp`` would give 0600).
"""

from __future__ import annotations

import gzip
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from campaign_connector.errors import InputError

#: The format of a file written with ``-o`` and no ``--format``, by its suffix (lower case).
FORMAT_BY_SUFFIX: dict[str, str] = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
                                    ".parquet": "parquet"}


def format_by_suffix(path: Path) -> str | None:
    """The format ``path``'s suffix names (``FORMAT_BY_SUFFIX``), None when it names none."""
    return FORMAT_BY_SUFFIX.get(path.suffix.lower())


def _create_temporary(path: Path) -> tuple[Path, int]:
    """A new, empty temporary file beside ``path`` (mode 0666 less the umask) and its descriptor."""
    while True:
        temporary = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
        try:
            return temporary, os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as error:
            raise InputError(f"{path}: cannot write ({error.strerror}); check the folder exists and "
                             "is writable") from None


@contextmanager
def atomic_output(path: Path | None, *, newline: str | None = None, compress: bool = False) -> Iterator[TextIO]:
    """A UTF-8 text stream: stdout when ``path`` is None, else a temporary file beside ``path`` renamed over it
    when the block ends without error. ``newline`` as ``open``'s (``""`` for csv, which writes its own).
    ``compress`` gzips the file, with no timestamp in its header: the same text gives the same bytes."""
    if path is None:
        yield sys.stdout
        return
    if path.is_dir():
        raise InputError(f"{path}: is a folder (give -o a file path)")
    temporary, fd = _create_temporary(path)
    try:
        if compress:
            with os.fdopen(fd, "wb") as raw:
                zipped = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
                with io.TextIOWrapper(zipped, encoding="utf-8", newline=newline) as out:
                    yield out
                raw.flush()
                os.fsync(raw.fileno())
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
