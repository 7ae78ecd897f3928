"""Order schemas: new-order responses (ACK/RESULT/FULL), queries, cancels, OCO lists, trades.

One parser reads every order shape Binance returns, because they differ only in which
fields are present: an ACK has ids and a time, RESULT adds the order's state, FULL adds the
fills, a query has ``time``/``updateTime`` instead of ``transactTime``, and a cancel report
names the *cancel's* id in ``clientOrderId`` and the order's own in ``origClientOrderId``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
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
from binance_bot.model import (
    Fill,
    ListOrderStatus,
    ListStatusType,
    OcoRequest,
    Order,
    OrderList,
    OrderRequest,
    OrderRespType,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from binance_bot.model.numbers import ZERO, fmt


def _order_client_id(obj: Mapping[str, Any]) -> str:
    orig = obj.get("origClientOrderId")
    if isinstance(orig, str) and orig:
        return orig
    return str_(obj, "clientOrderId")


def parse_fill(row: object, order: Order, time: int) -> Fill:
    """One entry of a FULL response's ``fills``: our order took liquidity, so not maker."""
    obj = require_mapping(row, "fills[]")
    return Fill(
        symbol=order.symbol,
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        trade_id=int_(obj, "tradeId"),
        side=order.side,
        price=dec(obj, "price"),
        qty=dec(obj, "qty"),
        commission=dec(obj, "commission"),
        commission_asset=str_(obj, "commissionAsset"),
        time=time,
        is_maker=False,
    )


def parse_order(payload: object, request: OrderRequest | None = None) -> Order:
    """Any order shape (new-order ACK/RESULT/FULL, query, cancel report, list order report).

    An ACK carries no state: ``request`` supplies side, type, quantity and prices, and the
    order is reported NEW. Without ``request`` an ACK is a :class:`WireFormatError`.
    """
    obj = require_mapping(payload, "order")
    symbol = str_(obj, "symbol")
    order_id = int_(obj, "orderId")
    client_order_id = _order_client_id(obj)
    transact = obj.get("transactTime")
    is_cancel = "origClientOrderId" in obj
    if "time" in obj:
        created = int_(obj, "time")
    elif transact is not None and not is_cancel:
        created = int_(obj, "transactTime")
    else:
        created = 0
    updated = opt_int(obj, "updateTime", opt_int(obj, "transactTime", created))
    if "status" not in obj:
        if request is None:
            raise WireFormatError("status", "missing (an ACK response needs the request)", payload=obj)
        return Order(
            symbol=symbol,
            order_id=order_id,
            client_order_id=client_order_id,
            side=request.side,
            type=request.type,
            status=OrderStatus.NEW,
            orig_qty=request.quantity if request.quantity is not None else ZERO,
            price=request.price if request.price is not None else ZERO,
            stop_price=request.stop_price if request.stop_price is not None else ZERO,
            time_in_force=request.time_in_force or TimeInForce.GTC,
            order_list_id=opt_int(obj, "orderListId", -1),
            time=created,
            update_time=updated,
            orig_quote_order_qty=request.quote_order_qty or ZERO,
            working_time=-1 if request.type.is_conditional else created,
        )
    order_type = enum_(obj, "type", OrderType)
    order = Order(
        symbol=symbol,
        order_id=order_id,
        client_order_id=client_order_id,
        side=enum_(obj, "side", Side),
        type=order_type,
        status=enum_(obj, "status", OrderStatus),
        orig_qty=dec(obj, "origQty"),
        executed_qty=dec(obj, "executedQty"),
        cummulative_quote_qty=opt_dec(obj, "cummulativeQuoteQty", ZERO),
        price=opt_dec(obj, "price", ZERO),
        stop_price=opt_dec(obj, "stopPrice", ZERO),
        time_in_force=enum_(obj, "timeInForce", TimeInForce) if "timeInForce" in obj else TimeInForce.GTC,
        order_list_id=opt_int(obj, "orderListId", -1),
        time=created,
        update_time=updated,
        orig_quote_order_qty=opt_dec(obj, "origQuoteOrderQty", ZERO),
        working_time=opt_int(obj, "workingTime", -1 if is_cancel or order_type.is_conditional else created),
    )
    raw_fills = obj.get("fills")
    if raw_fills:
        if not isinstance(raw_fills, list):
            raise WireFormatError("fills", "expected an array", payload=obj)
        fills = tuple(parse_fill(f, order, updated) for f in raw_fills)
        order = replace(order, fills=fills)
    return order


