"""The settings a backtest runs under, shared by the fast path and the event replay.

The bot's own configuration (``trading`` and ``risk`` sections: sizing, stop and take-profit,
limits, cool-down) and the fill model's settings (fees, slippage) are used unchanged, so a
backtest answers "what would this configuration have done". Each symbol trades in its own
account funded with ``capital`` of the quote asset: results per symbol do not depend on which
other symbols were tested alongside, which is what lets a sweep run rows independently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from binance_bot.config import BotConfig
from binance_bot.errors import ConfigError
from binance_bot.matching import MatchingSettings
from binance_bot.model.intervals import interval_ms

DEFAULT_CAPITAL = Decimal("10000")


@dataclass(frozen=True)
class BacktestSpec:
    """Configuration, fill model and starting capital (quote asset, per symbol account)."""

    config: BotConfig = field(default_factory=BotConfig)
    matching: MatchingSettings = field(default_factory=MatchingSettings)
    capital: Decimal = DEFAULT_CAPITAL

    def __post_init__(self) -> None:
        if self.capital <= 0:
            raise ConfigError(f"backtest capital must be > 0, got {self.capital}", key="capital")

    def config_for(self, interval: str) -> BotConfig:
        """The configuration with ``interval`` as the trading interval.

        The trend interval is kept when it is a multiple of ``interval``; otherwise it must be
        set explicitly (a silent substitute would change the strategy).
        """
        trading = self.config.trading
        if trading.interval == interval:
            return self.config
        trend = trading.trend_interval
        if interval_ms(trend) % interval_ms(interval) or interval_ms(trend) < interval_ms(interval):
            raise ConfigError(
                f"trading.trend_interval {trend} is not a multiple of the data's interval {interval}; "
                "set it (e.g. --set trading.trend_interval=4h)",
                key="trading.trend_interval",
            )
        values: dict[str, Any] = self.config.model_dump()
        values["trading"]["interval"] = interval
        return BotConfig.model_validate(values)
