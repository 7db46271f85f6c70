"""Import event logs and users files into the store: read → normalise → validate → store (SPEC §3).

The parts, each testable without a database:

- ``readers``: event logs per format → chunks of normalised events. CSV (``pyarrow.csv``, streaming) and
  Parquet as Arrow batches through the batch normaliser; JSON lines, Braze Currents (Avro and JSON; each
  record mapped by ``inputs.currents.to_event_row``) and Python mappings through the per-row rules.
- ``normalize``: ``normalize_batch``, the batch normaliser (``pyarrow.compute``, with the per-row rules for
  the cells it cannot decide) — the one implementation ``spark-replay`` runs too.
- ``rows``: the per-row rules, which word every message.
- ``run``: one import — chunks staged in a scratch file by ADBC, then one transaction copies them into the
  events table sorted by user and time (``store.events``); all-or-nothing, rejects files, the summary.
- ``users``: users files.

All-or-nothing: every bad row is collected; by default any bad row means nothing is stored and
``BadRowsError`` lists the first 20 as ``FILE:LINE: message``. With ``skip_invalid`` the good rows are stored
and each bad row goes to the rejects file (one JSON object per line: file, line, reason, raw). A killed import
leaves the database as it was. An id already stored, or seen earlier in the same import, is skipped and
counted as a duplicate.
"""

from campaign_connector.importer.normalize import (
    EVENT_SCHEMA,
    UNKNOWN_COLUMNS_SHOWN,
    BadRow,
    Normalized,
    normalize_batch,
    unknown_warning,
)
from campaign_connector.importer.readers import BATCH_ROWS, REQUIRED_EVENT_FIELDS
from campaign_connector.importer.run import (
    SHOWN_BAD_ROWS,
    SKIP_INVALID_FIX,
    BadRowsError,
    ImportSummary,
    ProgressCallback,
    import_event_files,
    import_event_rows,
    import_event_sources,
    summary_lines,
)
from campaign_connector.importer.users import USER_FIELDS, import_user_files, import_user_rows

__all__ = [
    "BATCH_ROWS",
    "EVENT_SCHEMA",
    "REQUIRED_EVENT_FIELDS",
    "SHOWN_BAD_ROWS",
    "SKIP_INVALID_FIX",
    "UNKNOWN_COLUMNS_SHOWN",
    "USER_FIELDS",
    "BadRow",
    "BadRowsError",
    "ImportSummary",
    "Normalized",
    "ProgressCallback",
    "import_event_files",
    "import_event_rows",
    "import_event_sources",
    "import_user_files",
    "import_user_rows",
    "normalize_batch",
    "summary_lines",
    "unknown_warning",
]
