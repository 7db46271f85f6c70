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
of the example; it lives in ``SEND_PLANS``. Campaigns it does not know get a plain weekly plan by channel.

Deterministic: one ``random.Random(seed)`` draws everything, in a fixed order, so the same arguments give the
same bytes (gzip output included). Streaming: users are walked one local day at a time and only the events of
the two UTC days still open are held in memory; rows are written in time order.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import random
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from itertools import accumulate
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, cast

from campaign_connector.engine import campaign_bucket, global_bucket
from campaign_connector.errors import InputError
from campaign_connector.model import Campaign, Config
from campaign_connector.timeutil import get_zone, local_wall_to_ms
from campaign_connector.vocabulary import EVENT_FIELDS, RECEIVE_EVENT

#: The first day of a generated log when none is given: a Monday, one week before the example's source
#: campaigns go live (so that audiences looking back at sessions and purchases have some history).
DEFAULT_START = date(2025, 12, 29)
#: The days an event log may hold (timeutil's 1970..2199).
_FIRST_DAY, _LAST_DAY = date(1970, 1, 1), date(2199, 12, 31)

DAY = 86_400
HOUR = 3_600
MINUTE = 60


def example_config_path() -> Path:
    """The shipped ``campaigns.example.yaml`` (packaged with the sample data)."""
    return Path(str(resources.files("campaign_connector.sample_data").joinpath("campaigns.example.yaml")))


# --------------------------------------------------------------------------------------------------
# The generator's knowledge of the example workspace


@dataclass(frozen=True, slots=True)
class SendPlan:
    """How the live system sent one source campaign."""

    weekdays: tuple[int, ...] = (2,)
    """Local weekdays it goes out on (0 = Monday)."""
    every_weeks: int = 1
    """1 = every week, 2 = every other week (counted from the week the campaign starts)."""
    hour: int = 11
    """Local hour the send starts; sends spread over the following ``spread_minutes``."""
    spread_minutes: int = 45
    """Width of the send wave."""
    reach: float = 0.6
    """Share of the reachable users who get each send."""
    after_event: str | None = None
    """Sent after this event (e.g. ``abandoned_cart``) instead of on a schedule."""
    lag_minutes: int = 60
    """For ``after_event``: how long after the event the send goes."""
    plans: tuple[str, ...] = ()
    """Only users on these plans (empty = everyone)."""
    links: tuple[tuple[str, float], ...] = (("cta", 1.0),)
    """Email link aliases with their relative weights."""
    buttons: tuple[tuple[str, float], ...] = ()
    """Push buttons with the share of receivers who click each."""
    purchase_after_click: float = 0.12
    """Chance that a click or open leads to a purchase in the session it starts (cart aside)."""
    product: str | None = None
    """What that purchase buys (None = a catalogue product)."""


#: The example's source campaigns, as the live system sent them.
SEND_PLANS: dict[str, SendPlan] = {
    "free_shipping_push": SendPlan(
        weekdays=(0,), hour=12, reach=0.8, buttons=(("shop_now", 0.05), ("later", 0.012)),
    ),
    "weekly_newsletter": SendPlan(
        weekdays=(1,), every_weeks=2, hour=10, reach=0.95,
        links=(("read_more", 5.0), ("shop_sale", 3.0), ("preferences", 0.5)),
    ),
    "abandoned_cart_push": SendPlan(after_event="abandoned_cart", lag_minutes=60, reach=0.75),
    "vip_offer_email": SendPlan(
        weekdays=(3,), hour=15, reach=0.9, plans=("plus", "premium"),
        links=(("claim_offer", 4.0), ("see_terms", 1.0)), purchase_after_click=0.3, product="plus_membership",
    ),
}

#: Plans for unknown source campaigns, by channel.
DEFAULT_PLAN = SendPlan()


