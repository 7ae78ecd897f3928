"""A local Binance-compatible exchange: REST, market streams and the WebSocket API.

It replays candle files (or the seeded synthetic market) along the fill model's intrabar
path and matches orders with :mod:`binance_bot.matching`, so a bot trading against it gets
the same fills as the backtester and the paper exchange. See ``docs/simulator.md``.
"""

from binance_bot.simulator.config import (
    AccountSpec,
    FaultSettings,
    LimitSettings,
    MarketSpec,
    SimulatorConfig,
    load_faults,
    parse_balances,
)
from binance_bot.simulator.server import Simulator, SimulatorUrls

__all__ = [
    "AccountSpec",
    "FaultSettings",
    "LimitSettings",
    "MarketSpec",
    "Simulator",
    "SimulatorConfig",
    "SimulatorUrls",
    "load_faults",
    "parse_balances",
]
