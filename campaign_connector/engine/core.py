"""The per-user trigger engine: one user's ordered events and profile → decisions and conversions (SPEC §4).

Pure and deterministic: no I/O, no clock, no randomness. ``Engine(config)`` compiles the config once into
dispatch tables — for each (event name, source campaign) the campaigns it can trigger or cancel, with trigger
indexes, in config order — so an event that matches nothing costs a dict lookup. ``Engine.run_user`` then
replays one timeline:

* at each instant T every send due at or before T runs first (by due time, config order, creation);
* then one event at a time: synthetic events created at T first-in-first-out, then the next logged event;
* each event is checked against every campaign in config order, exceptions before triggers, and the sends
  it created run before the next event.

Decisions the spec leaves open are documented where they are made (and in the README's semantics section).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

from campaign_connector.engine import clock
from campaign_connector.engine.audience import compile_filter, walk
from campaign_connector.engine.match import Matcher, conversion_matches, trigger_accepts_campaign, trigger_event
from campaign_connector.model import (
    Campaign,
    Config,
    Conversion,
    ConversionEvent,
    Decision,
    Event,
    FrequencyCap,
    PerformedFilter,
    ReceivedFilter,
    TraceEntry,
    Trigger,
    UserProfile,
    UserResult,
)
from campaign_connector.timeutil import format_time, is_zone
from campaign_connector.vocabulary import (
    CAPPED_CHANNELS,
    DELIVERY_EVENTS,
    INTERACTIONS,
    MAX_CHAIN_DEPTH,
    REASON_TEXT,
    RECEIVE_CHANNEL,
    RECEIVE_EVENT,
)

_NEVER = 1 << 62
#: Builds NamedTuples from a whole tuple (as ``_make`` does) without the keyword ``__new__``'s overhead.
_new = tuple.__new__
#: Without a horizon (``until=None``) sends run to completion, but no later than this long after the last
#: logged event: a re-eligible cycle with delays (A → B → A) would otherwise never end.
NO_HORIZON_SPAN_MS = 3_650 * 86_400_000
_CONVERSION_EVENT = "perform_conversion_event"
_CONTROL_EVENT = "enroll_in_control_group"

#: Logged engagement events (opens, clicks, views) → the channel a replay ``sent`` must have used first.
ENGAGEMENT_CHANNEL: dict[str, str] = {
    i.base_event: i.channel
    for i in INTERACTIONS.values()
    if i.channel is not None and i.base_event not in DELIVERY_EVENTS and i.base_event != _CONVERSION_EVENT
}


def campaign_bucket(user_id: str, campaign_id: str) -> int:
    """The user's control/variant bucket for a campaign, 0..99 (SPEC §4)."""
    return int(hashlib.sha256(f"{user_id}:{campaign_id}".encode()).hexdigest()[:15], 16) % 100


def global_bucket(user_id: str) -> int:
    """The user's global control group bucket, 0..9999 (SPEC §4)."""
    return int(hashlib.sha256(f"{user_id}".encode()).hexdigest()[:15], 16) % 10000


class _Plan:
    """A simulated, non-draft campaign compiled for the replay."""

    __slots__ = (
        "campaign", "id", "slot", "index", "channels", "published", "start", "end", "stopped", "gcg",
        "audience", "check", "audience_name", "reeligible_ms", "capped", "control", "variants", "conversions",
    )

    def __init__(self, campaign: Campaign, slot: int, gcg_applies: bool) -> None:
        self.campaign = campaign
        self.id = campaign.id
        self.slot = slot
        self.index = campaign.index
        self.channels = campaign.channels
        self.published = campaign.published_at if campaign.published_at is not None else -_NEVER
        start = campaign.start_at if campaign.start_at is not None else campaign.published_at
        self.start = start if start is not None else -_NEVER
        self.end = campaign.end_at if campaign.end_at is not None else _NEVER
        self.stopped = campaign.stopped_at if campaign.stopped_at is not None else _NEVER
        self.gcg = gcg_applies
        self.audience = campaign.audience
        self.check = compile_filter(campaign.audience) if campaign.audience is not None else None
        self.audience_name = f"audience {campaign.audience_segment}" if campaign.audience_segment else "audience"
        self.reeligible_ms = None if campaign.reeligible_after is None else campaign.reeligible_after * 1000
        #: Channels obeying (and counting toward) frequency caps; empty when the campaign opts out.
        self.capped = tuple(c for c in campaign.channels if c in CAPPED_CHANNELS) if campaign.frequency_capping else ()
        self.control = campaign.control_group
        bounds, upper = [], campaign.control_group
        for variant in campaign.variants:
            upper += variant.percent
            bounds.append((upper, variant.id))
        self.variants = tuple(bounds)
        self.conversions = tuple(enumerate(campaign.conversion_events))


