"""Scenario files: behaviour tests for campaign configs, run by ``campaign-connector test``.

``validate`` proves a campaign file is well-formed; a scenario proves it does what the marketer meant. A
scenario names a campaign file (or embeds one), lists a few users and events, and states the decisions the
replay must make. ``campaign-connector test PATH...`` runs each one through the same importers and replay
driver as the real commands, in a throw-away in-memory database, and prints ``PASS``/``FAIL`` per scenario
with a diff, then ``N passed, N failed``; it exits 1 when anything failed.

The format (YAML; the shipped examples are in ``scenarios/`` at the repository root)::

    name: email re-sent after a week unless opened     # default: the file name
    description: >                                     # what it shows, in marketer words
      Users who did not open the newsletter within a week get it again.
    config: ../campaigns.yaml      # a campaign file, relative to this file — or an embedded mapping:
                                   # config: {version: 1, campaigns: [...]}
    base_time: 2026-01-05T09:00:00Z    # optional; what relative times count from
    users:                             # optional rows like the users file
      - {user_id: u1, timezone: Europe/Berlin, country: DE}
    events:                            # rows like JSONL event-log rows
      - {user_id: u1, time: +0s, event: receive_email, campaign: newsletter}
      - {user_id: u2, time: +2d, event: open_email, campaign: newsletter}
    until: +8d                         # optional replay horizon (default: the last event, as `replay`)
    exhaustive: true                   # optional: no decisions other than the expected ones
    expect:                            # expected decisions, matched on the fields given
      - {user: u1, campaign: newsletter_resend, status: sent, sent_at: +7d}
      - {user: u2, campaign: newsletter_resend, status: cancelled, reason: exception}

- **Times** (event ``time``, ``until``, expected ``triggered_at``/``due_at``/``sent_at``) are absolute
  (ISO-8601, epoch seconds) or relative to ``base_time``: a sign, then ``<number><unit>`` parts with units
  ``w d h m s ms`` — ``+2d``, ``+1h30m``, ``+90s``, ``-1d``. Units are exact (a day is 86,400 s).
- **Expected fields**: ``user`` (or ``user_id``), ``campaign``, ``status``, ``reason``, ``trigger``,
  ``source_campaign``, ``triggered_at``, ``due_at``, ``sent_at``, ``variant``, ``channels`` (a list, compared as
  a set) and ``detail`` (matches when the decision's detail contains the text). Only the fields given are
  compared; ``null`` requires the field to be empty. Each expectation must match a different decision.
- **Several scenarios in one file**: a ``scenarios:`` list of scenario mappings; keys at the top of the file
  (``config``, ``base_time``, ``users``, ``events``, ``until``, ``exhaustive``, ``description``) are defaults
  that an item's own keys replace (lists are replaced, not merged). An item without a ``name`` is called
  after the file's ``name`` (or file name) and its number: ``rule_reeligibility #2``.
- **Diff**: ``~`` an expectation that met a decision of the same user and campaign with other values (each
  differing field shown), ``-`` an expectation no decision meets, ``+`` an unexpected decision (with
  ``exhaustive``), then every actual decision.
- **Bad files** get located one-line errors, ``FILE:LINE:COL: key.path: message``, with suggestions for
  misspelt keys, statuses, reasons and campaigns; the file counts as failed.
"""

from __future__ import annotations

from campaign_connector.scenarios.format import (
    Expectation,
    Problem,
    Scenario,
    ScenarioFile,
    load_scenario_file,
    parse_scenario_text,
)
from campaign_connector.scenarios.matching import Outcome, match
from campaign_connector.scenarios.render import render_junit, render_text
from campaign_connector.scenarios.runner import Report, ScenarioResult, run_file, run_paths, run_scenario

__all__ = [
    "Expectation",
    "Outcome",
    "Problem",
    "Report",
    "Scenario",
    "ScenarioFile",
    "ScenarioResult",
    "load_scenario_file",
    "match",
    "parse_scenario_text",
    "render_junit",
    "render_text",
    "run_file",
    "run_paths",
    "run_scenario",
]
