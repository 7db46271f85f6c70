"""Benchmarks for campaign-connector, run by hand (never in CI): ``python benchmarks/bench.py``.

Measures, side by side in one run on this machine, through the real command line, on two log shapes (``ids``:
``generate``'s CSV, with an id column and ISO times; ``no-ids``: the same events without ids, times as epoch
seconds, a fifth of them with milliseconds):
- CSV import rate (events/s) and its ratio to the ``sqlite3`` shell's ``.import`` of the same file into a
  plain table of the same columns plus the indexes the store needs ((user_id, time), and the unique id index
  when the file has ids);
- replay rate for ``--workers 1``, ``--workers 2`` and a second ``--workers 1`` replay of the same log (the
  what-if loop), their speed-up, and that all runs made identical decisions;
- where the time goes, per event: the import's steps (read and normalise into the staging file, copy into the
  log sorted by user, build the id index, commit) and the replay's read of every timeline, measured in
  process on the same log (``--breakdown``);
- peak RSS of every step (from ``wait4``'s rusage of the child process);
- database size per million events;
- the same log imported as Parquet and as JSON lines (``--formats``), against the same ``sqlite3`` baseline;
- growth: import and replay time from the smallest to the largest size, and replay time as the number of
  follow-up campaigns grows (``--campaign-scale``).

Prints a table and writes every figure to ``benchmarks/out/results.json``.

    python benchmarks/bench.py                      # 1M events, both shapes
    python benchmarks/bench.py --sizes 1000000 10000000
    python benchmarks/bench.py --sizes 100000 --campaign-scale 20 200
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
CLI = [sys.executable, "-P", "-m", "campaign_connector"]  # -P: the installed package, not the checkout


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


#: Runs a command and writes its wait4 figures to a file. Commands are started from this small process, not
#: from the benchmark's: Linux carries a process's peak RSS across exec, so a command forked straight from a
#: benchmark process that has read a log into memory would report that process's size as its own.
_MEASURE = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"code": os.waitstatus_to_exitcode(status), "maxrss": usage.ru_maxrss,
               "cpu": usage.ru_utime + usage.ru_stime}, out)
"""


def run_measured(cmd: list[str]) -> dict[str, Any]:
    """Run a command and read its own peak RSS from wait4 (Linux reports ru_maxrss in KiB; for a command that
    started worker processes, the largest of them if larger), through ``_MEASURE``. Notes the load average
    when it starts."""
    load = os.getloadavg()[0]
    figures = OUT / "measure.json"
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(figures), *cmd], stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    measured = json.loads(figures.read_text())
    figures.unlink()
    if proc.returncode != 0 or measured["code"] != 0:
        raise SystemExit(f"command failed ({measured['code']}): {' '.join(cmd)}\n{proc.stderr.decode()[-2000:]}")
    return {"seconds": seconds, "peak_rss_mb": measured["maxrss"] / 1024, "cpu_seconds": measured["cpu"],
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


def without_ids(source: Path, target: Path) -> None:
    """``source`` without its id column, times as epoch seconds (every fifth with milliseconds)."""
    import csv
    from datetime import datetime

    with source.open(newline="") as infile, target.open("w", newline="") as outfile:
        reader, writer = csv.reader(infile), csv.writer(outfile, lineterminator="\n")
        header = next(reader)
        at_id, at_time = header.index("id"), header.index("time")
        writer.writerow([name for i, name in enumerate(header) if i != at_id])
        for number, row in enumerate(reader):
            seconds = datetime.fromisoformat(row[at_time].replace("Z", "+00:00")).timestamp()
            row[at_time] = f"{seconds + 0.25:.3f}" if number % 5 == 0 else str(int(seconds))
            del row[at_id]
            writer.writerow(row)


def log_of_shape(events: int, shape: str, folder: Path) -> tuple[Path, int]:
    path, rows = generate(events, folder)
    if shape == "ids":
        return path, rows
    target = folder / f"events-{events}-no-ids.csv"
    if not target.exists():
        without_ids(path, target)
    return target, rows


def sqlite_import(csv_path: Path, folder: Path) -> dict[str, Any]:
    """The sqlite3 shell's .import of the same CSV into a plain table of the same columns, plus the indexes
    the store needs: (user_id, time), and the unique id index when the file has an id column."""
    db = folder / "plain.db"
    db.unlink(missing_ok=True)
    with csv_path.open() as handle:
        header = handle.readline().strip().split(",")
    columns = ", ".join(f'"{name}" TEXT' for name in header)
    indexes = "CREATE INDEX plain_user_time ON events (user_id, time);\n"
    if "id" in header:
        indexes += "CREATE UNIQUE INDEX plain_id ON events (id);\n"
    script = f"CREATE TABLE events ({columns});\n.mode csv\n.import --skip 1 {csv_path} events\n{indexes}"
    if not shutil.which("sqlite3"):
        return {"seconds": None, "note": "sqlite3 shell not installed (apt-get install sqlite3)"}
    path = folder / "plain.sql"
    path.write_text(script)
    measured = run_measured(["sqlite3", str(db), f".read {path}"])  # started as the import is
    path.unlink()
    db.unlink()
    return measured


def decisions_digest(db: Path, run_name: str, folder: Path = OUT) -> str:
    """sha256 of the run's decisions as CSV, without the run column (to compare runs; ``run_name`` may be a run
    folder); streamed from a file in ``folder``, so millions of decisions never sit in memory."""
    path = folder / f"sends-{Path(run_name).name}.csv"
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


def as_format(csv_path: Path, fmt: str) -> Path:
    """The CSV log written again as Parquet (every column text, as the CSV holds it) or JSON lines (one object
    per row, empty cells left out, properties as an object)."""
    import csv

    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    target = csv_path.with_suffix(".parquet" if fmt == "parquet" else ".jsonl")
    if target.exists():
        return target
    if fmt == "parquet":
        with csv_path.open() as handle:
            header = handle.readline().strip().split(",")
        table = pa_csv.read_csv(csv_path, convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=True))
        pq.write_table(table, target)
        return target
    with csv_path.open(newline="") as infile, target.open("w") as out:
        for row in csv.DictReader(infile):
            record: dict[str, Any] = {key: value for key, value in row.items() if value != ""}
            if "properties" in record:
                record["properties"] = json.loads(record["properties"])
            out.write(json.dumps(record) + "\n")
    return target


