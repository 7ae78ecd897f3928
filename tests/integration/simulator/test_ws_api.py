"""The WebSocket API: signed requests, the user-data subscription and its events in Binance's shapes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from tests.integration.conftest import SimulatorFactory, SimulatorHandle, default_config
from tests.integration.simulator.wsutil import WsApi, nothing_arrives, recv_json, signed_params

from binance_bot.exchange.binance import wire
from binance_bot.model import ExecutionType, OrderStatus
from binance_bot.simulator import AccountSpec

# Keys of executionReport as Binance documents them (user-data-stream.md), none conditional.
EXECUTION_REPORT_KEYS = set(
    [
        "e",
        "E",
        "s",
        "c",
        "S",
        "o",
        "f",
        "q",
        "p",
        "P",
        "F",
        "g",
        "C",
        "x",
        "X",
        "r",
        "i",
        "l",
        "z",
        "L",
        "n",
        "N",
        "T",
        "t",
        "v",
        "I",
        "w",
        "m",
        "M",
        "O",
        "Z",
        "Y",
        "Q",
        "W",
        "V",
    ]
)


@pytest.fixture
async def api(simulator: SimulatorHandle) -> AsyncIterator[WsApi]:
    async with aiohttp.ClientSession() as session, session.ws_connect(simulator.ws_api_url) as ws:
        yield WsApi(ws, simulator.api_key, simulator.api_secret)


async def _subscribe(api: WsApi) -> int:
    reply = await api.call("userDataStream.subscribe.signature", signed=True)
    assert reply["status"] == 200, reply
    return int(reply["result"]["subscriptionId"])


async def test_ping_time_and_rate_limits(api: WsApi, simulator: SimulatorHandle) -> None:
    reply = await api.call("ping")
    assert (reply["status"], reply["result"]) == (200, {})
    limits = {r["rateLimitType"]: r for r in reply["rateLimits"]}
    assert limits["REQUEST_WEIGHT"]["limit"] == 6000
    assert limits["REQUEST_WEIGHT"]["count"] >= 3  # the connection (2) and this ping
    reply = await api.call("v3/time")
    assert abs(reply["result"]["serverTime"] - int(time.time() * 1000)) < 5_000
    reply = await api.call("no.such.method")
    assert reply["status"] == 400 and reply["error"]["code"] == -1100


async def test_user_events_for_rest_orders(api: WsApi, simulator: SimulatorHandle) -> None:
    assert await _subscribe(api) == 0
    again = await api.call("userDataStream.subscribe.signature", signed=True)
    assert (again["status"], again["error"]) == (
        400,
        {"code": -2035, "msg": "User Data Stream subscription already active."},
    )
    _, _, ticker = await simulator.request("GET", "/api/v3/ticker/price", {"symbol": "BTCUSDT"})
    price = (Decimal(ticker["price"]) * Decimal("0.9")).quantize(Decimal("0.01"))
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01",
        "price": str(price),
    }
    status, _, placed = await simulator.request("POST", "/api/v3/order", order, signed=True)
    assert status == 200
    events = await api.events_until("outboundAccountPosition")
    assert [m["subscriptionId"] for m in events] == [0, 0]
    report, position = events[0]["event"], events[1]["event"]
    assert set(report) == EXECUTION_REPORT_KEYS
    assert (report["x"], report["X"], report["i"], report["c"]) == (
        "NEW",
        "NEW",
        placed["orderId"],
        placed["clientOrderId"],
    )
    assert report["N"] is None and report["t"] == -1
    usdt = {b["a"]: b for b in position["B"]}["USDT"]
    assert Decimal(usdt["l"]) == price * Decimal("0.01")

    status, _, _ = await simulator.request(
        "DELETE",
        "/api/v3/order",
        {"symbol": "BTCUSDT", "orderId": placed["orderId"], "newClientOrderId": "cancel-1"},
        signed=True,
    )
    assert status == 200
    canceled = (await api.events_until("outboundAccountPosition"))[0]["event"]
    assert (canceled["x"], canceled["X"], canceled["c"], canceled["C"]) == (
        "CANCELED",
        "CANCELED",
        "cancel-1",
        placed["clientOrderId"],
    )

    simulator.deposit("USDT", "250")
    update = await api.event()
    assert update["event"] == {
        "e": "balanceUpdate",
        "E": update["event"]["E"],
        "a": "USDT",
        "d": "250.00000000",
        "T": update["event"]["T"],
    }
    position = (await api.event())["event"]
    assert position["e"] == "outboundAccountPosition"
    assert {b["a"]: b["f"] for b in position["B"]}["USDT"] == "10250.00000000"


async def test_order_place_status_cancel_over_the_ws_api(api: WsApi, simulator: SimulatorHandle) -> None:
    await _subscribe(api)
    reply = await api.call(
        "order.place",
        {
            "symbol": "ETHUSDT",
            "side": "BUY",
            "type": "MARKET",
            "quantity": "0.5",
            "newClientOrderId": "ws-market-1",
        },
        signed=True,
    )
    assert reply["status"] == 200, reply
    assert reply["result"]["status"] == "NEW"
    orders = {r["rateLimitType"] + r["interval"]: r["count"] for r in reply["rateLimits"]}
    assert orders["ORDERSSECOND"] == 1
    placed = await api.events_until("outboundAccountPosition")
    assert placed[0]["event"]["x"] == "NEW"
    await simulator.advance(bars=1)
    events = await api.events_until("outboundAccountPosition")
    reports = [
        wire.parse_execution_report(m["event"]) for m in events if m["event"]["e"] == "executionReport"
    ]
    trade = [r for r in reports if r.execution_type is ExecutionType.TRADE]
    assert len(trade) == 1 and trade[0].order.status is OrderStatus.FILLED
    assert trade[0].fill is not None and trade[0].fill.commission_asset == "ETH"
    status = await api.call(
        "order.status", {"symbol": "ETHUSDT", "origClientOrderId": "ws-market-1"}, signed=True
    )
    assert status["result"]["status"] == "FILLED"
    assert status["result"]["executedQty"] == "0.50000000"
    missing = await api.call(
        "order.cancel", {"symbol": "ETHUSDT", "origClientOrderId": "ws-market-1"}, signed=True
    )
    assert (missing["status"], missing["error"]) == (400, {"code": -2011, "msg": "Unknown order sent."})


async def test_oco_sends_list_status(api: WsApi, simulator: SimulatorHandle) -> None:
    await _subscribe(api)
    _, _, ticker = await simulator.request("GET", "/api/v3/ticker/price", {"symbol": "BTCUSDT"})
    price = Decimal(ticker["price"])
    reply = await api.call(
        "orderList.place.oco",
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "quantity": "0.1",
            "aboveType": "LIMIT_MAKER",
            "abovePrice": str((price * Decimal("1.2")).quantize(Decimal("0.01"))),
            "belowType": "STOP_LOSS",
            "belowStopPrice": str((price * Decimal("0.8")).quantize(Decimal("0.01"))),
            "listClientOrderId": "my-oco",
        },
        signed=True,
    )
    assert reply["status"] == 200, reply
    events = await api.events_until("outboundAccountPosition")
    kinds = [m["event"]["e"] for m in events]
    assert kinds == ["executionReport", "executionReport", "listStatus", "outboundAccountPosition"]
    status = events[2]["event"]
    assert set(status) == {"e", "E", "s", "g", "c", "l", "L", "r", "C", "T", "O"}
    assert (status["c"], status["l"], status["L"], status["C"]) == (
        "OCO",
        "EXEC_STARTED",
        "EXECUTING",
        "my-oco",
    )
    assert [o["i"] for o in status["O"]] == [e["event"]["i"] for e in events[:2]]
    reply = await api.call(
        "orderList.cancel", {"symbol": "BTCUSDT", "listClientOrderId": "my-oco"}, signed=True
    )
    assert reply["status"] == 200
    events = await api.events_until("outboundAccountPosition")
    assert [m["event"].get("X") or m["event"].get("L") for m in events[:3]] == [
        "CANCELED",
        "CANCELED",
        "ALL_DONE",
    ]


async def test_unsubscribe_ends_the_stream(api: WsApi, simulator: SimulatorHandle) -> None:
    sub = await _subscribe(api)
    reply = await api.call("userDataStream.unsubscribe", {"subscriptionId": sub})
    assert (reply["status"], reply["result"]) == (200, {})
    assert api.events and api.events[0]["event"]["e"] == "eventStreamTerminated"
    api.events.clear()
    reply = await api.call("userDataStream.unsubscribe")
    assert reply["error"] == {"code": -2036, "msg": "User Data Stream subscription not active."}
    simulator.deposit("USDT", "1")
    assert await nothing_arrives(api.ws)
    assert await _subscribe(api) == 1  # ids keep counting within a session


async def test_signature_and_timing_errors(api: WsApi, simulator: SimulatorHandle) -> None:
    requests = [
        (
            "bad-signature",
            "userDataStream.subscribe.signature",
            signed_params({}, simulator.api_key, "wrong"),
        ),
        (
            "stale",
            "account.status",
            signed_params(
                {}, simulator.api_key, simulator.api_secret, timestamp=int(time.time() * 1000) - 60_000
            ),
        ),
        ("unknown-key", "account.status", signed_params({}, "nobody", "x")),
    ]
    for request_id, method, params in requests:
        await api.ws.send_json({"id": request_id, "method": method, "params": params})
    replies = {r["id"]: (r["status"], r["error"]) for r in [await recv_json(api.ws) for _ in requests]}
    assert replies == {
        "bad-signature": (400, {"code": -1022, "msg": "Signature for this request is not valid."}),
        "stale": (400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}),
        "unknown-key": (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}),
    }


async def test_binance_ws_signing_example_is_accepted(simulator_factory: SimulatorFactory) -> None:
    """``docs/ws-api`` "SIGNED request example (HMAC)", sent byte for byte at its own time."""
    doc_key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
    doc_secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    base = default_config()
    sim = await simulator_factory(
        accounts=(*base.accounts, AccountSpec(doc_key, doc_secret, {"BTC": Decimal(1)}))
    )
    timestamp = 1645423376532
    sim.set_faults(clock_skew_ms=timestamp - 400 - int(time.time() * 1000))  # server time just before it
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000000",
        "price": "52000.00",
        "recvWindow": 100,
        "timestamp": timestamp,
        "apiKey": doc_key,
        "signature": "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24",
    }
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_api_url) as ws:
        await ws.send_json({"id": "doc", "method": "order.place", "params": params})
        reply = await recv_json(ws)
    assert reply["status"] == 200, reply
    assert reply["result"]["symbol"] == "BTCUSDT"
    assert reply["result"]["origQty"] == "0.01000000"
