"""campaign-connector: replay interaction logs through Campaign Connector follow-up campaigns."""

__version__ = "0.1.0"

#: Bumped whenever a change to the engine can change a decision; stored with every run.
ENGINE_VERSION = "1"
