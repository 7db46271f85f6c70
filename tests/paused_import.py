"""``python tests/paused_import.py SECONDS ARGS...``: ``campaign-connector ARGS...`` whose import pauses for SECONDS
inside its transaction — its events copied into the log, not yet committed, the write lock held — having
printed ``test hook: paused`` on stderr. A test can then kill it mid-import, or start a second import or a
replay against the held lock, deterministically. The pause lives here, not in the product."""

import signal
import sys
import time

from campaign_connector.importer import run
from campaign_connector.store import Store
from campaign_connector.store.events import Copied

SECONDS = float(sys.argv[1])
copy_staged = run.copy_staged

# Ctrl-C as in an interactive terminal, whatever this process inherited: a test suite started in the
# background (`cmd &` in a script, under nohup) passes SIGINT on ignored, and Python then leaves it ignored.
signal.signal(signal.SIGINT, signal.default_int_handler)


def paused(store: Store, import_id: int) -> Copied:
    stored = copy_staged(store, import_id)
    sys.stderr.write("test hook: paused\n")
    sys.stderr.flush()
    time.sleep(SECONDS)
    return stored


run.copy_staged = paused
sys.argv = ["campaign-connector", *sys.argv[2:]]

from campaign_connector.cli import main  # noqa: E402  (after the patch, as the command line starts)

main()
