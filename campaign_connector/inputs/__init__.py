"""Readers for event logs and users files: CSV, JSON lines, Braze Currents (Avro and JSON); ``.gz`` of each.

Readers yield rows with the number of the line (or Avro record) they came from, so every bad row can be
reported as ``FILE:LINE: message``. File-level problems — a missing file, a folder, an empty file, a file
that is not UTF-8, NUL bytes, a line longer than ``MAX_LINE_BYTES``, a missing header, a broken gzip or Avro
container — raise ``InputError`` with one line saying where, what and how to fix. Nothing here knows about the
store.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from campaign_connector.errors import InputError

#: ``--format`` values (SPEC §5). ``auto`` picks by extension.
FORMATS: tuple[str, ...] = ("auto", "csv", "jsonl", "parquet", "currents")

#: Extensions (after an optional ``.gz``) → reader kind.
EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".avro": "avro",
    ".parquet": "parquet",
}


#: Longest line of a text file (bytes). A longer one is refused before it is held in memory whole, so a
#: file that is one huge line (a 2 GB JSON value, a CSV without newlines) cannot exhaust memory.
MAX_LINE_BYTES = 16 * 1024 * 1024


class NulByteError(ValueError):
    """A NUL byte in a text file (binary data, or UTF-16 without a byte-order mark)."""


class LineTooLongError(ValueError):
    """A line longer than ``MAX_LINE_BYTES``; ``line`` is its number."""

    def __init__(self, line: int) -> None:
        super().__init__(f"line {line} is longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB")
        self.line = line


#: Errors a reader can meet in the middle of a file (decoding, decompressing, NUL bytes, huge lines).
READ_ERRORS = (UnicodeDecodeError, NulByteError, LineTooLongError, OSError, EOFError, zlib.error)


class _TextGuard(io.RawIOBase):
    """Passes bytes through, raising ``NulByteError`` at the first NUL and ``LineTooLongError`` once a line
    runs past ``MAX_LINE_BYTES`` (checked per chunk, not per row)."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.newlines = 0
        self.run = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        if b"\x00" in data:
            raise NulByteError("NUL byte")
        first = data.find(b"\n")
        if first < 0:
            self.run += len(data)
        else:
            if self.run + first > MAX_LINE_BYTES:  # the long line ends in this chunk
                raise LineTooLongError(self.newlines + 1)
            self.newlines += data.count(b"\n")
            self.run = len(data) - data.rfind(b"\n") - 1
        if self.run > MAX_LINE_BYTES:
            raise LineTooLongError(self.newlines + 1)
        buffer[: len(data)] = data
        return len(data)


def reader_kind(path: Path, format: str = "auto", name: str | None = None, currents_path: bool = False) -> str:
    """Which reader reads ``path``: ``csv``, ``jsonl``, ``avro`` or ``currents-json``.

    ``auto`` goes by extension (``.csv``, ``.jsonl``/``.ndjson``/``.json``, ``.avro``, each optionally
    ``.gz``), reading JSON as Currents JSON when ``currents_path`` (its path has an ``event_type=`` folder);
    ``currents`` reads ``.avro`` files as Avro containers and anything else as Currents JSON. ``name`` is how
    messages call the file (default: its path).
    """
    shown = name or str(path)
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = Path(name).suffix
    by_extension = EXTENSIONS.get(suffix)
    if format == "currents":
        if by_extension == "csv":
            raise InputError(f"{shown}: Braze Currents exports are Avro (.avro) or JSON lines, not CSV "
                             "(import a CSV event log without --format currents)")
        return "avro" if by_extension == "avro" else "currents-json"
    if format in ("csv", "jsonl", "parquet"):
        return format
    if format != "auto":
        raise InputError(f"--format {format}: unknown format (use one of {', '.join(FORMATS)})")
    if by_extension is None:
        raise InputError(
            f"{shown}: cannot tell the format from the extension {suffix or '(none)'!r} "
            "(name it .csv, .jsonl, .avro — optionally .gz — or .parquet, or pass --format csv|jsonl|parquet|currents)"
        )
    if by_extension == "jsonl" and currents_path:
        return "currents-json"
    return by_extension


def check_file(path: Path, name: str | None = None) -> None:
    """Raise ``InputError`` unless ``path`` is a readable, non-empty file (``name``: how messages call it)."""
    shown = name or str(path)
    if path.is_dir():
        raise InputError(f"{shown}: is a folder, not a file (give the file itself)")
    if not path.exists():
        raise InputError(f"{shown}: no such file")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as error:
        raise InputError(f"{shown}: cannot read the file ({error.strerror or error})") from None
    if size == 0:
        raise InputError(f"{shown}: empty file (nothing to import)")


