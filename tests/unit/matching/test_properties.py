"""Properties over random order sequences and bars.

* R15/R16: money is neither created nor destroyed: every balance equals the starting balance
  plus the account's fills less commission, nothing is ever negative, and once everything is
  cancelled nothing stays locked.
* R2: feeding a bar's path as price events, split at arbitrary points, gives the same fills,
  statuses and balances as replaying the whole bar.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from tests.unit.matching.helpers import ALICE, BTC, MINUTE, SYMBOL

from binance_bot.matching import (
    AccountEvent,
    MatchingEngine,
    MatchingSettings,
    NewOco,
    NewOrder,
    OcoLeg,
)
from binance_bot.model import (
    AccountUpdate,
    Bar,
    ExecutionReport,
    Fill,
    ListStatus,
    Order,
    OrderType,
    Side,
    TimeInForce,
)

TICK = D("0.01")
STEP = D("0.00001")
START = {"USDT": D("20000"), "BTC": D("50")}

SETTINGS = st.builds(
    MatchingSettings,
    slippage_bps=st.sampled_from([D("0"), D("5"), D("12.5")]),
    touch_fills=st.booleans(),
    worst_case_path=st.booleans(),
    participation_cap=st.sampled_from([None, D("0.05"), D("0.5")]),
    maker_fee=st.sampled_from([D("0"), D("0.001")]),
    taker_fee=st.sampled_from([D("0.001"), D("0.0075")]),
)


def new_engine(settings: MatchingSettings) -> MatchingEngine:
    engine = MatchingEngine(settings)
    engine.add_symbol(replace(BTC, max_num_orders=12))
    engine.open_account(ALICE, START)
    engine.price_event(SYMBOL, D("100"), 0)
    return engine


def _price(ticks: int) -> D:
    return D(ticks) * TICK


@st.composite
def order_requests(draw: st.DrawFn, last: int) -> NewOrder | NewOco:
    """A random order near the last price (``last`` in ticks); many are refused, on purpose."""
    side = draw(st.sampled_from([Side.BUY, Side.SELL]))
    qty = D(draw(st.integers(min_value=6_000, max_value=300_000))) * STEP
    near = st.integers(min_value=max(1, last - 400), max_value=last + 400).map(_price)
    kind = draw(st.sampled_from([*OrderType, "OCO"]))
    if kind == "OCO":
        stop_limit = draw(st.booleans())
        low = draw(st.integers(min_value=max(2, last - 400), max_value=max(2, last - 1)))
        high = draw(st.integers(min_value=last + 1, max_value=last + 400))
        protective_low = side is Side.SELL
        stop_at = low if protective_low else high
        limit_at = high if protective_low else low
        stop_leg = OcoLeg(
            OrderType.STOP_LOSS_LIMIT if stop_limit else OrderType.STOP_LOSS,
            price=_price(stop_at - 5 if protective_low else stop_at + 5) if stop_limit else None,
            stop_price=_price(stop_at),
            time_in_force=TimeInForce.GTC if stop_limit else None,
        )
        limit_leg = OcoLeg(OrderType.LIMIT_MAKER, price=_price(limit_at))
        above, below = (limit_leg, stop_leg) if protective_low else (stop_leg, limit_leg)
        return NewOco(SYMBOL, side, qty, above=above, below=below)
    assert isinstance(kind, OrderType)
    if kind is OrderType.MARKET:
        if draw(st.booleans()):
            return NewOrder(SYMBOL, side, kind, quote_order_qty=D(draw(st.integers(500, 200_000))) * TICK)
        return NewOrder(SYMBOL, side, kind, quantity=qty)
    tif = draw(st.sampled_from(list(TimeInForce))) if kind in (OrderType.LIMIT,) else TimeInForce.GTC
    return NewOrder(
        SYMBOL,
        side,
        kind,
        quantity=qty,
        price=draw(near) if kind.has_limit_price else None,
        stop_price=draw(near) if kind.is_conditional else None,
        time_in_force=tif
        if kind in (OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT)
        else None,
    )


@st.composite
def bars(draw: st.DrawFn, last: int, open_time: int) -> Bar:
    o = max(1, last + draw(st.integers(min_value=-150, max_value=150)))
    c = max(1, o + draw(st.integers(min_value=-300, max_value=300)))
    h = max(o, c) + draw(st.integers(min_value=0, max_value=200))
    low = max(1, min(o, c) - draw(st.integers(min_value=0, max_value=200)))
    volume = D(draw(st.integers(min_value=0, max_value=5_000_000))) * STEP * 10
    return Bar(
        SYMBOL, "1m", open_time, open_time + MINUTE - 1, _price(o), _price(h), _price(low), _price(c), volume
    )


def submit(engine: MatchingEngine, request: NewOrder | NewOco, now: int) -> object:
    if isinstance(request, NewOco):
        return engine.submit_oco(ALICE, request, now)
    return engine.submit(ALICE, request, now)


def _ticks(engine: MatchingEngine) -> int:
    last = engine.last_price(SYMBOL)
    assert last is not None
    return int(last / TICK)


# ------------------------------------------------------------------ conservation


def _expected_balances(trades: list[Fill]) -> dict[str, D]:
    out = dict(START)
    for t in trades:
        quote = t.price * t.qty
        if t.side is Side.BUY:
            out["BTC"] += t.qty - t.commission
            out["USDT"] -= quote
        else:
            out["BTC"] -= t.qty
            out["USDT"] += quote - t.commission
    return out


def _check_books(engine: MatchingEngine) -> None:
    trades = engine.my_trades(ALICE, SYMBOL, limit=10**9)
    expected = _expected_balances(trades)
    for asset, amount in expected.items():
        balance = engine.balance(ALICE, asset)
        assert balance.free >= 0 and balance.locked >= 0, balance
        assert balance.total == amount, (asset, balance, amount)
    by_order: dict[int, list[Fill]] = {}
    for t in trades:
        assert t.qty > 0 and t.price > 0
        assert t.price % TICK == 0 and t.qty % STEP == 0
        by_order.setdefault(t.order_id, []).append(t)
    for order in engine.all_orders(ALICE, SYMBOL, limit=10**9):
        mine = by_order.get(order.order_id, [])
        assert order.executed_qty == sum((t.qty for t in mine), D(0))
        assert order.cummulative_quote_qty == sum((t.price * t.qty for t in mine), D(0))
        if order.type.has_limit_price:
            for t in mine:
                assert t.price <= order.price if order.side is Side.BUY else t.price >= order.price
        if order.orig_qty > 0:
            assert order.executed_qty <= order.orig_qty


@given(settings=SETTINGS, data=st.data())
def test_R15_money_is_conserved_and_never_negative(settings: MatchingSettings, data: st.DataObject) -> None:
    engine = new_engine(settings)
    now = MINUTE
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        for _ in range(data.draw(st.integers(min_value=0, max_value=4))):
            submit(engine, data.draw(order_requests(_ticks(engine))), now)
        open_orders = engine.open_orders(ALICE, SYMBOL)
        if open_orders and data.draw(st.booleans()):
            victim = data.draw(st.sampled_from(open_orders))
            engine.cancel(ALICE, SYMBOL, order_id=victim.order_id, now_ms=now)
        _check_books(engine)
        if data.draw(st.booleans()):
            engine.on_bar(data.draw(bars(_ticks(engine), now)))
        else:
            engine.price_event(
                SYMBOL, _price(max(1, _ticks(engine) + data.draw(st.integers(-200, 200)))), now
            )
        now += MINUTE
        _check_books(engine)
    if engine.open_orders(ALICE, SYMBOL):
        engine.cancel_all(ALICE, SYMBOL, now)
    assert engine.balance(ALICE, "BTC").locked == 0
    assert engine.balance(ALICE, "USDT").locked == 0
    _check_books(engine)


# ------------------------------------------------------------------ price events == whole bars


def _order_key(order: Order) -> tuple[Any, ...]:
    return (
        order.order_id,
        order.client_order_id,
        order.type,
        order.side,
        order.status,
        order.orig_qty,
        order.executed_qty,
        order.cummulative_quote_qty,
        order.working_time >= 0,
        tuple(_fill_key(f) for f in order.fills),
    )


def _fill_key(fill: Fill | None) -> tuple[Any, ...] | None:
    if fill is None:
        return None
    return (
        fill.order_id,
        fill.trade_id,
        fill.price,
        fill.qty,
        fill.commission,
        fill.commission_asset,
        fill.is_maker,
    )


def _event_key(event: AccountEvent) -> tuple[Any, ...]:
    e = event.event
    if isinstance(e, ExecutionReport):
        return ("report", e.execution_type, _order_key(e.order), _fill_key(e.fill))
    if isinstance(e, ListStatus):
        lst = e.order_list
        return ("list", lst.order_list_id, lst.list_status_type, lst.list_order_status)
    assert isinstance(e, AccountUpdate)
    return ("balances", e.balances)


def _between(a: int, b: int, cuts: list[int]) -> list[int]:
    """Points strictly inside the monotone move a -> b, in path order."""
    if a == b:
        return []
    lo, hi = sorted((a, b))
    inside = sorted({lo + 1 + c % max(1, hi - lo - 1) for c in cuts if hi - lo > 1})
    return inside if a < b else inside[::-1]


@given(
    settings=SETTINGS.map(lambda s: replace(s, worst_case_path=False)),
    data=st.data(),
)
def test_R2_price_events_give_the_same_fills_as_whole_bars(
    settings: MatchingSettings, data: st.DataObject
) -> None:
    whole = new_engine(settings)
    streamed = new_engine(settings)
    now = MINUTE
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        for _ in range(data.draw(st.integers(min_value=0, max_value=4))):
            request = data.draw(order_requests(_ticks(whole)))
            a, b = submit(whole, request, now), submit(streamed, request, now)
            assert a == b
        bar = data.draw(bars(_ticks(whole), now))
        expected = [_event_key(e) for e in whole.on_bar(bar)]
        path = [int(p / TICK) for p in whole.path(bar)]
        streamed.begin_bar(bar)
        got: list[AccountEvent] = []
        points = [path[0]]
        for k in (1, 2, 3):
            cuts = data.draw(st.lists(st.integers(min_value=0, max_value=10**6), max_size=3))
            points += [*_between(path[k - 1], path[k], cuts), path[k]]
        for i, point in enumerate(points):
            got += streamed.price_event(SYMBOL, _price(point), bar.open_time + i)
        streamed.end_bar(SYMBOL)
        assert [_event_key(e) for e in got] == expected
        now += MINUTE
    assert streamed.balances(ALICE) == whole.balances(ALICE)
    assert [_order_key(o) for o in streamed.all_orders(ALICE, SYMBOL)] == [
        _order_key(o) for o in whole.all_orders(ALICE, SYMBOL)
    ]
    assert streamed.avg_price(SYMBOL, now) == whole.avg_price(SYMBOL, now)
