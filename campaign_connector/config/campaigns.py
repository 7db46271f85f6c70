"""One ``campaigns:`` item and its parts: channels, audience, triggers and exceptions, delay, variants, quiet
hours and send window, conversion events."""

from __future__ import annotations

import re
from dataclasses import dataclass

from campaign_connector import model, vocabulary
from campaign_connector.config.filters import FilterReader
from campaign_connector.config.keys import (
    CAMPAIGN_KEYS,
    CONVERSION_KEYS,
    DELAY_IN_DAYS_KEYS,
    DELAY_WEEKDAY_KEYS,
    DELAY_ZONES,
    ID_RE,
    MAX_CONVERSION_EVENTS,
    MAX_CONVERSION_WINDOW_SECONDS,
    QUIET_HOURS_KEYS,
    QUIET_HOURS_MODES,
    RATE_LIMIT_KEYS,
    SEND_WINDOW_KEYS,
    VARIANT_KEYS,
)
from campaign_connector.config.nodes import describe, key_path
from campaign_connector.config.problems import suggest
from campaign_connector.config.yamlload import Node
from campaign_connector.timeutil import (
    format_clock,
)


@dataclass(slots=True)
class CampaignEntry:
    """A campaign as built, with its YAML node, for the cross-campaign rules."""

    campaign: model.Campaign
    node: Node
    path: str



