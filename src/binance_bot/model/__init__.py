"""Pure domain types: exact ``Decimal`` money, frozen dataclasses, no I/O and no torch."""

from binance_bot.model.enums import (
    ExecutionType,
    ListOrderStatus,
    ListStatusType,
    Mode,
    OrderRespType,
    OrderStatus,
    OrderType,
    Side,
    SymbolStatus,
    TimeInForce,
)
from binance_bot.model.events import (
    AccountUpdate,
    BarEvent,
    BookTickerEvent,
    ExecutionReport,
    ListStatus,
    MarketEvent,
    StreamGap,
    UserEvent,
)
from binance_bot.model.instrument import FilterViolation, SymbolRules
from binance_bot.model.intervals import ALL_INTERVALS, INTERVAL_MS, floor_open_time, interval_ms
from binance_bot.model.ledger import Balance, Ledger
from binance_bot.model.market import Bar, BookTicker, Ticker24h, Trade
from binance_bot.model.numbers import ZERO, fmt, quantize_step, to_decimal
from binance_bot.model.orders import (
    Fill,
    IntentState,
    OcoRequest,
    Order,
    OrderIntent,
    OrderList,
    OrderRequest,
)
from binance_bot.model.position import ClosedTrade, Position

__all__ = [
    "ALL_INTERVALS",
    "INTERVAL_MS",
    "ZERO",
    "AccountUpdate",
    "Balance",
    "Bar",
    "BarEvent",
    "BookTicker",
    "BookTickerEvent",
    "ClosedTrade",
    "ExecutionReport",
    "ExecutionType",
    "Fill",
    "FilterViolation",
    "IntentState",
    "Ledger",
    "ListOrderStatus",
    "ListStatus",
    "ListStatusType",
    "MarketEvent",
    "Mode",
    "OcoRequest",
    "Order",
    "OrderIntent",
    "OrderList",
    "OrderRequest",
    "OrderRespType",
    "OrderStatus",
    "OrderType",
    "Position",
    "Side",
    "StreamGap",
    "SymbolRules",
    "SymbolStatus",
    "Ticker24h",
    "TimeInForce",
    "Trade",
    "UserEvent",
    "floor_open_time",
    "fmt",
    "interval_ms",
    "quantize_step",
    "to_decimal",
]
