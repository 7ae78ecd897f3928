"""python-binance, an independent Binance client, trading against the simulator over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException
from tests.integration.conftest import SimulatorFactory, SimulatorHandle


async def _client(handle: SimulatorHandle) -> AsyncClient:
    """AsyncClient 1.0.37 has no base-URL argument; its URL attributes are public."""
    client = AsyncClient(handle.api_key, handle.api_secret)
    client.API_URL = f"{handle.rest_url}/api"
    client.MARGIN_API_URL = f"{handle.rest_url}/sapi"
    return client


@pytest.fixture
async def client(simulator: SimulatorHandle) -> AsyncIterator[AsyncClient]:
    c = await _client(simulator)
    yield c
    await c.close_connection()


async def test_reads_exchange_info_klines_and_account(
    simulator: SimulatorHandle, client: AsyncClient
) -> None:
    server = await client.get_server_time()
    assert abs(server["serverTime"] - simulator.core.protocol_clock.now_ms()) < 5_000
    info = await client.get_exchange_info()
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    btc = info["symbols"][0]
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert {r["rateLimitType"] for r in info["rateLimits"]} == {"REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS"}
    assert (await client.get_symbol_info("ETHUSDT"))["baseAsset"] == "ETH"

    klines = await client.get_klines(symbol="BTCUSDT", interval="1m", limit=10)
    assert len(klines) == 10
    now = simulator.market_time
    assert klines[-1][0] == now  # the current bar, just opened
    assert all(k[0] <= now for k in klines)
    assert [k[0] for k in klines] == list(range(now - 9 * 60_000, now + 1, 60_000))

    account = await client.get_account()
    balances = {b["asset"]: b for b in account["balances"]}
    assert balances["USDT"]["free"] == "10000.00000000"
    assert balances["BTC"]["free"] == "1.00000000"
    assert account["canTrade"] is True


async def test_limit_order_place_query_cancel(simulator: SimulatorHandle, client: AsyncClient) -> None:
    price = Decimal((await client.get_symbol_ticker(symbol="BTCUSDT"))["price"])
    limit = (price * Decimal("0.9")).quantize(Decimal("0.01"))
    placed = await client.order_limit_buy(symbol="BTCUSDT", quantity="0.01", price=str(limit))
    assert placed["status"] == "NEW"
    assert placed["fills"] == []
    queried = await client.get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert queried["status"] == "NEW"
    assert queried["clientOrderId"] == placed["clientOrderId"]
    assert Decimal(queried["price"]) == limit
    open_orders = await client.get_open_orders(symbol="BTCUSDT")
    assert [o["orderId"] for o in open_orders] == [placed["orderId"]]
    usdt = await client.get_asset_balance(asset="USDT")
    assert Decimal(usdt["locked"]) == limit * Decimal("0.01")

    canceled = await client.cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert canceled["status"] == "CANCELED"
    assert canceled["origClientOrderId"] == placed["clientOrderId"]
    assert await client.get_open_orders(symbol="BTCUSDT") == []
    usdt = await client.get_asset_balance(asset="USDT")
    assert Decimal(usdt["locked"]) == 0
    assert Decimal(usdt["free"]) == Decimal("10000")
    with pytest.raises(BinanceAPIException) as again:
        await client.cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert (again.value.code, again.value.message) == (-2011, "Unknown order sent.")


async def test_market_order_fills_on_the_next_price_event(
    simulator: SimulatorHandle, client: AsyncClient
) -> None:
    placed = await client.order_market_buy(symbol="BTCUSDT", quantity="0.002")
    assert placed["status"] == "NEW"  # stepped clock: the next price event comes with advance()
    await simulator.advance(bars=1)
    filled = await client.get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert filled["status"] == "FILLED"
    assert filled["executedQty"] == "0.00200000"
    trades = await client.get_my_trades(symbol="BTCUSDT")
    assert len(trades) == 1
    assert trades[0]["orderId"] == placed["orderId"]
    assert trades[0]["commissionAsset"] == "BTC"
    assert trades[0]["isMaker"] is False
    btc = await client.get_asset_balance(asset="BTC")
    assert Decimal(btc["free"]) == Decimal("1") + Decimal("0.002") - Decimal(trades[0]["commission"])

    queued = await client.order_market_buy(symbol="BTCUSDT", quantity="0.001")
    canceled = await client.cancel_order(symbol="BTCUSDT", orderId=queued["orderId"])
    assert canceled["status"] == "CANCELED"  # a MARKET order waits for the next price event
    usdt = await client.get_asset_balance(asset="USDT")
    assert Decimal(usdt["locked"]) == 0

    sold = await client.order_market_sell(symbol="BTCUSDT", quoteOrderQty="50")
    await simulator.advance(bars=1)
    sold = await client.get_order(symbol="BTCUSDT", orderId=sold["orderId"])
    assert sold["status"] == "FILLED"
    assert Decimal(sold["cummulativeQuoteQty"]) <= Decimal("50")


async def test_oco_lists_and_cancels_as_one(simulator: SimulatorHandle, client: AsyncClient) -> None:
    price = Decimal((await client.get_symbol_ticker(symbol="BTCUSDT"))["price"])
    above = (price * Decimal("1.05")).quantize(Decimal("0.01"))
    stop = (price * Decimal("0.95")).quantize(Decimal("0.01"))
    stop_limit = (price * Decimal("0.94")).quantize(Decimal("0.01"))
    oco = await client.create_oco_order(
        symbol="BTCUSDT",
        side="SELL",
        quantity="0.1",
        aboveType="LIMIT_MAKER",
        abovePrice=str(above),
        belowType="STOP_LOSS_LIMIT",
        belowStopPrice=str(stop),
        belowPrice=str(stop_limit),
        belowTimeInForce="GTC",
    )
    assert oco["contingencyType"] == "OCO"
    assert (oco["listStatusType"], oco["listOrderStatus"]) == ("EXEC_STARTED", "EXECUTING")
    reports = {r["type"]: r for r in oco["orderReports"]}
    assert set(reports) == {"LIMIT_MAKER", "STOP_LOSS_LIMIT"}
    assert reports["STOP_LOSS_LIMIT"]["workingTime"] == -1
    btc = await client.get_asset_balance(asset="BTC")
    assert Decimal(btc["locked"]) == Decimal("0.1")  # one lock for both legs

    leg = oco["orders"][0]["orderId"]
    await client.cancel_order(symbol="BTCUSDT", orderId=leg)
    statuses = {o["orderId"]: o["status"] for o in await client.get_all_orders(symbol="BTCUSDT")}
    assert set(statuses.values()) == {"CANCELED"}
    assert len(statuses) == 2
    btc = await client.get_asset_balance(asset="BTC")
    assert Decimal(btc["locked"]) == 0


async def test_legacy_oco_endpoint_and_test_order(simulator: SimulatorHandle, client: AsyncClient) -> None:
    price = Decimal((await client.get_symbol_ticker(symbol="ETHUSDT"))["price"])
    legacy = await client._post(
        "order/oco",
        True,
        data={
            "symbol": "ETHUSDT",
            "side": "SELL",
            "quantity": "1",
            "price": str((price * Decimal("1.1")).quantize(Decimal("0.01"))),
            "stopPrice": str((price * Decimal("0.9")).quantize(Decimal("0.01"))),
        },
    )
    types = sorted(r["type"] for r in legacy["orderReports"])
    assert types == ["LIMIT_MAKER", "STOP_LOSS"]
    assert await client.create_test_order(symbol="ETHUSDT", side="BUY", type="MARKET", quantity="0.01") == {}
    rates = await client.create_test_order(
        symbol="ETHUSDT", side="BUY", type="MARKET", quantity="0.01", computeCommissionRates="true"
    )
    assert rates["standardCommissionForOrder"] == {"maker": "0.00100000", "taker": "0.00100000"}
    with pytest.raises(BinanceAPIException) as funds:
        await client.create_test_order(symbol="ETHUSDT", side="BUY", type="MARKET", quantity="900")
    assert funds.value.code == -2010


async def test_api_restrictions_report_the_withdrawal_flag(simulator_factory: SimulatorFactory) -> None:
    from dataclasses import replace

    from tests.integration.conftest import default_config

    base = default_config()
    risky = await simulator_factory(accounts=(replace(base.accounts[0], enable_withdrawals=True),))
    client = await _client(risky)
    try:
        restrictions = await client.get_account_api_permissions()
        assert restrictions["enableWithdrawals"] is True
        assert restrictions["ipRestrict"] is True
        account = await client.get_account()
        assert account["canWithdraw"] is True
    finally:
        await client.close_connection()


async def test_wrong_secret_is_refused(simulator: SimulatorHandle) -> None:
    client = AsyncClient(simulator.api_key, "not-the-secret")
    client.API_URL = f"{simulator.rest_url}/api"
    try:
        with pytest.raises(BinanceAPIException) as bad:
            await client.get_account()
        assert (bad.value.code, bad.value.message) == (-1022, "Signature for this request is not valid.")
        assert bad.value.status_code == 400
    finally:
        await client.close_connection()
