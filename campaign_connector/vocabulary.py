"""The one table of the product's vocabulary: channels, interactions, statuses, reason codes, Currents types.

The validator, the importers, the engine, the docs and the tests all read these tables; nothing else
spells an interaction name or a reason code out.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Channels a campaign may have (SPEC §1).
CHANNELS: tuple[str, ...] = ("email", "push", "sms", "webhook", "content_card", "in_app")

#: Channels whose sends count toward (and are limited by) frequency caps. In-app messages and content cards
#: never count and are never capped (SPEC §4).
CAPPED_CHANNELS: tuple[str, ...] = ("email", "push", "sms", "webhook")

#: A replay ``sent`` emits one receipt event per channel in this table (SPEC §4, chaining).
RECEIVE_EVENT: dict[str, str] = {
    "email": "receive_email",
    "sms": "receive_sms",
    "push": "receive_push",
    "webhook": "receive_webhook",
}
#: The inverse: which channel a logged ``receive_*`` event is a send on.
RECEIVE_CHANNEL: dict[str, str] = {event: channel for channel, event in RECEIVE_EVENT.items()}

#: Log events that are deliveries (ignored in the log for a campaign the replay simulates).
DELIVERY_EVENTS: frozenset[str] = frozenset(RECEIVE_EVENT.values()) | {"enroll_in_control_group"}


@dataclass(frozen=True, slots=True)
class Qualifier:
    """A trigger key that narrows an interaction to rows whose event field has that value."""

    key: str
    """The key in the trigger mapping, e.g. ``alias``."""
    field: str
    """The event-log field it compares with, e.g. ``link_alias``."""
    required: bool
    """Whether the trigger must give it."""
    integer: bool = False
    """Whether the YAML value is an integer (``conversion``); all compare as strings against the log."""


@dataclass(frozen=True, slots=True)
class Interaction:
    """One of the 22 Campaign Connector interactions (SPEC §1)."""

    name: str
    """The interaction's name in configs and logs."""
    channel: str | None
    """The channel the source campaign must have; ``None`` = any channel."""
    base_event: str
    """The event name under which matching rows are stored in the log (SPEC §4.1)."""
    condition: str | None = None
    """A row condition beyond the qualifiers: ``no_button``, ``has_button``, ``machine_open``, ``not_machine_open``."""
    qualifiers: tuple[Qualifier, ...] = ()
    """Trigger keys that narrow the match."""
    any_campaign: bool = False
    """``click_alias_any_campaign``: takes no ``campaign`` and matches any campaign, Canvas rows included."""
    needs_control_group: bool = False
    """``enroll_in_control_group``: the source must be single-channel with a control group."""


_BUTTON = Qualifier("button", "button_id", required=False)
_ALIAS = Qualifier("alias", "link_alias", required=True)

INTERACTIONS: dict[str, Interaction] = {
    i.name: i
    for i in (
        Interaction("view_in_app_message", "in_app", "view_in_app_message"),
        Interaction("click_in_app_message", "in_app", "click_in_app_message", condition="no_button"),
        Interaction(
            "click_in_app_message_button", "in_app", "click_in_app_message",
            condition="has_button", qualifiers=(_BUTTON,),
        ),
        Interaction("click_email", "email", "click_email"),
        Interaction("click_email_alias", "email", "click_email", qualifiers=(_ALIAS,)),
        Interaction("click_alias_any_campaign", "email", "click_email", qualifiers=(_ALIAS,), any_campaign=True),
        Interaction("open_email", "email", "open_email"),
        Interaction("open_email_machine", "email", "open_email", condition="machine_open"),
        Interaction("open_email_other", "email", "open_email", condition="not_machine_open"),
        Interaction("open_push_directly", "push", "open_push_directly"),
        Interaction("click_push_button", "push", "click_push_button", qualifiers=(_BUTTON,)),
        Interaction(
            "click_push_story_page", "push", "click_push_story_page",
            qualifiers=(Qualifier("page", "page", required=False),),
        ),
        Interaction(
            "perform_conversion_event", None, "perform_conversion_event",
            qualifiers=(Qualifier("conversion", "conversion_index", required=False, integer=True),),
        ),
        Interaction("receive_email", "email", "receive_email"),
        Interaction("receive_sms", "sms", "receive_sms"),
        Interaction("click_sms_short_link", "sms", "click_sms_short_link"),
        Interaction("receive_push", "push", "receive_push"),
        Interaction("receive_webhook", "webhook", "receive_webhook"),
        Interaction("enroll_in_control_group", None, "enroll_in_control_group", needs_control_group=True),
        Interaction("view_content_card", "content_card", "view_content_card"),
        Interaction("click_content_card", "content_card", "click_content_card"),
        Interaction("dismiss_content_card", "content_card", "dismiss_content_card"),
    )
}

