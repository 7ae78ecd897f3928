"""Stream schemas: market streams (kline, bookTicker, aggTrade, trade) and user-data events.

Market payloads arrive raw (``/ws/<stream>``) or wrapped (``{"stream": ..., "data": ...}``
on ``/stream``); user events arrive wrapped by the WebSocket API (``{"subscriptionId": 0,
"event": ...}``). The ``unwrap_*`` helpers peel those layers so the parsers see Binance's
documented payloads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from binance_bot.exchange.binance.wire._fields import (
    WireFormatError,
    dec,
    enum_,
    get,
    int_,
    opt_dec,
    opt_int,
    require_mapping,
    str_,
    wnum,
)
from binance_bot.exchange.binance.wire.orders import parse_order_list
from binance_bot.model import (
    AccountUpdate,
    Balance,
    Bar,
    BarEvent,
    BookTicker,
    BookTickerEvent,
    ExecutionReport,
    ExecutionType,
    Fill,
    ListStatus,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    Trade,
)
from binance_bot.model.numbers import ZERO


@dataclass(frozen=True, slots=True)
class BalanceDelta:
    """``balanceUpdate``: a deposit, withdrawal or transfer changed one asset's balance."""

    asset: str
    delta: Decimal
    event_time: int
    clear_time: int


@dataclass(frozen=True, slots=True)
class StreamTerminated:
    """``eventStreamTerminated``: the subscription ended (logout or unsubscribe)."""

    event_time: int


@dataclass(frozen=True, slots=True)
class ServerShutdown:
    """``serverShutdown``: the server will close this connection soon; reconnect early."""

    event_time: int


# ---------------------------------------------------------------- wrappers
def unwrap_combined(message: object) -> tuple[str | None, Mapping[str, Any]]:
    """``(stream name, payload)`` of a market message, raw or combined."""
    obj = require_mapping(message, "message")
    if "stream" in obj and "data" in obj:
        return str_(obj, "stream"), require_mapping(obj["data"], "data")
    return None, obj


def wrap_combined(stream: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"stream": stream, "data": dict(data)}


def unwrap_user_event(message: object) -> Mapping[str, Any]:
    obj = require_mapping(message, "message")
    if "event" in obj:
        return require_mapping(obj["event"], "event")
    return obj


def wrap_user_event(subscription_id: int, event: Mapping[str, Any]) -> dict[str, Any]:
    return {"subscriptionId": subscription_id, "event": dict(event)}


# ---------------------------------------------------------------- kline
def parse_kline_event(payload: object) -> BarEvent:
    obj = require_mapping(payload, "kline event")
    k = require_mapping(get(obj, "k"), "k")
    bar = Bar(
        symbol=str_(k, "s"),
        interval=str_(k, "i"),
        open_time=int_(k, "t"),
        close_time=int_(k, "T"),
        open=dec(k, "o"),
        high=dec(k, "h"),
        low=dec(k, "l"),
        close=dec(k, "c"),
        volume=dec(k, "v"),
        quote_volume=opt_dec(k, "q", ZERO),
        trades=opt_int(k, "n", 0),
        taker_buy_base=opt_dec(k, "V", ZERO),
        taker_buy_quote=opt_dec(k, "Q", ZERO),
        closed=get(k, "x") is True,
    )
    return BarEvent(bar=bar, event_time=int_(obj, "E"))


def write_kline_event(
    bar: Bar, event_time: int, *, first_trade_id: int = -1, last_trade_id: int = -1
) -> dict[str, Any]:
    return {
        "e": "kline",
        "E": event_time,
        "s": bar.symbol,
        "k": {
            "t": bar.open_time,
            "T": bar.close_time,
            "s": bar.symbol,
            "i": bar.interval,
            "f": first_trade_id,
            "L": last_trade_id,
            "o": wnum(bar.open),
            "c": wnum(bar.close),
            "h": wnum(bar.high),
            "l": wnum(bar.low),
            "v": wnum(bar.volume),
            "n": bar.trades,
            "x": bar.closed,
            "q": wnum(bar.quote_volume),
            "V": wnum(bar.taker_buy_base),
            "Q": wnum(bar.taker_buy_quote),
            "B": "0",
        },
    }