class Opened:
    """A file opened for reading, decompressed when it ends in ``.gz``; knows how far it has been read.

    ``name`` is how messages show the file (a URL, ``<stdin>``) when ``path`` is a local copy of it: ``path`` and
    ``name`` are then that name, ``local`` the copy."""

    def __init__(self, path: Path, name: str | None = None) -> None:
        self.path: Path | str = name if name is not None else path
        self.name = str(self.path)
        self.local = path
        self.raw: BinaryIO = path.open("rb")
        self.size = path.stat().st_size
        self.binary: BinaryIO = self.raw
        if path.name.lower().endswith(".gz"):
            self.binary = gzip.GzipFile(fileobj=self.raw, mode="rb")  # type: ignore[assignment]
        try:
            head = self.binary.peek(4)[:4] if hasattr(self.binary, "peek") else b""
        except READ_ERRORS as error:
            self.close()
            raise self.failure(error) from None
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            self.close()
            raise InputError(f"{self.name}: the file is UTF-16 text; save it as UTF-8")
        if not head:
            self.close()
            raise InputError(f"{self.name}: empty file (nothing to import)")

    def text(self) -> TextIO:
        """The file as UTF-8 text (a UTF-8 byte-order mark is dropped); newlines kept for the csv module."""
        return io.TextIOWrapper(io.BufferedReader(_TextGuard(self.binary)), encoding="utf-8-sig", newline="")

    def position(self) -> int:
        """Bytes of the file on disk consumed so far (compressed bytes for ``.gz``)."""
        try:
            return min(self.raw.tell(), self.size)
        except (OSError, ValueError):
            return self.size

    def failure(self, error: BaseException, line: int | None = None) -> InputError:
        """A one-line ``InputError`` for an error met while reading."""
        if isinstance(error, NulByteError):
            return self.nul_byte(first_line_with(self.local, b"\x00"))
        if isinstance(error, LineTooLongError):
            return InputError(f"{self.name}:{error.line}: line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB "
                              "(is this an event log? split huge values, or keep properties small)")
        if isinstance(error, UnicodeDecodeError):
            where = bad_utf8_line(self.local)
            byte = error.object[error.start:error.start + 1].hex() if error.object else "??"
            at = f":{where}" if where else ""
            return InputError(f"{self.name}{at}: not UTF-8 text (byte 0x{byte}); save the file as UTF-8")
        if isinstance(error, EOFError | zlib.error | gzip.BadGzipFile):
            return InputError(f"{self.name}: not a valid gzip file, or cut short ({error}); compress it again")
        at = f":{line}" if line else ""
        return InputError(f"{self.name}{at}: cannot read the file ({error})")

    def nul_byte(self, line: int | None) -> InputError:
        """The message for a NUL byte (binary or UTF-16 data)."""
        at = f":{line}" if line else ""
        return InputError(f"{self.name}{at}: contains a NUL byte (a binary or UTF-16 file?); save it as UTF-8 text")

    def close(self) -> None:
        """Close the file."""
        if self.binary is not self.raw:
            self.binary.close()
        self.raw.close()


def bad_utf8_line(path: Path) -> int | None:
    """The first line of ``path`` (decompressed for ``.gz``) that is not valid UTF-8, or None."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    return number
    except READ_ERRORS:
        return None
    return None


def first_line_with(path: Path, needle: bytes) -> int | None:
    """The first line of ``path`` (decompressed for ``.gz``) that contains ``needle``, or None."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                if needle in line:
                    return number
    except READ_ERRORS:
        return None
    return None


def raw_lines(path: Path, spans: dict[int, int]) -> dict[int, str]:
    """The text of the lines ``start..end`` for each ``start: end`` in ``spans`` (for rejects files)."""
    found: dict[int, str] = {}
    if not spans:
        return found
    last = max(spans.values())
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    collecting: dict[int, list[str]] = {}
    with opener(path, "rb") as handle:
        for number, data in enumerate(handle, 1):
            if number > last:
                break
            text = data.decode("utf-8", errors="replace")
            if number == 1:
                text = text.removeprefix("\ufeff")
            if number in spans:
                collecting[number] = []
            for start in list(collecting):
                collecting[start].append(text)
                if spans[start] <= number:
                    found[start] = "".join(collecting.pop(start)).rstrip("\r\n")
    return found
