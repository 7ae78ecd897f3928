"""Running market clocks: real time and accelerated, while the protocol clock stays wall time."""

from __future__ import annotations

import asyncio
import itertools
import time
from decimal import Decimal

import aiohttp
from tests.integration.conftest import SimulatorFactory
from tests.integration.simulator.wsutil import recv_json

from binance_bot.exchange.binance import wire

MINUTE = 60_000


async def test_accelerated_market_with_a_wall_protocol_clock(simulator_factory: SimulatorFactory) -> None:
    sim = await simulator_factory(speed=600.0, tick_interval_s=0.05)
    _, _, body = await sim.request("GET", "/api/v3/time")
    assert abs(body["serverTime"] - int(time.time() * 1000)) < 2_000  # signing stays possible
    first = sim.market_time
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{sim.stream_url}/ws/btcusdt@kline_1m") as ws,
    ):
        closed = []
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            bar = wire.parse_kline_event(await recv_json(ws)).bar
            if bar.closed:
                closed.append(bar.open_time)
    assert len(closed) >= 3
    assert closed == sorted(set(closed))
    assert all(b - a == MINUTE for a, b in itertools.pairwise(closed))
    _, _, klines = await sim.request(
        "GET", "/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 1}
    )
    assert klines[0][0] >= first + 3 * MINUTE
    # a REST MARKET order fills at once at the price of "now" on the path, FULL with its fills
    status, _, order = await sim.request(
        "POST",
        "/api/v3/order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"},
        signed=True,
    )
    assert status == 200, order
    assert order["status"] == "FILLED"
    assert len(order["fills"]) == 1
    assert Decimal(order["fills"][0]["qty"]) == Decimal("0.001")
    assert first <= order["transactTime"] <= sim.market_time


async def test_real_time_market_starts_now(simulator_factory: SimulatorFactory) -> None:
    sim = await simulator_factory(speed=1.0)
    wall = int(time.time() * 1000)
    _, _, klines = await sim.request(
        "GET", "/api/v3/klines", {"symbol": "ETHUSDT", "interval": "1m", "limit": 2}
    )
    assert klines[-1][0] in (wall // MINUTE * MINUTE, wall // MINUTE * MINUTE - MINUTE)
    assert klines[-2][0] == klines[-1][0] - MINUTE
    status, _, order = await sim.request(
        "POST",
        "/api/v3/order",
        {
            "symbol": "ETHUSDT",
            "side": "SELL",
            "type": "MARKET",
            "quantity": "0.01",
            "newOrderRespType": "RESULT",
        },
        signed=True,
    )
    assert status == 200, order
    assert order["status"] == "FILLED" and "fills" not in order
    await sim.sim.set_speed(None)  # stepped from here on: time stands still
    frozen = sim.market_time
    await asyncio.sleep(0.1)
    assert sim.market_time == frozen
