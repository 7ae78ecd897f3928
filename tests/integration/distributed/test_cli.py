"""``binance-bot optimize`` and ``binance-bot backtest`` with ``--engine spark`` write what the
local engines write. The commands borrow the test session's running ``local[2]`` context (Spark
keeps one per process), exactly as they would start their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from binance_bot.cli.main import app
from binance_bot.distributed import SparkProcessor

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:DeprecationWarning"),
]

runner = CliRunner()
COMMON = ("--symbols", "BTCUSDT,ETHUSDT", "--interval", "1h", "--trend-interval", "4h")
PERIOD = ("--from", "2024-01-12", "--to", "2024-02-25")


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def result_of(folder: Path) -> dict[str, Any]:
    payload = json.loads((folder / "result.json").read_text())
    payload.pop("command")
    return payload


def test_optimize_on_spark_writes_the_local_result(
    spark_processor: SparkProcessor, candle_store: Path, tmp_path: Path
) -> None:
    grid = ("--strategy", "sma_cross", "--grid", "fast=5|8|13,slow=21|34", "--walk-forward", "2")
    data = ("--data", str(candle_store))
    out = {}
    for engine in ("local", "spark"):
        extra = ("--spark-master", "local[2]") if engine == "spark" else ("--workers", "2")
        invoke(
            "optimize",
            *grid,
            *COMMON,
            *PERIOD,
            *data,
            "--engine",
            engine,
            *extra,
            "--out",
            str(tmp_path / engine),
        )
        out[engine] = result_of(tmp_path / engine)
    assert out["spark"] == out["local"]
    assert out["spark"]["evaluated"] == 6 and len(out["spark"]["folds"]) == 2
    assert spark_processor.spark.range(2).count() == 2  # the borrowed session is still running


def test_backtest_on_spark_writes_the_fast_engines_result(
    spark_processor: SparkProcessor, candle_store: Path, tmp_path: Path
) -> None:
    args = ("backtest", "--strategy", "ema_trend", *COMMON, *PERIOD, "--data", str(candle_store), "--no-html")
    invoke(*args, "--engine", "fast", "--out", str(tmp_path / "fast"))
    invoke(*args, "--engine", "spark", "--spark-master", "local[2]", "--out", str(tmp_path / "spark"))
    fast, spark = result_of(tmp_path / "fast"), result_of(tmp_path / "spark")
    assert spark == fast
    assert {s["symbol"] for s in spark["symbols"]} == {"BTCUSDT", "ETHUSDT"}


def test_the_configuration_can_choose_spark(
    spark_processor: SparkProcessor, candle_store: Path, tmp_path: Path
) -> None:
    invoke(
        "--set", "performance.use_spark=true", "--set", "performance.spark_master=local[2]",
        "optimize", "--strategy", "sma_cross", "--grid", "fast=5,slow=21|34", *COMMON, *PERIOD,
        "--data", str(candle_store), "--out", str(tmp_path),
    )  # fmt: skip
    assert result_of(tmp_path)["evaluated"] == 2


def test_an_unknown_engine_is_a_configuration_error(tmp_path: Path) -> None:
    from binance_bot.errors import ConfigError

    result = runner.invoke(
        app, ["optimize", "--grid", "fast=5,slow=20", "--engine", "dask", "--out", str(tmp_path)]
    )
    assert isinstance(result.exception, ConfigError)
    assert result.exception.key == "engine"
    assert "--engine must be local or spark, got 'dask'" in str(result.exception)
