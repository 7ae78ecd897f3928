"""Market and user streams against loopback sockets: exactly-once bars, reconnects, gaps."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from tests.unit.exchange.fakebinance import API_KEY, API_SECRET, FakeBinance

from binance_bot.engine.ports import MarketStream, UserStream
from binance_bot.errors import AuthenticationError
from binance_bot.exchange.binance import wire
from binance_bot.exchange.binance.client import BinanceExchangeClient
from binance_bot.exchange.binance.endpoints import local
from binance_bot.exchange.binance.signing import HmacSigner
from binance_bot.exchange.binance.streams import BinanceMarketStream, next_open
from binance_bot.exchange.binance.user_stream import BinanceUserStream
from binance_bot.exchange.binance.ws import SocketSettings
from binance_bot.model import (
    AccountUpdate,
    Bar,
    BarEvent,
    BookTicker,
    BookTickerEvent,
    ExecutionReport,
    ExecutionType,
    ListStatus,
    Order,
    OrderList,
    OrderStatus,
    OrderType,
    Side,
    StreamGap,
    Trade,
    floor_open_time,
)

FAST_WS = SocketSettings(backoff_base=0.02, backoff_max=0.1, heartbeat=5, connect_timeout=2)
MIN = 60_000


def bar(symbol: str, open_time: int, closed: bool = True, price: int = 100) -> Bar:
    p = Decimal(price)
    return Bar(symbol, "1m", open_time, open_time + MIN - 1, p, p + 1, p - 1, p, Decimal(5), closed=closed)


async def take(it: AsyncIterator[Any], n: int, wait: float = 3.0) -> list[Any]:
    return [await asyncio.wait_for(anext(it), wait) for _ in range(n)]


async def nothing_more(it: AsyncIterator[Any], wait: float = 0.3) -> bool:
    """Pass a fresh iterator: a timed-out ``anext`` closes the async generator it cancels."""
    try:
        await asyncio.wait_for(anext(it), wait)
    except TimeoutError:
        return True
    return False


async def until(predicate: Any, wait: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + wait
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


@pytest.fixture
async def market(fake: FakeBinance, client: BinanceExchangeClient) -> AsyncIterator[BinanceMarketStream]:
    stream = BinanceMarketStream(local(fake.url), client, settings=FAST_WS)  # type: ignore[attr-defined]
    yield stream
    await stream.close()


async def test_ports(market: BinanceMarketStream, fake: FakeBinance) -> None:
    assert isinstance(market, MarketStream)
    user = BinanceUserStream("ws://x", api_key="k", signer=HmacSigner("secret"), now_ms=lambda: 0)
    assert isinstance(user, UserStream)


async def test_every_closed_bar_exactly_once_across_drops_and_gaps(
    market: BinanceMarketStream, fake: FakeBinance
) -> None:
    base = floor_open_time(fake.now_ms(), "1m")
    await market.subscribe(["BTCUSDT"], "1m")
    events = market.events()
    fake.skew_ms = 10 * MIN  # the market moves on: ten more minutes have closed
    history = [bar("BTCUSDT", base + i * MIN, price=100 + i) for i in range(9)]
    fake.bars = history[:5]  # bar 4 is the exchange's newest: still in progress

    await fake.push_bar(bar("BTCUSDT", base, closed=False))  # partial bars are not delivered
    await fake.push_bar(history[0])
    assert [e.bar.open_time for e in await take(events, 1)] == [base]

    # the connection drops while bars 1..3 close; the reconnect backfills them from REST
    # (not bar 4: nothing newer exists yet, so it is the bar in progress)
    await fake.drop_sockets()
    got = await take(events, 3)
    assert [e.bar.open_time for e in got] == [base + i * MIN for i in (1, 2, 3)]
    assert all(e.bar.closed for e in got)
    await until(lambda: fake.stream_connects == 2)
    assert await nothing_more(market.events(), 0.1)

    fake.bars = history
    await fake.push_bar(history[3])  # the live copy of a backfilled bar: dropped
    await fake.push_bar(history[4])
    assert [e.bar.open_time for e in await take(events, 1)] == [base + 4 * MIN]

    # bar 5 is lost in transit; bar 6 reveals the gap, 5 is fetched first
    await fake.push_bar(history[6])
    assert [e.bar.open_time for e in await take(events, 2)] == [base + 5 * MIN, base + 6 * MIN]
    await fake.push_bar(history[6])  # duplicated message
    await fake.push_bar(history[2])  # late, old message
    assert await nothing_more(market.events())

    m = market.metrics()
    assert m["reconnects"] == 1 and m["gaps"] == 1 and m["bars_backfilled"] == 4
    assert m["duplicates_dropped"] == 3 and m["bars_delivered"] == 7
    assert all(isinstance(e, BarEvent) for e in got)


async def test_malformed_messages_are_counted_and_skipped(
    market: BinanceMarketStream, fake: FakeBinance
) -> None:
    base = floor_open_time(fake.now_ms(), "1m")
    await market.subscribe(["ETHUSDT"], "1m")
    events = market.events()
    name = "ethusdt@kline_1m"
    await fake.push(name, "this is not json")
    await fake.push(name, {"e": "kline", "E": 1, "k": {"s": "ETHUSDT"}})
    await fake.push(name, json.dumps([1, 2, 3]))
    await fake.push_bar(bar("ETHUSDT", base))
    (event,) = await take(events, 1)
    assert event.bar.symbol == "ETHUSDT"
    assert market.metrics()["malformed"] == 3


async def test_streams_are_spread_over_connections_and_added_by_subscribe(
    fake: FakeBinance, client: BinanceExchangeClient
) -> None:
    stream = BinanceMarketStream(local(fake.url), client, settings=FAST_WS, max_streams_per_connection=2)  # type: ignore[attr-defined]
    try:
        await stream.subscribe(["AAAUSDT"], "1m")
        await stream.subscribe(["BBBUSDT", "CCCUSDT", "DDDUSDT", "EEEUSDT"], "1m")
        await until(lambda: len(fake.stream_sockets) == 3)
        subscribed = sorted(sorted(s) for _, s in fake.stream_sockets)
        assert subscribed == [
            ["aaausdt@kline_1m", "bbbusdt@kline_1m"],
            ["cccusdt@kline_1m", "dddusdt@kline_1m"],
            ["eeeusdt@kline_1m"],
        ]
        subs = [m for m in fake.control_messages if m.get("method") == "SUBSCRIBE"]
        assert subs and subs[0]["params"] == ["bbbusdt@kline_1m"]
        assert stream.metrics()["connections"] == 3 and stream.metrics()["streams"] == 5
    finally:
        await stream.close()
    with pytest.raises(ValueError):
        BinanceMarketStream(local("http://127.0.0.1:1"), client, max_streams_per_connection=2000)


async def test_book_tickers_and_trades(market: BinanceMarketStream, fake: FakeBinance) -> None:
    await market.subscribe_book_tickers(["BNBUSDT"])
    await market.subscribe_trades(["BNBUSDT"])
    t = BookTicker("BNBUSDT", Decimal("25.35"), Decimal("31"), Decimal("25.36"), Decimal("40"), 400900217)
    await fake.push("bnbusdt@bookTicker", wire.write_book_ticker_event(t))
    (ev,) = await take(market.events(), 1)
    assert isinstance(ev, BookTickerEvent) and ev.ticker == t
    tr = Trade("BNBUSDT", 12345, Decimal("0.001"), Decimal("100"), 1672515782136, True)
    await fake.push("bnbusdt@aggTrade", wire.write_agg_trade(tr, 1672515782136, first_id=100, last_id=105))
    assert await take(market.trades(), 1) == [tr]


async def test_server_shutdown_reconnects(market: BinanceMarketStream, fake: FakeBinance) -> None:
    await market.subscribe(["BTCUSDT"], "1m")
    await fake.push("btcusdt@kline_1m", {"e": "serverShutdown", "E": 1})
    await until(lambda: fake.stream_connects == 2)
    assert market.metrics()["reconnects"] == 1


def test_next_open_handles_months() -> None:
    assert next_open(0, "1m") == MIN
    jan = 1704067200000  # 2024-01-01
    assert next_open(jan, "1M") == 1706745600000  # 2024-02-01


# ---------------------------------------------------------------------- user data
def _user(fake: FakeBinance, client: BinanceExchangeClient, secret: str = API_SECRET) -> BinanceUserStream:
    return BinanceUserStream(
        local(fake.url).ws_api,  # type: ignore[attr-defined]
        api_key=API_KEY,
        signer=HmacSigner(secret),
        now_ms=client.rest.clock.now_ms,
        resync_clock=client.rest.sync_time,
        settings=FAST_WS,
    )


def _order(oid: int, cid: str, status: OrderStatus = OrderStatus.NEW) -> Order:
    return Order(
        "BTCUSDT",
        oid,
        cid,
        Side.SELL,
        OrderType.LIMIT_MAKER,
        status,
        Decimal(1),
        price=Decimal(110),
        order_list_id=7,
        time=1,
        update_time=1,
        working_time=1,
    )


async def test_user_events_and_a_gap_after_reconnect(
    fake: FakeBinance, client: BinanceExchangeClient
) -> None:
    user = _user(fake, client)
    await user.start()
    try:
        assert fake.user_subscribes == 1
        events = user.events()
        tp, sl = _order(1, "tp"), _order(2, "sl")
        for o in (tp, sl):
            await fake.push_user(wire.write_execution_report(ExecutionReport(o, ExecutionType.NEW, 5)))
        ol = OrderList(7, "oco", "BTCUSDT", "EXEC_STARTED", "EXECUTING", (tp, sl), 5)
        await fake.push_user(wire.write_list_status_event(ListStatus(ol, 6)))
        await fake.push_user(wire.write_balance_update(wire.BalanceDelta("BTC", Decimal(1), 7, 7)))
        await fake.push_user({"e": "externalLockUpdate", "E": 8, "a": "NEO", "d": "1", "T": 8})
        await fake.push_user("garbage")
        await fake.push_user({"e": "executionReport", "E": 9})
        acct = AccountUpdate((wire.parse_balance({"asset": "BTC", "free": "2", "locked": "0"}),), 10)
        await fake.push_user(wire.write_account_position(acct))
        got = await take(events, 4)
        assert [type(e) for e in got] == [ExecutionReport, ExecutionReport, ListStatus, AccountUpdate]
        assert got[2].order_list.orders == (tp, sl)  # legs filled in from the execution reports
        assert got[3] == acct
        assert user.metrics()["malformed"] == 2

        await fake.drop_sockets()
        (gap,) = await take(events, 1)
        assert isinstance(gap, StreamGap)
        await until(lambda: fake.user_subscribes == 2)
        await fake.push_user(wire.write_execution_report(ExecutionReport(tp, ExecutionType.NEW, 11)))
        assert isinstance((await take(events, 1))[0], ExecutionReport)
        assert user.metrics()["reconnects"] == 1 and user.metrics()["gaps"] == 1
    finally:
        await user.close()


async def test_terminated_stream_resubscribes_with_a_gap(
    fake: FakeBinance, client: BinanceExchangeClient
) -> None:
    user = _user(fake, client)
    await user.start()
    try:
        await fake.push_user({"e": "eventStreamTerminated", "E": 1})
        (gap,) = await take(user.events(), 1)
        assert isinstance(gap, StreamGap)
        await until(lambda: fake.user_subscribes == 2)
    finally:
        await user.close()


async def test_user_stream_resyncs_the_clock_on_1021(
    fake: FakeBinance, client: BinanceExchangeClient
) -> None:
    fake.skew_ms = 20_000
    user = _user(fake, client)
    await user.start()
    try:
        assert fake.user_subscribes == 1 and user.subscribe_failures == 1
        assert client.rest.clock.offset_ms == pytest.approx(20_000, abs=200)
    finally:
        await user.close()


async def test_bad_key_fails_at_start(fake: FakeBinance, client: BinanceExchangeClient) -> None:
    user = _user(fake, client, secret="wrong")
    with pytest.raises(AuthenticationError) as err:
        await user.start()
    assert err.value.code == -2015


async def test_connections_rotate_before_the_24_hour_limit(
    fake: FakeBinance, client: BinanceExchangeClient
) -> None:
    settings = SocketSettings(
        backoff_base=0.01, backoff_max=0.02, heartbeat=5, connect_timeout=2, rotate_after=0.2
    )
    stream = BinanceMarketStream(local(fake.url), client, settings=settings)  # type: ignore[attr-defined]
    try:
        base = floor_open_time(fake.now_ms(), "1m")
        await stream.subscribe(["BTCUSDT"], "1m")
        await until(lambda: fake.stream_connects >= 3)
        # the bar closes; pushed live, or repaired from REST if it fell between two connections
        fake.skew_ms = 2 * MIN
        fake.bars = [bar("BTCUSDT", base)]
        await fake.push_bar(fake.bars[0])
        (event,) = await take(stream.events(), 1)
        assert event.bar.open_time == base
        assert await nothing_more(stream.events(), 0.5)
    finally:
        await stream.close()
