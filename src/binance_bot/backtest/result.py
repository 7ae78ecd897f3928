"""What a backtest of one symbol produces, the same shape from the fast path and the replay.

Money stays exact: fills and round trips carry the ``Decimal`` values the engine's own
accounting (:class:`~binance_bot.engine.portfolio.Portfolio`) computed, so two runs can be
compared with ``==``. The equity curve is float (it feeds metrics and charts), one point per
trading bar at its decision time ``close_time + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from binance_bot.model import ClosedTrade, Fill
from binance_bot.model.numbers import ZERO

FillKey = tuple[str, int, Decimal, Decimal, Decimal, str, bool]


def fill_key(fill: Fill) -> FillKey:
    """A fill without its ids (order and client ids differ between runs): what must agree."""
    return (
        fill.side.value,
        fill.time,
        fill.price,
        fill.qty,
        fill.commission,
        fill.commission_asset,
        fill.is_maker,
    )


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A long still open when the data ended (valued at the last close in the equity)."""

    symbol: str
    entry_time: int
    entry_price: Decimal
    qty: Decimal
    held: Decimal
    cost: Decimal


@dataclass(frozen=True, slots=True)
class KillEvent:
    """When the kill switch tripped (a daily-loss or drawdown limit) and the engine's reason."""

    time: int
    reason: str


@dataclass(frozen=True, eq=False)
class SymbolRun:
    """One symbol's backtest: an independent account trading it with ``start_capital``."""

    symbol: str
    interval: str
    engine: str
    strategy: str
    params: dict[str, Any]
    start_capital: Decimal
    final_equity: Decimal
    fills: tuple[Fill, ...]
    trades: tuple[ClosedTrade, ...]
    open_position: OpenPosition | None
    times: np.ndarray
    equity: np.ndarray
    in_position: np.ndarray
    kill: KillEvent | None = None
    source: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def fees_paid(self) -> Decimal:
        """Commissions of every fill, in the quote asset (base commissions at their fill price)."""
        total = ZERO
        for f in self.fills:
            total += f.commission if f.commission_asset != self.symbol_base else f.commission * f.price
        return total

    @property
    def symbol_base(self) -> str:
        """The base asset's name as fills report it (a BUY's commission asset)."""
        for f in self.fills:
            if f.side.value == "BUY":
                return f.commission_asset
        return ""

    def same_trading(self, other: SymbolRun) -> bool:
        """Identical fills, round trips, open position, kill and equity: parity of two engines."""
        return (
            [fill_key(f) for f in self.fills] == [fill_key(f) for f in other.fills]
            and list(self.trades) == list(other.trades)
            and self.open_position == other.open_position
            and self.kill == other.kill
            and self.final_equity == other.final_equity
            and np.array_equal(self.times, other.times)
            and np.array_equal(self.equity, other.equity)
            and np.array_equal(self.in_position, other.in_position)
        )
