"""Pure risk rules: sizing, protection levels, pre-trade checks and the kill switch."""

from binance_bot.risk.levels import (
    ProtectionLevels,
    protection_levels,
    ratio,
    stop_limit_ticks,
    stop_ticks,
    take_profit_ticks,
)
from binance_bot.risk.manager import ACCEPT, Decision, KillSwitch, RiskLimits, RiskManager
from binance_bot.risk.sizing import SizeDecision, entry_budget, size_entry

__all__ = [
    "ACCEPT",
    "Decision",
    "KillSwitch",
    "ProtectionLevels",
    "RiskLimits",
    "RiskManager",
    "SizeDecision",
    "entry_budget",
    "protection_levels",
    "ratio",
    "size_entry",
    "stop_limit_ticks",
    "stop_ticks",
    "take_profit_ticks",
]
