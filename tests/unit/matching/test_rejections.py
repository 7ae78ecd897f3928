"""Every refusal with Binance's exact code and message (docs/fill-model.md R17)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest
from tests.unit.matching.helpers import (
    ALICE,
    BTC,
    SYMBOL,
    accepted,
    limit,
    make_engine,
    market,
    rejected,
    stop,
)

from binance_bot.errors import AuthenticationError, InsufficientFunds, OrderRejected, UnknownOrder
from binance_bot.matching import NewOrder
from binance_bot.model import OrderStatus, OrderType, Side, SymbolStatus, TimeInForce


def order(kind: OrderType, **kwargs: object) -> NewOrder:
    return NewOrder(SYMBOL, Side.BUY, kind, **kwargs)  # type: ignore[arg-type]


GTC = TimeInForce.GTC

PARAMETER_CASES = [
    (order(OrderType.MARKET), -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"),
    (order(OrderType.MARKET, quantity=D("1"), quote_order_qty=D("100")), -1106, "Parameter 'quoteOrderQty' sent when not required."),
    (order(OrderType.MARKET, quantity=D("1"), price=D("100")), -1106, "Parameter 'price' sent when not required."),
    (order(OrderType.MARKET, quantity=D("1"), time_in_force=GTC), -1114, "TimeInForce parameter sent when not required."),
    (order(OrderType.LIMIT, price=D("100"), time_in_force=GTC), -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."),
    (order(OrderType.LIMIT, quantity=D("1"), time_in_force=GTC), -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."),
    (order(OrderType.LIMIT, quantity=D("1"), price=D("99")), -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."),
    (order(OrderType.LIMIT, quantity=D("1"), price=D("99"), time_in_force=GTC, stop_price=D("98")), -1106, "Parameter 'stopPrice' sent when not required."),
    (order(OrderType.LIMIT, quantity=D("1"), price=D("99"), time_in_force=GTC, quote_order_qty=D("5")), -1106, "Parameter 'quoteOrderQty' sent when not required."),
    (order(OrderType.STOP_LOSS, quantity=D("1")), -1102, "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed."),
    (order(OrderType.STOP_LOSS_LIMIT, quantity=D("1"), price=D("101"), stop_price=D("101")), -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."),
    (order(OrderType.LIMIT_MAKER, quantity=D("1"), price=D("99"), time_in_force=GTC), -1114, "TimeInForce parameter sent when not required."),
    (order(OrderType.LIMIT, quantity=D("1.123456789"), price=D("99"), time_in_force=GTC), -1111, "Parameter 'quantity' has too much precision."),
    (order(OrderType.LIMIT, quantity=D("-1"), price=D("99"), time_in_force=GTC), -1100, "Illegal characters found in parameter 'quantity'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'."),
    (order(OrderType.LIMIT, quantity=D("1"), price=D("99"), time_in_force=GTC, new_client_order_id="bad id!"), -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'."),
]  # fmt: skip


@pytest.mark.parametrize(("request_", "code", "msg"), PARAMETER_CASES)
def test_R17_parameter_errors(request_: NewOrder, code: int, msg: str) -> None:
    rejection = rejected(make_engine().submit(ALICE, request_, 1))
    assert (rejection.code, rejection.msg, rejection.http_status) == (code, msg, 400)


FILTER_RULES = replace(
    BTC,
    min_price=D("1"),
    max_price=D("1000"),
    market_min_qty=D("0.001"),
    market_max_qty=D("50"),
    market_step_size=D("0.001"),
    bid_multiplier_up=D("1.2"),
    bid_multiplier_down=D("0.8"),
    ask_multiplier_up=D("1.2"),
    ask_multiplier_down=D("0.8"),
)

FILTER_CASES = [
    ("PRICE_FILTER", limit(Side.BUY, "1", "99.999")),
    ("PRICE_FILTER", limit(Side.BUY, "0.001", "0.5")),
    ("PRICE_FILTER", stop(OrderType.STOP_LOSS, Side.SELL, "1", "0.5")),
    ("LOT_SIZE", limit(Side.BUY, "0.000001", "99")),
    ("LOT_SIZE", limit(Side.BUY, "9001", "99")),
    ("MARKET_LOT_SIZE", market(Side.BUY, "0.0005")),
    ("MARKET_LOT_SIZE", market(Side.SELL, "51")),
    ("NOTIONAL", limit(Side.BUY, "0.04", "99")),
    ("NOTIONAL", market(Side.BUY, quote="4.99")),
    ("PERCENT_PRICE_BY_SIDE", limit(Side.SELL, "1", "121")),
    ("PERCENT_PRICE_BY_SIDE", limit(Side.BUY, "1", "79")),
]


@pytest.mark.parametrize(("name", "request_"), FILTER_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_R17_filter_failures(name: str, request_: NewOrder) -> None:
    engine = make_engine(rules=FILTER_RULES)
    rejection = rejected(engine.submit(ALICE, request_, 1))
    assert (rejection.code, rejection.msg) == (-1013, f"Filter failure: {name}")
    assert rejection.filter_name == name
    assert rejection.detail


def test_R17_legacy_min_notional_reports_its_own_name() -> None:
    engine = make_engine(rules=replace(BTC, notional_filter_name="MIN_NOTIONAL"))
    rejection = rejected(engine.submit(ALICE, limit(Side.BUY, "0.01", "99"), 1))
    assert rejection.msg == "Filter failure: MIN_NOTIONAL"


def test_R17_quote_qty_too_small_for_one_step_fails_lot_size() -> None:
    engine = make_engine(rules=replace(BTC, min_notional=D("0")))
    rejection = rejected(engine.submit(ALICE, market(Side.BUY, quote="0.0009"), 1))
    assert (rejection.code, rejection.msg) == (-1013, "Filter failure: LOT_SIZE")


def test_R17_max_num_orders_and_max_num_algo_orders() -> None:
    engine = make_engine(rules=replace(BTC, max_num_orders=3, max_num_algo_orders=1))
    accepted(engine.submit(ALICE, stop(OrderType.STOP_LOSS, Side.SELL, "0.1", "90"), 1))
    algo = rejected(engine.submit(ALICE, stop(OrderType.TAKE_PROFIT, Side.SELL, "0.1", "110"), 1))
    assert (algo.code, algo.msg) == (-1013, "Filter failure: MAX_NUM_ALGO_ORDERS")
    accepted(engine.submit(ALICE, limit(Side.BUY, "0.1", "90"), 1))
    accepted(engine.submit(ALICE, limit(Side.BUY, "0.1", "90"), 1))
    too_many = rejected(engine.submit(ALICE, limit(Side.BUY, "0.1", "90"), 1))
    assert (too_many.code, too_many.msg) == (-1013, "Filter failure: MAX_NUM_ORDERS")


def test_R17_unknown_symbol_and_unknown_account() -> None:
    engine = make_engine()
    bad = rejected(engine.submit(ALICE, replace(limit(Side.BUY, "1", "99"), symbol="NOPEUSDT"), 1))
    assert (bad.code, bad.msg) == (-1121, "Invalid symbol.")
    key = rejected(engine.submit("mallory", limit(Side.BUY, "1", "99"), 1))
    assert (key.code, key.msg, key.http_status) == (
        -2015,
        "Invalid API-key, IP, or permissions for action.",
        401,
    )
    assert isinstance(key.to_error(), AuthenticationError)


def test_R17_market_closed_for_a_halted_symbol_or_no_price_yet() -> None:
    halted = make_engine(rules=replace(BTC, status=SymbolStatus.HALT))
    assert rejected(halted.submit(ALICE, limit(Side.BUY, "1", "99"), 1)).msg == "Market is closed."
    from binance_bot.matching import MatchingEngine

    fresh = MatchingEngine()
    fresh.add_symbol(BTC)
    fresh.open_account(ALICE, {"USDT": "1000"})
    rejection = rejected(fresh.submit(ALICE, limit(Side.BUY, "1", "99"), 1))
    assert (rejection.code, rejection.msg) == (-2010, "Market is closed.")


def test_R17_order_types_the_symbol_does_not_allow() -> None:
    engine = make_engine(rules=replace(BTC, order_types=("LIMIT",), quote_order_qty_market_allowed=False))
    assert rejected(engine.submit(ALICE, market(Side.BUY, "1"), 1)).msg == (
        "Market orders are not supported for this symbol."
    )
    assert rejected(
        engine.submit(ALICE, stop(OrderType.STOP_LOSS_LIMIT, Side.SELL, "1", "90", "89"), 1)
    ).msg == ("Stop loss limit orders are not supported for this symbol.")
    maker = NewOrder(SYMBOL, Side.BUY, OrderType.LIMIT_MAKER, quantity=D("1"), price=D("99"))
    assert rejected(engine.submit(ALICE, maker, 1)).msg == "Unsupported order combination"
    quote_engine = make_engine(rules=replace(BTC, quote_order_qty_market_allowed=False))
    assert rejected(quote_engine.submit(ALICE, market(Side.BUY, quote="50"), 1)).msg == (
        "Quote order qty market orders are not support for this symbol."
    )


def test_R17_duplicate_client_order_id_among_open_orders() -> None:
    engine = make_engine()
    first = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "99", cid="abc"), 1)).order
    duplicate = rejected(engine.submit(ALICE, limit(Side.BUY, "1", "98", cid="abc"), 1))
    assert (duplicate.code, duplicate.msg) == (-2010, "Duplicate order sent.")
    engine.cancel(ALICE, SYMBOL, order_id=first.order_id, now_ms=2)
    reused = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "98", cid="abc"), 3)).order
    assert engine.get_order(ALICE, SYMBOL, orig_client_order_id="abc").order_id == reused.order_id


def test_R17_cancel_and_query_errors() -> None:
    engine = make_engine()
    order_ = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "99", cid="abc"), 1)).order
    unknown = rejected(engine.cancel(ALICE, SYMBOL, order_id=999, now_ms=2))
    assert (unknown.code, unknown.msg) == (-2011, "Unknown order sent.")
    assert isinstance(unknown.to_error(), UnknownOrder)
    missing = rejected(engine.get_order(ALICE, SYMBOL, order_id=999))
    assert (missing.code, missing.msg) == (-2013, "Order does not exist.")
    mismatch = rejected(engine.get_order(ALICE, SYMBOL, order_id=order_.order_id, orig_client_order_id="xyz"))
    assert (mismatch.code, mismatch.msg) == (-2039, "Client order ID is not correct for this order ID.")
    neither = rejected(engine.cancel(ALICE, SYMBOL, now_ms=2))
    assert (neither.code, neither.msg) == (
        -1102,
        "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    )
    canceled = engine.cancel(ALICE, SYMBOL, orig_client_order_id="abc", new_client_order_id="c1", now_ms=3)
    assert (canceled.order.status, canceled.cancel_client_order_id) == (OrderStatus.CANCELED, "c1")
    again = rejected(engine.cancel(ALICE, SYMBOL, order_id=order_.order_id, now_ms=4))
    assert (again.code, again.msg) == (-2011, "Unknown order sent.")
    assert engine.get_order(ALICE, SYMBOL, order_id=order_.order_id).status is OrderStatus.CANCELED
    assert rejected(engine.get_order_list(ALICE, order_list_id=5)).msg == "Order list does not exist."
    assert rejected(engine.cancel(ALICE, "NOPE", order_id=1, now_ms=5)).code == -1121


def test_rejections_map_onto_the_error_tree() -> None:
    engine = make_engine(balances={"USDT": "1"})
    funds = rejected(engine.submit(ALICE, limit(Side.BUY, "1", "99"), 1)).to_error(endpoint="/api/v3/order")
    assert isinstance(funds, InsufficientFunds)
    assert (funds.code, funds.http_status, funds.endpoint) == (-2010, 400, "/api/v3/order")
    lot = rejected(engine.submit(ALICE, limit(Side.BUY, "0.000001", "99"), 1))
    error = lot.to_error()
    assert isinstance(error, OrderRejected) and not isinstance(error, InsufficientFunds)
    assert error.filter_name == "LOT_SIZE"
    assert lot.to_json() == {"code": -1013, "msg": "Filter failure: LOT_SIZE"}


def test_test_order_checks_without_placing() -> None:
    engine = make_engine()
    assert engine.test_order(ALICE, limit(Side.BUY, "1", "99"), 1) is None
    assert engine.open_orders(ALICE) == []
    assert engine.balance(ALICE, "USDT").locked == 0
    rejection = engine.test_order(ALICE, limit(Side.BUY, "0.000001", "99"), 1)
    assert rejection is not None and rejection.msg == "Filter failure: LOT_SIZE"
