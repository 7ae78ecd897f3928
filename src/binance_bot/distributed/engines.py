"""Choosing where ``binance-bot optimize`` and ``binance-bot backtest`` run: this machine or Spark.

The commands keep their own logic (loading, reporting); this module only hands them an engine
with the interface they already use. ``local`` is the backtest package's process pool;
``spark`` starts (or borrows) a session on the master the flag or ``performance.spark_master``
names, and stops a session it started when the command is done.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from binance_bot.backtest.data import DataRef
from binance_bot.backtest.market import SymbolData
from binance_bot.backtest.run import BacktestResult
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.config import BotConfig
from binance_bot.errors import ConfigError
from binance_bot.strategy.base import Strategy

SWEEP_ENGINES = ("local", "spark")


def engine_name(engine: str | None, config: BotConfig) -> str:
    """The engine flag, or ``spark`` when the configuration says ``performance.use_spark``."""
    if engine is None:
        return "spark" if config.performance.use_spark else "local"
    return engine


def master_of(spark_master: str | None, config: BotConfig) -> str:
    """``--spark-master``, else ``performance.spark_master``."""
    return spark_master or config.performance.spark_master


@contextmanager
def sweep_engine(engine: str, workers: int | None, master: str) -> Iterator[Any]:
    """An engine for :func:`binance_bot.backtest.optimize.optimize`, alive inside the block."""
    if engine == "local":
        from binance_bot.backtest.optimize import LocalEngine

        yield LocalEngine(workers)
        return
    if engine != "spark":
        raise ConfigError(f"--engine must be one of {', '.join(SWEEP_ENGINES)}, got {engine!r}", key="engine")
    from binance_bot.distributed.processor import spark_engine

    with spark_engine(master) as runner:
        yield runner


def spark_backtest(
    refs: Sequence[DataRef],
    strategy: Strategy,
    spec: BacktestSpec,
    *,
    master: str,
    datas: Sequence[SymbolData] = (),
) -> BacktestResult:
    """``binance-bot backtest --engine spark``: the fast engine, one Spark task per symbol."""
    from binance_bot.distributed.processor import SparkProcessor

    with SparkProcessor("binance-bot backtest", master) as processor:
        return processor.backtest(refs, strategy, spec, engine="fast", datas=datas)


__all__ = ["SWEEP_ENGINES", "engine_name", "master_of", "spark_backtest", "sweep_engine"]
