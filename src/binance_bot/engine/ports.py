"""The engine's ports: what it needs from the outside world, and nothing more.

The kernel is assembled from objects that satisfy these protocols. Live and testnet trading
hand it the Binance connector; paper trading hands it the same connector pointed at the
embedded simulator, or the in-process paper exchange; backtest replay hands it the paper
exchange with a simulated clock. The engine never imports an adapter.

Conventions every adapter keeps:

* Money is ``Decimal``; times are epoch milliseconds (UTC).
* Errors are ``binance_bot.errors`` classes: ``OrderRejected``/``InsufficientFunds`` (do not
  retry), ``UnknownOrder``, ``TemporaryExchangeError`` (for an order this means *status
  unknown*: look it up by client order id before sending again), ``RateLimited``.
* ``place_order`` returns the order as the exchange acknowledged it (FULL response: fills
  included when it executed at once); later changes arrive as user events.
* A market stream delivers each *closed* bar exactly once per (symbol, interval), in order,
  repairing gaps after reconnects; partial-bar updates may be delivered with ``closed=False``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from binance_bot.model import (
    Balance,
    Bar,
    BookTicker,
    ClosedTrade,
    Fill,
    MarketEvent,
    OcoRequest,
    Order,
    OrderIntent,
    OrderList,
    OrderRequest,
    Position,
    SymbolRules,
    Ticker24h,
    UserEvent,
)


@runtime_checkable
class Clock(Protocol):
    """Wall time for live trading, simulated time for replay."""

    def now_ms(self) -> int: ...

    async def sleep(self, seconds: float) -> None: ...


@runtime_checkable
class ExchangeClient(Protocol):
    """Spot trading and market-data calls, in model types."""

    async def server_time(self) -> int: ...

    async def exchange_info(self, symbols: Sequence[str] | None = None) -> dict[str, SymbolRules]: ...

    async def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 500,
    ) -> list[Bar]: ...

    async def book_ticker(self, symbol: str) -> BookTicker: ...

    async def ticker_price(self, symbol: str) -> Decimal: ...

    async def avg_price(self, symbol: str) -> Decimal: ...

    async def tickers_24h(self, symbols: Sequence[str] | None = None) -> list[Ticker24h]: ...

    async def place_order(self, request: OrderRequest) -> Order: ...

    async def place_oco(self, request: OcoRequest) -> OrderList: ...

    async def cancel_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order: ...

    async def cancel_order_list(
        self, symbol: str, *, list_client_order_id: str | None = None, order_list_id: int | None = None
    ) -> OrderList: ...

    async def cancel_open_orders(self, symbol: str) -> list[Order]: ...

    async def get_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order: ...

    async def open_orders(self, symbol: str | None = None) -> list[Order]: ...

    async def balances(self) -> list[Balance]: ...

    async def my_trades(
        self,
        symbol: str,
        *,
        start_time: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> list[Fill]: ...

    def metrics(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...


@runtime_checkable
class MarketStream(Protocol):
    """Kline (and optionally book ticker) events for the subscribed symbols."""

    async def subscribe(self, symbols: Sequence[str], interval: str) -> None: ...

    def events(self) -> AsyncIterator[MarketEvent]: ...

    async def close(self) -> None: ...


@runtime_checkable
class UserStream(Protocol):
    """Our own order, list and balance changes; a ``StreamGap`` after every reconnect."""

    async def start(self) -> None: ...

    def events(self) -> AsyncIterator[UserEvent]: ...

    async def close(self) -> None: ...


@runtime_checkable
class StateStore(Protocol):
    """Crash-safe state (``binance_bot.persistence``), or memory for replays and tests.

    Every method commits before it returns: what was recorded survives a SIGKILL.
    """

    def start_run(
        self, run_id: str, *, started_at: int, mode: str, strategy: str, config: dict[str, Any]
    ) -> None: ...

    def end_run(self, run_id: str, *, ended_at: int, status: str) -> None: ...

    def record_intent(self, intent: OrderIntent) -> None: ...

    def update_intent(
        self,
        client_order_id: str,
        state: str,
        *,
        now_ms: int,
        reject_code: int | None = None,
        reject_msg: str | None = None,
    ) -> None: ...

    def intents(self, *, state: str | None = None, symbol: str | None = None) -> list[OrderIntent]: ...

    def get_intent(self, client_order_id: str) -> OrderIntent | None: ...

    def upsert_order(self, order: Order) -> None: ...

    def record_fill(self, fill: Fill) -> bool: ...

    def has_fill(self, symbol: str, trade_id: int) -> bool: ...

    def commit_fill(
        self,
        fill: Fill,
        *,
        position: Position | None = None,
        closed: tuple[str, ClosedTrade] | None = None,
    ) -> bool: ...

    def last_fill_time(self, symbol: str) -> int | None: ...

    def save_position(self, position: Position) -> None: ...

    def delete_position(self, symbol: str) -> None: ...

    def positions(self) -> dict[str, Position]: ...

    def close_position(self, run_id: str, trade: ClosedTrade) -> None: ...

    def record_equity(
        self, run_id: str, *, time: int, equity: Decimal, free_quote: Decimal, positions_value: Decimal
    ) -> None: ...

    def get_setting(self, key: str, default: str | None = None) -> str | None: ...

    def set_setting(self, key: str, value: str) -> None: ...

    def delete_settings(self, keys: Any) -> None: ...

    def maintenance(self) -> None:
        """Housekeeping the kernel runs in a thread now and then (e.g. a WAL checkpoint)."""
