"""What the inspection commands show, as plain data: a run's per-campaign summary, the diff of two runs, and
one user's explanation (the replayed trace, the stored decisions, and what would have changed each lost send).

Reads the store through ``store.results``; renders nothing (``report`` does that); no typer, no rich.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby

from campaign_connector import stats
from campaign_connector.config import load_config_text
from campaign_connector.engine import Engine
from campaign_connector.errors import CampaignConnectorError, InputError, StoreError
from campaign_connector.model import (
    AllOf,
    AnyOf,
    Campaign,
    Config,
    DecisionFilter,
    Filter,
    Not,
    PerformedFilter,
    ReceivedFilter,
    RunInfo,
    SendChange,
    StoredDecision,
    TraceEntry,
    UserConversion,
)
from campaign_connector.names import check_name
from campaign_connector.stats import Lift, SampleRatio
from campaign_connector.store import Store, results
from campaign_connector.store.events import count_bot_clicks, load_timeline, log_fingerprint
from campaign_connector.timeutil import TimeParseError, format_clock, format_duration, format_time, parse_time
from campaign_connector.vocabulary import (
    DELIVERY_EVENTS,
    INTERACTIONS,
    MAX_CHAIN_DEPTH,
    REASON_TEXT,
    REASONS,
    STATUSES,
)

#: Reasons a ``suppressed`` decision can carry (``exception`` is ``cancelled``'s), in rule order.
SUPPRESSION_REASONS: tuple[str, ...] = tuple(r for r in REASONS if r != "exception")


def load_run_config(run: RunInfo) -> Config | None:
    """The run's stored config text, loaded again; None when it no longer loads (this version's validator
    may refuse a file an older one accepted)."""
    try:
        return load_config_text(run.config_text, run.config_path)
    except CampaignConnectorError:
        return None


def campaign_order(configs: Iterable[Config | None], seen: Iterable[str]) -> list[str]:
    """Simulated campaigns in config order (first config first), then any other ``seen`` id alphabetically."""
    order: list[str] = []
    for config in configs:
        if config is None:
            continue
        for campaign in config.campaigns:
            if campaign.simulated and campaign.status != "draft" and campaign.id not in order:
                order.append(campaign.id)
    known = set(order)
    return order + sorted(set(seen) - known)


def option_times(**options: str | None) -> dict[str, int | None]:
    """Times given as options (``since="2026-01-05"``) as ms, None where not given; a bad one is an
    ``InputError`` naming its ``--option``."""
    times: dict[str, int | None] = {}
    for option, value in options.items():
        try:
            times[option] = None if value is None else parse_time(value)
        except TimeParseError as error:
            raise InputError(f"--{option}: {error}") from None
    return times


def sends_filter(*, user: str | None = None, campaign: str | None = None, status: str | None = None,
                 reason: str | None = None, since: str | None = None, before: str | None = None) -> DecisionFilter:
    """``sends``' options as a filter; an unknown status or reason, or a bad time, is an ``InputError`` naming
    the option and what is allowed."""
    check_name("status", status, STATUSES, "--status")
    check_name("reason", reason, REASONS, "--reason")
    times = option_times(since=since, before=before)
    return DecisionFilter(user=user, campaign=campaign, status=status, reason=reason, since=times["since"],
                          before=times["before"])


def check_campaign(store: Store, runs: Iterable[RunInfo], campaign: str | None,
                   where: str = "--campaign") -> str | None:
    """``campaign`` if one of ``runs`` knows it (a follow-up of its config, or a campaign with decisions in
    it), else an ``InputError`` listing the known ones with a did-you-mean."""
    if campaign is None:
        return None
    runs = list(runs)
    configs = [load_run_config(run) for run in runs]
    if any(config is not None and any(c.id == campaign for c in config.campaigns if c.simulated)
           for config in configs):
        return campaign
    seen = [name for run in runs for name in results.decision_campaigns(store, run.id)]
    return check_name("campaign", campaign, campaign_order(configs, seen), where)


# --------------------------------------------------------------------------------------------------
# report


#: Suppression reasons judged after the control bucket at the due time: a user suppressed for one of them
#: reached the control split (and was not in control), so counts toward the sample-ratio check.
SPLIT_REASONS: tuple[str, ...] = ("not_reachable", "quiet_hours", "frequency_cap", "max_recipients",
                                  "rate_limit_expired")


@dataclass(slots=True)
class CampaignSummary:
    """One campaign's counts in a run. Conversion figures are None for a campaign without conversion events
    (and, in the totals, when no campaign has them)."""

    campaign: str
    """Config id (``*`` for the totals)."""
    triggered: int = 0
    """Decisions (one per matched trigger)."""
    sent: int = 0
    """``sent``."""
    control: int = 0
    """``control``."""
    cancelled: int = 0
    """``cancelled`` (exception)."""
    suppressed: int = 0
    """``suppressed``, any reason."""
    suppressed_by_reason: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUPPRESSION_REASONS, 0))
    """``suppressed`` per reason, every reason of ``SUPPRESSION_REASONS`` present."""
    pending: int = 0
    """``pending`` at the horizon."""
    converted_sent: int | None = None
    """Sent decisions converted on the primary conversion event; None without conversion events."""
    converted_control: int | None = None
    """Control enrollments converted on the primary conversion event; None without conversion events."""
    users_sent: int = 0
    """Distinct users sent at least once."""
    users_control: int = 0
    """Distinct users enrolled in the campaign's control group."""
    users_split: int = 0
    """Distinct users who reached the control split (control, sent, or suppressed by a later rule)."""
    converted_users_sent: int | None = None
    """Distinct users converted after a send; None without conversion events."""
    converted_users_control: int | None = None
    """Distinct control users converted; None without conversion events."""
    control_percent: int = 0
    """The configured ``control_group`` percent (0: none)."""
    lift: Lift | None = None
    """Sent over control, per user; None without conversion events, a control group, or users on a side."""
    sample_ratio: SampleRatio | None = None
    """The control share against ``control_percent``; None without a control group or users."""

    @property
    def has_conversions(self) -> bool:
        """The campaign has conversion events (conversion figures apply)."""
        return self.converted_sent is not None

    rated_sent: int | None = None
    """The sends conversion_rate_sent is a rate of when not all of ``sent`` (the totals: only the sends of
    campaigns with conversion events)."""
    rated_control: int | None = None
    """Likewise for control enrollments."""

    @property
    def conversion_rate_sent(self) -> float | None:
        """converted_sent / sent, 4 decimals; None without sends or conversion events."""
        base = self.sent if self.rated_sent is None else self.rated_sent
        return round(self.converted_sent / base, 4) if base and self.converted_sent is not None else None

    @property
    def conversion_rate_control(self) -> float | None:
        """converted_control / control, 4 decimals; None without control enrollments or conversion events."""
        base = self.control if self.rated_control is None else self.rated_control
        return round(self.converted_control / base, 4) if base and self.converted_control is not None else None

    def add(self, other: CampaignSummary) -> None:
        """Add another summary's counts into this one (for totals); conversions only from campaigns that
        have conversion events."""
        for name in ("triggered", "sent", "control", "cancelled", "suppressed", "pending"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, count in other.suppressed_by_reason.items():
            self.suppressed_by_reason[reason] = self.suppressed_by_reason.get(reason, 0) + count

    def add_conversions(self, other: CampaignSummary) -> None:
        """Add another summary's conversions and the sends and enrollments they are rates of (for totals
        that count only campaigns with conversion events)."""
        if other.converted_sent is None or other.converted_control is None:
            return
        self.converted_sent = (self.converted_sent or 0) + other.converted_sent
        self.converted_control = (self.converted_control or 0) + other.converted_control
        self.rated_sent = (self.rated_sent or 0) + other.sent
        self.rated_control = (self.rated_control or 0) + other.control


@dataclass(frozen=True, slots=True)
class RunReport:
    """``report``'s data."""

    run: RunInfo
    """The run."""
    campaigns: list[CampaignSummary]
    """In config order."""
    total: CampaignSummary
    """All campaigns together (campaign ``*``); its conversions only of campaigns with conversion events."""
    daily_sent: list[tuple[int, dict[str, int]]]
    """(UTC day start ms, campaign → sends) for days with sends, in day order."""
    bot_clicks: int = 0
    """Logged suspected bot clicks up to the run's horizon: read by the run, and ignored (SPEC §3.2)."""


def build_report(store: Store, run: RunInfo) -> RunReport:
    """Count a run's decisions per campaign, status and reason, its conversions, and its sends per day; and for
    campaigns with a control group, the per-user lift of sent over control and the sample-ratio check."""
    config = load_run_config(run)
    by_campaign: dict[str, CampaignSummary] = {}
    for campaign, status, reason, count in results.status_counts(store, run.id):
        summary = by_campaign.setdefault(campaign, CampaignSummary(campaign))
        summary.triggered += count
        if status == "suppressed":
            summary.suppressed += count
            key = reason or "unknown"
            summary.suppressed_by_reason[key] = summary.suppressed_by_reason.get(key, 0) + count
        elif status in ("sent", "control", "cancelled", "pending"):
            setattr(summary, status, getattr(summary, status) + count)
    converted = {(campaign, control): n for campaign, control, n in results.converted_counts(store, run.id)}
    converted_users = {(campaign, control): n for campaign, control, n in results.converted_users(store, run.id)}
    users = {row[0]: row[1:] for row in results.user_counts(store, run.id, SPLIT_REASONS)}
    order = campaign_order([config], by_campaign)
    campaigns = [by_campaign.get(c) or CampaignSummary(c) for c in order]
    for summary in campaigns:
        c = config.campaign(summary.campaign) if config else None
        summary.users_sent, summary.users_control, summary.users_split = users.get(summary.campaign, (0, 0, 0))
        summary.control_percent = c.control_group if c else 0
        has_conversions = bool(c.conversion_events) if c else any(k[0] == summary.campaign for k in converted)
        if has_conversions:
            summary.converted_sent = converted.get((summary.campaign, False), 0)
            summary.converted_control = converted.get((summary.campaign, True), 0)
            summary.converted_users_sent = converted_users.get((summary.campaign, False), 0)
            summary.converted_users_control = converted_users.get((summary.campaign, True), 0)
        if summary.control_percent:
            summary.sample_ratio = stats.sample_ratio(summary.users_control,
                                                      summary.users_split - summary.users_control,
                                                      summary.control_percent / 100)
            if has_conversions:
                summary.lift = stats.lift(summary.converted_users_sent or 0, summary.users_sent,
                                          summary.converted_users_control or 0, summary.users_control)
    total = CampaignSummary("*")
    for summary in campaigns:
        total.add(summary)
        total.add_conversions(summary)
    days: dict[int, dict[str, int]] = {}
    for day, campaign, count in results.daily_sent(store, run.id):
        days.setdefault(day, {})[campaign] = count
    bots = count_bot_clicks(store, run.until) if run.until is not None else 0
    return RunReport(run, campaigns, total, sorted(days.items()), bots)


# --------------------------------------------------------------------------------------------------
# diff


def pair_sends(user_id: str, campaign: str, a: list[StoredDecision], b: list[StoredDecision]) -> list[SendChange]:
    """Pair one user's sends of one campaign in two runs (``a`` and ``b``: that user's decisions of it, any
    status): sends at the same ``sent_at`` pair first (``unchanged``), then the rest pair in time order
    (``moved``); what is left is ``lost`` (A) or ``gained`` (B). Each side of an unpaired send shows the other
    run's decision on the same trigger event, when there is one. In time order."""
    sends_a = sorted((d for d in a if d.status == "sent"), key=lambda d: (d.sent_at or 0, d.seq))
    sends_b = sorted((d for d in b if d.status == "sent"), key=lambda d: (d.sent_at or 0, d.seq))
    pairs: list[tuple[StoredDecision | None, StoredDecision | None]] = []
    left_a: list[StoredDecision] = []
    left_b: list[StoredDecision] = []
    i = j = 0
    while i < len(sends_a) and j < len(sends_b):  # a merge on sent_at: equal times pair
        ta, tb = sends_a[i].sent_at or 0, sends_b[j].sent_at or 0
        if ta == tb:
            pairs.append((sends_a[i], sends_b[j]))
            i, j = i + 1, j + 1
        elif ta < tb:
            left_a.append(sends_a[i])
            i += 1
        else:
            left_b.append(sends_b[j])
            j += 1
    left_a += sends_a[i:]
    left_b += sends_b[j:]
    moved = min(len(left_a), len(left_b))
    pairs += zip(left_a[:moved], left_b[:moved], strict=True)
    by_event_a = {d.trigger_event_id: d for d in a if d.status != "sent"}
    by_event_b = {d.trigger_event_id: d for d in b if d.status != "sent"}
    pairs += [(d, by_event_b.get(d.trigger_event_id)) for d in left_a[moved:]]
    pairs += [(by_event_a.get(d.trigger_event_id), d) for d in left_b[moved:]]
    changes = []
    for side_a, side_b in pairs:
        sent_a = side_a is not None and side_a.status == "sent"
        sent_b = side_b is not None and side_b.status == "sent"
        if sent_a and sent_b:
            kind = "unchanged" if side_a.sent_at == side_b.sent_at else "moved"  # type: ignore[union-attr]
        else:
            kind = "lost" if sent_a else "gained"
        changes.append(SendChange(kind, user_id, campaign, side_a, side_b))
    changes.sort(key=lambda c: min(x.sent_at or 0 for x in (c.a, c.b) if x is not None and x.status == "sent"))
    return changes


def _by_user(decisions: Iterable[StoredDecision]) -> Iterator[tuple[str, list[StoredDecision]]]:
    for user_id, rows in groupby(decisions, key=lambda d: d.user_id):
        yield user_id, list(rows)


def send_changes(a: Iterable[StoredDecision], b: Iterable[StoredDecision]) -> Iterator[SendChange]:
    """Every send of two runs paired per user and campaign (``pair_sends``), ``unchanged`` ones included.
    ``a`` and ``b`` are the runs' decisions ordered by user_id (as ``results.iter_decisions`` gives them): they
    are merged user by user, so memory holds one user's decisions."""
    users_a, users_b = _by_user(a), _by_user(b)
    next_a, next_b = next(users_a, None), next(users_b, None)
    while next_a is not None or next_b is not None:
        rows_a: list[StoredDecision] = []
        rows_b: list[StoredDecision] = []
        if next_a is not None and (next_b is None or next_a[0] <= next_b[0]):
            user_id, rows_a = next_a
            next_a = next(users_a, None)
        if next_b is not None and (not rows_a or next_b[0] == user_id):
            user_id, rows_b = next_b
            next_b = next(users_b, None)
        for campaign in sorted({d.campaign for d in rows_a} | {d.campaign for d in rows_b}):
            yield from pair_sends(user_id, campaign, [d for d in rows_a if d.campaign == campaign],
                                  [d for d in rows_b if d.campaign == campaign])


@dataclass(slots=True)
class CampaignDiff:
    """One campaign's sends compared between run A and run B, per user."""

    campaign: str
    """Config id."""
    sent_a: int = 0
    """Sends in run A."""
    sent_b: int = 0
    """Sends in run B."""
    gained: int = 0
    """Sends in B without a pair in A."""
    lost: int = 0
    """Sends in A without a pair in B."""
    moved: int = 0
    """Paired sends at another ``sent_at``."""
    unchanged: int = 0
    """Paired sends at the same ``sent_at``."""
    users_gained: int = 0
    """Users with more sends of it in B than in A."""
    users_lost: int = 0
    """Users with fewer sends of it in B than in A."""
    conversions_a: int | None = None
    """Sends converted (primary conversion event) in run A; None when it has no conversion events."""
    conversions_b: int | None = None
    """Likewise in run B."""

    @property
    def conversions_change(self) -> int | None:
        """``conversions_b - conversions_a``; None without conversion events."""
        if self.conversions_a is None or self.conversions_b is None:
            return None
        return self.conversions_b - self.conversions_a

    @property
    def changes(self) -> int:
        """Sends gained, lost or moved."""
        return self.gained + self.lost + self.moved


@dataclass(frozen=True, slots=True)
class RunDiff:
    """``diff``'s summary; the changes themselves are streamed by ``iter_send_changes``."""

    run_a: RunInfo
    """Baseline."""
    run_b: RunInfo
    """What-if."""
    campaigns: list[CampaignDiff]
    """Campaigns with a send in either run, in run B's config order (then A's, then by id)."""

    @property
    def differences(self) -> int:
        """Sends gained, lost or moved in all."""
        return sum(c.changes for c in self.campaigns)


def iter_send_changes(store: Store, run_a: RunInfo, run_b: RunInfo, *, user: str | None = None,
                      campaign: str | None = None, unchanged: bool = False) -> Iterator[SendChange]:
    """The sends gained, lost and moved between two runs (and ``unchanged`` ones when asked), by user_id, then
    campaign, then time; streamed."""
    filt = DecisionFilter(user=user, campaign=campaign)
    for change in send_changes(results.iter_decisions(store, run_a.id, filt),
                               results.iter_decisions(store, run_b.id, filt)):
        if unchanged or change.kind != "unchanged":
            yield change


def build_diff(store: Store, run_a: RunInfo, run_b: RunInfo, *, user: str | None = None,
               campaign: str | None = None) -> RunDiff:
    """Per campaign: sends gained, lost, moved and unchanged, users gained and lost, and the change in
    conversions, between two runs (optionally for one user or campaign)."""
    entries: dict[str, CampaignDiff] = {}
    per_user: dict[tuple[str, str], int] = {}
    for change in iter_send_changes(store, run_a, run_b, user=user, campaign=campaign, unchanged=True):
        entry = entries.setdefault(change.campaign, CampaignDiff(change.campaign))
        setattr(entry, change.kind, getattr(entry, change.kind) + 1)
        sent_a = change.a is not None and change.a.status == "sent"
        sent_b = change.b is not None and change.b.status == "sent"
        entry.sent_a += sent_a
        entry.sent_b += sent_b
        key = (change.campaign, change.user_id)
        per_user[key] = per_user.get(key, 0) + sent_b - sent_a
    for (name, _), delta in per_user.items():
        if delta > 0:
            entries[name].users_gained += 1
        elif delta < 0:
            entries[name].users_lost += 1
    configs = [load_run_config(run_b), load_run_config(run_a)]
    if user is None:  # per-user conversions are not counted apart
        converted = [{c: n for c, control, n in results.converted_counts(store, run.id) if not control}
                     for run in (run_a, run_b)]
        for name, entry in entries.items():
            if any(config is not None and (c := config.campaign(name)) is not None and c.conversion_events
                   for config in configs):
                entry.conversions_a, entry.conversions_b = converted[0].get(name, 0), converted[1].get(name, 0)
    order = campaign_order(configs, entries)
    return RunDiff(run_a, run_b, [entries[name] for name in order if name in entries])


# --------------------------------------------------------------------------------------------------
# explain


@dataclass(frozen=True, slots=True)
class Explanation:
    """``explain``'s data for one user of one run."""

    run: RunInfo
    """The run."""
    user_id: str
    """The user."""
    campaign: str | None
    """The ``--campaign`` filter, if any."""
    trace: list[TraceEntry] | None
    """The engine's trace of the user's replayed timeline; None when it could not be re-run."""
    decisions: list[StoredDecision]
    """The stored decisions, in processing order."""
    conversions: list[UserConversion]
    """The stored conversions."""
    hints: dict[int, str]
    """Decision ``seq`` → what would have changed its outcome."""
    notes: list[str]
    """Warnings about the explanation (log changed since the run, trace unavailable, re-run differs)."""
    hidden: dict[str, int] = field(default_factory=dict)
    """Event name → how many of the user's events were left out of the timeline as unrelated to the campaigns
    explained (all shown with ``all_events``)."""
    since: int | None = None
    """Only entries and decisions at or after this time (ms)."""
    until: int | None = None
    """Only entries and decisions at or before this time (ms)."""


def build_explanation(store: Store, run: RunInfo, user_id: str, campaign: str | None = None, *,
                      all_events: bool = False, since: int | None = None,
                      until: int | None = None) -> Explanation:
    """Re-run the engine for one user with a trace, and explain each stored decision.

    The timeline keeps the events that matter to the campaigns explained (``relevant_events``: their
    triggers, exceptions, conversion events, audience and caps, and any event a trigger, exception, cap or
    conversion line of theirs names) and counts the rest, unless ``all_events``; ``since`` and ``until``
    (inclusive, ms) narrow the timeline and the decisions (by trigger time).

    The engine is pure and deterministic, so the re-run reproduces the stored per-user decisions as long as
    the event log has not changed since the run (checked by fingerprint; a change is a note).
    """
    every = list(results.iter_decisions(store, run.id, DecisionFilter(user=user_id)))
    config = load_run_config(run)
    notes: list[str] = []
    trace, events = _trace(store, run, user_id, config, notes)
    if not every and not events:
        raise StoreError(f"no events or decisions for user {user_id!r} in run {run.name!r} "
                         "(check the user id; `campaign-connector sends --run RUN` lists who has decisions)")
    if campaign is not None and not any(d.campaign == campaign for d in every):
        notes.append(f"user {user_id!r} has no decisions for campaign {campaign!r} in run {run.name!r}")
    hidden: dict[str, int] = {}
    if trace is not None:
        def within(time: int) -> bool:
            return (since is None or time >= since) and (until is None or time <= until)

        trace = [t for t in trace if within(t.time) and (t.kind in EVENT_KINDS or campaign in (None, t.campaign))]
        if not all_events and config is not None:
            scope = [c for c in config.campaigns if c.simulated and campaign in (None, c.id)]
            trace, hidden = _relevant_trace(trace, relevant_events(config, scope), {c.id for c in scope})
    shown = [d for d in every if campaign in (None, d.campaign) and (since is None or d.triggered_at >= since)
             and (until is None or d.triggered_at <= until)]
    shown.sort(key=lambda d: d.seq)
    hints: dict[int, str] = {}
    for d in shown:
        hint = what_would_change(d, config.campaign(d.campaign) if config else None, every, config, run)
        if hint:
            hints[d.seq] = hint
    conversions = [c for c in results.user_conversions(store, run.id, user_id)
                   if campaign is None or c.campaign == campaign]
    conversions = [c for c in conversions if (since is None or c.time >= since) and (until is None or c.time <= until)]
    return Explanation(run, user_id, campaign, trace, shown, conversions, hints, notes, hidden, since, until)


#: Trace kinds that are events of the timeline (the others are what the engine did about them).
EVENT_KINDS = frozenset({"event", "synthetic"})


def _filter_events(item: Filter | None) -> set[str]:
    """The event names an audience filter reads: ``performed`` events, and receipts for ``received``."""
    if item is None:
        return set()
    if isinstance(item, PerformedFilter):
        return {item.event}
    if isinstance(item, ReceivedFilter):
        return set(DELIVERY_EVENTS)
    if isinstance(item, Not):
        return _filter_events(item.item)
    if isinstance(item, AllOf | AnyOf):
        return set().union(*(_filter_events(i) for i in item.items))
    return set()


def relevant_events(config: Config, campaigns: Iterable[Campaign]) -> frozenset[str]:
    """The event names that can matter to ``campaigns``: their triggers' and exceptions' events, conversion
    events, the events their audience reads, and receipts when frequency caps apply to them; plus the
    synthetic conversion events."""
    names = {"perform_conversion_event"}
    for c in campaigns:
        for trigger in (*c.triggers, *c.exceptions):
            if trigger.interaction is not None:
                names.add(INTERACTIONS[trigger.interaction].base_event if trigger.interaction in INTERACTIONS
                          else trigger.interaction)
            if trigger.event is not None:
                names.add(trigger.event)
        names.update(conversion.event for conversion in c.conversion_events)
        names |= _filter_events(c.audience)
        if c.frequency_capping and config.workspace.frequency_caps:
            names |= DELIVERY_EVENTS
    return frozenset(names)


def _event_name(entry: TraceEntry) -> str:
    words = entry.text.split()
    return words[2] if words[:2] == ["ignored", "logged"] and len(words) > 2 else (words[0] if words else "")


def _relevant_trace(trace: list[TraceEntry], names: frozenset[str],
                    campaigns: set[str]) -> tuple[list[TraceEntry], dict[str, int]]:
    """The trace without the events that neither have a relevant name, nor are of one of ``campaigns`` (their
    own sends, enrollments, opens), nor are named (by their id) by a line about those campaigns; and how many
    were left out per event name."""
    mentioned = " ".join(t.text for t in trace if t.kind not in EVENT_KINDS)
    kept: list[TraceEntry] = []
    hidden: dict[str, int] = {}
    for entry in trace:
        if entry.kind in EVENT_KINDS:
            name = _event_name(entry)
            event_id = entry.text.rsplit("(", 1)[-1].rstrip(")") if entry.text.endswith(")") else ""
            if (name not in names and entry.campaign not in campaigns
                    and not (event_id and f"({event_id})" in mentioned)):
                hidden[name] = hidden.get(name, 0) + 1
                continue
        kept.append(entry)
    return kept, dict(sorted(hidden.items(), key=lambda item: (-item[1], item[0])))


def _trace(store: Store, run: RunInfo, user_id: str, config: Config | None,
           notes: list[str]) -> tuple[list[TraceEntry] | None, int]:
    """The engine's trace for the user (None when the run's config no longer loads) and how many logged
    events the user has."""
    events, profile = load_timeline(store, user_id, run.until)
    if config is None:
        notes.append(f"the config stored with run {run.name!r} no longer loads; showing the stored decisions only")
        return None, len(events)
    if log_fingerprint(store) != run.log_fingerprint:
        notes.append(f"the event log changed since run {run.name!r}; the timeline is re-run on the current log "
                     "and may not match the stored decisions (replay again to refresh them)")
    trace: list[TraceEntry] = []
    result = Engine(config).run_user(user_id, events, profile, run.until, trace=trace)
    rerun = [(d.campaign, d.trigger_event_id, d.status, d.reason, d.sent_at) for d in result.decisions]
    stored = [(d.campaign, d.trigger_event_id, d.status, d.reason, d.sent_at)
              for d in sorted(results.iter_decisions(store, run.id, DecisionFilter(user=user_id)),
                              key=lambda d: d.seq)]
    if rerun != stored:
        changed = len(set(stored) ^ set(rerun))
        notes.append(f"{changed} decision(s) of the timeline differ from the stored ones: max_recipients and "
                     "rate_limit apply across users after the per-user pass (the Decisions section shows what "
                     "was stored)")
    return trace, len(events)


def _t(ms: int | None) -> str:
    return format_time(ms) or "-"


def what_would_change(d: StoredDecision, c: Campaign | None, decisions: list[StoredDecision],
                      config: Config | None, run: RunInfo) -> str | None:
    """For a decision that did not send: the smallest change to the inputs or config that would have sent it.

    None for ``sent`` and ``control``, and when the campaign is not in the run's config (or it no longer loads).
    """
    if d.status in ("sent", "control"):
        return None
    if d.status == "pending":
        return (f"still pending at the run's horizon {_t(run.until)}, due {_t(d.due_at)}; "
                "a replay with a later --until would decide it")
    reason = d.reason or ""
    if c is None:
        return None
    earlier = [x for x in decisions if x.campaign == d.campaign and x.seq < d.seq]
    text = {
        "before_publish": lambda: (f"the follow-up was published {_t(c.published_at)}; this {d.trigger} was on "
                                   f"{_t(d.triggered_at)} (only interactions after publishing count)"),
        "outside_duration": lambda: _duration_hint(d, c),
        "campaign_stopped": lambda: (f"the campaign was stopped at {_t(c.stopped_at)}; a trigger and send before "
                                     "then would have counted"),
        "global_control_group": lambda: _global_control_hint(config),
        "not_in_audience": lambda: (f"the user did not match the audience"
                                    f"{f' (segment {c.audience_segment})' if c.audience_segment else ''} at "
                                    f"{_t(d.triggered_at)}; matching it then would have scheduled a send"),
        "not_in_audience_at_send": lambda: (f"the user had left the audience by {_t(d.due_at)}; still matching "
                                            "it then, or reevaluate_audience_at_send: false, would have sent it"),
        "already_pending": lambda: _pending_hint(d, earlier),
        "not_reeligible": lambda: _reeligible_hint(d, c, earlier),
        "outside_send_window": lambda: _send_window_hint(c),
        "exception": lambda: (f"it would have been sent at {_t(d.due_at)} had no exception event arrived while "
                              f"it was pending ({d.detail or 'see the timeline'})"),
        "quiet_hours": lambda: _quiet_hint(c),
        "frequency_cap": lambda: (f"a frequency cap was full ({d.detail or 'see the workspace caps'}); a higher "
                                  "cap, or frequency_capping: false on this campaign, would have sent it"),
        "not_reachable": lambda: (f"the user is unsubscribed from {', '.join(c.channels)}; being reachable on "
                                  "one of them (users file: unsubscribed) would have sent it"),
        "max_recipients": lambda: (f"max_recipients: {c.max_recipients} distinct users had been reached "
                                   "before this send; a higher max_recipients would have sent it"),
        "rate_limit_expired": lambda: (f"rate_limit: {c.rate_limit_per_minute} per minute would have delayed it "
                                       "72 hours or more; a higher rate limit would have sent it"),
        "chain_depth": lambda: (f"it was more than {MAX_CHAIN_DEPTH} chained sends deep at one instant (a trigger "
                                "cycle between campaigns?); breaking the cycle would have sent it"),
    }.get(reason)
    return text() if text else REASON_TEXT.get(reason)


def _duration_hint(d: StoredDecision, c: Campaign) -> str:
    if c.start_at is not None and d.triggered_at < c.start_at:
        return f"the campaign starts {_t(c.start_at)}; this {d.trigger} was on {_t(d.triggered_at)}"
    if c.end_at is not None and d.triggered_at >= c.end_at:
        return f"the campaign ended {_t(c.end_at)}; this {d.trigger} was on {_t(d.triggered_at)}"
    return (f"the send was due {_t(d.due_at)}, at or after the campaign's end_at {_t(c.end_at)}; a later end_at "
            "or a shorter delay would have sent it")


def _global_control_hint(config: Config | None) -> str:
    group = config.workspace.global_control_group if config else None
    tags = f" (one of: {', '.join(group.exclude_tags)})" if group and group.exclude_tags else ""
    return ("the user is in the global control group; a tag listed in global_control_group.exclude_tags"
            f"{tags} on this campaign, or global_control_group: false in the users file, would have let it through")


def _pending_hint(d: StoredDecision, earlier: list[StoredDecision]) -> str:
    for x in reversed(earlier):
        if x.due_at is not None and x.triggered_at <= d.triggered_at:
            return (f"a send triggered {_t(x.triggered_at)} was pending until {_t(x.due_at)} ({x.status}); a trigger "
                    "after that would have scheduled another")
    return REASON_TEXT["already_pending"]


def _reeligible_hint(d: StoredDecision, c: Campaign, earlier: list[StoredDecision]) -> str:
    received = [x for x in earlier if x.status in ("sent", "control")]
    if not received:
        return REASON_TEXT["not_reeligible"]
    last = received[-1]
    at = last.sent_at if last.status == "sent" else last.due_at
    gap = format_duration(max(0, (d.triggered_at - (at or d.triggered_at)) // 1000))
    if c.reeligible_after is None:
        return (f"the user received it at {_t(at)} and the campaign has no reeligible_after (once per user); "
                f"reeligible_after: {gap} or less would have let this trigger through")
    return (f"the user received it at {_t(at)}; reeligible_after is {format_duration(c.reeligible_after)}, so "
            f"not before {_t((at or 0) + c.reeligible_after * 1000)}; reeligible_after: {gap} or less would have "
            "let this trigger through")


def _send_window_hint(c: Campaign) -> str:
    if c.send_window is None:
        return REASON_TEXT["outside_send_window"]
    w = c.send_window.window
    extra = "" if c.send_window.next_available else ", or send_window.next_available: true,"
    return (f"the send window is {format_clock(w.start)}-{format_clock(w.end)} user local time; a trigger and due "
            f"time inside it{extra} would have sent it")


def _quiet_hint(c: Campaign) -> str:
    if c.quiet_hours is None:
        return REASON_TEXT["quiet_hours"]
    w = c.quiet_hours.window
    return (f"it was due in quiet hours {format_clock(w.start)}-{format_clock(w.end)} user local time with mode "
            f"abort; mode next_available would have held it until {format_clock(w.end)} instead")
