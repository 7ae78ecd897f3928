"""Order schemas: new-order responses (ACK/RESULT/FULL), queries, cancels, OCO lists, trades.

One parser reads every order shape Binance returns, because they differ only in which
fields are present: an ACK has ids and a time, RESULT adds the order's state, FULL adds the
fills, a query has ``time``/``updateTime`` instead of ``transactTime``, and a cancel report
names the *cancel's* id in ``clientOrderId`` and the order's own in ``origClientOrderId``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
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
    Order,
    OrderList,
    OrderRequest,
    OrderRespType,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from binance_bot.model.numbers import ZERO


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
        )
    order = Order(
        symbol=symbol,
        order_id=order_id,
        client_order_id=client_order_id,
        side=enum_(obj, "side", Side),
        type=enum_(obj, "type", OrderType),
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
    )
    raw_fills = obj.get("fills")
    if raw_fills:
        if not isinstance(raw_fills, list):
            raise WireFormatError("fills", "expected an array", payload=obj)
        fills = tuple(parse_fill(f, order, updated) for f in raw_fills)
        order = replace(order, fills=fills)
    return order


def _working_time(order: Order) -> int:
    """-1 for a stop order that has not triggered yet, as Binance reports it."""
    if order.type.is_conditional and order.status is OrderStatus.NEW:
        return -1
    return order.time


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
    out["workingTime"] = _working_time(order)
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
    out["isWorking"] = order.status.is_open and _working_time(order) != -1
    out["workingTime"] = _working_time(order)
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
