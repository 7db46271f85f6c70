"""``spark-replay``: the same normaliser and engine on Apache Spark, for logs beyond one machine (SPEC §5.1).

Optional (``pip install 'campaign-connector[spark]'``): nothing imports this package unless the command runs,
and this module imports PySpark and pyarrow only once ``session.check_requirements`` has found them.

- ``session``: the SparkSession (local, a cluster URL, Spark Connect, or the one ``spark-submit`` made).
- ``normalise``: input files → normalised Arrow batches, with ``import``'s readers and rules (Spark tasks).
- ``steps``: the per-user engine pass and the cross-user rules, as ``mapInArrow`` functions.
- ``run``: the driver, from the inputs to the run folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from campaign_connector.model import Config

if TYPE_CHECKING:
    from campaign_connector.spark.run import SparkRun


def replay_on_spark(config: Config, inputs: Sequence[str], output: str, *, users: str | None = None,
                    format: str = "auto", until: int | None = None, name: str | None = None,
                    master: str | None = None, skip_invalid: bool = False, user_key: str = "user_id") -> SparkRun:
    """``spark-replay``: get a session (the active one, else a new one on ``master``), replay, write the run
    folder ``output``; a session made here is stopped afterwards."""
    from campaign_connector.spark.session import get_session

    spark, created = get_session(master)
    try:
        from campaign_connector.spark.run import spark_replay

        return spark_replay(spark, config, inputs, output, users=users, format=format, until=until, name=name,
                            skip_invalid=skip_invalid, user_key=user_key, master=master)
    finally:
        if created:
            spark.stop()
