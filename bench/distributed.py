"""A parameter sweep of thousands of backtests: one core, the local engine on every core, Spark.

Workload: ``sma_cross`` over a grid of ``fast`` x ``slow`` on several symbols of seeded synthetic
5-minute candles (200,000 bars each, about 1.9 years), stored as Parquet in a candle store.
Every engine runs the same task list through the same batched sweep core
(:func:`binance_bot.backtest.sweep.run_batch`) and the script checks that all three return
identical metrics before it reports a time:

* **one core**: the core called in this process, torch and numba held to one thread;
* **local engine**: :class:`binance_bot.backtest.optimize.LocalEngine`, a ``spawn`` process pool
  on every core (its start-up is inside the time, as a user pays it);
* **Spark local[N]**: :class:`binance_bot.distributed.SparkProcessor`; the sweep's time is
  measured on a warm session, and Spark's fixed overhead is reported apart: starting the
  session, and the first job (a two-task sweep on other data that starts the Python workers,
  which import torch and numba). Speedups are given without and with that overhead.

Spark's scheduling costs about 0.1 s per partition on this machine kind, so the sweep uses
chunks of up to ``--batch`` tasks (256) for both parallel engines.

Run ``python bench/distributed.py`` (about eight minutes on 2 cores), ``--quick`` for a smoke
run, ``--no-write`` to leave BENCHMARKS.md alone.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, write_section

from binance_bot.backtest.optimize import LocalEngine
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.backtest.sweep import SweepResult, SweepTask, run_batch
from binance_bot.config import load_config
from binance_bot.data import CandleStore, SyntheticMarket
from binance_bot.distributed.session import quiet_pandas_warning
from binance_bot.model.intervals import interval_ms

SECTION = "distributed"
# symbols whose synthetic prices the compiled loop follows exactly; on low-priced ones (DOGE,
# LTC, DOT, ...) the 64-bit check sends every row to the event replay, which is far slower
SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT", "LINKUSDT", "ATOMUSDT")
INTERVAL = "5m"
WARM_UP = 1000


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    others_cores: float
    note: str = ""


def spec() -> BacktestSpec:
    config = load_config(
        overrides={"trading": {"interval": INTERVAL, "trend_interval": "30m"}},
        environ={},
        use_default_file=False,
    ).config
    return BacktestSpec(config)


def candle_store(root: Path, symbols: Sequence[str], bars: int) -> Path:
    store = CandleStore(root)
    for i, symbol in enumerate(symbols):
        if store.has(symbol, INTERVAL) and len(store.read(symbol, INTERVAL)) == bars:
            continue
        market = SyntheticMarket(symbol, INTERVAL, seed=100 + i)
        store.write(market.frame(market.origin_ms, bars), symbol=symbol, interval=INTERVAL)
    return root


def sweep_tasks(
    root: Path, symbols: Sequence[str], bars: int, fast: int, slow: Sequence[int]
) -> list[SweepTask]:
    from binance_bot.distributed.processor import SparkProcessor

    step = interval_ms(INTERVAL)
    start = SyntheticMarket(symbols[0], INTERVAL).origin_ms + WARM_UP * step
    grid = {"fast": list(range(2, 2 + fast)), "slow": list(slow)}
    return SparkProcessor.tasks(
        "sma_cross",
        grid,
        symbols,
        interval=INTERVAL,
        data=root,
        start_ms=start,
        end_ms=start + (bars - WARM_UP) * step,
        spec=spec(),
    )


class TreeCpuWatch:
    """CPU that processes outside this one's tree used during a run, in cores.

    The parallel engines work in other processes (pool workers; Spark's JVM and its Python
    workers), so "this process" is not enough: the tree's CPU is this process, its waited-for
    children, and every live descendant's ``utime + stime`` from ``/proc``."""

    def __init__(self) -> None:
        self._tick = os.sysconf("SC_CLK_TCK")
        self._start = (self._machine_busy(), self._tree(), time.perf_counter())

    def _machine_busy(self) -> float:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return (sum(values) - values[3] - (values[4] if len(values) > 4 else 0)) / self._tick

    def _tree(self) -> dict[int, float]:
        parents: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / self._tick
        ours = {os.getpid()}
        changed = True
        while changed:
            changed = False
            for pid, parent in parents.items():
                if parent in ours and pid not in ours:
                    ours.add(pid)
                    changed = True
        out = {pid: cpu[pid] for pid in ours if pid in cpu}
        t = os.times()
        out[-1] = t.children_user + t.children_system  # children that exited and were waited for
        return out

    def others_cores(self) -> float:
        busy0, tree0, wall0 = self._start
        busy1, tree1, wall1 = self._machine_busy(), self._tree(), time.perf_counter()
        ours = sum(v - tree0.get(pid, 0.0) for pid, v in tree1.items())
        return max(0.0, (busy1 - busy0 - ours) / max(wall1 - wall0, 1e-9))


