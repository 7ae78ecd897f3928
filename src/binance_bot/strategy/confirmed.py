"""``confirmed`` (V2): ``ema_trend`` plus three confirmations that filter weak entries.

ADX above 20 (a trend strong enough to follow), a positive MACD histogram (momentum agrees)
and volume above its 20-bar mean (participation). Exits are those of ``ema_trend``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from binance_bot.strategy.base import Feature, ParamRange, Value, gt
from binance_bot.strategy.ema_trend import EmaTrend, EmaTrendParams


@dataclass(frozen=True, slots=True)
class ConfirmedParams(EmaTrendParams):
    """``ema_trend``'s parameters plus the three confirmations'."""

    adx_period: int = 14
    adx_min: float = 20.0
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    volume_period: int = 20


class Confirmed(EmaTrend):
    name = "confirmed"
    Params = ConfirmedParams
    description = "ema_trend confirmed by ADX > 20, MACD histogram > 0 and above-average volume"
    search_space: ClassVar[Mapping[str, ParamRange]] = {
        **EmaTrend.search_space,
        "adx_min": ParamRange(15, 30, 5),
        "volume_period": ParamRange(10, 40, 10),
    }

    def features(self) -> dict[str, Feature]:
        p = self.params
        return {
            **super().features(),
            "adx": Feature("adx", (p.adx_period,)),
            "macd_hist": Feature("macd_hist", (p.macd_fast, p.macd_slow, p.macd_signal)),
            "volume": Feature("volume"),
            "volume_mean": Feature("volume_sma", (p.volume_period,)),
        }

    def entry(self, f: Mapping[str, Value]) -> Value:
        p = self.params
        return (
            super().entry(f)
            & gt(f["adx"], p.adx_min)
            & gt(f["macd_hist"], 0.0)
            & gt(f["volume"], f["volume_mean"])
        )
