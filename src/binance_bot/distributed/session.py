"""Building a SparkSession that works offline, quietly and with our Python on every worker.

Spark's defaults are made for a shared cluster with a network: a web UI, INFO logs, 200
shuffle partitions and adaptive coalescing (which folds a small sweep's shuffle into a single
partition, i.e. one core), the first ``python3`` on the PATH for the workers. Each of those
costs time or correctness here, so :func:`session_conf` sets them once for every session the
project builds. pyspark is imported inside the functions only: the core package must import
without it.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import warnings
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from binance_bot.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOOPBACK = "127.0.0.1"
_LOCAL_RE = re.compile(r"^local(\[(\*|\d+)(,\d+)?\])?$")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def quiet_pandas_warning() -> None:
    """pyspark 4.x warns on every pandas UDF that it does not fully support pandas 3; the
    UDFs we use (mapInPandas, applyInPandas) are tested with it, so the warning is noise."""
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )


def check_master(master: str) -> str:
    """Accept ``local``, ``local[N]``, ``local[*]`` and any ``scheme://`` URL Spark knows
    (``spark://``, ``yarn``, ``k8s://``); refuse typos early with the config key to fix."""
    master = master.strip()
    if _LOCAL_RE.match(master) or master == "yarn" or "://" in master:
        return master
    raise ConfigError(
        f"unknown Spark master {master!r}: use local[N], local[*], spark://host:7077, yarn or k8s://...",
        key="performance.spark_master",
    )


def local_cores(master: str) -> int | None:
    """Cores a ``local[...]`` master uses (``None`` for a cluster, where the executors decide)."""
    m = _LOCAL_RE.match(master)
    if not m:
        return None
    if m.group(2) is None:
        return 1
    if m.group(2) == "*":
        return os.cpu_count() or 1
    return int(m.group(2))


def is_loopback(master: str) -> bool:
    """True when driver and executors all run on this machine (local mode or a loopback
    standalone master), so the driver may bind to 127.0.0.1 and files may be shared by path."""
    if local_cores(master) is not None:
        return True
    m = re.match(r"^spark://([^:/]+)", master)
    return bool(m and m.group(1) in _LOOPBACK_HOSTS)


def log4j2_file() -> Path:
    """The packaged log4j2 profile (errors only) as a real file, since the JVM reads it by URL.
    When the package itself is imported from a zip (``--py-files``) the profile is copied out
    to the temporary directory first."""
    resource = resources.files("binance_bot.distributed") / "log4j2.properties"
    path = Path(str(resource))
    if path.is_file():
        return path
    try:
        text = resource.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: the packaged Spark log profile is missing") from exc
    copy = Path(tempfile.gettempdir()) / "binance-bot-spark" / f"log4j2-{os.getuid()}.properties"
    copy.parent.mkdir(parents=True, exist_ok=True)
    if not copy.is_file() or copy.read_text() != text:
        tmp = copy.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(copy)
    return copy


def session_conf(master: str, app_name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every setting :func:`build_session` applies; ``extra`` overrides any of them.

    * Arrow for every pandas conversion, without the silent (slow, lossy) fallback;
    * UI and console progress off; UTC session time zone (candle times are UTC ms);
    * adaptive coalescing off: our jobs choose their partitions deliberately (a sweep gives
      each balanced chunk its own partition, indicators one partition per symbol group);
    * on loopback masters: driver bound to 127.0.0.1 (no DNS, no outside interface), shuffle
      partitions and default parallelism equal to the local cores, and the quiet log profile
      for executors too (the file exists on this machine);
    * Python workers reused between tasks, so torch and numba are imported once per worker
      (each task then holds torch and numba to its own cores, see
      :func:`binance_bot.distributed.worker.limit_threads`).
    """
    master = check_master(master)
    log_opt = f"-Dlog4j2.configurationFile=file:{log4j2_file()}"
    conf: dict[str, str] = {
        "spark.app.name": app_name,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.adaptive.coalescePartitions.enabled": "false",
        "spark.python.worker.reuse": "true",
        "spark.driver.extraJavaOptions": log_opt,
    }
    cores = local_cores(master)
    if cores is not None:
        conf["spark.sql.shuffle.partitions"] = str(cores)
        conf["spark.default.parallelism"] = str(cores)
    if is_loopback(master):
        conf["spark.driver.host"] = LOOPBACK
        conf["spark.driver.bindAddress"] = LOOPBACK
        conf["spark.executor.extraJavaOptions"] = log_opt
    conf.update(extra or {})
    return conf


def build_session(
    master: str = "local[*]", app_name: str = "binance-bot", extra: Mapping[str, str] | None = None
) -> SparkSession:
    """A new (or the process's running) SparkSession with :func:`session_conf`.

    The workers' interpreter is this one (``PYSPARK_PYTHON`` unless already set), so they
    find the same packages; on a cluster, set ``PYSPARK_PYTHON`` to a path that exists on
    every node before calling. Settings only reach a *new* session: Spark keeps one per
    process and returns it as it is.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            "Spark is not installed: pip install 'binance-bot[spark]' (and Java 17+)",
            key="performance.use_spark",
        ) from exc
    quiet_pandas_warning()
    master = check_master(master)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if is_loopback(master):
        os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    builder = SparkSession.builder.master(master)
    for key, value in session_conf(master, app_name, extra).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # pyspark raises its own error types for a JVM that never came up
        raise ConfigError(
            f"cannot start Spark ({master}): {exc}. Spark needs Java 17+ on the PATH "
            "(binance-bot doctor checks it)",
            key="performance.spark_master",
        ) from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def default_parallelism(spark: SparkSession) -> int:
    """Task slots the session can use now (at least 1)."""
    return max(1, int(spark.sparkContext.defaultParallelism))


__all__ = [
    "LOOPBACK",
    "build_session",
    "check_master",
    "default_parallelism",
    "is_loopback",
    "local_cores",
    "log4j2_file",
    "quiet_pandas_warning",
    "session_conf",
]