@dataclass(frozen=True, slots=True)
class Rates:
    """Engagement after a send, by channel (shares of receivers, delays in seconds)."""

    email_open: float = 0.24
    """Human opens."""
    email_open_median: float = 2 * HOUR
    """Median delay of a human open (log-normal, at most three days)."""
    email_machine_open: float = 0.12
    """Machine opens (privacy proxies), within minutes of the send."""
    email_click: float = 0.18
    """Clicks, as a share of human opens."""
    email_reopen: float = 0.1
    """A second open, as a share of human opens."""
    push_open: float = 0.06
    """Direct push opens."""
    push_open_median: float = 15 * MINUTE
    """Median delay of a push open or button click."""
    sms_click: float = 0.05
    """SMS short-link clicks."""
    card_view: float = 0.35
    """Content-card views."""
    card_click: float = 0.1
    """Content-card clicks, as a share of views."""
    card_dismiss: float = 0.08
    """Content-card dismissals, as a share of views."""
    in_app_click: float = 0.1
    """In-app message clicks, as a share of views."""


RATES = Rates()

#: (IANA zone or None, country, weight). ``None``: the user's zone is unknown (workspace zone applies).
ZONES: tuple[tuple[str | None, str, int], ...] = (
    ("America/New_York", "US", 26),
    ("America/Chicago", "US", 12),
    ("America/Denver", "US", 4),
    ("America/Los_Angeles", "US", 13),
    ("America/Toronto", "CA", 5),
    ("America/Vancouver", "CA", 2),
    ("Europe/London", "GB", 7),
    ("Europe/Berlin", "DE", 6),
    ("Australia/Sydney", "AU", 3),
    ("Asia/Kolkata", "IN", 2),
    ("Asia/Tokyo", "JP", 2),
    (None, "US", 18),
)

PLANS: tuple[tuple[str, int], ...] = (("free", 68), ("plus", 26), ("premium", 6))

#: (product_id, price). Carts draw from it; ``plus_membership`` is bought after the VIP offer.
CATALOGUE: tuple[tuple[str, float], ...] = (
    ("sku-1001", 12.5), ("sku-1002", 19.99), ("sku-1003", 24.0), ("sku-1004", 29.99), ("sku-1005", 34.5),
    ("sku-1006", 39.0), ("sku-1007", 44.99), ("sku-1008", 49.99), ("sku-1009", 59.0), ("sku-1010", 64.99),
    ("sku-1011", 79.0), ("sku-1012", 89.99), ("sku-1013", 99.0), ("sku-1014", 119.0), ("sku-1015", 149.0),
)
PRICES = {"plus_membership": 49.0, **dict(CATALOGUE)}
#: The ``properties`` of a purchase row, per product.
PURCHASE_PROPERTIES = {
    product: json.dumps({"product_id": product, "price": price, "currency": "USD"}, separators=(",", ":"))
    for product, price in PRICES.items()
}

#: Relative weight of a session starting in each local hour 0..23.
SESSION_HOURS = (1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2.5, 3.5, 3, 2.8, 3, 4, 3.5, 2.8, 2.6, 2.8, 3.2, 4, 5, 5.5, 5, 3.5, 2)
_SESSION_CUM = tuple(accumulate(SESSION_HOURS))[:-1]
_SESSION_TOTAL = sum(SESSION_HOURS)

#: Unsubscribed channel sets in the users file, with their share of users.
UNSUBSCRIBED: tuple[tuple[str, float], ...] = (("email", 0.03), ("push", 0.02), ("sms", 0.01), ("email;sms", 0.01))

#: Share of users whose zone is known only from their events (not the users file).
ZONE_ONLY_ON_EVENTS = 0.3

# --------------------------------------------------------------------------------------------------
# Users


@dataclass(slots=True)
class User:
    """A synthetic user (all draws made up front, so the users file never changes the event log)."""

    id: str
    """``u000001``…, zero-padded to at least six digits."""
    zone: str | None
    """IANA zone, or None (the workspace zone applies)."""
    zone_on_file: bool
    """Whether the users file gives the zone (else only the user's events carry it)."""
    country: str
    """ISO country code, matching the zone."""
    plan: str
    """``free``, ``plus`` or ``premium``."""
    lifetime_value: float
    """Spend to date, a users-file attribute."""
    signup_date: str
    """ISO date, a users-file attribute."""
    session_limit: float
    """e^-(mean sessions per day), for the daily Poisson draw."""
    push: bool
    """Has push enabled."""
    sms: bool
    """Has an SMS number (US and Canada only)."""
    unsubscribed: str
    """Unsubscribed channels, ``;``-separated (users file)."""
    global_control_override: bool | None
    """The users file's ``global_control_group`` override, if any."""
    in_global_control: bool = False
    """In the workspace's global control group (override, else the hash bucket)."""
    control: frozenset[str] = frozenset()
    """Source campaigns whose control group holds the user (hash bucket)."""
    reachable: frozenset[str] = field(default_factory=frozenset)
    """Channels the user can receive."""

    def users_row(self) -> dict[str, Any]:
        """The user's row in the users file (SPEC §3.3)."""
        override = self.global_control_override
        return {
            "user_id": self.id,
            "timezone": self.zone if self.zone_on_file and self.zone else "",
            "country": self.country,
            "plan": self.plan,
            "lifetime_value": self.lifetime_value,
            "signup_date": self.signup_date,
            "unsubscribed": self.unsubscribed,
            "global_control_group": "" if override is None else ("true" if override else "false"),
        }


