"""``import-users``: time zones, global control group overrides, unsubscribes, attributes (SPEC §3.3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campaign_connector.errors import InputError
from campaign_connector.importer import BadRowsError, import_user_files, import_user_rows
from campaign_connector.store import Store
from campaign_connector.store.events import load_timeline


def users(store: Store) -> list[tuple]:
    return store.conn.execute("SELECT * FROM users ORDER BY user_id").fetchall()


def test_csv_columns_map_to_profile_fields_and_attributes(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("user_id,timezone,global_control_group,unsubscribed,plan,age\n"
                    "u1,Europe/Berlin,true,sms;email,pro,42\n"
                    "u2,,,,,\n"
                    "u3,,FALSE, push ,free,\n")
    summary = import_user_files(store, path)
    assert summary.stored == 3
    assert users(store) == [
        ("u1", "Europe/Berlin", 1, "email;sms", '{"plan":"pro","age":"42"}'),
        ("u2", None, None, None, "{}"),
        ("u3", None, 0, "push", '{"plan":"free"}'),
    ]
    _, profile = load_timeline(store, "u1", None)
    assert profile is not None
    assert (profile.timezone, profile.global_control_group, profile.unsubscribed, profile.attributes) == (
        "Europe/Berlin", True, frozenset({"email", "sms"}), {"plan": "pro", "age": "42"})


def test_jsonl_keeps_attribute_values_and_accepts_channel_lists(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "users.jsonl"
    path.write_text(json.dumps({"user_id": "u1", "global_control_group": False, "unsubscribed": ["email"],
                                "age": 42, "vip": True, "gone": None}) + "\n")
    import_user_files(store, path)
    assert users(store) == [("u1", None, 0, "email", '{"age":42,"vip":true}')]


def test_reimport_replaces_a_users_row(store: Store) -> None:
    import_user_rows(store, [{"user_id": "u1", "timezone": "Europe/Berlin", "plan": "pro"}])
    import_user_rows(store, [{"user_id": "u1", "seats": 3}])
    assert users(store) == [("u1", None, None, None, '{"seats":3}')]


def test_within_one_file_the_last_row_of_a_user_wins(store: Store) -> None:
    import_user_rows(store, [{"user_id": "u1", "plan": "a"}, {"user_id": "u1", "plan": "b"}])
    assert users(store) == [("u1", None, None, None, '{"plan":"b"}')]


@pytest.mark.parametrize(("row", "reason"), [
    ({"plan": "x"}, "missing user_id"),
    ({"user_id": "u", "timezone": "Europe/Nowhere"},
     "timezone: unknown time zone 'Europe/Nowhere' (use an IANA name like 'America/New_York')"),
    ({"user_id": "u", "global_control_group": "maybe"}, "global_control_group: expected true or false, got 'maybe'"),
    ({"user_id": "u", "unsubscribed": "email;fax"},
     "unsubscribed: unknown channel 'fax' (channels: email, push, sms, webhook, content_card, in_app)"),
    ({"user_id": "u", "unsubscribed": 3}, "unsubscribed: expected channels separated by ';', got a number"),
])
def test_bad_user_rows_store_nothing(store: Store, row: dict, reason: str) -> None:
    with pytest.raises(BadRowsError) as caught:
        import_user_rows(store, [{"user_id": "ok"}, row], source="users")
    assert [str(bad) for bad in caught.value.bad_rows] == [f"users:2: {reason}"]
    assert users(store) == []


def test_a_users_csv_needs_a_user_id_column(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("id,plan\nu1,pro\n")
    with pytest.raises(InputError, match=r"users\.csv:1: no header line \(the first line must name the columns, "
                                         r"e\.g\. user_id,timezone,plan\)"):
        import_user_files(store, path)


def test_a_users_file_in_avro_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "users.avro"
    path.write_bytes(b"Obj\x01")
    with pytest.raises(InputError, match="a users file is CSV or JSON lines"):
        import_user_files(store, path)


def test_users_import_is_recorded_in_the_ledger(store: Store) -> None:
    import_user_rows(store, [{"user_id": "u1"}], source="s")
    assert store.conn.execute("SELECT kind, files, stored FROM imports").fetchall() == [("users", '["s"]', 1)]
