"""OCO order lists (R14) and partial fills under the participation cap (R13)."""

from __future__ import annotations

from decimal import Decimal as D

from tests.unit.matching.helpers import (
    ALICE,
    SYMBOL,
    Clock,
    accepted,
    fills,
    limit,
    list_statuses,
    make_engine,
    market,
    rejected,
    reports,
    sell_oco,
)

from binance_bot.matching import ListAccepted, MatchingSettings, NewOco, OcoLeg
from binance_bot.model import (
    AccountUpdate,
    ExecutionReport,
    ExecutionType,
    ListStatus,
    OcoRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)


def placed(result: object) -> ListAccepted:
    assert isinstance(result, ListAccepted), result
    return result


# ------------------------------------------------------------------ R14 OCO


def test_R14_oco_places_two_legs_below_first_sharing_one_lock() -> None:
    engine = make_engine()
    result = placed(engine.submit_oco(ALICE, sell_oco("2", "105", "95", "94"), 7))
    lst = result.order_list
    assert (lst.list_status_type, lst.list_order_status) == ("EXEC_STARTED", "EXECUTING")
    assert [(o.type, o.order_id, o.order_list_id) for o in lst.orders] == [
        (OrderType.STOP_LOSS_LIMIT, 1, lst.order_list_id),
        (OrderType.LIMIT_MAKER, 2, lst.order_list_id),
    ]
    assert [o.working_time for o in lst.orders] == [-1, 7]
    kinds = [type(e.event) for e in result.events]
    assert kinds == [ExecutionReport, ExecutionReport, ListStatus, AccountUpdate]
    assert engine.balance(ALICE, "BTC").locked == D("2")
    assert len(engine.open_orders(ALICE, SYMBOL)) == 2
    assert [x.order_list_id for x in engine.open_order_lists(ALICE)] == [lst.order_list_id]


def test_R14_take_profit_fill_expires_the_stop_and_ends_the_list(clock: Clock) -> None:
    engine = make_engine()
    engine.submit_oco(ALICE, sell_oco("1", "105", "95"), 1)
    events = engine.on_bar(clock.bar("100", "106", "99", "104"))
    assert [(r.order.type, r.execution_type, r.order.status) for r in reports(events)] == [
        (OrderType.STOP_LOSS, ExecutionType.EXPIRED, OrderStatus.EXPIRED),
        (OrderType.LIMIT_MAKER, ExecutionType.TRADE, OrderStatus.FILLED),
    ]
    statuses = list_statuses(events)
    assert [(s.order_list.list_status_type, s.order_list.list_order_status) for s in statuses] == [
        ("ALL_DONE", "ALL_DONE")
    ]
    assert [o.status for o in statuses[0].order_list.orders] == [OrderStatus.EXPIRED, OrderStatus.FILLED]
    assert engine.balance(ALICE, "BTC").locked == 0
    assert engine.open_order_lists(ALICE) == []


def test_R14_stop_trigger_expires_the_take_profit(clock: Clock) -> None:
    engine = make_engine()
    engine.submit_oco(ALICE, sell_oco("1", "105", "95"), 1)
    events = engine.on_bar(clock.bar("100", "101", "94", "96"))
    assert [(r.order.type, r.execution_type) for r in reports(events)] == [
        (OrderType.LIMIT_MAKER, ExecutionType.EXPIRED),
        (OrderType.STOP_LOSS, ExecutionType.TRADE),
    ]
    assert [f.price for f in fills(events)] == [D("95.00")]
    assert engine.balance(ALICE, "BTC").total == D("9")


def test_R14_a_triggered_stop_limit_leg_works_on_after_the_list_is_done(clock: Clock) -> None:
    engine = make_engine()
    result = placed(engine.submit_oco(ALICE, sell_oco("1", "105", "95", "94"), 1))
    stop_leg = result.order_list.orders[0]
    first = engine.on_bar(clock.bar("93", "93.5", "92", "93"))  # gap below the limit: rests
    assert list_statuses(first)[0].order_list.list_order_status == "ALL_DONE"
    assert engine.get_order(ALICE, SYMBOL, order_id=stop_leg.order_id).status is OrderStatus.NEW
    assert engine.balance(ALICE, "BTC").locked == D("1")
    second = engine.on_bar(clock.bar("93", "94.5", "92.5", "94"))
    assert [(f.order_id, f.price, f.is_maker) for f in fills(second)] == [
        (stop_leg.order_id, D("94.00"), True)
    ]
    assert list_statuses(second) == []


