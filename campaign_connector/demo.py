"""Where the shipped sample data lives, for ``campaign-connector demo``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from campaign_connector.errors import InputError
from campaign_connector.model import DecisionFilter
from campaign_connector.store import Store
from campaign_connector.store.results import iter_decisions
from campaign_connector.store.runs import find_run


@dataclass(frozen=True, slots=True)
class SampleData:
    """Paths of the sample files, copied into a throw-away folder with the demo database beside them."""

    config: Path
    """The example campaign file."""
    events: Path
    """The sample event log."""
    users: Path
    """The sample users file."""
    db: Path
    """The throw-away database."""


SAMPLE_FILES = {"config": "campaigns.example.yaml", "events": "events.csv", "users": "users.csv"}


@contextmanager
def sample_data(folder: Path) -> Iterator[SampleData]:
    """Copy the packaged sample files into ``folder`` (a temporary directory) and yield their paths."""
    package = files("campaign_connector.sample_data")
    paths: dict[str, Path] = {}
    for key, name in SAMPLE_FILES.items():
        source = package / name
        if not source.is_file():
            raise InputError(f"sample data: {name} is missing from the installed package (reinstall it)")
        target = folder / name
        with source.open("rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        paths[key] = target
    yield SampleData(config=paths["config"], events=paths["events"], users=paths["users"], db=folder / "demo.db")


def installed_paths() -> dict[str, str]:
    """The packaged sample files as paths a user can type (``KEY`` → path), when they are plain files."""
    package = files("campaign_connector.sample_data")
    return {key: str(package / name) for key, name in SAMPLE_FILES.items() if Path(str(package / name)).is_file()}


def showcase_user(db: Path) -> str | None:
    """A user of the latest run whose follow-up an exception cancelled (the most telling ``explain``)."""
    with Store.open(db, create=False) as store:
        run = find_run(store, None)
        for decision in iter_decisions(store, run.id, DecisionFilter(status="cancelled")):
            return decision.user_id
    return None


def next_steps(user: str | None) -> list[str]:
    """The "what next" commands, with the installed sample files' real paths."""
    paths = installed_paths()
    config = paths.get("config", "campaigns.example.yaml")
    events = paths.get("events", "events.csv")
    users = paths.get("users", "users.csv")
    return [
        "Run the same steps yourself (the database is ./campaign_connector.db unless --db says otherwise):",
        f"  campaign-connector validate {config}",
        f"  campaign-connector import {events}",
        f"  campaign-connector import-users {users}",
        f"  campaign-connector replay {config} --name baseline",
        "  campaign-connector report",
        "  campaign-connector sends --status suppressed --format csv -o suppressed.csv",
        f"  campaign-connector explain {user or 'USER_ID'}      # one user's timeline, and why",
        "Then copy the config, change a delay or a publish date, replay it as --name what-if, and compare:",
        "  campaign-connector diff baseline what-if",
        "Make a bigger log with: campaign-connector generate --users 20000 --days 30 -o events.csv",
    ]
