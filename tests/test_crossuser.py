"""The cross-user rules (SPEC §4, §4.1), pure: sends in (sent_at, user_id, seq) order → changes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaign_connector.engine.crossuser import Change, Send, apply_max_recipients, apply_rate_limit, send_order
from campaign_connector.timeutil import parse_time

T = parse_time("2026-01-05T10:00:00Z")
MIN = 60_000
HOUR = 3_600_000


def sends(*rows: tuple[str, int]) -> list[Send]:
    """(user, ms offset from T) → sends numbered in the given order, then sorted as the driver reads them."""
    return sorted((Send(i, user, T + offset, None) for i, (user, offset) in enumerate(rows)), key=send_order)


@pytest.mark.parametrize(
    ("rows", "limit", "dropped"),
    [
        ([("a", 0), ("b", 1), ("c", 2)], 2, ["c"]),
        # a user's later sends stay once the user is among the first N
        ([("a", 0), ("b", 1), ("a", 2), ("c", 3)], 2, ["c"]),
        # every send of a user past the limit is dropped
        ([("a", 0), ("b", 1), ("b", 2)], 1, ["b", "b"]),
        # equal sent_at: user_id in code-point order ("B" < "a" < "é"), not processing order
        ([("é", 0), ("a", 0), ("B", 0)], 2, ["é"]),
        ([("a", 0), ("b", 0)], 5, []),
    ],
)
def test_max_recipients_keeps_the_first_n_distinct_users(rows, limit, dropped) -> None:
    given = sends(*rows)
    changes = list(apply_max_recipients(given, limit))
    by_seq = {s.seq: s for s in given}
    assert [by_seq[c.seq].user_id for c in changes] == dropped
    for change in changes:
        assert change.status == "suppressed"
        assert change.reason == "max_recipients"
        assert change.sent_at is None
        assert change.detail == f"max_recipients {limit} reached"


def test_max_recipients_appends_to_an_existing_detail() -> None:
    given = [Send(0, "a", T, None), Send(1, "b", T, "held by quiet hours until 07:00 UTC")]
    assert list(apply_max_recipients(given, 1)) == [
        Change(1, "suppressed", "max_recipients", None, "held by quiet hours until 07:00 UTC; max_recipients 1 reached")
    ]


def shifts(rows: list[tuple[str, int]], per_minute: int) -> list[tuple[str, str, str | None]]:
    """Each send's outcome: (user, status, new sent_at or None), for the sends that changed."""
    given = sends(*rows)
    by_seq = {s.seq: s for s in given}
    out = []
    for change in apply_rate_limit(given, per_minute):
        moved = None if change.sent_at is None else f"+{(change.sent_at - T) // 1000}s"
        out.append((by_seq[change.seq].user_id, change.reason or change.status, moved))
    return out


@pytest.mark.parametrize(
    ("rows", "per_minute", "expected"),
    [
        # within the limit nothing moves
        ([("a", 0), ("b", 30_000)], 2, []),
        # the third send of a minute goes to the start of the next minute
        ([("a", 0), ("b", 10_000), ("c", 20_000)], 2, [("c", "sent", "+60s")]),
        # FIFO: the moved send takes a slot of the next minute, pushing that minute's own send further
        ([("a", 0), ("b", 10_000), ("c", MIN + 5_000)], 1, [("b", "sent", "+60s"), ("c", "sent", "+120s")]),
        # a later minute with room is not touched by an earlier backlog that has drained
        ([("a", 0), ("b", 1), ("c", 5 * MIN + 7_000)], 1, [("b", "sent", "+60s")]),
        # ties at one instant are served in user_id code-point order
        ([("b", 0), ("a", 0), ("A", 0)], 2, [("b", "sent", "+60s")]),
        # a send already at the start of a free minute keeps its time
        ([("a", 0), ("b", 0), ("c", MIN)], 1, [("b", "sent", "+60s"), ("c", "sent", "+120s")]),
    ],
)
def test_rate_limit_moves_sends_beyond_the_limit_fifo(rows, per_minute, expected) -> None:
    assert shifts(rows, per_minute) == expected


def test_rate_limit_detail_records_the_shift() -> None:
    given = [Send(0, "a", T, None), Send(1, "b", T + 1_500, "cap push 1/1 day")]
    assert list(apply_rate_limit(given, 1)) == [
        Change(1, "sent", None, T + MIN, "cap push 1/1 day; rate limit 1/minute moved it from 2026-01-05T10:00:01.500Z")
    ]


