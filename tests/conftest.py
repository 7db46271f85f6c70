"""Fixtures every test module may ask for. Each closes what it opens after the test.

Shared campaign files live in ``configs.py``; the command line's runners in ``clikit.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campaign_connector.store import Store


@pytest.fixture
def store() -> Iterator[Store]:
    """An empty store in memory."""
    with Store.open(":memory:") as opened:
        yield opened


@pytest.fixture
def disk_store(tmp_path: Path) -> Iterator[Store]:
    """An empty store in a file (``tmp_path / "t.db"``, write-ahead logged), as the command line opens one."""
    with Store.open(tmp_path / "t.db") as opened:
        yield opened
