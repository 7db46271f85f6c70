"""The simulation: users drawn up front, then walked one local day at a time; sends of the source campaigns and
the engagement they draw, sessions and carts. One ``random.Random(seed)`` draws everything in a fixed order."""

from __future__ import annotations

import json
import math
import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any

from campaign_connector.engine import campaign_bucket, global_bucket
from campaign_connector.generate.tables import (
    _SESSION_CUM,
    _SESSION_TOTAL,
    CATALOGUE,
    DAY,
    DEFAULT_PLAN,
    HOUR,
    MINUTE,
    PLANS,
    PURCHASE_PROPERTIES,
    RATES,
    SEND_PLANS,
    UNSUBSCRIBED,
    ZONE_ONLY_ON_EVENTS,
    ZONES,
    SendPlan,
)
from campaign_connector.model import Campaign, Config
from campaign_connector.timeutil import get_zone, local_wall_to_ms
from campaign_connector.vocabulary import RECEIVE_EVENT


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


Row = tuple[int, str, str, str, str, str, str, str, str]
"""(second, user_id, event, campaign, link_alias, button_id, machine_open, timezone, properties JSON)."""


class Generator:
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
        self.buckets: dict[int, list[Row]] = defaultdict(list)
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

    def days_of_rows(self, progress: Callable[[int, int], None] | None = None) -> Iterator[tuple[int, list[Row]]]:
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

    def _flush(self, before_day: int | None) -> Iterator[tuple[int, list[Row]]]:
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


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def _span(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high) (cheaper than ``randrange``)."""
    return low + int(rng.random() * (high - low))


def _delay(rng: random.Random, median: float, cap: int) -> int:
    """A log-normal delay in seconds with this median, at least 1 s and at most ``cap``."""
    return max(1, min(cap, int(median * math.exp(rng.gauss(0.0, 1.0)))))
