"""YAML tree → the frozen ``model.Config``, collecting every problem with its position and key path.

The builder never stops at the first problem: a bad value is reported and the rest of the file is still read,
so one ``validate`` run lists everything. Values that failed are remembered (``failed`` paths) so that the
cross-campaign rules in ``rules.py`` do not pile secondary complaints on top of them.

The builder reads the document and its workspace; it extends the readers of campaigns (``campaigns.py``),
of segments and filters (``filters.py``) and of single values (``nodes.py``). The key tables are ``keys.py``.
"""

from __future__ import annotations

import re

from campaign_connector import model, vocabulary
from campaign_connector.config.campaigns import CampaignEntry, CampaignReader
from campaign_connector.config.keys import CAP_KEYS, CAP_UNITS, GLOBAL_CONTROL_KEYS, TOP_KEYS, WORKSPACE_KEYS
from campaign_connector.config.nodes import describe, key_path
from campaign_connector.config.problems import one_of
from campaign_connector.config.yamlload import Node

_PERIOD_RE = re.compile(r"^\s*(\d+)\s*([a-z]+?)s?\s*$")


class Builder(CampaignReader):
    """Builds the model from a ``Node`` tree and records every problem it meets: the document, its workspace and
    the campaign ids here; segments, filters and campaigns in the readers it extends."""

    def __init__(self, file: str) -> None:
        super().__init__(file)
        self.entries: list[CampaignEntry] = []

    # ------------------------------------------------------------------------------------------
    # the document

    def build(self, root: Node, text: str, sha256: str) -> model.Config | None:
        """The whole file; None when it is not even a mapping."""
        top = self.mapping(root, "", TOP_KEYS, ("version", "campaigns"),
                           what="a mapping with 'version: 1' and 'campaigns'")
        if top is None:
            return None
        version = top.get("version")
        if version is not None and (isinstance(version.value, bool) or version.value != 1):
            self.error(version, "version", "bad-version",
                       f"unsupported version {version.text or describe(version)} "
                       "(this campaign-connector reads version: 1)")
        campaign_nodes = self._campaign_nodes(top)
        self._collect_ids(campaign_nodes)
        workspace = self.workspace(top["workspace"]) if self.get(top, "workspace") else model.Workspace()
        if self.get(top, "segments"):
            self.build_segments(top["segments"])
        for index, node in enumerate(campaign_nodes):
            path = key_path("campaigns", index)
            campaign = self.campaign(node, path, index)
            if campaign is not None:
                self.entries.append(CampaignEntry(campaign, node, path))
        return model.Config(
            workspace=workspace,
            campaigns=tuple(entry.campaign for entry in self.entries),
            segments=dict(self.segments),
            path=self.file,
            text=text,
            sha256=sha256,
        )

    def _campaign_nodes(self, top: dict[str, Node]) -> list[Node]:
        node = top.get("campaigns")
        if node is None:
            return []
        if node.value is None:
            self.error(node, "campaigns", "wrong-type", "expected a list of campaigns, got null")
            return []
        return self.sequence(node, "campaigns", "a list of campaigns") or []

    def _collect_ids(self, nodes: list[Node]) -> None:
        """Every campaign's id and braze_id, first, so references can be checked wherever they appear."""
        seen: dict[str, tuple[str, Node]] = {}
        for index, node in enumerate(nodes):
            if not node.is_mapping:
                continue
            path = key_path("campaigns", index)
            id_node = node.value.get("id")
            if id_node is not None and isinstance(id_node.value, str | int) and not isinstance(id_node.value, bool):
                campaign_id = id_node.text
                if campaign_id in seen:
                    self.error(id_node, key_path(path, "id"), "duplicate-id",
                               f"duplicate campaign id '{campaign_id}' (first at line {seen[campaign_id][1].line})")
                else:
                    seen[campaign_id] = (campaign_id, id_node)
                    self.campaign_ids.append(campaign_id)
                    self.campaign_keys[campaign_id] = campaign_id
        for index, node in enumerate(nodes):
            if not node.is_mapping:
                continue
            path = key_path("campaigns", index)
            id_node, braze_node = node.value.get("id"), node.value.get("braze_id")
            if braze_node is None or not isinstance(braze_node.value, str | int) or isinstance(braze_node.value, bool):
                continue
            braze_id = braze_node.text
            own = id_node.text if id_node is not None else None
            owner = self.campaign_keys.get(braze_id)
            if owner is not None and owner != own:
                first = seen[owner][1] if owner in seen else braze_node
                self.error(braze_node, key_path(path, "braze_id"), "duplicate-id",
                           f"braze_id '{braze_id}' is already used by campaign '{owner}' (line {first.line}); "
                           "each logged campaign value must name one campaign")
            elif owner is None and own is not None:
                self.campaign_keys[braze_id] = own
                seen[braze_id] = (own, braze_node)
    # ------------------------------------------------------------------------------------------
    # workspace

    def workspace(self, node: Node) -> model.Workspace:
        """``workspace:`` settings."""
        entries = self.mapping(node, "workspace", WORKSPACE_KEYS)
        if entries is None:
            return model.Workspace()
        zone = "UTC"
        if self.get(entries, "timezone"):
            zone = self.zone(entries["timezone"], "workspace.timezone") or "UTC"
        gcg = None
        if self.get(entries, "global_control_group"):
            gcg = self.global_control_group(entries["global_control_group"], "workspace.global_control_group")
        caps: list[model.FrequencyCap] = []
        if self.get(entries, "frequency_caps"):
            items = self.sequence(entries["frequency_caps"], "workspace.frequency_caps", "a list of caps") or []
            for i, item in enumerate(items):
                cap = self.frequency_cap(item, key_path("workspace.frequency_caps", i))
                if cap is not None:
                    caps.append(cap)
        return model.Workspace(timezone=zone, global_control_group=gcg, frequency_caps=tuple(caps))

    def global_control_group(self, node: Node, path: str) -> model.GlobalControlGroup | None:
        """``{percent: 5, exclude_tags: [transactional]}``."""
        entries = self.mapping(node, path, GLOBAL_CONTROL_KEYS, ("percent",))
        if entries is None or "percent" not in entries:
            return None
        percent = self.percent(entries["percent"], key_path(path, "percent"), integer=False)
        tags: tuple[str, ...] = ()
        if self.get(entries, "exclude_tags"):
            tags = self.text_list(entries["exclude_tags"], key_path(path, "exclude_tags"), "tags")
        return None if percent is None else model.GlobalControlGroup(percent=percent, exclude_tags=tags)

    def frequency_cap(self, node: Node, path: str) -> model.FrequencyCap | None:
        """``{channel: push, max: 2, per: 1 week}``."""
        entries = self.mapping(node, path, CAP_KEYS, CAP_KEYS)
        if entries is None or any(k not in entries for k in CAP_KEYS):
            return None
        channel = self.choice(entries["channel"], key_path(path, "channel"),
                              (*vocabulary.CHANNELS, "any"), "unknown-channel", "channel")
        if channel is not None and channel not in (*vocabulary.CAPPED_CHANNELS, "any"):
            self.error(entries["channel"], key_path(path, "channel"), "bad-value",
                       f"{channel} sends are never capped (cap {one_of((*vocabulary.CAPPED_CHANNELS, 'any'))})")
            channel = None
        most = self.integer(entries["max"], key_path(path, "max"), 0)
        period = self.period(entries["per"], key_path(path, "per"))
        if channel is None or most is None or period is None:
            return None
        amount, unit, text = period
        return model.FrequencyCap(channel=channel, max=most, amount=amount, unit=unit, text=text)  # type: ignore[arg-type]

    def period(self, node: Node, path: str) -> tuple[int, str, str] | None:
        """A cap period ``"1 week"`` → (1, "week", "1 week")."""
        value = node.value
        match = _PERIOD_RE.match(value.lower()) if isinstance(value, str) else None
        if match is None or match.group(2) not in CAP_UNITS or int(match.group(1)) < 1:
            self.error(node, path, "bad-duration",
                       f"expected a period like '1 week' (minutes, hours, days or weeks), got {describe(node)}")
            return None
        return int(match.group(1)), match.group(2), value.strip()
