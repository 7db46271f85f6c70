"""The rules of SPEC §2.2 that look across campaigns: sources and their channels, cycles, publish order ...

They run after every campaign is built and skip values that already failed, so one mistake gives one problem.
With an event log (``LogFacts``), the publish-order warning says what it loses and unused references are
flagged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from campaign_connector import model, vocabulary
from campaign_connector.config.build import Builder
from campaign_connector.config.campaigns import CampaignEntry
from campaign_connector.config.keys import MAX_IN_APP_DELAY_SECONDS
from campaign_connector.config.yamlload import Node
from campaign_connector.timeutil import format_duration, format_time


class LogFacts(Protocol):
    """What the rules may ask an event log (``validate --db``)."""

    name: str
    """The log's name in messages (the database path)."""

    def present(self, values: Sequence[str]) -> set[str]:
        """Which of these campaign values appear on at least one logged event."""

    def count_interactions(self, trigger: model.Trigger, values: Sequence[str], before: int) -> tuple[int, int]:
        """(events, distinct users) of logged rows matching the trigger, of a campaign logged under one of
        ``values``, strictly before ``before`` (ms)."""


def locate(node: Node, *parts: str | int) -> Node:
    """The node at a path of keys and indices below ``node``, or the deepest one that exists."""
    for part in parts:
        if isinstance(part, int):
            if not node.is_sequence or part >= len(node.value):
                return node
            node = node.value[part]
        else:
            if not node.is_mapping or part not in node.value:
                return node
            node = node.value[part]
    return node


def check_rules(builder: Builder, log: LogFacts | None = None) -> None:
    """Add the cross-campaign errors and warnings (and, with a log, the log's) to ``builder.problems``."""
    by_id = {entry.campaign.id: entry for entry in builder.entries if entry.campaign.id}
    for entry in builder.entries:
        _check_campaign(builder, entry, by_id, log)
    _check_cycles(builder, by_id)
    if log is not None:
        _check_log_references(builder, by_id, log)


def _check_campaign(builder: Builder, entry: CampaignEntry, by_id: dict[str, CampaignEntry],
                    log: LogFacts | None) -> None:
    campaign, node, path = entry.campaign, entry.node, entry.path
    in_app = "in_app" in campaign.channels
    for kind in ("triggers", "exceptions"):
        items = campaign.triggers if kind == "triggers" else campaign.exceptions
        for trigger, index in zip(items, builder.item_index.get(f"{path}.{kind}", []), strict=True):
            tpath = f"{path}.{kind}[{index}]"
            if trigger.interaction is None:
                continue
            inode = locate(node, kind, index, "interaction")
            cnode = locate(node, kind, index, "campaign")
            if kind == "triggers" and in_app:
                builder.error(inode, f"{tpath}.interaction", "in-app-connector-trigger",
                              "connector triggers cannot trigger an in_app campaign (in-app messages are triggered "
                              "only by SDK events such as session_start or a custom event)")
            if trigger.campaign is None:
                continue
            if trigger.campaign == campaign.id and kind == "triggers":
                builder.error(cnode, f"{tpath}.campaign", "self-trigger",
                              f"'{campaign.id}' cannot be triggered by its own {trigger.interaction}")
                continue
            source = by_id.get(trigger.campaign)
            if source is None:
                continue
            _check_source(builder, trigger, source, inode, f"{tpath}.interaction")
            if kind == "triggers":
                _check_source_warnings(builder, campaign, trigger, source, cnode, f"{tpath}.campaign", log)
    if campaign.exceptions and campaign.delay.immediate and builder.ok(f"{path}.delay"):
        builder.error(locate(node, "exceptions"), f"{path}.exceptions", "exception-needs-delay",
                      "exceptions need a delay: with delay immediately a send never waits "
                      "(set a delay like '1 day', or remove the exceptions)")
    _check_session_start(builder, entry)
    _check_channels(builder, entry)
    _check_delay(builder, entry)
    _check_exception_equals_trigger(builder, entry)
    _check_audience(builder, entry)


