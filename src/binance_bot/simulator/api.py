"""The endpoints, independent of transport: REST and the WebSocket API call the same handlers.

Each :class:`Endpoint` states its security type, weight, accepted parameters and whether it
places orders; the transports do the rest (signatures, limits, faults, envelopes). Every
JSON payload is written by :mod:`binance_bot.exchange.binance.wire`, the schema the bot's own
client parses, so the two can never disagree on a field name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from binance_bot.exchange.binance import wire
from binance_bot.exchange.binance.wire import ApiRestrictions
from binance_bot.matching import (
    ListCanceled,
    NewOco,
    NewOrder,
    OcoLeg,
    OrderCanceled,
    Rejection,
)
from binance_bot.model import (
    Order,
    OrderList,
    OrderRespType,
    OrderStatus,
    OrderType,
    Side,
    SymbolStatus,
    Ticker24h,
    TimeInForce,
)
from binance_bot.model.numbers import MONEY_CONTEXT, ZERO
from binance_bot.simulator.core import Account, SimulatorCore
from binance_bot.simulator.klines import parse_time_zone, servable
from binance_bot.simulator.request import ApiError, Params, fail, illegal, invalid_value

_DAY_MS = 86_400_000
_SYMBOLS_PATTERN = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'


class Security(Enum):
    NONE = "NONE"
    SIGNED = "SIGNED"


@dataclass(slots=True)
class Call:
    """One request as the handlers see it: its parameters and the account it authenticated as."""

    params: Params
    account: Account | None
    protocol_ms: int
    running_clock: bool


Handler = Callable[[SimulatorCore, Call], Any]
Weight = Callable[[Params], int]


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    security: Security
    weight: Weight
    params: frozenset[str]
    handler: Handler
    new_orders: Callable[[Params], int] = lambda p: 0
    """Orders a successful call places (the unfilled-order count and X-MBX-ORDER-COUNT-*)."""
    order_endpoint: bool = False
    """Successful calls cost no weight (Binance since 2026-04) and answer order-count headers."""
    sapi: bool = False


def fixed(weight: int) -> Weight:
    return lambda _params: weight


def _account(call: Call) -> Account:
    assert call.account is not None, "signed endpoints always carry an account"
    return call.account


def _reject(rejection: Rejection) -> ApiError:
    return ApiError(rejection)


def _symbol(core: SimulatorCore, params: Params, name: str = "symbol") -> str:
    symbol = params.require(name)
    if symbol not in core.market.feeds:
        raise fail(-1121, "Invalid symbol.")
    return symbol


def _symbol_list(core: SimulatorCore, params: Params) -> list[str] | None:
    """``symbol`` or ``symbols`` (a JSON array); ``None`` when neither was sent."""
    symbol = params.text("symbol")
    raw = params.text("symbols")
    if symbol is not None and raw is not None:
        raise fail(-1128, "Combination of optional parameters invalid.")
    if symbol is not None:
        return [_symbol(core, params)]
    if raw is None:
        return None
    try:
        names = json.loads(raw)
    except json.JSONDecodeError:
        raise illegal("symbols", _SYMBOLS_PATTERN) from None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise illegal("symbols", _SYMBOLS_PATTERN)
    for name in names:
        if name not in core.market.feeds:
            raise fail(-1121, "Invalid symbol.")
    return list(dict.fromkeys(names))


def _symbols_weight(single: int, many: Callable[[int], int]) -> Weight:
    def weight(params: Params) -> int:
        if params.has("symbol"):
            return single
        raw = params.values.get("symbols")
        if raw:
            try:
                names = json.loads(raw)
            except json.JSONDecodeError:
                return single
            if isinstance(names, list):
                return many(len(names))
        return many(10**6)

    return weight


# ============================================================================ general
def ping(core: SimulatorCore, call: Call) -> Any:
    return {}


def server_time(core: SimulatorCore, call: Call) -> Any:
    return {"serverTime": core.protocol_clock.now_ms()}


def exchange_info(core: SimulatorCore, call: Call) -> Any:
    p = call.params
    names = _symbol_list(core, p)
    status_text = p.text("symbolStatus")
    permissions = p.text("permissions")
    p.boolean("showPermissionSets")
    if status_text is not None and names is not None:
        raise fail(-1128, "Combination of optional parameters invalid.")
    rules = [core.engine.rules(s) for s in (names or core.market.symbols)]
    if status_text is not None:
        status = p.enum("symbolStatus", SymbolStatus)
        rules = [r for r in rules if r.status is status]
    if permissions is not None:
        try:
            wanted = json.loads(permissions) if permissions.startswith("[") else [permissions]
        except json.JSONDecodeError:
            raise illegal("permissions", "SPOT, MARGIN, LEVERAGED, TRD_GRP_*") from None
        if "SPOT" not in wanted:
            rules = []
    return wire.write_exchange_info(rules, core.rate_limits(), core.protocol_clock.now_ms())


# ============================================================================ market data
def _depth_weight(params: Params) -> int:
    raw = params.values.get("limit")
    limit = int(raw) if raw and raw.isdigit() else 100
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def depth(core: SimulatorCore, call: Call) -> Any:
    symbol = _symbol(core, call.params)
    limit = call.params.limit("limit", 100, 5000, cap=True)
    bids, asks = core.market.depth(symbol, limit)
    return wire.write_depth(core.market.feed(symbol).update_id, bids, asks)


def klines(core: SimulatorCore, call: Call) -> Any:
    p = call.params
    symbol = _symbol(core, p)
    interval = p.require("interval")
    tz_text = p.text("timeZone")
    tz_ms = 0
    if tz_text is not None:
        parsed = parse_time_zone(tz_text)
        if parsed is None:
            raise invalid_value("timeZone")
        tz_ms = parsed
    if not servable(core.market.interval, interval, 0):
        raise fail(-1120, "Invalid interval.")
    if not servable(core.market.interval, interval, tz_ms):
        raise invalid_value("timeZone")
    start = p.integer("startTime")
    end = p.integer("endTime")
    limit = p.limit("limit", 500, 1000)
    if start is not None and end is not None and start > end:
        return []
    bars = core.market.klines(symbol, interval, start_ms=start, end_ms=end, limit=limit, tz_ms=tz_ms)
    return [wire.write_kline(b) for b in bars]


def avg_price(core: SimulatorCore, call: Call) -> Any:
    symbol = _symbol(core, call.params)
    price = core.market.avg_price(symbol)
    feed = core.market.feed(symbol)
    return wire.write_avg_price(price or ZERO, feed.rules.avg_price_mins, feed.last_time)


def ticker_price(core: SimulatorCore, call: Call) -> Any:
    names = _symbol_list(core, call.params)
    rows = [
        wire.write_ticker_price(s, core.market.last_price(s) or ZERO) for s in (names or core.market.symbols)
    ]
    return rows[0] if call.params.has("symbol") else rows


def book_ticker(core: SimulatorCore, call: Call) -> Any:
    names = _symbol_list(core, call.params)
    rows = [wire.write_book_ticker(core.market.book_ticker(s)) for s in (names or core.market.symbols)]
    return rows[0] if call.params.has("symbol") else rows


_MINI_KEYS = (
    "symbol",
    "openPrice",
    "highPrice",
    "lowPrice",
    "lastPrice",
    "volume",
    "quoteVolume",
    "openTime",
    "closeTime",
    "firstId",
    "lastId",
    "count",
)


def _ticker_24h_row(core: SimulatorCore, symbol: str, mini: bool) -> dict[str, Any]:
    stats = core.market.ticker_24h(symbol)
    now = core.market.now_ms
    if stats is None:
        row = wire.write_ticker_24h(Ticker24h(symbol, ZERO, ZERO, ZERO, ZERO, now - _DAY_MS, now))
    else:
        change = stats.last - stats.open_price
        pct = (
            (change / stats.open_price * 100).quantize(Decimal("0.001"), context=MONEY_CONTEXT)
            if stats.open_price
            else ZERO
        )
        book = core.market.book_ticker(symbol)
        feed = core.market.feed(symbol)
        weighted = (
            MONEY_CONTEXT.divide(stats.quote_volume, stats.volume).quantize(Decimal("0.00000001"))
            if stats.volume
            else stats.last
        )
        ticker = Ticker24h(
            symbol, stats.last, pct, stats.volume, stats.quote_volume, stats.open_time, stats.close_time
        )
        row = wire.write_ticker_24h(
            ticker,
            extra={
                "priceChange": wire.wnum(change),
                "priceChangePercent": f"{pct:f}",
                "weightedAvgPrice": wire.wnum(weighted),
                "prevClosePrice": wire.wnum(stats.open_price),
                "lastQty": wire.wnum(feed.last_trade_qty),
                "bidPrice": wire.wnum(book.bid_price),
                "bidQty": wire.wnum(book.bid_qty),
                "askPrice": wire.wnum(book.ask_price),
                "askQty": wire.wnum(book.ask_qty),
                "openPrice": wire.wnum(stats.open_price),
                "highPrice": wire.wnum(stats.high),
                "lowPrice": wire.wnum(stats.low),
                "firstId": stats.first_id,
                "lastId": stats.last_id,
                "count": stats.count,
            },
        )
    if mini:
        return {k: row[k] for k in _MINI_KEYS}
    return row


def ticker_24h(core: SimulatorCore, call: Call) -> Any:
    p = call.params
    names = _symbol_list(core, p)
    kind = p.text("type") or "FULL"
    if kind not in ("FULL", "MINI"):
        raise illegal("type", "FULL, MINI")
    rows = [_ticker_24h_row(core, s, kind == "MINI") for s in (names or core.market.symbols)]
    return rows[0] if p.has("symbol") else rows


# ============================================================================ orders
_UNSUPPORTED_ORDER_PARAMS = ("icebergQty", "trailingDelta", "pegPriceType", "pegOffsetValue", "pegOffsetType")
ORDER_PARAMS = frozenset(
    {
        "symbol",
        "side",
        "type",
        "timeInForce",
        "quantity",
        "quoteOrderQty",
        "price",
        "newClientOrderId",
        "strategyId",
        "strategyType",
        "stopPrice",
        "newOrderRespType",
        "selfTradePreventionMode",
        *_UNSUPPORTED_ORDER_PARAMS,
    }
)
_STP_MODES = ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT", "TRANSFER")


def _side(p: Params, name: str = "side") -> Side:
    side = p.enum(name, Side, required=True, invalid=fail(-1117, "Invalid side."))
    assert side is not None
    return side


def _order_type(p: Params, name: str) -> OrderType:
    kind = p.enum(name, OrderType, required=True, invalid=fail(-1116, "Invalid orderType."))
    assert kind is not None
    return kind


def _tif(p: Params, name: str) -> TimeInForce | None:
    return p.enum(name, TimeInForce, invalid=fail(-1115, "Invalid timeInForce."))


def _resp_type(p: Params) -> OrderRespType | None:
    return p.enum("newOrderRespType", OrderRespType)


def _common_order_checks(p: Params) -> None:
    for name in ("strategyId", "strategyType"):
        p.integer(name)
    stp = p.text("selfTradePreventionMode")
    if stp is not None and stp not in _STP_MODES:
        raise illegal("selfTradePreventionMode", ", ".join(_STP_MODES))


def parse_new_order(p: Params) -> NewOrder:
    symbol = p.require("symbol")
    side = _side(p)
    kind = _order_type(p, "type")
    _common_order_checks(p)
    for name in _UNSUPPORTED_ORDER_PARAMS:
        if p.text(name) is not None:
            raise fail(-2010, "Unsupported order combination")
    return NewOrder(
        symbol=symbol,
        side=side,
        type=kind,
        quantity=p.decimal("quantity"),
        quote_order_qty=p.decimal("quoteOrderQty"),
        price=p.decimal("price"),
        stop_price=p.decimal("stopPrice"),
        time_in_force=_tif(p, "timeInForce"),
        new_client_order_id=p.text("newClientOrderId"),
        new_order_resp_type=_resp_type(p),
    )


def _check_trading(core: SimulatorCore, call: Call, count: int) -> Account:
    account = _account(call)
    if not account.spec.can_trade:
        raise fail(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    refusal = core.limiter.admit_orders(account.key, count, call.protocol_ms)
    if refusal is not None:
        raise ApiError(
            Rejection(refusal.code, refusal.msg, http_status=refusal.status),
            retry_after_ms=refusal.retry_after_ms,
        )
    return account


def _latest(core: SimulatorCore, account: Account, order: Order) -> Order:
    found = core.engine.get_order(account.key, order.symbol, order_id=order.order_id)
    return found if isinstance(found, Order) else order


def new_order(core: SimulatorCore, call: Call) -> Any:
    request = parse_new_order(call.params)
    account = _check_trading(core, call, 1)
    result = core.engine.submit(account.key, request, core.market.now_ms)
    if isinstance(result, Rejection):
        raise _reject(result)
    core.limiter.add_orders(account.key, [(result.order.symbol, result.order.order_id)], call.protocol_ms)
    core.dispatch(result.events)
    if call.running_clock and request.type is OrderType.MARKET:
        core.market.price_now(request.symbol)
    order = _latest(core, account, result.order)
    return wire.write_order_response(order, result.resp_type, transact_time=result.transact_time)


_COMMISSION_PLACES = Decimal("0.00000001")


def test_order(core: SimulatorCore, call: Call) -> Any:
    request = parse_new_order(call.params)
    compute = call.params.boolean("computeCommissionRates")
    account = _account(call)
    if not account.spec.can_trade:
        raise fail(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    problem = core.engine.test_order(account.key, request, core.market.now_ms)
    if problem is not None:
        raise _reject(problem)
    if not compute:
        return {}
    s = core.engine.settings
    zero = wire.wnum(ZERO)
    return {
        "standardCommissionForOrder": {"maker": wire.wnum(s.maker_fee), "taker": wire.wnum(s.taker_fee)},
        "specialCommissionForOrder": {"maker": zero, "taker": zero},
        "taxCommissionForOrder": {"maker": zero, "taker": zero},
        "discount": {
            "enabledForAccount": False,
            "enabledForSymbol": False,
            "discountAsset": "BNB",
            "discount": zero,
        },
    }


def _test_weight(params: Params) -> int:
    return 20 if params.values.get("computeCommissionRates", "").lower() == "true" else 1


def _ids(p: Params) -> tuple[int | None, str | None]:
    return p.integer("orderId"), p.text("origClientOrderId")


def _cancel_ids(orders: tuple[Order, ...], cancel_id: str) -> dict[tuple[str, int], str]:
    return {(o.symbol, o.order_id): cancel_id for o in orders}


def cancel_order(core: SimulatorCore, call: Call) -> Any:
    p = call.params
    symbol = p.require("symbol")
    order_id, orig = _ids(p)
    new_id = p.text("newClientOrderId")
    restriction = p.text("cancelRestrictions")
    account = _account(call)
    if restriction is not None:
        if restriction not in ("ONLY_NEW", "ONLY_PARTIALLY_FILLED"):
            raise fail(-1145, "cancelRestrictions has to be either ONLY_NEW or ONLY_PARTIALLY_FILLED.")
        found = core.engine.get_order(account.key, symbol, order_id=order_id, orig_client_order_id=orig)
        if isinstance(found, Order) and found.is_open:
            allowed = OrderStatus.NEW if restriction == "ONLY_NEW" else OrderStatus.PARTIALLY_FILLED
            if found.status is not allowed:
                raise fail(-2011, "Order was not canceled due to cancel restrictions.")
    result = core.engine.cancel(
        account.key,
        symbol,
        order_id=order_id,
        orig_client_order_id=orig,
        new_client_order_id=new_id,
        now_ms=core.market.now_ms,
    )
    if isinstance(result, Rejection):
        raise _reject(result)
    _dispatch_cancel(core, result)
    return wire.write_cancel_response(
        result.order, cancel_client_order_id=result.cancel_client_order_id, transact_time=result.transact_time
    )


def _dispatch_cancel(core: SimulatorCore, result: OrderCanceled | ListCanceled) -> None:
    orders = result.order_list.orders if result.order_list is not None else ()
    if isinstance(result, OrderCanceled):
        orders = (*orders, result.order)
    core.dispatch(result.events, _cancel_ids(orders, result.cancel_client_order_id))


def _list_cancel_report(order_list: OrderList, cancel_id: str, transact_time: int) -> dict[str, Any]:
    out = wire.write_order_list(order_list, OrderRespType.ACK)
    out["orderReports"] = [
        wire.write_cancel_response(o, cancel_client_order_id=cancel_id, transact_time=transact_time)
        for o in order_list.orders
    ]
    return out


def cancel_open_orders(core: SimulatorCore, call: Call) -> Any:
    symbol = call.params.require("symbol")
    account = _account(call)
    result = core.engine.cancel_all(account.key, symbol, core.market.now_ms)
    if isinstance(result, Rejection):
        raise _reject(result)
    out: list[dict[str, Any]] = []
    ids: dict[tuple[str, int], str] = {}
    for order in result.orders:
        cancel_id = core.next_cancel_all_id()
        ids[(order.symbol, order.order_id)] = cancel_id
        out.append(
            wire.write_cancel_response(
                order, cancel_client_order_id=cancel_id, transact_time=result.transact_time
            )
        )
    for order_list in result.order_lists:
        cancel_id = core.next_cancel_all_id()
        ids.update(_cancel_ids(order_list.orders, cancel_id))
        out.append(_list_cancel_report(order_list, cancel_id, result.transact_time))
    core.dispatch(result.events, ids)
    return out


def get_order(core: SimulatorCore, call: Call) -> Any:
    p = call.params
    symbol = p.require("symbol")
    order_id, orig = _ids(p)
    found = core.engine.get_order(_account(call).key, symbol, order_id=order_id, orig_client_order_id=orig)
    if isinstance(found, Rejection):
        raise _reject(found)
    return wire.write_order_query(found)


def open_orders(core: SimulatorCore, call: Call) -> Any:
    p = call.params
    symbol = _symbol(core, p) if p.has("symbol") else None
    return [wire.write_order_query(o) for o in core.engine.open_orders(_account(call).key, symbol)]


def _window(p: Params) -> tuple[int | None, int | None]:
    start = p.integer("startTime")
    end = p.integer("endTime")
    if start is not None and end is not None:
        if end < start:
            raise fail(-1128, "Combination of optional parameters invalid.")
        if end - start > _DAY_MS:
            raise fail(-1127, "More than 24 hours between startTime and endTime.")
    return start, end


def all_orders(core: SimulatorCore, call: Call) -> Any:
    p = call.params
    symbol = _symbol(core, p)
    order_id = p.integer("orderId")
    start, end = _window(p)
    limit = p.limit("limit", 500, 1000)
    orders = core.engine.all_orders(
        _account(call).key, symbol, order_id=order_id, start_time=start, end_time=end, limit=limit
    )
    return [wire.write_order_query(o) for o in orders]


# ============================================================================ order lists
_LEG_SUFFIXES = (
    "Type",
    "ClientOrderId",
    "IcebergQty",
    "Price",
    "StopPrice",
    "TrailingDelta",
    "TimeInForce",
    "StrategyId",
    "StrategyType",
    "PegPriceType",
    "PegOffsetType",
    "PegOffsetValue",
)
OCO_PARAMS = frozenset(
    {
        "symbol",
        "listClientOrderId",
        "side",
        "quantity",
        "newOrderRespType",
        "selfTradePreventionMode",
        *(f"{leg}{suffix}" for leg in ("above", "below") for suffix in _LEG_SUFFIXES),
    }
)
LEGACY_OCO_PARAMS = frozenset(
    {
        "symbol",
        "listClientOrderId",
        "side",
        "quantity",
        "limitClientOrderId",
        "limitStrategyId",
        "limitStrategyType",
        "price",
        "limitIcebergQty",
        "trailingDelta",
        "stopClientOrderId",
        "stopPrice",
        "stopStrategyId",
        "stopStrategyType",
        "stopLimitPrice",
        "stopIcebergQty",
        "stopLimitTimeInForce",
        "newOrderRespType",
        "selfTradePreventionMode",
    }
)


def _leg(p: Params, prefix: str) -> OcoLeg:
    for suffix in ("IcebergQty", "TrailingDelta", "PegPriceType", "PegOffsetType", "PegOffsetValue"):
        if p.text(f"{prefix}{suffix}") is not None:
            raise fail(-2010, "Unsupported order combination")
    for suffix in ("StrategyId", "StrategyType"):
        p.integer(f"{prefix}{suffix}")
    return OcoLeg(
        type=_order_type(p, f"{prefix}Type"),
        price=p.decimal(f"{prefix}Price"),
        stop_price=p.decimal(f"{prefix}StopPrice"),
        time_in_force=_tif(p, f"{prefix}TimeInForce"),
        client_order_id=p.text(f"{prefix}ClientOrderId"),
    )


def parse_oco(p: Params) -> NewOco:
    symbol = p.require("symbol")
    side = _side(p)
    quantity = p.decimal("quantity", required=True)
    _common_order_checks(p)
    return NewOco(
        symbol=symbol,
        side=side,
        quantity=quantity,
        above=_leg(p, "above"),
        below=_leg(p, "below"),
        list_client_order_id=p.text("listClientOrderId"),
        new_order_resp_type=_resp_type(p),
    )


def parse_legacy_oco(p: Params) -> NewOco:
    """``POST /api/v3/order/oco``: a LIMIT_MAKER and a stop leg, placed by side."""
    symbol = p.require("symbol")
    side = _side(p)
    quantity = p.decimal("quantity", required=True)
    price = p.decimal("price", required=True)
    stop_price = p.decimal("stopPrice", required=True)
    stop_limit = p.decimal("stopLimitPrice")
    tif = _tif(p, "stopLimitTimeInForce")
    _common_order_checks(p)
    for name in ("limitIcebergQty", "stopIcebergQty", "trailingDelta"):
        if p.text(name) is not None:
            raise fail(-2010, "Unsupported order combination")
    for name in ("limitStrategyId", "limitStrategyType", "stopStrategyId", "stopStrategyType"):
        p.integer(name)
    if stop_limit is not None and tif is None:
        raise fail(-1102, "Param 'stopLimitTimeInForce' must be sent when 'stopLimitPrice' is sent.")
    limit_leg = OcoLeg(OrderType.LIMIT_MAKER, price=price, client_order_id=p.text("limitClientOrderId"))
    stop_leg = OcoLeg(
        OrderType.STOP_LOSS_LIMIT if stop_limit is not None else OrderType.STOP_LOSS,
        price=stop_limit,
        stop_price=stop_price,
        time_in_force=tif if stop_limit is not None else None,
        client_order_id=p.text("stopClientOrderId"),
    )
    above, below = (limit_leg, stop_leg) if side is Side.SELL else (stop_leg, limit_leg)
    return NewOco(
        symbol=symbol,
        side=side,
        quantity=quantity,
        above=above,
        below=below,
        list_client_order_id=p.text("listClientOrderId"),
        new_order_resp_type=_resp_type(p),
    )


def _place_oco(core: SimulatorCore, call: Call, request: NewOco) -> Any:
    account = _check_trading(core, call, 2)
    result = core.engine.submit_oco(account.key, request, core.market.now_ms)
    if isinstance(result, Rejection):
        raise _reject(result)
    keys = [(o.symbol, o.order_id) for o in result.order_list.orders]
    core.limiter.add_orders(account.key, keys, call.protocol_ms)
    core.dispatch(result.events)
    return wire.write_order_list(result.order_list, result.resp_type)


def new_oco(core: SimulatorCore, call: Call) -> Any:
    return _place_oco(core, call, parse_oco(call.params))


def new_legacy_oco(core: SimulatorCore, call: Call) -> Any:
    return _place_oco(core, call, parse_legacy_oco(call.params))


def cancel_order_list(core: SimulatorCore, call: Call) -> Any:
    p = call.params
    symbol = p.require("symbol")
    result = core.engine.cancel_order_list(
        _account(call).key,
        symbol,
        order_list_id=p.integer("orderListId"),
        list_client_order_id=p.text("listClientOrderId"),
        new_client_order_id=p.text("newClientOrderId"),
        now_ms=core.market.now_ms,
    )
    if isinstance(result, Rejection):
        raise _reject(result)
    _dispatch_cancel(core, result)
    return _list_cancel_report(result.order_list, result.cancel_client_order_id, result.transact_time)


def get_order_list(core: SimulatorCore, call: Call) -> Any:
    p = call.params
    found = core.engine.get_order_list(
        _account(call).key,
        order_list_id=p.integer("orderListId"),
        list_client_order_id=p.text("origClientOrderId"),
    )
    if isinstance(found, Rejection):
        raise _reject(found)
    return wire.write_order_list(found, OrderRespType.ACK)


def all_order_lists(core: SimulatorCore, call: Call) -> Any:
    p = call.params
    from_id = p.integer("fromId")
    start, end = _window(p)
    limit = p.limit("limit", 500, 1000)
    lists = core.engine.all_order_lists(_account(call).key)
    if from_id is not None:
        lists = [x for x in lists if x.order_list_id >= from_id]
    if start is not None:
        lists = [x for x in lists if x.transaction_time >= start]
    if end is not None:
        lists = [x for x in lists if x.transaction_time <= end]
    lists = lists[:limit] if from_id is not None or start is not None else lists[-limit:]
    return [wire.write_order_list(x, OrderRespType.ACK) for x in lists]


def open_order_lists(core: SimulatorCore, call: Call) -> Any:
    return [
        wire.write_order_list(x, OrderRespType.ACK) for x in core.engine.open_order_lists(_account(call).key)
    ]


# ============================================================================ account
def account_info(core: SimulatorCore, call: Call) -> Any:
    account = _account(call)
    omit = call.params.boolean("omitZeroBalances") or False
    held = {b.asset: b for b in core.engine.balances(account.key)}
    for symbol in core.market.symbols:
        rules = core.engine.rules(symbol)
        for asset in (rules.base_asset, rules.quote_asset):
            if asset not in held:
                held[asset] = core.engine.balance(account.key, asset)
    balances = [held[a] for a in sorted(held)]
    if omit:
        balances = [b for b in balances if b.total > 0]
    s = core.engine.settings
    return wire.write_account(
        balances,
        update_time=core.market.now_ms,
        maker_commission=s.maker_fee,
        taker_commission=s.taker_fee,
        can_trade=account.spec.can_trade,
        can_withdraw=account.spec.enable_withdrawals,
        uid=account.uid,
    )


def my_trades(core: SimulatorCore, call: Call) -> Any:
    p = call.params
    symbol = _symbol(core, p)
    order_id = p.integer("orderId")
    from_id = p.integer("fromId")
    start, end = _window(p)
    limit = p.limit("limit", 500, 1000)
    if from_id is not None and (start is not None or end is not None):
        raise fail(-1128, "Combination of optional parameters invalid.")
    account = _account(call)
    fills = core.engine.my_trades(
        account.key, symbol, order_id=order_id, start_time=start, end_time=end, from_id=from_id, limit=limit
    )
    list_ids: dict[int, int] = {}
    out = []
    for fill in fills:
        if fill.order_id not in list_ids:
            order = core.engine.get_order(account.key, symbol, order_id=fill.order_id)
            list_ids[fill.order_id] = order.order_list_id if isinstance(order, Order) else -1
        out.append(wire.write_my_trade(fill, order_list_id=list_ids[fill.order_id]))
    return out


def _my_trades_weight(params: Params) -> int:
    return 5 if params.has("orderId") else 20


def order_rate_limits(core: SimulatorCore, call: Call) -> Any:
    account = _account(call)
    ten, day = core.limiter.order_counts(account.key, call.protocol_ms)
    rows = []
    for limit in core.rate_limits():
        if limit.rate_limit_type == "ORDERS":
            row = wire.write_rate_limit(limit)
            row["count"] = ten if limit.interval == "SECOND" else day
            rows.append(row)
    return rows


def api_restrictions(core: SimulatorCore, call: Call) -> Any:
    account = _account(call)
    return wire.write_api_restrictions(
        ApiRestrictions(
            enable_withdrawals=account.spec.enable_withdrawals,
            enable_reading=True,
            enable_spot_and_margin_trading=account.spec.can_trade,
            ip_restrict=account.spec.enable_withdrawals,
            create_time=account.created_ms,
        )
    )


# ============================================================================ the table
def _one_order(_params: Params) -> int:
    return 1


def _two_orders(_params: Params) -> int:
    return 2


S = Security.SIGNED
N = Security.NONE
_SYMBOL = frozenset({"symbol"})
_SYMBOLS = frozenset({"symbol", "symbols"})

REST_ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    ("GET", "/api/v3/ping"): Endpoint("ping", N, fixed(1), frozenset(), ping),
    ("GET", "/api/v3/time"): Endpoint("time", N, fixed(1), frozenset(), server_time),
    ("GET", "/api/v3/exchangeInfo"): Endpoint(
        "exchangeInfo",
        N,
        fixed(20),
        frozenset({"symbol", "symbols", "permissions", "showPermissionSets", "symbolStatus"}),
        exchange_info,
    ),
    ("GET", "/api/v3/depth"): Endpoint(
        "depth", N, _depth_weight, frozenset({"symbol", "limit", "symbolStatus"}), depth
    ),
    ("GET", "/api/v3/klines"): Endpoint(
        "klines",
        N,
        fixed(2),
        frozenset({"symbol", "interval", "startTime", "endTime", "timeZone", "limit"}),
        klines,
    ),
    ("GET", "/api/v3/uiKlines"): Endpoint(
        "uiKlines",
        N,
        fixed(2),
        frozenset({"symbol", "interval", "startTime", "endTime", "timeZone", "limit"}),
        klines,
    ),
    ("GET", "/api/v3/avgPrice"): Endpoint("avgPrice", N, fixed(2), _SYMBOL, avg_price),
    ("GET", "/api/v3/ticker/price"): Endpoint(
        "ticker.price", N, _symbols_weight(2, lambda n: 4), _SYMBOLS | {"symbolStatus"}, ticker_price
    ),
    ("GET", "/api/v3/ticker/bookTicker"): Endpoint(
        "ticker.book", N, _symbols_weight(2, lambda n: 4), _SYMBOLS | {"symbolStatus"}, book_ticker
    ),
    ("GET", "/api/v3/ticker/24hr"): Endpoint(
        "ticker.24hr",
        N,
        _symbols_weight(2, lambda n: 2 if n <= 20 else 40 if n <= 100 else 80),
        _SYMBOLS | {"type", "symbolStatus"},
        ticker_24h,
    ),
    ("POST", "/api/v3/order"): Endpoint(
        "order.place", S, fixed(1), ORDER_PARAMS, new_order, new_orders=_one_order, order_endpoint=True
    ),
    ("POST", "/api/v3/order/test"): Endpoint(
        "order.test", S, _test_weight, ORDER_PARAMS | {"computeCommissionRates"}, test_order
    ),
    ("GET", "/api/v3/order"): Endpoint(
        "order.status", S, fixed(4), frozenset({"symbol", "orderId", "origClientOrderId"}), get_order
    ),
    ("DELETE", "/api/v3/order"): Endpoint(
        "order.cancel",
        S,
        fixed(1),
        frozenset({"symbol", "orderId", "origClientOrderId", "newClientOrderId", "cancelRestrictions"}),
        cancel_order,
        order_endpoint=True,
    ),
    ("GET", "/api/v3/openOrders"): Endpoint(
        "openOrders.status", S, lambda p: 6 if p.has("symbol") else 80, _SYMBOL, open_orders
    ),
    ("DELETE", "/api/v3/openOrders"): Endpoint(
        "openOrders.cancelAll", S, fixed(1), _SYMBOL, cancel_open_orders, order_endpoint=True
    ),
    ("GET", "/api/v3/allOrders"): Endpoint(
        "allOrders",
        S,
        fixed(20),
        frozenset({"symbol", "orderId", "startTime", "endTime", "limit"}),
        all_orders,
    ),
    ("POST", "/api/v3/orderList/oco"): Endpoint(
        "orderList.place.oco", S, fixed(1), OCO_PARAMS, new_oco, new_orders=_two_orders, order_endpoint=True
    ),
    ("POST", "/api/v3/order/oco"): Endpoint(
        "orderList.place",
        S,
        fixed(1),
        LEGACY_OCO_PARAMS,
        new_legacy_oco,
        new_orders=_two_orders,
        order_endpoint=True,
    ),
    ("DELETE", "/api/v3/orderList"): Endpoint(
        "orderList.cancel",
        S,
        fixed(1),
        frozenset({"symbol", "orderListId", "listClientOrderId", "newClientOrderId"}),
        cancel_order_list,
        order_endpoint=True,
    ),
    ("GET", "/api/v3/orderList"): Endpoint(
        "orderList.status", S, fixed(4), frozenset({"orderListId", "origClientOrderId"}), get_order_list
    ),
    ("GET", "/api/v3/allOrderList"): Endpoint(
        "allOrderLists", S, fixed(20), frozenset({"fromId", "startTime", "endTime", "limit"}), all_order_lists
    ),
    ("GET", "/api/v3/openOrderList"): Endpoint(
        "openOrderLists.status", S, fixed(6), frozenset(), open_order_lists
    ),
    ("GET", "/api/v3/account"): Endpoint(
        "account.status", S, fixed(20), frozenset({"omitZeroBalances"}), account_info
    ),
    ("GET", "/api/v3/myTrades"): Endpoint(
        "myTrades",
        S,
        _my_trades_weight,
        frozenset({"symbol", "orderId", "startTime", "endTime", "fromId", "limit"}),
        my_trades,
    ),
    ("GET", "/api/v3/rateLimit/order"): Endpoint(
        "account.rateLimits.orders", S, fixed(40), frozenset(), order_rate_limits
    ),
    ("GET", "/sapi/v1/account/apiRestrictions"): Endpoint(
        "apiRestrictions", S, fixed(1), frozenset(), api_restrictions, sapi=True
    ),
}
