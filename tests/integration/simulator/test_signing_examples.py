"""Binance's documented signed requests, sent byte for byte, accepted at their own timestamp."""

from __future__ import annotations

import time
from decimal import Decimal

import aiohttp
import pytest
from tests.integration.conftest import WARMUP_BARS, SimulatorFactory, SimulatorHandle, default_config
from yarl import URL

from binance_bot.model import SymbolRules
from binance_bot.simulator import AccountSpec, MarketSpec

DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_TIMESTAMP = 1499827319559
LTCBTC = SymbolRules(
    symbol="LTCBTC",
    base_asset="LTC",
    quote_asset="BTC",
    min_price=Decimal("0.000001"),
    max_price=Decimal("1000"),
    tick_size=Decimal("0.000001"),
    min_qty=Decimal("0.01"),
    max_qty=Decimal("100000"),
    step_size=Decimal("0.01"),
    market_max_qty=Decimal("100000"),
    min_notional=Decimal("0.0001"),
)


@pytest.fixture
async def doc_simulator(simulator_factory: SimulatorFactory) -> SimulatorHandle:
    base = default_config()
    sim = await simulator_factory(
        market=MarketSpec(symbols=("BTCUSDT", "LTCBTC"), warmup_bars=WARMUP_BARS, rules={"LTCBTC": LTCBTC}),
        accounts=(*base.accounts, AccountSpec(DOC_KEY, DOC_SECRET, {"BTC": Decimal(5)})),
    )
    # the server's time a second after the example's timestamp (recvWindow is 5000)
    sim.set_faults(clock_skew_ms=DOC_TIMESTAMP + 1000 - int(time.time() * 1000))
    return sim


async def _post(sim: SimulatorHandle, query: str, body: str = "") -> tuple[int, dict[str, object]]:
    headers = {"X-MBX-APIKEY": DOC_KEY}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            URL(f"{sim.rest_url}/api/v3/order?{query}", encoded=True), data=body.encode(), headers=headers
        ) as resp,
    ):
        return resp.status, await resp.json()


async def test_example_1_signed_query(doc_simulator: SimulatorHandle) -> None:
    query = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )
    status, body = await _post(doc_simulator, query)
    assert status == 200, body
    assert (body["symbol"], body["side"], body["origQty"]) == ("LTCBTC", "BUY", "1.00000000")


async def test_example_2_percent_encoded_symbol_passes_the_signature(doc_simulator: SimulatorHandle) -> None:
    query = (
        "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT&timeInForce=GTC"
        "&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        "&signature=e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"
    )
    status, body = await _post(doc_simulator, query)
    assert (status, body) == (400, {"code": -1121, "msg": "Invalid symbol."})  # signed right, no such symbol


async def test_example_3_query_and_body(doc_simulator: SimulatorHandle) -> None:
    status, body = await _post(
        doc_simulator,
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
        "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        "&signature=0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77",
    )
    assert status == 200, body
    assert body["price"] == "0.10000000"
    status, body = await _post(
        doc_simulator,
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
        "quantity=2&price=0.1&recvWindow=5000&timestamp=1499827319559"
        "&signature=0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77",
    )
    assert (status, body) == (400, {"code": -1022, "msg": "Signature for this request is not valid."})