USERS_FIELDS = (
    "user_id", "timezone", "country", "plan", "lifetime_value", "signup_date", "unsubscribed", "global_control_group",
)


# --------------------------------------------------------------------------------------------------
# The generator


@dataclass(frozen=True, slots=True)
class Source:
    """A source campaign as the generator uses it."""

    id: str
    """Config id."""
    logged_as: str
    """What its log rows carry in ``campaign``: the ``braze_id`` when it has one (as Braze exports do)."""
    channels: tuple[str, ...]
    """Its channels."""
    start: int
    """First second it may send (start_at, else published_at)."""
    stop: int | None
    """First second it may no longer send (end_at / stopped_at)."""
    control_group: int
    """Control-group percent (single-channel campaigns only)."""
    tags: frozenset[str]
    """Tags (the global control group exempts some)."""
    plan: SendPlan
    """How the live system sent it."""

    @property
    def start_date(self) -> date:
        """The UTC date it starts sending (its weeks count from there)."""
        return date(1970, 1, 1) + timedelta(days=self.start // DAY)


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


def source_campaigns(config: Config) -> list[Source]:
    """The config's source campaigns (no triggers) that send at all: not drafts, with a publication."""
    sources = []
    for campaign in config.campaigns:
        if campaign.simulated or campaign.status == "draft" or campaign.published_at is None:
            continue
        start = (campaign.start_at or campaign.published_at) // 1000
        sources.append(
            Source(
                id=campaign.id,
                logged_as=campaign.braze_id or campaign.id,
                channels=campaign.channels,
                start=start,
                stop=_stop_second(campaign),
                control_group=campaign.control_group if len(campaign.channels) == 1 else 0,
                tags=frozenset(campaign.tags),
                plan=SEND_PLANS.get(campaign.id, DEFAULT_PLAN),
            )
        )
    return sources


def _stop_second(campaign: Campaign) -> int | None:
    stops = [t for t in (campaign.end_at, campaign.stopped_at) if t is not None]
    return min(stops) // 1000 if stops else None


_Row = tuple[int, str, str, str, str, str, str, str, str]
"""(second, user_id, event, campaign, link_alias, button_id, machine_open, timezone, properties JSON)."""


class _Generator:
    """Draws users and their days; collects rows by UTC day until the day can no longer receive rows."""

    def __init__(self, config: Config, users: int, days: int, seed: int, start: date) -> None:
        self.rng = random.Random(seed)
        self.days = days
        self.start = start
        self.t0 = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
        self.t_end = self.t0 + days * DAY
        self.workspace_zone = config.workspace.timezone
        gcg = config.workspace.global_control_group
        self.gcg_limit = round(gcg.percent * 100) if gcg else 0
        self.gcg_exempt = frozenset(gcg.exclude_tags) if gcg else frozenset()
        self.sources = source_campaigns(config)
        self.scheduled = [s for s in self.sources if s.plan.after_event is None]
        self.after_event: dict[str, list[Source]] = defaultdict(list)
        for source in self.sources:
            if source.plan.after_event is not None:
                self.after_event[source.plan.after_event].append(source)
        self.buckets: dict[int, list[_Row]] = defaultdict(list)
        self.users = [self._user(n, users) for n in range(1, users + 1)]

    # -- users -----------------------------------------------------------------------------------

    def _user(self, n: int, total: int) -> User:
        rng = self.rng
        zone, country, _ = rng.choices(ZONES, weights=[w for _, _, w in ZONES])[0]
        if zone is None:
            country = rng.choices(("US", "CA", "GB"), weights=(8, 1, 1))[0]
        plan = rng.choices([p for p, _ in PLANS], weights=[w for _, w in PLANS])[0]
        draw = rng.random()
        unsubscribed = ""
        for channels, share in UNSUBSCRIBED:
            if draw < share:
                unsubscribed = channels
                break
            draw -= share
        override_draw = rng.random()
        override = True if override_draw < 0.005 else False if override_draw < 0.01 else None
        user = User(
            id=f"u{n:0{max(6, len(str(total)))}d}",
            zone=zone,
            zone_on_file=rng.random() >= ZONE_ONLY_ON_EVENTS,
            country=country,
            plan=plan,
            lifetime_value=round(rng.lognormvariate(4.5, 1.1), 2),
            signup_date=(self.start - timedelta(days=_span(rng, 1, 900))).isoformat(),
            session_limit=math.exp(-min(4.0, rng.lognormvariate(-1.0, 0.9))),
            push=rng.random() < 0.65,
            sms=country in ("US", "CA") and rng.random() < 0.35,
            unsubscribed=unsubscribed,
            global_control_override=override,
        )
        user.in_global_control = (
            override if override is not None else global_bucket(user.id) < self.gcg_limit
        )
        user.control = frozenset(
            s.id for s in self.sources if s.control_group and campaign_bucket(user.id, s.id) < s.control_group
        )
        off = set(unsubscribed.split(";")) if unsubscribed else set()
        user.reachable = frozenset(
            ch for ch, ok in (
                ("email", True), ("push", user.push), ("sms", user.sms), ("webhook", True),
                ("content_card", True), ("in_app", True),
            ) if ok and ch not in off
        )
        return user

    # -- time --------------------------------------------------------------------------------------

    def _local_midnight(self, zone: str, day: int) -> int:
        """UTC second of local midnight of day ``day`` (0 = the start date) in ``zone``."""
        return local_wall_to_ms(self.start + timedelta(days=day), 0, get_zone(zone)) // 1000

    # -- rows --------------------------------------------------------------------------------------

    def _emit(
        self, t: int, user: User, event: str, campaign: str = "", link_alias: str = "", button_id: str = "",
        machine_open: str = "", device: bool = False, properties: str = "",
    ) -> None:
        if self.t0 <= t < self.t_end:
            zone = user.zone if device and user.zone else ""
            self.buckets[t // DAY].append(
                (t, user.id, event, campaign, link_alias, button_id, machine_open, zone, properties)
            )

    def days_of_rows(self, progress: Callable[[int, int], None] | None = None) -> Iterator[tuple[int, list[_Row]]]:
        """Every row in time order (ties in the order they were drawn), as (UTC day number, that day's rows)."""
        zones = sorted({user.zone or self.workspace_zone for user in self.users})
        # Local days -1 and D fill the first and last UTC day for zones behind and ahead of UTC; rows outside
        # the log's days are dropped.
        for day in range(-1, self.days + 1):
            midnights = {zone: self._local_midnight(zone, day) for zone in zones}
            local_date = self.start + timedelta(days=day)
            weekday = local_date.weekday()
            today = [
                s for s in self.scheduled
                if weekday in s.plan.weekdays and (local_date - s.start_date).days // 7 % s.plan.every_weeks == 0
            ]
            for user in self.users:
                self._user_day(user, midnights[user.zone or self.workspace_zone], today, weekday == 5)
            # Rows drawn for local day d+1 fall on UTC day d or later (no zone is ahead of UTC by a day).
            yield from self._flush(self.t0 // DAY + day)
            if progress is not None:
                progress(min(day + 1, self.days), self.days)
        yield from self._flush(None)

    def _flush(self, before_day: int | None) -> Iterator[tuple[int, list[_Row]]]:
        for key in sorted(k for k in self.buckets if before_day is None or k < before_day):
            rows = self.buckets.pop(key)
            rows.sort(key=_time)
            yield key, rows

    # -- one user, one local day --------------------------------------------------------------------

    def _user_day(self, user: User, midnight: int, today: list[Source], canvas_day: bool) -> None:
        random = self.rng.random
        # Sessions: a Poisson count (Knuth's method with the user's precomputed e^-mean).
        product = random()
        while product > user.session_limit:
            hour = bisect_right(_SESSION_CUM, random() * _SESSION_TOTAL)
            self._session(user, midnight + hour * HOUR + int(random() * HOUR), boost=1.0)
            product *= random()
        for source in today:
            plan = source.plan
            if random() < plan.reach and self._eligible(user, source):
                self._send(user, source, midnight + plan.hour * HOUR + int(random() * plan.spread_minutes * MINUTE))
        if canvas_day and "email" in user.reachable and not user.in_global_control and random() < 0.15:
            self._canvas_email(user, midnight + 9 * HOUR + int(random() * HOUR))

    def _eligible(self, user: User, source: Source) -> bool:
        if user.in_global_control and not (source.tags & self.gcg_exempt):
            return False
        if source.plan.plans and user.plan not in source.plan.plans:
            return False
        return any(ch in user.reachable for ch in source.channels)

    def _send(self, user: User, source: Source, t: int) -> None:
        if t < source.start or (source.stop is not None and t >= source.stop):
            return
        if source.id in user.control:
            self._emit(t, user, "enroll_in_control_group", source.logged_as)
            return
        for channel in source.channels:
            if channel in user.reachable:
                self._deliver(user, source, channel, t)

    def _deliver(self, user: User, source: Source, channel: str, t: int) -> None:
        rng = self.rng
        plan = source.plan
        campaign = source.logged_as
        receive = RECEIVE_EVENT.get(channel)
        if receive is not None:
            self._emit(t, user, receive, campaign)
        if channel == "email":
            if rng.random() < RATES.email_machine_open:
                self._emit(t + _span(rng, 30, 15 * MINUTE), user, "open_email", campaign, machine_open="true")
            if rng.random() < RATES.email_open:
                opened = t + _delay(rng, RATES.email_open_median, 3 * DAY)
                self._emit(opened, user, "open_email", campaign, machine_open="false", device=True)
                if rng.random() < RATES.email_reopen:
                    self._emit(opened + _delay(rng, 6 * HOUR, 2 * DAY), user, "open_email", campaign,
                               machine_open="false", device=True)
                if rng.random() < RATES.email_click:
                    alias = rng.choices([a for a, _ in plan.links], weights=[w for _, w in plan.links])[0]
                    clicked = opened + _span(rng, 20, 10 * MINUTE)
                    self._emit(clicked, user, "click_email", campaign, link_alias=alias, device=True)
                    self._engaged(user, plan, clicked)
        elif channel == "push":
            if rng.random() < RATES.push_open:
                opened = t + _delay(rng, RATES.push_open_median, DAY)
                self._emit(opened, user, "open_push_directly", campaign, device=True)
                self._engaged(user, plan, opened)
            draw = rng.random()
            for button, share in plan.buttons:
                if draw < share:
                    clicked = t + _delay(rng, RATES.push_open_median, DAY)
                    self._emit(clicked, user, "click_push_button", campaign, button_id=button, device=True)
                    if button != "later":
                        self._engaged(user, plan, clicked)
                    break
                draw -= share
        elif channel == "sms":
            if rng.random() < RATES.sms_click:
                clicked = t + _delay(rng, 10 * MINUTE, DAY)
                self._emit(clicked, user, "click_sms_short_link", campaign, device=True)
                self._engaged(user, plan, clicked)
        elif channel == "content_card":
            if rng.random() < RATES.card_view:
                seen = t + _delay(rng, 8 * HOUR, 3 * DAY)
                self._emit(seen, user, "view_content_card", campaign, device=True)
                draw = rng.random()
                if draw < RATES.card_click:
                    self._emit(seen + _span(rng, 2, 60), user, "click_content_card", campaign, device=True)
                elif draw < RATES.card_click + RATES.card_dismiss:
                    self._emit(seen + _span(rng, 2, 60), user, "dismiss_content_card", campaign, device=True)
        elif channel == "in_app":
            self._emit(t, user, "view_in_app_message", campaign, device=True)
            if rng.random() < RATES.in_app_click:
                self._emit(t + _span(rng, 2, 30), user, "click_in_app_message", campaign, device=True)

    def _engaged(self, user: User, plan: SendPlan, t: int) -> None:
        """A click or open brings the user into the app; sometimes straight to a purchase."""
        session = t + _span(self.rng, 5, 3 * MINUTE)
        if self.rng.random() < plan.purchase_after_click:
            self._emit(session, user, "session_start", device=True)
            product = plan.product or self.rng.choice(CATALOGUE)[0]
            self._purchase(user, session + _span(self.rng, 2 * MINUTE, 20 * MINUTE), product)
        else:
            self._session(user, session, boost=2.0)

    def _canvas_email(self, user: User, t: int) -> None:
        """A Canvas email: its rows carry no campaign; some clicks hit the ``shop_sale`` link."""
        self._emit(t, user, "receive_email")
        if self.rng.random() < RATES.email_open:
            opened = t + _delay(self.rng, RATES.email_open_median, 2 * DAY)
            self._emit(opened, user, "open_email", machine_open="false", device=True)
            if self.rng.random() < 0.2:
                self._emit(opened + _span(self.rng, 20, 300), user, "click_email", link_alias="shop_sale",
                           device=True)

    # -- shopping ------------------------------------------------------------------------------------

    def _session(self, user: User, t: int, boost: float) -> None:
        rng = self.rng
        self._emit(t, user, "session_start", device=True)
        if rng.random() < 0.12 * boost:
            carted = t + _span(rng, MINUTE, 15 * MINUTE)
            items = rng.sample(CATALOGUE, rng.choice((1, 1, 1, 2, 2, 3)))
            value = round(sum(price for _, price in items), 2)
            cart = _json({"cart_value": value, "item_count": len(items)})
            self._emit(carted, user, "add_to_cart", device=True, properties=cart)
            if rng.random() < 0.35:
                bought = carted + _span(rng, 2 * MINUTE, 20 * MINUTE)
                for product, _ in items:
                    self._purchase(user, bought, product)
                    bought += _span(rng, 1, 5)
            else:
                abandoned = carted + _span(rng, 30 * MINUTE, 60 * MINUTE)
                self._emit(abandoned, user, "abandoned_cart", properties=cart)
                self._after_event(user, "abandoned_cart", abandoned)
                if rng.random() < 0.1:
                    self._purchase(user, abandoned + _span(rng, 2 * HOUR, 36 * HOUR), items[0][0])
        elif rng.random() < 0.012 * boost:
            self._purchase(user, t + _span(rng, 2 * MINUTE, 20 * MINUTE), rng.choice(CATALOGUE)[0])

    def _purchase(self, user: User, t: int, product: str) -> None:
        self._emit(t, user, "purchase", device=True, properties=PURCHASE_PROPERTIES[product])

    def _after_event(self, user: User, event: str, t: int) -> None:
        for source in self.after_event.get(event, ()):
            plan = source.plan
            if self.rng.random() < plan.reach and self._eligible(user, source):
                self._send(user, source, t + plan.lag_minutes * MINUTE + _span(self.rng, 0, 5 * MINUTE))


_time = itemgetter(0)
_event = itemgetter(2)


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def _span(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high) (cheaper than ``randrange``)."""
    return low + int(rng.random() * (high - low))


def _delay(rng: random.Random, median: float, cap: int) -> int:
    """A log-normal delay in seconds with this median, at least 1 s and at most ``cap``."""
    return max(1, min(cap, int(median * math.exp(rng.gauss(0.0, 1.0)))))


# --------------------------------------------------------------------------------------------------
# Writing


def _format(path: Path) -> tuple[str, bool]:
    """(``csv``|``jsonl``, gzipped) from the file name."""
    name = path.name.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    for suffix, kind in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl")):
        if name.endswith(suffix):
            return kind, gz
    raise InputError(f"{path}: unknown output format (name it .csv or .jsonl, optionally with .gz)")


def _check_target(path: Path) -> None:
    """Refuse, before any work, an output path that is a folder or in a folder that does not exist."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder (give a file path)")
    if not path.parent.is_dir():
        raise InputError(f"{path}: cannot write (folder {path.parent} does not exist)")


class _AtomicText:
    """A text file written under a temporary name and renamed into place only when complete."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        _, self.gz = _format(path)
        try:
            self.raw: IO[bytes] = open(self.tmp, "wb")  # noqa: SIM115 (closed in __exit__)
        except OSError as error:
            raise InputError(f"{path}: cannot write ({error.strerror})") from None
        sink = cast(IO[bytes], gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, mtime=0, compresslevel=6)) \
            if self.gz else self.raw
        self.text = io.TextIOWrapper(sink, encoding="utf-8", newline="", write_through=False)

    def __enter__(self) -> io.TextIOWrapper:
        return self.text

    def __exit__(self, kind: object, error: object, tb: object) -> None:
        try:
            self.text.close()
            if self.gz:
                self.raw.close()
        finally:
            if kind is None:
                os.replace(self.tmp, self.path)
            else:
                self.tmp.unlink(missing_ok=True)


@lru_cache(maxsize=1)
def _clock() -> tuple[str, ...]:
    """``HH:MM:SSZ`` for every second of a day."""
    return tuple(f"{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60))


#: Rows formatted per ``writerows`` call (bounds the memory of a 10M-event day).
_CHUNK = 65_536


def _write_events(
    days: Iterator[tuple[int, list[_Row]]], out: IO[str], kind: str, id_prefix: str, counts: Counter[str]
) -> int:
    clock = _clock()
    n = 0
    writer = csv.writer(out, lineterminator="\n")
    if kind == "csv":
        writer.writerow(EVENT_FIELDS)
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    for day, rows in days:
        counts.update(map(_event, rows))
        prefix = f"{date(1970, 1, 1) + timedelta(days=day)}T"
        base = day * DAY
        for first in range(0, len(rows), _CHUNK):
            chunk = rows[first:first + _CHUNK]
            if kind == "csv":
                writer.writerows([
                    (user, prefix + clock[t - base], event, campaign, f"{id_prefix}{i}", alias, button, "", machine,
                     "", zone, props)
                    for i, (t, user, event, campaign, alias, button, machine, zone, props) in enumerate(chunk, n + 1)
                ])
            else:
                out.writelines(
                    _json_line(dumps, user, prefix + clock[t - base], event, campaign, f"{id_prefix}{i}", alias,
                               button, machine, zone, props)
                    for i, (t, user, event, campaign, alias, button, machine, zone, props) in enumerate(chunk, n + 1)
                )
            n += len(chunk)
    return n


def _json_line(
    dumps: Callable[[Any], str], user: str, time: str, event: str, campaign: str, event_id: str, alias: str,
    button: str, machine: str, zone: str, props: str,
) -> str:
    obj: dict[str, Any] = {"user_id": user, "time": time, "event": event}
    if campaign:
        obj["campaign"] = campaign
    obj["id"] = event_id
    if alias:
        obj["link_alias"] = alias
    if button:
        obj["button_id"] = button
    if machine:
        obj["machine_open"] = machine == "true"
    if zone:
        obj["timezone"] = zone
    line = dumps(obj)
    return f'{line[:-1]},"properties":{props}}}\n' if props else f"{line}\n"


def write_users(users: list[User], path: Path) -> None:
    """The users file (CSV or JSONL by extension, ``.gz`` too): zones, attributes, overrides, unsubscribes."""
    kind, _ = _format(path)
    with _AtomicText(path) as out:
        if kind == "csv":
            writer = csv.DictWriter(out, fieldnames=USERS_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(user.users_row() for user in users)
        else:
            for user in users:
                row = {k: v for k, v in user.users_row().items() if v != ""}
                out.write(json.dumps(row, separators=(",", ":")) + "\n")


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
    kind, _ = _format(output)
    _check_target(output)
    if users_file is not None:
        _format(users_file)
        _check_target(users_file)
    generator = _Generator(config, users, days, seed, start)
    counts: Counter[str] = Counter()
    with _AtomicText(output) as out:
        events = _write_events(generator.days_of_rows(progress), out, kind, f"g{seed}-", counts)
    if users_file is not None:
        write_users(generator.users, users_file)
    return GenerateSummary(
        path=output, users=users, days=days, start=start, events=events,
        counts=dict(sorted(counts.items())), users_file=users_file,
    )
