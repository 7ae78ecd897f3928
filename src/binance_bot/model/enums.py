"""Binance's enumerations, spelled exactly as they appear on the wire."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP_LOSS = "STOP_LOSS"
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"

    @property
    def is_conditional(self) -> bool:
        """Stop and take-profit orders wait for ``stopPrice`` before they work."""
        return self in _CONDITIONAL

    @property
    def has_limit_price(self) -> bool:
        return self in _WITH_LIMIT_PRICE


_CONDITIONAL = frozenset(
    {OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT}
)
_WITH_LIMIT_PRICE = frozenset(
    {OrderType.LIMIT, OrderType.LIMIT_MAKER, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT}
)


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    PENDING_CANCEL = "PENDING_CANCEL"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)

    @property
    def is_final(self) -> bool:
        return not self.is_open and self is not OrderStatus.PENDING_CANCEL


class ExecutionType(StrEnum):
    NEW = "NEW"
    CANCELED = "CANCELED"
    REPLACED = "REPLACED"
    REJECTED = "REJECTED"
    TRADE = "TRADE"
    EXPIRED = "EXPIRED"
    TRADE_PREVENTION = "TRADE_PREVENTION"


class OrderRespType(StrEnum):
    ACK = "ACK"
    RESULT = "RESULT"
    FULL = "FULL"


class ListStatusType(StrEnum):
    RESPONSE = "RESPONSE"
    EXEC_STARTED = "EXEC_STARTED"
    UPDATED = "UPDATED"
    ALL_DONE = "ALL_DONE"


class ListOrderStatus(StrEnum):
    EXECUTING = "EXECUTING"
    ALL_DONE = "ALL_DONE"
    REJECT = "REJECT"


class SymbolStatus(StrEnum):
    TRADING = "TRADING"
    END_OF_DAY = "END_OF_DAY"
    HALT = "HALT"
    BREAK = "BREAK"
    CANCEL_ONLY = "CANCEL_ONLY"


class Mode(StrEnum):
    """Where orders go. ``backtest`` replays history in-process with a simulated clock."""

    PAPER = "paper"
    TESTNET = "testnet"
    LIVE = "live"
    BACKTEST = "backtest"