def bench_formats(csv_path: Path, rows: int, formats: list[str], folder: Path, baseline: float | None,
                  stored: int) -> dict[str, Any]:
    """Import the same log as Parquet and as JSON lines: time, CPU, peak RSS, ratio to the CSV's ``sqlite3``
    baseline, and whether as many events were stored as from the CSV."""
    out = {}
    for fmt in formats:
        path = as_format(csv_path, fmt)
        db = folder / f"bench-{fmt}.db"
        remove_db(db)
        imp = run_measured([*CLI, "import", "--db", str(db), str(path)])
        with sqlite3.connect(db) as conn:
            count = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        remove_db(db)
        out[fmt] = {**imp, "events_per_s": rows / imp["seconds"], "same_count_as_csv": count == stored,
                    "ratio_to_sqlite3": imp["seconds"] / baseline if baseline else None}
    return out


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median wall time (the lower middle one of an even count)."""
    return sorted(runs, key=lambda run: run["seconds"])[(len(runs) - 1) // 2]


def bench_size(events: int, shape: str, folder: Path, workers: list[int], breakdown: bool,
               formats: tuple[str, ...] = (), repeats: int = 1) -> dict[str, Any]:
    csv_path, rows = log_of_shape(events, shape, folder)
    db = folder / f"bench-{events}-{shape}.db"
    remove_db(db)
    result: dict[str, Any] = {"events": rows, "shape": shape}
    imports, plains = [], []
    for _ in range(max(1, repeats)):  # in turns, so that both see the same load; the median of each is kept
        remove_db(db)
        imports.append(run_measured([*CLI, "import", "--db", str(db), str(csv_path)]))
        plains.append(sqlite_import(csv_path, folder))
    imp = median_run(imports)
    plain = median_run(plains) if plains[0].get("seconds") else plains[0]
    result["import"] = {**imp, "events_per_s": rows / imp["seconds"], "runs_s": [r["seconds"] for r in imports]}
    if plain.get("seconds"):
        plain["runs_s"] = [r["seconds"] for r in plains]
        result["sqlite3_import"] = {**plain, "events_per_s": rows / plain["seconds"]}
        result["import"]["ratio_to_sqlite3"] = imp["seconds"] / plain["seconds"]
        result["import"]["cpu_ratio_to_sqlite3"] = imp["cpu_seconds"] / plain["cpu_seconds"]
    result["db_mb_per_million"] = db.stat().st_size / 1e6 / (rows / 1e6)
    if formats:
        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        result["formats"] = bench_formats(csv_path, rows, list(formats), folder, plain.get("seconds"), stored)
    digests = {}
    for name, n in [*((f"w{n}", n) for n in workers), ("again", 1)]:
        rep = run_measured([*CLI, "replay", str(EXAMPLE), "--db", str(db), "--name", name, "--workers", str(n)])
        result[f"replay_{name}"] = {**rep, "events_per_s": rows / rep["seconds"]}
        digests[name] = decisions_digest(db, name)
    if 1 in workers and 2 in workers:
        result["speedup_2_workers"] = result["replay_w1"]["seconds"] / result["replay_w2"]["seconds"]
    result["identical_decisions"] = len(set(digests.values())) == 1
    fastest = min(result[f"replay_w{n}"]["seconds"] for n in workers)
    result["import_plus_replay_seconds"] = imp["seconds"] + fastest
    if breakdown:
        result["breakdown"] = per_event_costs(csv_path, folder / "breakdown.db", rows)
    remove_db(db)
    return result


def per_event_costs(csv_path: Path, db: Path, rows: int) -> dict[str, float]:
    """CPU microseconds per event (this process and its SQLite threads: steady on a busy machine) of each step
    of an import, and of reading every timeline as a replay does."""
    from campaign_connector.importer import import_event_files
    from campaign_connector.store import Store
    from campaign_connector.store import events as store_events
    from campaign_connector.store.events import iter_timelines

    remove_db(db)
    spent: dict[str, float] = {}
    steps = [(store_events.Staging, "_work", "stage the batches (ADBC, its own thread)"),
             (store_events, "_build_id_index", "id index"),
             (store_events, "copy_staged", "copy into the log sorted by user")]
    real = [getattr(owner, name) for owner, name, _ in steps]

    def timed(label: str, function: Any) -> Any:
        clock = time.thread_time if "thread" in label else time.process_time  # the thread's own CPU, or all
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + clock() - started
        return wrapper

    for (owner, name, label), function in zip(steps, real, strict=True):
        setattr(owner, name, timed(label, function))
    from campaign_connector.importer import run as import_run
    import_run.copy_staged = store_events.copy_staged
    try:
        with Store.open(db) as store:
            started = time.process_time()
            import_event_files(store, [csv_path])
            total = time.process_time() - started
            spent["copy into the log sorted by user"] -= spent["id index"]
            spent["read CSV (Arrow) and normalise"] = total - sum(spent.values())
            started = time.process_time()
            for _ in iter_timelines(store, until=None):
                pass
            spent["replay: read every timeline"] = time.process_time() - started
    finally:
        for (owner, name, _), function in zip(steps, real, strict=True):
            setattr(owner, name, function)
        import_run.copy_staged = store_events.copy_staged
        remove_db(db)
    order = ["read CSV (Arrow) and normalise", "stage the batches (ADBC, its own thread)",
             "copy into the log sorted by user",
             "id index", "replay: read every timeline"]
    return {label: spent[label] * 1e6 / rows for label in order}


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


def _engine() -> str:
    """Which engine the measured commands run: ``pip install .`` compiles it with mypyc, ``-e`` does not."""
    code = "from campaign_connector.engine import COMPILED; print(COMPILED)"
    probe = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True)
    return "compiled with mypyc" if probe.stdout.strip() == "True" else "pure Python"


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
            "sqlite": sqlite3.sqlite_version, "engine": _engine(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--shapes", nargs="+", default=["ids", "no-ids"], choices=["ids", "no-ids"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--campaign-scale", type=int, nargs="*", default=[],
                        help="follow-up counts for the campaign-growth run (on the smallest size)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the in-process per-step costs")
    parser.add_argument("--keep", action="store_true", help="keep generated logs in benchmarks/out")
    parser.add_argument("--repeat", type=int, default=3,
                        help="imports (and sqlite3 baselines, in turns) per log; the median of each is reported")
    parser.add_argument("--formats", nargs="*", default=["parquet", "jsonl"], choices=["parquet", "jsonl"],
                        help="also import the log as these formats (import only; none: --formats)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    results["sizes"] = [bench_size(n, shape, OUT, args.workers, not args.no_breakdown, tuple(args.formats),
                                   args.repeat)
                        for n in args.sizes for shape in args.shapes]
    if args.campaign_scale:
        results["campaign_growth"] = bench_campaigns(min(args.sizes), args.campaign_scale, OUT)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print_table(results)
    if not args.keep:
        for pattern in ("events-*.csv", "events-*.parquet", "events-*.jsonl"):
            for path in OUT.glob(pattern):
                path.unlink()


def print_table(results: dict[str, Any]) -> None:
    """The figures as Markdown tables (paste them into benchmarks/README.md)."""
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, SQLite {m['sqlite']}, "
          f"engine {m.get('engine', 'pure Python')}; {results['when']}")
    print()
    print("| events | shape | import s (CPU s) | sqlite3 .import + indexes s (CPU s) | ratio (CPU) "
          "| replay ev/s, 1 worker | 2 workers | speed-up | second replay ev/s | identical "
          "| peak RSS MB (import / replay) | DB MB per M | import + replay s | load avg |")
    print("|---:|:-:|---:|---:|---:|---:|---:|---:|---:|:-:|---:|---:|---:|---:|")
    for r in results["sizes"]:
        w1, w2, again = r.get("replay_w1", {}), r.get("replay_w2", {}), r.get("replay_again", {})
        replay_rss = max(w1.get("peak_rss_mb", 0), w2.get("peak_rss_mb", 0), again.get("peak_rss_mb", 0))
        loads = [r["import"]["load_average_at_start"], w1.get("load_average_at_start", 0),
                 w2.get("load_average_at_start", 0)]
        plain = r.get("sqlite3_import", {})
        print(f"| {r['events']:,} | {r['shape']} | {r['import']['seconds']:.1f} ({r['import']['cpu_seconds']:.1f}) "
              f"| {plain.get('seconds', float('nan')):.1f} ({plain.get('cpu_seconds', float('nan')):.1f}) "
              f"| {r['import'].get('ratio_to_sqlite3', float('nan')):.2f}x "
              f"({r['import'].get('cpu_ratio_to_sqlite3', float('nan')):.2f}x) "
              f"| {w1.get('events_per_s', 0):,.0f} | {w2.get('events_per_s', 0):,.0f} "
              f"| {r.get('speedup_2_workers', float('nan')):.2f}x | {again.get('events_per_s', 0):,.0f} "
              f"| {r.get('identical_decisions', '-')} | {r['import']['peak_rss_mb']:.0f} / {replay_rss:.0f} "
              f"| {r['db_mb_per_million']:.0f} | {r['import_plus_replay_seconds']:.1f} | {max(loads):.1f} |")
    costs = [r for r in results["sizes"] if "breakdown" in r]
    if costs:
        print()
        print("CPU per event (µs), in process (\"read and normalise\" includes the commit and the rest):")
        print()
        steps = list(costs[0]["breakdown"])
        print("| events | shape | " + " | ".join(steps) + " |")
        print("|---:|:-:|" + "---:|" * len(steps))
        for r in costs:
            print(f"| {r['events']:,} | {r['shape']} | "
                  + " | ".join(f"{r['breakdown'][step]:.2f}" for step in steps) + " |")
    others = [r for r in results["sizes"] if r.get("formats")]
    if others:
        print()
        print("The same logs imported as Parquet and as JSON lines (ratio to the CSV's `sqlite3` baseline):")
        print()
        print("| events | shape | format | import s (CPU s) | ratio | peak RSS MB | as many events as the CSV |")
        print("|---:|:-:|:-:|---:|---:|---:|:-:|")
        for r in others:
            for fmt, f in r["formats"].items():
                ratio = f"{f['ratio_to_sqlite3']:.2f}x" if f.get("ratio_to_sqlite3") else "-"
                print(f"| {r['events']:,} | {r['shape']} | {fmt} | {f['seconds']:.1f} ({f['cpu_seconds']:.1f}) "
                      f"| {ratio} | {f['peak_rss_mb']:.0f} | {f['same_count_as_csv']} |")
    growth = results.get("campaign_growth", [])
    if growth:
        print()
        print(f"Campaign growth (replay, 1 worker, {growth[0]['events']:,} events):")
        for c in growth:
            print(f"- {c['follow_ups']} follow-ups: {c['seconds']:.1f} s ({c['events_per_s']:,.0f} events/s, "
                  f"peak RSS {c['peak_rss_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
