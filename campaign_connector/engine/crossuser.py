"""The cross-user rules (SPEC §4, §4.1): ``max_recipients``, then ``rate_limit``, over one campaign's sends.

Every other rule depends on one user's timeline and runs in ``Engine.run_user``; these two depend on all users,
so the replay driver applies them after the per-user pass, campaign by campaign, over the ``sent`` decisions in
(``sent_at``, ``user_id`` in code-point order, processing order) order:

1. ``max_recipients`` N keeps every send of the first N distinct users; the sends of later users become
   ``suppressed`` ``max_recipients`` with ``sent_at`` cleared (``due_at`` is kept).
2. ``rate_limit_per_minute`` N, first-in-first-out per UTC minute, over the sends still ``sent``: a send whose
   minute is full moves to the start of the first later minute with room (``sent_at`` shifted, ``due_at`` kept,
   ``detail`` records the shift); a send that would move 72 hours or more is ``suppressed``
   ``rate_limit_expired`` instead and takes no slot. A send moved past the replay's horizon (``until``) is
   ``pending`` (it has not gone by then), its shifted time in ``detail`` (SPEC §4.1 edges); it keeps its slot.

The shifts and drops do not feed back into the per-user pass: receipts, caps, chaining and re-eligibility were
decided with the per-user send times (documented in the README).

Pure: rows in, changes out, no I/O. Both rules stream, so a campaign with millions of sends needs no list of
them in memory; the input must come sorted (checked).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from campaign_connector.timeutil import format_time
from campaign_connector.vocabulary import RATE_LIMIT_EXPIRY_SECONDS

MINUTE_MS = 60_000
"""One UTC minute in ms."""

RATE_LIMIT_EXPIRY_MS = RATE_LIMIT_EXPIRY_SECONDS * 1000
"""A send moved this far or further by the rate limit is dropped."""


class Send(NamedTuple):
    """A ``sent`` decision as the cross-user rules see it."""

    seq: int
    """The decision's processing order in the run."""
    user_id: str
    """The user."""
    sent_at: int
    """ms, as the per-user pass (or an earlier cross-user rule) left it."""
    detail: str | None
    """The decision's detail so far."""


class Change(NamedTuple):
    """A new status, reason, ``sent_at`` and ``detail`` for one decision."""

    seq: int
    """The decision's processing order in the run."""
    status: str
    """``sent`` (moved), ``pending`` (moved past the horizon) or ``suppressed`` (dropped)."""
    reason: str | None
    """``max_recipients``, ``rate_limit_expired``, or None for a moved send."""
    sent_at: int | None
    """The shifted send time; None when dropped or moved past the horizon."""
    detail: str | None
    """The old detail with the rule's note appended."""


def send_order(send: Send) -> tuple[int, str, int]:
    """The order both rules read sends in: ``sent_at``, then ``user_id`` by code point, then processing order."""
    return (send.sent_at, send.user_id, send.seq)


def _in_order(sends: Iterable[Send]) -> Iterator[Send]:
    previous: tuple[int, str, int] | None = None
    for send in sends:
        key = send_order(send)
        if previous is not None and key < previous:
            raise ValueError(f"sends must come in (sent_at, user_id, seq) order: {key} after {previous}")
        previous = key
        yield send


def _note(detail: str | None, note: str) -> str:
    return f"{detail}; {note}" if detail else note


def apply_max_recipients(sends: Iterable[Send], limit: int) -> Iterator[Change]:
    """Suppress the sends of every user after the first ``limit`` distinct users (sends in ``send_order``)."""
    kept: set[str] = set()
    for send in _in_order(sends):
        if send.user_id in kept:
            continue
        if len(kept) < limit:
            kept.add(send.user_id)
            continue
        yield Change(send.seq, "suppressed", "max_recipients", None,
                     _note(send.detail, f"max_recipients {limit} reached"))


def apply_rate_limit(sends: Iterable[Send], per_minute: int, until: int | None = None) -> Iterator[Change]:
    """Move sends beyond ``per_minute`` in a UTC minute to the first later minute with room, FIFO; drop those
    moved 72 hours or more; those moved past ``until`` (the horizon, ms) become ``pending``. Sends in
    ``send_order``; only moved or dropped sends yield a change.

    Sends arrive in time order and a moved send only ever lands after its own minute, so the minutes filled so
    far form one backlog ending at ``minute``: a send from an earlier minute joins the backlog's end.
    """
    if per_minute < 1:
        raise ValueError(f"rate limit must be at least 1 per minute, got {per_minute}")
    minute: int | None = None
    used = 0
    for send in _in_order(sends):
        own = send.sent_at // MINUTE_MS
        if minute is None or own > minute:
            minute, used = own, 1
            continue
        slot, slot_used = (minute, used) if used < per_minute else (minute + 1, 0)
        if slot == own:
            used += 1
            continue
        moved_to = slot * MINUTE_MS
        shift = moved_to - send.sent_at
        if shift >= RATE_LIMIT_EXPIRY_MS:
            yield Change(send.seq, "suppressed", "rate_limit_expired", None, _note(
                send.detail, f"rate limit {per_minute}/minute would move it from {format_time(send.sent_at)} "
                f"to {format_time(moved_to)} (72 hours or more)"))
            continue
        minute, used = slot, slot_used + 1
        if until is not None and moved_to > until:
            yield Change(send.seq, "pending", None, None, _note(
                send.detail, f"rate limit {per_minute}/minute moved it from {format_time(send.sent_at)} to "
                f"{format_time(moved_to)}, after the horizon"))
            continue
        yield Change(send.seq, "sent", None, moved_to, _note(
            send.detail, f"rate limit {per_minute}/minute moved it from {format_time(send.sent_at)}"))
