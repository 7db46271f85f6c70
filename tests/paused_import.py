"""``python tests/paused_import.py SECONDS ARGS...``: ``campaign-connector ARGS...`` whose import pauses for SECONDS
inside its transaction — its events copied into the log, not yet committed, the write lock held — having
printed ``test hook: paused`` on stderr. A test can then kill it mid-import, or start a second import or a
replay against the held lock, deterministically. The pause lives here, not in the product."""

import os
import signal
import sys
import time

from campaign_connector.importer import run
from campaign_connector.store import Store
from campaign_connector.store.events import Copied

SECONDS = float(sys.argv[1])
copy_staged = run.copy_staged


def _dispositions() -> str:
    """Each thread's blocked, ignored and caught signal masks (a test that times out prints them)."""
    masks = []
    for task in sorted(os.listdir("/proc/self/task")):
        with open(f"/proc/self/task/{task}/status") as status:
            fields = dict(line.rstrip("\n").split(":\t", 1) for line in status if ":\t" in line)
        masks.append(f"{fields.get('Name')}:blk={fields.get('SigBlk')},ign={fields.get('SigIgn')},"
                     f"cgt={fields.get('SigCgt')}")
    return f"python handler {signal.getsignal(signal.SIGINT)}; " + "; ".join(masks)


def paused(store: Store, import_id: int) -> Copied:
    stored = copy_staged(store, import_id)
    sys.stderr.write("test hook: paused\n")
    sys.stderr.write(f"test hook: signals {_dispositions()}\n")
    sys.stderr.flush()
    # In slices: the kernel may hand a SIGINT to any of the process's threads (pyarrow's, SQLite's); Python then
    # raises KeyboardInterrupt in the main thread when it next runs Python code, which one long sleep would put
    # off to its end. (Found when a fresh-clone CI run waited out a 120 s pause after Ctrl-C.)
    until = time.monotonic() + SECONDS
    while time.monotonic() < until:
        time.sleep(0.05)
    return stored


run.copy_staged = paused
sys.argv = ["campaign-connector", *sys.argv[2:]]

from campaign_connector.cli import main  # noqa: E402  (after the patch, as the command line starts)

main()
