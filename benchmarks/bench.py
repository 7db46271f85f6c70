"""Benchmarks for campaign-connector, run by hand (never in CI): ``python benchmarks/bench.py``.

Measures, side by side in one run on this machine, through the real command line:
- CSV import rate (events/s) and its ratio to the ``sqlite3`` shell's ``.import`` of the same file into a
  plain table of the same columns;
- replay rate for ``--workers 1`` and ``--workers 2`` (events/s), their speed-up, and that both runs made
  identical decisions;
- peak RSS of every step (from ``wait4``'s rusage of the child process);
- database size per million events;
- growth: import and replay time from the smallest to the largest size, and replay time as the number of
  follow-up campaigns grows (``--campaign-scale``).

Prints a table and writes every figure to ``benchmarks/out/results.json``.

    python benchmarks/bench.py                      # 100k and 1M events
    python benchmarks/bench.py --sizes 100000 1000000 10000000
    python benchmarks/bench.py --sizes 1000000 --campaign-scale 20 200
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
EXAMPLE = ROOT / "campaigns.example.yaml"
CLI = [sys.executable, "-m", "campaign_connector"]


def run(cmd: list[str], *, stdin: str | None = None) -> dict[str, Any]:
    """Run a command; return wall seconds and its output. Fails loudly on a non-zero exit."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    stdout, stderr = proc.communicate(stdin)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{stderr[-2000:]}")
    return {"seconds": seconds, "stdout": stdout, "stderr": stderr}


def run_measured(cmd: list[str]) -> dict[str, Any]:
    """Run a command and read its own peak RSS from wait4 (Linux reports ru_maxrss in KiB; for a command that
    started worker processes, the largest of them if larger). Notes the load average when it starts."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{stderr.decode()[-2000:]}")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "load_average_at_start": load}


def generate(events: int, folder: Path) -> tuple[Path, int]:
    """A generated CSV log of about ``events`` rows for the example workspace; returns (path, exact rows)."""
    path = folder / f"events-{events}.csv"
    if not path.exists():
        probe = folder / "probe.csv"
        run([*CLI, "generate", "--users", "1000", "--days", "30", "--seed", "7", "-o", str(probe)])
        per_user_day = (count_rows(probe)) / (1000 * 30)
        probe.unlink()
        days = 30
        users = max(1, round(events / (per_user_day * days)))
        run([*CLI, "generate", "--users", str(users), "--days", str(days), "--seed", "7", "-o", str(path)])
    return path, count_rows(path)


def count_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle) - 1


def sqlite_import(csv_path: Path, folder: Path) -> dict[str, Any]:
    """The sqlite3 shell's .import of the same CSV into a plain table of the same columns."""
    db = folder / "plain.db"
    db.unlink(missing_ok=True)
    with csv_path.open() as handle:
        header = handle.readline().strip().split(",")
    columns = ", ".join(f'"{name}" TEXT' for name in header)
    script = f"CREATE TABLE events ({columns});\n.mode csv\n.import --skip 1 {csv_path} events\n"
    if not shutil.which("sqlite3"):
        return {"seconds": None, "note": "sqlite3 shell not installed (apt-get install sqlite3)"}
    started = time.perf_counter()
    subprocess.run(["sqlite3", str(db)], input=script, text=True, check=True)
    seconds = time.perf_counter() - started
    db.unlink()
    return {"seconds": seconds}


def decisions_digest(db: Path, run_name: str) -> str:
    """sha256 of the run's decisions as CSV, without the run column (to compare runs); streamed from a file,
    so millions of decisions never sit in memory."""
    path = OUT / f"sends-{run_name}.csv"
    run([*CLI, "sends", "--db", str(db), "--run", run_name, "--format", "csv", "-o", str(path)])
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        next(handle)
        for line in handle:
            digest.update(line.split(b",", 1)[1])
    path.unlink()
    return digest.hexdigest()


