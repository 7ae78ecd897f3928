"""An open long position and the trade it becomes when closed (spot is long-only)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from binance_bot.model.numbers import ZERO


@dataclass(frozen=True, slots=True)
class Position:
    """A long position with its protection levels.

    ``qty`` is what we hold after base-asset commissions; ``cost`` is the quote spent
    including commissions paid in quote, so PnL is exact whatever asset fees were paid in.
    """

    symbol: str
    qty: Decimal
    entry_price: Decimal
    stop_price: Decimal
    take_profit_price: Decimal
    opened_at: int
    cost: Decimal
    fees_quote: Decimal = ZERO
    entry_client_order_id: str = ""
    protection_list_id: int = -1

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return self.qty * mark - self.cost

    def add(self, qty: Decimal, cost: Decimal, fees_quote: Decimal = ZERO) -> Position:
        total = self.qty + qty
        entry = (self.entry_price * self.qty + (cost - fees_quote)) / total if total else self.entry_price
        return replace(
            self, qty=total, entry_price=entry, cost=self.cost + cost, fees_quote=self.fees_quote + fees_quote
        )


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A round trip: what was paid, what was received, and why it ended."""

    symbol: str
    entry_time: int
    exit_time: int
    entry_price: Decimal
    exit_price: Decimal
    qty: Decimal
    cost: Decimal
    proceeds: Decimal
    fees_quote: Decimal
    exit_reason: str

    @property
    def pnl(self) -> Decimal:
        return self.proceeds - self.cost

    @property
    def return_pct(self) -> Decimal:
        return self.pnl / self.cost * 100 if self.cost else ZERO

    @property
    def is_win(self) -> bool:
        return self.pnl > 0