# ---------------------------------------------------------------- book ticker
def parse_book_ticker_event(payload: object, received_ms: int) -> BookTickerEvent:
    """``@bookTicker`` has no event time, so the receive time stands in for it."""
    obj = require_mapping(payload, "bookTicker event")
    ticker = BookTicker(
        symbol=str_(obj, "s"),
        bid_price=dec(obj, "b"),
        bid_qty=dec(obj, "B"),
        ask_price=dec(obj, "a"),
        ask_qty=dec(obj, "A"),
        update_id=int_(obj, "u"),
    )
    return BookTickerEvent(ticker=ticker, event_time=opt_int(obj, "E", received_ms))


def write_book_ticker_event(ticker: BookTicker) -> dict[str, Any]:
    return {
        "u": ticker.update_id,
        "s": ticker.symbol,
        "b": wnum(ticker.bid_price),
        "B": wnum(ticker.bid_qty),
        "a": wnum(ticker.ask_price),
        "A": wnum(ticker.ask_qty),
    }


# ---------------------------------------------------------------- trades
def parse_agg_trade(payload: object) -> Trade:
    """``@aggTrade`` (or a ``GET /api/v3/aggTrades`` row, which lacks ``e``/``s``)."""
    obj = require_mapping(payload, "aggTrade")
    return Trade(
        symbol=str(obj.get("s", "")),
        trade_id=int_(obj, "a"),
        price=dec(obj, "p"),
        qty=dec(obj, "q"),
        time=int_(obj, "T"),
        buyer_is_maker=get(obj, "m") is True,
    )


def write_agg_trade(trade: Trade, event_time: int, *, first_id: int, last_id: int) -> dict[str, Any]:
    return {
        "e": "aggTrade",
        "E": event_time,
        "s": trade.symbol,
        "a": trade.trade_id,
        "p": wnum(trade.price),
        "q": wnum(trade.qty),
        "f": first_id,
        "l": last_id,
        "T": trade.time,
        "m": trade.buyer_is_maker,
        "M": True,
    }


def parse_trade_event(payload: object) -> Trade:
    obj = require_mapping(payload, "trade")
    return Trade(
        symbol=str_(obj, "s"),
        trade_id=int_(obj, "t"),
        price=dec(obj, "p"),
        qty=dec(obj, "q"),
        time=int_(obj, "T"),
        buyer_is_maker=get(obj, "m") is True,
    )


def write_trade_event(trade: Trade, event_time: int) -> dict[str, Any]:
    return {
        "e": "trade",
        "E": event_time,
        "s": trade.symbol,
        "t": trade.trade_id,
        "p": wnum(trade.price),
        "q": wnum(trade.qty),
        "T": trade.time,
        "m": trade.buyer_is_maker,
        "M": True,
    }


def parse_market_event(
    payload: Mapping[str, Any], received_ms: int
) -> BarEvent | BookTickerEvent | Trade | ServerShutdown | None:
    """Dispatch an unwrapped market payload by its ``e`` (bookTicker has none); ``None`` for
    event kinds this client does not use."""
    kind = payload.get("e")
    if kind == "kline":
        return parse_kline_event(payload)
    if kind == "aggTrade":
        return parse_agg_trade(payload)
    if kind == "trade":
        return parse_trade_event(payload)
    if kind == "serverShutdown":
        return ServerShutdown(event_time=int_(payload, "E"))
    if kind is None and "u" in payload and "b" in payload and "a" in payload:
        return parse_book_ticker_event(payload, received_ms)
    return None