def test_R14_cancelling_one_leg_cancels_the_list() -> None:
    engine = make_engine()
    result = placed(engine.submit_oco(ALICE, sell_oco("1", "105", "95"), 1))
    cancel = engine.cancel(ALICE, SYMBOL, order_id=result.order_list.orders[1].order_id, now_ms=2)
    assert cancel.order_list is not None
    assert [o.status for o in cancel.order_list.orders] == [OrderStatus.CANCELED, OrderStatus.CANCELED]
    assert cancel.order_list.list_status_type == "ALL_DONE"
    assert [r.execution_type for r in reports(cancel.events)] == [
        ExecutionType.CANCELED,
        ExecutionType.CANCELED,
    ]
    assert len(list_statuses(cancel.events)) == 1
    assert engine.balance(ALICE, "BTC").locked == 0
    assert engine.open_orders(ALICE) == []


def test_R14_cancel_order_list_by_client_id() -> None:
    engine = make_engine()
    request = NewOco(
        SYMBOL,
        Side.SELL,
        D("1"),
        above=OcoLeg(OrderType.LIMIT_MAKER, price=D("105")),
        below=OcoLeg(OrderType.STOP_LOSS, stop_price=D("95")),
        list_client_order_id="myList",
    )
    placed(engine.submit_oco(ALICE, request, 1))
    result = engine.cancel_order_list(ALICE, SYMBOL, list_client_order_id="myList", now_ms=2)
    assert result.order_list.list_client_order_id == "myList"
    assert [o.status for o in result.order_list.orders] == [OrderStatus.CANCELED, OrderStatus.CANCELED]
    again = rejected(engine.cancel_order_list(ALICE, SYMBOL, list_client_order_id="myList", now_ms=3))
    assert (again.code, again.msg) == (-2011, "Order list does not exist.")
    assert engine.get_order_list(ALICE, list_client_order_id="myList").list_order_status == "ALL_DONE"


def test_R14_buy_oco_locks_the_larger_leg_and_fills_its_limit_below(clock: Clock) -> None:
    engine = make_engine()
    request = NewOco(
        SYMBOL,
        Side.BUY,
        D("1"),
        above=OcoLeg(
            OrderType.STOP_LOSS_LIMIT, price=D("106"), stop_price=D("105"), time_in_force=TimeInForce.GTC
        ),
        below=OcoLeg(OrderType.LIMIT_MAKER, price=D("95")),
    )
    placed(engine.submit_oco(ALICE, request, 1))
    assert engine.balance(ALICE, "USDT").locked == D("106")
    got = fills(engine.on_bar(clock.bar("100", "101", "94", "96")))
    assert [(f.price, f.is_maker, f.side) for f in got] == [(D("95.00"), True, Side.BUY)]
    assert engine.balance(ALICE, "USDT").locked == 0
    assert engine.balance(ALICE, "USDT").free == D("100000") - D("95")


def test_R14_oco_from_the_bots_request() -> None:
    engine = make_engine()
    request = OcoRequest(
        symbol=SYMBOL,
        side=Side.SELL,
        quantity=D("1"),
        list_client_order_id="exit-1",
        take_profit_price=D("110"),
        stop_price=D("95"),
        stop_limit_price=D("94.5"),
        take_profit_client_order_id="exit-1-tp",
        stop_client_order_id="exit-1-sl",
    )
    lst = placed(engine.submit_oco_request(ALICE, request, 1)).order_list
    assert [(o.client_order_id, o.type, o.price, o.stop_price) for o in lst.orders] == [
        ("exit-1-sl", OrderType.STOP_LOSS_LIMIT, D("94.5"), D("95")),
        ("exit-1-tp", OrderType.LIMIT_MAKER, D("110"), D("0")),
    ]


