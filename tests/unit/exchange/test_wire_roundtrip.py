"""Model -> Binance JSON -> model is the identity for every schema the simulator writes."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from binance_bot.exchange.binance import wire
from binance_bot.model import (
    AccountUpdate,
    Balance,
    Bar,
    BookTicker,
    ExecutionReport,
    ExecutionType,
    Fill,
    ListStatus,
    OcoRequest,
    Order,
    OrderList,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SymbolRules,
    Ticker24h,
    TimeInForce,
)

money = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("99999999"), places=8)
fine = st.decimals(min_value=Decimal("0.000000000001"), max_value=Decimal("1000"), places=12)
ms = st.integers(min_value=0, max_value=4_102_444_800_000)


def through_json(obj: Any) -> Any:
    """What the other side of a socket sees."""
    return json.loads(json.dumps(obj))


@given(o=money, h=money, low=money, c=money, v=money, t=ms, n=st.integers(0, 10**9), closed=st.booleans())
def test_bar(
    o: Decimal, h: Decimal, low: Decimal, c: Decimal, v: Decimal, t: int, n: int, closed: bool
) -> None:
    bar = Bar("BTCUSDT", "1m", t, t + 59_999, o, h, low, c, v, v * 2, n, v / 2, v)
    assert wire.parse_kline(through_json(wire.write_kline(bar)), "BTCUSDT", "1m") == bar
    live = replace(bar, closed=closed)
    ev = wire.parse_kline_event(through_json(wire.write_kline_event(live, t + 5)))
    assert ev.bar == live and ev.event_time == t + 5


@given(value=st.one_of(money, fine))
def test_decimal_text_is_exact(value: Decimal) -> None:
    text = wire.wnum(value)
    assert Decimal(text) == value
    assert "E" not in text and "e" not in text


def test_decimal_text_has_binance_places() -> None:
    assert wire.wnum(Decimal("0.1")) == "0.10000000"
    assert wire.wnum(Decimal("30000")) == "30000.00000000"
    assert wire.wnum(Decimal("1E+3")) == "1000.00000000"
    assert wire.wnum(Decimal("0.000000000123")) == "0.000000000123"
    assert wire.wnum(Decimal("0.10000000000")) == "0.10000000"


@given(bid=money, ask=money, q=money, u=st.integers(0, 2**62))
def test_book_ticker(bid: Decimal, ask: Decimal, q: Decimal, u: int) -> None:
    t = BookTicker("ETHUSDT", bid, q, ask, q, u)
    assert wire.parse_book_ticker(through_json(wire.write_book_ticker(t))) == replace(t, update_id=0)
    ev = wire.parse_book_ticker_event(through_json(wire.write_book_ticker_event(t)), 99)
    assert ev.ticker == t and ev.event_time == 99


def test_tickers_depth_avg() -> None:
    assert wire.parse_ticker_price(wire.write_ticker_price("X", Decimal("1.5"))) == ("X", Decimal("1.5"))
    t = Ticker24h("BTCUSDT", Decimal("50000"), Decimal("-2.5"), Decimal("100"), Decimal("5000000"), 1, 2)
    assert wire.parse_ticker_24h(through_json(wire.write_ticker_24h(t))) == t
    mini = {k: v for k, v in wire.write_ticker_24h(t).items() if not k.startswith("priceChange")}
    assert wire.parse_ticker_24h(mini).price_change_percent == Decimal("-2.500")
    book = wire.parse_depth(
        wire.write_depth(7, [(Decimal("10"), Decimal("1"))], [(Decimal("11"), Decimal("2"))]), "S"
    )
    assert book == wire.OrderBook("S", 7, ((Decimal("10"), Decimal("1")),), ((Decimal("11"), Decimal("2")),))
    assert wire.parse_avg_price(wire.write_avg_price(Decimal("3.25"), 5, 10)) == Decimal("3.25")


def test_exchange_info() -> None:
    rules = SymbolRules(
        symbol="BTCUSDT",
        base_asset="BTC",
        quote_asset="USDT",
        min_price=Decimal("0.01"),
        max_price=Decimal("1000000"),
        tick_size=Decimal("0.01"),
        min_qty=Decimal("0.00001"),
        max_qty=Decimal("9000"),
        step_size=Decimal("0.00001"),
        market_max_qty=Decimal("128"),
        min_notional=Decimal("5"),
        max_notional=Decimal("9000000"),
        bid_multiplier_up=Decimal("5"),
        bid_multiplier_down=Decimal("0.2"),
        ask_multiplier_up=Decimal("5"),
        ask_multiplier_down=Decimal("0.2"),
        max_num_orders=200,
    )
    limits = [
        wire.RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 6000),
        wire.RateLimit("ORDERS", "SECOND", 10, 100),
    ]
    info = wire.parse_exchange_info(through_json(wire.write_exchange_info([rules], limits, 123)))
    assert info == wire.ExchangeInfo(123, tuple(limits), {"BTCUSDT": rules})


def _order(**kw: Any) -> Order:
    base: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "order_id": 12,
        "client_order_id": "bot-1",
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "status": OrderStatus.PARTIALLY_FILLED,
        "orig_qty": Decimal("2"),
        "executed_qty": Decimal("0.5"),
        "cummulative_quote_qty": Decimal("50"),
        "price": Decimal("100"),
        "time_in_force": TimeInForce.GTC,
        "time": 1000,
        "update_time": 1000,
        "working_time": 1000,
    }
    base.update(kw)
    return Order(**base)


def _fill(order: Order, trade_id: int = 5, time: int = 1000, maker: bool = False) -> Fill:
    return Fill(
        order.symbol,
        order.order_id,
        order.client_order_id,
        trade_id,
        order.side,
        Decimal("100"),
        Decimal("0.5"),
        Decimal("0.0005"),
        "BTC",
        time,
        maker,
    )


def _same(a: Order, b: Order) -> None:
    assert a == b
    assert a.fills == b.fills


def test_order_response_all_kinds() -> None:
    order = _order()
    order = replace(order, fills=(_fill(order),))
    full = wire.parse_order(through_json(wire.write_order_response(order, "FULL")))
    _same(full, order)
    result = wire.parse_order(through_json(wire.write_order_response(order, "RESULT")))
    _same(result, replace(order, fills=()))
    stop = _order(
        working_time=-1,
        type=OrderType.STOP_LOSS_LIMIT,
        stop_price=Decimal("95"),
        status=OrderStatus.NEW,
        executed_qty=Decimal(0),
        cummulative_quote_qty=Decimal(0),
    )
    assert wire.write_order_response(stop, "RESULT")["workingTime"] == -1
    _same(wire.parse_order(through_json(wire.write_order_response(stop, "RESULT"))), stop)


def test_order_query_and_cancel() -> None:
    order = _order(update_time=2000, order_list_id=3, orig_quote_order_qty=Decimal("0"))
    _same(wire.parse_order(through_json(wire.write_order_query(order))), order)
    canceled = replace(order, status=OrderStatus.CANCELED)
    report = wire.write_cancel_response(canceled, cancel_client_order_id="cxl-1", transact_time=2000)
    assert report["clientOrderId"] == "cxl-1" and report["origClientOrderId"] == "bot-1"
    # a cancel report carries no creation time
    _same(wire.parse_order(through_json(report)), replace(canceled, time=0, working_time=-1))


def test_order_list() -> None:
    tp = _order(
        order_id=1,
        client_order_id="tp",
        side=Side.SELL,
        type=OrderType.LIMIT_MAKER,
        status=OrderStatus.NEW,
        executed_qty=Decimal(0),
        cummulative_quote_qty=Decimal(0),
        order_list_id=9,
        price=Decimal("110"),
    )
    sl = replace(
        tp,
        order_id=2,
        client_order_id="sl",
        type=OrderType.STOP_LOSS_LIMIT,
        price=Decimal("89"),
        stop_price=Decimal("90"),
    )
    ol = OrderList(9, "oco-1", "BTCUSDT", "EXEC_STARTED", "EXECUTING", (tp, sl), 1000)
    assert wire.parse_order_list(through_json(wire.write_order_list(ol))) == ol
    ack = through_json(wire.write_order_list(ol, "ACK"))
    assert "orderReports" not in ack
    assert wire.parse_order_list(ack, {1: tp, 2: sl}) == ol
    ev = ListStatus(ol, 1234)
    assert wire.parse_list_status_event(through_json(wire.write_list_status_event(ev)), {1: tp, 2: sl}) == ev


def test_my_trade() -> None:
    order = _order()
    fill = replace(_fill(order, maker=True), client_order_id="")
    assert wire.parse_my_trade(through_json(wire.write_my_trade(fill))) == fill
    assert wire.parse_my_trade(wire.write_my_trade(fill), "bot-1").client_order_id == "bot-1"


@pytest.mark.parametrize("kind", list(ExecutionType))
def test_execution_report(kind: ExecutionType) -> None:
    order = _order(update_time=3000)
    fill = _fill(order, trade_id=77, time=3000, maker=True) if kind is ExecutionType.TRADE else None
    status = OrderStatus.CANCELED if kind is ExecutionType.CANCELED else order.status
    rep = ExecutionReport(replace(order, status=status), kind, 3001, fill, "NONE")
    raw = through_json(wire.write_execution_report(rep, cancel_client_order_id="cxl-9"))
    if kind is ExecutionType.CANCELED:
        assert (raw["c"], raw["C"]) == ("cxl-9", "bot-1")
    else:
        assert (raw["c"], raw["C"]) == ("bot-1", "")
    back = wire.parse_user_event(wire.wrap_user_event(0, raw))
    assert back == rep


def test_account_events() -> None:
    upd = AccountUpdate((Balance("BTC", Decimal("1.5"), Decimal("0.25")), Balance("USDT", Decimal("10"))), 5)
    assert wire.parse_account_position(through_json(wire.write_account_position(upd))) == upd
    delta = wire.BalanceDelta("BTC", Decimal("-0.1"), 6, 5)
    assert wire.parse_balance_update(through_json(wire.write_balance_update(delta))) == delta
    bals = [Balance("BTC", Decimal("1"), Decimal("0.5"))]
    assert wire.parse_account(through_json(wire.write_account(bals, update_time=1))) == bals
    r = wire.ApiRestrictions(enable_withdrawals=True, enable_spot_and_margin_trading=True, create_time=4)
    assert wire.parse_api_restrictions(through_json(wire.write_api_restrictions(r))) == r
    assert wire.parse_error(wire.write_error(-2010, "Duplicate order sent.")) == (
        -2010,
        "Duplicate order sent.",
    )


@pytest.mark.parametrize(
    "request_",
    [
        OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, "a-1", Decimal("0.001"), Decimal("30000.5")),
        OrderRequest("BTCUSDT", Side.SELL, OrderType.MARKET, "a-2", Decimal("1E+3")),
        OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, "a-3", quote_order_qty=Decimal("100")),
        OrderRequest("BTCUSDT", Side.SELL, OrderType.LIMIT_MAKER, "a-4", Decimal("2"), Decimal("31000")),
        OrderRequest(
            "BTCUSDT",
            Side.SELL,
            OrderType.STOP_LOSS_LIMIT,
            "a-5",
            Decimal("2"),
            Decimal("29000"),
            Decimal("29100"),
            TimeInForce.IOC,
        ),
    ],
)
def test_order_params(request_: OrderRequest) -> None:
    params = wire.order_params(request_)
    for key in ("quantity", "quoteOrderQty", "price", "stopPrice"):
        if key in params:
            assert re.fullmatch(r"[0-9]{1,20}(\.[0-9]{1,20})?", params[key]), params[key]
    needs_tif = request_.type.has_limit_price and request_.type is not OrderType.LIMIT_MAKER
    assert ("timeInForce" in params) == needs_tif
    back = wire.parse_order_params(params)
    expected = request_
    if request_.type in (OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT) and request_.time_in_force is None:
        expected = replace(request_, time_in_force=TimeInForce.GTC)
    assert back == expected
    assert params["newOrderRespType"] == "FULL"


@pytest.mark.parametrize("side", [Side.SELL, Side.BUY])
@pytest.mark.parametrize("limit", [Decimal("89"), None])
def test_oco_params(side: Side, limit: Decimal | None) -> None:
    req = OcoRequest(
        "BTCUSDT", side, Decimal("1"), "oco-1", Decimal("110"), Decimal("90"), limit, "tp-1", "sl-1"
    )
    params = wire.oco_params(req)
    tp, stop = ("above", "below") if side is Side.SELL else ("below", "above")
    assert params[f"{tp}Type"] == "LIMIT_MAKER"
    assert params[f"{stop}Type"] == ("STOP_LOSS_LIMIT" if limit else "STOP_LOSS")
    assert wire.parse_oco_params(params) == req
