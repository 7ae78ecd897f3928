"""The connector against the local exchange simulator on loopback: every method, every fault.

The simulator (``tests/integration/conftest.py``) runs the stepped market clock: nothing
moves until a test calls ``simulator.advance``; MARKET orders fill on the next advance.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import API_KEY, BALANCES, WARMUP_BARS, SimulatorHandle

from binance_bot.data import CandleStore
from binance_bot.errors import ConfigError, IpBanned, OrderRejected, UnknownOrder
from binance_bot.exchange import BinanceConnector
from binance_bot.exchange.binance import RestSettings, SocketSettings
from binance_bot.exchange.binance.breaker import CircuitOpen
from binance_bot.exchange.binance.download import KlineDownloader
from binance_bot.model import (
    BarEvent,
    BookTickerEvent,
    ExecutionReport,
    ExecutionType,
    OcoRequest,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    StreamGap,
    TimeInForce,
)
from binance_bot.simulator import AccountSpec, LimitSettings

MIN = 60_000
FAST = RestSettings(
    timeout_seconds=3.0,
    backoff_base=0.02,
    backoff_max=0.1,
    breaker_threshold=3,
    breaker_reset=0.5,
    time_sync_interval=0,
    cache_enabled=False,
    limit_margin_seconds=0.2,
)
FAST_WS = SocketSettings(backoff_base=0.02, backoff_max=0.2, heartbeat=5, connect_timeout=3)


def connect(sim: SimulatorHandle, settings: RestSettings = FAST, **kwargs: Any) -> BinanceConnector:
    return BinanceConnector(
        sim.api_key,
        sim.api_secret,
        base_url=sim.rest_url,
        stream_url=sim.stream_url,
        ws_api_url=sim.ws_api_url,
        settings=settings,
        socket_settings=FAST_WS,
        **kwargs,
    )


@pytest.fixture
async def conn(simulator: SimulatorHandle) -> AsyncIterator[BinanceConnector]:
    async with connect(simulator) as c:
        c.exchange.lookup_delay = 0.05
        yield c


async def take(it: AsyncIterator[Any], n: int, wait: float = 5.0) -> list[Any]:
    return [await asyncio.wait_for(anext(it), wait) for _ in range(n)]


async def until(predicate: Callable[[], bool], wait: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + wait
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


async def server_orders(sim: SimulatorHandle, client_order_id: str, symbol: str = "BTCUSDT") -> list[Any]:
    status, _, body = await sim.request("GET", "/api/v3/allOrders", {"symbol": symbol}, signed=True)
    assert status == 200, body
    return [o for o in body if o["clientOrderId"] == client_order_id]


# ---------------------------------------------------------------------- every method
async def test_facade_methods(conn: BinanceConnector, simulator: SimulatorHandle) -> None:
    price = await conn.get_price("BTCUSDT")
    prices = await conn.get_prices(["BTCUSDT", "ETHUSDT"])
    assert prices["BTCUSDT"] == price and prices["ETHUSDT"] > 0
    bars = await conn.get_klines("BTCUSDT", "1m", limit=WARMUP_BARS + 1)
    assert len(bars) == WARMUP_BARS + 1
    assert all(b.closed for b in bars[:-1]) and not bars[-1].closed  # the newest is in progress
    assert [b.open_time for b in bars] == list(range(bars[0].open_time, bars[-1].open_time + 1, MIN))
    hours = await conn.get_klines("BTCUSDT", "1h", limit=3)
    assert all(b.interval == "1h" for b in hours)
    book = await conn.get_order_book("BTCUSDT", limit=10)
    assert book.best_bid is not None and book.best_ask is not None and book.best_bid < book.best_ask
    assert (await conn.get_book_ticker("BTCUSDT")).ask_price > 0

    bid = await conn.place_limit_order("BTCUSDT", "BUY", "0.0123456", price * Decimal("0.9"))
    assert bid.status is OrderStatus.NEW and bid.orig_qty == Decimal("0.01234")
    assert (await conn.get_order("BTCUSDT", bid.order_id)).client_order_id == bid.client_order_id
    assert [o.order_id for o in await conn.get_open_orders("BTCUSDT")] == [bid.order_id]
    balances = await conn.get_balances()
    assert balances["USDT"].locked == bid.orig_qty * bid.price
    canceled = await conn.cancel_order("BTCUSDT", client_order_id=bid.client_order_id)
    assert canceled.status is OrderStatus.CANCELED and await conn.get_open_orders() == []

    buy = await conn.place_market_order("BTCUSDT", "BUY", "0.01")
    assert buy.status is OrderStatus.NEW  # the stepped market fills it on the next price event
    await simulator.advance()
    filled = await conn.get_order("BTCUSDT", client_order_id=buy.client_order_id)
    assert filled.status is OrderStatus.FILLED and filled.executed_qty == Decimal("0.01")

    now = await conn.get_price("BTCUSDT")
    oco = await conn.place_oco(
        "BTCUSDT", "SELL", "0.01", now * Decimal("1.05"), now * Decimal("0.95"), now * Decimal("0.94")
    )
    assert oco.list_order_status == "EXECUTING" and len(oco.orders) == 2
    assert {o.type for o in oco.orders} == {OrderType.LIMIT_MAKER, OrderType.STOP_LOSS_LIMIT}
    assert len(await conn.get_open_orders("BTCUSDT")) == 2

    m = conn.metrics()
    assert m["requests"] > 10 and m["errors_total"] == 0 and m["rate_limited_429"] == 0
    assert m["breakers"] == {"market": "closed", "account": "closed", "trade": "closed"}
    assert 0 < m["weight_used_server"] <= m["weight_used"]


async def test_exchange_client_methods(conn: BinanceConnector, simulator: SimulatorHandle) -> None:
    ex = conn.exchange
    rules = await ex.exchange_info()
    assert set(rules) >= {"BTCUSDT", "ETHUSDT"} and rules["BTCUSDT"].tick_size > 0
    assert abs(await ex.server_time() - conn.rest.clock.now_ms()) < 2000
    assert await ex.avg_price("BTCUSDT") > 0
    tickers = await ex.tickers_24h(["BTCUSDT", "ETHUSDT"])
    assert {t.symbol for t in tickers} == {"BTCUSDT", "ETHUSDT"}
    assert (await ex.tickers_24h(["BTCUSDT"]))[0].last_price == await ex.ticker_price("BTCUSDT")

    price = await ex.ticker_price("ETHUSDT")
    eth = rules["ETHUSDT"]
    low = eth.round_price_for(price * Decimal("0.8"), Side.BUY)
    req = OrderRequest(
        "ETHUSDT", Side.BUY, OrderType.LIMIT, "it-1", Decimal("0.1"), low, None, TimeInForce.GTC
    )
    await ex.test_order(req)  # validated, not placed
    assert await ex.open_orders("ETHUSDT") == []
    await ex.place_order(req)
    await ex.place_order(dataclasses.replace(req, client_order_id="it-2"))
    assert len(await ex.open_orders()) == 2
    canceled = await ex.cancel_open_orders("ETHUSDT")
    assert {o.client_order_id for o in canceled} == {"it-1", "it-2"}
    assert await ex.cancel_open_orders("ETHUSDT") == []
    with pytest.raises(UnknownOrder):
        await ex.cancel_order("ETHUSDT", client_order_id="it-1")

    sell = OrderRequest("ETHUSDT", Side.SELL, OrderType.MARKET, "it-3", Decimal("0.5"))
    await ex.place_order(sell)
    await simulator.advance()
    fills = await ex.my_trades("ETHUSDT")
    assert [f.side for f in fills] == [Side.SELL] and sum(f.qty for f in fills) == Decimal("0.5")
    assert (await ex.all_orders("ETHUSDT"))[-1].status is OrderStatus.FILLED

    tp = eth.round_price_for(price * Decimal("1.1"), Side.SELL)
    stop = eth.round_price_for(price * Decimal("0.9"), Side.SELL)
    oco = OcoRequest("ETHUSDT", Side.SELL, Decimal("1"), "it-oco", tp, stop, None, "it-tp", "it-sl")
    placed = await ex.place_oco(oco)
    done = await ex.cancel_order_list("ETHUSDT", list_client_order_id="it-oco")
    assert done.order_list_id == placed.order_list_id and done.list_order_status == "ALL_DONE"
    balances = {b.asset: b for b in await ex.balances()}
    assert balances["ETH"].locked == 0 and balances["ETH"].free < BALANCES["ETH"]


async def test_local_and_server_filter_checks_agree(simulator: SimulatorHandle) -> None:
    async with connect(simulator) as checked, connect(simulator) as unchecked:
        unchecked.exchange.precheck = False
        price = await checked.get_price("BTCUSDT")
        cases = [
            OrderRequest(
                "BTCUSDT",
                Side.BUY,
                OrderType.LIMIT,
                "f-1",
                Decimal("0.00000001"),
                price,
                None,
                TimeInForce.GTC,
            ),
            OrderRequest(
                "BTCUSDT",
                Side.BUY,
                OrderType.LIMIT,
                "f-2",
                Decimal("0.0001"),
                price + Decimal("0.001"),
                None,
                TimeInForce.GTC,
            ),
            OrderRequest(
                "BTCUSDT", Side.BUY, OrderType.LIMIT, "f-3", Decimal("0.00001"), price, None, TimeInForce.GTC
            ),
        ]
        for req in cases:
            with pytest.raises(OrderRejected) as local:
                await checked.exchange.place_order(req)
            with pytest.raises(OrderRejected) as remote:
                await unchecked.exchange.place_order(req)
            assert local.value.filter_name == remote.value.filter_name, req
            assert local.value.code is None and remote.value.code == -1013
            assert "by" in str(local.value) or "multiple" in str(local.value)


async def test_withdraw_enabled_key_is_refused(simulator_factory: Callable[..., Any]) -> None:
    key = AccountSpec(
        "withdrawer-key-0123456789", "withdrawer-secret-0123456789", BALANCES, enable_withdrawals=True
    )
    sim = await simulator_factory(accounts=(key,))
    c = BinanceConnector(
        key.api_key, key.api_secret, base_url=sim.rest_url, settings=FAST, check_key_permissions=True
    )
    async with c:
        assert c.metrics()["trading_blocked"]
        with pytest.raises(ConfigError, match="withdrawals enabled"):
            await c.place_market_order("BTCUSDT", "BUY", "0.001")
    allowed = BinanceConnector(
        key.api_key,
        key.api_secret,
        base_url=sim.rest_url,
        settings=FAST,
        check_key_permissions=True,
        allow_withdraw_enabled_key=True,
    )
    async with allowed:
        assert (await allowed.place_market_order("BTCUSDT", "BUY", "0.001")).status is OrderStatus.NEW


# ---------------------------------------------------------------------- faults
async def test_5xx_burst_opens_then_closes_the_breaker(
    conn: BinanceConnector, simulator: SimulatorHandle
) -> None:
    simulator.set_faults(server_error_rate=1.0, server_error_phase="before")
    with pytest.raises(CircuitOpen):
        await conn.get_price("BTCUSDT")
    assert conn.metrics()["breakers"]["market"] == "open"
    with pytest.raises(CircuitOpen):
        await conn.get_price("BTCUSDT")  # refused without a request
    simulator.clear_faults()
    await asyncio.sleep(FAST.breaker_reset)
    assert conn.metrics()["breakers"]["market"] == "half_open"
    assert await conn.get_price("BTCUSDT") > 0
    m = conn.metrics()
    assert m["breakers"]["market"] == "closed"
    assert m["errors_total"] == FAST.breaker_threshold  # 5xx bodies: HTML, or JSON with a code


async def test_429_retry_after_is_waited_out(conn: BinanceConnector, simulator: SimulatorHandle) -> None:
    simulator.core.faults.force_burst(1.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await conn.get_price("BTCUSDT") > 0
    assert loop.time() - start >= 0.9
    m = conn.metrics()
    assert m["rate_limited_429"] >= 1 and m["banned_until_ms"] == 0
    assert m["errors"].get("-1003", 0) >= 1


async def test_418_halts_every_request(simulator_factory: Callable[..., Any]) -> None:
    sim = await simulator_factory(limits=LimitSettings(request_weight_per_minute=30, ban_after_ignored_429=2))
    async with connect(sim) as c:
        # another client on this IP ignores the 429s and earns the IP a ban
        for _ in range(40):
            status, _, _ = await sim.request("GET", "/api/v3/ping")
            if status == 418:
                break
        assert status == 418
        with pytest.raises(IpBanned) as err:
            await c.get_price("BTCUSDT")
        assert err.value.until_ms > c.rest.clock.now_ms()
        sent = c.metrics()["requests"]
        with pytest.raises(IpBanned):
            await c.get_balances()
        with pytest.raises(IpBanned):
            await c.place_market_order("BTCUSDT", "BUY", "0.001")
        assert c.metrics()["requests"] == sent  # nothing was sent while banned


async def test_clock_skew_is_resynced(conn: BinanceConnector, simulator: SimulatorHandle) -> None:
    for skew in (15_000, -4_000):
        simulator.set_faults(clock_skew_ms=skew)
        assert "USDT" in await conn.get_balances()
        assert conn.rest.clock.offset_ms == pytest.approx(skew, abs=500)
    assert conn.metrics()["errors"].get("-1021") == 2
    assert conn.settings.recv_window_ms == 5000


async def test_lost_response_on_placement_never_doubles_the_order(simulator: SimulatorHandle) -> None:
    """The order is processed, the answer is lost (5xx after processing): found by its id."""
    conn = connect(simulator, dataclasses.replace(FAST, cache_enabled=True, cache_ttl=30))
    await conn.start()
    conn.exchange.lookup_delay = 0.05
    await conn.exchange.avg_price("BTCUSDT")  # the pre-check's input, cached before the fault
    simulator.set_faults(server_error_rate=1.0, server_error_phase="after", server_error_statuses=[503])

    async def heal_once_placed() -> None:
        await until(lambda: simulator.core.engine.open_orders(API_KEY, "BTCUSDT") != [])
        simulator.clear_faults()

    healer = asyncio.create_task(heal_once_placed())
    price = simulator.core.engine.last_price("BTCUSDT")  # REST answers 503 right now
    assert price is not None
    order = await conn.place_limit_order(
        "BTCUSDT", "BUY", "0.01", price * Decimal("0.9"), client_order_id="lost-1"
    )
    await healer
    assert order.client_order_id == "lost-1" and order.status is OrderStatus.NEW
    assert len(await server_orders(simulator, "lost-1")) == 1
    assert conn.metrics()["recovered_placements"] == 1
    await conn.close()


async def test_timeout_on_placement_never_doubles_the_order(simulator: SimulatorHandle) -> None:
    """The request is slower than the client's timeout and lands after the first lookup."""
    settings = dataclasses.replace(FAST, timeout_seconds=0.4)
    async with connect(simulator, settings) as c:
        c.exchange.lookup_delay = 0.25
        simulator.set_faults(latency_ms=1000)

        async def heal() -> None:
            await asyncio.sleep(0.5)
            simulator.clear_faults()

        healer = asyncio.create_task(heal())
        order = await c.place_market_order("BTCUSDT", "BUY", "0.002", client_order_id="slow-1")
        await healer
        await asyncio.sleep(0.7)  # anything still in flight has landed by now
        assert order.client_order_id == "slow-1"
        assert len(await server_orders(simulator, "slow-1")) == 1
        await simulator.advance()
        assert (await c.get_order("BTCUSDT", client_order_id="slow-1")).status is OrderStatus.FILLED
        fills = await c.exchange.my_trades("BTCUSDT")
        assert sum(f.qty for f in fills if f.order_id == order.order_id) == Decimal("0.002")


