"""The driver of ``spark-replay`` (SPEC §5.1): inputs → Spark → a run folder.

1. The inputs (files, folders walked in sorted path order, object-store URLs) become a list of files; each
   file is one task that reads and normalises it with ``import``'s code (``spark.normalise``). Bad rows stop
   the run before anything is written, unless ``skip_invalid``.
2. Duplicate ids are dropped as ``import`` drops them: the first in import order (file, then row) wins.
3. The horizon is ``until``, else the last event time of the whole input; events after it are left out.
4. The users file is normalised the same way (the last row of a user wins) and joined to the events.
5. ``repartitionByRange`` on user_id, then ``sortWithinPartitions`` by (user_id, time, file, row), then
   ``mapInArrow`` runs the engine user by user (``spark.steps.engine_pass``). Range partitions are user_id
   ranges in order, so ``seq`` — the decision's place in (user_id, engine order), as the SQLite replay
   numbers it — is the decisions of the partitions before it plus its index in its own.
6. ``max_recipients`` and ``rate_limit`` run per campaign over its ``sent`` decisions in
   (sent_at, user_id, seq) order (``engine.crossuser``, as the SQLite replay); a send they suppress loses its
   conversions.
7. ``DIR/decisions/`` and ``DIR/conversions/`` (Parquet, each file in ``seq`` order; readers sort),
   ``DIR/rejects/`` (JSON lines, with ``skip_invalid``) and ``DIR/run.json`` are written into a staging folder
   next to ``DIR`` that is renamed to ``DIR`` at the end, so a failed run leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campaign_connector import ENGINE_VERSION
from campaign_connector.errors import InputError
from campaign_connector.importer import SHOWN_BAD_ROWS, unknown_warning
from campaign_connector.inputs import check_file, reader_kind
from campaign_connector.inputs.currents import check_user_key
from campaign_connector.inputs.sources import (
    EVENT_FILE_NAMES,
    event_type_in_path,
    folder_files,
    store_files,
    url_scheme,
)
from campaign_connector.model import Config
from campaign_connector.replay import tally_counts
from campaign_connector.spark import normalise, steps
from campaign_connector.store.runfolder import CONVERSIONS, DECISIONS, RUN_JSON, TIME_COLUMNS
from campaign_connector.timeutil import format_time
from campaign_connector.vocabulary import DECISION_FIELDS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: The run folder's folder of rejected rows (its other parts are named in ``store.runfolder``).
REJECTS = "rejects"

#: Columns of ``DIR/decisions/``: ``seq``, then SPEC §4.2's fields in order (times as UTC timestamps).
DECISION_COLUMNS: tuple[str, ...] = ("seq", *DECISION_FIELDS)
#: Columns of ``DIR/conversions/``.
CONVERSION_COLUMNS: tuple[str, ...] = (
    "run", "user_id", "campaign", "conversion_index", "time", "event_id", "decision_seq", "control",
)
#: Events per partition of the engine pass (at least one partition per core, at most
#: ``spark.sql.shuffle.partitions`` partitions).
EVENTS_PER_PARTITION = 100_000

_SKIP_INVALID_FIX = ("fix them, or use --skip-invalid to replay the good rows and write the bad ones to "
                     "DIR/rejects/")


@dataclass(frozen=True)
class SparkRun:
    """What ``spark_replay`` wrote."""

    output: str
    """The run folder."""
    manifest: dict[str, Any]
    """``run.json``'s content."""
    warnings: tuple[str, ...] = ()
    """Things worth saying that did not stop the run (unknown columns)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage (read, replay, write)."""

    def summary_lines(self) -> list[str]:
        """The run's summary as plain lines for stderr."""
        m = self.manifest
        read = m["read"]
        lines = [f"Read {read['rows']:,} events from {len(m['files'])} file(s): {read['duplicates']:,} duplicates "
                 f"skipped, {read['rejected']:,} rejected.",
                 f"Replayed {m['events']:,} events of {m['users']:,} users up to {m['options']['until'] or '-'}: "
                 f"{m['decisions']:,} decisions in {sum(self.timings.values()):.1f} s; run {m['name']!r} "
                 f"written to {self.output}"]
        if read["no_user"]:
            lines.append(f"{read['no_user']:,} records without a user skipped.")
        lines += [f"Warning: {warning}" for warning in self.warnings]
        if read["rejected"]:
            lines.append(f"Bad rows written to {self.output}/{REJECTS}/")
        return lines


