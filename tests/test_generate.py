"""`generate`: a deterministic, valid, plausible synthetic log for campaigns.example.yaml."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaign_connector.cli import app
from campaign_connector.config import load_config
from campaign_connector.engine import campaign_bucket, global_bucket
from campaign_connector.errors import InputError
from campaign_connector.generate import DEFAULT_START, example_config_path, generate_log, source_campaigns
from campaign_connector.model import Config
from campaign_connector.timeutil import DAY_MS, get_zone, is_zone, parse_time, to_datetime
from campaign_connector.vocabulary import BUILTIN_EVENTS, EVENT_FIELDS, INTERACTION_EVENTS

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
#: The custom events the generator writes (besides interactions, purchase and session_start).
CUSTOM_EVENTS = {"add_to_cart", "abandoned_cart"}


@pytest.fixture(scope="module")
def example() -> Config:
    return load_config(example_config_path())


@pytest.fixture(scope="module")
def log(example: Config, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """300 users over 35 days (seed 3): the events and the users file, as CSV rows."""
    folder = tmp_path_factory.mktemp("gen")
    generate_log(example, folder / "e.csv", users=300, days=35, seed=3, users_file=folder / "u.csv")
    return _csv(folder / "e.csv"), _csv(folder / "u.csv")


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _generate(example: Config, path: Path, **options: object) -> bytes:
    generate_log(example, path, **{"users": 40, "days": 10, "seed": 1, **options})  # type: ignore[arg-type]
    return path.read_bytes()


# -- determinism ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["a.csv", "a.jsonl", "a.csv.gz", "a.jsonl.gz"])
def test_same_seed_writes_identical_bytes(example: Config, tmp_path: Path, name: str) -> None:
    first = _generate(example, tmp_path / name)
    second = _generate(example, tmp_path / f"again-{name}")
    assert first == second


def test_different_seed_writes_a_different_log(example: Config, tmp_path: Path) -> None:
    assert _generate(example, tmp_path / "a.csv", seed=1) != _generate(example, tmp_path / "b.csv", seed=2)


def test_users_file_does_not_change_the_event_log(example: Config, tmp_path: Path) -> None:
    alone = _generate(example, tmp_path / "a.csv")
    with_users = _generate(example, tmp_path / "b.csv", users_file=tmp_path / "u.csv")
    assert alone == with_users


def test_jsonl_holds_the_same_events_as_csv(example: Config, tmp_path: Path) -> None:
    _generate(example, tmp_path / "a.csv")
    _generate(example, tmp_path / "a.jsonl.gz")
    rows = _csv(tmp_path / "a.csv")
    with gzip.open(tmp_path / "a.jsonl.gz", "rt", encoding="utf-8") as handle:
        objects = [json.loads(line) for line in handle]
    assert len(objects) == len(rows)
    for row, obj in zip(rows, objects, strict=True):
        assert {k: v for k, v in row.items() if v} == {
            k: (json.dumps(v, separators=(",", ":")) if k == "properties" else str(v).lower() if k == "machine_open"
                else v)
            for k, v in obj.items()
        }


def test_sample_data_is_what_its_documented_command_writes(example: Config, tmp_path: Path) -> None:
    """sample_data/README.md: generate --users 600 --days 35 --seed 7 (default start)."""
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    assert ("campaign-connector generate --users 600 --days 35 --seed 7 -o sample_data/events.csv "
            "--users-file sample_data/users.csv") in readme
    generate_log(example, tmp_path / "events.csv", users=600, days=35, seed=7, users_file=tmp_path / "users.csv")
    assert (tmp_path / "events.csv").read_bytes() == (SAMPLE / "events.csv").read_bytes()
    assert (tmp_path / "users.csv").read_bytes() == (SAMPLE / "users.csv").read_bytes()


# -- every row is valid (SPEC §3.1) ---------------------------------------------------------------------

def test_columns_are_the_event_log_fields(example: Config, tmp_path: Path) -> None:
    _generate(example, tmp_path / "a.csv")
    header = (tmp_path / "a.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == list(EVENT_FIELDS)


def test_every_row_has_the_required_fields_and_a_known_event(log: tuple[list[dict[str, str]], list]) -> None:
    events, _ = log
    known = INTERACTION_EVENTS | set(BUILTIN_EVENTS) | CUSTOM_EVENTS
    for row in events:
        assert row["user_id"] and row["time"] and row["event"] in known, row


def test_times_are_inside_the_days_and_never_decrease(log: tuple[list[dict[str, str]], list]) -> None:
    events, _ = log
    start = parse_time(DEFAULT_START.isoformat())
    times = [parse_time(row["time"]) for row in events]
    assert times == sorted(times)
    assert start <= times[0] and times[-1] < start + 35 * DAY_MS


def test_the_log_and_users_file_import_without_a_rejected_row(example: Config, tmp_path: Path) -> None:
    from campaign_connector.importer import import_event_files, import_user_files
    from campaign_connector.store import Store

    _generate(example, tmp_path / "a.csv.gz", users_file=tmp_path / "u.jsonl")
    with gzip.open(tmp_path / "a.csv.gz", "rt", encoding="utf-8") as lines:
        rows = sum(1 for _ in lines) - 1
    with Store.open(":memory:", create=True) as store:
        events = import_event_files(store, [tmp_path / "a.csv.gz"])
        users = import_user_files(store, tmp_path / "u.jsonl")
    assert (events.stored, events.rejected, events.warnings) == (rows, 0, ())
    assert (users.stored, users.rejected) == (40, 0)


def test_ids_are_unique(log: tuple[list[dict[str, str]], list]) -> None:
    events, _ = log
    assert len({row["id"] for row in events}) == len(events)


def test_qualifiers_sit_on_the_events_they_qualify(log: tuple[list[dict[str, str]], list]) -> None:
    events, _ = log
    for row in events:
        assert bool(row["link_alias"]) <= (row["event"] == "click_email"), row
        assert bool(row["button_id"]) == (row["event"] == "click_push_button"), row
        assert bool(row["machine_open"]) == (row["event"] == "open_email"), row
        assert row["machine_open"] in ("", "true", "false")
        assert not row["timezone"] or is_zone(row["timezone"]), row


def test_properties_are_json_objects_with_the_fields_segments_use(log: tuple[list[dict[str, str]], list]) -> None:
    events, _ = log
    keys = {"purchase": {"product_id", "price", "currency"}, "add_to_cart": {"cart_value", "item_count"},
            "abandoned_cart": {"cart_value", "item_count"}}
    for row in events:
        if row["event"] in keys:
            properties = json.loads(row["properties"])
            assert set(properties) == keys[row["event"]]
        else:
            assert row["properties"] == ""


def test_campaigns_in_the_log_are_declared_sources_of_the_example(
    example: Config, log: tuple[list[dict[str, str]], list]
) -> None:
    events, _ = log
    logged = {row["campaign"] for row in events if row["campaign"]}
    sources = {c.braze_id or c.id for c in example.campaigns if not c.simulated}
    assert logged <= sources
    assert "5f3c1a9e-0b1d-4c2e-9f00-1a2b3c4d5e6f" in logged  # free_shipping_push is logged by its braze_id
    canvas = [row for row in events if not row["campaign"] and row["event"] in ("receive_email", "click_email")]
    assert canvas, "a few Canvas emails carry no campaign"


def test_no_source_sends_before_it_is_published(example: Config, log: tuple[list[dict[str, str]], list]) -> None:
    events, _ = log
    published = {c.braze_id or c.id: c.published_at for c in example.campaigns}
    for row in events:
        if row["event"].startswith("receive_") and row["campaign"]:
            assert parse_time(row["time"]) >= published[row["campaign"]], row


def test_only_live_source_campaigns_send(example: Config) -> None:
    assert [s.id for s in source_campaigns(example)] == [
        "free_shipping_push", "weekly_newsletter", "abandoned_cart_push", "vip_offer_email", "holiday_sale_2025",
    ]  # holiday_sale_2025 is archived: it stopped before any generated day, so it never sends


# -- plausible rates and behaviour ----------------------------------------------------------------------

def _by_campaign(events: list[dict[str, str]]) -> Counter[tuple[str, str]]:
    return Counter((row["campaign"], row["event"]) for row in events)


def test_engagement_rates_are_plausible(log: tuple[list[dict[str, str]], list]) -> None:
    events, _ = log
    count = _by_campaign(events)
    newsletter = "weekly_newsletter"
    sent = count[newsletter, "receive_email"]
    assert sent > 100
    assert 0.2 * sent < count[newsletter, "open_email"] < 0.6 * sent
    assert 0 < count[newsletter, "click_email"] < 0.15 * sent
    push = "5f3c1a9e-0b1d-4c2e-9f00-1a2b3c4d5e6f"
    pushed = count[push, "receive_push"]
    assert 0 < count[push, "open_push_directly"] < 0.15 * pushed
    assert 0 < count[push, "click_push_button"] < 0.15 * pushed
    totals = Counter(row["event"] for row in events)
    assert totals["purchase"] < totals["session_start"]
    assert totals["abandoned_cart"] < totals["add_to_cart"]


def test_email_opens_include_machine_opens_and_clicks_carry_aliases(log: tuple[list[dict[str, str]], list]) -> None:
    events, _ = log
    opens = Counter(row["machine_open"] for row in events if row["event"] == "open_email")
    assert opens["true"] > 0 and opens["false"] > opens["true"]
    aliases = {row["link_alias"] for row in events if row["event"] == "click_email"}
    assert {"read_more", "shop_sale"} <= aliases
    buttons = {row["button_id"] for row in events if row["event"] == "click_push_button"}
    assert "shop_now" in buttons


def test_opens_and_clicks_follow_a_send_of_the_same_campaign(log: tuple[list[dict[str, str]], list]) -> None:
    events, _ = log
    received: set[tuple[str, str]] = set()
    for row in events:
        key = (row["user_id"], row["campaign"])
        if row["event"].startswith("receive_"):
            received.add(key)
        elif row["event"] in ("open_email", "click_email", "open_push_directly", "click_push_button"):
            assert key in received, row


def test_control_group_users_are_enrolled_instead_of_sent(log: tuple[list[dict[str, str]], list]) -> None:
    events, _ = log
    enrolled = {row["user_id"] for row in events if row["event"] == "enroll_in_control_group"}
    sent = {
        row["user_id"] for row in events if row["campaign"] == "vip_offer_email" and row["event"] == "receive_email"
    }
    assert enrolled and sent and not enrolled & sent
    assert {row["campaign"] for row in events if row["event"] == "enroll_in_control_group"} == {"vip_offer_email"}
    assert all(campaign_bucket(user, "vip_offer_email") < 20 for user in enrolled)


def test_global_control_group_gets_no_promotional_sends(log: tuple[list[dict[str, str]], list]) -> None:
    events, users = log
    override = {u["user_id"]: u["global_control_group"] for u in users}
    held_out = {
        user for user, flag in override.items()
        if flag == "true" or (flag == "" and global_bucket(user) < 500)
    }
    assert held_out
    for row in events:
        if row["event"].startswith("receive_") or row["event"] == "enroll_in_control_group":
            assert row["user_id"] not in held_out, row


def test_sends_go_out_at_the_planned_local_hour(log: tuple[list[dict[str, str]], list]) -> None:
    """free_shipping_push: Mondays from 12:00 local (the wave lasts 45 minutes)."""
    events, users = log
    zones = {u["user_id"]: u["timezone"] for u in users}
    for row in events:
        if row["event"] != "receive_push" or row["campaign"] != "5f3c1a9e-0b1d-4c2e-9f00-1a2b3c4d5e6f":
            continue
        zone = zones[row["user_id"]]
        if zone:
            local = to_datetime(parse_time(row["time"]), get_zone(zone))
            assert (local.weekday(), local.hour) == (0, 12), row


def test_session_starts_carry_the_zone_of_users_who_have_one(log: tuple[list[dict[str, str]], list]) -> None:
    events, users = log
    zones = {u["user_id"]: u["timezone"] for u in users}
    sessions = [row for row in events if row["event"] == "session_start"]
    assert all(row["timezone"] == zones[row["user_id"]] for row in sessions if zones[row["user_id"]])
    assert any(row["timezone"] for row in sessions if not zones[row["user_id"]]), "some zones only on events"
    assert any(not row["timezone"] for row in sessions), "some users have no zone at all"


def test_the_users_file_lists_every_user_with_zones_attributes_and_a_few_overrides(
    log: tuple[list[dict[str, str]], list]
) -> None:
    events, users = log
    assert [u["user_id"] for u in users] == [f"u{n:06d}" for n in range(1, 301)]
    assert {row["user_id"] for row in events} <= {u["user_id"] for u in users}
    assert all(not u["timezone"] or is_zone(u["timezone"]) for u in users)
    assert {u["plan"] for u in users} == {"free", "plus", "premium"}
    assert any(u["unsubscribed"] for u in users)
    assert {u["unsubscribed"] for u in users} <= {"", "email", "push", "sms", "email;sms"}
    assert {u["global_control_group"] for u in users} <= {"", "true", "false"}
    assert all(float(u["lifetime_value"]) > 0 for u in users)


def test_unsubscribed_users_get_nothing_on_those_channels(log: tuple[list[dict[str, str]], list]) -> None:
    events, users = log
    off = {u["user_id"]: set(u["unsubscribed"].split(";")) for u in users if u["unsubscribed"]}
    channel = {"receive_email": "email", "receive_push": "push", "receive_sms": "sms"}
    for row in events:
        if row["event"] in channel:
            assert channel[row["event"]] not in off.get(row["user_id"], set()), row


# -- bad arguments and the CLI ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("events.txt", "unknown output format (name it .csv or .jsonl, optionally with .gz)"),
        ("events.parquet", "unknown output format (name it .csv or .jsonl, optionally with .gz)"),
        ("events.json", "unknown output format (name it .csv or .jsonl, optionally with .gz)"),
        ("missing-folder/events.csv", "cannot write"),
    ],
)
def test_bad_output_paths_are_one_line_errors(example: Config, tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        generate_log(example, tmp_path / name, users=2, days=1)
    assert not list(tmp_path.rglob("*.tmp"))


def test_cli_generate_writes_the_log_and_says_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        app, ["generate", "--users", "20", "--days", "3", "--seed", "5", "-o", str(out),
              "--users-file", str(tmp_path / "users.csv"), "--start", "2026-01-12"],
    )
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output and "20 users, 2026-01-12 to 2026-01-14" in result.output
    first = json.loads(io.StringIO(out.read_text(encoding="utf-8")).readline())
    assert first["time"].startswith("2026-01-12")
    assert (tmp_path / "users.csv").read_text(encoding="utf-8").startswith("user_id,timezone,")


def test_cli_generate_bad_start_is_a_usage_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["generate", "--users", "2", "--days", "1", "-o", str(tmp_path / "e.csv"),
                                      "--start", "2026-13-01"])
    assert result.exit_code == 1
    assert isinstance(result.exception, InputError)
    assert "--start: '2026-13-01' is not a date" in str(result.exception)


def test_default_start_is_a_monday_before_the_sources_go_live(example: Config) -> None:
    assert (DEFAULT_START, DEFAULT_START.weekday()) == (date(2025, 12, 29), 0)
    first_publication = min(c.published_at or 0 for c in example.campaigns if not c.simulated
                            and c.status == "active")
    assert parse_time(DEFAULT_START.isoformat()) < first_publication
