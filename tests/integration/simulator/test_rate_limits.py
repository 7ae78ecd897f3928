"""Request weight, order counts, 429 with Retry-After and the 418 ban, as headers and bodies show them."""

from __future__ import annotations

import time
from decimal import Decimal

from tests.integration.conftest import SimulatorFactory

from binance_bot.simulator import LimitSettings


async def test_weight_headers_429_and_ban(simulator_factory: SimulatorFactory) -> None:
    sim = await simulator_factory(limits=LimitSettings(request_weight_per_minute=30, ban_after_ignored_429=3))
    status, headers, _ = await sim.request("GET", "/api/v3/ping")
    assert status == 200
    assert headers["X-MBX-USED-WEIGHT-1M"] == "1"
    assert headers["X-MBX-USED-WEIGHT"] == "1"
    _, headers, _ = await sim.request("GET", "/api/v3/exchangeInfo")
    assert headers["X-MBX-USED-WEIGHT-1M"] == "21"
    _, headers, _ = await sim.request("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5})
    assert headers["X-MBX-USED-WEIGHT-1M"] == "26"

    status, headers, body = await sim.request("GET", "/api/v3/exchangeInfo")
    assert status == 429
    assert body == {
        "code": -1003,
        "msg": "Too much request weight used; current limit is 30 request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
    }
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert headers["X-MBX-USED-WEIGHT-1M"] == "26"

    for _ in range(2):  # ignoring the Retry-After: strikes
        status, _, _ = await sim.request("GET", "/api/v3/ping")
        assert status == 429
    before = int(time.time() * 1000)
    status, headers, body = await sim.request("GET", "/api/v3/ping")
    assert status == 418
    assert int(headers["Retry-After"]) == 120
    prefix, _, rest = body["msg"].partition("IP banned until ")
    until, _, suffix = rest.partition(".")
    assert prefix == "Way too much request weight used; "
    assert suffix == " Please use WebSocket Streams for live updates to avoid bans."
    assert before + 119_000 <= int(until) <= int(time.time() * 1000) + 121_000
    assert body["code"] == -1003
    status, _, _ = await sim.request("GET", "/api/v3/time")
    assert status == 418
    sim.core.limiter.lift_ban()
    status, _, _ = await sim.request("GET", "/api/v3/time")
    assert status in (200, 429)


async def test_successful_orders_cost_no_weight_and_count_orders(simulator_factory: SimulatorFactory) -> None:
    sim = await simulator_factory(limits=LimitSettings(orders_per_10s=3))
    _, _, ticker = await sim.request("GET", "/api/v3/ticker/price", {"symbol": "BTCUSDT"})
    price = (Decimal(ticker["price"]) * Decimal("0.9")).quantize(Decimal("0.01"))
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.001",
        "price": str(price),
    }
    status, headers, _ = await sim.request("POST", "/api/v3/order", order, signed=True)
    assert status == 200
    assert headers["X-MBX-USED-WEIGHT-1M"] == "2"  # the ticker read only
    assert (headers["X-MBX-ORDER-COUNT-10S"], headers["X-MBX-ORDER-COUNT-1D"]) == ("1", "1")
    status, headers, _ = await sim.request("POST", "/api/v3/order", {**order, "quantity": "100"}, signed=True)
    assert status == 400
    assert headers["X-MBX-USED-WEIGHT-1M"] == "3"  # a refused order costs its weight
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    status, headers, _ = await sim.request("POST", "/api/v3/order", market, signed=True)
    assert headers["X-MBX-ORDER-COUNT-10S"] == "2"
    status, headers, _ = await sim.request("POST", "/api/v3/order", order, signed=True)
    assert headers["X-MBX-ORDER-COUNT-10S"] == "3"
    status, headers, body = await sim.request("POST", "/api/v3/order", order, signed=True)
    assert (status, body) == (
        429,
        {"code": -1015, "msg": "Too many new orders; current limit is 3 orders per 10 SECOND."},
    )
    assert 1 <= int(headers["Retry-After"]) <= 10

    await sim.advance(bars=1)  # the MARKET order fills: its first fill takes it off the count
    status, _, counts = await sim.request("GET", "/api/v3/rateLimit/order", signed=True)
    assert status == 200
    assert [(c["interval"], c["intervalNum"], c["limit"], c["count"]) for c in counts] == [
        ("SECOND", 10, 3, 2),
        ("DAY", 1, 200_000, 2),
    ]


async def test_sapi_weight_has_its_own_header(simulator_factory: SimulatorFactory) -> None:
    sim = await simulator_factory()
    status, headers, body = await sim.request("GET", "/sapi/v1/account/apiRestrictions", signed=True)
    assert status == 200
    assert body["enableWithdrawals"] is False
    assert headers["X-SAPI-USED-IP-WEIGHT-1M"] == "1"
    assert "X-MBX-USED-WEIGHT-1M" not in headers
