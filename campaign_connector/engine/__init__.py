"""The pure trigger engine: (config, one user's ordered events, profile) → decisions (SPEC §4).

No I/O, no clock, no randomness. Cross-user rules (``max_recipients``, ``rate_limit``) live in
``engine.crossuser`` and run after the per-user pass.
"""

from importlib.machinery import EXTENSION_SUFFIXES

from campaign_connector.engine import core
from campaign_connector.engine.core import Engine, campaign_bucket, global_bucket

#: Whether the engine's modules were compiled with mypyc at install time (``setup.py``): the same code, faster.
COMPILED: bool = (core.__file__ or "").endswith(tuple(EXTENSION_SUFFIXES))

__all__ = ["COMPILED", "Engine", "campaign_bucket", "global_bucket"]