# ---------------------------------------------------------------------- streams
async def test_websocket_drops_lose_no_bar(conn: BinanceConnector, simulator: SimulatorHandle) -> None:
    stream = conn.market_stream()
    await stream.subscribe(["BTCUSDT", "ETHUSDT"], "1m")
    first_open = simulator.market_time - simulator.market_time % MIN  # the bar now in progress
    simulator.set_faults(
        ws_drop_every_s=0.4, stream_duplicate_rate=0.3, stream_delay_rate=0.3, stream_delay_ms=150
    )
    events = stream.events()
    got: list[BarEvent] = []
    for _ in range(8):
        await simulator.advance()
        await asyncio.sleep(0.15)
    simulator.clear_faults()
    await simulator.advance()
    expected = 9 * 2  # nine bars closed per symbol
    got = await take(events, expected, wait=10)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        opens = [e.bar.open_time for e in got if e.bar.symbol == symbol]
        assert opens == [first_open + i * MIN for i in range(9)], symbol
        rest = await conn.get_klines(symbol, "1m", limit=10)
        assert [e.bar for e in got if e.bar.symbol == symbol] == [b for b in rest if b.closed][-9:]
    assert all(e.bar.closed for e in got)
    m = stream.metrics()
    assert m["reconnects"] >= 1 and m["bars_delivered"] == expected


