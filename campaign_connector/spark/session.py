"""Getting a SparkSession: what is missing is one line saying what to install, never a traceback.

``--master`` is ``local[*]`` by default; a cluster URL (``spark://``, ``yarn``, ``k8s://``) works the same way,
and ``sc://HOST`` connects through Spark Connect (no local Java needed then). Under ``spark-submit`` the
session already exists and is used as it is.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import TYPE_CHECKING

from campaign_connector.errors import CampaignConnectorError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: The default ``--master``.
DEFAULT_MASTER = "local[*]"

#: ``spark.sql.shuffle.partitions`` of a local session made here.
LOCAL_SHUFFLE_PARTITIONS = 8

INSTALL_SPARK = "pip install 'campaign-connector[spark]'"


class SparkUnavailable(CampaignConnectorError):
    """PySpark, pyarrow or Java is missing; the message says what to install."""


def check_requirements(master: str) -> None:
    """Raise ``SparkUnavailable`` when PySpark 4, pyarrow or (for a JVM-backed master) Java is missing."""
    try:
        import pyspark
    except ImportError:
        raise SparkUnavailable(f"spark-replay needs PySpark 4: {INSTALL_SPARK}") from None
    if int(pyspark.__version__.split(".")[0]) < 4:
        raise SparkUnavailable(f"spark-replay needs PySpark 4 (found {pyspark.__version__}): {INSTALL_SPARK}")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise SparkUnavailable(f"spark-replay needs pyarrow: {INSTALL_SPARK}") from None
    if master.startswith("sc://") or os.environ.get("SPARK_REMOTE"):
        return
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))) and shutil.which("java") is None:
        raise SparkUnavailable("spark-replay needs Java 17 or later to run Spark: install a JDK (e.g. "
                               "apt-get install openjdk-17-jre-headless) or set JAVA_HOME")


def chosen_master(master: str | None, environ: Mapping[str, str]) -> str | None:
    """The master to set on a new session: ``--master``; else none when ``spark-submit`` launched this process
    (its ``--master`` and ``--conf`` apply) or ``SPARK_REMOTE`` names a Spark Connect server; else ``local[*]``."""
    if master is not None:
        return master
    if "PYSPARK_GATEWAY_PORT" in environ or environ.get("SPARK_REMOTE"):
        return None
    return DEFAULT_MASTER


def get_session(master: str | None) -> tuple[SparkSession, bool]:
    """The active session (``spark-submit``, a notebook, a test), else a new one on ``master``; also whether it
    was created here (then the caller stops it)."""
    check_requirements(master or DEFAULT_MASTER)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    if master is not None and master.startswith("sc://"):
        return SparkSession.builder.remote(master).getOrCreate(), True
    builder = SparkSession.builder.appName("campaign-connector spark-replay")
    chosen = chosen_master(master, os.environ)
    if chosen is not None:
        builder = builder.master(chosen).config("spark.ui.showConsoleProgress", "false").config(
            "spark.log.level", "ERROR")
    if chosen is not None and chosen.startswith("local"):
        # One machine: a few shuffle partitions (Spark's 200 cost a task each for every shuffle), no web UI.
        builder = builder.config("spark.sql.shuffle.partitions", str(LOCAL_SHUFFLE_PARTITIONS)).config(
            "spark.ui.enabled", "false")
    try:
        return builder.getOrCreate(), True
    except Exception as error:  # the JVM did not start: name the cause in one line
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SparkUnavailable(f"spark-replay: Spark did not start ({first}); check Java 17+ and --master") from None