# ---------------------------------------------------------------- user data
def parse_execution_report(payload: object) -> ExecutionReport:
    obj = require_mapping(payload, "executionReport")
    orig = obj.get("C")
    client_id = orig if isinstance(orig, str) and orig else str_(obj, "c")
    order = Order(
        symbol=str_(obj, "s"),
        order_id=int_(obj, "i"),
        client_order_id=client_id,
        side=enum_(obj, "S", Side),
        type=enum_(obj, "o", OrderType),
        status=enum_(obj, "X", OrderStatus),
        orig_qty=dec(obj, "q"),
        executed_qty=dec(obj, "z"),
        cummulative_quote_qty=opt_dec(obj, "Z", ZERO),
        price=dec(obj, "p"),
        stop_price=opt_dec(obj, "P", ZERO),
        time_in_force=enum_(obj, "f", TimeInForce),
        order_list_id=opt_int(obj, "g", -1),
        time=opt_int(obj, "O", 0),
        update_time=int_(obj, "T"),
        orig_quote_order_qty=opt_dec(obj, "Q", ZERO),
        working_time=opt_int(obj, "W", -1),
    )
    execution = enum_(obj, "x", ExecutionType)
    fill = None
    if execution is ExecutionType.TRADE:
        asset = obj.get("N")
        fill = Fill(
            symbol=order.symbol,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            trade_id=int_(obj, "t"),
            side=order.side,
            price=dec(obj, "L"),
            qty=dec(obj, "l"),
            commission=opt_dec(obj, "n", ZERO),
            commission_asset=asset if isinstance(asset, str) else "",
            time=order.update_time,
            is_maker=get(obj, "m") is True,
        )
    reason = obj.get("r", "NONE")
    return ExecutionReport(
        order=order,
        execution_type=execution,
        event_time=int_(obj, "E"),
        fill=fill,
        reject_reason=reason if isinstance(reason, str) else "NONE",
    )


def write_execution_report(
    report: ExecutionReport, *, cancel_client_order_id: str | None = None, execution_id: int = 0
) -> dict[str, Any]:
    """``executionReport``. On a cancel, ``c`` is the cancel request's id and ``C`` the order's."""
    o, f = report.order, report.fill
    canceled = report.execution_type is ExecutionType.CANCELED
    last_qty = f.qty if f else ZERO
    last_price = f.price if f else ZERO
    return {
        "e": "executionReport",
        "E": report.event_time,
        "s": o.symbol,
        "c": (cancel_client_order_id or o.client_order_id) if canceled else o.client_order_id,
        "S": o.side.value,
        "o": o.type.value,
        "f": o.time_in_force.value,
        "q": wnum(o.orig_qty),
        "p": wnum(o.price),
        "P": wnum(o.stop_price),
        "F": wnum(ZERO),
        "g": o.order_list_id,
        "C": o.client_order_id if canceled else "",
        "x": report.execution_type.value,
        "X": o.status.value,
        "r": report.reject_reason,
        "i": o.order_id,
        "l": wnum(last_qty),
        "z": wnum(o.executed_qty),
        "L": wnum(last_price),
        "n": wnum(f.commission) if f else "0",
        "N": f.commission_asset if f else None,
        "T": o.update_time,
        "t": f.trade_id if f else -1,
        "v": 0,
        "I": execution_id,
        "w": o.status.is_open,
        "m": f.is_maker if f else False,
        "M": False,
        "O": o.time,
        "Z": wnum(o.cummulative_quote_qty),
        "Y": wnum(last_qty * last_price),
        "Q": wnum(o.orig_quote_order_qty),
        "W": o.working_time,
        "V": "NONE",
    }


def parse_account_position(payload: object) -> AccountUpdate:
    obj = require_mapping(payload, "outboundAccountPosition")
    rows = get(obj, "B")
    if not isinstance(rows, list):
        raise WireFormatError("B", "expected an array", payload=obj)
    balances = []
    for row in rows:
        b = require_mapping(row, "B[]")
        balances.append(Balance(asset=str_(b, "a"), free=dec(b, "f"), locked=dec(b, "l")))
    return AccountUpdate(balances=tuple(balances), event_time=int_(obj, "E"))