def test_rate_limit_drops_sends_moved_72_hours_or_more() -> None:
    # 1 per minute and 72 h of sends all at T: the send that would land exactly 72 h later expires, and so does
    # every later one, since dropped sends take no slot.
    per_hour = 60
    n = 72 * per_hour + 3
    given = [Send(i, f"u{i:05d}", T, None) for i in range(n)]
    changes = list(apply_rate_limit(given, 1))
    moved = [c for c in changes if c.status == "sent"]
    expired = [c for c in changes if c.status == "suppressed"]
    assert len(moved) == 72 * per_hour - 1
    assert moved[-1].sent_at == T + 72 * HOUR - MIN
    assert [c.seq for c in expired] == list(range(72 * per_hour, n))
    assert {(c.reason, c.sent_at) for c in expired} == {("rate_limit_expired", None)}
    assert expired[0].detail == (
        "rate limit 1/minute would move it from 2026-01-05T10:00:00Z to 2026-01-08T10:00:00Z (72 hours or more)"
    )


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (0, ("suppressed", None)),  # moved exactly 72 h
        (30_000, ("sent", T + 72 * HOUR)),  # moved 71 h 59 min 30 s: kept
    ],
)
def test_rate_limit_expiry_counts_from_the_send_own_time(offset, expected) -> None:
    # 72 h of a 1-per-minute backlog at T, then user z: the first free minute starts at T + 72 h
    given = [Send(i, f"u{i:05d}", T, None) for i in range(72 * 60)] + [Send(99_999, "z", T + offset, None)]
    last = list(apply_rate_limit(given, 1))[-1]
    assert last.seq == 99_999
    assert (last.status, last.sent_at) == expected


def test_rate_limit_may_move_a_send_past_any_horizon_and_it_stays_sent() -> None:
    # the pure rule knows no horizon: the replay's horizon decides which sends are due, not when they arrive
    given = [Send(0, "a", T, None), Send(1, "b", T, None)]
    assert [(c.status, c.sent_at) for c in apply_rate_limit(given, 1)] == [("sent", T + MIN)]


@pytest.mark.parametrize("rule", [lambda s: apply_max_recipients(s, 1), lambda s: apply_rate_limit(s, 1)])
def test_sends_out_of_order_are_refused(rule) -> None:
    with pytest.raises(ValueError, match="order"):
        list(rule([Send(0, "b", T, None), Send(1, "a", T, None)]))


# --------------------------------------------------------------------------------------------------
# properties


send_lists = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", "B", "é"]), st.integers(0, 10 * MIN)), max_size=40
)


@pytest.mark.slow
@given(rows=send_lists, per_minute=st.integers(1, 4))
def test_rate_limit_invariants(rows: list[tuple[str, int]], per_minute: int) -> None:
    given_sends = sends(*rows)
    changes = {c.seq: c for c in apply_rate_limit(given_sends, per_minute)}
    final = [changes[s.seq].sent_at if s.seq in changes else s.sent_at for s in given_sends]
    kept = [(s, at) for s, at in zip(given_sends, final, strict=True) if at is not None]
    per_minute_counts: dict[int, int] = {}
    for _, at in kept:
        per_minute_counts[at // MIN] = per_minute_counts.get(at // MIN, 0) + 1
    assert max(per_minute_counts.values(), default=0) <= per_minute  # never more than the limit in a minute
    assert all(at >= s.sent_at and at - s.sent_at < 72 * HOUR for s, at in kept)  # later, by less than 72 h
    assert [at for _, at in kept] == sorted(at for _, at in kept)  # first in, first out
    assert all(c.sent_at is None or c.sent_at % MIN == 0 for c in changes.values())  # moved to a minute's start


@pytest.mark.slow
@given(rows=send_lists, limit=st.integers(1, 5))
def test_max_recipients_invariants(rows: list[tuple[str, int]], limit: int) -> None:
    given_sends = sends(*rows)
    dropped = {c.seq for c in apply_max_recipients(given_sends, limit)}
    kept_users = {s.user_id for s in given_sends if s.seq not in dropped}
    assert len(kept_users) == min(limit, len({s.user_id for s in given_sends}))
    assert not kept_users & {s.user_id for s in given_sends if s.seq in dropped}  # a user is kept or dropped whole
