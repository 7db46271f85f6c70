"""The pure trigger engine: (config, one user's ordered events, profile) → decisions (SPEC §4).

No I/O, no clock, no randomness. Cross-user rules (``max_recipients``, ``rate_limit``) live in
``engine.crossuser`` and run after the per-user pass.
"""

from campaign_connector.engine.core import Engine, campaign_bucket, global_bucket

__all__ = ["Engine", "campaign_bucket", "global_bucket"]