class CampaignReader(FilterReader):
    """Reads campaigns; ``item_index`` keeps which YAML items of each trigger list were built."""

    def __init__(self, file: str) -> None:
        super().__init__(file)
        self.item_index: dict[str, list[int]] = {}
        """``campaigns[i].triggers`` → the YAML index of each built trigger (invalid ones are dropped)."""

    def campaign(self, node: Node, path: str, index: int) -> model.Campaign | None:
        """One ``campaigns:`` item."""
        entries = self.mapping(node, path, CAMPAIGN_KEYS, ("id", "channels"), what="a campaign mapping")
        if entries is None:
            return None
        get = self.get
        campaign_id = ""
        if "id" in entries:
            value = self.text(entries["id"], key_path(path, "id"), "a campaign id")
            if value is not None and not ID_RE.match(value):
                self.error(entries["id"], key_path(path, "id"), "bad-id",
                           f"campaign id '{value}' must use only a-z, 0-9, _ and - (e.g. "
                           f"'{re.sub(r'[^a-z0-9_-]+', '_', value.lower()).strip('_') or 'my_campaign'}')")
            campaign_id = value or ""
        braze_id = self.text(entries["braze_id"], key_path(path, "braze_id")) if get(entries, "braze_id") else None
        name = self.text(entries["name"], key_path(path, "name")) if get(entries, "name") else None
        channels = self.channels(entries["channels"], key_path(path, "channels")) if "channels" in entries else ()
        status = "active"
        if get(entries, "status"):
            status = self.choice(entries["status"], key_path(path, "status"), vocabulary.CAMPAIGN_STATUSES,
                                 "unknown-status", "status") or "active"
        times: dict[str, int | None] = {}
        for key in ("published_at", "start_at", "end_at", "stopped_at"):
            times[key] = self.time(entries[key], key_path(path, key)) if get(entries, key) else None
        if status != "draft" and get(entries, "published_at") is None:
            self.error(node, path, "missing-key",
                       f"missing required key 'published_at' (required unless status is draft; this one is {status})")
        if status in ("stopped", "archived") and get(entries, "stopped_at") is None:
            self.error(node, path, "missing-key", f"missing required key 'stopped_at' (status {status} needs it)")
        start_at = times["start_at"] if times["start_at"] is not None else times["published_at"]
        for key in ("end_at", "stopped_at"):
            if times[key] is not None and start_at is not None and times[key] <= start_at:  # type: ignore[operator]
                self.error(entries[key], key_path(path, key), "time-order",
                           f"{key} must be after start_at (or published_at when start_at is absent)")
        tags = self.text_list(entries["tags"], key_path(path, "tags"), "tags") if get(entries, "tags") else ()
        triggers = self.triggers(entries, path, "triggers")
        exceptions = self.triggers(entries, path, "exceptions")
        delay = self.delay(entries["delay"], key_path(path, "delay")) if get(entries, "delay") else model.Delay()
        audience, segment = self.audience(entries, path)
        flags: dict[str, bool] = {"reevaluate_audience_at_send": False, "frequency_capping": True}
        for key in flags:
            if get(entries, key):
                flag = self.boolean(entries[key], key_path(path, key))
                flags[key] = flags[key] if flag is None else flag
        reeligible = None
        if get(entries, "reeligible_after"):
            reeligible = self.duration(entries["reeligible_after"], key_path(path, "reeligible_after"))
            if reeligible is not None and reeligible > vocabulary.MAX_REELIGIBLE_SECONDS:
                self.error(entries["reeligible_after"], key_path(path, "reeligible_after"), "reeligible-too-long",
                           f"reeligible_after is at most 720 days, got {entries['reeligible_after'].text}")
        control = 0
        if get(entries, "control_group"):
            control = int(self.percent(entries["control_group"], key_path(path, "control_group"), integer=True) or 0)
        variants = self.variants(entries["variants"], key_path(path, "variants")) if get(entries, "variants") else ()
        quiet = self.quiet_hours(entries["quiet_hours"], key_path(path, "quiet_hours")) \
            if get(entries, "quiet_hours") else None
        send_window = self.send_window(entries["send_window"], key_path(path, "send_window")) \
            if get(entries, "send_window") else None
        rate = None
        if get(entries, "rate_limit"):
            rate_entries = self.mapping(entries["rate_limit"], key_path(path, "rate_limit"), RATE_LIMIT_KEYS,
                                        RATE_LIMIT_KEYS)
            if rate_entries and "per_minute" in rate_entries:
                rate = self.integer(rate_entries["per_minute"], key_path(path, "rate_limit.per_minute"), 1)
        max_recipients = self.integer(entries["max_recipients"], key_path(path, "max_recipients"), 1) \
            if get(entries, "max_recipients") else None
        conversions = self.conversion_events(entries["conversion_events"], key_path(path, "conversion_events")) \
            if get(entries, "conversion_events") else ()
        return model.Campaign(
            id=campaign_id, index=index, channels=channels, status=status,  # type: ignore[arg-type]
            published_at=times["published_at"], braze_id=braze_id, name=name, start_at=start_at,
            end_at=times["end_at"], stopped_at=times["stopped_at"], tags=tags, triggers=triggers, delay=delay,
            exceptions=exceptions, audience=audience, audience_segment=segment,
            reevaluate_audience_at_send=flags["reevaluate_audience_at_send"], reeligible_after=reeligible,
            control_group=control, variants=variants, quiet_hours=quiet, send_window=send_window,
            frequency_capping=flags["frequency_capping"], rate_limit_per_minute=rate,
            max_recipients=max_recipients, conversion_events=conversions, line=node.line,
        )

    def channels(self, node: Node, path: str) -> tuple[str, ...]:
        """``channels: [push, email]`` — at least one, no repeats."""
        items = self.sequence(node, path, f"a list of channels ({', '.join(vocabulary.CHANNELS)})")
        if items is None:
            return ()
        if not items:
            self.error(node, path, "bad-value", f"needs at least one channel ({', '.join(vocabulary.CHANNELS)})")
        channels: list[str] = []
        for i, item in enumerate(items):
            channel = self.choice(item, key_path(path, i), vocabulary.CHANNELS, "unknown-channel", "channel")
            if channel is not None and channel in channels:
                self.error(item, key_path(path, i), "bad-value", f"channel '{channel}' is listed twice")
            elif channel is not None:
                channels.append(channel)
        return tuple(channels)

    def audience(self, entries: dict[str, Node], path: str) -> tuple[model.Filter | None, str | None]:
        """``audience:`` a segment name or an inline filter → (filter, segment name)."""
        node = self.get(entries, "audience")
        if node is None:
            return None, None
        apath = key_path(path, "audience")
        if isinstance(node.value, str):
            name = node.value
            if name not in self.segment_nodes:
                hint = suggest(name, self.segment_nodes) or (
                    f" (declared: {', '.join(self.segment_nodes)})" if self.segment_nodes else
                    " (declare it under segments:, or write the filter inline)")
                self.error(node, apath, "unknown-segment", f"unknown segment '{name}'{hint}")
                return None, None
            if name not in self.segments:
                self.failed.add(apath)
                return None, name
            return self.segments[name], name
        return self.filter(node, apath), None

    def triggers(self, entries: dict[str, Node], path: str, key: str) -> tuple[model.Trigger, ...]:
        """``triggers:`` or ``exceptions:`` list. The YAML index of each built item goes to ``item_index``."""
        node = self.get(entries, key)
        if node is None:
            return ()
        lpath = key_path(path, key)
        items = self.sequence(node, lpath, f"a list of {key}")
        built = [(i, self.trigger(item, key_path(lpath, i))) for i, item in enumerate(items or [])]
        self.item_index[lpath] = [i for i, t in built if t is not None]
        return tuple(t for _, t in built if t is not None)

    def trigger(self, node: Node, path: str) -> model.Trigger | None:
        """``{interaction: click_email_alias, campaign: x, alias: cta}`` or ``{event: purchase, product: p}``."""
        if not node.is_mapping:
            self.error(node, path, "wrong-type",
                       f"expected a mapping with interaction or event, got {describe(node)}")
            return None
        entries: dict[str, Node] = node.value
        if "interaction" in entries and "event" in entries:
            self.error(node, path, "bad-trigger", "give either interaction (with campaign) or event, not both")
            return None
        if "interaction" in entries:
            return self.interaction_trigger(node, path)
        if "event" in entries:
            return self.event_trigger(node, path)
        first = next(iter(entries), "")
        hint = suggest(first, ("interaction", "event")) if first else ""
        self.error(node, path, "missing-key",
                   f"missing 'interaction' or 'event'{hint or ' (e.g. {interaction: open_email, campaign: x})'}")
        return None

    def interaction_trigger(self, node: Node, path: str) -> model.Trigger | None:
        """A connector trigger: an interaction with a source campaign."""
        entries: dict[str, Node] = node.value
        ipath = key_path(path, "interaction")
        name = self.text(entries["interaction"], ipath, "an interaction name")
        if name is None:
            return None
        interaction = vocabulary.INTERACTIONS.get(name)
        if interaction is None:
            if name in vocabulary.BUILTIN_EVENTS:
                message = f"'{name}' is not a connector interaction; write {{event: {name}}}"
            else:
                message = f"unknown interaction '{name}'{suggest(name, vocabulary.INTERACTIONS)}"
            self.error(entries["interaction"], ipath, "unknown-interaction", message)
            return None
        allowed = ["interaction", "campaign", *(q.key for q in interaction.qualifiers)]
        required = [q.key for q in interaction.qualifiers if q.required]
        if not interaction.any_campaign:
            required.insert(0, "campaign")
        self.mapping(node, path, allowed, required)
        campaign = None
        if interaction.any_campaign and "campaign" in entries:
            self.error(entries["campaign"], key_path(path, "campaign"), "bad-trigger",
                       f"{name} matches a click on the alias in any campaign; remove 'campaign' "
                       "(or use click_email_alias for one campaign)")
        elif self.get(entries, "campaign"):
            campaign = self.resolve_campaign(entries["campaign"], key_path(path, "campaign"))
        qualifiers: list[tuple[str, str]] = []
        for qualifier in interaction.qualifiers:
            qnode = self.get(entries, qualifier.key)
            if qnode is None:
                continue
            qpath = key_path(path, qualifier.key)
            value: int | str | None
            if qualifier.integer:
                value = self.integer(qnode, qpath, 0, MAX_CONVERSION_EVENTS - 1, "a 0-based conversion event index")
            else:
                value = self.text(qnode, qpath)
            if value is not None:
                qualifiers.append((qualifier.field, str(value)))
        if not self.ok(path):
            return None
        return model.Trigger(interaction=name, campaign=campaign, qualifiers=tuple(qualifiers))

    def event_trigger(self, node: Node, path: str) -> model.Trigger | None:
        """An event trigger: purchase (optional product), session_start, or a custom event; optional where."""
        entries: dict[str, Node] = node.value
        epath = key_path(path, "event")
        name = self.text(entries["event"], epath, "an event name")
        allowed = ["event", "where"] + (["product"] if name == vocabulary.PURCHASE else [])
        self.mapping(node, path, allowed)
        if name is None:
            return None
        if name in vocabulary.INTERACTIONS:
            interaction = vocabulary.INTERACTIONS[name]
            example = "" if interaction.any_campaign else ", campaign: SOURCE"
            self.error(entries["event"], epath, "interaction-as-event",
                       f"'{name}' is a connector interaction; write {{interaction: {name}{example}}}")
            return None
        product = None
        if name == vocabulary.PURCHASE and self.get(entries, "product"):
            product = self.text(entries["product"], key_path(path, "product"), "a product id")
        where = self.where(entries["where"], key_path(path, "where")) if self.get(entries, "where") else ()
        if not self.ok(path):
            return None
        return model.Trigger(event=name, product=product, where=where or ())

    def delay(self, node: Node, path: str) -> model.Delay:
        """SPEC §2.1: ``immediately``, ``"N unit"``, ``{in_days, at, zone}``, ``{next_weekday, at, zone}``."""
        forms = ("expected immediately, a duration like '1 day', {in_days: 1, at: \"09:00\"} or "
                 "{next_weekday: monday, at: \"09:00\"}")
        value = node.value
        if isinstance(value, str):
            if value.strip() == "immediately":
                return model.Delay()
            seconds = self.duration(node, path)
            if seconds is None:
                return model.Delay()
            return model.Delay(kind="duration", seconds=seconds, text=value.strip())
        if not node.is_mapping:
            self.error(node, path, "wrong-type", f"{forms}, got {describe(node)}")
            return model.Delay()
        entries: dict[str, Node] = value
        if "in_days" not in entries and "next_weekday" not in entries:
            self.error(node, path, "missing-key", f"missing 'in_days' or 'next_weekday' ({forms})")
            return model.Delay()
        calendar = "in_days" if "in_days" in entries else "next_weekday"
        self.mapping(node, path, DELAY_IN_DAYS_KEYS if calendar == "in_days" else DELAY_WEEKDAY_KEYS,
                     (calendar, "at"))
        at = self.clock(entries["at"], key_path(path, "at")) if "at" in entries else None
        zone = "user"
        if self.get(entries, "zone"):
            zone = self.choice(entries["zone"], key_path(path, "zone"), DELAY_ZONES, "bad-value", "delay zone") \
                or "user"
        if calendar == "in_days":
            days = self.integer(entries["in_days"], key_path(path, "in_days"), 0)
            if days is None or at is None:
                return model.Delay()
            text = f"in {days} day{'' if days == 1 else 's'} at {format_clock(at)} {zone} time"
            return model.Delay(kind="in_days", days=days, at=at, zone=zone, text=text)  # type: ignore[arg-type]
        wnode = entries["next_weekday"]
        weekday_text = wnode.value.lower() if isinstance(wnode.value, str) else wnode.value
        weekday = None
        if weekday_text in vocabulary.WEEKDAYS:
            weekday = vocabulary.WEEKDAYS.index(weekday_text)
        else:
            self.choice(wnode, key_path(path, "next_weekday"), vocabulary.WEEKDAYS, "unknown-weekday", "weekday")
        if weekday is None or at is None:
            return model.Delay()
        text = f"next {vocabulary.WEEKDAYS[weekday]} at {format_clock(at)} {zone} time"
        return model.Delay(kind="next_weekday", weekday=weekday, at=at, zone=zone, text=text)  # type: ignore[arg-type]

    def variants(self, node: Node, path: str) -> tuple[model.Variant, ...]:
        """``variants: [{id: a, percent: 45}, ...]``."""
        items = self.sequence(node, path, "a list of variants")
        variants: list[model.Variant] = []
        seen: dict[str, Node] = {}
        for i, item in enumerate(items or []):
            ipath = key_path(path, i)
            entries = self.mapping(item, ipath, VARIANT_KEYS, VARIANT_KEYS)
            if entries is None or any(k not in entries for k in VARIANT_KEYS):
                continue
            variant_id = self.text(entries["id"], key_path(ipath, "id"), "a variant id")
            percent = self.percent(entries["percent"], key_path(ipath, "percent"), integer=True)
            if variant_id is not None and variant_id in seen:
                self.error(entries["id"], key_path(ipath, "id"), "duplicate-id",
                           f"duplicate variant id '{variant_id}' (first at line {seen[variant_id].line})")
                continue
            if variant_id is not None:
                seen[variant_id] = entries["id"]
            if variant_id is not None and percent is not None:
                variants.append(model.Variant(id=variant_id, percent=int(percent)))
        return tuple(variants)

    def window(self, entries: dict[str, Node], node: Node, path: str) -> model.Window | None:
        """``start``/``end`` clock times of quiet hours or a send window."""
        start = self.clock(entries["start"], key_path(path, "start")) if "start" in entries else None
        end = self.clock(entries["end"], key_path(path, "end")) if "end" in entries else None
        if start is None or end is None:
            return None
        if start == end:
            self.error(node, path, "empty-window",
                       f"start and end are both {format_clock(start)}: the window would be empty (or the whole day)")
            return None
        return model.Window(start=start, end=end)

    def quiet_hours(self, node: Node, path: str) -> model.QuietHours | None:
        """``{start: "22:00", end: "07:00", mode: next_available}``."""
        entries = self.mapping(node, path, QUIET_HOURS_KEYS, ("start", "end"))
        if entries is None:
            return None
        window = self.window(entries, node, path)
        mode = "next_available"
        if self.get(entries, "mode"):
            mode = self.choice(entries["mode"], key_path(path, "mode"), QUIET_HOURS_MODES, "bad-value",
                               "quiet hours mode") or mode
        return None if window is None else model.QuietHours(window=window, mode=mode)  # type: ignore[arg-type]

    def send_window(self, node: Node, path: str) -> model.SendWindow | None:
        """``{start: "09:00", end: "20:00", next_available: true}``."""
        entries = self.mapping(node, path, SEND_WINDOW_KEYS, ("start", "end"))
        if entries is None:
            return None
        window = self.window(entries, node, path)
        next_available = False
        if self.get(entries, "next_available"):
            next_available = bool(self.boolean(entries["next_available"], key_path(path, "next_available")))
        return None if window is None else model.SendWindow(window=window, next_available=next_available)

    def conversion_events(self, node: Node, path: str) -> tuple[model.ConversionEvent, ...]:
        """Up to four ``{event, within, product, where}``; the first is primary."""
        items = self.sequence(node, path, "a list of conversion events")
        if items is None:
            return ()
        if len(items) > MAX_CONVERSION_EVENTS:
            extra = items[MAX_CONVERSION_EVENTS]
            self.error(extra, key_path(path, MAX_CONVERSION_EVENTS), "too-many-conversion-events",
                       f"a campaign has at most {MAX_CONVERSION_EVENTS} conversion events, got {len(items)}")
        events: list[model.ConversionEvent] = []
        for i, item in enumerate(items):
            ipath = key_path(path, i)
            entries = self.mapping(item, ipath, CONVERSION_KEYS, ("event",))
            if entries is None or "event" not in entries:
                continue
            event = self.event_name(entries["event"], key_path(ipath, "event"))
            within: int | None = vocabulary.DEFAULT_CONVERSION_WINDOW_SECONDS
            if self.get(entries, "within"):
                within = self.duration(entries["within"], key_path(ipath, "within"))
                if within is not None and within > MAX_CONVERSION_WINDOW_SECONDS:
                    self.error(entries["within"], key_path(ipath, "within"), "conversion-window-too-long",
                               f"a conversion window is at most 30 days, got {entries['within'].text}")
                    within = None
            product = None
            if self.get(entries, "product"):
                if event != vocabulary.PURCHASE:
                    self.error(item.keys["product"], key_path(ipath, "product"),
                               "unknown-key", "unknown key 'product' (only event: purchase takes a product)")
                else:
                    product = self.text(entries["product"], key_path(ipath, "product"), "a product id")
            where = self.where(entries["where"], key_path(ipath, "where")) if self.get(entries, "where") else ()
            if event is not None and within is not None and self.ok(ipath):
                events.append(model.ConversionEvent(event=event, within=within, product=product, where=where or ()))
        return tuple(events)
