"""Where the shipped sample data lives, for ``campaign-connector demo``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from campaign_connector.errors import InputError


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
