"""Each order type against hand-made bars (docs/fill-model.md R2-R12)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from tests.unit.matching.helpers import (
    ALICE,
    BTC,
    SYMBOL,
    Clock,
    accepted,
    fills,
    limit,
    make_engine,
    market,
    rejected,
    reports,
    sell_oco,
    stop,
)

from binance_bot.matching import MatchingSettings, NewOrder
from binance_bot.model import Balance, ExecutionType, OrderRequest, OrderStatus, OrderType, Side, TimeInForce

SLIP5 = MatchingSettings()  # the defaults: 5 bps slippage, 0.1% fees

# ------------------------------------------------------------------ R2 path order


def test_R2_rising_bar_fills_the_sell_above_before_the_buy_below(clock: Clock) -> None:
    engine = make_engine()
    buy = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "95"), 1)).order
    sell = accepted(engine.submit(ALICE, limit(Side.SELL, "1", "105"), 1)).order
    got = fills(engine.on_bar(clock.bar("100", "106", "94", "104")))
    assert [(f.order_id, f.price, f.trade_id) for f in got] == [
        (sell.order_id, D("105.00"), 1),
        (buy.order_id, D("95.00"), 2),
    ]


def test_R2_falling_bar_fills_the_buy_below_first(clock: Clock) -> None:
    engine = make_engine()
    sell = accepted(engine.submit(ALICE, limit(Side.SELL, "1", "105"), 1)).order
    buy = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "95"), 1)).order
    got = fills(engine.on_bar(clock.bar("100", "106", "94", "99")))
    assert [f.order_id for f in got] == [buy.order_id, sell.order_id]


def test_R2_path_is_exposed_on_the_tick_grid(clock: Clock) -> None:
    engine = make_engine()
    assert engine.path(clock.bar("100", "106.004", "94", "99")) == (
        D("100.00"),
        D("94.00"),
        D("106.00"),
        D("99.00"),
    )


# ------------------------------------------------------------------ R3 worst case


def test_R3_default_path_lets_the_take_profit_win_on_a_rising_bar(clock: Clock) -> None:
    engine = make_engine()
    engine.submit_oco(ALICE, sell_oco("1", "105", "95"), 1)
    got = fills(engine.on_bar(clock.bar("100", "106", "94", "104")))
    assert [(f.price, f.is_maker) for f in got] == [(D("105.00"), True)]


def test_R3_worst_case_path_lets_the_stop_win_on_the_same_bar(clock: Clock) -> None:
    engine = make_engine(MatchingSettings(slippage_bps=D("0"), worst_case_path=True))
    engine.submit_oco(ALICE, sell_oco("1", "105", "95"), 1)
    got = fills(engine.on_bar(clock.bar("100", "106", "94", "104")))
    assert [(f.price, f.is_maker) for f in got] == [(D("95.00"), False)]


def test_R3_worst_case_buys_see_the_high_first(clock: Clock) -> None:
    engine = make_engine(MatchingSettings(slippage_bps=D("0"), worst_case_path=True))
    stop_buy = accepted(engine.submit(ALICE, stop(OrderType.STOP_LOSS, Side.BUY, "1", "105"), 1)).order
    limit_buy = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "95"), 1)).order
    # a falling bar: by default the low comes first, in worst case the buy side sees the high first
    got = fills(engine.on_bar(clock.bar("100", "106", "94", "99")))
    assert [f.order_id for f in got] == [stop_buy.order_id, limit_buy.order_id]
    assert engine.last_price(SYMBOL) == D("99.00")


# ------------------------------------------------------------------ R4 levels and gaps


def test_R4_gap_through_a_stop_fills_at_the_open(clock: Clock) -> None:
    engine = make_engine()
    engine.submit(ALICE, stop(OrderType.STOP_LOSS, Side.SELL, "1", "95"), 1)
    got = fills(engine.on_bar(clock.bar("90", "92", "89", "91")))
    assert [f.price for f in got] == [D("90.00")]


def test_R4_continuous_move_triggers_at_the_stop_price(clock: Clock) -> None:
    engine = make_engine()
    engine.submit(ALICE, stop(OrderType.STOP_LOSS, Side.SELL, "1", "95"), 1)
    got = fills(engine.on_bar(clock.bar("100", "101", "94", "96")))
    assert [f.price for f in got] == [D("95.00")]


def test_R4_orders_are_processed_in_the_order_the_path_reaches_them(clock: Clock) -> None:
    engine = make_engine()
    far = accepted(engine.submit(ALICE, stop(OrderType.STOP_LOSS, Side.SELL, "1", "95"), 1)).order
    near = accepted(engine.submit(ALICE, stop(OrderType.STOP_LOSS, Side.SELL, "1", "97"), 1)).order
    got = fills(engine.on_bar(clock.bar("100", "101", "94", "96")))
    assert [(f.order_id, f.trade_id) for f in got] == [(near.order_id, 1), (far.order_id, 2)]


def test_R4_ties_at_one_price_go_by_order_id(clock: Clock) -> None:
    engine = make_engine()
    first = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "95"), 1)).order
    second = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "95"), 1)).order
    got = fills(engine.on_bar(clock.bar("90", "92", "89", "91")))
    assert [f.order_id for f in got] == [first.order_id, second.order_id]


# ------------------------------------------------------------------ R5 resting limits


def test_R5_touching_the_limit_does_not_fill_by_default(clock: Clock) -> None:
    engine = make_engine()
    order = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "95"), 1)).order
    assert fills(engine.on_bar(clock.bar("100", "101", "95", "99"))) == []
    assert engine.get_order(ALICE, SYMBOL, order_id=order.order_id).status is OrderStatus.NEW


def test_R5_trading_through_fills_at_the_limit_as_maker(clock: Clock) -> None:
    engine = make_engine(MatchingSettings(slippage_bps=D("0"), maker_fee=D("0.0005"), taker_fee=D("0.002")))
    engine.submit(ALICE, limit(Side.BUY, "2", "95"), 1)
    got = fills(engine.on_bar(clock.bar("100", "101", "94.99", "99")))
    assert [(f.price, f.qty, f.is_maker, f.commission, f.commission_asset) for f in got] == [
        (D("95.00"), D("2.00000"), True, D("0.00100000"), "BTC")
    ]


def test_R5_touch_fills_setting_fills_on_reaching_the_limit(clock: Clock) -> None:
    engine = make_engine(MatchingSettings(slippage_bps=D("0"), touch_fills=True))
    engine.submit(ALICE, limit(Side.SELL, "1", "105"), 1)
    got = fills(engine.on_bar(clock.bar("100", "105", "99", "104")))
    assert [f.price for f in got] == [D("105.00")]


def test_R5_a_gap_past_a_resting_limit_gives_no_price_improvement(clock: Clock) -> None:
    engine = make_engine()
    engine.submit(ALICE, limit(Side.BUY, "1", "95"), 1)
    got = fills(engine.on_bar(clock.bar("90", "92", "89", "91")))
    assert [(f.price, f.is_maker) for f in got] == [(D("95.00"), True)]


# ------------------------------------------------------------------ R6 limit at arrival


def test_R6_marketable_limit_fills_at_once_at_the_slipped_current_price() -> None:
    engine = make_engine(SLIP5)
    result = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "101"), 5))
    assert result.order.status is OrderStatus.FILLED
    assert [(f.price, f.is_maker, f.time) for f in result.order.fills] == [(D("100.05"), False, 5)]
    assert [r.execution_type for r in reports(result.events)] == [ExecutionType.NEW, ExecutionType.TRADE]


def test_R6_marketable_limit_is_never_worse_than_its_limit() -> None:
    engine = make_engine(SLIP5)
    buy = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "100.02"), 5)).order
    sell = accepted(engine.submit(ALICE, limit(Side.SELL, "1", "99.98"), 5)).order
    assert buy.fills[0].price == D("100.02")
    assert sell.fills[0].price == D("99.98")


def test_R6_a_limit_at_the_current_price_is_marketable() -> None:
    engine = make_engine()
    order = accepted(engine.submit(ALICE, limit(Side.SELL, "1", "100"), 5)).order
    assert order.status is OrderStatus.FILLED


def test_R6_non_marketable_gtc_rests_and_ioc_fok_expire() -> None:
    engine = make_engine()
    gtc = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "99"), 5)).order
    ioc = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "99", TimeInForce.IOC), 5))
    fok = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "99", TimeInForce.FOK), 5)).order
    assert gtc.status is OrderStatus.NEW
    assert ioc.order.status is OrderStatus.EXPIRED
    assert [r.execution_type for r in reports(ioc.events)] == [ExecutionType.NEW, ExecutionType.EXPIRED]
    assert fok.status is OrderStatus.EXPIRED
    assert engine.balance(ALICE, "USDT").locked == D("99")  # only the GTC order holds funds


def test_R6_marketable_ioc_and_fok_fill_completely_without_a_cap() -> None:
    engine = make_engine()
    ioc = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "101", TimeInForce.IOC), 5)).order
    fok = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "101", TimeInForce.FOK), 5)).order
    assert (ioc.status, fok.status) == (OrderStatus.FILLED, OrderStatus.FILLED)


# ------------------------------------------------------------------ R7 LIMIT_MAKER


def test_R7_limit_maker_that_would_take_is_rejected() -> None:
    engine = make_engine()
    for side, price in ((Side.BUY, "100"), (Side.BUY, "100.5"), (Side.SELL, "100"), (Side.SELL, "99")):
        request = NewOrder(SYMBOL, side, OrderType.LIMIT_MAKER, quantity=D("1"), price=D(price))
        rejection = rejected(engine.submit(ALICE, request, 5))
        assert (rejection.code, rejection.msg) == (-2010, "Order would immediately match and take.")


def test_R7_limit_maker_that_would_not_take_rests_and_fills_as_maker(clock: Clock) -> None:
    engine = make_engine()
    request = NewOrder(SYMBOL, Side.BUY, OrderType.LIMIT_MAKER, quantity=D("1"), price=D("99.99"))
    assert accepted(engine.submit(ALICE, request, 5)).order.status is OrderStatus.NEW
    got = fills(engine.on_bar(clock.bar("100", "100", "99", "99.5")))
    assert [(f.price, f.is_maker) for f in got] == [(D("99.99"), True)]


# ------------------------------------------------------------------ R8 slippage


def test_R8_market_slippage_rounds_to_the_tick_against_the_trader() -> None:
    engine = make_engine(SLIP5, price="100")
    buy = accepted(engine.submit(ALICE, market(Side.BUY, "1"), 5)).order
    sell = accepted(engine.submit(ALICE, market(Side.SELL, "1"), 5)).order
    got = fills(engine.price_event(SYMBOL, D("100.01"), 6))
    # 100.01 * 1.0005 = 100.060005 -> 100.07 ; 100.01 * 0.9995 = 99.959995 -> 99.95
    assert {f.order_id: f.price for f in got} == {buy.order_id: D("100.07"), sell.order_id: D("99.95")}


# ------------------------------------------------------------------ R9 MARKET


def test_R9_market_waits_for_the_next_price_event(clock: Clock) -> None:
    engine = make_engine(SLIP5)
    result = accepted(engine.submit(ALICE, market(Side.BUY, "1"), 5))
    assert result.order.status is OrderStatus.NEW
    assert [r.execution_type for r in reports(result.events)] == [ExecutionType.NEW]
    got = fills(engine.on_bar(clock.bar("101", "102", "100", "101.5")))
    assert [(f.price, f.is_maker) for f in got] == [(D("101.06"), False)]  # 101 * 1.0005 rounded up


def test_R9_market_fills_after_the_resting_orders_the_same_move_meets(clock: Clock) -> None:
    engine = make_engine()
    resting = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "99.5"), 5)).order
    queued = accepted(engine.submit(ALICE, market(Side.BUY, "1"), 6)).order
    got = fills(engine.on_bar(clock.bar("99", "99.5", "98", "99")))
    assert [(f.order_id, f.price, f.trade_id) for f in got] == [
        (resting.order_id, D("99.50"), 1),
        (queued.order_id, D("99.00"), 2),
    ]


def test_R9_a_fed_price_event_fills_a_market_order() -> None:
    engine = make_engine()
    order = accepted(engine.submit(ALICE, market(Side.SELL, "2"), 5)).order
    got = fills(engine.price_event(SYMBOL, D("100.5"), 6))
    assert [(f.order_id, f.price, f.qty, f.time) for f in got] == [
        (order.order_id, D("100.50"), D("2.00000"), 6)
    ]
    final = engine.get_order(ALICE, SYMBOL, order_id=order.order_id)
    assert final.status is OrderStatus.FILLED
    assert final.cummulative_quote_qty == D("201.0000000")


def test_R9_quote_order_qty_buy_spends_at_most_that_amount(clock: Clock) -> None:
    engine = make_engine()
    order = accepted(engine.submit(ALICE, market(Side.BUY, quote="1000"), 5)).order
    assert engine.balance(ALICE, "USDT").locked == D("1000")
    engine.on_bar(clock.bar("101", "102", "100", "101"))
    final = engine.get_order(ALICE, SYMBOL, order_id=order.order_id)
    assert final.status is OrderStatus.FILLED
    assert final.executed_qty == D("9.90099")  # 1000 / 101 rounded down to the step
    assert final.orig_qty == D("9.90099")
    assert final.cummulative_quote_qty == D("999.99999")
    assert final.orig_quote_order_qty == D("1000")
    assert engine.balance(ALICE, "USDT").locked == 0
    assert engine.balance(ALICE, "USDT").free == D("100000") - D("999.99999")


def test_R9_quote_order_qty_sell_sells_enough_for_that_amount() -> None:
    engine = make_engine()
    order = accepted(engine.submit(ALICE, market(Side.SELL, quote="500"), 5)).order
    engine.price_event(SYMBOL, D("100"), 6)
    final = engine.get_order(ALICE, SYMBOL, order_id=order.order_id)
    assert (final.status, final.executed_qty) == (OrderStatus.FILLED, D("5.00000"))
    assert engine.balance(ALICE, "BTC") == Balance("BTC", D("5"), D("0"))


def test_R9_quote_order_qty_below_min_qty_at_fill_time_expires_without_a_fill() -> None:
    engine = make_engine(rules=replace(BTC, min_notional=D("0")))
    order = accepted(engine.submit(ALICE, market(Side.BUY, quote="0.002"), 5)).order
    got = engine.price_event(SYMBOL, D("300"), 6)
    assert fills(got) == []
    assert [r.execution_type for r in reports(got)] == [ExecutionType.EXPIRED]
    assert engine.get_order(ALICE, SYMBOL, order_id=order.order_id).status is OrderStatus.EXPIRED
    assert engine.balance(ALICE, "USDT").locked == 0


def test_R9_a_queued_market_order_can_be_cancelled() -> None:
    engine = make_engine()
    order = accepted(engine.submit(ALICE, market(Side.BUY, "1"), 5)).order
    assert (
        engine.cancel(ALICE, SYMBOL, order_id=order.order_id, now_ms=6).order.status is OrderStatus.CANCELED
    )
    assert fills(engine.price_event(SYMBOL, D("100"), 7)) == []
    assert engine.balance(ALICE, "USDT").locked == 0


# ------------------------------------------------------------------ R10-R12 stops


def test_R10_each_stop_direction_triggers_as_binance_defines(clock: Clock) -> None:
    engine = make_engine()
    stop_buy = accepted(engine.submit(ALICE, stop(OrderType.STOP_LOSS, Side.BUY, "1", "102"), 1)).order
    tp_sell = accepted(engine.submit(ALICE, stop(OrderType.TAKE_PROFIT, Side.SELL, "1", "103"), 1)).order
    stop_sell = accepted(engine.submit(ALICE, stop(OrderType.STOP_LOSS, Side.SELL, "1", "97"), 1)).order
    tp_buy = accepted(engine.submit(ALICE, stop(OrderType.TAKE_PROFIT, Side.BUY, "1", "96"), 1)).order
    assert stop_buy.working_time == -1 and not stop_buy.is_working
    up = fills(engine.on_bar(clock.bar("100", "104", "99", "103.5")))
    assert [(f.order_id, f.price) for f in up] == [
        (stop_buy.order_id, D("102.00")),
        (tp_sell.order_id, D("103.00")),
    ]
    down = fills(engine.on_bar(clock.bar("103.5", "104", "95", "96.5")))
    assert [(f.order_id, f.price) for f in down] == [
        (stop_sell.order_id, D("97.00")),
        (tp_buy.order_id, D("96.00")),
    ]
    assert engine.get_order(ALICE, SYMBOL, order_id=stop_buy.order_id).working_time == clock.t - 60_000 - 1


def test_R10_a_stop_already_met_at_arrival_is_rejected() -> None:
    engine = make_engine()
    for kind, side, stop_price in (
        (OrderType.STOP_LOSS, Side.BUY, "100"),
        (OrderType.TAKE_PROFIT, Side.SELL, "99"),
        (OrderType.STOP_LOSS_LIMIT, Side.SELL, "100"),
        (OrderType.TAKE_PROFIT_LIMIT, Side.BUY, "101"),
    ):
        price = "100" if kind.has_limit_price else None
        rejection = rejected(engine.submit(ALICE, stop(kind, side, "1", stop_price, price), 5))
        assert (rejection.code, rejection.msg) == (-2010, "Order would trigger immediately.")


def test_R11_triggered_stop_market_fills_at_the_slipped_trigger_price(clock: Clock) -> None:
    engine = make_engine(SLIP5)
    engine.submit(ALICE, stop(OrderType.STOP_LOSS, Side.SELL, "1", "95"), 1)
    got = fills(engine.on_bar(clock.bar("100", "101", "94", "96")))
    assert [(f.price, f.is_maker) for f in got] == [(D("94.95"), False)]  # 95 * 0.9995 = 94.9525 -> down


def test_R12_stop_limit_marketable_at_trigger_takes_bounded_by_its_limit(clock: Clock) -> None:
    engine = make_engine(SLIP5)
    wide = accepted(
        engine.submit(ALICE, stop(OrderType.STOP_LOSS_LIMIT, Side.SELL, "1", "95", "94"), 1)
    ).order
    tight = accepted(
        engine.submit(ALICE, stop(OrderType.STOP_LOSS_LIMIT, Side.SELL, "1", "95", "94.98"), 1)
    ).order
    got = fills(engine.on_bar(clock.bar("100", "101", "94.5", "96")))
    assert {f.order_id: (f.price, f.is_maker) for f in got} == {
        wide.order_id: (D("94.95"), False),
        tight.order_id: (D("94.98"), False),
    }


def test_R12_stop_limit_gapped_past_its_limit_rests_and_fills_later_as_maker(clock: Clock) -> None:
    engine = make_engine()
    order = accepted(
        engine.submit(ALICE, stop(OrderType.STOP_LOSS_LIMIT, Side.SELL, "1", "95", "94"), 1)
    ).order
    events = engine.on_bar(clock.bar("93", "96", "92", "95"))  # rising: 93 -> 96 -> 92 -> 95
    kinds = [(r.execution_type, r.order.status) for r in reports(events)]
    assert kinds == [(ExecutionType.NEW, OrderStatus.NEW), (ExecutionType.TRADE, OrderStatus.FILLED)]
    assert reports(events)[0].order.working_time == clock.t - 1
    assert [(f.price, f.is_maker) for f in fills(events)] == [(D("94.00"), True)]
    assert engine.get_order(ALICE, SYMBOL, order_id=order.order_id).status is OrderStatus.FILLED


def test_R12_ioc_stop_limit_not_marketable_at_trigger_expires(clock: Clock) -> None:
    engine = make_engine()
    engine.submit(ALICE, stop(OrderType.STOP_LOSS_LIMIT, Side.SELL, "1", "95", "94", TimeInForce.IOC), 1)
    events = engine.on_bar(clock.bar("93", "96", "92", "95"))
    assert [r.execution_type for r in reports(events)] == [ExecutionType.EXPIRED]
    assert engine.balance(ALICE, "BTC").locked == 0


def test_R12_take_profit_limit_sell_takes_at_its_trigger(clock: Clock) -> None:
    engine = make_engine()
    engine.submit(ALICE, stop(OrderType.TAKE_PROFIT_LIMIT, Side.SELL, "1", "105", "104.5"), 1)
    got = fills(engine.on_bar(clock.bar("100", "106", "99", "105")))
    assert [(f.price, f.is_maker) for f in got] == [(D("105.00"), False)]


def test_the_bots_order_request_is_accepted_as_is() -> None:
    engine = make_engine()
    request = OrderRequest(
        SYMBOL,
        Side.BUY,
        OrderType.LIMIT,
        "entry-7",
        quantity=D("1"),
        price=D("99"),
        time_in_force=TimeInForce.GTC,
    )
    result = accepted(engine.submit_request(ALICE, request, 3))
    assert (result.order.client_order_id, result.order.price, result.order.time) == ("entry-7", D("99"), 3)
    assert result.resp_type.value == "FULL"
