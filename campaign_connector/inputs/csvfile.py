"""CSV files with a header line: the header checked, then rows as lists of strings with their line numbers."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from campaign_connector.errors import InputError
from campaign_connector.inputs import READ_ERRORS, Opened

#: Longest field accepted (properties JSON can be long); the csv module's default is 128 KiB.
csv.field_size_limit(16 * 1024 * 1024)


class CsvFile:
    """An open CSV file whose header has been read. Iterate ``reader`` for rows; ``reader.line_num`` is the
    number of the last physical line read (a quoted field may span lines)."""

    def __init__(self, path: Path, name: str | None = None) -> None:
        self.opened = Opened(path, name)
        self.path = self.opened.path
        self.reader = csv.reader(self.opened.text())
        try:
            header = next(self.reader)
        except StopIteration:
            self.opened.close()
            raise InputError(f"{path}: empty file (nothing to import)") from None
        except csv.Error as error:
            self.opened.close()
            raise self.failure(error) from None
        except READ_ERRORS as error:
            self.opened.close()
            raise self.opened.failure(error, 1) from None
        self.header = [name.strip() for name in header]

    def failure(self, error: BaseException) -> InputError:
        """A one-line ``InputError`` for an error the csv module or the decoder raised mid-file."""
        line = self.reader.line_num or 1
        if isinstance(error, csv.Error):
            return InputError(f"{self.path}:{line}: not valid CSV ({error})")
        return self.opened.failure(error, line)

    def check_header(self, required: Sequence[str], example: str) -> None:
        """Raise ``InputError`` for a missing header line, missing required columns, or unnamed/duplicate ones."""
        header = self.header
        present = [name for name in required if name in header]
        if not present:
            raise InputError(
                f"{self.path}:1: no header line (the first line must name the columns, e.g. {example})"
            )
        missing = [name for name in required if name not in header]
        if missing:
            raise InputError(
                f"{self.path}:1: missing required column(s) {', '.join(missing)} "
                f"(the header has {', '.join(header)})"
            )
        seen: set[str] = set()
        for number, name in enumerate(header, 1):
            if not name:
                raise InputError(f"{self.path}:1: column {number} has no name in the header (name it or remove it)")
            if name in seen:
                raise InputError(f"{self.path}:1: column {name!r} appears twice in the header (keep one)")
            seen.add(name)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line, fields) for each non-blank row; ``line`` is where the row starts."""
        reader = self.reader
        last = reader.line_num
        try:
            for fields in reader:
                start = last + 1
                last = reader.line_num
                if fields:
                    yield start, fields
        except csv.Error as error:
            raise self.failure(error) from None
        except READ_ERRORS as error:
            raise self.opened.failure(error, reader.line_num) from None

    def close(self) -> None:
        """Close the file."""
        self.opened.close()
