"""The sweep as a Spark application: the file to hand to ``spark-submit`` on a real cluster.

::

    spark-submit --master spark://head:7077 --py-files binance_bot-<hash>.zip \\
        "$(python -m binance_bot.distributed.submit --path)" \\
        --strategy sma_cross --grid fast=5:50:5,slow=20:200:20 --symbols BTCUSDT,ETHUSDT \\
        --interval 1h --data /shared/candles --from 2023-01-01 --to 2024-01-01 \\
        --split 0.7 --out /shared/sweeps/sma-2023

The executors load candles by path from ``--data`` (storage every node mounts at the same
path) and write one Parquet row per (task, window) under ``--out/results.parquet``; the driver
writes ``--out/summary.json`` (tasks, chunks, wall time, and where the executors imported the
code from). The master comes from ``spark-submit`` (or ``--master`` when run with plain
``python``). See ``docs/distributed.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="binance_bot.distributed.submit", description=__doc__.split("\n")[0])
    p.add_argument("--path", action="store_true", help="print this file's path (for spark-submit) and exit")
    p.add_argument("--master", help="Spark master when not launched by spark-submit")
    p.add_argument("--strategy", default="sma_cross")
    p.add_argument("--grid", help="ranges, e.g. fast=5:50:5,slow=20:200:20 (or fast=5|8|13)")
    p.add_argument("--symbols", default="BTCUSDT", help="comma-separated")
    p.add_argument("--interval", default="1h")
    p.add_argument("--data", help="folder of candle files or a candle-store root; none: synthetic market")
    p.add_argument("--from", dest="start", help="first bar (UTC date or time)")
    p.add_argument("--to", dest="end", help="end of the period (exclusive)")
    p.add_argument("--split", type=float, help="in-sample fraction: two windows instead of one")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic market")
    p.add_argument("--capital", default="10000", help="quote asset per symbol account")
    p.add_argument("--config", help="the bot's YAML/JSON configuration")
    p.add_argument(
        "--set", dest="sets", action="append", default=[], help="override, e.g. trading.interval=1h"
    )
    p.add_argument("--batch", type=int, default=64, help="most tasks per batched call")
    p.add_argument("--ship-code", action="store_true", help="ship the package as a zip (no --py-files)")
    p.add_argument("--out", help="folder for results.parquet and summary.json")
    return p


def _executor_code_origins(processor: Any) -> list[str]:
    """Where the executors' Python imports ``binance_bot`` from (a zip, a wheel, a checkout)."""
    n = processor.slots

    def origin(_: Any) -> list[str]:
        import binance_bot

        return [str(binance_bot.__file__)]

    rdd = processor.spark.sparkContext.parallelize(range(n), n)
    return sorted(set(rdd.mapPartitions(origin).collect()))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.path:
        print(Path(__file__).resolve())
        return 0
    if not args.grid or not args.out:
        _parser().error("--grid and --out are required")
    from decimal import Decimal

    from binance_bot.backtest.optimize import parse_grid, split_windows
    from binance_bot.backtest.spec import BacktestSpec
    from binance_bot.config import load_config
    from binance_bot.config.loader import parse_cli_overrides
    from binance_bot.data.synthetic import parse_start
    from binance_bot.distributed.processor import SparkProcessor
    from binance_bot.distributed.session import quiet_pandas_warning

    quiet_pandas_warning()
    overrides = parse_cli_overrides(args.sets)
    overrides.setdefault("trading", {})["interval"] = args.interval
    config = load_config(args.config, overrides=overrides).config
    spec = BacktestSpec(config, capital=Decimal(args.capital))
    start = parse_start(args.start) if args.start else None
    end = parse_start(args.end) if args.end else None
    windows = list(split_windows(start, end, args.split)) if args.split and start and end else None
    symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
    master = args.master
    if master is None:
        # under spark-submit the master is a system property of the JVM spark-submit started;
        # SparkConf reads it only once the gateway to that JVM is open
        from pyspark import SparkConf, SparkContext

        SparkContext._ensure_initialized()
        master = SparkConf().get("spark.master", "local[*]")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with SparkProcessor("binance-bot sweep", master, ship_code=args.ship_code) as processor:
        tasks = processor.tasks(
            args.strategy,
            parse_grid(args.grid),
            symbols,
            interval=args.interval,
            data=args.data,
            start_ms=start,
            end_ms=end,
            windows=windows,
            spec=spec,
            seed=args.seed,
        )
        frame, chunks = processor.sweep_job(tasks, args.batch)
        frame.write.mode("overwrite").parquet(str(out / "results.parquet"))
        summary = {
            "master": processor.master,
            "slots": processor.slots,
            "tasks": len(tasks),
            "chunks": len(chunks),
            "wall_seconds": round(time.perf_counter() - t0, 3),
            "executor_code": _executor_code_origins(processor),
            "results": str(out / "results.parquet"),
        }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
