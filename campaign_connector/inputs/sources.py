"""What an import reads: the paths it was given, expanded into event files (SPEC §3.2 "Exports as they land").

A path is a file, a folder, an object-store URL (``s3://``, ``gs://``, ``az://``; a file or a folder) or ``-``
for standard input. Folders are walked recursively and their event files (``.avro``, ``.json``, ``.jsonl``,
``.ndjson``, ``.csv``, each optionally ``.gz``) taken in sorted path order; anything else in them (``_SUCCESS``
markers, manifests, empty files) is counted as skipped. A file named explicitly is always read.

Each ``Source`` has a display name for messages (the path or URL as given, ``<stdin>``), a local file to read
(the file itself, or a temporary copy of an object or of standard input) and the event type its path names
(Braze's storage layout ``<prefix>/event_type=users.messages.email.Open/date=2026-01-05-14/<schema id>/<zone>/
<name>.avro``). ``open_sources`` is a context manager: the temporary copies are removed when it ends.

Object stores go through fsspec and the store's own package (s3fs, gcsfs, adlfs: the optional extras
``[s3]``, ``[gcs]``, ``[azure]``); credentials come from that package's usual environment (``AWS_*``
variables and profiles, Google application-default credentials, ``AZURE_STORAGE_*``). Nothing here logs them.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from campaign_connector.errors import InputError

#: Extensions of event files taken from a folder (each optionally followed by ``.gz``), and Parquet files
#: (compressed inside, never ``.gz``): a folder of Parquet parts is what Spark and warehouses write.
EVENT_FILE_EXTENSIONS: tuple[str, ...] = (".avro", ".json", ".jsonl", ".ndjson", ".csv")
PARQUET_EXTENSION = ".parquet"
#: The event file names, as messages list them.
EVENT_FILE_NAMES = f"{', '.join(EVENT_FILE_EXTENSIONS)}, optionally .gz, or {PARQUET_EXTENSION}"

#: URL scheme → (the optional extra that reads it, the package that extra installs).
STORE_EXTRAS: dict[str, tuple[str, str]] = {
    "s3": ("s3", "s3fs"),
    "s3a": ("s3", "s3fs"),
    "gs": ("gcs", "gcsfs"),
    "gcs": ("gcs", "gcsfs"),
    "az": ("azure", "adlfs"),
    "abfs": ("azure", "adlfs"),
    "abfss": ("azure", "adlfs"),
}

#: The display name of standard input.
STDIN = "<stdin>"

#: Avro container files start with these bytes; gzip files with the next.
_AVRO_MAGIC = b"Obj\x01"
_GZIP_MAGIC = b"\x1f\x8b"
#: ``--format`` → the extension standard input's copy gets, so the readers pick the right kind.
_STDIN_EXTENSION = {"csv": ".csv", "jsonl": ".jsonl", "currents": ".json", "parquet": ".parquet"}


@dataclass(frozen=True)
class Source:
    """One file an import reads."""

    name: str
    """How messages name it: the path or URL as given (a folder's files under it), or ``<stdin>``."""
    path: Path
    """The local file to read (a temporary copy for objects and standard input)."""
    event_type: str | None = None
    """The Currents event type named by an ``event_type=`` segment of its path, if any."""
    local: bool = True
    """Whether ``path`` is the user's own file (rejects files go next to it), not a temporary copy."""


@dataclass
class Sources:
    """The expansion of an import's paths."""

    files: list[Source] = field(default_factory=list)
    """The event files, in the order given (each folder's files in sorted path order)."""
    skipped: int = 0
    """Files in the folders that are not event files (or are empty), left out."""


def event_type_in_path(name: str) -> str | None:
    """The event type an ``event_type=TYPE`` segment of a path or URL names (the last one), else None."""
    found = None
    for part in name.replace("\\", "/").split("/"):
        if part.startswith("event_type=") and len(part) > len("event_type="):
            found = part[len("event_type="):]
    return found


def is_event_file(name: str) -> bool:
    """Whether a file name ends in an event file extension (optionally ``.gz``) or ``.parquet``; hidden files
    are not."""
    lower = PurePosixPath(name).name.lower()
    if lower.startswith("."):
        return False
    if lower.endswith(PARQUET_EXTENSION):
        return True
    lower = lower.removesuffix(".gz")
    return lower.endswith(EVENT_FILE_EXTENSIONS)


def url_scheme(path: str) -> str | None:
    """The object-store scheme of a URL path (``s3``, ``gs``, ``az``...), None for a local path."""
    scheme, sep, _ = path.partition("://")
    if not sep:
        return None
    return scheme.lower()


def _store_fs(url: str) -> tuple[Any, str]:
    """(fsspec file system, path within it) for an object-store URL; one line naming the extra when missing."""
    scheme = url_scheme(url) or ""
    extra = STORE_EXTRAS.get(scheme)
    if extra is None:
        schemes = ", ".join(sorted({f"{s}://" for s in ("s3", "gs", "az")}))
        raise InputError(f"{url}: unknown URL scheme {scheme}:// (object stores: {schemes}; or give a local path)")
    try:
        import fsspec

        fs, path = fsspec.core.url_to_fs(url)
        return fs, str(path)
    except ImportError:
        raise InputError(f"{url}: reading {scheme}:// URLs needs the {extra[1]} package: "
                         f"pip install 'campaign-connector[{extra[0]}]'") from None
    except Exception as error:
        raise InputError(f"{url}: cannot open the object store ({type(error).__name__}: {error})") from None


def store_files(url: str) -> tuple[Any, list[tuple[str, str]], int]:
    """(file system, [(display URL, object path)], skipped count) for a URL naming an object or a prefix."""
    fs, root = _store_fs(url)
    scheme = url_scheme(url)
    try:
        if fs.isdir(root):
            found = sorted(fs.find(root, detail=True).items())
            objects, skipped = [], 0
            for key, info in found:
                if is_event_file(key) and int(info.get("size") or 0) > 0:
                    objects.append((f"{scheme}://{key}", key))
                else:
                    skipped += 1
            return fs, objects, skipped
        if fs.isfile(root):
            return fs, [(url, root)], 0
    except InputError:
        raise
    except Exception as error:
        raise InputError(f"{url}: cannot list the object store ({type(error).__name__}: {error}); check the URL "
                         "and the store's credentials in the environment") from None
    raise InputError(f"{url}: no such object or folder in the store")


def folder_files(folder: Path) -> tuple[list[Path], int]:
    """A folder's event files in sorted path order (as text, like object keys), and how many other files it holds."""
    files, skipped = [], 0
    found = (p for p in folder.rglob("*") if not p.is_dir())
    for path in sorted(found, key=lambda p: p.relative_to(folder).as_posix()):
        try:
            empty = path.stat().st_size == 0
        except OSError:
            empty = False  # unreadable: the reader says so
        if is_event_file(path.name) and not empty:
            files.append(path)
        else:
            skipped += 1
    return files, skipped


def _stdin_copy(stream: BinaryIO, target: Path, format: str) -> Path:
    """Copy standard input to a file in ``target`` whose extension tells the readers its kind."""
    head = stream.read(4)
    extension = _STDIN_EXTENSION.get(format)
    if head.startswith(_AVRO_MAGIC):
        extension = ".avro"
    elif head.startswith(_GZIP_MAGIC) and extension is not None:
        extension += ".gz"
    elif extension is None:
        raise InputError(f"{STDIN}: cannot tell the format of standard input (pass --format csv, jsonl or "
                         "currents)")
    path = target / f"stdin{extension}"
    with path.open("wb") as out:
        out.write(head)
        shutil.copyfileobj(stream, out)
    return path


@contextmanager
def open_sources(paths: Sequence[str | Path], *, format: str = "auto", stdin: BinaryIO | None = None,
                 folders: bool = True) -> Iterator[Sources]:
    """Expand ``paths`` into the files an import reads (see the module docstring); temporary copies of objects
    and standard input live until the ``with`` block ends. ``folders=False`` refuses folders (users files)."""
    result = Sources()
    temporary: tempfile.TemporaryDirectory[str] | None = None

    def scratch() -> Path:
        nonlocal temporary
        if temporary is None:
            temporary = tempfile.TemporaryDirectory(prefix="campaign-connector-")
        return Path(temporary.name)

    try:
        for given in paths:
            text = str(given)
            if text == "-":
                if any(s.name == STDIN for s in result.files):
                    raise InputError("-: standard input can be read only once (give '-' once)")
                if stdin is None and sys.stdin.isatty():
                    raise InputError("-: standard input is a terminal (pipe the data in: ... | campaign-connector "
                                     "import - --format csv)")
                stream = stdin if stdin is not None else sys.stdin.buffer
                copy = _stdin_copy(stream, scratch(), format)
                result.files.append(Source(STDIN, copy, None, local=False))
            elif url_scheme(text) is not None:
                fs, objects, skipped = store_files(text)
                if not folders and (len(objects) != 1 or objects[0][0] != text):
                    raise InputError(f"{text}: is a folder, not a file (give the file itself)")
                if not objects:
                    raise InputError(f"{text}: no event files under this prefix ({skipped} other objects; event "
                                     f"files end in {EVENT_FILE_NAMES})")
                result.skipped += skipped
                for number, (name, key) in enumerate(objects):
                    local = scratch() / f"{len(result.files) + number:06d}-{PurePosixPath(key).name}"
                    try:
                        fs.get_file(key, str(local))
                    except Exception as error:
                        raise InputError(f"{name}: cannot read the object ({type(error).__name__}: {error})") \
                            from None
                    result.files.append(Source(name, local, event_type_in_path(name), local=False))
            else:
                path = Path(given)
                if path.is_dir() and folders:
                    files, skipped = folder_files(path)
                    result.skipped += skipped
                    if not files:
                        raise InputError(f"{path}: no event files in this folder ({skipped} other files; event "
                                         f"files end in {EVENT_FILE_NAMES})")
                    result.files += [Source(str(f), f, event_type_in_path(str(f))) for f in files]
                else:
                    result.files.append(Source(str(path), path, event_type_in_path(str(path))))
        yield result
    finally:
        if temporary is not None:
            temporary.cleanup()