def _compile(triggers: tuple[Trigger, ...]) -> list[tuple[int, Trigger, str, Matcher | None]]:
    """(index, trigger, event name, row matcher or None when every row of that name and campaign matches)."""
    compiled = []
    for index, trigger in enumerate(triggers):
        matcher = Matcher(trigger)
        compiled.append((index, trigger, trigger_event(trigger), None if matcher.trivial else matcher))
    return compiled


#: A dispatch entry: the plan, its matching exceptions and its matching triggers as (index, trigger, matcher).
_Entry = tuple[_Plan, tuple[tuple[int, Trigger, Matcher | None], ...], tuple[tuple[int, Trigger, Matcher | None], ...]]


class Engine:
    """A config compiled for replaying users one at a time (SPEC §4). Safe to reuse for every user."""

    def __init__(self, config: Config) -> None:
        self.config = config
        workspace = config.workspace
        self.workspace_zone = workspace.timezone or "UTC"
        self.keys = config.campaign_keys()
        self.simulated = frozenset(c.id for c in config.campaigns if c.simulated)
        self.capping = {c.id: c.frequency_capping for c in config.campaigns}
        self.caps: tuple[FrequencyCap, ...] = workspace.frequency_caps
        gcg = workspace.global_control_group
        self.gcg = gcg
        excluded = set(gcg.exclude_tags) if gcg else set()
        live = [c for c in config.campaigns if c.simulated and c.status != "draft"]
        self.plans = [
            _Plan(c, slot, gcg is not None and not excluded.intersection(c.tags)) for slot, c in enumerate(live)
        ]
        self._compiled = [
            (plan, _compile(plan.campaign.exceptions), _compile(plan.campaign.triggers)) for plan in self.plans
        ]
        self.dispatch: dict[tuple[str, str | None], tuple[_Entry, ...]] = {}
        #: Event names some trigger or exception listens to; any other event skips the dispatch table.
        self.listened = frozenset(name for _, exc, trg in self._compiled for _, _, name, _ in (*exc, *trg))
        nodes = [node for plan in self.plans for node in walk(plan.audience)]
        self.performed_names = frozenset(n.event for n in nodes if isinstance(n, PerformedFilter))
        self.needs_receipts = any(isinstance(n, ReceivedFilter) for n in nodes)

    def entries(self, name: str, campaign: str | None) -> tuple[_Entry, ...]:
        """The campaigns an event of this name and (resolved) source campaign can cancel or trigger, in config
        order, each with its matching exceptions and triggers. Built on first use and cached."""
        key = (name, campaign)
        found = self.dispatch.get(key)
        if found is None:
            built = []
            for plan, exceptions, triggers in self._compiled:
                exc = tuple(
                    (i, t, m) for i, t, e, m in exceptions if e == name and trigger_accepts_campaign(t, campaign)
                )
                trg = tuple(
                    (i, t, m) for i, t, e, m in triggers if e == name and trigger_accepts_campaign(t, campaign)
                )
                if exc or trg:
                    built.append((plan, exc, trg))
            found = self.dispatch[key] = tuple(built)
        return found

    def run_user(
        self,
        user_id: str,
        events: Sequence[Event],
        profile: UserProfile | None,
        until: int | None,
        trace: list[TraceEntry] | None = None,
    ) -> UserResult:
        """Replay one user's timeline (logged events sorted by (time, seq)) up to the horizon ``until`` (ms;
        None = run every send to completion). Sends due after the horizon stay ``pending``. When ``trace`` is
        a list, lines describing every step are appended to it for ``explain``."""
        return _Run(self, user_id, profile, trace).replay(events, until)