#: Event names a log row may carry that are stored under another (base) name with a field set (SPEC §4.1):
#: name → (base event, field to set, value). ``None`` value = the field must already be present on the row.
DERIVED_EVENTS: dict[str, tuple[str, str, object]] = {
    "click_email_alias": ("click_email", "link_alias", None),
    "click_alias_any_campaign": ("click_email", "link_alias", None),
    "open_email_machine": ("open_email", "machine_open", True),
    "open_email_other": ("open_email", "machine_open", False),
    "click_in_app_message_button": ("click_in_app_message", "button_id", None),
}

#: Base event names that campaign interactions are stored under.
INTERACTION_EVENTS: frozenset[str] = frozenset(i.base_event for i in INTERACTIONS.values())

#: Non-connector trigger kinds with a fixed name (any other name is a custom event).
PURCHASE = "purchase"
SESSION_START = "session_start"
BUILTIN_EVENTS: tuple[str, ...] = (PURCHASE, SESSION_START)

#: Property filter operators (SPEC §1, ``where``).
WHERE_OPERATORS: tuple[str, ...] = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "exists")

#: Audience attribute operators (SPEC §4.1).
ATTRIBUTE_OPERATORS: tuple[str, ...] = ("equals", "not_equals", "in", "exists", "gt", "gte", "lt", "lte")

#: Campaign statuses (SPEC §2).
CAMPAIGN_STATUSES: tuple[str, ...] = ("draft", "active", "stopped", "archived")

#: Decision statuses (SPEC §4.2).
STATUSES: tuple[str, ...] = ("sent", "control", "cancelled", "suppressed", "pending")

#: Reason codes (SPEC §4.2), in the order the rules are checked. ``None`` for sent, control, pending.
REASONS: tuple[str, ...] = (
    "before_publish",
    "outside_duration",
    "campaign_stopped",
    "global_control_group",
    "not_in_audience",
    "not_in_audience_at_send",
    "already_pending",
    "not_reeligible",
    "outside_send_window",
    "exception",
    "quiet_hours",
    "frequency_cap",
    "not_reachable",
    "max_recipients",
    "rate_limit_expired",
    "chain_depth",
)

#: One plain sentence per reason, for ``explain`` and the README.
REASON_TEXT: dict[str, str] = {
    "before_publish": "the interaction happened before the follow-up was published",
    "outside_duration": "the trigger or the send fell outside the campaign's start_at/end_at",
    "campaign_stopped": "the campaign was stopped before the trigger or the send",
    "global_control_group": "the user is in the workspace's global control group",
    "not_in_audience": "the user was not in the audience when triggered",
    "not_in_audience_at_send": "the user had left the audience by the send time",
    "already_pending": "a send of this campaign was already pending for the user",
    "not_reeligible": "the user had received the campaign and was not yet re-eligible",
    "outside_send_window": "the trigger or the due time fell outside the send window",
    "exception": "an exception event arrived while the send was pending",
    "quiet_hours": "the send fell in quiet hours with mode abort",
    "frequency_cap": "a frequency cap was reached",
    "not_reachable": "the user is unsubscribed from every channel of the campaign",
    "max_recipients": "the campaign had already reached max_recipients distinct users",
    "rate_limit_expired": "the rate limit would have delayed the send by 72 hours or more",
    "chain_depth": "a chain of more than 32 sends at one instant was stopped",
}

