"""A real Spark standalone cluster on 127.0.0.1: master and worker from pyspark's own jars.

The sweep is submitted the way it is on a real cluster: ``spark-submit --master spark://...
--py-files binance_bot-<hash>.zip submit.py ...``. Executors run in their own JVMs, started by
the worker, with Python workers that import the project from the shipped zip; they read the
candles by path and write the results as Parquet. The results must equal the local engine's
metric for metric. The cluster is stopped whatever happens, and no process of it survives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from tests.integration.distributed.conftest import INTERVAL, SYMBOLS, spark_available

from binance_bot.backtest.optimize import LocalEngine, parse_grid, split_windows
from binance_bot.data.synthetic import parse_start
from binance_bot.distributed import SparkProcessor, StandaloneCluster, package_zip, results_table
from binance_bot.distributed import submit as submit_module
from binance_bot.distributed.cluster import spark_home
from binance_bot.distributed.session import LOOPBACK, log4j2_file

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:DeprecationWarning"),
]

GRID = "fast=5|8|13|21,slow=13|34"
FROM, TO = "2024-01-12", "2024-02-22"


def _processes_in(folder: Path) -> list[int]:
    """Processes whose working directory lies in ``folder`` (the worker runs executors there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(str(folder)):
            found.append(int(entry.name))
    return found


def _completed_apps(cluster: StandaloneCluster, wait: float = 30.0) -> list[dict[str, object]]:
    """The master's finished applications (it learns of an application's end asynchronously)."""
    deadline = time.monotonic() + wait
    while True:
        apps = cluster.state()["completedapps"]
        assert isinstance(apps, list)
        if apps or time.monotonic() > deadline:
            return apps
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_sweep_submitted_to_a_standalone_cluster_equals_the_local_engine(
    candle_store: Path, tmp_path: Path
) -> None:
    reason = spark_available()
    if reason:
        pytest.skip(reason)
    code = package_zip(tmp_path / "ship")
    out = tmp_path / "out"
    work = tmp_path / "cluster"
    args = [
        "--strategy", "sma_cross", "--grid", GRID, "--symbols", ",".join(SYMBOLS),
        "--interval", INTERVAL, "--set", "trading.trend_interval=4h", "--data", str(candle_store),
        "--from", FROM, "--to", TO, "--split", "0.6", "--batch", "4", "--out", str(out),
    ]  # fmt: skip
    env = dict(os.environ)
    env.update(
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        SPARK_LOCAL_IP=LOOPBACK,
        SPARK_HOME=str(spark_home()),
    )
    with StandaloneCluster(cores=2, memory="1g", work_dir=work) as cluster:
        pids = cluster.pids()
        assert cluster.alive_cores() == 2
        assert cluster.master_url.startswith(f"spark://{LOOPBACK}:")
        submit = subprocess.run(
            [
                str(spark_home() / "bin" / "spark-submit"),
                "--master",
                cluster.master_url,
                "--py-files",
                str(code),
                "--conf",
                f"spark.driver.host={LOOPBACK}",
                "--conf",
                f"spark.driver.bindAddress={LOOPBACK}",
                "--conf",
                "spark.executor.memory=768m",
                "--driver-java-options",
                f"-Dlog4j2.configurationFile=file:{log4j2_file()}",
                str(submit_module.__file__),
                *args,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=480,
            cwd=tmp_path,
        )
        assert submit.returncode == 0, (submit.stdout[-3000:], submit.stderr[-3000:])
        apps = _completed_apps(cluster)
        assert [(a["name"], a["state"]) for a in apps] == [("binance-bot sweep", "FINISHED")]
    # stopped: the master, the worker and every executor are gone
    assert not any(_alive(pid) for pid in pids.values())
    assert _processes_in(work) == []

    summary = json.loads((out / "summary.json").read_text())
    assert summary["master"] == cluster.master_url
    assert summary["slots"] == 2
    assert summary["tasks"] == 8 * len(SYMBOLS)
    # the executors imported the project from the zip spark-submit shipped, not from this checkout
    assert summary["executor_code"]
    assert all(f"{code.name}/binance_bot/__init__.py" in p for p in summary["executor_code"])

    got = pd.read_parquet(out / "results.parquet")
    start, end = parse_start(FROM), parse_start(TO)
    from binance_bot.backtest.spec import BacktestSpec
    from binance_bot.config import load_config

    config = load_config(
        overrides={"trading": {"interval": INTERVAL, "trend_interval": "4h"}},
        environ={},
        use_default_file=False,
    ).config
    tasks = SparkProcessor.tasks(
        "sma_cross",
        parse_grid(GRID),
        SYMBOLS,
        interval=INTERVAL,
        data=candle_store,
        start_ms=start,
        end_ms=end,
        windows=list(split_windows(start, end, 0.6)),
        spec=BacktestSpec(config),
    )
    local = results_table(LocalEngine(workers=1).map(tasks))
    assert len(got) == len(local) > 0
    assert set(got["window"].dropna()) == {"in_sample", "out_of_sample"}
    keys = ["task_id", "window"]
    got = got.sort_values(keys, kind="stable").reset_index(drop=True)
    local = local.sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, local[list(got.columns)], check_exact=True, check_dtype=False)
