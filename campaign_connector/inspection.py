"""What the inspection commands show, as plain data: a run's per-campaign summary, the diff of two runs, and
one user's explanation (the replayed trace, the stored decisions, and what would have changed each lost send).

Reads the store through ``store.results``; renders nothing (``report`` does that); no typer, no rich.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from campaign_connector.config import load_config_text
from campaign_connector.engine import Engine
from campaign_connector.errors import CampaignConnectorError, InputError, StoreError
from campaign_connector.model import (
    Campaign,
    Config,
    DecisionFilter,
    RunInfo,
    StoredDecision,
    TraceEntry,
    UserConversion,
)
from campaign_connector.store import Store, results
from campaign_connector.store.events import count_bot_clicks, load_timeline, log_fingerprint
from campaign_connector.timeutil import TimeParseError, format_clock, format_duration, format_time, parse_time
from campaign_connector.vocabulary import MAX_CHAIN_DEPTH, REASON_TEXT, REASONS, STATUSES

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


def sends_filter(*, user: str | None = None, campaign: str | None = None, status: str | None = None,
                 reason: str | None = None, since: str | None = None, before: str | None = None) -> DecisionFilter:
    """``sends``' options as a filter; an unknown status or reason, or a bad time, is an ``InputError`` naming
    the option and what is allowed."""
    if status is not None and status not in STATUSES:
        raise InputError(f"--status: unknown status {status!r} (allowed: {', '.join(STATUSES)})")
    if reason is not None and reason not in REASONS:
        raise InputError(f"--reason: unknown reason {reason!r} (allowed: {', '.join(REASONS)})")
    times: dict[str, int | None] = {}
    for option, value in (("since", since), ("before", before)):
        try:
            times[option] = None if value is None else parse_time(value)
        except TimeParseError as error:
            raise InputError(f"--{option}: {error}") from None
    return DecisionFilter(user=user, campaign=campaign, status=status, reason=reason, since=times["since"],
                          before=times["before"])


# --------------------------------------------------------------------------------------------------
# report


@dataclass(slots=True)
class CampaignSummary:
    """One campaign's counts in a run."""

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
    converted_sent: int = 0
    """Sent decisions converted on the primary conversion event."""
    converted_control: int = 0
    """Control enrollments converted on the primary conversion event."""

    @property
    def conversion_rate_sent(self) -> float | None:
        """converted_sent / sent, 4 decimals; None without sends."""
        return round(self.converted_sent / self.sent, 4) if self.sent else None

    @property
    def conversion_rate_control(self) -> float | None:
        """converted_control / control, 4 decimals; None without control enrollments."""
        return round(self.converted_control / self.control, 4) if self.control else None

    def add(self, other: CampaignSummary) -> None:
        """Add another summary's counts into this one (for totals)."""
        for name in ("triggered", "sent", "control", "cancelled", "suppressed", "pending", "converted_sent",
                     "converted_control"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, count in other.suppressed_by_reason.items():
            self.suppressed_by_reason[reason] = self.suppressed_by_reason.get(reason, 0) + count


@dataclass(frozen=True, slots=True)
class RunReport:
    """``report``'s data."""

    run: RunInfo
    """The run."""
    campaigns: list[CampaignSummary]
    """In config order."""
    total: CampaignSummary
    """All campaigns together (campaign ``*``)."""
    daily_sent: list[tuple[int, dict[str, int]]]
    """(UTC day start ms, campaign → sends) for days with sends, in day order."""
    bot_clicks: int = 0
    """Logged suspected bot clicks up to the run's horizon: read by the run, and ignored (SPEC §3.2)."""


def build_report(store: Store, run: RunInfo) -> RunReport:
    """Count a run's decisions per campaign, status and reason, its conversions, and its sends per day."""
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
    for campaign, control, count in results.converted_counts(store, run.id):
        summary = by_campaign.setdefault(campaign, CampaignSummary(campaign))
        if control:
            summary.converted_control += count
        else:
            summary.converted_sent += count
    order = campaign_order([load_run_config(run)], by_campaign)
    campaigns = [by_campaign.get(c) or CampaignSummary(c) for c in order]
    total = CampaignSummary("*")
    for summary in campaigns:
        total.add(summary)
    days: dict[int, dict[str, int]] = {}
    for day, campaign, count in results.daily_sent(store, run.id):
        days.setdefault(day, {})[campaign] = count
    bots = count_bot_clicks(store, run.until) if run.until is not None else 0
    return RunReport(run, campaigns, total, sorted(days.items()), bots)


# --------------------------------------------------------------------------------------------------
# diff


@dataclass(slots=True)
class CampaignDiff:
    """One campaign's changes between run A and run B."""

    campaign: str
    """Config id."""
    sent_a: int = 0
    """Sends in run A."""
    sent_b: int = 0
    """Sends in run B."""
    gained: int = 0
    """Sent in B, not in A."""
    lost: int = 0
    """Sent in A, not in B."""
    moved: int = 0
    """Sent in both, at different times."""
    changed: int = 0
    """Other differences (status, reason, due time, variant, channels; or only one run has the decision)."""


@dataclass(frozen=True, slots=True)
class RunDiff:
    """``diff``'s summary; the changed decisions are streamed separately by ``results.iter_diff``."""

    run_a: RunInfo
    """Baseline."""
    run_b: RunInfo
    """What-if."""
    campaigns: list[CampaignDiff]
    """Campaigns with at least one change, in run B's config order (then A's, then by id)."""

    @property
    def differences(self) -> int:
        """Changed decisions in all."""
        return sum(c.gained + c.lost + c.moved + c.changed for c in self.campaigns)


def build_diff(store: Store, run_a: RunInfo, run_b: RunInfo) -> RunDiff:
    """Per-campaign counts of gained, lost, moved and changed decisions between two runs."""
    changes: dict[str, CampaignDiff] = {}
    for campaign, change, count in results.diff_counts(store, run_a.id, run_b.id):
        entry = changes.setdefault(campaign, CampaignDiff(campaign))
        setattr(entry, change, count)
    sent_a = results.sent_counts(store, run_a.id)
    sent_b = results.sent_counts(store, run_b.id)
    order = campaign_order([load_run_config(run_b), load_run_config(run_a)], changes)
    campaigns = []
    for campaign in order:
        if campaign in changes:
            entry = changes[campaign]
            entry.sent_a, entry.sent_b = sent_a.get(campaign, 0), sent_b.get(campaign, 0)
            campaigns.append(entry)
    return RunDiff(run_a, run_b, campaigns)


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


def build_explanation(store: Store, run: RunInfo, user_id: str, campaign: str | None = None) -> Explanation:
    """Re-run the engine for one user with a trace, and explain each stored decision.

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
    if campaign is not None:
        if trace is not None:
            trace = [t for t in trace if t.kind in ("event", "synthetic") or t.campaign == campaign]
        if not any(d.campaign == campaign for d in every):
            notes.append(f"user {user_id!r} has no decisions for campaign {campaign!r} in run {run.name!r}")
    shown = [d for d in every if campaign is None or d.campaign == campaign]
    shown.sort(key=lambda d: d.seq)
    hints: dict[int, str] = {}
    for d in shown:
        hint = what_would_change(d, config.campaign(d.campaign) if config else None, every, config, run)
        if hint:
            hints[d.seq] = hint
    conversions = [c for c in results.user_conversions(store, run.id, user_id)
                   if campaign is None or c.campaign == campaign]
    return Explanation(run, user_id, campaign, trace, shown, conversions, hints, notes)


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
