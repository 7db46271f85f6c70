"""A Braze Currents export written as Braze lays it out, for the import tests (SPEC §3.2, "Exports as they land").

Avro files are written here with fastavro, their schemas shaped like Braze's: namespace
``dataexport.S3.inner.<type prefix>``, record name the event, the core fields and each type's own fields as listed
in reference/braze_semantics.md §6 (nullable fields as ``["null", T]`` unions; ``time`` an Avro ``int``; a
purchase ``price`` a 32-bit ``float``). The tree follows Braze's storage key layout:
``<prefix>/event_type=<type>/date=<YYYY-MM-DD-HH>/<schema id>/<zone>/<name>.avro``. No Braze sample file is copied.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro

TIME = 1767603600  # 2026-01-05T09:00:00Z
PREFIX = "currents/dataexport.prod-03.S3.integration.5f0e8a1b2c3d4e5f6a7b8c9d"

#: Core fields every message engagement event carries (nullable strings but the first three).
CORE = ("external_user_id", "timezone", "app_group_id", "campaign_id", "campaign_name", "message_variation_id",
        "message_variation_name", "canvas_id", "canvas_name", "canvas_variation_id", "canvas_variation_name",
        "canvas_step_id", "canvas_step_name", "send_id")
_NO_CAMPAIGN = ("campaign_id", "campaign_name", "message_variation_id", "message_variation_name", "canvas_id",
                "canvas_name", "canvas_variation_id", "canvas_variation_name", "canvas_step_id", "canvas_step_name",
                "send_id")
_NO_CANVAS = ("canvas_id", "canvas_name", "canvas_variation_id", "canvas_variation_name", "canvas_step_id",
              "canvas_step_name")

#: Event type → (core fields left out, its own fields as (name, Avro type)); from braze_semantics.md §6.
TYPES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, Any], ...]]] = {
    "users.messages.email.Send": ((), (("dispatch_id", "string"), ("email_address", "string!"))),
    "users.messages.email.Delivery": ((), (("dispatch_id", "string"), ("email_address", "string!"),
                                           ("esp", "string"))),
    "users.messages.email.Open": ((), (("dispatch_id", "string"), ("email_address", "string!"),
                                       ("machine_open", "string"), ("is_amp", "boolean"), ("user_agent", "string"))),
    "users.messages.email.Click": ((), (("dispatch_id", "string"), ("email_address", "string!"), ("url", "string"),
                                        ("link_id", "string"), ("link_alias", "string"), ("is_amp", "boolean"),
                                        ("is_suspected_bot_click", "boolean"),
                                        ("suspected_bot_click_reason", {"type": "array", "items": "string"}))),
    "users.messages.pushnotification.Send": ((), (("app_id", "string!"), ("platform", "string!"),
                                                  ("dispatch_id", "string"), ("device_id", "string"))),
    "users.messages.pushnotification.Open": ((), (("app_id", "string!"), ("platform", "string"),
                                                  ("dispatch_id", "string"), ("device_id", "string"),
                                                  ("button_action_type", "string"), ("button_string", "string"))),
    "users.messages.inappmessage.Impression": ((), (("app_id", "string!"), ("card_id", "string"),
                                                    ("platform", "string"), ("device_id", "string"))),
    "users.messages.inappmessage.Click": ((), (("app_id", "string!"), ("card_id", "string"), ("platform", "string"),
                                               ("button_id", "string"), ("device_id", "string"))),
    "users.messages.contentcard.Impression": ((), (("content_card_id", "string!"), ("app_id", "string!"),
                                                   ("device_id", "string"), ("platform", "string"))),
    "users.messages.contentcard.Click": ((), (("content_card_id", "string!"), ("app_id", "string!"),
                                              ("device_id", "string"), ("platform", "string"))),
    "users.messages.contentcard.Dismiss": ((), (("content_card_id", "string!"), ("app_id", "string!"),
                                                ("device_id", "string"), ("platform", "string"))),
    "users.messages.sms.Send": ((), (("dispatch_id", "string"), ("to_phone_number", "string"),
                                     ("subscription_group_id", "string"), ("category", "string"))),
    "users.messages.sms.ShortLinkClick": (("send_id",), (("url", "string!"), ("short_url", "string!"),
                                                         ("user_phone_number", "string"),
                                                         ("is_suspected_bot_click", "boolean"),
                                                         ("suspected_bot_click_reason",
                                                          {"type": "array", "items": "string"}))),
    "users.messages.sms.InboundReceive": ((), (("user_phone_number", "string!"), ("inbound_phone_number", "string"),
                                               ("action", "string"), ("message_body", "string"))),
    "users.messages.webhook.Send": ((), (("dispatch_id", "string"),)),
    "users.campaigns.EnrollInControl": (_NO_CANVAS, (("app_id", "string"),)),
    "users.campaigns.Conversion": (_NO_CANVAS, (("app_id", "string"), ("conversion_behavior_index", "int"),
                                                ("conversion_behavior", "string"))),
    "users.behaviors.CustomEvent": (_NO_CAMPAIGN, (("app_id", "string"), ("platform", "string"),
                                                   ("device_id", "string"), ("name", "string!"),
                                                   ("properties", "string!"))),
    "users.behaviors.Purchase": (("timezone", *_NO_CAMPAIGN), (("app_id", "string"), ("platform", "string"),
                                                               ("device_id", "string"), ("product_id", "string!"),
                                                               ("price", "float!"), ("currency", "string!"),
                                                               ("properties", "string!"))),
    "users.behaviors.app.SessionStart": (("timezone", *_NO_CAMPAIGN), (("app_id", "string!"),
                                                                       ("session_id", "string!"),
                                                                       ("platform", "string"),
                                                                       ("device_id", "string"))),
}

#: A type that is about no user at all (an agent's step): no user fields in its schema.
AGENT_TYPE = "agentconsole.AgentExecutionStep"


def schema_for(event_type: str) -> dict[str, Any]:
    """The Avro writer schema Braze's storage export uses for ``event_type``."""
    namespace, name = event_type.rsplit(".", 1)
    if event_type == AGENT_TYPE:
        fields: list[dict[str, Any]] = [{"name": "id", "type": "string"}, {"name": "time", "type": "int"},
                                        {"name": "agent_id", "type": ["null", "string"], "default": None},
                                        {"name": "step", "type": ["null", "string"], "default": None}]
    else:
        left_out, own = TYPES[event_type]
        user_type: Any = ["null", "string"] if event_type.endswith("InboundReceive") else "string"
        fields = [{"name": "id", "type": "string"}, {"name": "user_id", "type": user_type},
                  {"name": "time", "type": "int"}]
        fields += [{"name": f, "type": ["null", "string"], "default": None} for f in CORE if f not in left_out]
        for field, kind in own:
            if isinstance(kind, str) and kind.endswith("!"):
                fields.append({"name": field, "type": kind[:-1]})
            else:
                fields.append({"name": field, "type": ["null", kind], "default": None})
    return {"type": "record", "namespace": f"dataexport.S3.inner.{namespace}", "name": name, "fields": fields}


