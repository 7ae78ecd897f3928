"""Spark ``local[2]`` runs the project's own code and gives the local engine's answers exactly.

The sweep is the batched backtest core on Parquet candles that the Spark workers load by path;
the local engine is the process pool of :mod:`binance_bot.backtest.optimize`. Every metric of
every (task, window) must be equal - not close: both run the same code on the same bars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.integration.distributed.conftest import INTERVAL, SYMBOLS

from binance_bot.backtest.data import _load_cached
from binance_bot.backtest.optimize import LocalEngine
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.backtest.sweep import SweepResult, SweepTask, Window
from binance_bot.config import load_config
from binance_bot.data import CandleStore
from binance_bot.distributed import SparkEngine, SparkProcessor, results_table
from binance_bot.indicators import TechnicalIndicators
from binance_bot.indicators.batch import IndicatorSet

pytestmark = [
    pytest.mark.spark,
    # pyspark 4.3's own Arrow-to-pandas conversion passes copy= to pandas 3
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:DeprecationWarning"),
]

H = 3_600_000
START = 1_704_067_200_000 + 250 * H
END = START + 1000 * H
WINDOWS = (Window("in_sample", START, START + 700 * H), Window("out_of_sample", START + 700 * H, END))
# 12 parameter sets x 3 symbols; fast >= slow is refused by the strategy (an error row)
GRID = {"fast": [5, 8, 13, 21], "slow": [13, 34, 55]}


def spec() -> BacktestSpec:
    config = load_config(
        overrides={"trading": {"interval": INTERVAL, "trend_interval": "4h", "stop_loss_margin": "0.02"}},
        environ={},
        use_default_file=False,
    ).config
    return BacktestSpec(config, capital=Decimal("5000"))


def sweep_tasks(store: Path) -> list[SweepTask]:
    return SparkProcessor.tasks(
        "sma_cross",
        GRID,
        SYMBOLS,
        interval=INTERVAL,
        data=store,
        start_ms=START,
        end_ms=END,
        windows=WINDOWS,
        spec=spec(),
    )


def assert_same_results(got: Sequence[SweepResult], want: Sequence[SweepResult]) -> None:
    got = sorted(got, key=lambda r: r.task_id)
    want = sorted(want, key=lambda r: r.task_id)
    assert [r.task_id for r in got] == [r.task_id for r in want]
    for g, w in zip(got, want, strict=True):
        assert (g.symbol, g.strategy, g.params, g.error, g.replayed) == (
            w.symbol,
            w.strategy,
            w.params,
            w.error,
            w.replayed,
        )
        assert g.metrics.keys() == w.metrics.keys()
        for window, values in w.metrics.items():
            assert g.metrics[window].keys() == values.keys()
            for name, v in values.items():
                u = g.metrics[window][name]
                assert u == v or (math.isnan(u) and math.isnan(v)), (g.task_id, window, name, u, v)


@pytest.fixture(scope="module")
def local_results(candle_store: Path) -> list[SweepResult]:
    """The local engine on every core (a spawn process pool), as ``binance-bot optimize`` runs it."""
    return list(LocalEngine(workers=2).map(sweep_tasks(candle_store), batch=8))


def test_sweep_streams_the_local_engines_answers(
    spark_processor: SparkProcessor, candle_store: Path, local_results: list[SweepResult]
) -> None:
    tasks = sweep_tasks(candle_store)
    assert len(tasks) == 36
    _load_cached.cache_clear()
    seen: list[tuple[int, int]] = []
    got = list(spark_processor.map_tasks(tasks, batch=8, progress=lambda d, n: seen.append((d, n))))
    # the workers loaded the candles; the driver never did
    assert _load_cached.cache_info().misses == 0
    assert_same_results(got, local_results)
    errors = [r for r in got if r.error]
    assert len(errors) == 2 * 3  # (13, 13) and (21, 13) on each symbol
    assert all("must be < slow" in (r.error or "") for r in errors)
    assert sum(1 for r in got if r.metrics.get("in_sample", {}).get("trades", 0) > 0) >= 20
    # one progress call per partition, counting up to every task
    assert seen[-1] == (36, 36)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(seen) == len(spark_processor.sweep_job(tasks, 8)[1])


def test_the_spark_frame_is_the_local_table_and_keeps_one_chunk_per_partition(
    spark_processor: SparkProcessor, candle_store: Path, local_results: list[SweepResult]
) -> None:
    from pyspark.sql.functions import spark_partition_id

    tasks = sweep_tasks(candle_store)
    frame, chunks = spark_processor.sweep_job(tasks, batch=8)
    assert frame.rdd.getNumPartitions() == len(chunks) >= 2 * spark_processor.slots
    rows = frame.withColumn("partition", spark_partition_id()).toPandas()
    placed = rows.groupby("partition")["task_id"].apply(set).to_dict()
    assert placed == {c.index: {t.task_id for t in c.tasks} for c in chunks}

    table = rows.drop(columns="partition").sort_values(["task_id", "window"], kind="stable")
    want = results_table(local_results).sort_values(["task_id", "window"], kind="stable")
    pd.testing.assert_frame_equal(
        table.reset_index(drop=True),
        want[list(table.columns)].reset_index(drop=True),
        check_exact=True,
        check_dtype=False,
    )
    pandas_out = spark_processor.run_tasks(tasks, batch=8)
    assert list(pandas_out["task_id"]) == sorted(pandas_out["task_id"])
    assert {"fast", "slow"} <= set(pandas_out.columns)
    assert len(pandas_out) == len(rows)


def test_optimize_on_spark_chooses_what_the_local_engine_chooses(
    spark_processor: SparkProcessor, candle_store: Path
) -> None:
    from binance_bot.backtest.data import resolve
    from binance_bot.backtest.optimize import optimize

    refs = [resolve(s, INTERVAL, candle_store, start_ms=START, end_ms=END, warmup=200) for s in SYMBOLS[:2]]
    kwargs: dict[str, Any] = {
        "start_ms": START,
        "end_ms": END,
        "spec": spec(),
        "walk_forward": 2,
        "objective": "total_return",
    }
    on_spark = optimize("sma_cross", refs, GRID, engine=SparkEngine(spark_processor), **kwargs)
    local = optimize("sma_cross", refs, GRID, engine=LocalEngine(workers=1), **kwargs)
    assert on_spark.evaluated == local.evaluated == 10 and on_spark.invalid == local.invalid == 2
    assert [c.params for c in on_spark.ranked()] == [c.params for c in local.ranked()]
    assert [f.best.params for f in on_spark.folds] == [f.best.params for f in local.folds]
    assert on_spark.chained_out_of_sample() == local.chained_out_of_sample()


def test_full_backtests_one_task_per_symbol_trade_like_the_local_run(
    spark_processor: SparkProcessor, candle_store: Path
) -> None:
    from binance_bot.backtest.data import resolve
    from binance_bot.backtest.run import backtest
    from binance_bot.strategy import make_strategy

    strategy = make_strategy("ema_trend")
    refs = [resolve(s, INTERVAL, candle_store, start_ms=START, end_ms=END, warmup=300) for s in SYMBOLS]
    on_spark = spark_processor.backtest(refs, strategy, spec())
    local = backtest([r.load() for r in refs], strategy, spec())
    assert [r.symbol for r in on_spark.runs] == list(SYMBOLS)
    for a, b in zip(on_spark.runs, local.runs, strict=True):
        assert a.same_trading(b)
    assert on_spark.to_dict()["metrics"] == local.to_dict()["metrics"]
    assert sum(len(r.trades) for r in on_spark.runs) > 0


def test_run_backtests_by_symbol_and_parameter_set(
    spark_processor: SparkProcessor, candle_store: Path
) -> None:
    out = spark_processor.run_backtests(
        list(SYMBOLS),
        [{"fast": 5, "slow": 34}, {"fast": 8, "slow": 55}],
        strategy="sma_cross",
        spec=spec(),
        interval=INTERVAL,
        data=candle_store,
        start_ms=START,
        end_ms=END,
    )
    assert isinstance(out, pd.DataFrame)
    assert len(out) == 6 and set(out["window"]) == {"all"}
    assert set(zip(out["symbol"], out["fast"], strict=True)) == {(s, f) for s in SYMBOLS for f in (5, 8)}
    assert out["error"].isna().all()
    assert np.isfinite(out["final_equity"]).all()
    lazy = spark_processor.run_backtests(
        ["BTCUSDT"], {"fast": 5, "slow": 34}, strategy="sma_cross", spec=spec(),
        interval=INTERVAL, data=candle_store, start_ms=START, end_ms=END, output="spark",
    )  # fmt: skip
    assert lazy.columns[:5] == ["task_id", "symbol", "strategy", "params", "window"]
    assert lazy.count() == 1


def test_indicators_per_symbol_equal_the_facade(spark_processor: SparkProcessor, candle_store: Path) -> None:
    sdf = spark_processor.load_candles(candle_store, interval=INTERVAL)
    assert set(sdf.columns) >= {"open_time", "close", "symbol", "interval"}
    indicators = IndicatorSet(sma=(10,), ema=(9, 21), rsi=(14,), stoch=(9, 6, 9), adx=(), mom=(), roc=())
    out = spark_processor.calculate_indicators_distributed(sdf, indicators)
    groups = sdf.select("symbol").distinct().count()
    assert out.rdd.getNumPartitions() == groups == len(SYMBOLS)  # not coalesced onto one core
    got = out.toPandas()
    store = CandleStore(candle_store)
    for symbol in SYMBOLS:
        frame = store.read(symbol, INTERVAL).frame
        want = TechnicalIndicators(indicators=indicators).calculate_all_indicators(frame)
        mine = got[got["symbol"] == symbol].sort_values("open_time").reset_index(drop=True)
        assert len(mine) == len(want)
        for column in indicators.columns:
            assert np.array_equal(mine[column].to_numpy(), want[column].to_numpy(), equal_nan=True), column


def test_a_pandas_frame_of_several_symbols(spark_processor: SparkProcessor, candle_store: Path) -> None:
    store = CandleStore(candle_store)
    frames = []
    for symbol in SYMBOLS[:2]:
        f = store.read(symbol, INTERVAL).frame.iloc[:300].copy()
        f["symbol"] = symbol
        frames.append(f)
    df = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=3)  # rows out of order
    sdf = spark_processor.create_dataframe_from_pandas(df, num_partitions=3)
    assert sdf.rdd.getNumPartitions() == 3
    got = spark_processor.calculate_indicators_distributed(sdf).toPandas()
    ordered = df.sort_values(["symbol", "open_time"], kind="stable").reset_index(drop=True)
    want = TechnicalIndicators().calculate_all_indicators(ordered)
    got = got.sort_values(["symbol", "open_time"], kind="stable").reset_index(drop=True)
    for column in TechnicalIndicators().indicators.columns:
        assert np.array_equal(got[column].to_numpy(), want[column].to_numpy(), equal_nan=True), column


def test_a_borrowed_session_outlives_the_processor(spark_processor: SparkProcessor) -> None:
    borrowed = SparkProcessor(spark=spark_processor.spark)
    again = SparkProcessor("other name", "local[2]")  # the running session on the same master
    borrowed.stop()
    again.stop()
    assert spark_processor.spark.range(3).count() == 3
    from binance_bot.errors import ConfigError

    with pytest.raises(ConfigError, match="already running"):
        SparkProcessor("x", "local[1]")


def test_closing_the_stream_early_leaves_the_rest_unrun(
    spark_processor: SparkProcessor, candle_store: Path
) -> None:
    tasks = sweep_tasks(candle_store)
    chunks = spark_processor.sweep_job(tasks, 4)[1]
    stream = spark_processor.map_tasks(tasks, batch=4, job_group="closed-early")
    first = next(stream)
    stream.close()
    assert first.task_id in {t.task_id for t in tasks}
    tracker = spark_processor.spark.sparkContext.statusTracker()
    jobs = tracker.getJobIdsForGroup("closed-early")
    # only the partitions in flight when the stream was closed were started, none is left running
    assert 0 < len(jobs) <= spark_processor.slots + 2 < len(chunks)
    assert all(tracker.getJobInfo(j) is None or tracker.getJobInfo(j).status != "RUNNING" for j in jobs)
    assert spark_processor.spark.range(5).count() == 5
