"""What runs inside Spark's Python workers: the project's own code, called on pandas frames.

These functions hold no Spark logic. They receive the pandas frames ``mapInPandas`` and
``applyInPandas`` hand them, call the batched backtest core
(:func:`binance_bot.backtest.sweep.run_batch`) or the indicator facade, and return pandas
frames. Each worker reads its candles itself, by the path in the task's recipe, so candle data
never passes through the driver.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import pandas as pd

from binance_bot.backtest.data import DataRef
from binance_bot.backtest.result import SymbolRun
from binance_bot.backtest.run import backtest
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.backtest.sweep import run_batch
from binance_bot.distributed.rows import Context, params_json, results_frame, tasks_from_frame
from binance_bot.indicators import TechnicalIndicators
from binance_bot.indicators.batch import IndicatorSet
from binance_bot.strategy.base import Strategy


def task_cpus() -> int:
    """Cores Spark granted this task (``spark.task.cpus``), 1 outside a task."""
    try:
        from pyspark import TaskContext
    except ImportError:
        return 1
    ctx = TaskContext.get()
    return max(1, int(ctx.cpus())) if ctx is not None else 1


def limit_threads() -> None:
    """Keep a task on the cores Spark gave it: the kernel's numba ``prange`` and torch would
    otherwise each start a thread per core of the machine in every concurrent task."""
    cpus = task_cpus()
    os.environ["OMP_NUM_THREADS"] = str(cpus)
    import numba
    import torch

    torch.set_num_threads(cpus)
    numba.set_num_threads(min(cpus, numba.config.NUMBA_NUM_THREADS))


def run_task_frames(
    frames: Iterator[pd.DataFrame], contexts: Sequence[Context], batch: int
) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` body of a sweep: a partition's task rows in, metric rows out.

    The partition is one planned chunk (tasks of one group). It is gathered whole before the
    core runs, so Arrow's record batching cannot split the chunk into smaller batched calls;
    results leave in slices of ``batch`` tasks.
    """
    limit_threads()
    parts = [f for f in frames if len(f)]
    if not parts:
        return
    tasks = tasks_from_frame(pd.concat(parts, ignore_index=True), contexts)
    for i in range(0, len(tasks), batch):
        part = tasks[i : i + batch]
        params = {t.task_id: params_json(t.params) for t in part}
        yield results_frame(run_batch(part), params)


def backtest_symbol(ref: DataRef, strategy: Strategy, spec: BacktestSpec, engine: str) -> SymbolRun:
    """One symbol's full backtest (fills, trades, equity curve) by the backtest package's own
    :func:`~binance_bot.backtest.run.backtest`, on candles this worker loads by path."""
    limit_threads()
    return backtest([ref.load()], strategy, spec, engine=engine).runs[0]


def indicators_for_symbol(
    frame: pd.DataFrame, indicators: IndicatorSet, time_column: str | None, columns: Sequence[str]
) -> pd.DataFrame:
    """``applyInPandas`` body: one symbol's candles, in time order, with the indicator columns
    of :meth:`TechnicalIndicators.calculate_all_indicators` added."""
    limit_threads()
    if time_column is not None:
        frame = frame.sort_values(time_column, kind="stable").reset_index(drop=True)
    out = TechnicalIndicators(indicators=indicators, cache_size=1).calculate_all_indicators(frame)
    return out[list(columns)]


__all__ = ["backtest_symbol", "indicators_for_symbol", "limit_threads", "run_task_frames", "task_cpus"]