def _result_fields(order: Order) -> dict[str, Any]:
    out: dict[str, Any] = {
        "price": wnum(order.price),
        "origQty": wnum(order.orig_qty),
        "executedQty": wnum(order.executed_qty),
        "origQuoteOrderQty": wnum(order.orig_quote_order_qty),
        "cummulativeQuoteQty": wnum(order.cummulative_quote_qty),
        "status": order.status.value,
        "timeInForce": order.time_in_force.value,
        "type": order.type.value,
        "side": order.side.value,
    }
    if order.type.is_conditional:
        out["stopPrice"] = wnum(order.stop_price)
    return out


def write_fill(fill: Fill) -> dict[str, Any]:
    return {
        "price": wnum(fill.price),
        "qty": wnum(fill.qty),
        "commission": wnum(fill.commission),
        "commissionAsset": fill.commission_asset,
        "tradeId": fill.trade_id,
    }


def write_order_response(
    order: Order, resp_type: OrderRespType | str = OrderRespType.FULL, *, transact_time: int | None = None
) -> dict[str, Any]:
    """The ``POST /api/v3/order`` response in the requested ``newOrderRespType``."""
    resp = OrderRespType(resp_type)
    out: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time if transact_time is None else transact_time,
    }
    if resp is OrderRespType.ACK:
        return out
    out.update(_result_fields(order))
    out["workingTime"] = order.working_time
    out["selfTradePreventionMode"] = "NONE"
    if resp is OrderRespType.FULL:
        out["fills"] = [write_fill(f) for f in order.fills]
    return out


def write_order_query(order: Order) -> dict[str, Any]:
    """The ``GET /api/v3/order`` / ``openOrders`` / ``allOrders`` shape."""
    out: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        **_result_fields(order),
    }
    out["stopPrice"] = wnum(order.stop_price)
    out["icebergQty"] = wnum(ZERO)
    out["time"] = order.time
    out["updateTime"] = order.update_time
    out["isWorking"] = order.is_working
    out["workingTime"] = order.working_time
    out["selfTradePreventionMode"] = "NONE"
    return out


def write_cancel_response(order: Order, *, cancel_client_order_id: str, transact_time: int) -> dict[str, Any]:
    """The ``DELETE /api/v3/order`` report: ``clientOrderId`` is the cancel's own id."""
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": cancel_client_order_id,
        "transactTime": transact_time,
        **_result_fields(order),
        "selfTradePreventionMode": "NONE",
    }


# ---------------------------------------------------------------- order lists
def parse_order_list(payload: object, known: Mapping[int, Order] | None = None) -> OrderList:
    """An ``orderList/oco`` response, a DELETE ``orderList`` report or a ``GET orderList``.

    ``orders`` holds the legs Binance described in full (``orderReports``), then legs found
    in ``known`` (latest states the caller has seen, e.g. from execution reports). Legs
    described only by ids are left out rather than invented.
    """
    obj = require_mapping(payload, "orderList")
    reports = obj.get("orderReports") or []
    if not isinstance(reports, list):
        raise WireFormatError("orderReports", "expected an array", payload=obj)
    by_id = {o.order_id: o for o in (parse_order(r) for r in reports)}
    legs = get(obj, "orders")
    if not isinstance(legs, list):
        raise WireFormatError("orders", "expected an array", payload=obj)
    orders: list[Order] = []
    for leg in legs:
        leg_obj = require_mapping(leg, "orders[]")
        oid = int_(leg_obj, "orderId")
        found = by_id.get(oid) or (known or {}).get(oid)
        if found is not None:
            orders.append(found)
    return OrderList(
        order_list_id=int_(obj, "orderListId"),
        list_client_order_id=str_(obj, "listClientOrderId"),
        symbol=str_(obj, "symbol"),
        list_status_type=enum_(obj, "listStatusType", ListStatusType).value,
        list_order_status=enum_(obj, "listOrderStatus", ListOrderStatus).value,
        orders=tuple(orders),
        transaction_time=opt_int(obj, "transactionTime", 0),
    )


