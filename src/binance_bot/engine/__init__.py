"""Orchestration: the trading kernel, per-symbol workers, order lifecycle, control facade.

``AsyncTrader`` (the design documents' facade) is loaded on first use, so that adapters
importing :mod:`binance_bot.engine.ports` do not pull in the kernel and its indicators.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AsyncTrader"]


def __getattr__(name: str) -> Any:
    if name == "AsyncTrader":
        from binance_bot.engine.trader import AsyncTrader

        return AsyncTrader
    raise AttributeError(f"module 'binance_bot.engine' has no attribute {name!r}")