async def test_book_ticker_stream(conn: BinanceConnector, simulator: SimulatorHandle) -> None:
    stream = conn.market_stream()
    await stream.subscribe_book_tickers(["BTCUSDT"])
    await simulator.advance()
    (event,) = await take(stream.events(), 1)
    assert isinstance(event, BookTickerEvent) and event.ticker.bid_price < event.ticker.ask_price


async def test_user_stream_reports_orders_and_a_gap_after_reconnect(
    conn: BinanceConnector, simulator: SimulatorHandle
) -> None:
    user = conn.user_stream()
    await user.start()
    events = user.events()
    order = await conn.place_market_order("BTCUSDT", "BUY", "0.001")
    got = await take(events, 2)
    reports = [e for e in got if isinstance(e, ExecutionReport)]
    assert reports and reports[0].execution_type is ExecutionType.NEW
    assert reports[0].order.client_order_id == order.client_order_id
    await simulator.advance()
    trade = None
    while trade is None:
        (e,) = await take(events, 1)
        if isinstance(e, ExecutionReport) and e.execution_type is ExecutionType.TRADE:
            trade = e
    assert trade.fill is not None and trade.fill.qty == Decimal("0.001")

    await simulator.sim.drop_connections()
    while not isinstance(e, StreamGap):  # the fill's balance update may come first
        (e,) = await take(events, 1)
    await until(lambda: user.connected.is_set())
    await conn.place_market_order("BTCUSDT", "SELL", "0.001")
    (after,) = await take(events, 1)
    assert isinstance(after, ExecutionReport)


