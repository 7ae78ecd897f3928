"""``SparkProcessor``: indicators, multi-symbol backtests and parameter sweeps on Spark.

The processor is a thin driver around the project's own code. Indicators are the
:class:`~binance_bot.indicators.TechnicalIndicators` facade applied per symbol inside
``applyInPandas``; backtests and sweeps are the backtest package's batched sweep core
(:func:`binance_bot.backtest.sweep.run_batch`) mapped over task rows with ``mapInPandas``. So a
Spark run and a local run answer the same question with the same code, and return the same
numbers (the tests compare them exactly).

What Spark adds is placement. A sweep's tasks are cut into balanced chunks
(:mod:`binance_bot.distributed.planning`), one per partition, built with ``parallelize(chunks,
len(chunks))`` so no hash or adaptive shuffle can fold them back onto one core. Workers load
candles by path (shared storage on a cluster); only task rows (ids, parameters) go out and
only metric rows come back.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pandas as pd

from binance_bot.backtest.data import DataRef, resolve, warmup_bars
from binance_bot.backtest.market import SymbolData
from binance_bot.backtest.run import ENGINES, BacktestResult
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.backtest.sweep import SweepResult, SweepTask, Window, tasks_for
from binance_bot.config import BotConfig
from binance_bot.data.synthetic import DEFAULT_START_MS
from binance_bot.distributed import worker
from binance_bot.distributed.planning import Chunk, plan_chunks
from binance_bot.distributed.rows import (
    RESULT_DDL,
    TASK_DDL,
    contexts_of,
    params_from_json,
    results_from_rows,
    task_row,
)
from binance_bot.distributed.session import build_session, check_master, default_parallelism, local_cores
from binance_bot.distributed.shipping import package_zip
from binance_bot.errors import BotError, ConfigError
from binance_bot.indicators.batch import IndicatorSet
from binance_bot.model.intervals import interval_ms
from binance_bot.strategy import make_strategy
from binance_bot.strategy.base import Strategy

if TYPE_CHECKING:
    from pyspark import Broadcast
    from pyspark.sql import DataFrame, SparkSession

Progress = Callable[[int, int], None]
_FOREVER_MS = 2**62
_SYNTHETIC_BARS = 2000


class SparkProcessor:
    """A Spark session configured for the project, and the jobs that run on it.

    ``SparkProcessor(app_name="sweep", master="local[*]")`` starts a session (see
    :func:`binance_bot.distributed.session.session_conf` for the settings);
    ``SparkProcessor(spark=existing)`` borrows one and leaves it running on :meth:`stop`.
    Use it as a context manager to stop an owned session. On a cluster master the project's
    code is shipped to the executors as a zip (``ship_code``; see ``docs/distributed.md`` for
    installing a wheel on the nodes instead).
    """

    def __init__(
        self,
        app_name: str = "binance-bot",
        master: str = "local[*]",
        *,
        conf: Mapping[str, str] | None = None,
        spark: SparkSession | None = None,
        ship_code: bool | None = None,
    ) -> None:
        if spark is None:
            spark = running_session(check_master(master))
            self._owns_session = spark is None
        else:
            self._owns_session = False
        self.spark: SparkSession = spark if spark is not None else build_session(master, app_name, conf)
        self.master = str(self.spark.sparkContext.master)
        if ship_code is None:
            ship_code = local_cores(self.master) is None
        self.shipped: Path | None = None
        if ship_code:
            self.shipped = package_zip()
            self.spark.sparkContext.addPyFile(str(self.shipped))

    @classmethod
    def from_config(cls, config: BotConfig, app_name: str = "binance-bot", **kwargs: Any) -> SparkProcessor:
        """A processor on ``performance.spark_master`` of the bot's configuration."""
        return cls(app_name, config.performance.spark_master, **kwargs)

    @property
    def slots(self) -> int:
        """Tasks the session runs at once (its default parallelism)."""
        return default_parallelism(self.spark)

    def stop(self) -> None:
        """Stop the session if this processor started it."""
        if self._owns_session:
            self.spark.stop()

    def __enter__(self) -> SparkProcessor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ data and indicators
    def create_dataframe_from_pandas(
        self, df: pd.DataFrame, *, num_partitions: int | None = None
    ) -> DataFrame:
        """A Spark DataFrame of ``df`` (through Arrow), optionally cut into partitions."""
        sdf = self.spark.createDataFrame(df)
        return sdf.repartition(num_partitions) if num_partitions else sdf

    def load_candles(
        self, root: str | Path, *, interval: str | None = None, symbols: Sequence[str] | None = None
    ) -> DataFrame:
        """Candles of a :class:`~binance_bot.data.CandleStore` root as one DataFrame, read by the
        executors (``interval`` and ``symbol`` come from the directory names)."""
        root = str(root).rstrip("/")
        if interval is None and symbols is None:
            return self.spark.read.parquet(root)
        pattern_interval = interval or "*"
        paths = (
            [f"{root}/interval={pattern_interval}/symbol={s}" for s in symbols]
            if symbols is not None
            else [f"{root}/interval={pattern_interval}"]
        )
        return self.spark.read.option("basePath", root).parquet(*paths)

    def calculate_indicators_distributed(
        self,
        sdf: DataFrame,
        indicators: IndicatorSet | None = None,
        *,
        symbol_column: str = "symbol",
        time_column: str | None = "open_time",
    ) -> DataFrame:
        """``sdf`` with the indicator columns added, each symbol computed on its own rows in
        time order by :meth:`TechnicalIndicators.calculate_all_indicators`.

        Symbols are shuffled into one partition per symbol (``repartition(n, symbol)``, which
        the grouping reuses); the partition count is explicit, so adaptive execution cannot
        coalesce the groups onto one core. Only the symbol names reach the driver.
        """
        from pyspark.sql.types import DoubleType, StructField, StructType

        spec = indicators or IndicatorSet()
        names = spec.columns
        clash = [c for c in names if c in sdf.columns]
        if clash:
            raise ConfigError(f"the frame already has indicator columns {clash}")
        if symbol_column not in sdf.columns:
            raise ConfigError(f"the frame has no {symbol_column!r} column to group by")
        if time_column is not None and time_column not in sdf.columns:
            time_column = None
        schema = StructType([*sdf.schema.fields, *(StructField(c, DoubleType(), True) for c in names)])
        columns = [f.name for f in schema.fields]
        groups = max(1, sdf.select(symbol_column).distinct().count())

        def per_symbol(frame: pd.DataFrame) -> pd.DataFrame:
            return worker.indicators_for_symbol(frame, spec, time_column, columns)

        return (
            sdf.repartition(groups, symbol_column)
            .groupBy(symbol_column)
            .applyInPandas(per_symbol, schema=schema)
        )

    # ------------------------------------------------------------------ sweeps
    def sweep_frame(self, tasks: Sequence[SweepTask], *, batch: int = 64) -> DataFrame:
        """The lazy Spark job of ``tasks``: one row per (task, window) with every metric
        (schema :data:`binance_bot.distributed.rows.RESULT_DDL`), or one row with the error
        of a task that could not run. Write it to Parquet or query it like any DataFrame."""
        return self.sweep_job(tasks, batch)[0]

    def sweep_job(self, tasks: Sequence[SweepTask], batch: int = 64) -> tuple[DataFrame, list[Chunk]]:
        """:meth:`sweep_frame` and its plan: chunk ``i`` is partition ``i`` of the frame."""
        frame, chunks, _ = self._job(tasks, batch)
        return frame, chunks

    def _job(self, tasks: Sequence[SweepTask], batch: int) -> tuple[DataFrame, list[Chunk], Broadcast[Any]]:
        ids = [t.task_id for t in tasks]
        if len(set(ids)) != len(ids):
            raise ConfigError("sweep tasks need distinct task ids")
        chunks = plan_chunks(tasks, self.slots, batch=batch)
        contexts, context_of = contexts_of(tasks)
        shared = self.spark.sparkContext.broadcast(contexts)
        rows = [[task_row(c.index, t, context_of[t.task_id]) for t in c.tasks] for c in chunks]
        # exactly one chunk per partition: parallelize slices a list of n items into n slices
        rdd = self.spark.sparkContext.parallelize(rows, max(1, len(rows))).flatMap(lambda chunk: chunk)
        frame = self.spark.createDataFrame(rdd, schema=TASK_DDL)

        def run(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            return worker.run_task_frames(frames, shared.value, batch)

        return frame.mapInPandas(run, schema=RESULT_DDL), chunks, shared

    def map_tasks(
        self,
        tasks: Sequence[SweepTask],
        *,
        batch: int = 64,
        progress: Progress | None = None,
        job_group: str | None = None,
    ) -> Iterator[SweepResult]:
        """Results of ``tasks`` as each partition finishes (any order), all partitions running
        at once; the driver holds one partition's metric rows at a time.

        Each partition is its own Spark job in the job group ``job_group`` (a fresh name by
        default; ``sparkContext.cancelJobGroup`` stops the sweep from another thread), submitted
        from a pool of threads as wide as the session's slots, in the planned order. Closing the
        iterator early cancels the jobs in flight and submits no more.
        """
        if not tasks:
            return
        frame, chunks, shared = self._job(tasks, batch)
        rdd = frame.rdd
        sc = self.spark.sparkContext
        group = job_group or f"binance-bot-sweep-{uuid.uuid4().hex[:12]}"
        cancelled = threading.Event()

        def one(index: int) -> list[dict[str, Any]]:
            if cancelled.is_set():
                return []
            sc.setJobGroup(group, f"sweep chunk {index}", interruptOnCancel=True)
            return sc.runJob(rdd, lambda rows: [r.asDict() for r in rows], [index])

        done = 0
        pool = ThreadPoolExecutor(
            max_workers=max(1, min(self.slots, len(chunks))), thread_name_prefix="sweep"
        )
        try:
            pending: set[Future[list[dict[str, Any]]]] = set()
            order = iter(range(len(chunks)))
            for i in itertools.islice(order, self.slots + 1):
                pending.add(pool.submit(one, i))
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    results = results_from_rows(f.result())
                    done += len(results)
                    yield from results
                    if progress:
                        progress(done, len(tasks))
                    nxt = next(order, None)
                    if nxt is not None:
                        pending.add(pool.submit(one, nxt))
        finally:
            cancelled.set()
            if done < len(tasks):
                sc.cancelJobGroup(group)
            pool.shutdown(wait=True, cancel_futures=True)
            shared.destroy()  # no job of this sweep is left to read it

    def run_tasks(
        self, tasks: Sequence[SweepTask], *, batch: int = 64, output: str = "pandas"
    ) -> pd.DataFrame | DataFrame:
        """Every task's metric rows as a pandas frame ordered by task id (``output="pandas"``,
        parameters expanded into their own columns too) or the lazy Spark frame (``"spark"``)."""
        if output == "spark":
            return self.sweep_frame(tasks, batch=batch)
        if output != "pandas":
            raise ConfigError(f"output must be 'pandas' or 'spark', got {output!r}")
        frame = self.sweep_frame(tasks, batch=batch).toPandas()
        return expand_params(frame.sort_values("task_id", kind="stable").reset_index(drop=True))

    def sweep(
        self,
        strategy: str,
        grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
        symbols: Sequence[str],
        *,
        interval: str = "1h",
        data: str | Path | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        windows: Sequence[Window] | None = None,
        spec: BacktestSpec | None = None,
        seed: int = 0,
        batch: int = 64,
        output: str = "pandas",
    ) -> pd.DataFrame | DataFrame:
        """Backtest ``strategy`` with every parameter set of ``grid`` on every symbol.

        ``grid`` is ``{name: [values]}`` (every combination) or a list of parameter dicts.
        Candles come from ``data`` (a folder of candle files or a candle-store root, on storage
        every executor can read at the same path) or, without it, from the seeded synthetic
        market. ``windows`` default to one window ``all`` = ``[start_ms, end_ms)``.
        """
        tasks = self.tasks(
            strategy,
            grid,
            symbols,
            interval=interval,
            data=data,
            start_ms=start_ms,
            end_ms=end_ms,
            windows=windows,
            spec=spec,
            seed=seed,
        )
        return self.run_tasks(tasks, batch=batch, output=output)

    def run_backtests(
        self,
        symbols: Sequence[str],
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        *,
        strategy: str | None = None,
        spec: BacktestSpec | None = None,
        **kwargs: Any,
    ) -> pd.DataFrame | DataFrame:
        """One backtest per symbol (and per parameter set when ``params`` is a list), with the
        configured strategy unless ``strategy`` names another. Keywords as for :meth:`sweep`."""
        spec = spec or BacktestSpec()
        trading = spec.config.trading
        name = strategy or trading.strategy
        if params is None:
            params = dict(trading.strategy_params) if name == trading.strategy else {}
        points = [params] if isinstance(params, Mapping) else list(params)
        return self.sweep(name, points, symbols, spec=spec, **kwargs)

    def backtest(
        self,
        refs: Sequence[DataRef],
        strategy: Strategy,
        spec: BacktestSpec | None = None,
        *,
        engine: str = "fast",
        datas: Sequence[SymbolData] = (),
    ) -> BacktestResult:
        """The full backtest of ``strategy`` on each symbol (fills, trades, equity curves), one
        Spark task per symbol, with the backtest package's own per-symbol run. The result is
        the one :func:`binance_bot.backtest.run.backtest` returns; ``datas`` (candles the
        caller already holds, for reports) are attached to it as they are."""
        if engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}", key="engine")
        if not refs:
            raise ConfigError("nothing to backtest: no symbols", key="symbols")
        spec = spec or BacktestSpec()
        items = list(enumerate(refs))
        runs = dict(
            self.spark.sparkContext.parallelize(items, len(items))
            .map(lambda item: (item[0], worker.backtest_symbol(item[1], strategy, spec, engine)))
            .collect()
        )
        return BacktestResult(
            strategy.name,
            strategy.describe()["params"],
            engine,
            refs[0].interval,
            spec,
            [runs[i] for i in range(len(items))],
            list(datas),
        )

    @staticmethod
    def tasks(
        strategy: str,
        grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
        symbols: Sequence[str],
        *,
        interval: str = "1h",
        data: str | Path | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        windows: Sequence[Window] | None = None,
        spec: BacktestSpec | None = None,
        seed: int = 0,
    ) -> list[SweepTask]:
        """The sweep's tasks, exactly as a local run would build them (the same
        :func:`~binance_bot.backtest.sweep.tasks_for`), so both engines run the same list."""
        spec = spec or BacktestSpec()
        points = grid_points(grid)
        if not points or not symbols:
            raise ConfigError("a sweep needs at least one parameter set and one symbol")
        config = spec.config_for(interval)
        warm = 0
        for p in points:
            try:
                warm = max(warm, warmup_bars(make_strategy(strategy, p), config))
            except BotError:
                continue  # the core reports an invalid parameter set as that task's error
        folder = Path(data) if data is not None else None
        if folder is None and start_ms is None:
            step = interval_ms(interval)
            start_ms = DEFAULT_START_MS + warm * step
            end_ms = end_ms or start_ms + _SYNTHETIC_BARS * step
        refs: list[DataRef] = [
            resolve(s, interval, folder, start_ms=start_ms, end_ms=end_ms, warmup=warm, seed=seed)
            for s in symbols
        ]
        wins = list(windows) if windows else [Window("all", start_ms or 0, end_ms or _FOREVER_MS)]
        return tasks_for(strategy, points, refs, wins, spec)


