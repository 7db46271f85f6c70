"""The replay's read side of the event log: timelines streamed per user, ranges for workers, fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_connector.importer import import_event_rows, import_user_rows
from campaign_connector.model import UserProfile
from campaign_connector.store import Store
from campaign_connector.store.events import (
    count_events,
    iter_timelines,
    load_timeline,
    log_fingerprint,
    log_state,
    user_ranges,
)
from campaign_connector.timeutil import parse_time

T = parse_time


def ev(user: str, time: str, event: str = "open_email", **fields: object) -> dict[str, object]:
    return {"user_id": user, "time": time, "event": event, **fields}


@pytest.fixture
def store(store: Store) -> Store:
    """Six events of three users, and users-file rows for bob and zed (who has no events)."""
    import_event_rows(store, [
        ev("bob", "2026-01-02T00:00:00Z", id="b2"),
        ev("alice", "2026-01-03T00:00:00Z", "click_email", id="a3", link_alias="cta", properties={"n": 1}),
        ev("bob", "2026-01-01T00:00:00Z", id="b1", machine_open="yes"),
        ev("alice", "2026-01-01T00:00:00Z", id="a1", campaign="welcome", timezone="Europe/Berlin"),
        ev("alice", "2026-01-01T00:00:00Z", id="a2", conversion_index=2),
        ev("carol", "2026-01-05T00:00:00Z", id="c1"),
    ])
    import_user_rows(store, [
        {"user_id": "bob", "timezone": "America/New_York", "global_control_group": "true",
         "unsubscribed": "sms;email", "plan": "pro"},
        {"user_id": "zed", "plan": "free"},
    ])
    return store


def ids(events: list) -> list[str]:
    return [e.id for e in events]


def test_timelines_come_in_user_order_with_events_in_time_then_import_order(store: Store) -> None:
    got = [(user, ids(events)) for user, events, _ in iter_timelines(store, until=None)]
    assert got == [("alice", ["a1", "a2", "a3"]), ("bob", ["b1", "b2"]), ("carol", ["c1"])]


def test_timeline_events_carry_every_stored_field(store: Store) -> None:
    (_, alice, _), (_, bob, _), _ = iter_timelines(store, until=None)
    a1, a2, a3 = alice
    assert (a1.time, a1.campaign, a1.timezone, a1.synthetic) == (T("2026-01-01T00:00:00Z"), "welcome",
                                                                 "Europe/Berlin", False)
    assert a2.conversion_index == 2
    assert (a3.event, a3.link_alias, a3.properties) == ("click_email", "cta", {"n": 1})
    assert bob[0].machine_open is True and bob[1].machine_open is False
    assert a1.seq < a2.seq


def test_timelines_attach_the_users_file_profile_or_none(store: Store) -> None:
    profiles = {user: profile for user, _, profile in iter_timelines(store, until=None)}
    assert profiles["alice"] is None and profiles["carol"] is None
    assert profiles["bob"] == UserProfile("bob", "America/New_York", True, frozenset({"email", "sms"}))
    assert profiles["bob"].attributes == {"plan": "pro"}


def test_until_excludes_later_events_and_users_left_without_events(store: Store) -> None:
    got = [(user, ids(events)) for user, events, _ in iter_timelines(store, until=T("2026-01-02T00:00:00Z"))]
    assert got == [("alice", ["a1", "a2"]), ("bob", ["b1", "b2"])]


@pytest.mark.parametrize(("lo", "hi", "users"), [
    (None, "bob", ["alice"]),
    ("bob", None, ["bob", "carol"]),
    ("b", "c", ["bob"]),
    ("alice", "alice", []),
])
def test_ranges_are_lo_inclusive_hi_exclusive(store: Store, lo: str | None, hi: str | None,
                                              users: list[str]) -> None:
    assert [u for u, _, _ in iter_timelines(store, until=None, lo=lo, hi=hi)] == users


def test_profiles_are_matched_inside_a_range(store: Store) -> None:
    [(user, _, profile)] = iter_timelines(store, until=None, lo="b", hi="c")
    assert user == "bob" and profile is not None and profile.timezone == "America/New_York"


@pytest.mark.parametrize("n", [1, 2, 3, 4, 10])
def test_user_ranges_cover_every_user_once_in_order(store: Store, n: int) -> None:
    ranges = user_ranges(store, n)
    assert user_ranges(store, n, log_state(store).events) == ranges  # the count a replay already has
    assert 1 <= len(ranges) <= n
    assert ranges[0][0] is None and ranges[-1][1] is None
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    seen = [u for lo, hi in ranges for u, _, _ in iter_timelines(store, until=None, lo=lo, hi=hi)]
    assert seen == ["alice", "bob", "carol"]


def test_user_ranges_balance_event_counts() -> None:
    with Store.open(":memory:") as db:
        import_event_rows(db, [ev(f"u{i:03d}", f"2026-01-01T00:00:{j:02d}Z")
                               for i in range(100) for j in range(i % 5 + 1)])
        ranges = user_ranges(db, 4)
        sizes = [sum(len(e) for _, e, _ in iter_timelines(db, until=None, lo=lo, hi=hi)) for lo, hi in ranges]
        assert len(ranges) == 4 and sum(sizes) == 300
        assert max(sizes) - min(sizes) <= 10


def test_user_ranges_never_split_a_user_nor_leave_a_range_empty() -> None:
    """The first user holds most events: the bounds that fall inside their events are dropped, not doubled."""
    with Store.open(":memory:") as db:
        import_event_rows(db, [ev("a", f"2026-01-01T00:00:{j:02d}Z") for j in range(30)]
                          + [ev(user, "2026-01-01T00:00:00Z") for user in ("b", "c", "d")])
        assert user_ranges(db, 2) == [(None, None)]
        assert user_ranges(db, 12) == [(None, "b"), ("b", None)]
        assert user_ranges(db, 33) == [(None, "b"), ("b", "c"), ("c", "d"), ("d", None)]


def test_user_ranges_of_an_empty_log_is_one_open_range() -> None:
    with Store.open(":memory:") as db:
        assert user_ranges(db, 4) == [(None, None)]


def test_load_timeline_is_one_users_slice(store: Store) -> None:
    events, profile = load_timeline(store, "bob", T("2026-01-01T12:00:00Z"))
    assert ids(events) == ["b1"] and profile is not None and profile.unsubscribed == {"email", "sms"}
    assert load_timeline(store, "nobody", None) == ([], None)


def test_fingerprint_changes_with_events_and_users_and_only_then(store: Store) -> None:
    before = log_fingerprint(store)
    import_event_rows(store, [ev("bob", "2026-01-02T00:00:00Z", id="b2")])  # a duplicate: nothing stored
    assert log_fingerprint(store) == before
    import_event_rows(store, [ev("dave", "2026-01-09T00:00:00Z")])
    after_event = log_fingerprint(store)
    assert after_event != before
    import_user_rows(store, [{"user_id": "bob", "plan": "team"}])
    assert log_fingerprint(store) != after_event


@pytest.mark.slow
def test_fingerprint_of_a_log_whose_times_add_up_past_64_bits() -> None:
    # 1.4 million events in 2191: their times in ms add up to more than 2**63, which SQLite's sum() refuses
    # ("integer overflow"); a 10M-event log of today's times overflowed the same way.
    with Store.open(":memory:") as db:
        db.conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1400000) "
            "INSERT INTO events (seq, id, user_id, time, event) SELECT i, 'e' || i, 'u', 7000000000000, 'purchase' "
            "FROM n"
        )
        assert log_fingerprint(db).startswith("events=1400000/1400000/")


def test_last_event_time_and_count_events(store: Store) -> None:
    assert log_state(store) == (log_fingerprint(store), T("2026-01-05T00:00:00Z"), 6)
    assert count_events(store, None) == 6
    assert count_events(store, T("2026-01-01T00:00:00Z")) == 3
    with Store.open(":memory:") as empty:
        assert log_state(empty)[1:] == (None, 0)


def test_the_files_the_tool_creates_use_its_page_size_and_older_databases_keep_theirs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import campaign_connector.store as store_module
    from campaign_connector.store import PAGE_SIZE
    from campaign_connector.store.runs import open_scratch

    with Store.open(tmp_path / "new.db") as new:
        import_event_rows(new, [ev("a", "2026-01-01T00:00:00Z")])
        assert new.conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384
    scratch = open_scratch(tmp_path / "scratch.db")
    assert scratch.conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
    scratch.close()
    with monkeypatch.context() as before:  # a database made by a version that left SQLite's default
        before.setattr(store_module, "PAGE_SIZE", 4096)
        Store.open(tmp_path / "old.db").close()
    with Store.open(tmp_path / "old.db") as reopened:
        import_event_rows(reopened, [ev("a", "2026-01-01T00:00:00Z"), ev("b", "2026-01-01T00:00:00Z")])
        assert reopened.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert count_events(reopened, None) == 2