def write_order_list(
    order_list: OrderList, resp_type: OrderRespType | str = OrderRespType.FULL
) -> dict[str, Any]:
    """``POST /api/v3/orderList/oco`` response; ``orderReports`` unless ``ACK`` was asked for."""
    out: dict[str, Any] = {
        "orderListId": order_list.order_list_id,
        "contingencyType": "OCO",
        "listStatusType": order_list.list_status_type,
        "listOrderStatus": order_list.list_order_status,
        "listClientOrderId": order_list.list_client_order_id,
        "transactionTime": order_list.transaction_time,
        "symbol": order_list.symbol,
        "orders": [
            {"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id}
            for o in order_list.orders
        ],
    }
    if OrderRespType(resp_type) is not OrderRespType.ACK:
        out["orderReports"] = [
            write_order_response(o, OrderRespType.RESULT, transact_time=order_list.transaction_time)
            for o in order_list.orders
        ]
    return out


# ---------------------------------------------------------------- my trades
def parse_my_trade(payload: object, client_order_id: str = "") -> Fill:
    """A ``GET /api/v3/myTrades`` row; Binance omits the client order id, so the caller may
    pass it when known."""
    obj = require_mapping(payload, "myTrades[]")
    return Fill(
        symbol=str_(obj, "symbol"),
        order_id=int_(obj, "orderId"),
        client_order_id=client_order_id,
        trade_id=int_(obj, "id"),
        side=Side.BUY if get(obj, "isBuyer") is True else Side.SELL,
        price=dec(obj, "price"),
        qty=dec(obj, "qty"),
        commission=dec(obj, "commission"),
        commission_asset=str_(obj, "commissionAsset"),
        time=int_(obj, "time"),
        is_maker=get(obj, "isMaker") is True,
    )


def write_my_trade(fill: Fill, *, order_list_id: int = -1) -> dict[str, Any]:
    return {
        "symbol": fill.symbol,
        "id": fill.trade_id,
        "orderId": fill.order_id,
        "orderListId": order_list_id,
        "price": wnum(fill.price),
        "qty": wnum(fill.qty),
        "quoteQty": wnum(fill.price * fill.qty),
        "commission": wnum(fill.commission),
        "commissionAsset": fill.commission_asset,
        "time": fill.time,
        "isBuyer": fill.side is Side.BUY,
        "isMaker": fill.is_maker,
        "isBestMatch": True,
    }


# ---------------------------------------------------------------- request parameters
_NEEDS_TIF = frozenset({OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT})


def _p(value: Decimal) -> str:
    """Request decimals must match ``^([0-9]{1,20})(\\.[0-9]{1,20})?$``: plain, no exponent."""
    return fmt(value)


def order_params(
    request: OrderRequest, resp_type: OrderRespType | str = OrderRespType.FULL
) -> dict[str, str]:
    """``POST /api/v3/order`` parameters for ``request`` (``timeInForce`` only where Binance
    requires it: sending it for MARKET or LIMIT_MAKER is error -1114)."""
    params: dict[str, str] = {
        "symbol": request.symbol,
        "side": request.side.value,
        "type": request.type.value,
    }
    if request.type in _NEEDS_TIF:
        params["timeInForce"] = (request.time_in_force or TimeInForce.GTC).value
    if request.quantity is not None:
        params["quantity"] = _p(request.quantity)
    if request.quote_order_qty is not None:
        params["quoteOrderQty"] = _p(request.quote_order_qty)
    if request.price is not None:
        params["price"] = _p(request.price)
    if request.stop_price is not None:
        params["stopPrice"] = _p(request.stop_price)
    params["newClientOrderId"] = request.client_order_id
    params["newOrderRespType"] = OrderRespType(resp_type).value
    return params


def parse_order_params(params: Mapping[str, str]) -> OrderRequest:
    """The inverse of :func:`order_params`, for a server reading a request."""

    def opt(name: str) -> Decimal | None:
        return dec(params, name) if name in params else None

    tif = params.get("timeInForce")
    try:
        return OrderRequest(
            symbol=str_(params, "symbol"),
            side=enum_(params, "side", Side),
            type=enum_(params, "type", OrderType),
            client_order_id=str_(params, "newClientOrderId"),
            quantity=opt("quantity"),
            price=opt("price"),
            stop_price=opt("stopPrice"),
            time_in_force=enum_(params, "timeInForce", TimeInForce) if tif is not None else None,
            quote_order_qty=opt("quoteOrderQty"),
        )
    except WireFormatError:
        raise
    except ValueError as exc:
        raise WireFormatError("newClientOrderId", str(exc), payload=dict(params)) from exc


def oco_legs(request: OcoRequest) -> tuple[dict[str, str], dict[str, str]]:
    """(above leg, below leg) of an OCO: for a SELL the take profit is above the market and
    the stop below it; for a BUY the stop is above and the take profit below."""
    take_profit = {
        "Type": OrderType.LIMIT_MAKER.value,
        "Price": _p(request.take_profit_price),
        "ClientOrderId": request.take_profit_client_order_id,
    }
    stop: dict[str, str] = {
        "Type": (
            OrderType.STOP_LOSS_LIMIT if request.stop_limit_price is not None else OrderType.STOP_LOSS
        ).value,
        "StopPrice": _p(request.stop_price),
        "ClientOrderId": request.stop_client_order_id,
    }
    if request.stop_limit_price is not None:
        stop["Price"] = _p(request.stop_limit_price)
        stop["TimeInForce"] = request.stop_limit_time_in_force.value
    return (take_profit, stop) if request.side is Side.SELL else (stop, take_profit)


def oco_params(request: OcoRequest, resp_type: OrderRespType | str = OrderRespType.FULL) -> dict[str, str]:
    """``POST /api/v3/orderList/oco`` parameters."""
    above, below = oco_legs(request)
    params = {
        "symbol": request.symbol,
        "listClientOrderId": request.list_client_order_id,
        "side": request.side.value,
        "quantity": _p(request.quantity),
    }
    params.update({f"above{k}": v for k, v in above.items()})
    params.update({f"below{k}": v for k, v in below.items()})
    params["newOrderRespType"] = OrderRespType(resp_type).value
    return params


def parse_oco_params(params: Mapping[str, str]) -> OcoRequest:
    """The inverse of :func:`oco_params`."""
    side = enum_(params, "side", Side)
    tp_prefix, stop_prefix = ("above", "below") if side is Side.SELL else ("below", "above")
    stop_type = enum_(params, f"{stop_prefix}Type", OrderType)
    has_limit = stop_type is OrderType.STOP_LOSS_LIMIT
    tif_key = f"{stop_prefix}TimeInForce"
    return OcoRequest(
        symbol=str_(params, "symbol"),
        side=side,
        quantity=dec(params, "quantity"),
        list_client_order_id=str(params.get("listClientOrderId", "")),
        take_profit_price=dec(params, f"{tp_prefix}Price"),
        stop_price=dec(params, f"{stop_prefix}StopPrice"),
        stop_limit_price=dec(params, f"{stop_prefix}Price") if has_limit else None,
        take_profit_client_order_id=str(params.get(f"{tp_prefix}ClientOrderId", "")),
        stop_client_order_id=str(params.get(f"{stop_prefix}ClientOrderId", "")),
        stop_limit_time_in_force=enum_(params, tif_key, TimeInForce)
        if tif_key in params
        else TimeInForce.GTC,
    )