def _check_source(builder: Builder, trigger: model.Trigger, source: CampaignEntry, inode: Node, ipath: str) -> None:
    """The interaction must be one the source's channels can produce."""
    interaction = vocabulary.INTERACTIONS[trigger.name]
    channels = source.campaign.channels
    if not builder.ok(f"{source.path}.channels") or not channels:
        return
    if interaction.channel is not None and interaction.channel not in channels:
        builder.error(inode, ipath, "interaction-channel",
                      f"{interaction.name} needs a source with the {interaction.channel} channel; "
                      f"'{source.campaign.id}' has {', '.join(channels)}")
    if interaction.needs_control_group and source.campaign.control_group == 0 \
            and builder.ok(f"{source.path}.control_group"):
        builder.error(inode, ipath, "enroll-needs-control-group",
                      f"'{source.campaign.id}' has no control group, so nobody is ever enrolled in it "
                      "(give it control_group, or use another interaction)")


def _check_source_warnings(builder: Builder, campaign: model.Campaign, trigger: model.Trigger,
                           source: CampaignEntry, cnode: Node, cpath: str, log: LogFacts | None) -> None:
    """Publish order and the source's status."""
    src = source.campaign
    if src.status == "draft":
        builder.warn(cnode, cpath, "source-not-active",
                     f"source campaign '{src.id}' is a draft: it sends nothing, so this trigger never fires "
                     "from it until it is published")
    elif src.status in ("stopped", "archived"):
        since = f" at {format_time(src.stopped_at)}" if src.stopped_at is not None else ""
        builder.warn(cnode, cpath, "source-not-active",
                     f"source campaign '{src.id}' is {src.status}{since}: it sends no new messages, "
                     "so this trigger fires only on interactions with earlier ones")
    if src.status == "draft" or campaign.status == "draft":
        return
    published, source_published = campaign.published_at, src.published_at
    if published is None or source_published is None or published <= source_published:
        return
    message = (f"'{campaign.id}' is published {format_time(published)}, after its source '{src.id}' "
               f"({format_time(source_published)}): {trigger.name} interactions before "
               f"{format_time(published)} never trigger it (publish the follow-up first)")
    if log is not None:
        values = [src.id] + ([src.braze_id] if src.braze_id else [])
        events, users = log.count_interactions(trigger, values, published)
        message += (f"; in {log.name} that loses {events:,} logged interaction{'' if events == 1 else 's'} "
                    f"from {users:,} user{'' if users == 1 else 's'}")
    builder.warn(cnode, cpath, "publish-order", message)


def _check_session_start(builder: Builder, entry: CampaignEntry) -> None:
    campaign = entry.campaign
    if not any(t.event == vocabulary.SESSION_START for t in campaign.triggers):
        return
    indices = builder.item_index.get(f"{entry.path}.exceptions", [])
    for exception, index in zip(campaign.exceptions, indices, strict=True):
        if exception.event == vocabulary.SESSION_START:
            builder.error(locate(entry.node, "exceptions", index, "event"),
                          f"{entry.path}.exceptions[{index}].event", "session-start-trigger-and-exception",
                          "session_start cannot be both a trigger and an exception of one campaign")


def _check_channels(builder: Builder, entry: CampaignEntry) -> None:
    """Control groups, variants and in_app on multichannel campaigns; variants + control = 100."""
    campaign, node, path = entry.campaign, entry.node, entry.path
    if not builder.ok(f"{path}.channels"):
        return
    multi = len(campaign.channels) > 1
    if multi and "in_app" in campaign.channels:
        builder.error(locate(node, "channels"), f"{path}.channels", "in-app-multichannel",
                      "in_app cannot be combined with other channels (make a separate in-app campaign)")
    if multi and campaign.control_group:
        builder.error(locate(node, "control_group"), f"{path}.control_group", "multichannel-control",
                      "a control group needs a single-channel campaign")
    if multi and campaign.variants:
        builder.error(locate(node, "variants"), f"{path}.variants", "multichannel-control",
                      "variants need a single-channel campaign")
    if campaign.variants and builder.ok(f"{path}.variants") and builder.ok(f"{path}.control_group"):
        total = sum(v.percent for v in campaign.variants) + campaign.control_group
        if total != 100:
            parts = " + ".join(str(v.percent) for v in campaign.variants)
            builder.error(locate(node, "variants"), f"{path}.variants", "variant-sum",
                          f"variants ({parts}) and control_group ({campaign.control_group}) add up to {total}, "
                          "not 100")