def expand_inputs(paths: Sequence[str], format: str) -> list[tuple[str, str, str | None]]:
    """The input files as (name, reader kind, event type of its path), in the order given: a folder gives its
    event files in sorted path order and an object-store prefix its objects, as ``import`` expands them
    (``inputs.sources``), but listed only: the Spark tasks read them."""
    files: list[tuple[str, str, str | None]] = []
    for given in paths:
        if given == "-":
            raise InputError("-: spark-replay cannot read standard input (give files, folders or URLs)")
        if url_scheme(given) is not None:
            _, objects, _ = store_files(given)
            if not objects:
                raise InputError(f"{given}: no event files under this prefix")
            names = [name for name, _ in objects]
        elif Path(given).is_dir():
            found, skipped = folder_files(Path(given))
            if not found:
                raise InputError(f"{given}: no event files in this folder ({skipped} other files; event files end "
                                 f"in {EVENT_FILE_NAMES})")
            names = [str(path) for path in found]
        else:
            check_file(Path(given))
            names = [given]
        for name in names:
            event_type = event_type_in_path(name)
            kind = reader_kind(Path(name.rsplit("/", 1)[-1]), format, name, currents_path=event_type is not None)
            files.append((name, kind, event_type))
    if not files:
        raise InputError("no inputs (give one or more event logs or folders)")
    return files


def _bad_rows_error(total: int, rows: list[Any], head: str) -> InputError:
    lines = [f"{row['name']}:{row['line']}: {row['reason']}" for row in rows]
    if total > len(rows):
        lines.append(f"and {total - len(rows)} more")
    return InputError("\n".join([head, *lines]))


def _output_target(output: str) -> tuple[Path, Path]:
    """The run folder and the staging folder it is written in first; the run folder must not exist yet."""
    target = Path(output)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"--output {output}: already exists (remove it, or give a new folder)")
    if not target.parent.exists():
        raise InputError(f"--output {output}: folder {target.parent} does not exist")
    return target, target.parent / f".{target.name}.partial-{os.getpid()}"


