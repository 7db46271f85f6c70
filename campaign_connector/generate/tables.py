"""What the generator knows of the example workspace and of its users: how each source campaign was sent,
engagement rates, zones, plans, the catalogue, session hours."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from itertools import accumulate

#: The first day of a generated log when none is given: a Monday, one week before the example's source
#: campaigns go live (so that audiences looking back at sessions and purchases have some history).
DEFAULT_START = date(2025, 12, 29)

DAY = 86_400
HOUR = 3_600
MINUTE = 60


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
