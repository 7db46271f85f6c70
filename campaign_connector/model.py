"""The validated domain: what the config loader produces and the engine consumes.

Every time is integer milliseconds since the epoch (UTC), every duration integer seconds — no datetime
objects inside the engine. Config objects are frozen dataclasses. ``Event`` and ``Decision`` are
``NamedTuple``s: immutable like the rest, but built and read millions of times on the replay's hot path,
where a tuple is several times cheaper to create than a frozen dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal, NamedTuple

# --------------------------------------------------------------------------------------------------
# Filters


@dataclass(frozen=True, slots=True)
class PropertyFilter:
    """One ``where`` condition on an event's ``properties`` (SPEC §1)."""

    key: str
    """The property name."""
    op: str
    """One of ``vocabulary.WHERE_OPERATORS``."""
    value: Any
    """The operand (a list for ``in``, a bool for ``exists``)."""


@dataclass(frozen=True, slots=True)
class AllOf:
    """``all: [...]`` — every item holds."""

    items: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """``any: [...]`` — at least one item holds."""

    items: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """``not: {...}`` — the item does not hold."""

    item: Filter


@dataclass(frozen=True, slots=True)
class AttributeFilter:
    """``{attribute: country, equals: US}`` on the users file's attributes (SPEC §4.1)."""

    attribute: str
    """The attribute name."""
    op: str
    """One of ``vocabulary.ATTRIBUTE_OPERATORS``."""
    value: Any
    """The operand (a list for ``in``, a bool for ``exists``)."""


@dataclass(frozen=True, slots=True)
class PerformedFilter:
    """``{performed: purchase, at_least: 1, at_most: 3, within: 30 days, where: {...}}``."""

    event: str
    """The (base) event name counted."""
    at_least: int = 1
    """Fewest occurrences (default 1)."""
    at_most: int | None = None
    """Most occurrences, or no upper bound."""
    within: int | None = None
    """Look-back window in seconds before the evaluation moment, or the whole past."""
    where: tuple[PropertyFilter, ...] = ()
    """Property conditions every counted event meets."""


@dataclass(frozen=True, slots=True)
class ReceivedFilter:
    """``{received: discount_push, within: 90 days}`` — read from the timeline as replayed."""

    campaign: str
    """The config id of the campaign."""
    within: int | None = None
    """Look-back window in seconds, or the whole past."""


Filter = AllOf | AnyOf | Not | AttributeFilter | PerformedFilter | ReceivedFilter

# --------------------------------------------------------------------------------------------------
# Campaign parts


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger or an exception: a connector interaction with a source campaign, or an event by name."""

    interaction: str | None = None
    """A connector interaction (``vocabulary.INTERACTIONS``), or None for an event trigger."""
    campaign: str | None = None
    """The source campaign's config id (None for event triggers and ``click_alias_any_campaign``)."""
    event: str | None = None
    """For event triggers: ``purchase``, ``session_start`` or a custom event name."""
    qualifiers: tuple[tuple[str, str], ...] = ()
    """(event field, value as string) pairs that must match, e.g. (("link_alias", "cta"),)."""
    product: str | None = None
    """``purchase`` only: the product id that must match ``properties.product_id`` (or ``product``)."""
    where: tuple[PropertyFilter, ...] = ()
    """Property conditions on the event's ``properties``."""

    @property
    def name(self) -> str:
        """The interaction or event name, as a decision's ``trigger`` field shows it."""
        return self.interaction or self.event or ""


@dataclass(frozen=True, slots=True)
class Delay:
    """When a triggered send is due (SPEC §2.1)."""

    kind: Literal["immediately", "duration", "in_days", "next_weekday"] = "immediately"
    """Which form."""
    seconds: int = 0
    """``duration``: exact seconds."""
    days: int = 0
    """``in_days``: calendar days after the trigger's local date."""
    weekday: int = 0
    """``next_weekday``: 0 = Monday … 6 = Sunday."""
    at: int = 0
    """``in_days``/``next_weekday``: minutes after local midnight."""
    zone: Literal["user", "company"] = "user"
    """Whose local time the calendar forms use."""
    text: str = "immediately"
    """The form as written, for messages."""

    @property
    def immediate(self) -> bool:
        """True for ``immediately`` (and a zero duration)."""
        return self.kind == "immediately" or (self.kind == "duration" and self.seconds == 0)