async def test_download_into_the_cache(
    conn: BinanceConnector, simulator: SimulatorHandle, tmp_path: Path
) -> None:
    store = CandleStore(tmp_path)
    start = simulator.market_time - WARMUP_BARS * MIN
    (result,) = await KlineDownloader(conn.exchange, store).download_many(["BTCUSDT"], "1m", start)
    assert result.fetched == WARMUP_BARS  # the bar in progress is left out
    await simulator.advance(bars=3)
    again = await KlineDownloader(conn.exchange, store).download("BTCUSDT", "1m", start)
    assert again.added == 3
    cached = store.read("BTCUSDT", "1m").to_bars()
    rest = await conn.get_klines("BTCUSDT", "1m", start_time=start, limit=1000)
    assert [b.open_time for b in cached] == [b.open_time for b in rest if b.closed]
    assert [b.close for b in cached] == [b.close for b in rest if b.closed]


async def test_streams_answer_pings_and_pace_control_messages(simulator_factory: Callable[..., Any]) -> None:
    """A server that pings every second and drops a client that has not answered for 2.5 s,
    or that sent more than 5 messages (pongs included) in a second, keeps our connection
    through 12 subscriptions added one SUBSCRIBE at a time."""
    sim = await simulator_factory(ping_interval_s=1.0, pong_timeout_s=2.5)
    async with connect(sim) as c:
        stream = c.market_stream()
        symbols = ["BTCUSDT", "ETHUSDT"]
        loop = asyncio.get_running_loop()
        opened = loop.time()
        for interval in ("1m", "3m", "5m", "15m", "30m", "1h"):
            await stream.subscribe(symbols, interval)  # one SUBSCRIBE each after the first
        await asyncio.sleep(max(0.0, opened + 3.0 - loop.time()))  # outlive the 2.5 s pong deadline
        await sim.advance()
        (event,) = await take(stream.events(), 1)
        assert event.bar.interval == "1m"
        m = stream.metrics()
        assert m["reconnects"] == 0 and m["connections"] == 1 and m["streams"] == 12
