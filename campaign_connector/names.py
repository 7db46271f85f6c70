"""Names checked against the known ones: an unknown campaign, status, reason or run in a filter or a scenario
file is an error that lists the known names, with a did-you-mean for a likely typo."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from campaign_connector.errors import InputError

#: Known names listed in a message before the rest are counted.
LISTED = 20


def known_names(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?; known: a, b, c)`` — the closest name when one is close, then the known names in
    the order given (the first ``LISTED``, then how many more); `` (none are known)`` when there are none."""
    names = list(dict.fromkeys(known))
    if not names:
        return " (none are known)"
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    listed = ", ".join(names[:LISTED]) + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")
    return f" ({f'did you mean {close[0]!r}?; ' if close else ''}known: {listed})"


def check_name(kind: str, value: str | None, known: Iterable[str], where: str = "") -> str | None:
    """``value`` when it is None or one of ``known``; else an ``InputError``: ``WHERE: unknown KIND 'value'
    (did you mean ...?; known: ...)``."""
    names = list(known)
    if value is None or value in names:
        return value
    prefix = f"{where}: " if where else ""
    raise InputError(f"{prefix}unknown {kind} {value!r}{known_names(value, names)}")
