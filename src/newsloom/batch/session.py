"""Start (or reuse) the SparkSession a batch job runs on.

pyspark is an optional dependency (the ``spark`` extra) and needs a Java
runtime; both are checked here so the CLI can say what is missing instead of
failing inside py4j.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from typing import TYPE_CHECKING

from newsloom.errors import ConfigError
from newsloom.features.embed import THREADS_ENV

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["DEFAULT_MASTER", "spark_available", "spark_session"]

DEFAULT_MASTER = "local[*]"


def spark_available() -> str | None:
    """None when pyspark and Java are there, else what is missing."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed: pip install 'newsloom[spark]'"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))) and not (
        shutil.which("java")
    ):
        return "Spark needs a Java runtime (17+): install one or set JAVA_HOME"
    return None


def spark_session(
    master: str | None = None, *, partitions: int | None = None, app_name: str = "newsloom batch"
) -> SparkSession:
    """The active session, or a new one on ``master`` (``local[*]`` by default).

    Under ``spark-submit`` the master comes from the command line and
    ``master`` should be None; a session that already exists is reused as is
    (tests share one).  ``partitions`` sets the default parallelism and the
    shuffle width.
    """
    missing = spark_available()
    if missing:
        raise ConfigError(missing)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName(app_name)
    # Under spark-submit the launcher already chose the master.
    submitted = os.environ.get("PYSPARK_GATEWAY_PORT") or os.environ.get("SPARK_ENV_LOADED")
    if master or not submitted:
        chosen = master or DEFAULT_MASTER
        builder = builder.master(chosen)
        if chosen.startswith("local") and not os.environ.get("PYSPARK_PYTHON"):
            # Local workers must run this interpreter (the one newsloom is
            # installed in), not whatever "python3" is first on PATH.
            # (The spark.pyspark.python setting is not honoured by local workers.)
            os.environ["PYSPARK_PYTHON"] = sys.executable
        if chosen.startswith("local"):
            # Local workers inherit this process's environment: one inference
            # thread per task, since Spark already runs a task per core.
            os.environ.setdefault(THREADS_ENV, "1")
    if partitions:
        builder = builder.config("spark.default.parallelism", str(partitions))
    builder = builder.config(f"spark.executorEnv.{THREADS_ENV}", "1")
    builder = builder.config("spark.ui.showConsoleProgress", "false").config(
        # Python workers keep their models (embedder, spaCy) between tasks.
        "spark.python.worker.reuse",
        "true",
    )
    session = builder.getOrCreate()
    # Spark's default of 200 shuffle partitions costs more than it gives on
    # small clusters; without --partitions, one per core.
    width = partitions or session.sparkContext.defaultParallelism
    session.conf.set("spark.sql.shuffle.partitions", str(width))
    session.sparkContext.setLogLevel("ERROR")
    return session
