"""Backtests, sweeps and indicators on Apache Spark, from ``local[*]`` to a cluster.

Layer: last (see ``docs/architecture.md``); it drives the backtest package's sweep core and
the indicator facade, and never reimplements them. pyspark is optional (the ``spark`` extra)
and is only imported when a session is built, so ``import binance_bot.distributed`` works
without it. See ``docs/distributed.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from binance_bot.distributed.cluster import StandaloneCluster
    from binance_bot.distributed.planning import Chunk, plan_chunks
    from binance_bot.distributed.processor import SparkEngine, SparkProcessor, results_table
    from binance_bot.distributed.session import build_session, session_conf
    from binance_bot.distributed.shipping import package_zip

_EXPORTS = {
    "SparkProcessor": "binance_bot.distributed.processor",
    "SparkEngine": "binance_bot.distributed.processor",
    "results_table": "binance_bot.distributed.processor",
    "StandaloneCluster": "binance_bot.distributed.cluster",
    "Chunk": "binance_bot.distributed.planning",
    "plan_chunks": "binance_bot.distributed.planning",
    "build_session": "binance_bot.distributed.session",
    "session_conf": "binance_bot.distributed.session",
    "package_zip": "binance_bot.distributed.shipping",
}


def __getattr__(name: str) -> Any:
    """Load the backtest stack (torch, numba) only when a distributed name is first used."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'binance_bot.distributed' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Chunk",
    "SparkEngine",
    "SparkProcessor",
    "StandaloneCluster",
    "build_session",
    "package_zip",
    "plan_chunks",
    "results_table",
    "session_conf",
]