@dataclass(frozen=True, slots=True)
class Window:
    """A daily local-time window ``[start, end)`` in minutes after midnight; wraps midnight when end < start."""

    start: int
    """Minutes after local midnight where it opens."""
    end: int
    """Minutes after local midnight where it closes."""

    def contains(self, minute_of_day: int) -> bool:
        """Whether a local minute of the day is inside the window."""
        if self.start < self.end:
            return self.start <= minute_of_day < self.end
        return minute_of_day >= self.start or minute_of_day < self.end


@dataclass(frozen=True, slots=True)
class QuietHours:
    """``quiet_hours``: no sends in the window; ``abort`` drops them, ``next_available`` holds them to its end."""

    window: Window
    """The quiet window, user local time."""
    mode: Literal["next_available", "abort"] = "next_available"
    """What happens to a send due inside it."""


@dataclass(frozen=True, slots=True)
class SendWindow:
    """``send_window``: the portion of the day the campaign may send in, decided at trigger time."""

    window: Window
    """The allowed window, user local time."""
    next_available: bool = False
    """A due time outside the window moves to its next start instead of being ``outside_send_window``."""


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    """A workspace rule: at most ``max`` sends on ``channel`` (or ``any``) per period (SPEC §4)."""

    channel: str
    """A channel from ``vocabulary.CAPPED_CHANNELS`` or ``any``."""
    max: int
    """Sends allowed in the period."""
    amount: int
    """The period's count of units."""
    unit: Literal["minute", "hour", "day", "week"]
    """minutes/hours are rolling windows ``(due − d, due]``; days/weeks are calendar days in the user's zone."""
    text: str
    """The period as written, e.g. ``1 week`` (for ``detail``: "cap push 2/1 week")."""

    @property
    def calendar_days(self) -> int:
        """For day/week caps: how many local calendar days the period spans (today included)."""
        return self.amount * (7 if self.unit == "week" else 1)

    @property
    def rolling_seconds(self) -> int:
        """For minute/hour caps: the rolling window in seconds."""
        return self.amount * (60 if self.unit == "minute" else 3_600)


@dataclass(frozen=True, slots=True)
class GlobalControlGroup:
    """The workspace's global control group."""

    percent: float
    """Share of all users held out (bucket ``< percent × 100`` of 10,000)."""
    exclude_tags: tuple[str, ...] = ()
    """Campaigns with any of these tags ignore the global control group."""


@dataclass(frozen=True, slots=True)
class Variant:
    """A message variant and its share of users."""

    id: str
    """The variant's id, as decisions show it."""
    percent: int
    """Share of the 100 buckets."""


@dataclass(frozen=True, slots=True)
class ConversionEvent:
    """A conversion event of a campaign; the first is primary."""

    event: str
    """The (base) event name."""
    within: int
    """The window after a send or control enrollment, seconds (default 3 days)."""
    product: str | None = None
    """``purchase`` only: product id to match."""
    where: tuple[PropertyFilter, ...] = ()
    """Property conditions."""


