"""Balances and locks (R15), commission (R16), the average price (R18), ids and events (R19)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest
from tests.unit.matching.helpers import (
    ALICE,
    BTC,
    NO_SLIP,
    SYMBOL,
    Clock,
    accepted,
    account_updates,
    fills,
    limit,
    make_engine,
    market,
    rejected,
    reports,
    sell_oco,
    stop,
)

from binance_bot.errors import ConfigError, DataError
from binance_bot.matching import MatchingEngine, MatchingSettings, commission, commission_asset
from binance_bot.model import AccountUpdate, Balance, ExecutionReport, OrderType, Side, TimeInForce

# ------------------------------------------------------------------ R15 balances


def test_R15_limit_buy_locks_quote_and_cancel_unlocks_it() -> None:
    engine = make_engine()
    order = accepted(engine.submit(ALICE, limit(Side.BUY, "2", "95.5"), 1)).order
    assert engine.balance(ALICE, "USDT") == Balance("USDT", D("99809"), D("191"))
    result = engine.cancel(ALICE, SYMBOL, order_id=order.order_id, now_ms=2)
    assert engine.balance(ALICE, "USDT") == Balance("USDT", D("100000"), D("0"))
    assert account_updates(result.events)[-1].balances == (Balance("USDT", D("100000"), D("0")),)


def test_R15_sell_locks_base() -> None:
    engine = make_engine()
    engine.submit(ALICE, limit(Side.SELL, "3", "105"), 1)
    assert engine.balance(ALICE, "BTC") == Balance("BTC", D("7"), D("3"))


def test_R15_fill_moves_money_less_commission_in_the_received_asset(clock: Clock) -> None:
    engine = make_engine()
    engine.submit(ALICE, limit(Side.BUY, "2", "95"), 1)
    engine.submit(ALICE, limit(Side.SELL, "1", "105"), 1)
    engine.on_bar(clock.bar("100", "106", "94", "100"))
    # bought 2 at 95 paying 0.002 BTC; sold 1 at 105 paying 0.105 USDT
    assert engine.balance(ALICE, "BTC") == Balance("BTC", D("10") + 2 - D("0.002") - 1, D("0"))
    assert engine.balance(ALICE, "USDT") == Balance("USDT", D("100000") - 190 + 105 - D("0.105"), D("0"))


def test_R15_market_buy_locks_the_slipped_price_and_a_gap_up_uses_free_funds(clock: Clock) -> None:
    engine = make_engine(MatchingSettings(), balances={"USDT": "1000"})
    accepted(engine.submit(ALICE, market(Side.BUY, "5"), 1))
    assert engine.balance(ALICE, "USDT").locked == D("500.25")  # 5 * 100.05
    engine.on_bar(clock.bar("110", "111", "109", "110"))
    assert engine.balance(ALICE, "USDT") == Balance("USDT", D("1000") - 5 * D("110.06"), D("0"))


def test_R15_a_gap_beyond_the_funds_fills_what_they_pay_for_and_expires_the_rest(clock: Clock) -> None:
    engine = make_engine(balances={"USDT": "510"})
    order = accepted(engine.submit(ALICE, market(Side.BUY, "5"), 1)).order
    events = engine.on_bar(clock.bar("200", "201", "199", "200"))
    assert [f.qty for f in fills(events)] == [D("2.55000")]  # 510 / 200
    assert engine.get_order(ALICE, SYMBOL, order_id=order.order_id).status.value == "EXPIRED"
    assert engine.balance(ALICE, "USDT") == Balance("USDT", D("0"), D("0"))


def test_R15_insufficient_balance_is_rejected_with_binance_message() -> None:
    engine = make_engine(balances={"USDT": "100", "BTC": "0.5"})
    for request in (
        limit(Side.BUY, "2", "95"),
        market(Side.BUY, "1.00001"),
        limit(Side.SELL, "1", "105"),
        market(Side.SELL, quote="60"),
        stop(OrderType.STOP_LOSS, Side.BUY, "1", "101"),
    ):
        rejection = rejected(engine.submit(ALICE, request, 1))
        assert (rejection.code, rejection.msg, rejection.http_status) == (
            -2010,
            "Account has insufficient balance for requested action.",
            400,
        ), request
    accepted(engine.submit(ALICE, market(Side.BUY, "1"), 1))  # exactly affordable
    assert engine.balance(ALICE, "USDT") == Balance("USDT", D("0"), D("100"))


def test_R15_stop_limit_locks_its_limit_value() -> None:
    engine = make_engine()
    engine.submit(ALICE, stop(OrderType.STOP_LOSS_LIMIT, Side.BUY, "2", "101", "102"), 1)
    assert engine.balance(ALICE, "USDT").locked == D("204")


# ------------------------------------------------------------------ R16 commission


def test_R16_buy_pays_commission_in_base_and_sell_in_quote() -> None:
    assert commission_asset(Side.BUY, "BTC", "USDT") == "BTC"
    assert commission_asset(Side.SELL, "BTC", "USDT") == "USDT"
    assert commission(Side.BUY, D("50000"), D("0.12345"), D("0.001")) == D("0.00012345")
    assert commission(Side.SELL, D("50000"), D("0.12345"), D("0.001")) == D("6.17250000")


def test_R16_commission_rounds_half_up_to_eight_decimals() -> None:
    assert commission(Side.BUY, D("1"), D("0.000005"), D("0.001")) == D("0.00000001")
    assert commission(Side.BUY, D("1"), D("0.0000049"), D("0.001")) == D("0")
    assert commission(Side.SELL, D("0.33333"), D("0.00003"), D("0.075")) == D("0.00000075")
    assert commission(Side.BUY, D("1"), D("0.00012345"), D("0.001"), places=6) == D("0")


def test_R16_maker_and_taker_rates_apply_by_role(clock: Clock) -> None:
    engine = make_engine(MatchingSettings(slippage_bps=D("0"), maker_fee=D("0.0002"), taker_fee=D("0.0007")))
    taker = accepted(engine.submit(ALICE, limit(Side.SELL, "1", "99"), 1)).order.fills[0]
    engine.submit(ALICE, limit(Side.SELL, "1", "105"), 1)
    maker = fills(engine.on_bar(clock.bar("100", "106", "99", "100")))[0]
    assert (taker.is_maker, taker.commission, taker.commission_asset) == (False, D("0.07000000"), "USDT")
    assert (maker.is_maker, maker.commission) == (True, D("0.02100000"))


# ------------------------------------------------------------------ R18 average price


def test_R18_average_price_weights_the_bars_in_the_window(clock: Clock) -> None:
    engine = make_engine()
    first = replace(clock.bar("100", "100", "100", "100", volume="1"), quote_volume=D("100"))
    second = replace(clock.bar("100", "110", "100", "110", volume="3"), quote_volume=D("330"))
    engine.on_bar(first)
    engine.on_bar(second)
    assert engine.avg_price(SYMBOL, second.close_time) == D("107.50000000")
    # five minutes later only the second bar is inside the window, ten minutes later neither
    assert engine.avg_price(SYMBOL, first.close_time + 5 * 60_000 + 1) == D("110")
    assert engine.avg_price(SYMBOL, second.close_time + 10 * 60_000) == D("110.00")


def test_R18_percent_price_by_side_uses_the_average_price(clock: Clock) -> None:
    rules = replace(
        BTC,
        bid_multiplier_up=D("1.1"),
        bid_multiplier_down=D("0.9"),
        ask_multiplier_up=D("1.1"),
        ask_multiplier_down=D("0.9"),
    )
    engine = make_engine(rules=rules)
    bar = clock.bar("100", "100", "100", "100", volume="1")
    engine.on_bar(bar)
    rejection = rejected(engine.submit(ALICE, limit(Side.BUY, "1", "89.99"), bar.close_time))
    assert (rejection.code, rejection.msg) == (-1013, "Filter failure: PERCENT_PRICE_BY_SIDE")
    accepted(engine.submit(ALICE, limit(Side.BUY, "1", "90"), bar.close_time))


# ------------------------------------------------------------------ R19 ids and events


def _run(engine: MatchingEngine) -> list[object]:
    clock = Clock()
    engine.submit(ALICE, limit(Side.BUY, "1", "95"), 1)
    engine.submit(ALICE, market(Side.SELL, "1"), 1)
    out: list[object] = list(engine.on_bar(clock.bar("100", "101", "94", "96")))
    out += engine.on_bar(clock.bar("96", "99", "95", "98"))
    return out


def test_R19_replays_are_identical_to_the_ids() -> None:
    assert _run(make_engine()) == _run(make_engine())


def test_R19_generated_ids_are_deterministic() -> None:
    engine = make_engine()
    order = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "95"), 1)).order
    assert order.client_order_id == "sim0000000000000000001"
    cancel = engine.cancel(ALICE, SYMBOL, order_id=order.order_id, now_ms=2)
    assert cancel.cancel_client_order_id == "simcancel0000000000001"
    assert len(order.client_order_id) == len(cancel.cancel_client_order_id) == 22


def test_R19_ids_count_per_symbol() -> None:
    eth = replace(BTC, symbol="ETHUSDT", base_asset="ETH")
    engine = make_engine()
    engine.add_symbol(eth)
    engine.deposit(ALICE, "ETH", D("5"), 0)
    engine.price_event("ETHUSDT", D("100"), 0)
    a = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "95"), 1)).order
    b = accepted(engine.submit(ALICE, replace(limit(Side.BUY, "1", "95"), symbol="ETHUSDT"), 1)).order
    assert (a.order_id, b.order_id) == (1, 1)


def test_R19_events_of_a_fill_come_report_first_then_one_balance_update(clock: Clock) -> None:
    engine = make_engine()
    engine.submit(ALICE, limit(Side.BUY, "1", "95"), 1)
    events = engine.on_bar(clock.bar("100", "101", "94", "96"))
    assert [type(e.event) for e in events] == [ExecutionReport, AccountUpdate]
    assert {e.account for e in events} == {ALICE}
    update = account_updates(events)[0]
    assert [b.asset for b in update.balances] == ["BTC", "USDT"]
    assert update.event_time == clock.t - 1


def test_R19_each_account_gets_its_own_events(clock: Clock) -> None:
    engine = make_engine()
    engine.open_account("bob", {"USDT": "1000"})
    engine.submit(ALICE, limit(Side.BUY, "1", "95"), 1)
    engine.submit("bob", limit(Side.BUY, "1", "96"), 1)
    events = engine.on_bar(clock.bar("100", "101", "94", "96"))
    assert [(e.account, type(e.event).__name__) for e in events] == [
        ("bob", "ExecutionReport"),
        ("bob", "AccountUpdate"),
        (ALICE, "ExecutionReport"),
        (ALICE, "AccountUpdate"),
    ]
    assert [r.order.order_id for r in reports(events)] == [2, 1]
    assert engine.open_orders("bob") == []


def test_queries_list_orders_and_trades(clock: Clock) -> None:
    engine = make_engine()
    first = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "95"), 10)).order
    second = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "90", cid="mine"), 20)).order
    engine.on_bar(clock.bar("100", "101", "94", "96"))
    assert [o.order_id for o in engine.open_orders(ALICE, SYMBOL)] == [second.order_id]
    assert [o.order_id for o in engine.all_orders(ALICE, SYMBOL)] == [first.order_id, second.order_id]
    assert [o.order_id for o in engine.all_orders(ALICE, SYMBOL, order_id=2)] == [second.order_id]
    assert [o.order_id for o in engine.all_orders(ALICE, SYMBOL, start_time=15)] == [second.order_id]
    assert [o.order_id for o in engine.all_orders(ALICE, SYMBOL, limit=1)] == [second.order_id]
    assert engine.get_order(ALICE, SYMBOL, orig_client_order_id="mine").order_id == second.order_id
    trades = engine.my_trades(ALICE, SYMBOL)
    assert [(t.trade_id, t.order_id) for t in trades] == [(1, first.order_id)]
    assert engine.my_trades(ALICE, SYMBOL, from_id=2) == []
    assert engine.my_trades(ALICE, SYMBOL, order_id=second.order_id) == []


def test_cancel_all_cancels_orders_and_lists() -> None:
    engine = make_engine()
    single = accepted(engine.submit(ALICE, limit(Side.BUY, "1", "95", TimeInForce.GTC), 1)).order
    engine.submit_oco(ALICE, sell_oco("1", "105", "95"), 1)
    result = engine.cancel_all(ALICE, SYMBOL, 2)
    assert [o.order_id for o in result.orders] == [single.order_id]
    assert len(result.order_lists) == 1
    assert [o.order_id for o in result.all_orders] == [1, 2, 3]
    assert engine.open_orders(ALICE) == []
    assert engine.balance(ALICE, "BTC").locked == engine.balance(ALICE, "USDT").locked == 0
    nothing = rejected(engine.cancel_all(ALICE, SYMBOL, 3))
    assert (nothing.code, nothing.msg) == (-2011, "Unknown order sent.")


# ------------------------------------------------------------------ settings


def test_settings_reject_values_the_integer_rules_cannot_reproduce() -> None:
    with pytest.raises(ConfigError, match="slippage_bps allows at most 2 decimals"):
        MatchingSettings(slippage_bps=D("0.001"))
    with pytest.raises(ConfigError, match="participation_cap must be in"):
        MatchingSettings(participation_cap=D("1.5"))
    with pytest.raises(ConfigError, match="maker_fee"):
        MatchingSettings(maker_fee=D("-0.1"))
    assert MatchingSettings(slippage_bps=D("2.5")).slippage_units == 250
    assert MatchingSettings(participation_cap=D("0.05")).participation_ppm == 50_000
    assert NO_SLIP.participation_ppm is None


def test_a_symbol_whose_min_price_is_off_the_tick_grid_is_refused() -> None:
    with pytest.raises(ConfigError, match="minPrice"):
        MatchingEngine().add_symbol(replace(BTC, min_price=D("0.015")))


def test_a_price_event_must_stay_above_zero_and_bars_must_be_consistent(clock: Clock) -> None:
    engine = make_engine()
    with pytest.raises(DataError, match="not above zero"):
        engine.price_event(SYMBOL, D("0.004"), 1)
    with pytest.raises(DataError, match="high"):
        engine.on_bar(clock.bar("100", "99", "98", "100"))
    with pytest.raises(DataError, match="unknown symbol"):
        engine.price_event("NOPEUSDT", D("1"), 1)
