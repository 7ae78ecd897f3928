"""The in-process paper exchange: the engine's ports over the fill model (docs/fill-model.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from binance_bot.engine.ports import Clock, ExchangeClient, MarketStream, UserStream
from binance_bot.errors import DataError, InsufficientFunds, OrderRejected, UnknownOrder
from binance_bot.exchange.binance import wire
from binance_bot.exchange.paper import PaperExchange, ReplayClock
from binance_bot.matching import MatchingEngine, MatchingSettings
from binance_bot.model import (
    AccountUpdate,
    Bar,
    ExecutionReport,
    ExecutionType,
    ListStatus,
    OcoRequest,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    StreamGap,
    SymbolRules,
    TimeInForce,
)

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "binance"
MIN = 60_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def btc_rules() -> SymbolRules:
    info = wire.parse_exchange_info(json.loads((RESOURCES / "exchange_info.json").read_text()))
    return info.symbols["BTCUSDT"]


def bar(i: int, o: str, h: str, low: str, c: str, volume: str = "10") -> Bar:
    t = T0 + i * MIN
    return Bar(
        "BTCUSDT", "1m", t, t + MIN - 1, Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal(volume)
    )


def flat(i: int, price: str = "30000") -> Bar:
    return bar(i, price, price, price, price)


@pytest.fixture
async def paper() -> AsyncIterator[PaperExchange]:
    ex = PaperExchange(
        [btc_rules()], {"USDT": "10000", "BTC": "1"}, settings=MatchingSettings(slippage_bps=Decimal(0))
    )
    ex.load_history([flat(i) for i in range(5)])
    yield ex
    await ex.close()


async def drain(it: AsyncIterator[Any], n: int) -> list[Any]:
    return [await asyncio.wait_for(anext(it), 1.0) for _ in range(n)]


async def test_ports(paper: PaperExchange) -> None:
    assert isinstance(paper, ExchangeClient)
    assert isinstance(paper.market_stream(), MarketStream)
    assert isinstance(paper.user_stream(), UserStream)
    assert isinstance(ReplayClock(), Clock)


async def test_limit_order_rests_then_fills_when_the_market_trades_through(paper: PaperExchange) -> None:
    user = paper.user_stream()
    await user.start()
    events = user.events()
    req = OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, "p-1", Decimal("0.1"), Decimal("29900"))
    order = await paper.place_order(req)
    assert order.status is OrderStatus.NEW
    new, acct = await drain(events, 2)
    assert isinstance(new, ExecutionReport) and new.execution_type is ExecutionType.NEW
    assert isinstance(acct, AccountUpdate)
    usdt = {b.asset: b for b in await paper.balances()}["USDT"]
    assert usdt.locked == Decimal("2990")

    await paper.feed(bar(5, "30000", "30010", "29950", "29990"))  # does not reach the limit
    assert (await paper.get_order("BTCUSDT", client_order_id="p-1")).status is OrderStatus.NEW
    await paper.feed(bar(6, "29990", "29995", "29800", "29850"))  # trades through 29900
    trade, _ = await drain(events, 2)
    assert trade.execution_type is ExecutionType.TRADE
    assert trade.fill.price == Decimal("29900") and trade.fill.is_maker
    filled = await paper.get_order("BTCUSDT", client_order_id="p-1")
    assert filled.status is OrderStatus.FILLED
    fills = await paper.my_trades("BTCUSDT")
    assert [f.client_order_id for f in fills] == ["p-1"]
    balances = {b.asset: b for b in await paper.balances()}
    assert balances["BTC"].free == Decimal("1.0999")  # 0.1 less the 0.1% commission in BTC
    assert balances["USDT"].total == Decimal("7010")


async def test_market_order_fills_at_the_next_open(paper: PaperExchange) -> None:
    order = await paper.place_order(
        OrderRequest("BTCUSDT", Side.SELL, OrderType.MARKET, "m-1", Decimal("0.5"))
    )
    assert order.status is OrderStatus.NEW
    await paper.feed(bar(5, "30100", "30200", "30050", "30150"))
    done = await paper.get_order("BTCUSDT", client_order_id="m-1")
    assert done.status is OrderStatus.FILLED and done.avg_price == Decimal("30100")


async def test_rejections_use_the_error_tree(paper: PaperExchange) -> None:
    with pytest.raises(OrderRejected) as err:
        await paper.place_order(
            OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, "r-1", Decimal("0.000001"), Decimal("30000"))
        )
    assert err.value.code == -1013 and err.value.filter_name == "LOT_SIZE"
    with pytest.raises(InsufficientFunds):
        await paper.place_order(
            OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, "r-2", Decimal("1"), Decimal("29000"))
        )
    with pytest.raises(UnknownOrder):
        await paper.cancel_order("BTCUSDT", client_order_id="nope")
    assert paper.metrics()["errors"] == {"-1013": 1, "-2010": 1, "-2011": 1}
    assert await paper.cancel_open_orders("BTCUSDT") == []


async def test_oco_one_leg_fills_the_other_expires(paper: PaperExchange) -> None:
    user = paper.user_stream()
    events = user.events()
    oco = OcoRequest(
        "BTCUSDT",
        Side.SELL,
        Decimal("0.5"),
        "oco-1",
        Decimal("30500"),
        Decimal("29500"),
        Decimal("29400"),
        "tp-1",
        "sl-1",
    )
    ol = await paper.place_oco(oco)
    assert {o.client_order_id for o in ol.orders} == {"tp-1", "sl-1"}
    assert len(await paper.open_orders("BTCUSDT")) == 2
    await paper.feed(bar(5, "30000", "30600", "29990", "30550"))
    seen = []
    while not any(isinstance(e, ListStatus) and e.order_list.list_order_status == "ALL_DONE" for e in seen):
        seen.extend(await drain(events, 1))
    tp = await paper.get_order("BTCUSDT", client_order_id="tp-1")
    sl = await paper.get_order("BTCUSDT", client_order_id="sl-1")
    assert (tp.status, sl.status) == (OrderStatus.FILLED, OrderStatus.EXPIRED)
    assert await paper.open_orders() == []


async def test_bars_are_published_and_aggregated(paper: PaperExchange) -> None:
    market = paper.market_stream()
    await market.subscribe(["BTCUSDT"], "1m")
    await market.subscribe(["BTCUSDT"], "5m")
    events = market.events()
    bars = [bar(5 + i, str(30000 + i), str(30010 + i), str(29990 - i), str(30005 + i)) for i in range(10)]
    for b in bars:
        await paper.feed(b)
    got = await drain(events, 12)
    ones = [e.bar for e in got if e.bar.interval == "1m"]
    fives = [e.bar for e in got if e.bar.interval == "5m"]
    assert ones == bars
    assert [b.open_time for b in fives] == [T0 + 5 * MIN, T0 + 10 * MIN]
    first = fives[0]
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        Decimal("30000"),
        Decimal("30014"),
        Decimal("29986"),
        Decimal("30009"),
        Decimal("50"),
    )
    assert first.close_time == T0 + 10 * MIN - 1
    assert await paper.klines("BTCUSDT", "5m") == [  # history: 5 loaded + 10 fed 1m bars
        *[b for b in await paper.klines("BTCUSDT", "5m") if b.open_time < T0 + 5 * MIN],
        *fives,
    ]
    assert len(await paper.klines("BTCUSDT", "1m", start_time=T0 + 10 * MIN, limit=3)) == 3


async def test_market_data_and_settle(paper: PaperExchange) -> None:
    assert await paper.ticker_price("BTCUSDT") == Decimal("30000")
    assert await paper.avg_price("BTCUSDT") == Decimal("30000")
    bt = await paper.book_ticker("BTCUSDT")
    assert bt.ask_price == Decimal("30000") and bt.bid_price == Decimal("29999.99")
    (t,) = await paper.tickers_24h(["BTCUSDT"])
    assert t.last_price == Decimal("30000") and t.price_change_percent == 0
    assert await paper.server_time() == T0 + 5 * MIN
    assert set(await paper.exchange_info()) == {"BTCUSDT"}

    market = paper.market_stream()
    await market.subscribe(["BTCUSDT"], "1m")
    seen: list[Any] = []

    async def consume() -> None:
        async for e in market.events():
            seen.append(e)

    task = asyncio.create_task(consume())
    await paper.feed(flat(5))
    await paper.feed(flat(6))
    await paper.settle()
    assert len(seen) == 2
    await market.close()
    await task


async def test_feed_errors(paper: PaperExchange) -> None:
    with pytest.raises(DataError, match="closed bars"):
        await paper.feed(Bar("BTCUSDT", "1m", T0, T0 + MIN - 1, *(Decimal(1),) * 5, closed=False))
    with pytest.raises(DataError, match="one interval"):
        await paper.feed(Bar("BTCUSDT", "5m", T0, T0 + 5 * MIN - 1, *(Decimal(1),) * 5))
    with pytest.raises(DataError, match="does not list"):
        await paper.feed(Bar("ETHUSDT", "1m", T0, T0 + MIN - 1, *(Decimal(1),) * 5))


async def test_restart_of_the_user_stream_reports_a_gap(paper: PaperExchange) -> None:
    user = paper.user_stream()
    await user.start()
    await user.start()
    (gap,) = await drain(user.events(), 1)
    assert isinstance(gap, StreamGap)


async def test_same_orders_give_the_same_fills_as_the_matching_engine(paper: PaperExchange) -> None:
    """Parity: the paper exchange adds nothing to the fill model."""
    engine = MatchingEngine(MatchingSettings(slippage_bps=Decimal(0)))
    engine.add_symbol(btc_rules())
    engine.open_account("paper", {"USDT": "10000", "BTC": "1"})
    for i in range(5):
        engine.on_bar(flat(i), flat(i).close_time)
    requests = [
        OrderRequest(
            "BTCUSDT",
            Side.BUY,
            OrderType.LIMIT,
            "q-1",
            Decimal("0.05"),
            Decimal("29950"),
            None,
            TimeInForce.GTC,
        ),
        OrderRequest("BTCUSDT", Side.SELL, OrderType.MARKET, "q-2", Decimal("0.2")),
        OrderRequest(
            "BTCUSDT",
            Side.BUY,
            OrderType.STOP_LOSS_LIMIT,
            "q-3",
            Decimal("0.03"),
            Decimal("30120"),
            Decimal("30100"),
            TimeInForce.GTC,
        ),
    ]
    now = T0 + 5 * MIN
    for r in requests:
        await paper.place_order(r)
        engine.submit_request("paper", r, now)
    path = [bar(5, "30000", "30150", "29900", "30100"), bar(6, "30100", "30200", "30050", "30180")]
    for b in path:
        await paper.feed(b)
        engine.on_bar(b, b.close_time)
    ours = await paper.my_trades("BTCUSDT")
    theirs = engine.my_trades("paper", "BTCUSDT")
    assert ours == theirs and len(ours) == 3
    assert await paper.balances() == engine.balances("paper")
