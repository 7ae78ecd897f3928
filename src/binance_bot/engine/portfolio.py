"""Positions and round trips, accounted exactly from fills.

A long is opened by BUY fills and closed by SELL fills. Commissions are charged in the
asset received (Binance's default): a BUY's commission comes out of the base asset, so we
hold a little less than we bought; a SELL's comes out of the quote received. ``held`` is
what we actually own; ``cost`` is all quote paid; ``proceeds`` all quote received net of
commission, so a trade's PnL is exactly ``proceeds - cost`` whatever the fee asset.

A SELL can only sell whole steps, so a remainder smaller than one step ("dust") may be left.
It closes the position (it cannot be sold) and is tracked per symbol, so reconciliation can
tell our dust from a balance it cannot explain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from binance_bot.model import ClosedTrade, Fill, Position, Side, SymbolRules
from binance_bot.model.numbers import ZERO


@dataclass(slots=True)
class OpenLong:
    """A long being built, held or unwound."""

    symbol: str
    opened_at: int
    entry_client_order_id: str
    bought: Decimal = ZERO
    held: Decimal = ZERO
    cost: Decimal = ZERO
    sold: Decimal = ZERO
    proceeds: Decimal = ZERO
    fees_quote: Decimal = ZERO
    stop_price: Decimal = ZERO
    stop_limit_price: Decimal = ZERO
    take_profit_price: Decimal = ZERO
    protection_list_id: int = -1
    protection_list_client_id: str = ""
    exit_reason: str = ""
    last_fill_time: int = 0

    @property
    def entry_price(self) -> Decimal:
        """Average buy price (quote paid per base bought, before commission)."""
        if self.bought == 0:
            return ZERO
        return (self.cost - self._quote_fees_on_buys) / self.bought

    _quote_fees_on_buys: Decimal = ZERO
    _sell_value: Decimal = ZERO

    @property
    def exit_price(self) -> Decimal:
        return self._sell_value / self.sold if self.sold else ZERO

    def to_position(self) -> Position:
        return Position(
            symbol=self.symbol,
            qty=self.held,
            entry_price=self.entry_price,
            stop_price=self.stop_price,
            take_profit_price=self.take_profit_price,
            opened_at=self.opened_at,
            cost=self.cost,
            fees_quote=self.fees_quote,
            entry_client_order_id=self.entry_client_order_id,
            protection_list_id=self.protection_list_id,
        )

    @classmethod
    def from_position(cls, pos: Position, *, stop_limit_price: Decimal = ZERO) -> OpenLong:
        return cls(
            symbol=pos.symbol,
            opened_at=pos.opened_at,
            entry_client_order_id=pos.entry_client_order_id,
            bought=pos.qty,
            held=pos.qty,
            cost=pos.cost,
            fees_quote=pos.fees_quote,
            stop_price=pos.stop_price,
            stop_limit_price=stop_limit_price,
            take_profit_price=pos.take_profit_price,
            protection_list_id=pos.protection_list_id,
            _quote_fees_on_buys=ZERO,
        )


@dataclass(slots=True)
class Portfolio:
    """Open longs by symbol, closed trades in order, and per-symbol dust."""

    quote_asset: str
    rules: dict[str, SymbolRules] = field(default_factory=dict)
    longs: dict[str, OpenLong] = field(default_factory=dict)
    closed: list[ClosedTrade] = field(default_factory=list)
    dust: dict[str, Decimal] = field(default_factory=dict)

    def position(self, symbol: str) -> OpenLong | None:
        return self.longs.get(symbol)

    @property
    def open_count(self) -> int:
        return len(self.longs)

    def open(self, symbol: str, *, at_ms: int, entry_client_order_id: str) -> OpenLong:
        pos = self.longs.get(symbol)
        if pos is None:
            pos = OpenLong(symbol=symbol, opened_at=at_ms, entry_client_order_id=entry_client_order_id)
            self.longs[symbol] = pos
        return pos

    def apply_buy(self, fill: Fill) -> OpenLong:
        """Account a BUY fill into the symbol's long (opening it if needed)."""
        if fill.side is not Side.BUY:
            raise ValueError("apply_buy needs a BUY fill")
        pos = self.open(fill.symbol, at_ms=fill.time, entry_client_order_id=fill.client_order_id)
        rules = self.rules.get(fill.symbol)
        base = rules.base_asset if rules else None
        value = fill.price * fill.qty
        pos.bought += fill.qty
        pos.cost += value
        if base is not None and fill.commission_asset == base:
            pos.held += fill.qty - fill.commission
            pos.fees_quote += fill.commission * fill.price
        else:
            pos.held += fill.qty
            if fill.commission_asset == self.quote_asset:
                pos.cost += fill.commission
                pos._quote_fees_on_buys += fill.commission
                pos.fees_quote += fill.commission
        pos.last_fill_time = fill.time
        return pos

    def apply_sell(self, fill: Fill) -> ClosedTrade | None:
        """Account a SELL fill; returns the round trip when the long is fully closed."""
        if fill.side is not Side.SELL:
            raise ValueError("apply_sell needs a SELL fill")
        pos = self.longs.get(fill.symbol)
        if pos is None:
            return None
        value = fill.price * fill.qty
        pos.sold += fill.qty
        pos._sell_value += value
        pos.held -= fill.qty
        if fill.commission_asset == self.quote_asset:
            pos.proceeds += value - fill.commission
            pos.fees_quote += fill.commission
        else:
            pos.proceeds += value
            pos.held -= fill.commission
            pos.fees_quote += fill.commission * fill.price
        pos.last_fill_time = fill.time
        if self.is_dust(fill.symbol, pos.held):
            return self._close(pos, fill.time)
        return None

    def is_dust(self, symbol: str, qty: Decimal) -> bool:
        """Below one sellable step (or zero): the position cannot be reduced any further."""
        rules = self.rules.get(symbol)
        if qty <= 0:
            return True
        if rules is None:
            return False
        step_floor = rules.round_qty(qty)
        return step_floor <= 0 or (rules.min_qty > 0 and step_floor < rules.min_qty)

    def _close(self, pos: OpenLong, at_ms: int) -> ClosedTrade:
        if pos.held > 0:
            self.dust[pos.symbol] = self.dust.get(pos.symbol, ZERO) + pos.held
        trade = ClosedTrade(
            symbol=pos.symbol,
            entry_time=pos.opened_at,
            exit_time=at_ms,
            entry_price=pos.entry_price,
            exit_price=pos.exit_price,
            qty=pos.bought,
            cost=pos.cost,
            proceeds=pos.proceeds,
            fees_quote=pos.fees_quote,
            exit_reason=pos.exit_reason or "unknown",
        )
        del self.longs[pos.symbol]
        self.closed.append(trade)
        return trade

    def abandon(self, symbol: str) -> None:
        """Forget an opened-but-never-filled long (its entry expired or was rejected)."""
        pos = self.longs.get(symbol)
        if pos is not None and pos.bought == 0:
            del self.longs[symbol]

    def sellable(self, symbol: str, free_base: Decimal | None = None) -> Decimal:
        """The quantity a SELL may carry: held (or free, if less), rounded down to the step."""
        pos = self.longs.get(symbol)
        if pos is None:
            return ZERO
        qty = pos.held if free_base is None else min(pos.held, free_base)
        rules = self.rules.get(symbol)
        return rules.round_qty(qty) if rules else qty

    def market_value(self, marks: dict[str, Decimal]) -> Decimal:
        return sum((pos.held * marks.get(s, pos.entry_price) for s, pos in self.longs.items()), ZERO)