def write_account_position(update: AccountUpdate, *, last_update_time: int | None = None) -> dict[str, Any]:
    return {
        "e": "outboundAccountPosition",
        "E": update.event_time,
        "u": update.event_time if last_update_time is None else last_update_time,
        "B": [{"a": b.asset, "f": wnum(b.free), "l": wnum(b.locked)} for b in update.balances],
    }


def parse_balance_update(payload: object) -> BalanceDelta:
    obj = require_mapping(payload, "balanceUpdate")
    return BalanceDelta(
        asset=str_(obj, "a"), delta=dec(obj, "d"), event_time=int_(obj, "E"), clear_time=int_(obj, "T")
    )


def write_balance_update(delta: BalanceDelta) -> dict[str, Any]:
    return {
        "e": "balanceUpdate",
        "E": delta.event_time,
        "a": delta.asset,
        "d": wnum(delta.delta),
        "T": delta.clear_time,
    }


def parse_list_status_event(payload: object, known: Mapping[int, Order] | None = None) -> ListStatus:
    """``listStatus``. It names the legs only by id; full leg states come from ``known``."""
    obj = require_mapping(payload, "listStatus")
    legs = get(obj, "O")
    if not isinstance(legs, list):
        raise WireFormatError("O", "expected an array", payload=obj)
    as_rest = {
        "orderListId": get(obj, "g"),
        "listStatusType": get(obj, "l"),
        "listOrderStatus": get(obj, "L"),
        "listClientOrderId": get(obj, "C"),
        "transactionTime": get(obj, "T"),
        "symbol": get(obj, "s"),
        "orders": [
            {"symbol": leg.get("s"), "orderId": leg.get("i"), "clientOrderId": leg.get("c")}
            for leg in (require_mapping(x, "O[]") for x in legs)
        ],
    }
    return ListStatus(order_list=parse_order_list(as_rest, known), event_time=int_(obj, "E"))


def write_list_status_event(status: ListStatus, *, reject_reason: str = "NONE") -> dict[str, Any]:
    ol = status.order_list
    return {
        "e": "listStatus",
        "E": status.event_time,
        "s": ol.symbol,
        "g": ol.order_list_id,
        "c": "OCO",
        "l": ol.list_status_type,
        "L": ol.list_order_status,
        "r": reject_reason,
        "C": ol.list_client_order_id,
        "T": ol.transaction_time,
        "O": [{"s": o.symbol, "i": o.order_id, "c": o.client_order_id} for o in ol.orders],
    }


UserPayload = ExecutionReport | ListStatus | AccountUpdate | BalanceDelta | StreamTerminated | ServerShutdown


def parse_user_event(message: object, known: Mapping[int, Order] | None = None) -> UserPayload | None:
    """Dispatch a user-data event (wrapped or not) by ``e``; ``None`` for kinds the bot
    does not use (``externalLockUpdate`` and future additions)."""
    obj = unwrap_user_event(message)
    kind = obj.get("e")
    if kind == "executionReport":
        return parse_execution_report(obj)
    if kind == "outboundAccountPosition":
        return parse_account_position(obj)
    if kind == "balanceUpdate":
        return parse_balance_update(obj)
    if kind == "listStatus":
        return parse_list_status_event(obj, known)
    if kind == "eventStreamTerminated":
        return StreamTerminated(event_time=int_(obj, "E"))
    if kind == "serverShutdown":
        return ServerShutdown(event_time=int_(obj, "E"))
    if not isinstance(kind, str):
        raise WireFormatError("e", "missing event type", payload=obj)
    return None


def stream_names(symbols: Iterable[str], suffix: str) -> list[str]:
    """Binance stream names are lowercase: ``btcusdt@kline_1h``."""
    return [f"{s.lower()}@{suffix}" for s in symbols]
