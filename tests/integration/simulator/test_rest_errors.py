"""Every refusal over HTTP with Binance's exact status, code and message."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from tests.integration.conftest import SYMBOLS, WARMUP_BARS, SimulatorFactory, SimulatorHandle

from binance_bot.data import default_symbol_rules
from binance_bot.simulator import MarketSpec

ORDER = "/api/v3/order"

LEGACY_ETH = replace(default_symbol_rules("ETHUSDT"), notional_filter_name="MIN_NOTIONAL")
TIGHT_BTC = replace(
    default_symbol_rules("BTCUSDT"), market_max_qty=Decimal("0.5"), max_num_orders=3, max_num_algo_orders=1
)


@pytest.fixture
async def tight(simulator_factory: SimulatorFactory) -> SimulatorHandle:
    """BTCUSDT with a MARKET_LOT_SIZE cap of 0.5 and at most 3 open orders, 1 of them a stop;
    ETHUSDT with the legacy MIN_NOTIONAL filter instead of NOTIONAL."""
    market = MarketSpec(
        symbols=SYMBOLS, warmup_bars=WARMUP_BARS, rules={"BTCUSDT": TIGHT_BTC, "ETHUSDT": LEGACY_ETH}
    )
    return await simulator_factory(market=market)


async def _price(sim: SimulatorHandle, symbol: str = "BTCUSDT") -> Decimal:
    _, _, body = await sim.request("GET", "/api/v3/ticker/price", {"symbol": symbol})
    return Decimal(body["price"])


async def _expect(
    sim: SimulatorHandle,
    method: str,
    path: str,
    params: dict[str, Any],
    code: int,
    msg: str,
    *,
    status: int = 400,
    signed: bool = True,
) -> None:
    got_status, _, body = await sim.request(method, path, params, signed=signed)
    assert (got_status, body) == (status, {"code": code, "msg": msg})


def _limit(side: str, qty: str, price: Decimal | str, **extra: Any) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": side,
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": qty,
        "price": str(price),
        **extra,
    }


async def test_filter_failures(tight: SimulatorHandle) -> None:
    price = await _price(tight)
    near = (price * Decimal("0.99")).quantize(Decimal("0.01"))
    await _expect(
        tight,
        "POST",
        ORDER,
        _limit("BUY", "0.01", near + Decimal("0.005")),
        -1013,
        "Filter failure: PRICE_FILTER",
    )
    await _expect(tight, "POST", ORDER, _limit("BUY", "0.000015", near), -1013, "Filter failure: LOT_SIZE")
    await _expect(tight, "POST", ORDER, _limit("BUY", "0.00002", near), -1013, "Filter failure: NOTIONAL")
    far = (price * Decimal("0.1")).quantize(Decimal("0.01"))
    await _expect(
        tight, "POST", ORDER, _limit("BUY", "0.01", far), -1013, "Filter failure: PERCENT_PRICE_BY_SIDE"
    )
    market = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.6"}
    await _expect(tight, "POST", ORDER, market, -1013, "Filter failure: MARKET_LOT_SIZE")
    for _ in range(3):
        status, _, _ = await tight.request("POST", ORDER, _limit("BUY", "0.001", near), signed=True)
        assert status == 200
    await _expect(tight, "POST", ORDER, _limit("BUY", "0.001", near), -1013, "Filter failure: MAX_NUM_ORDERS")


async def test_legacy_min_notional(tight: SimulatorHandle) -> None:
    price = (await _price(tight, "ETHUSDT")).quantize(Decimal("0.01"))
    small = {
        "symbol": "ETHUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.0001",
        "price": str(price),
    }
    await _expect(tight, "POST", ORDER, small, -1013, "Filter failure: MIN_NOTIONAL")
    _, _, info = await tight.request("GET", "/api/v3/exchangeInfo", {"symbol": "ETHUSDT"})
    assert "MIN_NOTIONAL" in {f["filterType"] for f in info["symbols"][0]["filters"]}


async def test_max_algo_orders(tight: SimulatorHandle) -> None:
    price = await _price(tight)
    stop = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "STOP_LOSS",
        "quantity": "0.001",
        "stopPrice": str((price * Decimal("0.9")).quantize(Decimal("0.01"))),
    }
    status, _, body = await tight.request("POST", ORDER, stop, signed=True)
    assert status == 200, body
    await _expect(tight, "POST", ORDER, stop, -1013, "Filter failure: MAX_NUM_ALGO_ORDERS")


async def test_matching_engine_rejections(simulator: SimulatorHandle) -> None:
    price = await _price(simulator)
    below = (price * Decimal("0.99")).quantize(Decimal("0.01"))
    above = (price * Decimal("1.01")).quantize(Decimal("0.01"))
    insufficient = "Account has insufficient balance for requested action."
    await _expect(simulator, "POST", ORDER, _limit("BUY", "1", below), -2010, insufficient)
    await _expect(simulator, "POST", ORDER, _limit("SELL", "2", above), -2010, insufficient)
    maker = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT_MAKER",
        "quantity": "0.001",
        "price": str(above),
    }
    await _expect(simulator, "POST", ORDER, maker, -2010, "Order would immediately match and take.")
    stop = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "STOP_LOSS",
        "quantity": "0.001",
        "stopPrice": str(above),
    }
    await _expect(simulator, "POST", ORDER, stop, -2010, "Order would trigger immediately.")
    ok = _limit("BUY", "0.001", below, newClientOrderId="my-order-1")
    assert (await simulator.request("POST", ORDER, ok, signed=True))[0] == 200
    await _expect(simulator, "POST", ORDER, ok, -2010, "Duplicate order sent.")


async def test_unknown_orders_and_ids(simulator: SimulatorHandle) -> None:
    await _expect(
        simulator, "DELETE", ORDER, {"symbol": "BTCUSDT", "orderId": 99}, -2011, "Unknown order sent."
    )
    await _expect(
        simulator, "GET", ORDER, {"symbol": "BTCUSDT", "orderId": 99}, -2013, "Order does not exist."
    )
    await _expect(
        simulator,
        "GET",
        ORDER,
        {"symbol": "BTCUSDT"},
        -1102,
        "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    )
    await _expect(
        simulator, "DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"}, -2011, "Unknown order sent."
    )
    price = await _price(simulator)
    status, _, placed = await simulator.request(
        "POST", ORDER, _limit("BUY", "0.001", (price * Decimal("0.9")).quantize(Decimal("0.01"))), signed=True
    )
    assert status == 200
    await _expect(
        simulator,
        "GET",
        ORDER,
        {"symbol": "BTCUSDT", "orderId": placed["orderId"], "origClientOrderId": "other"},
        -2039,
        "Client order ID is not correct for this order ID.",
    )
    await _expect(
        simulator,
        "DELETE",
        "/api/v3/orderList",
        {"symbol": "BTCUSDT", "orderListId": 5},
        -2011,
        "Order list does not exist.",
    )
    await _expect(
        simulator, "GET", "/api/v3/orderList", {"orderListId": 5}, -2013, "Order list does not exist."
    )


async def test_parameter_errors(simulator: SimulatorHandle) -> None:
    await _expect(
        simulator,
        "GET",
        "/api/v3/ticker/price",
        {"symbol": "NOPEUSDT"},
        -1121,
        "Invalid symbol.",
        signed=False,
    )
    await _expect(
        simulator,
        "GET",
        "/api/v3/klines",
        {"symbol": "BTCUSDT", "interval": "2m"},
        -1120,
        "Invalid interval.",
        signed=False,
    )
    await _expect(
        simulator,
        "GET",
        "/api/v3/klines",
        {"symbol": "BTCUSDT", "interval": "1m", "limit": 1001},
        -1130,
        "Data sent for parameter 'limit' is not valid.",
        signed=False,
    )
    await _expect(
        simulator,
        "GET",
        "/api/v3/klines",
        {"symbol": "BTCUSDT"},
        -1102,
        "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.",
        signed=False,
    )
    await _expect(
        simulator,
        "GET",
        "/api/v3/depth",
        {"symbol": "BTCUSDT", "limit": "ten"},
        -1100,
        "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.",
        signed=False,
    )
    await _expect(
        simulator,
        "GET",
        "/api/v3/time",
        {"foo": "1"},
        -1104,
        "Not all sent parameters were read; read '0' parameter(s) but was sent '1'.",
        signed=False,
    )
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    await _expect(
        simulator, "POST", ORDER, {**market, "price": "1"}, -1106, "Parameter 'price' sent when not required."
    )
    await _expect(
        simulator,
        "POST",
        ORDER,
        {**market, "timeInForce": "GTC"},
        -1114,
        "TimeInForce parameter sent when not required.",
    )
    await _expect(
        simulator,
        "POST",
        ORDER,
        {**market, "quantity": "0.000000001"},
        -1111,
        "Parameter 'quantity' has too much precision.",
    )
    await _expect(simulator, "POST", ORDER, {**market, "type": "LIMITED"}, -1116, "Invalid orderType.")
    await _expect(simulator, "POST", ORDER, {**market, "side": "HOLD"}, -1117, "Invalid side.")
    await _expect(
        simulator,
        "POST",
        ORDER,
        _limit("BUY", "0.001", "1", timeInForce="DAY"),
        -1115,
        "Invalid timeInForce.",
    )
    await _expect(
        simulator,
        "POST",
        ORDER,
        {k: v for k, v in market.items() if k != "quantity"},
        -1102,
        "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
    )
    await _expect(
        simulator,
        "POST",
        ORDER,
        {**market, "newClientOrderId": "bad id!"},
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'.",
    )
    await _expect(
        simulator,
        "GET",
        "/api/v3/allOrders",
        {"symbol": "BTCUSDT", "startTime": 0, "endTime": 86_400_001},
        -1127,
        "More than 24 hours between startTime and endTime.",
    )


async def test_duplicate_parameter(simulator: SimulatorHandle) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{simulator.rest_url}/api/v3/depth?symbol=BTCUSDT&symbol=ETHUSDT") as resp,
    ):
        assert resp.status == 400
        assert await resp.json() == {"code": -1101, "msg": "Duplicate values for a parameter detected."}


async def test_oco_price_relations(simulator: SimulatorHandle) -> None:
    price = await _price(simulator)

    def oco(side: str, above_type: str, above: Decimal, below_type: str, below: Decimal) -> dict[str, Any]:
        params: dict[str, Any] = {
            "symbol": "BTCUSDT",
            "side": side,
            "quantity": "0.001",
            "aboveType": above_type,
            "belowType": below_type,
        }
        for prefix, kind, level in (("above", above_type, above), ("below", below_type, below)):
            if kind in ("STOP_LOSS", "TAKE_PROFIT"):
                params[f"{prefix}StopPrice"] = str(level)
            elif kind == "LIMIT_MAKER":
                params[f"{prefix}Price"] = str(level)
            else:
                params[f"{prefix}StopPrice"] = str(level)
                params[f"{prefix}Price"] = str(level)
                params[f"{prefix}TimeInForce"] = "GTC"
        return params

    up = (price * Decimal("1.05")).quantize(Decimal("0.01"))
    down = (price * Decimal("0.95")).quantize(Decimal("0.01"))
    path = "/api/v3/orderList/oco"
    await _expect(
        simulator,
        "POST",
        path,
        oco("SELL", "LIMIT_MAKER", down, "STOP_LOSS", (down * Decimal("0.9")).quantize(Decimal("0.01"))),
        -1166,
        "A limit order in a sell OCO must be above.",
    )
    await _expect(
        simulator,
        "POST",
        path,
        oco("SELL", "LIMIT_MAKER", up, "STOP_LOSS", up - Decimal("1")),
        -1197,
        "A stop loss order in a sell OCO must be below.",
    )
    await _expect(
        simulator,
        "POST",
        path,
        oco("BUY", "STOP_LOSS", down, "LIMIT_MAKER", (down * Decimal("0.9")).quantize(Decimal("0.01"))),
        -1196,
        "A stop loss order in a buy OCO must be above.",
    )
    await _expect(
        simulator,
        "POST",
        path,
        oco("BUY", "STOP_LOSS", up, "LIMIT_MAKER", up - Decimal("1")),
        -1165,
        "A limit order in a buy OCO must be below.",
    )
    await _expect(
        simulator,
        "POST",
        path,
        oco("SELL", "LIMIT_MAKER", up, "LIMIT_MAKER", down),
        -1168,
        "At least one OCO order must be contingent.",
    )
    await _expect(
        simulator,
        "POST",
        path,
        {**oco("SELL", "LIMIT_MAKER", up, "STOP_LOSS", down), "belowType": "MARKET"},
        -1158,
        "Order type not supported in OCO.",
    )


async def test_authentication_and_timing(simulator: SimulatorHandle) -> None:
    status, _, body = await simulator.request("GET", "/api/v3/account", signed=True, api_key="unknown-key")
    assert (status, body) == (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
    async with aiohttp.ClientSession() as session:
        query = simulator.signed_query({})
        async with session.get(f"{simulator.rest_url}/api/v3/account?{query}") as resp:
            assert resp.status == 401
            assert await resp.json() == {"code": -2014, "msg": "API-key format invalid."}
        headers = {"X-MBX-APIKEY": simulator.api_key}
        async with session.get(
            f"{simulator.rest_url}/api/v3/account?recvWindow=5000", headers=headers
        ) as resp:
            assert await resp.json() == {
                "code": -1102,
                "msg": "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
            }
        stale = simulator.signed_query({"timestamp": int(time.time() * 1000) - 10_000})
        async with session.get(f"{simulator.rest_url}/api/v3/account?{stale}", headers=headers) as resp:
            assert resp.status == 400
            assert await resp.json() == {
                "code": -1021,
                "msg": "Timestamp for this request is outside of the recvWindow.",
            }
        ahead = simulator.signed_query({"timestamp": int(time.time() * 1000) + 5_000})
        async with session.get(f"{simulator.rest_url}/api/v3/account?{ahead}", headers=headers) as resp:
            assert await resp.json() == {
                "code": -1021,
                "msg": "Timestamp for this request was 1000ms ahead of the server's time.",
            }
        widened = simulator.signed_query(
            {"timestamp": int(time.time() * 1000) - 10_000, "recvWindow": 60_000}
        )
        async with session.get(f"{simulator.rest_url}/api/v3/account?{widened}", headers=headers) as resp:
            assert resp.status == 200
        tampered = simulator.signed_query({"omitZeroBalances": "true"}).replace("true", "false")
        async with session.get(f"{simulator.rest_url}/api/v3/account?{tampered}", headers=headers) as resp:
            assert await resp.json() == {"code": -1022, "msg": "Signature for this request is not valid."}


async def test_listen_key_endpoints_are_gone(simulator: SimulatorHandle) -> None:
    status, _, body = await simulator.request("POST", "/api/v3/userDataStream")
    assert status == 410
    assert "userDataStream.subscribe.signature" in body["msg"]
    status, _, _ = await simulator.request("GET", "/api/v3/nothingHere")
    assert status == 404
