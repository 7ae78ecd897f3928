"""Events that flow from the exchange (or the paper exchange) into the engine."""

from __future__ import annotations

from dataclasses import dataclass

from binance_bot.model.enums import ExecutionType
from binance_bot.model.ledger import Balance
from binance_bot.model.market import Bar, BookTicker
from binance_bot.model.orders import Fill, Order, OrderList


@dataclass(frozen=True, slots=True)
class BarEvent:
    """A kline update; the engine decides only on ``bar.closed``."""

    bar: Bar
    event_time: int


@dataclass(frozen=True, slots=True)
class BookTickerEvent:
    ticker: BookTicker
    event_time: int


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """One order change (``executionReport``): the order after the change and the fill, if any."""

    order: Order
    execution_type: ExecutionType
    event_time: int
    fill: Fill | None = None
    reject_reason: str = "NONE"


@dataclass(frozen=True, slots=True)
class ListStatus:
    order_list: OrderList
    event_time: int


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """``outboundAccountPosition``: the balances that changed."""

    balances: tuple[Balance, ...]
    event_time: int


@dataclass(frozen=True, slots=True)
class StreamGap:
    """The stream reconnected; the engine must reconcile orders and balances over REST."""

    reason: str
    event_time: int


UserEvent = ExecutionReport | ListStatus | AccountUpdate | StreamGap
MarketEvent = BarEvent | BookTickerEvent