def spark_replay(
    spark: SparkSession,
    config: Config,
    inputs: Sequence[str],
    output: str,
    *,
    users: str | None = None,
    format: str = "auto",
    until: int | None = None,
    name: str | None = None,
    skip_invalid: bool = False,
    user_key: str = "user_id",
    master: str | None = None,
) -> SparkRun:
    """Replay ``inputs`` through ``config`` on ``spark`` and write the run folder ``output`` (SPEC §5.1).

    Raises ``InputError`` for unreadable inputs, bad rows (unless ``skip_invalid``) or an existing ``output``;
    nothing is written then.
    """
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    started = clock.perf_counter()
    check_user_key(user_key)
    target, staging = _output_target(output)
    files = expand_inputs(inputs, format)
    users_kind = None
    if users is not None:
        if url_scheme(users) is None:
            check_file(Path(users))
        users_kind = reader_kind(Path(users.rsplit("/", 1)[-1]), "auto" if format in ("currents", "parquet")
                                 else format, users)
        if users_kind not in ("csv", "jsonl"):
            raise InputError(f"--users {users}: a users file is CSV or JSON lines")
    timings: dict[str, float] = {}

    # 1. Read and normalise, one task per file; the users file likewise. One job counts what was read.
    listing = spark.createDataFrame([(i, *file) for i, file in enumerate(files)],
                                    "file int, name string, kind string, event_type string"
                                    ).repartition(len(files), "file")
    read = (listing.mapInArrow(_read_files(user_key), _schema(normalise.EVENTS_SCHEMA))
            .persist(StorageLevel.MEMORY_AND_DISK))
    kinds = read.select(F.lit(0).alias("users"), "kind", "file", "time", "line", "reason")
    users_df = None
    if users is not None:
        users_df = (spark.createDataFrame([(users, users_kind)], "name string, kind string")
                    .mapInArrow(_read_users, _schema(normalise.USERS_SCHEMA)).persist(StorageLevel.MEMORY_AND_DISK))
        kinds = kinds.unionByName(users_df.select(F.lit(1).alias("users"), "kind", F.lit(0).alias("file"),
                                                  F.lit(None).cast("long").alias("time"), "line", "reason"))
    tallies = {(r["users"], r["kind"]): r for r in kinds.groupBy("users", "kind").agg(
        F.count(F.lit(1)).alias("n"), F.max("time").alias("last"), F.sum("line").alias("lines"),
        F.min(F.struct("file", "reason")).alias("first"), F.collect_set("reason").alias("reasons")).collect()}

    def tally(users_side: int, kind: int) -> int:
        row = tallies.get((users_side, kind))
        return int(row["n"]) if row is not None else 0

    try:
        for side in (0, 1):
            if tally(side, normalise.FAILED):
                raise InputError(tallies[side, normalise.FAILED]["first"]["reason"])
        bad_total, bad_users = tally(0, normalise.BAD), tally(1, normalise.BAD)
        if (bad_total or bad_users) and not skip_invalid:
            shown = read.filter(F.col("kind") == normalise.BAD).orderBy("file", "line").limit(SHOWN_BAD_ROWS).collect()
            if bad_users and users_df is not None:
                shown += users_df.filter(F.col("kind") == normalise.BAD).orderBy("line").limit(SHOWN_BAD_ROWS).collect()
            total = bad_total + bad_users
            raise _bad_rows_error(total, shown[:SHOWN_BAD_ROWS],
                                  f"{total} bad {'row' if total == 1 else 'rows'}; nothing was written "
                                  f"({_SKIP_INVALID_FIX}):")
    except InputError:
        read.unpersist()
        if users_df is not None:
            users_df.unpersist()
        raise
    unknown = set(tallies[0, normalise.UNKNOWN_COLUMN]["reasons"]) if tally(0, normalise.UNKNOWN_COLUMN) else set()
    read_rows = tally(0, normalise.EVENT)
    no_user = int(tallies[0, normalise.NO_USER]["lines"]) if tally(0, normalise.NO_USER) else 0
    timings["read"] = clock.perf_counter() - started

    # 2. Duplicate ids: the first in import order wins. 4. The users file's last row of a user wins.
    first = Window.partitionBy("id").orderBy("file", "row")
    timeline = (read.filter(F.col("kind") == normalise.EVENT).withColumn("_first", F.row_number().over(first))
                .filter("_first = 1").drop("_first", "kind", "line", "reason", "raw", "name"))
    if users_df is not None:
        last = Window.partitionBy("user_id").orderBy(F.col("line").desc())
        profiles = (users_df.filter(F.col("kind") == normalise.EVENT)
                    .withColumn("_last", F.row_number().over(last)).filter("_last = 1")
                    .select("user_id", F.lit(True).alias("u_present"), "u_timezone", "u_gcg", "u_unsubscribed",
                            "u_attributes"))
        timeline = timeline.join(profiles, "user_id", "left").withColumn(
            "u_present", F.coalesce(F.col("u_present"), F.lit(False)))
    else:
        timeline = (timeline.withColumn("u_present", F.lit(False)).withColumn("u_timezone", F.lit(None).cast("string"))
                    .withColumn("u_gcg", F.lit(None).cast("tinyint"))
                    .withColumn("u_unsubscribed", F.lit(None).cast("string"))
                    .withColumn("u_attributes", F.lit(None).cast("string")))

    # 3, 5. The horizon; range partitions of user_id, each sorted, through the engine. The horizon is the last
    # time of every good row; should duplicates have dropped that row, the engine pass runs again with the
    # last time of the rows kept (what `import` + `replay` see).
    partitions = max(_cores(spark), min(int(spark.conf.get("spark.sql.shuffle.partitions") or 1),
                                        -(-read_rows // EVENTS_PER_PARTITION)))
    engine_started = clock.perf_counter()
    sorted_timeline = (timeline.repartitionByRange(partitions, "user_id")
                       .sortWithinPartitions("user_id", "time", "file", "row").select(*steps.IN_COLUMNS))
    horizon = until if until is not None else (tallies[0, normalise.EVENT]["last"] if read_rows else None)
    while True:
        replayed = (sorted_timeline.mapInArrow(steps.engine_pass(config.text, config.path, horizon),
                                               _schema(steps.OUT_SCHEMA))
                    .persist(StorageLevel.MEMORY_AND_DISK))
        parts = (replayed.filter(F.col("kind") == steps.TALLY).select("part", "idx", "users", "events", "time",
                                                                       "n").orderBy("part").collect())
        kept_last = max((row["time"] for row in parts if row["time"] is not None), default=None)
        if until is not None or kept_last == horizon:
            break
        replayed.unpersist()
        horizon = kept_last
    base, seq_base = [], 0
    for row in parts:
        base.append((row["part"], seq_base))
        seq_base += row["idx"]
    replayed_users = sum(row["users"] for row in parts)
    replayed_events = sum(row["events"] for row in parts)
    duplicates = read_rows - sum(row["n"] for row in parts)
    bases = F.broadcast(spark.createDataFrame(base or [(0, 0)], "part int, base long"))
    with_base = replayed.join(bases, "part")
    decisions = (with_base.filter(F.col("kind") == steps.DECISION)
                 .withColumn("seq", F.col("base") + F.col("idx")))
    conversions = (with_base.filter(F.col("kind") == steps.CONVERSION)
                   .withColumn("decision_seq", F.col("base") + F.col("idx")))

    # 6. Cross-user rules.
    limits = {c.id: (c.max_recipients, c.rate_limit_per_minute) for c in config.campaigns
              if c.max_recipients is not None or c.rate_limit_per_minute is not None}
    if limits:
        sends = (decisions.filter((F.col("status") == "sent") & F.col("campaign").isin(list(limits)))
                 .select("campaign", "seq", "user_id", "sent_at", "detail")
                 .repartition("campaign").sortWithinPartitions("campaign", "sent_at", "user_id", "seq"))
        changes = sends.mapInArrow(steps.cross_user_pass(limits, horizon), _schema(steps.CHANGES_SCHEMA))
        decisions = (decisions.join(changes, "seq", "left")
                     .withColumn("status", F.coalesce("new_status", "status"))
                     .withColumn("reason", F.when(F.col("new_status").isNotNull(), F.col("new_reason"))
                                 .otherwise(F.col("reason")))
                     .withColumn("sent_at", F.when(F.col("new_status").isNotNull(), F.col("new_sent_at"))
                                 .otherwise(F.col("sent_at")))
                     .withColumn("detail", F.coalesce("new_detail", "detail")))
        dropped = decisions.filter(F.col("new_status") != "sent").select(F.col("seq").alias("decision_seq"))
        conversions = conversions.join(dropped, "decision_seq", "left_anti")
    decisions = decisions.persist(StorageLevel.MEMORY_AND_DISK)
    conversions = conversions.persist(StorageLevel.MEMORY_AND_DISK)
    counted = decisions.select(F.lit(0).alias("conversion"), "campaign", "status", "reason").unionByName(
        conversions.select(F.lit(1).alias("conversion"), "campaign", F.col("control").cast("string").alias("status"),
                           F.lit(None).cast("string").alias("reason")))
    statuses: dict[tuple[str, str, str | None], int] = {}
    converted: dict[tuple[str, int], int] = {}
    for r in counted.groupBy("conversion", "campaign", "status", "reason").agg(F.count(F.lit(1)).alias("n")).collect():
        if r["conversion"]:
            converted[r["campaign"], int(r["status"] == "true")] = r["n"]
        else:
            statuses[r["campaign"], r["status"], r["reason"]] = r["n"]
    timings["replay"] = clock.perf_counter() - engine_started

    # 7. Write the run folder (staged, then renamed into place).
    write_started = clock.perf_counter()
    run_name = name or target.name
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MILLIS")

    def timestamps(df: DataFrame, columns: Sequence[str]) -> DataFrame:
        for column in columns:
            if column in TIME_COLUMNS:
                df = df.withColumn(column, F.timestamp_millis(F.col(column)))
        return df

    try:
        decisions_out = timestamps(decisions.withColumn("run", F.lit(run_name)), DECISION_COLUMNS)
        (decisions_out.select(*DECISION_COLUMNS).sortWithinPartitions("seq")
         .write.mode("errorifexists").parquet(str(staging / DECISIONS)))
        conversions_out = timestamps(conversions.withColumn("run", F.lit(run_name)), CONVERSION_COLUMNS)
        (conversions_out.sortWithinPartitions("part", "n").select(*CONVERSION_COLUMNS)
         .write.mode("errorifexists").parquet(str(staging / CONVERSIONS)))
        if skip_invalid and (bad_total or bad_users):
            rejects = read.filter(F.col("kind") == normalise.BAD).select(
                F.col("name").alias("source"), "line", "reason", "raw", F.col("file").alias("_order"))
            if bad_users and users_df is not None:
                rejects = rejects.unionByName(users_df.filter(F.col("kind") == normalise.BAD).select(
                    F.col("name").alias("source"), "line", "reason", "raw", F.lit(len(files)).alias("_order")))
            (rejects.orderBy("_order", "line").select(F.col("source").alias("file"), "line", "reason", "raw")
             .coalesce(1).write.mode("errorifexists").json(str(staging / REJECTS)))
        counts = tally_counts(config, statuses, converted)
        manifest = {
            "name": run_name,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "config_path": config.path,
            "config_text": config.text,
            "config_hash": config.sha256 or hashlib.sha256(config.text.encode()).hexdigest(),
            "engine_version": ENGINE_VERSION,
            "inputs": list(inputs),
            "files": [name for name, _, _ in files],
            "users_file": users,
            "until": horizon,
            "options": {
                "until": format_time(horizon),
                "until_given": until is not None,
                "format": format,
                "skip_invalid": skip_invalid,
                "user_key": user_key,
                "master": master or spark.conf.get("spark.master", None),
                "partitions": partitions,
            },
            "read": {"rows": read_rows, "duplicates": duplicates, "rejected": bad_total + bad_users,
                     "no_user": no_user},
            "events": replayed_events,
            "users": replayed_users,
            "decisions": seq_base,
            "counts": counts,
            "seconds": round(clock.perf_counter() - started, 3),
        }
        (staging / RUN_JSON).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        for frame in (read, users_df, replayed, decisions, conversions):
            if frame is not None:
                frame.unpersist()
    timings["write"] = clock.perf_counter() - write_started
    return SparkRun(str(target), manifest, unknown_warning(unknown), timings)


def _cores(spark: SparkSession) -> int:
    """The cores Spark runs tasks on (1 when the session does not say: Spark Connect)."""
    try:
        return max(1, int(spark.sparkContext.defaultParallelism))
    except Exception:  # Spark Connect has no SparkContext
        return 1


def _schema(schema: Any) -> Any:
    """An Arrow schema as the Spark schema ``mapInArrow`` wants."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _read_files(user_key: str) -> Any:
    def run(batches: Any) -> Any:
        columns = ("file", "name", "kind", "event_type")
        for batch in batches:
            for file_index, name, kind, event_type in zip(*(batch.column(c).to_pylist() for c in columns),
                                                          strict=True):
                yield from normalise.read_events(file_index, name, kind, user_key, event_type)

    return run


def _read_users(batches: Any) -> Any:
    for batch in batches:
        for name, kind in zip(batch.column("name").to_pylist(), batch.column("kind").to_pylist(), strict=True):
            yield from normalise.read_users(name, kind)
