"""``ema_trend``: the original bot's idea, with its two sign errors corrected.

General trend on the higher timeframe: EMA9 > EMA26 > EMA50 (the original required
EMA50 > EMA26 > EMA9, a down-trend, for a long). Confirmation on the trading timeframe: the
same alignment, RSI(14) between 50 and 80, and Stochastic(9, 6, 9) with %K above %D and both
below 80. Exit on a Stochastic cross (%K at or below %D), besides the stop-loss and the
take-profit (the original put the long take-profit below the entry; here it is above, at
``take_profit_ratio`` x the stop distance, set by the risk layer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from binance_bot.errors import StrategyError
from binance_bot.strategy.base import Feature, ParamRange, Strategy, Value, gt, le, lt


@dataclass(frozen=True, slots=True)
class EmaTrendParams:
    ema_fast: int = 9
    ema_mid: int = 26
    ema_slow: int = 50
    rsi_period: int = 14
    rsi_low: float = 50.0
    rsi_high: float = 80.0
    stoch_k: int = 9
    stoch_k_slow: int = 6
    stoch_d: int = 9
    stoch_max: float = 80.0


class EmaTrend(Strategy):
    name = "ema_trend"
    Params = EmaTrendParams
    uses_trend = True
    description = "EMA 9/26/50 trend on the higher timeframe, confirmed by EMAs, RSI and Stochastic"
    search_space: ClassVar[Mapping[str, ParamRange]] = {
        "ema_fast": ParamRange(5, 15, 2),
        "ema_mid": ParamRange(20, 40, 5),
        "ema_slow": ParamRange(40, 100, 10),
        "rsi_low": ParamRange(40, 60, 5),
        "stoch_max": ParamRange(70, 90, 5),
    }

    def validate(self) -> None:
        super().validate()
        p = self.params
        if not p.ema_fast < p.ema_mid < p.ema_slow:
            raise StrategyError(
                f"{self.name}: need ema_fast < ema_mid < ema_slow, got {p.ema_fast}, {p.ema_mid}, {p.ema_slow}"
            )
        if not 0 <= p.rsi_low < p.rsi_high <= 100:
            raise StrategyError(f"{self.name}: need 0 <= rsi_low < rsi_high <= 100")

    def _ema_features(self, timeframe: str) -> dict[str, Feature]:
        p = self.params
        prefix = "trend_" if timeframe == "trend" else ""
        return {
            f"{prefix}ema_fast": Feature("ema", (p.ema_fast,), timeframe),
            f"{prefix}ema_mid": Feature("ema", (p.ema_mid,), timeframe),
            f"{prefix}ema_slow": Feature("ema", (p.ema_slow,), timeframe),
        }

    def features(self) -> dict[str, Feature]:
        p = self.params
        stoch = (p.stoch_k, p.stoch_k_slow, p.stoch_d)
        return {
            **self._ema_features("trend"),
            **self._ema_features("trade"),
            "rsi": Feature("rsi", (p.rsi_period,)),
            "stoch_k": Feature("stoch_k", stoch),
            "stoch_d": Feature("stoch_d", stoch),
        }

    def trend_up(self, f: Mapping[str, Value]) -> Value:
        """The design documents' ``get_general_trend``: long when EMA fast > mid > slow."""
        return gt(f["trend_ema_fast"], f["trend_ema_mid"]) & gt(f["trend_ema_mid"], f["trend_ema_slow"])

    def entry(self, f: Mapping[str, Value]) -> Value:
        p = self.params
        aligned = gt(f["ema_fast"], f["ema_mid"]) & gt(f["ema_mid"], f["ema_slow"])
        rsi_ok = gt(f["rsi"], p.rsi_low) & lt(f["rsi"], p.rsi_high)
        stoch_ok = (
            gt(f["stoch_k"], f["stoch_d"]) & lt(f["stoch_k"], p.stoch_max) & lt(f["stoch_d"], p.stoch_max)
        )
        return self.trend_up(f) & aligned & rsi_ok & stoch_ok

    def exit(self, f: Mapping[str, Value]) -> Value:
        return le(f["stoch_k"], f["stoch_d"])