class _Pending:
    """A scheduled send of a campaign for the user."""

    __slots__ = ("plan", "row", "trigger_index", "trigger", "source", "event_id", "triggered_at", "due_at",
                 "run_at", "depth", "notes", "active")

    def __init__(self, plan: _Plan, row: int, trigger_index: int, trigger: str, source: str | None,
                 event_id: str, triggered_at: int, due_at: int, depth: int, notes: list[str]) -> None:
        self.plan = plan
        self.row = row
        self.trigger_index = trigger_index
        self.trigger = trigger
        self.source = source
        self.event_id = event_id
        self.triggered_at = triggered_at
        self.due_at = due_at
        self.run_at = due_at
        self.depth = depth
        self.notes = notes
        self.active = True

    def detail(self) -> str:
        """What moved or changed the send ("held by quiet hours until ..."), else which trigger it came from."""
        return "; ".join(self.notes) if self.notes else f"trigger {self.trigger_index}"


class _Run:
    """The state of one user's replay."""

    def __init__(self, engine: Engine, user_id: str, profile: UserProfile | None, trace: list[TraceEntry] | None):
        self.engine = engine
        self.user = user_id
        self.attributes: dict[str, Any] = profile.attributes if profile is not None else {}
        self.unsubscribed = profile.unsubscribed if profile is not None else frozenset()
        zone = profile.timezone if profile is not None else None
        self.profile_zone = zone if zone and is_zone(zone) else None
        self.gcg_override = profile.global_control_group if profile is not None else None
        self.trace = trace
        self.decisions: list[Any] = []
        self.conversions: list[Conversion] = []
        slots = len(engine.plans)
        self.pending: list[_Pending | None] = [None] * slots
        self.last_receipt: list[int | None] = [None] * slots
        self.sent_channels: dict[str, set[str]] = {}
        self.heap: list[tuple[int, int, int, _Pending]] = []
        self.created = 0
        self.fifo: deque[tuple[Event, int]] = deque()
        self.cap_times: dict[str, list[int]] = {}
        self.cap_labels: dict[str, list[tuple[str, str]]] = {}
        self.performed: dict[str, tuple[list[int], list[Event]]] = {n: ([], []) for n in engine.performed_names}
        self.receipts: dict[str, list[int]] = {}
        self.windows: list[tuple[int, int, int, ConversionEvent, _Plan, int, bool]] = []
        self.synthetic_ids: dict[str, int] = {}
        self.synthetic_count = 0
        self.events: Sequence[Event] = ()
        self.zone_times: list[int] | None = None
        self.zone_names: list[str] = []
        self.in_gcg: bool | None = None
        #: The moment being processed (kept only while tracing, to time the trace's decision lines).
        self.now = 0
        self.buckets: dict[str, int] = {}

    # ---------------------------------------------------------------------------------------------
    # The loop

    def replay(self, events: Sequence[Event], until: int | None) -> UserResult:
        if until is not None and events and events[-1].time > until:
            events = events[: bisect_right(events, until, key=_time)]
        self.events = events
        last = events[-1].time if events else 0
        horizon = last + NO_HORIZON_SPAN_MS if until is None else until
        heap, fifo = self.heap, self.fifo
        engine = self.engine
        keys, simulated = engine.keys, engine.simulated
        dispatch, entries_for = engine.dispatch, engine.entries
        listened = engine.listened
        performed, performed_names = self.performed, engine.performed_names
        counting = bool(engine.caps) or engine.needs_receipts
        tracing = self.trace is not None
        count, i = len(events), 0
        while True:
            if fifo:
                next_time = fifo[0][0].time
            elif i < count:
                next_time = events[i].time
            else:
                next_time = _NEVER
            if heap and heap[0][0] <= next_time and heap[0][0] <= horizon:
                due, _, _, send = heappop(heap)
                if send.active:
                    self.now = due
                    self.run_send(send, due)
                continue
            if next_time == _NEVER:
                break
            if fifo:
                event, depth = fifo.popleft()
            else:
                event, depth = events[i], 0
                i += 1
            name, raw = event.event, event.campaign
            cid = keys.get(raw) if raw is not None else None
            if not event.synthetic:
                if cid in simulated and self.ignored(event, name, cid):
                    continue
                if counting and name in RECEIVE_CHANNEL:
                    self.count_logged_receipt(event, name, cid)
            if tracing:
                self.now = event.time
                self.trace_event(event, cid)
            if event.bot:  # a suspected bot click: shown, but no trigger, exception, conversion or filter sees it
                continue
            if name in performed_names:
                seen = performed[name]
                seen[0].append(event.time)
                seen[1].append(event)
            if self.windows:
                self.convert(event, depth)
            if name not in listened:
                continue
            entries = dispatch.get((name, cid))
            if entries is None:
                entries = entries_for(name, cid)
            for plan, exceptions, triggers in entries:
                if exceptions:
                    waiting = self.pending[plan.slot]
                    if waiting is not None and waiting.triggered_at < event.time:
                        for _, exception, matcher in exceptions:
                            if matcher is None or matcher.matches(event):
                                self.cancel(waiting, exception, event)
                                break
                for index, trigger, matcher in triggers:
                    if matcher is None or matcher.matches(event):
                        self.trigger(plan, index, trigger, event, cid if cid is not None else raw, depth)
                        break
        for left in self.pending:
            if left is not None:
                self.now = left.run_at
                self.finish(left, "pending", None, left.detail(), left.due_at)
        return UserResult(self.decisions, self.conversions)

    # ---------------------------------------------------------------------------------------------
    # Logged events of simulated campaigns, caps and zones

    def ignored(self, event: Event, name: str, cid: str) -> bool:
        """A simulated campaign's logged deliveries and conversions never count; its logged engagement counts
        only after a replay ``sent`` of it on that channel (SPEC §4, chaining)."""
        if name in DELIVERY_EVENTS or name == _CONVERSION_EVENT:
            why = "the replay decides this campaign's deliveries and conversions"
        else:
            channel = ENGAGEMENT_CHANNEL.get(name)
            if channel is None or channel in self.sent_channels.get(cid, ()):
                return False
            why = f"the replay has not sent {cid} on {channel} to this user"
        if self.trace is not None:
            self.note(event.time, "event", cid, f"ignored logged {name} of {cid} ({event.id}): {why}")
        return True

    def count_logged_receipt(self, event: Event, name: str, cid: str | None) -> None:
        """A logged ``receive_*`` of a campaign not simulated here counts toward caps (when that campaign obeys
        them, or is undeclared) and is a receipt for ``received:`` filters."""
        engine = self.engine
        if engine.caps and (cid is None or engine.capping.get(cid, True)):
            label = (name, cid or event.campaign or "no campaign")
            self.count_send(RECEIVE_CHANNEL[name], event.time, label)
            self.count_send("any", event.time, label)
        if engine.needs_receipts and (cid or event.campaign):
            self.receipts.setdefault(cid or event.campaign or "", []).append(event.time)

    def count_send(self, channel: str, time: int, label: tuple[str, str]) -> None:
        """Count a send (replay or logged) toward the caps of a channel (or ``any``); the label says what it was."""
        times = self.cap_times.get(channel)
        if times is None:
            times = self.cap_times[channel] = []
            self.cap_labels[channel] = []
        times.append(time)
        self.cap_labels[channel].append(label)

    def zone_at(self, ms: int) -> str:
        """The user's zone at a moment: the users file's, else the latest logged event zone at or before it,
        else the workspace's (SPEC §4.1)."""
        if self.profile_zone is not None:
            return self.profile_zone
        if self.zone_times is None:
            self.zone_times = []
            last = None
            for event in self.events:
                zone = event.timezone
                if zone and zone != last and is_zone(zone):
                    self.zone_times.append(event.time)
                    self.zone_names.append(zone)
                    last = zone
        k = bisect_right(self.zone_times, ms) - 1
        return self.zone_names[k] if k >= 0 else self.engine.workspace_zone

    def bucket(self, campaign_id: str) -> int:
        found = self.buckets.get(campaign_id)
        if found is None:
            found = self.buckets[campaign_id] = campaign_bucket(self.user, campaign_id)
        return found

    def variant(self, plan: _Plan) -> str | None:
        """The user's variant of the campaign, known from the bucket at trigger time (SPEC §4.1 edges): every row
        but control rows shows it; None without variants or for a bucket in the control group."""
        if not plan.variants:
            return None
        bucket = self.bucket(plan.id)
        if bucket < plan.control:
            return None
        for upper, variant_id in plan.variants:
            if bucket < upper:
                return variant_id
        return None

    def global_control(self) -> bool:
        if self.in_gcg is None:
            gcg = self.engine.gcg
            if gcg is None:
                self.in_gcg = False
            elif self.gcg_override is not None:
                self.in_gcg = self.gcg_override
            else:
                self.in_gcg = global_bucket(self.user) < gcg.percent * 100
        return self.in_gcg

    def audience_holds(self, plan: _Plan, at: int) -> bool:
        assert plan.check is not None
        return plan.check(at, self)

    # ---------------------------------------------------------------------------------------------
    # Trigger time

    def trigger(self, plan: _Plan, index: int, trigger: Trigger, event: Event, source: str | None,
                depth: int) -> None:
        """Judge a matched trigger (SPEC §4, triggering rules 1–8) and schedule a send or record why not."""
        t = event.time
        pending = self.pending[plan.slot]
        tracing = self.trace is not None
        if tracing:
            self.note(t, "trigger", plan.id, f"{event.event} ({event.id}) matches trigger {index} "
                                             f"({trigger.name}) of {plan.id}")
        reason = detail = None
        why = ""
        if t < plan.published:
            reason = "before_publish"
            detail = f"published {iso(plan.published)}"
            why = (f"; the follow-up was published {iso(plan.published)}; this {event.event} was on "
                   f"{iso(t)} — publishing it before then would have let this trigger count")
        elif t < plan.start:
            reason, detail = "outside_duration", f"starts {iso(plan.start)}"
        elif t >= plan.end:
            reason, detail = "outside_duration", f"ended {iso(plan.end)}"
        elif t >= plan.stopped:
            reason, detail = "campaign_stopped", f"stopped {iso(plan.stopped)}"
        elif plan.gcg and self.global_control():
            reason = "global_control_group"
            detail = ("users file: global_control_group true" if self.gcg_override
                      else f"global bucket {global_bucket(self.user)} of 10000")
        elif plan.audience is not None and not self.audience_holds(plan, t):
            reason, detail = "not_in_audience", plan.audience_name
        elif pending is not None:
            reason = "already_pending"
            detail = f"pending since {iso(pending.triggered_at)}, due {iso(pending.run_at)}"
        elif (last := self.last_receipt[plan.slot]) is not None and (
                plan.reeligible_ms is None or t - last < plan.reeligible_ms):
            reason = "not_reeligible"
            if plan.reeligible_ms is None:
                detail = f"received {iso(last)}; once per user"
            else:
                detail = f"received {iso(last)}; re-eligible from {iso(last + plan.reeligible_ms)}"
        else:
            campaign = plan.campaign
            window = campaign.send_window
            zone = self.zone_at(t) if window is not None else ""
            if window is not None and not clock.in_window(window.window, t, zone):
                reason = "outside_send_window"
                detail = (f"triggered {clock.clock_text(t, zone)}, outside the send window "
                          f"{clock.window_text(window.window)}")
            else:
                delay = campaign.delay
                if delay.kind in ("in_days", "next_weekday"):
                    delay_zone = self.engine.workspace_zone if delay.zone == "company" else self.zone_at(t)
                    due = clock.delay_due(delay, t, delay_zone)
                else:
                    due = clock.delay_due(delay, t, "UTC")
                notes: list[str] = []
                if window is not None and not clock.in_window(window.window, due, zone):
                    if window.next_available:
                        moved = clock.next_local_clock(due, window.window.start, zone, False)
                        notes.append(f"moved by the send window from {iso(due)} to "
                                     f"{clock.clock_text(moved, zone)}")
                        due = moved
                    else:
                        reason = "outside_send_window"
                        detail = (f"due {iso(due)} ({clock.clock_text(due, zone)}), outside the send "
                                  f"window {clock.window_text(window.window)}")
                if reason is None:
                    self.schedule(plan, index, trigger, event, source, due, depth, notes)
                    return
        row = Decision(self.user, plan.id, "suppressed", reason, detail, trigger.name, source, event.id, t,
                       None, None, self.variant(plan), plan.channels)
        self.decisions.append(row)
        if tracing:
            self.trace_decision(row, why)

    def schedule(self, plan: _Plan, index: int, trigger: Trigger, event: Event, source: str | None, due: int,
                 depth: int, notes: list[str]) -> None:
        t = event.time
        row = len(self.decisions)
        self.decisions.append(None)
        send = _Pending(plan, row, index, trigger.name, source, event.id, t, due,
                        depth + 1 if due == t else 1, notes)
        self.pending[plan.slot] = send
        self.created += 1
        heappush(self.heap, (due, plan.index, self.created, send))
        if self.trace is not None:
            moved = f" ({'; '.join(notes)})" if notes else ""
            self.note(t, "pending", plan.id, f"send of {plan.id} pending, due {iso(due)} "
                                             f"({plan.campaign.delay.text}){moved}")

    def cancel(self, send: _Pending, exception: Trigger, event: Event) -> None:
        """An exception while the send is pending (trigger time < u < due time) cancels it (SPEC §4)."""
        source = f" of {exception.campaign}" if exception.campaign else ""
        detail = f"exception: {exception.name}{source} at {iso(event.time)}"
        if self.trace is not None:
            self.note(event.time, "exception", send.plan.id,
                      f"{event.event} ({event.id}) is an exception of {send.plan.id}: cancels the send "
                      f"triggered {iso(send.triggered_at)}, due {iso(send.run_at)}")
        self.finish(send, "cancelled", "exception", detail, send.due_at)

    # ---------------------------------------------------------------------------------------------
    # Due time

    def run_send(self, send: _Pending, at: int) -> None:
        """The due-time checks in order (SPEC §4): chain depth, stopped, duration, audience at send, control
        bucket, reachability, quiet hours, frequency caps; else sent."""
        plan = send.plan
        if send.depth > MAX_CHAIN_DEPTH:
            self.finish(send, "suppressed", "chain_depth",
                        f"more than {MAX_CHAIN_DEPTH} sends in one chain at {iso(at)}", send.due_at)
            return
        if at >= plan.stopped:
            self.finish(send, "suppressed", "campaign_stopped", f"stopped {iso(plan.stopped)}", send.due_at)
            return
        if at >= plan.end:
            self.finish(send, "suppressed", "outside_duration", f"ended {iso(plan.end)}", send.due_at)
            return
        campaign = plan.campaign
        if campaign.reevaluate_audience_at_send and plan.audience is not None and not self.audience_holds(plan, at):
            self.finish(send, "suppressed", "not_in_audience_at_send",
                        f"{plan.audience_name} false at {iso(at)}", send.due_at)
            return
        bucket = self.bucket(plan.id) if (plan.control or plan.variants) else 0
        if bucket < plan.control:
            self.finish(send, "control", None, send.detail(), at)
            self.receive(plan, at)
            self.emit(_CONTROL_EVENT, plan.id, at, send.depth)
            self.open_windows(plan, at, send.row, True)
            return
        channels = plan.channels
        unreachable = [c for c in channels if c in self.unsubscribed] if self.unsubscribed else []
        if unreachable:
            channels = tuple(c for c in channels if c not in self.unsubscribed)
            if not channels:
                self.finish(send, "suppressed", "not_reachable", f"unsubscribed: {', '.join(unreachable)}",
                            send.due_at)
                return
        quiet = campaign.quiet_hours
        if quiet is not None:
            zone = self.zone_at(at)
            if clock.in_window(quiet.window, at, zone):
                if quiet.mode == "abort":
                    self.finish(send, "suppressed", "quiet_hours",
                                f"quiet hours {clock.window_text(quiet.window)} {zone}", send.due_at)
                    return
                later = clock.next_local_clock(at, quiet.window.end, zone, True)
                note = f"held by quiet hours until {clock.clock_text(later, zone)}"
                send.notes.append(note)
                send.run_at = later
                send.depth = 1
                self.created += 1
                heappush(self.heap, (later, plan.index, self.created, send))
                if self.trace is not None:
                    self.note(at, "hold", plan.id, f"send of {plan.id} {note} ({iso(later)})")
                return
        notes: list[str] = []
        if unreachable:
            notes.append(f"unsubscribed: {', '.join(unreachable)}")
        if self.engine.caps and plan.capped:
            capped = [c for c in channels if c in plan.capped]
            if capped:
                stop, dropped = self.apply_caps(plan, at, capped)
                if stop is not None or len(dropped) == len(channels):
                    self.finish(send, "suppressed", "frequency_cap", stop or "; ".join(dropped.values()),
                                send.due_at)
                    return
                if dropped:
                    channels = tuple(c for c in channels if c not in dropped)
                    notes.extend(f"{text} ({c} not sent)" for c, text in dropped.items())
        send.notes.extend(notes)
        self.finish(send, "sent", None, send.detail(), send.due_at, at, channels)
        self.sent_channels.setdefault(plan.id, set()).update(channels)
        self.receive(plan, at)
        if plan.capped:
            label = ("sent", plan.id)
            counted = [c for c in channels if c in plan.capped]
            for channel in counted:
                self.count_send(channel, at, label)
            if counted:
                self.count_send("any", at, label)
        for channel, event_name in RECEIVE_EVENT.items():
            if channel in channels:
                self.emit(event_name, plan.id, at, send.depth)
        self.open_windows(plan, at, send.row, False)

    def apply_caps(self, plan: _Plan, at: int, capped: list[str]) -> tuple[str | None, dict[str, str]]:
        """Frequency caps at a send (SPEC §4): an ``any`` cap reached stops the whole send (its text returned
        first); a channel cap reached drops that channel (channel → cap text)."""
        zone = self.zone_at(at)
        dropped: dict[str, str] = {}
        for cap in self.engine.caps:
            if cap.channel != "any" and cap.channel not in capped:
                continue
            times = self.cap_times.get(cap.channel, [])
            if cap.unit in ("minute", "hour"):
                first = bisect_right(times, at - cap.rolling_seconds * 1000)
            else:
                first = bisect_left(times, clock.days_start(at, cap.calendar_days, zone))
            used = len(times) - first
            text = f"cap {cap.channel} {cap.max}/{cap.text}"
            if self.trace is not None:
                labels = zip(self.cap_labels.get(cap.channel, [])[first:], times[first:], strict=True)
                counted = ", ".join(f"{kind} of {cid} at {iso(time)}" for (kind, cid), time in labels)
                counted = counted or "nothing"
                self.note(at, "cap", plan.id, f"{text}: {used} counted for {plan.id} ({counted})")
            if used >= cap.max:
                if cap.channel == "any":
                    return text, dropped
                dropped.setdefault(cap.channel, text)
        return None, dropped

    def receive(self, plan: _Plan, at: int) -> None:
        """``sent`` and ``control`` mark the user as having received the campaign."""
        self.last_receipt[plan.slot] = at
        if self.engine.needs_receipts:
            self.receipts.setdefault(plan.id, []).append(at)

    def finish(self, send: _Pending, status: str, reason: str | None, detail: str, due_at: int | None,
               sent_at: int | None = None, channels: tuple[str, ...] | None = None) -> None:
        plan = send.plan
        send.active = False
        variant = self.variant(plan) if plan.variants and status != "control" else None
        if self.pending[plan.slot] is send:
            self.pending[plan.slot] = None
        row: Decision = _new(Decision, (self.user, plan.id, status, reason, detail, send.trigger, send.source,
                                        send.event_id, send.triggered_at, due_at, sent_at, variant,
                                        plan.channels if channels is None else channels))
        self.decisions[send.row] = row
        if self.trace is not None:
            self.trace_decision(row, "", self.now)

    # ---------------------------------------------------------------------------------------------
    # Chaining

    def emit(self, kind: str, campaign_id: str, at: int, depth: int, conversion_index: int | None = None) -> None:
        """A synthetic event for the campaign, processed at ``at`` after the sends due then (FIFO)."""
        base = f"{kind}:{campaign_id}:{self.user}:{iso(at)}"
        seen = self.synthetic_ids.get(base, 0) + 1
        self.synthetic_ids[base] = seen
        event_id = base if seen == 1 else f"{base}#{seen}"
        self.synthetic_count += 1
        event = _new(Event, (at, -self.synthetic_count, self.user, kind, campaign_id, event_id, None, None, None,
                             False, conversion_index, None, None, True, False))
        self.fifo.append((event, depth))

    def open_windows(self, plan: _Plan, at: int, row: int, control: bool) -> None:
        for index, conversion in plan.conversions:
            self.windows.append((at + conversion.within * 1000, at, index, conversion, plan, row, control))

    def convert(self, event: Event, depth: int) -> None:
        """Close every conversion window this event converts: the first matching event in (start, end]."""
        t = event.time
        keep = []
        for window in self.windows:
            end, start, index, conversion, plan, row, control = window
            if t > end:
                continue
            if t > start and conversion_matches(conversion, event):
                self.conversions.append(Conversion(self.user, plan.id, index, t, event.id, row, control))
                if self.trace is not None:
                    self.note(t, "conversion", plan.id,
                              f"{event.event} ({event.id}) converts {plan.id} (conversion event {index}, "
                              f"{'control enrollment' if control else 'send'} {iso(start)})")
                self.emit(_CONVERSION_EVENT, plan.id, t, depth, index)
            else:
                keep.append(window)
        self.windows = keep

    # ---------------------------------------------------------------------------------------------
    # Trace (only when asked for)

    def note(self, time: int, kind: str, campaign: str | None, text: str) -> None:
        assert self.trace is not None
        self.trace.append(TraceEntry(time, kind, campaign, text))

    def trace_event(self, event: Event, cid: str | None) -> None:
        parts = [event.event]
        if event.campaign is not None:
            parts.append(f"of {cid or event.campaign}")
        for field in ("link_alias", "button_id", "page", "conversion_index", "timezone"):
            value = getattr(event, field)
            if value is not None:
                parts.append(f"{field}={value}")
        if event.machine_open:
            parts.append("machine_open")
        if event.properties:
            parts.append(f"properties={event.properties}")
        parts.append(f"({event.id})")
        if event.bot:
            parts.append("— suspected bot click, ignored")
        self.note(event.time, "synthetic" if event.synthetic else "event", cid, " ".join(parts))

    def trace_decision(self, row: Decision, why: str, at: int | None = None) -> None:
        if row.status == "sent":
            text = f"{row.campaign}: sent on {', '.join(row.channels)}"
            if row.variant:
                text += f" (variant {row.variant})"
        elif row.status == "control":
            text = f"{row.campaign}: control group — enrolled, nothing sent"
        elif row.status == "pending":
            text = f"{row.campaign}: still pending at the horizon, due {format_time(row.due_at)}"
        else:
            text = f"{row.campaign}: {row.status} ({row.reason}) — {REASON_TEXT[row.reason or '']}"
        text += f"; {row.detail}{why}; triggered by {row.trigger} ({row.trigger_event_id}) at " \
                f"{iso(row.triggered_at)}"
        self.note(row.triggered_at if at is None else at, "decision", row.campaign, text)


def _time(event: Event) -> int:
    return event.time


_DAY_PREFIX: dict[int, str] = {}


def iso(ms: int) -> str:
    """``timeutil.format_time`` for the hot path: the date part is cached per UTC day."""
    day, rest = divmod(ms, 86_400_000)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = format_time(day * 86_400_000)[:11]  # type: ignore[index]
    seconds, millis = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    if millis:
        return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"
    return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}Z"


__all__ = ["Engine", "campaign_bucket", "global_bucket"]