#: Duration units (SPEC §2.1) → seconds. Singular forms are accepted too.
DURATION_UNITS: dict[str, int] = {
    "second": 1,
    "minute": 60,
    "hour": 3_600,
    "day": 86_400,
    "week": 604_800,
}

WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

#: Braze Currents event types → our event names (SPEC §3.2). Types not listed are stored under their own
#: Currents name and trigger nothing. Push opens with ``button_string`` and in-app clicks with ``button_id``
#: are refined by the reader (see ``CURRENTS_BUTTON_EVENT``).
CURRENTS_EVENTS: dict[str, str] = {
    "users.messages.email.Send": "receive_email",
    "users.messages.email.Open": "open_email",
    "users.messages.email.Click": "click_email",
    "users.messages.pushnotification.Send": "receive_push",
    "users.messages.pushnotification.Open": "open_push_directly",
    "users.messages.inappmessage.Impression": "view_in_app_message",
    "users.messages.inappmessage.Click": "click_in_app_message",
    "users.messages.contentcard.Impression": "view_content_card",
    "users.messages.contentcard.Click": "click_content_card",
    "users.messages.contentcard.Dismiss": "dismiss_content_card",
    "users.messages.sms.Send": "receive_sms",
    "users.messages.sms.ShortLinkClick": "click_sms_short_link",
    "users.messages.webhook.Send": "receive_webhook",
    "users.campaigns.EnrollInControl": "enroll_in_control_group",
    "users.campaigns.Conversion": "perform_conversion_event",
    "users.behaviors.CustomEvent": "",  # the event's own ``name``
    "users.behaviors.Purchase": "purchase",
    "users.behaviors.app.SessionStart": "session_start",
}

#: Currents types whose event name depends on a button field: type → (field, event name when it is set).
CURRENTS_BUTTON_EVENT: dict[str, tuple[str, str]] = {
    "users.messages.pushnotification.Open": ("button_string", "click_push_button"),
}

#: Event-log qualifier fields (SPEC §3.1), in column order.
QUALIFIER_FIELDS: tuple[str, ...] = (
    "link_alias", "button_id", "page", "machine_open", "conversion_index", "timezone",
)

#: The event-log columns (SPEC §3.1), in order.
EVENT_FIELDS: tuple[str, ...] = ("user_id", "time", "event", "campaign", "id", *QUALIFIER_FIELDS, "properties")

#: The decision fields (SPEC §4.2), in output order — a public contract.
DECISION_FIELDS: tuple[str, ...] = (
    "run", "user_id", "campaign", "status", "reason", "detail", "trigger", "source_campaign",
    "trigger_event_id", "triggered_at", "due_at", "sent_at", "variant", "channels",
)

#: The decision fields that are times (ms in the store; ISO-8601 text or timestamps in the outputs).
DECISION_TIMES: frozenset[str] = frozenset({"triggered_at", "due_at", "sent_at"})

#: Values of ``machine_open`` that mean true (SPEC §4.1), compared case-insensitively.
TRUTHY: frozenset[str] = frozenset({"true", "1", "yes"})

#: The longest chain of sends at one instant before ``chain_depth`` stops it (SPEC §4).
MAX_CHAIN_DEPTH = 32
#: Longest re-eligibility window (SPEC §2.2), seconds.
MAX_REELIGIBLE_SECONDS = 720 * 86_400
#: Rate-limit shifts of this many seconds or more expire the send (SPEC §4.1).
RATE_LIMIT_EXPIRY_SECONDS = 72 * 3_600
#: Default conversion window (SPEC §4.1), seconds.
DEFAULT_CONVERSION_WINDOW_SECONDS = 3 * 86_400