def timed(name: str, fn: Callable[[], list[SweepResult]], note: str = "") -> tuple[Run, list[SweepResult]]:
    watch = TreeCpuWatch()
    t0 = time.perf_counter()
    results = fn()
    seconds = time.perf_counter() - t0
    return Run(name, seconds, watch.others_cores(), note), sorted(results, key=lambda r: r.task_id)


def same(a: Sequence[SweepResult], b: Sequence[SweepResult]) -> bool:
    if [r.task_id for r in a] != [r.task_id for r in b]:
        return False
    for x, y in zip(a, b, strict=True):
        if (x.error, x.params, x.symbol) != (
            y.error,
            y.params,
            y.symbol,
        ) or x.metrics.keys() != y.metrics.keys():
            return False
        for w, values in x.metrics.items():
            for k, v in values.items():
                u = y.metrics[w][k]
                if not (u == v or (math.isnan(u) and math.isnan(v))):
                    return False
    return True


def one_core(tasks: Sequence[SweepTask], batch: int) -> list[SweepResult]:
    import numba
    import torch

    torch.set_num_threads(1)
    numba.set_num_threads(1)
    out: list[SweepResult] = []
    for i in range(0, len(tasks), batch):
        out.extend(run_batch(tasks[i : i + batch]))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    parser.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    parser.add_argument("--batch", type=int, default=256, help="most tasks per chunk")
    parser.add_argument("--data", type=Path, help="candle-store folder (default: a temporary one)")
    args = parser.parse_args(argv)
    quiet_pandas_warning()
    facts = machine()  # before the one-core run holds torch to one thread
    symbols = SYMBOLS[:2] if args.quick else SYMBOLS
    bars = 20_000 if args.quick else 200_000
    fast, slow = (
        (16, (40, 60))
        if args.quick
        else (64, (70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200, 210, 220))
    )
    cores = os.cpu_count() or 1
    folder = args.data or Path(tempfile.gettempdir()) / "binance-bot-bench-distributed"
    t0 = time.perf_counter()
    root = candle_store(folder, symbols, bars)
    print(f"candles: {len(symbols)} symbols x {bars} bars in {root} ({time.perf_counter() - t0:.1f} s)")
    tasks = sweep_tasks(root, symbols, bars, fast, slow)
    print(f"sweep: {len(tasks)} backtests")
    runs: list[Run] = []

    run, serial = timed("one core, in process", lambda: one_core(tasks, args.batch))
    runs.append(run)
    print(f"{run.name}: {run.seconds:.1f} s")

    engine = LocalEngine(workers=cores)
    pooled = cores > 1 and len(tasks) > args.batch
    run, local = timed(
        f"local engine, {cores} processes",
        lambda: list(engine.map(tasks, batch=args.batch)),
        "includes starting the spawn pool" if pooled else "one batch: ran in this process",
    )
    runs.append(run)
    print(f"{run.name}: {run.seconds:.1f} s")

    from binance_bot.distributed import SparkProcessor

    t = time.perf_counter()
    processor = SparkProcessor("binance-bot bench", args.master)
    session_s = time.perf_counter() - t
    try:
        # other data (the synthetic market, no file) than the sweep's, so nothing is cached for it
        warm = SparkProcessor.tasks(
            "sma_cross", [{"fast": 5, "slow": 20}], ["BTCUSDT", "ETHUSDT"], interval=INTERVAL, spec=spec()
        )
        t = time.perf_counter()
        list(processor.map_tasks(warm))
        first_s = time.perf_counter() - t
        chunks = len(processor.sweep_job(tasks, args.batch)[1])
        run, spark = timed(
            f"Spark {args.master}",
            lambda: list(processor.map_tasks(tasks, batch=args.batch)),
            f"{chunks} partitions, warm session",
        )
    finally:
        processor.stop()
    runs.append(run)
    print(f"{run.name}: {run.seconds:.1f} s (session {session_s:.1f} s, first job {first_s:.1f} s)")

    identical = same(serial, local) and same(serial, spark)
    print(f"identical metrics across engines: {identical}")
    if not identical:
        print("engines disagree: no figures written", file=sys.stderr)
        return 1
    base = runs[0].seconds
    overhead = session_s + first_s
    errors = sum(1 for r in serial if r.error)
    replayed = sum(1 for r in serial if r.replayed)
    lines = [
        "## Distributed sweeps: one core, the local engine, Spark",
        "",
        f"`python bench/distributed.py{' --quick' if args.quick else ''}`: `sma_cross` over "
        f"{len(tasks):,} backtests ({fast} fast x {len(slow)} slow periods x {len(symbols)} symbols; "
        f"{errors} parameter sets with fast >= slow are refused by the strategy and cost nothing), "
        f"{bars - WARM_UP:,} trading bars of {INTERVAL} candles each after {WARM_UP} warm-up bars, read "
        "from a Parquet candle store by each worker. All engines run the same batched sweep core "
        f"in chunks of up to {args.batch} tasks; the script checks that their metrics are identical "
        "before it writes a figure."
        + (f" {replayed} tasks fell back to the event replay." if replayed else ""),
        "",
        "| engine | wall (s) | speedup vs one core | other processes' CPU during the run (cores) | note |",
        "|---|---:|---:|---:|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r.name} | {r.seconds:.1f} | {base / r.seconds:.2f}x | {r.others_cores:.2f} | {r.note} |"
        )
    spark_run = runs[2]
    warm_ratio = spark_run.seconds / base
    with_overhead = base / (spark_run.seconds + overhead)
    if base / spark_run.seconds < 1.7:
        verdict = f"missed even on the warm session ({base / spark_run.seconds:.2f}x)."
    elif with_overhead >= 1.7:
        verdict = "met on the warm session and with the fixed overhead counted."
    else:
        needed = 1.7 * overhead / (1 - 1.7 * warm_ratio)
        verdict = (
            f"met on the warm session; with the fixed overhead counted it is {with_overhead:.2f}x, so a "
            f"sweep must take about {needed:.0f} s on one core for Spark to reach 1.7x from a cold start."
        )
    lines += [
        f"| Spark {args.master}, counting its fixed overhead | {spark_run.seconds + overhead:.1f} | "
        f"{with_overhead:.2f}x | | session start {session_s:.1f} s + first job {first_s:.1f} s |",
        "",
        f"Spark's fixed overhead: {overhead:.1f} s ({session_s:.1f} s to start the session, "
        f"{first_s:.1f} s for the first job, whose Python workers import torch and numba). "
        f"Target {args.master} >= 1.7x one core: {verdict} On one machine the local engine "
        f"({runs[1].seconds:.1f} s, its pool start included) needs no JVM; Spark is for spreading "
        "a sweep over several machines.",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()) + ".",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
