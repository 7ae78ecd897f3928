"""Each injected fault, switched on and off at run time, as a client meets it."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import aiohttp
from tests.integration.conftest import SimulatorFactory, SimulatorHandle
from tests.integration.simulator.wsutil import recv_json, recv_n

from binance_bot.simulator import LimitSettings


async def _limit_order(sim: SimulatorHandle, cid: str) -> tuple[int, Any]:
    last = sim.core.market.last_price("BTCUSDT")  # read in process: the faults hit every request
    assert last is not None
    price = (last * Decimal("0.9")).quantize(Decimal("0.01"))
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.001",
        "price": str(price),
        "newClientOrderId": cid,
    }
    status, _, body = await sim.request("POST", "/api/v3/order", order, signed=True)
    return status, body


async def _open_ids(sim: SimulatorHandle) -> list[str]:
    _, _, body = await sim.request("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}, signed=True)
    return [o["clientOrderId"] for o in body]


async def test_latency_delays_every_answer(simulator: SimulatorHandle) -> None:
    simulator.set_faults(latency_kind="fixed", latency_ms=300)
    started = time.monotonic()
    status, _, _ = await simulator.request("GET", "/api/v3/ping")
    assert status == 200
    assert time.monotonic() - started >= 0.29
    simulator.clear_faults()
    assert simulator.core.faults.latency_s() == 0


async def test_server_errors_before_and_after_processing(simulator: SimulatorHandle) -> None:
    simulator.set_faults(server_error_rate=1.0, server_error_phase="before", server_error_statuses=[503])
    status, body = await _limit_order(simulator, "lost-request")
    assert status == 503
    assert body == {
        "code": -1007,
        "msg": "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
    }
    simulator.set_faults(server_error_phase="after", server_error_statuses=[502])
    status, body = await _limit_order(simulator, "lost-answer")
    assert status == 502
    assert isinstance(body, str) and "Bad Gateway" in body
    simulator.clear_faults()
    assert await _open_ids(simulator) == ["lost-answer"]  # placed, though the client never heard


async def test_random_queue_overload_answers_429(simulator: SimulatorHandle) -> None:
    simulator.set_faults(too_many_requests_rate=1.0)
    status, headers, body = await simulator.request("GET", "/api/v3/time")
    assert (status, body) == (429, {"code": -1003, "msg": "Too many requests queued."})
    assert headers["Retry-After"] == "1"
    simulator.set_faults(too_many_requests_rate=0.5, seed=7)
    outcomes = [(await simulator.request("GET", "/api/v3/time"))[0] for _ in range(20)]
    simulator.set_faults(too_many_requests_rate=0.5, seed=7)  # re-applying reseeds: same answers
    again = [(await simulator.request("GET", "/api/v3/time"))[0] for _ in range(20)]
    assert outcomes == again
    assert set(outcomes) == {200, 429}


async def test_forced_429_burst_then_ban_when_ignored(simulator_factory: SimulatorFactory) -> None:
    sim = await simulator_factory(limits=LimitSettings(ban_after_ignored_429=2))
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sim.admin_url}/faults/burst", json={"seconds": 5}) as resp,
    ):
        assert resp.status == 200
    status, headers, body = await sim.request("GET", "/api/v3/time")
    assert status == 429 and body["code"] == -1003
    assert 1 <= int(headers["Retry-After"]) <= 5
    status, _, _ = await sim.request("GET", "/api/v3/time")
    assert status == 429
    status, _, body = await sim.request("GET", "/api/v3/time")
    assert status == 418
    assert "IP banned until" in body["msg"]


async def test_clock_skew_moves_the_protocol_clock_only(simulator: SimulatorHandle) -> None:
    market = simulator.market_time
    simulator.set_faults(clock_skew_ms=10_000)
    _, _, body = await simulator.request("GET", "/api/v3/time")
    assert body["serverTime"] - int(time.time() * 1000) >= 9_000
    status, _, body = await simulator.request("GET", "/api/v3/account", signed=True)
    assert (status, body["code"]) == (400, -1021)
    assert simulator.market_time == market
    simulator.set_faults(clock_skew_ms=0)
    status, _, _ = await simulator.request("GET", "/api/v3/account", signed=True)
    assert status == 200


async def test_websocket_drops(simulator: SimulatorHandle) -> None:
    simulator.set_faults(ws_drop_every_s=0.5)
    async with aiohttp.ClientSession() as session:
        for url in (f"{simulator.stream_url}/ws/btcusdt@trade", simulator.ws_api_url):
            async with session.ws_connect(url) as ws:
                started = time.monotonic()
                msg = await asyncio.wait_for(ws.receive(), 5)
                assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
                assert ws.close_code == 1001
                assert time.monotonic() - started >= 0.4
        simulator.clear_faults()
        async with session.ws_connect(f"{simulator.stream_url}/ws/btcusdt@trade") as ws:
            async with session.post(f"{simulator.admin_url}/ws/drop") as resp:
                assert (await resp.json())["dropped"] == 1
            msg = await asyncio.wait_for(ws.receive(), 5)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_duplicated_stream_messages(simulator: SimulatorHandle) -> None:
    simulator.set_faults(stream_duplicate_rate=1.0)
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{simulator.stream_url}/ws/btcusdt@kline_1m") as ws,
    ):
        await simulator.advance(seconds=25)
        first, second = await recv_n(ws, 2)
        assert first == second


async def test_delayed_stream_messages(simulator: SimulatorHandle) -> None:
    simulator.set_faults(stream_delay_rate=1.0, stream_delay_ms=400)
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{simulator.stream_url}/ws/btcusdt@trade") as ws,
    ):
        started = time.monotonic()
        await simulator.advance(seconds=25)
        msg = await recv_json(ws)
        assert msg["e"] == "trade"
        assert time.monotonic() - started >= 0.35


async def test_admin_fault_endpoints(simulator: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{simulator.admin_url}/faults", json={"latency_ms": 5, "seed": 3}) as resp:
            body = await resp.json()
            assert (body["latency_ms"], body["seed"], body["server_error_rate"]) == (5.0, 3, 0.0)
        async with session.patch(f"{simulator.admin_url}/faults", json={"server_error_rate": 0.25}) as resp:
            body = await resp.json()
            assert (body["latency_ms"], body["server_error_rate"]) == (5.0, 0.25)
        async with session.patch(f"{simulator.admin_url}/faults", json={"latency": 5}) as resp:
            assert resp.status == 400
            assert "unknown fault setting(s): latency" in (await resp.json())["error"]
        async with session.delete(f"{simulator.admin_url}/faults") as resp:
            assert (await resp.json())["latency_ms"] == 0.0
        async with session.get(f"{simulator.admin_url}/faults") as resp:
            assert (await resp.json())["server_error_rate"] == 0.0
        before = simulator.market_time
        async with session.post(f"{simulator.admin_url}/advance", json={"bars": 2}) as resp:
            assert (await resp.json())["marketTime"] == before + 120_000
        async with session.post(f"{simulator.admin_url}/advance", json={"bars": 1, "seconds": 3}) as resp:
            assert resp.status == 400
        async with session.post(
            f"{simulator.admin_url}/deposit",
            json={"apiKey": simulator.api_key, "asset": "BNB", "amount": "3"},
        ) as resp:
            assert await resp.json() == {"asset": "BNB", "free": "3", "locked": "0"}
        async with session.post(f"{simulator.admin_url}/clock", json={"speed": 600}) as resp:
            assert (await resp.json())["clock"] == "running"
        async with session.post(f"{simulator.admin_url}/advance", json={"bars": 1}) as resp:
            assert resp.status == 409
        async with session.post(f"{simulator.admin_url}/clock", json={"speed": None}) as resp:
            assert (await resp.json())["clock"] == "stepped"
