"""The campaign file's JSON Schema (draft 2020-12), for editors: built from the vocabulary tables and the
loader's key lists, so it cannot drift from what ``validate`` accepts.

The schema checks shapes and names; the cross-campaign rules (sources, channels, cycles, publish order)
are ``validate``'s.
"""

from __future__ import annotations

import json
from typing import Any

from campaign_connector import vocabulary
from campaign_connector.config import keys

SCHEMA_ID = "https://campaign-connector.dev/schema/campaigns-v1.json"

_UNIT_WORDS = "|".join(vocabulary.DURATION_UNITS)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _object(properties: dict[str, Any], required: tuple[str, ...] = (), description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _trigger_schemas() -> list[dict[str, Any]]:
    """One schema per interaction (with its qualifiers), then the event form."""
    forms: list[dict[str, Any]] = []
    for interaction in vocabulary.INTERACTIONS.values():
        properties: dict[str, Any] = {"interaction": {"const": interaction.name}}
        required = ["interaction"]
        if not interaction.any_campaign:
            properties["campaign"] = {"type": "string", "description": "The source campaign's id or braze_id."}
            required.append("campaign")
        for qualifier in interaction.qualifiers:
            properties[qualifier.key] = (
                {"type": "integer", "minimum": 0, "maximum": keys.MAX_CONVERSION_EVENTS - 1}
                if qualifier.integer else {"type": ["string", "number"]}
            )
            if qualifier.required:
                required.append(qualifier.key)
        channel = interaction.channel or "any channel"
        forms.append(_object(properties, tuple(required), f"{interaction.name} (source: {channel})"))
    forms.append({
        **_object(
            {
                "event": {
                    "type": "string",
                    "not": {"enum": list(vocabulary.INTERACTIONS)},
                    "description": "purchase, session_start, or a custom event name.",
                    "examples": list(vocabulary.BUILTIN_EVENTS),
                },
                "product": {"type": ["string", "number"], "description": "purchase only: the product id."},
                "where": _ref("where"),
            },
            ("event",),
            "An event trigger: purchase (optional product), session_start or a custom event.",
        ),
    })
    return forms


def campaign_schema() -> dict[str, Any]:
    """The JSON Schema of a campaign file."""
    channel = {"enum": list(vocabulary.CHANNELS)}
    filter_value = {"type": ["string", "number", "boolean"]}
    operand = {"oneOf": [filter_value, {"type": "array", "items": filter_value}]}
    defs: dict[str, Any] = {
        "duration": {
            "type": "string",
            "pattern": rf"^\s*[0-9]+\s*({_UNIT_WORDS})s?\s*$",
            "description": "An exact duration: N seconds, minutes, hours, days or weeks (a day is 86,400 s).",
            "examples": ["2 hours", "1 day", "1 week"],
        },
        "time": {
            "type": ["string", "number"],
            "description": "ISO-8601 (with an offset or Z; none means UTC) or epoch seconds.",
            "examples": ["2026-01-05T09:00:00Z"],
        },
        "clock": {"type": "string", "pattern": r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$", "examples": ["22:00"]},
        "percent": {"type": "number", "minimum": 0, "maximum": 100},
        "where": {
            "type": "object",
            "description": "Property conditions: {key: value} is eq, {key: [a, b]} is in, "
                           "{key: {gte: 100, lt: 200}} uses operators.",
            "additionalProperties": {
                "oneOf": [
                    filter_value,
                    {"type": "array", "items": filter_value},
                    {
                        "type": "object",
                        "propertyNames": {"enum": list(vocabulary.WHERE_OPERATORS)},
                        "additionalProperties": operand,
                        "minProperties": 1,
                    },
                ]
            },
        },
        "trigger": {"oneOf": _trigger_schemas()},
        "filter": {
            "oneOf": [
                _object({"all": {"type": "array", "items": _ref("filter"), "minItems": 1}}, ("all",)),
                _object({"any": {"type": "array", "items": _ref("filter"), "minItems": 1}}, ("any",)),
                _object({"not": _ref("filter")}, ("not",)),
                {
                    **_object(
                        {"attribute": {"type": "string"}, **dict.fromkeys(vocabulary.ATTRIBUTE_OPERATORS, operand)},
                        ("attribute",),
                        "A users-file attribute with exactly one operator.",
                    ),
                    "minProperties": 2,
                    "maxProperties": 2,
                },
                _object(
                    {
                        "performed": {"type": "string"},
                        "at_least": {"type": "integer", "minimum": 0},
                        "at_most": {"type": "integer", "minimum": 0},
                        "within": _ref("duration"),
                        "where": _ref("where"),
                    },
                    ("performed",),
                ),
                _object({"received": {"type": "string"}, "within": _ref("duration")}, ("received",)),
            ]
        },
        "window": _object({"start": _ref("clock"), "end": _ref("clock")}, ("start", "end")),
        "delay": {
            "oneOf": [
                {"const": "immediately"},
                _ref("duration"),
                _object({
                    "in_days": {"type": "integer", "minimum": 0},
                    "at": _ref("clock"),
                    "zone": {"enum": list(keys.DELAY_ZONES)},
                }, ("in_days", "at")),
                _object({
                    "next_weekday": {"enum": list(vocabulary.WEEKDAYS)},
                    "at": _ref("clock"),
                    "zone": {"enum": list(keys.DELAY_ZONES)},
                }, ("next_weekday", "at")),
            ]
        },
    }
    nullable_duration = {"oneOf": [{"type": "null"}, _ref("duration")]}
    campaign_properties: dict[str, Any] = {
        "id": {"type": "string", "pattern": keys.ID_RE.pattern},
        "braze_id": {"type": "string", "description": "The campaign_id its logged events carry."},
        "name": {"type": "string"},
        "channels": {"type": "array", "items": channel, "minItems": 1, "uniqueItems": True},
        "status": {"enum": list(vocabulary.CAMPAIGN_STATUSES), "default": "active"},
        "published_at": _ref("time"),
        "start_at": _ref("time"),
        "end_at": _ref("time"),
        "stopped_at": {"oneOf": [{"type": "null"}, _ref("time")]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "triggers": {"type": "array", "items": _ref("trigger")},
        "delay": _ref("delay"),
        "exceptions": {"type": "array", "items": _ref("trigger")},
        "audience": {"oneOf": [{"type": "string", "description": "A segment name."}, _ref("filter")]},
        "reevaluate_audience_at_send": {"type": "boolean"},
        "reeligible_after": nullable_duration,
        "control_group": {"type": "integer", "minimum": 0, "maximum": 100},
        "variants": {
            "type": "array",
            "items": _object({"id": {"type": "string"}, "percent": {"type": "integer", "minimum": 0,
                                                                      "maximum": 100}}, keys.VARIANT_KEYS),
        },
        "quiet_hours": _object({
            "start": _ref("clock"), "end": _ref("clock"), "mode": {"enum": list(keys.QUIET_HOURS_MODES)},
        }, ("start", "end")),
        "send_window": _object({
            "start": _ref("clock"), "end": _ref("clock"), "next_available": {"type": "boolean"},
        }, ("start", "end")),
        "frequency_capping": {"type": "boolean", "default": True},
        "rate_limit": _object({"per_minute": {"type": "integer", "minimum": 1}}, ("per_minute",)),
        "max_recipients": {"oneOf": [{"type": "null"}, {"type": "integer", "minimum": 1}]},
        "conversion_events": {
            "type": "array",
            "maxItems": keys.MAX_CONVERSION_EVENTS,
            "items": _object({
                "event": {"type": "string"},
                "within": _ref("duration"),
                "product": {"type": ["string", "number"]},
                "where": _ref("where"),
            }, ("event",)),
        },
    }
    workspace = _object({
        "timezone": {"type": "string", "description": "IANA zone; default UTC."},
        "global_control_group": _object({
            "percent": _ref("percent"), "exclude_tags": {"type": "array", "items": {"type": "string"}},
        }, ("percent",)),
        "frequency_caps": {
            "type": "array",
            "items": _object({
                "channel": {"enum": [*vocabulary.CAPPED_CHANNELS, "any"]},
                "max": {"type": "integer", "minimum": 0},
                "per": {"type": "string", "pattern": rf"^\s*[0-9]+\s*({'|'.join(keys.CAP_UNITS)})s?\s*$"},
            }, keys.CAP_KEYS),
        },
    })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "campaign-connector campaign file",
        **_object(
            {
                "version": {"const": 1},
                "workspace": workspace,
                "segments": {"type": "object", "additionalProperties": _ref("filter")},
                "campaigns": {
                    "type": "array",
                    "items": _object(campaign_properties, ("id", "channels")),
                },
            },
            ("version", "campaigns"),
        ),
        "$defs": defs,
    }


def schema_json() -> str:
    """The schema as indented JSON text."""
    return json.dumps(campaign_schema(), indent=2, ensure_ascii=False)
