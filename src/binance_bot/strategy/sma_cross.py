"""``sma_cross``: go long when the fast SMA crosses above the slow one, leave when it crosses back.

Entries happen on the cross bar only (fast above slow now, not above one bar earlier), so a
stop-out inside an up-regime does not re-enter until the next cross. Stop-loss and
take-profit come from the risk layer as for every strategy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from binance_bot.errors import StrategyError
from binance_bot.strategy.base import Feature, ParamRange, Strategy, Value, gt, le, lt


@dataclass(frozen=True, slots=True)
class SmaCrossParams:
    fast: int = 10
    slow: int = 50


class SmaCross(Strategy):
    name = "sma_cross"
    Params = SmaCrossParams
    description = "fast/slow SMA crossover"
    search_space: ClassVar[Mapping[str, ParamRange]] = {
        "fast": ParamRange(5, 50, 5),
        "slow": ParamRange(20, 200, 20),
    }

    def validate(self) -> None:
        super().validate()
        if self.params.fast >= self.params.slow:
            raise StrategyError(f"{self.name}: fast ({self.params.fast}) must be < slow ({self.params.slow})")

    def features(self) -> dict[str, Feature]:
        p = self.params
        return {
            "fast": Feature("sma", (p.fast,)),
            "slow": Feature("sma", (p.slow,)),
            "fast_prev": Feature("sma", (p.fast,), lag=1),
            "slow_prev": Feature("sma", (p.slow,), lag=1),
        }

    def entry(self, f: Mapping[str, Value]) -> Value:
        return gt(f["fast"], f["slow"]) & le(f["fast_prev"], f["slow_prev"])

    def exit(self, f: Mapping[str, Value]) -> Value:
        return lt(f["fast"], f["slow"])
