"""campaign-connector: replay interaction logs through Campaign Connector follow-up campaigns.

The Python API (``__all__``; each name documented in the README's "Python API" section). Names load on first
use, so that ``import campaign_connector`` (and the command line) stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Bumped whenever a change to the engine can change a decision; stored with every run.
ENGINE_VERSION = "1"

#: Public name → the module that defines it.
_EXPORTS: dict[str, str] = {
    "Store": "campaign_connector.store",
    "open_store": "campaign_connector.api",
    "load_config": "campaign_connector.config",
    "load_config_text": "campaign_connector.config",
    "check_config": "campaign_connector.config",
    "import_event_files": "campaign_connector.importer",
    "import_event_rows": "campaign_connector.importer",
    "import_user_files": "campaign_connector.importer",
    "import_user_rows": "campaign_connector.importer",
    "run_replay": "campaign_connector.replay",
    "runs": "campaign_connector.api",
    "find_run": "campaign_connector.store.runs",
    "decisions": "campaign_connector.api",
    "decisions_table": "campaign_connector.api",
    "run_report": "campaign_connector.api",
    "run_report_table": "campaign_connector.api",
    "diff": "campaign_connector.api",
    "diff_table": "campaign_connector.api",
    "CampaignConnectorError": "campaign_connector.errors",
    "ConfigError": "campaign_connector.errors",
    "InputError": "campaign_connector.errors",
    "StoreError": "campaign_connector.errors",
}

__all__ = [
    "ENGINE_VERSION",
    "CampaignConnectorError",
    "ConfigError",
    "InputError",
    "Store",
    "StoreError",
    "__version__",
    "check_config",
    "decisions",
    "decisions_table",
    "diff",
    "diff_table",
    "find_run",
    "import_event_files",
    "import_event_rows",
    "import_user_files",
    "import_user_rows",
    "load_config",
    "load_config_text",
    "open_store",
    "run_replay",
    "run_report",
    "run_report_table",
    "runs",
]

if TYPE_CHECKING:
    from campaign_connector.api import (
        decisions,
        decisions_table,
        diff,
        diff_table,
        open_store,
        run_report,
        run_report_table,
        runs,
    )
    from campaign_connector.config import check_config, load_config, load_config_text
    from campaign_connector.errors import CampaignConnectorError, ConfigError, InputError, StoreError
    from campaign_connector.importer import (
        import_event_files,
        import_event_rows,
        import_user_files,
        import_user_rows,
    )
    from campaign_connector.replay import run_replay
    from campaign_connector.store import Store
    from campaign_connector.store.runs import find_run


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'campaign_connector' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
