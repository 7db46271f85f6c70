"""A realistic synthetic event log (and users file) for a campaign workspace — by default the shipped
``campaigns.example.yaml``.

What the log holds, day by day in each user's local time: app sessions (carrying the user's ``timezone``),
carts (``add_to_cart``, then ``purchase`` rows per product or an ``abandoned_cart``), and the live sends of the
workspace's SOURCE campaigns (the ones without triggers) at plausible local hours, followed by the engagement
they draw: email opens (human, and machine opens within minutes), link clicks with ``link_alias``, direct push
opens and push button clicks with ``button_id``, SMS short-link clicks, content-card views — and
``enroll_in_control_group`` rows instead of a send for users in a source's control group. Users in the global
control group get no source campaign (unless the campaign carries an excluded tag); unsubscribed users get
nothing on those channels. A few Canvas emails (no ``campaign``) carry a ``shop_sale`` link.

How each source campaign was sent (weekdays, hour, reach, links, buttons) is the generator's only knowledge
of the example; it lives in ``tables.SEND_PLANS``. Campaigns it does not know get a plain weekly plan by channel.

Deterministic: one ``random.Random(seed)`` draws everything, in a fixed order, so the same arguments give the
same bytes (gzip output included). Streaming: users are walked one local day at a time and only the events of
the two UTC days still open are held in memory; rows are written in time order.

``tables`` holds what the generator knows (send plans, rates, zones, catalogue), ``simulation`` draws the users
and their days, ``writers`` writes the rows; ``generate_log`` here ties them together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

from campaign_connector.errors import InputError
from campaign_connector.generate.simulation import Generator, source_campaigns
from campaign_connector.generate.tables import DEFAULT_START
from campaign_connector.generate.writers import check_target, file_format, write_events, write_users
from campaign_connector.model import Config
from campaign_connector.outputs import atomic_output

__all__ = [
    "DEFAULT_START", "GenerateSummary", "example_config_path", "generate_log", "parse_start", "source_campaigns",
    "write_users",
]

#: The days an event log may hold (timeutil's 1970..2199).
_FIRST_DAY, _LAST_DAY = date(1970, 1, 1), date(2199, 12, 31)


def example_config_path() -> Path:
    """The shipped ``campaigns.example.yaml`` (packaged with the sample data)."""
    return Path(str(resources.files("campaign_connector.sample_data").joinpath("campaigns.example.yaml")))


@dataclass(frozen=True, slots=True)
class GenerateSummary:
    """What ``generate_log`` wrote."""

    path: Path
    """The event log written."""
    users: int
    """Users generated."""
    days: int
    """Days covered."""
    start: date
    """First day (UTC)."""
    events: int
    """Rows written."""
    counts: dict[str, int]
    """Rows per event name."""
    users_file: Path | None = None
    """The users file written, if asked for."""

    def describe(self) -> str:
        """A one-paragraph summary for the terminal."""
        end = self.start + timedelta(days=self.days - 1)
        sends = sum(n for name, n in self.counts.items() if name.startswith("receive_"))
        text = (
            f"Wrote {self.events:,} events for {self.users:,} users, {self.start} to {end}, to {self.path} "
            f"({sends:,} sends, {self.counts.get('open_email', 0):,} email opens, "
            f"{self.counts.get('purchase', 0):,} purchases)."
        )
        if self.users_file is not None:
            text += f" Users file: {self.users_file}."
        return text


def parse_start(value: str | None) -> date:
    """``--start``: a date ``YYYY-MM-DD`` (None → ``DEFAULT_START``)."""
    if value is None:
        return DEFAULT_START
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"--start: {value!r} is not a date (write it as YYYY-MM-DD, e.g. 2026-01-05)") from None


def generate_log(
    config: Config,
    output: Path,
    *,
    users: int,
    days: int,
    seed: int = 1,
    start: date = DEFAULT_START,
    users_file: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GenerateSummary:
    """Write a synthetic event log for ``config`` (and optionally its users file). Same arguments, same bytes."""
    if users < 1 or days < 1:
        raise InputError(f"generate: --users and --days must be at least 1 (got {users} and {days})")
    if start < _FIRST_DAY or (_LAST_DAY - start).days < days - 1:
        raise InputError(f"generate: --start {start} and --days {days} leave 1970-01-01..2199-12-31, the times "
                         "an event log may hold (pick a start and a number of days inside it)")
    kind, gz = file_format(output)
    check_target(output)
    if users_file is not None:
        file_format(users_file)
        check_target(users_file)
    generator = Generator(config, users, days, seed, start)
    counts: Counter[str] = Counter()
    with atomic_output(output, newline="", compress=gz) as out:
        events = write_events(generator.days_of_rows(progress), out, kind, f"g{seed}-", counts)
    if users_file is not None:
        write_users(generator.users, users_file)
    return GenerateSummary(
        path=output, users=users, days=days, start=start, events=events,
        counts=dict(sorted(counts.items())), users_file=users_file,
    )
