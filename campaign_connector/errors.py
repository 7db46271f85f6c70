"""One shallow exception tree. The CLI maps every ``CampaignConnectorError`` to a message and exit 1.

Messages are shaped ``where: what (how to fix)``. ``where`` is a file, a file and line, or a key path.
"""

from __future__ import annotations

#: Exit codes, documented in the README.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


class CampaignConnectorError(Exception):
    """Base class for every error the tool foresees. ``str(err)`` is the whole one-line message."""

    exit_code = EXIT_ERROR


class ConfigError(CampaignConnectorError):
    """A campaign file that cannot be loaded or fails validation."""


class InputError(CampaignConnectorError):
    """An event log, users file or scenario file that cannot be read."""


class StoreError(CampaignConnectorError):
    """The database: missing, busy, corrupt, too new, read-only, full, or a run that does not exist."""

