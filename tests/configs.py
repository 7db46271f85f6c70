"""Campaign files and paths the tests share: one copy each, named after what they hold."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The example workspace users see (repository root; the package ships the same file for demo and generate).
EXAMPLE = ROOT / "campaigns.example.yaml"

#: A minimal workspace for the command-line, fault and concurrency tests: a click on the ``news`` email
#: triggers ``follow_up`` an hour later.
NEWS_AND_FOLLOW_UP = """\
version: 1
campaigns:
  - {id: news, channels: [email], status: active, published_at: 2026-01-01T00:00:00Z}
  - id: follow_up
    channels: [push]
    status: active
    published_at: 2026-01-01T00:00:00Z
    triggers:
      - {interaction: click_email, campaign: news}
    delay: 1 hour
"""

_NEWSLETTER = """\
version: 1
campaigns:
  - id: newsletter
    channels: [email]
    status: active
    published_at: 2026-01-01T00:00:00Z
  - id: followup_email
    channels: [email]
    status: active
    published_at: 2026-01-03T00:00:00Z
    triggers:
      - {interaction: click_email, campaign: newsletter}
    delay: 1 hour
    exceptions:
      - {event: purchase}
"""

#: The inspection tests' workspace: a click on ``newsletter`` triggers ``followup_email`` (an hour later,
#: cancelled by a purchase) and ``discount_push``, both converting on a purchase. followup_email comes before
#: discount_push (not alphabetical).
NEWSLETTER_WITH_DISCOUNT = _NEWSLETTER + """\
    conversion_events: [{event: purchase}]
  - id: discount_push
    channels: [push, email]
    status: active
    published_at: 2026-01-03T00:00:00Z
    triggers:
      - {interaction: click_email, campaign: newsletter}
    conversion_events: [{event: purchase}]
"""

#: ``explain``'s workspace: the newsletter's follow-up, and ``holdout_push`` on opens with a 50% control group.
NEWSLETTER_WITH_HOLDOUT = _NEWSLETTER + """\
  - id: holdout_push
    channels: [push]
    status: active
    published_at: 2026-01-03T00:00:00Z
    control_group: 50
    triggers:
      - {interaction: open_email, campaign: newsletter}
"""