def test_R14_oco_price_and_placement_errors_carry_binance_codes() -> None:
    engine = make_engine()
    lm = OcoLeg(OrderType.LIMIT_MAKER, price=D("105"))
    sl = OcoLeg(OrderType.STOP_LOSS, stop_price=D("95"))
    cases = [
        (Side.SELL, OcoLeg(OrderType.LIMIT_MAKER, price=D("99")), sl, -1166, "A limit order in a sell OCO must be above."),
        (Side.SELL, lm, OcoLeg(OrderType.STOP_LOSS, stop_price=D("101")), -1197, "A stop loss order in a sell OCO must be below."),
        (Side.SELL, OcoLeg(OrderType.TAKE_PROFIT, stop_price=D("99")), sl, -1199, "A take profit order in a sell OCO must be above."),
        (Side.SELL, sl, lm, -1197, "A stop loss order in a sell OCO must be below."),
        (Side.BUY, OcoLeg(OrderType.STOP_LOSS, stop_price=D("99")), OcoLeg(OrderType.LIMIT_MAKER, price=D("95")), -1196, "A stop loss order in a buy OCO must be above."),
        (Side.BUY, OcoLeg(OrderType.STOP_LOSS, stop_price=D("105")), OcoLeg(OrderType.LIMIT_MAKER, price=D("101")), -1165, "A limit order in a buy OCO must be below."),
        (Side.BUY, OcoLeg(OrderType.STOP_LOSS, stop_price=D("105")), OcoLeg(OrderType.TAKE_PROFIT, stop_price=D("101")), -1198, "A take profit order in a buy OCO must be below."),
        (Side.BUY, lm, sl, -1165, "A limit order in a buy OCO must be below."),
        (Side.SELL, OcoLeg(OrderType.LIMIT, price=D("105"), time_in_force=TimeInForce.GTC), sl, -1158, "Order type not supported in OCO."),
        (Side.SELL, lm, OcoLeg(OrderType.LIMIT_MAKER, price=D("95")), -1168, "At least one OCO order must be contingent."),
    ]  # fmt: skip
    for side, above, below, code, msg in cases:
        rejection = rejected(
            engine.submit_oco(ALICE, NewOco(SYMBOL, side, D("1"), above=above, below=below), 1)
        )
        assert (rejection.code, rejection.msg) == (code, msg), (side, above, below)


def test_R14_oco_parameter_duplicate_and_funds_errors() -> None:
    engine = make_engine(balances={"USDT": "100000", "BTC": "0.5"})
    lm = OcoLeg(OrderType.LIMIT_MAKER, price=D("105"), client_order_id="same")
    stop_limit_no_price = OcoLeg(OrderType.STOP_LOSS_LIMIT, stop_price=D("95"), time_in_force=TimeInForce.GTC)
    missing = rejected(
        engine.submit_oco(ALICE, NewOco(SYMBOL, Side.SELL, D("0.1"), lm, stop_limit_no_price), 1)
    )
    assert (missing.code, missing.msg) == (
        -1102,
        "Mandatory parameter 'belowPrice' was not sent, was empty/null, or malformed.",
    )
    same_ids = NewOco(
        SYMBOL,
        Side.SELL,
        D("0.1"),
        lm,
        OcoLeg(OrderType.STOP_LOSS, stop_price=D("95"), client_order_id="same"),
    )
    assert rejected(engine.submit_oco(ALICE, same_ids, 1)).msg == "Duplicate order sent."
    too_big = rejected(engine.submit_oco(ALICE, sell_oco("1", "105", "95"), 1))
    assert (too_big.code, too_big.msg) == (-2010, "Account has insufficient balance for requested action.")


def test_R14_an_oco_counts_as_two_orders_for_max_num_orders() -> None:
    from dataclasses import replace

    from tests.unit.matching.helpers import BTC

    engine = make_engine(rules=replace(BTC, max_num_orders=2))
    engine.submit(ALICE, limit(Side.BUY, "0.1", "90"), 1)
    rejection = rejected(engine.submit_oco(ALICE, sell_oco("1", "105", "95"), 1))
    assert (rejection.code, rejection.msg) == (-1013, "Filter failure: MAX_NUM_ORDERS")


# ------------------------------------------------------------------ R13 partial fills

CAPPED = MatchingSettings(slippage_bps=D("0"), participation_cap=D("0.1"))


