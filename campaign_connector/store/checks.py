"""Read-only questions ``validate --db`` asks the event log: which campaigns appear in it, and how many
interactions a publish order loses."""

from __future__ import annotations

from collections.abc import Sequence

from campaign_connector.store import Store
from campaign_connector.vocabulary import QUALIFIER_FIELDS

#: Row conditions of ``vocabulary.Interaction.condition`` as SQL (fixed text, no user input).
_CONDITIONS: dict[str, str] = {
    "no_button": "(button_id IS NULL OR button_id = '')",
    "has_button": "(button_id IS NOT NULL AND button_id != '')",
    "machine_open": "machine_open = 1",
    "not_machine_open": "machine_open = 0",
}


def campaigns_present(store: Store, values: Sequence[str]) -> set[str]:
    """Which of these logged ``campaign`` values occur on at least one event."""
    if not values:
        return set()
    marks = ", ".join("?" for _ in values)
    rows = store.conn.execute(f"SELECT DISTINCT campaign FROM events WHERE campaign IN ({marks})", list(values))
    return {row[0] for row in rows}


def count_interactions(store: Store, *, event: str, campaigns: Sequence[str], before: int,
                       fields: Sequence[tuple[str, str]] = (), condition: str | None = None) -> tuple[int, int]:
    """(events, distinct users) logged as ``event`` for one of ``campaigns`` strictly before ``before`` (ms),
    whose qualifier ``fields`` equal the given strings and that meet the interaction's ``condition``."""
    if not campaigns:
        return 0, 0
    clauses = ["event = ?", f"campaign IN ({', '.join('?' for _ in campaigns)})", "time < ?"]
    params: list[object] = [event, *campaigns, before]
    for name, value in fields:
        if name not in QUALIFIER_FIELDS:
            raise ValueError(f"not an event qualifier field: {name!r}")
        clauses.append(f"CAST({name} AS TEXT) = ?")
        params.append(value)
    if condition is not None:
        clauses.append(_CONDITIONS[condition])
    row = store.conn.execute(
        f"SELECT count(*), count(DISTINCT user_id) FROM events WHERE {' AND '.join(clauses)}", params
    ).fetchone()
    return int(row[0]), int(row[1])