@dataclass(frozen=True, slots=True)
class Campaign:
    """One campaign of the config. Without triggers it is a source (its events come from the log)."""

    id: str
    """Unique config id, ``[a-z0-9_-]+``."""
    index: int
    """Position in the config file (0-based): ties run in this order."""
    channels: tuple[str, ...]
    """Its channels, in config order."""
    status: Literal["draft", "active", "stopped", "archived"]
    """Lifecycle status; ``archived`` behaves as ``stopped``."""
    published_at: int | None
    """ms; None only for drafts."""
    braze_id: str | None = None
    """The campaign_id its logged events carry, if different from ``id``."""
    name: str | None = None
    """Display name."""
    start_at: int | None = None
    """ms; defaults to ``published_at`` (the loader fills it in)."""
    end_at: int | None = None
    """ms, exclusive."""
    stopped_at: int | None = None
    """ms; required with status stopped/archived, honoured on active too."""
    tags: tuple[str, ...] = ()
    """Tags (global control group exclusions)."""
    triggers: tuple[Trigger, ...] = ()
    """Action-based triggers (OR)."""
    delay: Delay = field(default_factory=Delay)
    """When a triggered send is due."""
    exceptions: tuple[Trigger, ...] = ()
    """Events that cancel a pending send."""
    audience: Filter | None = None
    """Audience filter (segment resolved inline), or None for all users."""
    audience_segment: str | None = None
    """The segment name the audience came from, for messages."""
    reevaluate_audience_at_send: bool = False
    """Re-check the audience at the due time."""
    reeligible_after: int | None = None
    """Seconds after a receipt before the user may receive it again; None = once per user."""
    control_group: int = 0
    """Percent of buckets in the campaign's control group (0 = none)."""
    variants: tuple[Variant, ...] = ()
    """Variants in order, after the control buckets."""
    quiet_hours: QuietHours | None = None
    """Quiet hours, user local time."""
    send_window: SendWindow | None = None
    """Portion of the day, user local time."""
    frequency_capping: bool = True
    """Obeys and counts toward the workspace caps."""
    rate_limit_per_minute: int | None = None
    """Sends per UTC minute (cross-user)."""
    max_recipients: int | None = None
    """Distinct recipients (cross-user)."""
    conversion_events: tuple[ConversionEvent, ...] = ()
    """Up to four; the first is primary."""
    line: int = 0
    """1-based line of the campaign in the config file, for messages."""

    @property
    def simulated(self) -> bool:
        """A campaign with triggers: the replay decides its sends."""
        return bool(self.triggers)

    @property
    def effective_stop(self) -> int | None:
        """``stopped_at`` (honoured whatever the status)."""
        return self.stopped_at


@dataclass(frozen=True, slots=True)
class Workspace:
    """Workspace-wide settings."""

    timezone: str = "UTC"
    """Company zone; users without one use it."""
    global_control_group: GlobalControlGroup | None = None
    """The global control group, if any."""
    frequency_caps: tuple[FrequencyCap, ...] = ()
    """All rules apply (AND)."""


@dataclass(frozen=True, slots=True)
class Config:
    """A validated campaign file."""

    workspace: Workspace
    """Workspace settings."""
    campaigns: tuple[Campaign, ...]
    """Campaigns in file order."""
    segments: dict[str, Filter] = field(default_factory=dict, hash=False, compare=False)
    """Named segments (already resolved into each campaign's ``audience``)."""
    path: str = "<config>"
    """Where it was read from."""
    text: str = ""
    """The file's text, stored with each run."""
    sha256: str = ""
    """Hash of ``text``."""

    def campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign with this config id."""
        for campaign in self.campaigns:
            if campaign.id == campaign_id:
                return campaign
        return None

    def campaign_keys(self) -> dict[str, str]:
        """Log ``campaign`` value → config id: each campaign's ``id``, then its ``braze_id`` (SPEC §4.1)."""
        keys: dict[str, str] = {}
        for campaign in self.campaigns:
            if campaign.braze_id:
                keys.setdefault(campaign.braze_id, campaign.id)
        for campaign in self.campaigns:
            keys[campaign.id] = campaign.id
        return keys


# --------------------------------------------------------------------------------------------------
# Inputs and outputs of the replay


