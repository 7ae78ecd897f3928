"""Session settings: offline, quiet, our interpreter, partitions chosen by us (no JVM here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from binance_bot.distributed.session import (
    LOOPBACK,
    check_master,
    is_loopback,
    local_cores,
    log4j2_file,
    session_conf,
)
from binance_bot.errors import ConfigError


@pytest.mark.parametrize(
    ("master", "cores"),
    [("local", 1), ("local[3]", 3), ("local[2,4]", 2), ("spark://10.0.0.5:7077", None), ("yarn", None)],
)
def test_local_cores(master: str, cores: int | None) -> None:
    assert local_cores(master) == cores


def test_local_star_uses_every_core() -> None:
    import os

    assert local_cores("local[*]") == (os.cpu_count() or 1)


@pytest.mark.parametrize("master", ["localhost", "local[x]", "spark:/host", "", "mesos"])
def test_masters_that_spark_would_not_understand_are_refused(master: str) -> None:
    with pytest.raises(ConfigError) as exc:
        check_master(master)
    assert exc.value.key == "performance.spark_master"


@pytest.mark.parametrize(
    ("master", "loopback"),
    [
        ("local[2]", True),
        ("spark://127.0.0.1:7077", True),
        ("spark://localhost:7077", True),
        ("spark://10.1.2.3:7077", False),
        ("k8s://https://api:6443", False),
        ("yarn", False),
    ],
)
def test_loopback_masters(master: str, loopback: bool) -> None:
    assert is_loopback(master) is loopback


def test_local_settings_are_offline_and_quiet() -> None:
    conf = session_conf("local[2]", "app")
    assert conf["spark.app.name"] == "app"
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.ui.showConsoleProgress"] == "false"
    assert conf["spark.driver.host"] == LOOPBACK
    assert conf["spark.driver.bindAddress"] == LOOPBACK
    assert conf["spark.sql.execution.arrow.pyspark.enabled"] == "true"
    assert conf["spark.sql.execution.arrow.pyspark.fallback.enabled"] == "false"
    assert conf["spark.sql.adaptive.coalescePartitions.enabled"] == "false"
    assert conf["spark.sql.shuffle.partitions"] == "2"
    assert conf["spark.default.parallelism"] == "2"
    assert conf["spark.python.worker.reuse"] == "true"
    assert conf["spark.driver.extraJavaOptions"] == f"-Dlog4j2.configurationFile=file:{log4j2_file()}"
    assert not any("jars.packages" in k for k in conf)


def test_a_remote_cluster_keeps_its_own_driver_address_and_partitions() -> None:
    conf = session_conf("spark://10.1.2.3:7077", "app")
    assert "spark.driver.host" not in conf
    assert "spark.driver.bindAddress" not in conf
    assert "spark.sql.shuffle.partitions" not in conf
    # the log profile is a path on this machine: executors elsewhere do not have it
    assert "spark.executor.extraJavaOptions" not in conf


def test_extra_settings_win() -> None:
    conf = session_conf("local[2]", "app", {"spark.sql.shuffle.partitions": "7", "spark.x": "y"})
    assert conf["spark.sql.shuffle.partitions"] == "7"
    assert conf["spark.x"] == "y"


def test_the_log_profile_is_shipped_with_the_package() -> None:
    path = log4j2_file()
    assert isinstance(path, Path)
    text = path.read_text()
    assert "rootLogger.level = error" in text
    assert "PythonGatewayServer" in text
