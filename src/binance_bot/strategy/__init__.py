"""Pure trading signals: strategies as rules over indicator features, and a registry by name."""

from binance_bot.strategy.base import Feature, ParamRange, Strategy, ge, gt, le, lt
from binance_bot.strategy.confirmed import Confirmed
from binance_bot.strategy.ema_trend import EmaTrend
from binance_bot.strategy.registry import available, make_strategy, register, strategy_class
from binance_bot.strategy.sma_cross import SmaCross

__all__ = [
    "Confirmed",
    "EmaTrend",
    "Feature",
    "ParamRange",
    "SmaCross",
    "Strategy",
    "available",
    "ge",
    "gt",
    "le",
    "lt",
    "make_strategy",
    "register",
    "strategy_class",
]