def _min_delay_seconds(delay: model.Delay) -> int:
    """The least time the delay can wait (calendar forms: a lower bound)."""
    if delay.kind == "duration":
        return delay.seconds
    if delay.kind == "in_days":
        return max(0, delay.days - 1) * 86_400
    return 0


def _check_delay(builder: Builder, entry: CampaignEntry) -> None:
    campaign, node, path = entry.campaign, entry.node, entry.path
    if not builder.ok(f"{path}.delay"):
        return
    delay = campaign.delay
    if "in_app" in campaign.channels and (
        delay.kind in ("in_days", "next_weekday") or delay.seconds > MAX_IN_APP_DELAY_SECONDS
    ):
        builder.error(locate(node, "delay"), f"{path}.delay", "in-app-delay",
                      f"an in-app campaign's delay is at most 2 hours, got {delay.text}")
    start, end = campaign.start_at, campaign.end_at
    if (campaign.triggers and start is not None and end is not None and end > start
            and _min_delay_seconds(delay) * 1000 >= end - start):
        builder.warn(locate(node, "delay"), f"{path}.delay", "delay-exceeds-duration",
                     f"delay {delay.text} is longer than the campaign's duration "
                     f"({format_duration((end - start) // 1000)}): no send can fall before end_at")


def _check_exception_equals_trigger(builder: Builder, entry: CampaignEntry) -> None:
    campaign = entry.campaign
    indices = builder.item_index.get(f"{entry.path}.exceptions", [])
    trigger_indices = builder.item_index.get(f"{entry.path}.triggers", [])
    for exception, index in zip(campaign.exceptions, indices, strict=True):
        if exception.event == vocabulary.SESSION_START:
            continue
        for trigger, tindex in zip(campaign.triggers, trigger_indices, strict=True):
            if trigger == exception:
                builder.warn(locate(entry.node, "exceptions", index), f"{entry.path}.exceptions[{index}]",
                             "exception-equals-trigger",
                             f"this exception equals triggers[{tindex}]: a repeat while the send is pending "
                             "restarts the delay instead of cancelling it")
                break


def _filters(item: model.Filter | None) -> Iterator[model.Filter]:
    """Every filter in a tree, depth first."""
    if item is None:
        return
    yield item
    if isinstance(item, model.AllOf | model.AnyOf):
        for child in item.items:
            yield from _filters(child)
    elif isinstance(item, model.Not):
        yield from _filters(item.item)


def _trigger_event(trigger: model.Trigger) -> str:
    """The log event name a trigger matches."""
    if trigger.interaction is not None:
        return vocabulary.INTERACTIONS[trigger.interaction].base_event
    return trigger.event or ""


def _check_audience(builder: Builder, entry: CampaignEntry) -> None:
    campaign = entry.campaign
    events = {_trigger_event(t) for t in campaign.triggers}
    warned: set[str] = set()
    for item in _filters(campaign.audience):
        if isinstance(item, model.PerformedFilter) and item.event in events and item.event not in warned:
            warned.add(item.event)
            segment = f" (segment '{campaign.audience_segment}')" if campaign.audience_segment else ""
            builder.warn(locate(entry.node, "audience"), f"{entry.path}.audience", "audience-uses-trigger-event",
                         f"the audience{segment} counts '{item.event}', which is also a trigger event: the audience "
                         f"sees only events before the trigger, so the triggering {item.event} itself never counts")


