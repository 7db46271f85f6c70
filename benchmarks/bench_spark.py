"""``spark-replay`` beside the SQLite path, run by hand (never in CI): ``python benchmarks/bench_spark.py``.

Needs the ``[spark]`` extra and Java 17+. On the logs ``bench.py`` makes (same generator, same shapes: ``ids``
and ``no-ids``), through the real command line, one after the other:
- the SQLite path: ``import`` then ``replay --workers 2`` (and ``--workers 1``), seconds per million events;
- ``spark-replay --master local[2]`` of the same file, seconds per million events with the JVM's start-up
  (session, first job's Python workers) counted apart: the run's own time is ``run.json``'s ``seconds``
  (from the session being ready to the run folder renamed into place), the rest of the wall time is start-up;
- peak memory of each command: the largest sum of resident memory over the command's process tree (sampled
  every 0.1 s from ``/proc``, so the JVM and Spark's Python workers count; Linux only);
- that both paths made identical decisions (``sends --format csv`` of the stored run and of the run folder,
  compared without the ``run`` column).

Prints a table and writes ``benchmarks/out/spark.json``.

    python benchmarks/bench_spark.py                    # 1M events, both shapes
    python benchmarks/bench_spark.py --sizes 100000 --shapes ids
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import CLI, EXAMPLE, OUT, decisions_digest, log_of_shape, remove_db  # bench.py makes the logs


def _tree_rss_kib(root: int) -> int:
    """Resident memory (KiB) of ``root`` and every process below it, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def run_tree(cmd: list[str]) -> dict[str, Any]:
    """Run a command; wall seconds, peak resident memory of its process tree (MB), load average at start."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kib(proc.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{stderr[-2000:]}")
    return {"seconds": seconds, "peak_rss_mb": peak[0] / 1024, "load_average_at_start": load, "stdout": stdout}


def bench(events: int, shape: str, folder: Path, master: str) -> dict[str, Any]:
    log, rows = log_of_shape(events, shape, folder)
    millions = rows / 1e6
    db = folder / f"spark-bench-{events}-{shape}.db"
    remove_db(db)
    result: dict[str, Any] = {"events": rows, "shape": shape}
    imported = run_tree([*CLI, "import", "--db", str(db), str(log)])
    result["sqlite_import"] = imported
    for workers in (2, 1):
        replayed = run_tree([*CLI, "replay", str(EXAMPLE), "--db", str(db), "--name", f"w{workers}",
                             "--workers", str(workers)])
        result[f"sqlite_replay_w{workers}"] = replayed
    result["sqlite_seconds_per_million"] = {
        "import": imported["seconds"] / millions,
        "replay_w2": result["sqlite_replay_w2"]["seconds"] / millions,
        "replay_w1": result["sqlite_replay_w1"]["seconds"] / millions,
        "import_plus_replay_w2": (imported["seconds"] + result["sqlite_replay_w2"]["seconds"]) / millions,
    }
    output = folder / f"spark-run-{events}-{shape}"
    shutil.rmtree(output, ignore_errors=True)
    spark = run_tree([*CLI, "spark-replay", str(EXAMPLE), str(log), "--output", str(output), "--name", "spark",
                      "--master", master])
    manifest = json.loads((output / "run.json").read_text())
    in_session = manifest["seconds"]
    result["spark_replay"] = {**spark, "run_seconds": in_session, "startup_seconds": spark["seconds"] - in_session,
                              "seconds_per_million": in_session / millions}
    result["identical_decisions"] = decisions_digest(db, "w2", folder) == decisions_digest(db, str(output), folder)
    for part in result.values():
        if isinstance(part, dict):
            part.pop("stdout", None)
    shutil.rmtree(output, ignore_errors=True)
    remove_db(db)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--shapes", nargs="+", default=["ids", "no-ids"], choices=["ids", "no-ids"])
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    folder = OUT / "logs"
    folder.mkdir(exist_ok=True)
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "master": args.master},
        "runs": [bench(n, shape, folder, args.master) for n in args.sizes for shape in args.shapes],
    }
    (OUT / "spark.json").write_text(json.dumps(results, indent=2) + "\n")
    head = (f"{'events':>10} {'shape':>6} | {'import':>7} {'replay w2':>9} {'w1':>6} | {'spark run':>9} "
            f"{'start-up':>8} | {'peak MB sqlite/spark':>20} | identical")
    print(f"seconds per million events ({args.master}); start-up in seconds, not per million")
    print(head)
    for r in results["runs"]:
        per = r["sqlite_seconds_per_million"]
        spark = r["spark_replay"]
        sqlite_peak = max(r["sqlite_import"]["peak_rss_mb"], r["sqlite_replay_w2"]["peak_rss_mb"])
        print(f"{r['events']:>10,} {r['shape']:>6} | {per['import']:>7.1f} {per['replay_w2']:>9.1f} "
              f"{per['replay_w1']:>6.1f} | {spark['seconds_per_million']:>9.1f} {spark['startup_seconds']:>8.1f} | "
              f"{sqlite_peak:>9.0f} / {spark['peak_rss_mb']:>8.0f} | {'yes' if r['identical_decisions'] else 'NO'}")


if __name__ == "__main__":
    main()
