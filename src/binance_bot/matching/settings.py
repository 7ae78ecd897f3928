"""The fill model's knobs, frozen so that one run can never change them half-way."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from binance_bot.errors import ConfigError
from binance_bot.matching.rules import PARTICIPATION_DENOMINATOR, SLIPPAGE_DENOMINATOR
from binance_bot.model.numbers import to_decimal


@dataclass(frozen=True, slots=True)
class MatchingSettings:
    """Fees, slippage and path options of the fill model (``docs/fill-model.md``).

    ``slippage_bps`` may have two decimals (0.01 bp resolution) and ``participation_cap``
    six (one part per million): the integer rules work in those units, and a finer value
    could not be reproduced exactly by the backtester.
    """

    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal("5")
    touch_fills: bool = False
    worst_case_path: bool = False
    participation_cap: Decimal | None = None
    commission_places: int = 8

    def __post_init__(self) -> None:
        for name in ("maker_fee", "taker_fee", "slippage_bps"):
            try:
                value = to_decimal(getattr(self, name), field=name)
            except ValueError as exc:
                raise ConfigError(str(exc), key=name) from None
            object.__setattr__(self, name, value)
        for name in ("maker_fee", "taker_fee"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {value}", key=name)
        if not 0 <= self.slippage_bps < 10_000:
            raise ConfigError(
                f"slippage_bps must be in [0, 10000), got {self.slippage_bps}", key="slippage_bps"
            )
        if (self.slippage_bps * 100) % 1 != 0:
            raise ConfigError(
                f"slippage_bps allows at most 2 decimals, got {self.slippage_bps}", key="slippage_bps"
            )
        if self.participation_cap is not None:
            try:
                cap = to_decimal(self.participation_cap, field="participation_cap")
            except ValueError as exc:
                raise ConfigError(str(exc), key="participation_cap") from None
            if not 0 < cap <= 1:
                raise ConfigError(f"participation_cap must be in (0, 1], got {cap}", key="participation_cap")
            if (cap * PARTICIPATION_DENOMINATOR) % 1 != 0:
                raise ConfigError(
                    f"participation_cap allows at most 6 decimals, got {cap}", key="participation_cap"
                )
            object.__setattr__(self, "participation_cap", cap)
        if not 0 <= self.commission_places <= 18:
            raise ConfigError(
                f"commission_places must be in [0, 18], got {self.commission_places}", key="commission_places"
            )

    @property
    def slippage_units(self) -> int:
        """Slippage in the rules' unit: hundredths of a basis point (5 bps -> 500)."""
        return int(self.slippage_bps * SLIPPAGE_DENOMINATOR / 10_000)

    @property
    def participation_ppm(self) -> int | None:
        """The cap in parts per million of the bar volume, or ``None`` when off."""
        if self.participation_cap is None:
            return None
        return int(self.participation_cap * PARTICIPATION_DENOMINATOR)
