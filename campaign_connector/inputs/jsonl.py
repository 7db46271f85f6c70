"""JSON lines: one JSON object per line; blank lines are skipped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from campaign_connector.errors import InputError
from campaign_connector.inputs import READ_ERRORS, Opened

_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true/false"}


def json_rows(opened: Opened) -> Iterator[tuple[int, dict[str, Any] | None, str | None, str]]:
    """(line, object, problem, raw line) for each non-blank line; ``object`` is None when ``problem`` says why.

    A file that is one JSON array (not JSON lines), NUL bytes and undecodable bytes raise ``InputError``.
    """
    number = 0
    try:
        for number, line in enumerate(opened.text(), 1):
            text = line.strip()
            if not text:
                continue
            if number == 1 and text.startswith("["):
                raise InputError(f"{opened.name}:1: a JSON array, not JSON lines (write one JSON object per line)")
            try:
                value = json.loads(text)
            except ValueError as error:
                message = getattr(error, "msg", str(error))
                column = getattr(error, "colno", None)
                yield number, None, f"not valid JSON: {message}{f' (column {column})' if column else ''}", text
                continue
            except RecursionError:
                yield number, None, "JSON nested too deeply (keep each line a flat object)", text
                continue
            if not isinstance(value, dict):
                kind = "null" if value is None else _KINDS.get(type(value), type(value).__name__)
                yield number, None, f"expected a JSON object, got {kind}", text
                continue
            yield number, value, None, text
    except READ_ERRORS as error:
        raise opened.failure(error, number + 1) from None
