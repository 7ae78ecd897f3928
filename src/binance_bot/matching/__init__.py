"""The one fill model: orders matched against a replayed market, with Binance's rules and errors.

Pure: no clock, no I/O. The backtester compiles :mod:`binance_bot.matching.rules` with numba;
the paper exchange and the simulator drive :class:`MatchingEngine`. ``docs/fill-model.md``
states the rules (R1-R19) that both implement.
"""

from binance_bot.matching.engine import MatchingEngine
from binance_bot.matching.fees import COMMISSION_ROUNDING, commission, commission_asset
from binance_bot.matching.rejections import Rejection
from binance_bot.matching.requests import NewOco, NewOrder, OcoLeg
from binance_bot.matching.results import (
    AccountEvent,
    AllCanceled,
    EngineEvent,
    ListAccepted,
    ListCanceled,
    OrderAccepted,
    OrderCanceled,
)
from binance_bot.matching.settings import MatchingSettings

__all__ = [
    "COMMISSION_ROUNDING",
    "AccountEvent",
    "AllCanceled",
    "EngineEvent",
    "ListAccepted",
    "ListCanceled",
    "MatchingEngine",
    "MatchingSettings",
    "NewOco",
    "NewOrder",
    "OcoLeg",
    "OrderAccepted",
    "OrderCanceled",
    "Rejection",
    "commission",
    "commission_asset",
]