def test_R13_resting_limit_fills_across_bars_within_the_cap(clock: Clock) -> None:
    engine = make_engine(CAPPED)
    order = accepted(engine.submit(ALICE, limit(Side.BUY, "2.5", "95"), 1)).order
    first = engine.on_bar(clock.bar("100", "101", "94", "96", volume="10"))  # cap: 1 BTC
    assert [(f.qty, f.price) for f in fills(first)] == [(D("1.00000"), D("95.00"))]
    assert reports(first)[-1].order.status is OrderStatus.PARTIALLY_FILLED
    second = engine.on_bar(clock.bar("94", "96", "93", "95.5", volume="10"))  # still below: fills at the open
    assert [(f.qty, f.price) for f in fills(second)] == [(D("1.00000"), D("95.00"))]
    third = engine.on_bar(clock.bar("96", "97", "94", "96", volume="10"))
    assert [f.qty for f in fills(third)] == [D("0.50000")]
    final = engine.get_order(ALICE, SYMBOL, order_id=order.order_id)
    assert (final.status, final.executed_qty) == (OrderStatus.FILLED, D("2.50000"))
    assert [f.trade_id for f in final.fills] == [1, 2, 3]


def test_R13_market_order_fills_up_to_the_cap_and_expires_the_rest(clock: Clock) -> None:
    engine = make_engine(CAPPED)
    order = accepted(engine.submit(ALICE, market(Side.BUY, "3"), 1)).order
    events = engine.on_bar(clock.bar("100", "101", "99", "100", volume="10"))
    assert [(r.execution_type, r.order.status) for r in reports(events)] == [
        (ExecutionType.TRADE, OrderStatus.PARTIALLY_FILLED),
        (ExecutionType.EXPIRED, OrderStatus.EXPIRED),
    ]
    final = engine.get_order(ALICE, SYMBOL, order_id=order.order_id)
    assert final.executed_qty == D("1.00000")
    assert engine.balance(ALICE, "USDT").locked == 0


def test_R13_taker_limits_respect_the_cap_by_time_in_force(clock: Clock) -> None:
    engine = make_engine(CAPPED)
    engine.on_bar(clock.bar("100", "100.5", "99.5", "100", volume="10"))  # the bar context: 1 BTC per order
    fok = accepted(engine.submit(ALICE, limit(Side.BUY, "2", "101", TimeInForce.FOK), 1)).order
    assert (fok.status, fok.executed_qty) == (OrderStatus.EXPIRED, D("0"))
    ioc = accepted(engine.submit(ALICE, limit(Side.BUY, "2", "101", TimeInForce.IOC), 1)).order
    assert (ioc.status, ioc.executed_qty) == (OrderStatus.EXPIRED, D("1.00000"))
    gtc = accepted(engine.submit(ALICE, limit(Side.BUY, "2", "101"), 1)).order
    assert (gtc.status, gtc.executed_qty) == (OrderStatus.PARTIALLY_FILLED, D("1.00000"))
    later = engine.on_bar(clock.bar("100", "100.5", "99.5", "100", volume="10"))
    assert [(f.order_id, f.qty, f.is_maker) for f in fills(later)] == [(gtc.order_id, D("1.00000"), True)]


def test_R13_price_events_share_one_budget_per_bar(clock: Clock) -> None:
    engine = make_engine(CAPPED)
    engine.submit(ALICE, limit(Side.SELL, "3", "101"), 1)
    bar = clock.bar("100", "103", "99", "102", volume="10")
    engine.begin_bar(bar)
    got = []
    for price in ("100", "101.5", "102", "103", "99", "102"):
        got += fills(engine.price_event(SYMBOL, D(price), 2))
    engine.end_bar(SYMBOL)
    assert [f.qty for f in got] == [D("1.00000")]
    engine.begin_bar(clock.bar("102", "103", "99", "102", volume="10"))
    assert [f.qty for f in fills(engine.price_event(SYMBOL, D("102"), 3))] == [D("1.00000")]


def test_R13_without_a_cap_everything_fills_at_once(clock: Clock) -> None:
    engine = make_engine()
    engine.submit(ALICE, limit(Side.BUY, "5", "95"), 1)
    got = fills(engine.on_bar(clock.bar("100", "101", "94", "96", volume="0.001")))
    assert [f.qty for f in got] == [D("5.00000")]
