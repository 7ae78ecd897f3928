"""Backtests that trade like the live bot: a fast compiled path and an event replay, one answer.

* :func:`run_fast` - signals as tensors and the position loop compiled, batched over symbols x
  parameter sets (:mod:`binance_bot.backtest.fast`, :mod:`binance_bot.backtest.kernel`);
* :func:`replay_symbol` - the engine kernel itself on the paper exchange and a simulated clock
  (:mod:`binance_bot.backtest.replay`).

Both follow the fill model of :mod:`binance_bot.matching` and the engine's lifecycle; the
acceptance tests hold their trade lists identical. See ``docs/backtesting.md``.
"""

from binance_bot.backtest.fast import run_fast
from binance_bot.backtest.market import SymbolData, event_times
from binance_bot.backtest.replay import replay_symbol, replay_symbol_async
from binance_bot.backtest.result import KillEvent, OpenPosition, SymbolRun, fill_key
from binance_bot.backtest.spec import BacktestSpec

__all__ = [
    "BacktestSpec",
    "KillEvent",
    "OpenPosition",
    "SymbolData",
    "SymbolRun",
    "event_times",
    "fill_key",
    "replay_symbol",
    "replay_symbol_async",
    "run_fast",
]
