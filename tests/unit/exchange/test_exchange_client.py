"""The ExchangeClient adapter: model types, local pre-checks, no doubled orders, key safety."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from tests.unit.exchange.fakebinance import FAST, FakeBinance, Fault, make_rest

from binance_bot.engine.ports import ExchangeClient
from binance_bot.errors import ConfigError, OrderRejected, TemporaryExchangeError, UnknownOrder
from binance_bot.exchange.binance.breaker import CircuitOpen
from binance_bot.exchange.binance.client import BinanceExchangeClient
from binance_bot.model import Bar, OrderRequest, OrderStatus, OrderType, Side

ORDER = ("POST", "/api/v3/order")


def limit(cid: str, qty: str = "0.01", price: str = "29000.00", side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest("BTCUSDT", side, OrderType.LIMIT, cid, Decimal(qty), Decimal(price))


def market(cid: str, qty: str = "0.01") -> OrderRequest:
    return OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, cid, Decimal(qty))


async def test_satisfies_the_port(client: BinanceExchangeClient) -> None:
    assert isinstance(client, ExchangeClient)


async def test_market_data_in_model_types(client: BinanceExchangeClient, fake: FakeBinance) -> None:
    now = fake.now_ms()
    base = now - now % 60_000 - 3 * 60_000
    fake.bars = [
        Bar(
            "BTCUSDT",
            "1m",
            base + i * 60_000,
            base + i * 60_000 + 59_999,
            *(Decimal(100 + i),) * 4,
            Decimal(1),
        )
        for i in range(4)  # the fourth is the bar in progress
    ]
    bars = await client.klines("BTCUSDT", "1m", start_time=base, limit=10)
    assert bars[:3] == fake.bars[:3] and all(b.closed for b in bars[:3])
    assert bars[3] == dataclasses.replace(fake.bars[3], closed=False)
    recent = await client.klines("BTCUSDT", "1m", limit=2)
    assert [b.closed for b in recent] == [True, False]
    bounded = await client.klines("BTCUSDT", "1m", start_time=base, end_time=base + 60_000, limit=10)
    assert [b.closed for b in bounded] == [True, True]
    assert await client.ticker_price("BTCUSDT") == Decimal("30000")
    bt = await client.book_ticker("BTCUSDT")
    assert bt.bid_price < bt.ask_price
    assert await client.avg_price("BTCUSDT") == Decimal("30000")
    book = await client.order_book("BTCUSDT", 5)
    assert book.best_bid == Decimal("29999") and book.best_ask == Decimal("30001")
    rules = await client.exchange_info()
    assert rules["BTCUSDT"].tick_size == Decimal("0.01")
    assert abs(await client.server_time() - fake.now_ms()) < 1000


async def test_ticker_prices_batches_what_the_cache_lacks(
    client: BinanceExchangeClient, fake: FakeBinance
) -> None:
    await client.ticker_price("BTCUSDT")
    prices = await client.ticker_prices(["BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT"])
    assert set(prices) == {"BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT"}
    batched = [q for m, p, q, _ in fake.log if p == "/api/v3/ticker/price" and "symbols=" in q]
    assert len(batched) == 1 and "BTCUSDT" not in batched[0]
    before = fake.count("GET", "/api/v3/ticker/price")
    await client.ticker_prices(["ETHUSDT", "XRPUSDT"])  # now cached
    assert fake.count("GET", "/api/v3/ticker/price") == before


async def test_place_query_cancel(client: BinanceExchangeClient, fake: FakeBinance) -> None:
    order = await client.place_order(limit("c-1"))
    assert order.status is OrderStatus.NEW and order.price == Decimal("29000")
    assert (await client.get_order("BTCUSDT", client_order_id="c-1")).order_id == order.order_id
    assert [o.client_order_id for o in await client.open_orders("BTCUSDT")] == ["c-1"]
    canceled = await client.cancel_order("BTCUSDT", client_order_id="c-1")
    assert canceled.status is OrderStatus.CANCELED and canceled.client_order_id == "c-1"
    with pytest.raises(UnknownOrder):
        await client.get_order("BTCUSDT", client_order_id="nope")
    filled = await client.place_order(market("c-2"))
    assert filled.status is OrderStatus.FILLED and filled.fills[0].price == Decimal("30000")
    trades = await client.my_trades("BTCUSDT")
    assert [t.order_id for t in trades] == [filled.order_id]
    (usdt,) = await client.balances()
    assert usdt.free == Decimal("1000.5")


@pytest.mark.parametrize(
    ("request_", "filter_name", "detail"),
    [
        (limit("r-1", qty="0.000001"), "LOT_SIZE", "below minQty 0.00001 by 0.000009"),
        (limit("r-2", qty="0.000015"), "LOT_SIZE", "not a multiple of stepSize 0.00001"),
        (limit("r-3", price="29000.005"), "PRICE_FILTER", "not a multiple of tickSize 0.01"),
        (limit("r-4", qty="0.0001", price="29000"), "NOTIONAL", "below minNotional 5 by 2.1"),
        (market("r-5", qty="0.0001"), "NOTIONAL", "below minNotional 5 by 2"),
        (limit("r-6", price="200000"), "PERCENT_PRICE_BY_SIDE", "outside"),
    ],
)
async def test_local_rejection_names_the_filter_and_the_miss(
    client: BinanceExchangeClient, fake: FakeBinance, request_: OrderRequest, filter_name: str, detail: str
) -> None:
    with pytest.raises(OrderRejected) as err:
        await client.place_order(request_)
    assert err.value.filter_name == filter_name
    assert detail in str(err.value) and filter_name in str(err.value)
    assert fake.count(*ORDER) == 0
    assert client.metrics()["local_rejections"] == 1


async def test_unknown_symbol_is_an_error(client: BinanceExchangeClient, fake: FakeBinance) -> None:
    fake.info = {**fake.info, "symbols": []}
    with pytest.raises(Exception, match="no symbol NOPEUSDT"):
        await client.place_order(OrderRequest("NOPEUSDT", Side.BUY, OrderType.MARKET, "u-1", Decimal(1)))


async def test_timeout_after_the_order_landed_returns_it_without_resending(
    fake: FakeBinance,
) -> None:
    c = BinanceExchangeClient(
        make_rest(fake, dataclasses.replace(FAST, timeout_seconds=0.3)), lookup_delay=0.01
    )
    await c.start()
    try:
        fake.fail(*ORDER, Fault(200, {}, delay=1.0, process_first=True))
        order = await c.place_order(market("t-1"))
        assert order.client_order_id == "t-1" and order.status is OrderStatus.FILLED
        assert fake.count(*ORDER) == 1
        assert len([o for o in fake.orders.values() if o.client_order_id == "t-1"]) == 1
        assert len(fake.fills) == 1
        assert c.metrics()["recovered_placements"] == 1
    finally:
        await c.close()


async def test_5xx_before_landing_looks_up_then_sends_again_once(
    client: BinanceExchangeClient, fake: FakeBinance
) -> None:
    fake.fail(*ORDER, Fault(503, {"code": -1001, "msg": "Internal error; unable to process your request."}))
    order = await client.place_order(market("t-2"))
    assert order.status is OrderStatus.FILLED
    assert fake.count(*ORDER) == 2
    assert fake.count("GET", "/api/v3/order") == client.lookup_attempts
    assert len(fake.fills) == 1
    assert client.metrics()["resent_placements"] == 1


async def test_5xx_after_landing_is_found_by_lookup(client: BinanceExchangeClient, fake: FakeBinance) -> None:
    fake.fail(*ORDER, Fault(500, {"code": -1007, "msg": "Timeout waiting for response"}, process_first=True))
    order = await client.place_order(limit("t-3"))
    assert order.status is OrderStatus.NEW
    assert fake.count(*ORDER) == 1 and len(fake.orders) == 1


async def test_outcome_unknown_when_the_lookup_fails_too(
    client: BinanceExchangeClient, fake: FakeBinance
) -> None:
    fake.fail(*ORDER, Fault(503))
    fake.fail("GET", "/api/v3/order", *[Fault(503) for _ in range(4)])
    with pytest.raises(TemporaryExchangeError, match="reconcile by client order id"):
        await client.place_order(market("t-4"))
    assert fake.count(*ORDER) == 1


async def test_withdraw_enabled_key_blocks_trading(fake: FakeBinance) -> None:
    fake.withdrawals_enabled = True
    c = BinanceExchangeClient(make_rest(fake), check_key_permissions=True)
    await c.start()
    try:
        assert c.trading_blocked and "withdrawals enabled" in c.trading_blocked
        with pytest.raises(ConfigError, match="withdrawals enabled") as err:
            await c.place_order(market("k-1"))
        assert err.value.key == "api.allow_withdraw_enabled_key"
        assert fake.count(*ORDER) == 0
        assert await c.ticker_price("BTCUSDT") > 0  # reading is still fine
    finally:
        await c.close()


async def test_withdraw_enabled_key_with_explicit_override(fake: FakeBinance) -> None:
    fake.withdrawals_enabled = True
    c = BinanceExchangeClient(make_rest(fake), check_key_permissions=True, allow_withdraw_enabled_key=True)
    await c.start()
    try:
        assert c.trading_blocked is None
        assert (await c.place_order(market("k-2"))).status is OrderStatus.FILLED
    finally:
        await c.close()


async def test_trade_only_key_may_trade(fake: FakeBinance) -> None:
    c = BinanceExchangeClient(make_rest(fake), check_key_permissions=True)
    await c.start()
    try:
        assert c.trading_blocked is None
        assert fake.count("GET", "/sapi/v1/account/apiRestrictions") == 1
    finally:
        await c.close()


async def test_open_trade_circuit_refuses_without_lookups(
    client: BinanceExchangeClient, fake: FakeBinance
) -> None:
    fake.fail(*ORDER, *[Fault(502) for _ in range(3)])
    for i in range(3):
        with pytest.raises(TemporaryExchangeError):
            await client.place_order(market(f"b-{i}"))
    assert client.metrics()["breakers"]["trade"] == "open"
    lookups = fake.count("GET", "/api/v3/order")
    with pytest.raises(CircuitOpen):
        await client.place_order(market("b-9"))
    assert fake.count("GET", "/api/v3/order") == lookups
    assert fake.count(*ORDER) == 3


async def test_duplicate_client_id_returns_the_order_that_landed(
    client: BinanceExchangeClient, fake: FakeBinance
) -> None:
    first = await client.place_order(limit("d-1"))
    again = await client.place_order(limit("d-1"))  # e.g. resent after a restart
    assert again.order_id == first.order_id and len(fake.orders) == 1
    with pytest.raises(OrderRejected, match="Duplicate order"):
        await client.place_order(limit("d-1", price="28000.00"))  # same id, different intent
