"""Strategies by name, as the configuration and the command line refer to them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from binance_bot.errors import ConfigError
from binance_bot.strategy.base import Strategy
from binance_bot.strategy.confirmed import Confirmed
from binance_bot.strategy.ema_trend import EmaTrend
from binance_bot.strategy.sma_cross import SmaCross

REGISTRY: dict[str, type[Strategy]] = {cls.name: cls for cls in (EmaTrend, Confirmed, SmaCross)}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Add a strategy class (usable as a decorator by plug-ins)."""
    REGISTRY[cls.name] = cls
    return cls


def available() -> list[str]:
    return sorted(REGISTRY)


def strategy_class(name: str) -> type[Strategy]:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"trading.strategy: unknown strategy {name!r} (available: {', '.join(available())})",
            key="trading.strategy",
        ) from None


def make_strategy(name: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """The named strategy with ``params`` over its defaults."""
    return strategy_class(name).from_dict(params)