def _check_cycles(builder: Builder, by_id: dict[str, CampaignEntry]) -> None:
    """Trigger cycles: a warning each, or an error when every step is immediate and re-eligible at once."""
    edges: dict[str, list[str]] = {cid: [] for cid in by_id}
    where: dict[tuple[str, str], int] = {}
    for entry in builder.entries:
        campaign = entry.campaign
        indices = builder.item_index.get(f"{entry.path}.triggers", [])
        for trigger, index in zip(campaign.triggers, indices, strict=True):
            source = trigger.campaign
            if source is None or source == campaign.id or source not in by_id:
                continue
            if source in edges and campaign.id not in edges[source]:
                edges[source].append(campaign.id)
                where.setdefault((source, campaign.id), index)

    def endless(cid: str) -> bool:
        entry = by_id[cid]
        return (entry.campaign.delay.immediate and entry.campaign.reeligible_after == 0
                and builder.ok(f"{entry.path}.delay") and builder.ok(f"{entry.path}.reeligible_after"))

    fast = {cid: [t for t in targets if endless(t)] for cid, targets in edges.items() if endless(cid)}
    reported: set[str] = set()
    for component in _components(fast, by_id):
        cycle = _cycle(component, fast, by_id)
        reported.update(component)
        entry, index = _closing_trigger(cycle, by_id, where)
        builder.error(locate(entry.node, "triggers", index, "campaign"), f"{entry.path}.triggers[{index}].campaign",
                      "immediate-cycle",
                      f"trigger cycle {' → '.join(cycle)} never ends: every delay is immediately and every campaign "
                      "is re-eligible after 0 seconds (add a delay or a longer reeligible_after)")
    for component in _components(edges, by_id):
        if reported & set(component):
            continue
        cycle = _cycle(component, edges, by_id)
        entry, index = _closing_trigger(cycle, by_id, where)
        builder.warn(locate(entry.node, "triggers", index, "campaign"), f"{entry.path}.triggers[{index}].campaign",
                     "trigger-cycle",
                     f"trigger cycle {' → '.join(cycle)}: each campaign's sends can trigger the next "
                     "(check that re-eligibility, delays or exceptions end it)")


def _components(edges: dict[str, list[str]], by_id: dict[str, CampaignEntry]) -> list[list[str]]:
    """Strongly connected groups of two or more campaigns, each in config order, groups by first campaign."""
    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        stack = list(edges.get(start, []))
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, []))
        return seen

    reachable = {cid: reach(cid) for cid in edges}
    order = sorted(edges, key=lambda cid: by_id[cid].campaign.index)
    done: set[str] = set()
    groups: list[list[str]] = []
    for cid in order:
        if cid in done or cid not in reachable[cid]:
            continue
        group = [other for other in order if other in reachable[cid] and cid in reachable[other]]
        done.update(group)
        if len(group) > 1:
            groups.append(group)
    return groups


def _cycle(component: list[str], edges: dict[str, list[str]], by_id: dict[str, CampaignEntry]) -> list[str]:
    """A shortest cycle through the component's first campaign: ``[a, b, a]``."""
    start = component[0]
    members = set(component)
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        current = queue.pop(0)
        for target in sorted(edges.get(current, []), key=lambda cid: by_id[cid].campaign.index):
            if target not in members:
                continue
            if target == start:
                path = [current]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if target not in previous:
                previous[target] = current
                queue.append(target)
    return [start, start]


def _closing_trigger(cycle: list[str], by_id: dict[str, CampaignEntry],
                     where: dict[tuple[str, str], int]) -> tuple[CampaignEntry, int]:
    """The first campaign of the cycle and its trigger naming the campaign before it in the cycle."""
    return by_id[cycle[0]], where[(cycle[-2], cycle[0])]


def _check_log_references(builder: Builder, by_id: dict[str, CampaignEntry], log: LogFacts) -> None:
    """Source campaigns referenced by a trigger, exception or received filter but absent from the log."""
    first: dict[str, tuple[Node, str]] = {}
    for entry in builder.entries:
        campaign = entry.campaign
        for kind in ("triggers", "exceptions"):
            items = campaign.triggers if kind == "triggers" else campaign.exceptions
            for trigger, index in zip(items, builder.item_index.get(f"{entry.path}.{kind}", []), strict=True):
                if trigger.campaign is not None:
                    first.setdefault(trigger.campaign, (locate(entry.node, kind, index, "campaign"),
                                                        f"{entry.path}.{kind}[{index}].campaign"))
        for item in _filters(campaign.audience):
            if isinstance(item, model.ReceivedFilter):
                first.setdefault(item.campaign, (locate(entry.node, "audience"), f"{entry.path}.audience"))
    sources = {cid: by_id[cid].campaign for cid in first if cid in by_id and not by_id[cid].campaign.simulated}
    values = sorted({v for c in sources.values() for v in (c.id, c.braze_id) if v})
    present = log.present(values) if values else set()
    for cid, campaign in sources.items():
        if campaign.id in present or (campaign.braze_id and campaign.braze_id in present):
            continue
        node, path = first[cid]
        also = f" or its braze_id '{campaign.braze_id}'" if campaign.braze_id else ""
        builder.warn(node, path, "campaign-not-in-log",
                     f"campaign '{cid}'{also} never appears in the event log {log.name} "
                     "(check the id or braze_id, or import its events)")