def scaled_config(follow_ups: int, folder: Path) -> Path:
    """The example workspace with its follow-ups cloned until there are ``follow_ups`` of them."""
    doc = yaml.safe_load(EXAMPLE.read_text())
    base = [c for c in doc["campaigns"] if c.get("triggers") and c.get("status") != "draft"]
    campaigns = list(doc["campaigns"])
    count = len([c for c in campaigns if c.get("triggers")])
    n = 0
    while count < follow_ups:
        clone = dict(base[n % len(base)])
        clone["id"] = f"{clone['id']}-clone{n}"
        clone.pop("braze_id", None)
        campaigns.append(clone)
        count += 1
        n += 1
    doc["campaigns"] = campaigns
    path = folder / f"campaigns-{follow_ups}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def bench_size(events: int, folder: Path, workers: list[int]) -> dict[str, Any]:
    csv_path, rows = generate(events, folder)
    db = folder / f"bench-{events}.db"
    remove_db(db)
    result: dict[str, Any] = {"events": rows}
    imp = run_measured([*CLI, "import", "--db", str(db), str(csv_path)])
    result["import"] = {**imp, "events_per_s": rows / imp["seconds"]}
    plain = sqlite_import(csv_path, folder)
    if plain.get("seconds"):
        result["sqlite3_import"] = {**plain, "events_per_s": rows / plain["seconds"]}
        result["import"]["ratio_to_sqlite3"] = imp["seconds"] / plain["seconds"]
    result["db_mb_per_million"] = db.stat().st_size / 1e6 / (rows / 1e6)
    digests = {}
    for n in workers:
        name = f"w{n}"
        rep = run_measured([*CLI, "replay", str(EXAMPLE), "--db", str(db), "--name", name, "--workers", str(n)])
        result[f"replay_workers_{n}"] = {**rep, "events_per_s": rows / rep["seconds"]}
        digests[n] = decisions_digest(db, name)
    if 1 in workers and 2 in workers:
        result["speedup_2_workers"] = result["replay_workers_1"]["seconds"] / result["replay_workers_2"]["seconds"]
        result["identical_decisions"] = digests[1] == digests[2]
    # The faster of the replays (the target is the whole job done on this machine).
    fastest = min(result[f"replay_workers_{n}"]["seconds"] for n in workers)
    result["import_plus_replay_seconds"] = imp["seconds"] + fastest
    remove_db(db)
    return result


def remove_db(db: Path) -> None:
    """Delete a database and its WAL files."""
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.unlink(missing_ok=True)


def bench_campaigns(events: int, scales: list[int], folder: Path) -> list[dict[str, Any]]:
    csv_path, rows = generate(events, folder)
    db = folder / "bench-campaigns.db"
    remove_db(db)
    run([*CLI, "import", "--db", str(db), str(csv_path)])
    out = []
    for follow_ups in scales:
        config = scaled_config(follow_ups, folder)
        rep = run_measured([*CLI, "replay", str(config), "--db", str(db), "--name", f"c{follow_ups}"])
        out.append({"follow_ups": follow_ups, "events": rows, **rep, "events_per_s": rows / rep["seconds"]})
    remove_db(db)
    return out


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform(),
            "sqlite": sqlite3.sqlite_version,
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--campaign-scale", type=int, nargs="*", default=[20, 200],
                        help="follow-up counts for the campaign-growth run (on the smallest size)")
    parser.add_argument("--keep", action="store_true", help="keep generated logs in benchmarks/out")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    results["sizes"] = [bench_size(n, OUT, args.workers) for n in args.sizes]
    if args.campaign_scale:
        results["campaign_growth"] = bench_campaigns(min(args.sizes), args.campaign_scale, OUT)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print_table(results)
    if not args.keep:
        for path in OUT.glob("events-*.csv"):
            path.unlink()


def print_table(results: dict[str, Any]) -> None:
    """The figures as Markdown tables (paste them into benchmarks/README.md)."""
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, SQLite {m['sqlite']}; {results['when']}")
    print()
    print("| events | import ev/s | vs sqlite3 .import | replay ev/s, 1 worker | replay ev/s, 2 workers | speed-up "
          "| identical | peak RSS MB (import / replay) | DB MB per M events | import + replay s | load avg |")
    print("|---:|---:|---:|---:|---:|---:|:-:|---:|---:|---:|---:|")
    for r in results["sizes"]:
        w1, w2 = r.get("replay_workers_1", {}), r.get("replay_workers_2", {})
        rss = f"{r['import']['peak_rss_mb']:.0f} / {max(w1.get('peak_rss_mb', 0), w2.get('peak_rss_mb', 0)):.0f}"
        loads = [r["import"]["load_average_at_start"], w1.get("load_average_at_start", 0),
                 w2.get("load_average_at_start", 0)]
        print(f"| {r['events']:,} | {r['import']['events_per_s']:,.0f} "
              f"| {r['import'].get('ratio_to_sqlite3', float('nan')):.2f}x "
              f"| {w1.get('events_per_s', 0):,.0f} | {w2.get('events_per_s', 0):,.0f} "
              f"| {r.get('speedup_2_workers', float('nan')):.2f}x | {r.get('identical_decisions', '-')} "
              f"| {rss} | {r['db_mb_per_million']:.0f} | {r['import_plus_replay_seconds']:.1f} "
              f"| {max(loads):.1f} |")
    print()
    print("Growth (seconds per million events; flat means linear):")
    for r in results["sizes"]:
        per = 1e6 / r["events"]
        parts = [f"import {r['import']['seconds'] * per:.1f}"]
        parts += [f"replay x{n} {r[f'replay_workers_{n}']['seconds'] * per:.1f}"
                  for n in (1, 2) if f"replay_workers_{n}" in r]
        print(f"- {r['events']:,} events: " + ", ".join(parts))
    growth = results.get("campaign_growth", [])
    if growth:
        print()
        print(f"Campaign growth (replay, 1 worker, {growth[0]['events']:,} events):")
        for c in growth:
            print(f"- {c['follow_ups']} follow-ups: {c['seconds']:.1f} s ({c['events_per_s']:,.0f} events/s, "
                  f"peak RSS {c['peak_rss_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