class Event(NamedTuple):
    """One event of a user's timeline: logged (from the store) or synthetic (made by the replay)."""

    time: int
    """ms since the epoch, UTC."""
    seq: int
    """Import order (the store's row number); synthetic events get negative or fresh numbers from the engine."""
    user_id: str
    """The user."""
    event: str
    """Base event name (SPEC §4.1): interaction base names, purchase, session_start, custom names."""
    campaign: str | None = None
    """The campaign value as logged (config id or braze_id), or the config id for synthetic events."""
    id: str = ""
    """Event id (logged, content hash, or synthetic ``kind:campaign:user:time``)."""
    link_alias: str | None = None
    """Email link alias."""
    button_id: str | None = None
    """In-app or push button id."""
    page: str | None = None
    """Push story page."""
    machine_open: bool = False
    """Email open without user engagement."""
    conversion_index: int | None = None
    """0-based conversion event index."""
    timezone: str | None = None
    """IANA zone seen on the event."""
    properties: dict[str, Any] | None = None
    """Event properties (JSON object)."""
    synthetic: bool = False
    """Made by the replay (receipt, control enrollment, conversion), not logged."""
    bot: bool = False
    """A suspected bot click (Currents ``is_suspected_bot_click``): kept and shown, but inert in the replay."""


@dataclass(frozen=True, slots=True)
class UserProfile:
    """A row of the users file (SPEC §3.3). Users absent from it get ``UserProfile(user_id)``."""

    user_id: str
    """The user."""
    timezone: str | None = None
    """IANA zone; wins over event zones when non-empty."""
    global_control_group: bool | None = None
    """Override of the hash-based global control group membership."""
    unsubscribed: frozenset[str] = frozenset()
    """Channels the user cannot be reached on."""
    attributes: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    """Every other column, for audience filters."""


class Decision(NamedTuple):
    """One row of the replay's output (SPEC §4.2), before it is stored under a run."""

    user_id: str
    """The user."""
    campaign: str
    """The follow-up's config id."""
    status: str
    """One of ``vocabulary.STATUSES``."""
    reason: str | None
    """One of ``vocabulary.REASONS``; None for sent, control and pending."""
    detail: str | None
    """What moved or stopped it, in words."""
    trigger: str
    """The matched trigger's interaction or event name."""
    source_campaign: str | None
    """The triggering event's campaign (config id when known)."""
    trigger_event_id: str
    """The triggering event's id."""
    triggered_at: int
    """ms."""
    due_at: int | None
    """ms; when the delay (and send window) put the send; None when none was scheduled."""
    sent_at: int | None
    """ms; when it went (after holds and rate-limit shifts); None unless sent."""
    variant: str | None
    """Variant id; None without variants and for control rows."""
    channels: tuple[str, ...]
    """Channels actually sent (all the campaign's channels for non-sent rows)."""


class Conversion(NamedTuple):
    """A conversion the replay counted: the first matching event within a send's (or enrollment's) window."""

    user_id: str
    """The user."""
    campaign: str
    """The campaign converted on."""
    conversion_index: int
    """0-based index of the campaign's conversion event (0 = primary)."""
    time: int
    """ms of the converting event."""
    event_id: str
    """The converting event's id."""
    decision: int
    """Index, in the user's decisions, of the ``sent`` or ``control`` decision it converts."""
    control: bool
    """Whether that decision was a control enrollment."""


class TraceEntry(NamedTuple):
    """One line of a user's replayed timeline, for ``explain`` (only collected when asked for)."""

    time: int
    """ms."""
    kind: str
    """``event``, ``synthetic``, ``trigger``, ``pending``, ``exception``, ``hold``, ``cap``, ``decision``,
    ``conversion``."""
    campaign: str | None
    """The campaign concerned, if any."""
    text: str
    """What happened, in plain words."""


class UserResult(NamedTuple):
    """What the engine returns for one user."""

    decisions: list[Decision]
    """In processing order."""
    conversions: list[Conversion]
    """In time order."""


