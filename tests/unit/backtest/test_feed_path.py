"""``PaperExchange.feed_path``: a bar fed as its four price events, the consumer reacting between."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from tests.unit.backtest.helpers import START, rules

from binance_bot.backtest.market import event_times
from binance_bot.errors import DataError
from binance_bot.exchange.paper import PaperExchange, ReplayClock
from binance_bot.matching import MatchingSettings
from binance_bot.model import Bar, OcoRequest, OrderRequest, OrderType, Side

MIN = 60_000


def bar(i: int, o: str, h: str, lo: str, c: str) -> Bar:
    t = START + i * MIN
    return Bar("TESTUSDT", "1m", t, t + MIN - 1, D(o), D(h), D(lo), D(c), D(100))


def times(b: Bar) -> list[int]:
    import numpy as np

    return [int(x) for x in event_times(np.array([b.open_time]), np.array([b.close_time]), "1m")[:, 0]]


def exchange() -> PaperExchange:
    return PaperExchange([rules()], {"USDT": "10000"}, settings=MatchingSettings(), clock=ReplayClock(START))


async def test_an_oco_placed_after_the_open_fill_works_in_the_same_bar() -> None:
    ex = exchange()
    await ex.feed(bar(0, "100", "100", "100", "100"))
    await ex.place_order(OrderRequest("TESTUSDT", Side.BUY, OrderType.MARKET, "entry", quantity=D(10)))
    placed: list[int] = []

    async def react() -> None:
        if not placed:
            placed.append(ex.clock.now_ms())
            await ex.place_oco(
                OcoRequest(
                    symbol="TESTUSDT",
                    side=Side.SELL,
                    quantity=D("9.99"),
                    list_client_order_id="guard",
                    take_profit_price=D("101.50"),
                    stop_price=D("98"),
                    stop_limit_price=D("97.50"),
                    take_profit_client_order_id="guard-tp",
                    stop_client_order_id="guard-sl",
                )
            )

    rising = bar(1, "100", "102", "99.5", "101.8")  # O -> H -> L -> C: the take profit trades through
    await ex.feed_path(rising, times(rising), between=react)
    fills = ex.engine.my_trades(ex.account, "TESTUSDT")
    assert placed == [rising.open_time]  # the OCO went out right after the open fill
    assert [(f.side, f.price, f.time) for f in fills] == [
        (Side.BUY, D("100.05"), rising.open_time),
        (Side.SELL, D("101.50"), rising.open_time + MIN // 3),
    ]
    assert ex.clock.now_ms() == rising.close_time + 1


async def test_without_reactions_it_fills_like_a_whole_bar() -> None:
    fed, whole = exchange(), exchange()
    for ex in (fed, whole):
        await ex.feed(bar(0, "100", "100", "100", "100"))
        await ex.place_order(
            OrderRequest("TESTUSDT", Side.BUY, OrderType.LIMIT, "dip", quantity=D(3), price=D("99.00"))
        )
    falling = bar(1, "99.80", "100.40", "98.10", "98.90")
    await fed.feed_path(falling, times(falling))
    await whole.feed(falling)
    a = fed.engine.my_trades(fed.account, "TESTUSDT")
    b = whole.engine.my_trades(whole.account, "TESTUSDT")
    assert [(f.price, f.qty, f.order_id, f.trade_id) for f in a] == [
        (f.price, f.qty, f.order_id, f.trade_id) for f in b
    ]
    assert a[0].time == falling.open_time + MIN // 3  # a falling bar goes O -> L first: P1
    assert b[0].time == falling.close_time  # whole-bar matching stamps the close


@pytest.mark.parametrize(
    ("moment", "message"),
    [((0, 1, 3, 2), "non-decreasing"), ((0, 1, 2), "four")],
)
async def test_event_times_must_be_four_and_ordered(moment: tuple[int, ...], message: str) -> None:
    ex = exchange()
    b = bar(0, "100", "100", "100", "100")
    with pytest.raises(DataError, match=message):
        await ex.feed_path(b, [b.open_time + m for m in moment])


def test_event_times_stay_inside_a_short_candle() -> None:
    import numpy as np

    t = event_times(np.array([0, 60_000]), np.array([59_999, 60_000 + 5_000]), "1m")
    assert t[:, 0].tolist() == [0, 20_000, 40_000, 59_999]
    assert t[:, 1].tolist() == [60_000, 65_000, 65_000, 65_000]  # cut short by a halt