@contextmanager
def spark_engine(master: str, app_name: str = "binance-bot optimize") -> Iterator[SparkEngine]:
    """A :class:`SparkEngine` on ``master`` for the length of a ``with`` block (the session is
    stopped after it unless it was already running in this process)."""
    with SparkProcessor(app_name, master) as processor:
        yield SparkEngine(processor)


def running_session(master: str) -> SparkSession | None:
    """The process's running session when it is on ``master`` (borrowed, never stopped by us).

    Spark allows one context per process and ``getOrCreate`` silently returns it whatever
    master was asked for; a session on another master is refused rather than used by mistake.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None  # build_session says what to install
    active = SparkSession.getActiveSession()
    if active is None:
        return None
    running = str(active.sparkContext.master)
    if running != master:
        raise ConfigError(
            f"a Spark session on {running} is already running in this process; stop it before "
            f"starting one on {master}, or pass it as SparkProcessor(spark=...)",
            key="performance.spark_master",
        )
    return active


class SparkEngine:
    """A Spark drop-in for the local engine of :mod:`binance_bot.backtest.optimize`: the same
    ``map(tasks, batch=..., progress=...)`` and ``workers``, so ``optimize(..., engine=...)``
    searches on Spark unchanged."""

    def __init__(self, processor: SparkProcessor) -> None:
        self.processor = processor

    @property
    def workers(self) -> int:
        return self.processor.slots

    def map(
        self,
        tasks: Sequence[SweepTask],
        *,
        batch: int = 64,
        work: int | None = None,
        progress: Progress | None = None,
    ) -> Iterator[SweepResult]:
        """Results as partitions finish. ``work`` (the local engine's cue to skip its process
        pool for small sweeps) is accepted and not used: Spark was asked for, so Spark runs."""
        del work
        return self.processor.map_tasks(tasks, batch=batch, progress=progress)


def grid_points(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every combination of a ``{name: values}`` grid, or a list of parameter dicts as given."""
    if isinstance(grid, Mapping):
        names = list(grid)
        return [
            dict(zip(names, combo, strict=True)) for combo in itertools.product(*(grid[n] for n in names))
        ]
    return [dict(p) for p in grid]


def expand_params(frame: pd.DataFrame) -> pd.DataFrame:
    """The ``params`` JSON of result rows as one column per parameter (``param_<name>`` when a
    name collides with an existing column)."""
    if frame.empty:
        return frame
    parsed = [dict(params_from_json(p)) for p in frame["params"]]
    names: list[str] = []
    for p in parsed:
        names.extend(n for n in p if n not in names)
    out = frame.copy()
    for n in names:
        col = n if n not in frame.columns else f"param_{n}"
        out[col] = [p.get(n) for p in parsed]
    return out


def results_table(results: Iterable[SweepResult]) -> pd.DataFrame:
    """Results of any engine as the same table :meth:`SparkProcessor.run_tasks` returns."""
    from binance_bot.distributed.rows import results_frame

    items = sorted(results, key=lambda r: r.task_id)
    params = {r.task_id: json.dumps([[k, v] for k, v in r.params.items()]) for r in items}
    return expand_params(results_frame(items, params))


__all__ = [
    "SparkEngine",
    "SparkProcessor",
    "expand_params",
    "grid_points",
    "results_table",
    "running_session",
    "spark_engine",
]