def write_avro(path: Path, event_type: str, records: list[dict[str, Any]]) -> Path:
    """An Avro container file of ``records`` (missing fields take their defaults) with Braze's schema."""
    schema = fastavro.parse_schema(schema_for(event_type))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        fastavro.writer(out, schema, records, codec="deflate")
    return path


def avro_json(event_type: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record as ``avro-tools tojson`` prints it: no event_type, nullable values as ``{"string": "x"}``."""
    types = {f["name"]: f["type"] for f in schema_for(event_type)["fields"]}
    out: dict[str, Any] = {}
    for key, kind in types.items():
        value = record.get(key)
        if isinstance(kind, list):
            branch = kind[1] if isinstance(kind[1], str) else kind[1]["type"]
            out[key] = None if value is None else {branch: value}
        else:
            out[key] = value
    return out


def key_for(event_type: str, name: str, hour: str = "2026-01-05-09") -> str:
    """Braze's storage key of a file: prefix, event type, date and hour, schema id, zone."""
    return f"{PREFIX}/event_type={event_type}/date={hour}/331/processed/{name}"


def _base(n: int, event_type: str, user: str | None = "braze-1", **fields: Any) -> dict[str, Any]:
    record = {"id": f"{event_type.rsplit('.', 1)[1].lower()}-{n}", "user_id": user, "time": TIME + n * 60,
              "external_user_id": None if user is None else f"ext-{user}", "campaign_id": "camp-news",
              "timezone": "Europe/Berlin"}
    record.update(fields)
    return record


#: The export: event type → its records. Every message engagement and behaviour type of SPEC §3.2, an inbound
#: SMS from an unknown number and an agent step (records without a user), and two suspected bot clicks.
RECORDS: dict[str, list[dict[str, Any]]] = {
    "users.messages.email.Send": [_base(0, "users.messages.email.Send", email_address="a@example.com")],
    "users.messages.email.Delivery": [_base(1, "users.messages.email.Delivery", email_address="a@example.com")],
    "users.messages.email.Open": [
        _base(2, "users.messages.email.Open", email_address="a@example.com", machine_open="true"),
        _base(3, "users.messages.email.Open", email_address="a@example.com"),
    ],
    "users.messages.email.Click": [
        _base(4, "users.messages.email.Click", email_address="a@example.com", url="https://x.test/a",
              link_alias="cta", is_suspected_bot_click=False),
        _base(5, "users.messages.email.Click", email_address="a@example.com", url="https://x.test/a",
              link_alias="cta", is_suspected_bot_click=True, suspected_bot_click_reason=["user_agent"]),
    ],
    "users.messages.pushnotification.Send": [_base(6, "users.messages.pushnotification.Send", app_id="app",
                                                   platform="ios", campaign_id="camp-push")],
    "users.messages.pushnotification.Open": [
        _base(7, "users.messages.pushnotification.Open", app_id="app", campaign_id="camp-push"),
        _base(8, "users.messages.pushnotification.Open", app_id="app", campaign_id="camp-push",
              button_string="Buy"),
    ],
    "users.messages.inappmessage.Impression": [_base(9, "users.messages.inappmessage.Impression", app_id="app",
                                                     campaign_id="camp-iam")],
    "users.messages.inappmessage.Click": [
        _base(10, "users.messages.inappmessage.Click", app_id="app", campaign_id="camp-iam"),
        _base(11, "users.messages.inappmessage.Click", app_id="app", campaign_id="camp-iam", button_id="1"),
    ],
    "users.messages.contentcard.Impression": [_base(12, "users.messages.contentcard.Impression", app_id="app",
                                                    content_card_id="cc", campaign_id="camp-card")],
    "users.messages.contentcard.Click": [_base(13, "users.messages.contentcard.Click", app_id="app",
                                               content_card_id="cc", campaign_id="camp-card")],
    "users.messages.contentcard.Dismiss": [_base(14, "users.messages.contentcard.Dismiss", app_id="app",
                                                 content_card_id="cc", campaign_id="camp-card")],
    "users.messages.sms.Send": [_base(15, "users.messages.sms.Send", campaign_id="camp-sms")],
    "users.messages.sms.ShortLinkClick": [
        _base(16, "users.messages.sms.ShortLinkClick", campaign_id="camp-sms", url="https://x.test/s",
              short_url="https://brz.ai/x", is_suspected_bot_click=True),
        _base(17, "users.messages.sms.ShortLinkClick", campaign_id="camp-sms", url="https://x.test/s",
              short_url="https://brz.ai/x"),
    ],
    "users.messages.sms.InboundReceive": [
        _base(18, "users.messages.sms.InboundReceive", user=None, user_phone_number="+15550100",
              message_body="STOP"),
        _base(19, "users.messages.sms.InboundReceive", user_phone_number="+15550101", message_body="YES"),
    ],
    "users.messages.webhook.Send": [_base(20, "users.messages.webhook.Send", campaign_id="camp-hook")],
    "users.campaigns.EnrollInControl": [_base(21, "users.campaigns.EnrollInControl", campaign_id="camp-push")],
    "users.campaigns.Conversion": [_base(22, "users.campaigns.Conversion", campaign_id="camp-push",
                                         conversion_behavior_index=0, conversion_behavior="purchase")],
    "users.behaviors.CustomEvent": [_base(23, "users.behaviors.CustomEvent", campaign_id=None, name="added_to_cart",
                                          properties='{"cart_value": 120, "sku": "A-1"}')],
    "users.behaviors.Purchase": [
        {k: v for k, v in _base(24, "users.behaviors.Purchase", product_id="sku-1", price=12.34, currency="EUR",
                                properties='{"size": "M"}').items() if k not in ("timezone", "campaign_id")},
    ],
    "users.behaviors.app.SessionStart": [
        {k: v for k, v in _base(25, "users.behaviors.app.SessionStart", app_id="app", session_id="s-1").items()
         if k not in ("timezone", "campaign_id")},
    ],
    AGENT_TYPE: [{"id": "agent-26", "time": TIME + 26 * 60, "agent_id": "agent-1", "step": "reply"}],
}

#: What the export stores, per event name (bot clicks included), and skips for want of a user, per type.
STORED: dict[str, int] = {
    "receive_email": 1, "users.messages.email.Delivery": 1, "open_email": 2, "click_email": 2, "receive_push": 1,
    "open_push_directly": 1, "click_push_button": 1, "view_in_app_message": 1, "click_in_app_message": 2,
    "view_content_card": 1, "click_content_card": 1, "dismiss_content_card": 1, "receive_sms": 1,
    "click_sms_short_link": 2, "users.messages.sms.InboundReceive": 1, "receive_webhook": 1,
    "enroll_in_control_group": 1, "perform_conversion_event": 1, "added_to_cart": 1, "purchase": 1,
    "session_start": 1,
}
NO_USER: dict[str, int] = {"users.messages.sms.InboundReceive": 1, AGENT_TYPE: 1}
BOT_CLICKS = 2


def write_export(root: Path) -> dict[str, Path]:
    """The whole export under ``root`` in Braze's layout (one Avro file per type and hour), plus a marker file
    that is not an event file. Returns key → local path."""
    files: dict[str, Path] = {}
    for event_type, records in RECORDS.items():
        key = key_for(event_type, f"dataexport.prod-03.S3.integration.5f0e8a1b+0+{len(files):010d}.avro")
        files[key] = write_avro(root / key, event_type, records)
    marker = root / PREFIX / "_SUCCESS"
    marker.write_text("")
    files[f"{PREFIX}/_SUCCESS"] = marker
    return files


def custom_http(event_type: str, record: dict[str, Any]) -> dict[str, Any]:
    """One event in the Custom HTTP connector's envelope: ``user`` and ``properties`` apart."""
    user_keys = ("user_id", "external_user_id", "timezone", "device_id")
    user = {key: record[key] for key in user_keys if record.get(key) is not None}
    properties = {key: value for key, value in record.items()
                  if key not in (*user_keys, "id", "time") and value is not None}
    return {"event_type": event_type, "id": record["id"], "time": record["time"], "user": user,
            "properties": properties}


def write_json_lines(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(obj) + "\n" for obj in objects))
    return path