# --------------------------------------------------------------------------------------------------
# Stored results: what the store reads back, and what the inspection layer and renderers take


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A stored run's header."""

    id: int
    """Row id."""
    name: str
    """``--name`` or ``run-N``."""
    status: str
    """``running`` or ``complete``."""
    created_at: str
    """ISO-8601 UTC."""
    config_path: str
    """The config file as given."""
    config_text: str
    """The config file's text at replay time."""
    config_hash: str
    """sha256 of the config text."""
    log_fingerprint: str
    """Fingerprint of the event log the run read."""
    engine_version: str
    """``campaign_connector.ENGINE_VERSION`` at replay time."""
    options: dict[str, Any]
    """Replay options (until, workers ...)."""
    counts: dict[str, Any]
    """Counts by status, reason, campaign."""
    until: int | None
    """Horizon, ms."""
    events: int
    """Events read."""
    users: int
    """Users replayed."""
    seconds: float | None = None
    """How long the replay took (None for runs stored before it was recorded)."""

    @property
    def config_name(self) -> str:
        """The config file's name, without its folder."""
        return PurePath(self.config_path).name


class StoredDecision(NamedTuple):
    """A decision as stored under a run: its processing order ``seq``, then ``Decision``'s fields in their
    order (documented there; ``tests/test_sends.py`` checks the two stay alike). The fields are spelled out,
    not derived from ``Decision._fields``, so that type checkers and readers see each one's type."""

    seq: int
    user_id: str
    campaign: str
    status: str
    reason: str | None
    detail: str | None
    trigger: str
    source_campaign: str | None
    trigger_event_id: str
    triggered_at: int
    due_at: int | None
    sent_at: int | None
    variant: str | None
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DecisionFilter:
    """Which decisions of a run to read (``sends`` options). ``None`` = no condition."""

    user: str | None = None
    """Only this user."""
    campaign: str | None = None
    """Only this campaign."""
    status: str | None = None
    """Only this status."""
    reason: str | None = None
    """Only this reason."""
    since: int | None = None
    """Triggered at or after (ms)."""
    before: int | None = None
    """Triggered before (ms)."""


class UserConversion(NamedTuple):
    """A conversion counted for a user."""

    campaign: str
    """The campaign converted on."""
    conversion_index: int
    """0 = primary."""
    time: int
    """ms of the converting event."""
    event_id: str
    """The converting event."""
    decision_seq: int
    """The converted decision's ``seq``."""
    control: bool
    """Whether that decision was a control enrollment."""


class SendChange(NamedTuple):
    """One send of a user and campaign compared between run A and run B (SPEC §5.2 ``diff``)."""

    kind: str
    """``gained`` (an unpaired send in B), ``lost`` (an unpaired send in A), ``moved`` (paired, another
    ``sent_at``), ``unchanged`` (paired, the same ``sent_at``)."""
    user_id: str
    """The user."""
    campaign: str
    """The follow-up."""
    a: StoredDecision | None
    """Run A's side: its send; for a gained send, A's decision on the same trigger event if any (why A did not
    send it)."""
    b: StoredDecision | None
    """Run B's side, likewise."""


@dataclass(frozen=True, slots=True)
class Health:
    """What ``doctor`` reports about a database."""

    path: str
    """The database file."""
    size_bytes: int
    """File size on disk."""
    schema_version: int
    """The database's schema version (``PRAGMA user_version``)."""
    current_version: int
    """The schema version this campaign-connector writes."""
    integrity: list[str]
    """``PRAGMA quick_check`` lines; ``["ok"]`` when healthy."""
    events: int
    """Stored events."""
    users: int
    """Distinct users with events."""
    profiles: int
    """Rows of the users file."""
    imports: int
    """Recorded imports."""
    runs: int
    """Complete runs."""
    stale_runs: int
    """Runs left ``running`` by an interrupted replay (cleared by the next replay)."""
    first_event: int | None
    """ms of the earliest event."""
    last_event: int | None
    """ms of the latest event."""
    tables: dict[str, int] = field(default_factory=dict)
    """Table → rows, every table of the database (read by sqlite-utils' introspection)."""
    views: list[str] = field(default_factory=list)
    """The database's views (the readable ones: ``store.schema.READABLE_VIEWS``)."""
    missing_views: list[str] = field(default_factory=list)
    """Readable views this version creates that the database lacks."""

    @property
    def ok(self) -> bool:
        """Healthy: intact, and at this tool's schema version."""
        return self.integrity == ["ok"] and self.schema_version == self.current_version
