"""Market streams over a raw WebSocket: payload shapes, klines as the path advances, control messages."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import aiohttp
from tests.integration.conftest import SimulatorFactory, SimulatorHandle
from tests.integration.simulator.wsutil import nothing_arrives, recv_json, recv_n

from binance_bot.exchange.binance import wire

MINUTE = 60_000


async def test_kline_stream_follows_the_path_then_closes_the_bar(simulator: SimulatorHandle) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{simulator.stream_url}/ws/btcusdt@kline_1m") as ws,
    ):
        assert await nothing_arrives(ws)  # stepped clock: nothing moves by itself
        opened = simulator.market_time
        await simulator.advance(bars=1)
        events = await recv_n(ws, 4)
        bars = [wire.parse_kline_event(e).bar for e in events]
        assert [(b.open_time, b.closed) for b in bars] == [
            (opened, False),
            (opened, False),
            (opened, True),
            (opened + MINUTE, False),
        ]
        assert [e["E"] for e in events] == sorted(e["E"] for e in events)
        assert all(e["k"]["T"] == e["k"]["t"] + MINUTE - 1 for e in events)
        partial, later, final = bars[0], bars[1], bars[2]
        assert partial.volume <= later.volume <= final.volume
        assert partial.high <= final.high and partial.low >= final.low
        _, _, rest = await simulator.request(
            "GET", "/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "startTime": opened, "limit": 2}
        )
        served = wire.parse_klines(rest, "BTCUSDT", "1m")
        assert (served[0].open, served[0].high, served[0].low, served[0].close, served[0].volume) == (
            final.open,
            final.high,
            final.low,
            final.close,
            final.volume,
        )
        assert served[1].volume == 0  # the new bar has only just opened: no future volume
        assert served[1].open == served[1].high == served[1].low == served[1].close


async def test_aggregated_kline_closes_once_per_slot(simulator: SimulatorHandle) -> None:
    url = f"{simulator.stream_url}/stream?streams=btcusdt@kline_5m"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        start = simulator.market_time
        slot_end = (start // (5 * MINUTE) + 1) * 5 * MINUTE
        await simulator.advance(to_ms=slot_end)
        bars = []
        for _ in range(4 * (slot_end - start) // MINUTE):
            msg = await recv_json(ws)
            assert msg["stream"] == "btcusdt@kline_5m"
            bars.append(wire.parse_kline_event(msg["data"]).bar)
        closed = [b for b in bars if b.closed]
        assert len(closed) == 1
        assert bars[-1].open_time == slot_end and not bars[-1].closed
        _, _, rest = await simulator.request(
            "GET",
            "/api/v3/klines",
            {"symbol": "BTCUSDT", "interval": "5m", "endTime": slot_end - 1, "limit": 1},
        )
        served = wire.parse_klines(rest, "BTCUSDT", "5m")[0]
        assert (served.open_time, served.high, served.low, served.close, served.volume) == (
            closed[0].open_time,
            closed[0].high,
            closed[0].low,
            closed[0].close,
            closed[0].volume,
        )


async def test_trade_book_and_depth_payloads(simulator: SimulatorHandle) -> None:
    names = "ethusdt@trade/ethusdt@aggTrade/ethusdt@bookTicker/ethusdt@depth5"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{simulator.stream_url}/stream?streams={names}") as ws,
    ):
        await simulator.advance(seconds=25)  # one path corner (at 20 s) for each symbol
        by_stream = {m["stream"]: m["data"] for m in await recv_n(ws, 4)}
    trade = by_stream["ethusdt@trade"]
    assert set(trade) == {"e", "E", "s", "t", "p", "q", "T", "m", "M"}
    agg = by_stream["ethusdt@aggTrade"]
    assert set(agg) == {"e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"}
    assert agg["p"] == trade["p"]
    book = wire.parse_book_ticker_event(by_stream["ethusdt@bookTicker"], 0).ticker
    assert set(by_stream["ethusdt@bookTicker"]) == {"u", "s", "b", "B", "a", "A"}
    assert book.bid_price <= Decimal(trade["p"]) <= book.ask_price
    depth = wire.parse_depth(by_stream["ethusdt@depth5"], "ETHUSDT")
    assert len(depth.bids) == len(depth.asks) == 5
    tick, step = Decimal("0.01"), Decimal("0.0001")
    for price, qty in depth.bids + depth.asks:
        assert price % tick == 0 and qty % step == 0 and qty > 0
    assert [p for p, _ in depth.bids] == sorted((p for p, _ in depth.bids), reverse=True)
    assert depth.best_bid is not None and depth.best_ask is not None and depth.best_bid < depth.best_ask


async def test_subscribe_unsubscribe_list_and_properties(simulator: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{simulator.stream_url}/ws") as ws:
        await ws.send_str(
            json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade", "ethusdt@trade"], "id": 1})
        )
        assert await recv_json(ws) == {"result": None, "id": 1}
        await ws.send_str(json.dumps({"method": "UNSUBSCRIBE", "params": ["ethusdt@trade"], "id": "two"}))
        assert await recv_json(ws) == {"result": None, "id": "two"}
        await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 3}))
        assert await recv_json(ws) == {"result": ["btcusdt@trade"], "id": 3}
        await ws.send_str(json.dumps({"method": "GET_PROPERTY", "params": ["combined"], "id": 4}))
        assert await recv_json(ws) == {"result": False, "id": 4}
        await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@nonsense"], "id": 5}))
        assert await recv_json(ws) == {
            "code": 2,
            "msg": "Invalid request: unknown stream 'btcusdt@nonsense'",
            "id": 5,
        }
        await asyncio.sleep(1.1)  # stay under 5 messages per second
        await ws.send_str("{not json")
        reply = await recv_json(ws)
        assert reply["code"] == 3 and reply["msg"].startswith("Invalid JSON")
        await ws.send_str(json.dumps({"method": "SET_PROPERTY", "params": ["combined", True], "id": 6}))
        assert await recv_json(ws) == {"result": None, "id": 6}
        await simulator.advance(seconds=25)
        msg = await recv_json(ws)
        assert msg["stream"] == "btcusdt@trade" and msg["data"]["s"] == "BTCUSDT"


async def test_unknown_stream_in_the_url_is_refused(simulator: SimulatorHandle) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{simulator.stream_url.replace('ws', 'http', 1)}/ws/btcusdt@kline_7m") as resp,
    ):
        assert resp.status == 400
        assert (await resp.json())["code"] == 2


async def test_server_pings_and_drops_silent_clients(simulator_factory: SimulatorFactory) -> None:
    sim = await simulator_factory(ping_interval_s=0.2, pong_timeout_s=1.5)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{sim.stream_url}/ws/btcusdt@trade", autoping=False) as ws:
            msg = await asyncio.wait_for(ws.receive(), 3)
            assert msg.type is aiohttp.WSMsgType.PING
            await ws.pong(msg.data)  # echo the payload: kept alive
            for _ in range(5):
                msg = await asyncio.wait_for(ws.receive(), 3)
                assert msg.type is aiohttp.WSMsgType.PING
                await ws.pong(msg.data)
            assert not ws.closed
        async with session.ws_connect(f"{sim.stream_url}/ws/btcusdt@trade", autoping=False) as silent:
            kinds = []
            while True:
                msg = await asyncio.wait_for(silent.receive(), 10)
                kinds.append(msg.type)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    break
            assert aiohttp.WSMsgType.PING in kinds
            assert silent.close_code == 1008


async def test_too_many_incoming_messages_disconnect(simulator: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{simulator.stream_url}/ws") as ws:
        for i in range(7):
            await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        replies = 0
        while True:
            msg = await asyncio.wait_for(ws.receive(), 5)
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            replies += 1
        assert replies == 5
        assert ws.closed


async def test_clients_hear_server_shutdown(simulator_factory: SimulatorFactory) -> None:
    sim = await simulator_factory()
    async with aiohttp.ClientSession() as session:
        raw = await session.ws_connect(f"{sim.stream_url}/ws/btcusdt@trade")
        combined = await session.ws_connect(f"{sim.stream_url}/stream?streams=btcusdt@trade")
        api = await session.ws_connect(sim.ws_api_url)
        await asyncio.sleep(0.05)
        await sim.sim.stop()
        assert (await recv_json(raw))["e"] == "serverShutdown"
        wrapped = await recv_json(combined)
        assert wrapped["stream"] == "!serverShutdown" and wrapped["data"]["e"] == "serverShutdown"
        assert (await recv_json(api))["event"]["e"] == "serverShutdown"
        for ws in (raw, combined, api):
            await ws.close()
