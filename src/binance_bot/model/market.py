"""Market data: candles (bars), best bid/ask and trades, with exact ``Decimal`` prices."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from binance_bot.model.numbers import ZERO


@dataclass(frozen=True, slots=True)
class Bar:
    """One kline. ``open_time``/``close_time`` are epoch ms, UTC; ``closed`` is Binance's ``x``."""

    symbol: str
    interval: str
    open_time: int
    close_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal = ZERO
    trades: int = 0
    taker_buy_base: Decimal = ZERO
    taker_buy_quote: Decimal = ZERO
    closed: bool = True

    def ohlc_problem(self) -> str | None:
        """Why the bar is inconsistent, or ``None`` when high/low bound open/close."""
        if min(self.open, self.high, self.low, self.close) <= 0:
            return "prices must be > 0"
        if self.volume < 0:
            return "volume must be >= 0"
        if self.high < max(self.open, self.close, self.low):
            return f"high {self.high} is below open/close/low"
        if self.low > min(self.open, self.close):
            return f"low {self.low} is above open/close"
        return None


@dataclass(frozen=True, slots=True)
class BookTicker:
    """Best bid and ask (``@bookTicker`` / ``GET /api/v3/ticker/bookTicker``)."""

    symbol: str
    bid_price: Decimal
    bid_qty: Decimal
    ask_price: Decimal
    ask_qty: Decimal
    update_id: int = 0

    @property
    def mid(self) -> Decimal:
        return (self.bid_price + self.ask_price) / 2


@dataclass(frozen=True, slots=True)
class Trade:
    """A public trade (``@trade``/``@aggTrade``); ``buyer_is_maker`` is Binance's ``m``."""

    symbol: str
    trade_id: int
    price: Decimal
    qty: Decimal
    time: int
    buyer_is_maker: bool


@dataclass(frozen=True, slots=True)
class Ticker24h:
    """The fields of ``GET /api/v3/ticker/24hr`` the bot uses (asset selection, dashboards)."""

    symbol: str
    last_price: Decimal
    price_change_percent: Decimal
    volume: Decimal
    quote_volume: Decimal
    open_time: int = 0
    close_time: int = 0
