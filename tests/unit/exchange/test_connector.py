"""The design documents' facade: ``async with BinanceConnector(...) as c`` end to end."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.unit.exchange.fakebinance import API_KEY, API_SECRET, FAST, FakeBinance

from binance_bot.config import ApiConfig, BotConfig, PerformanceConfig
from binance_bot.errors import ConfigError, OrderRejected
from binance_bot.exchange import BinanceConnector
from binance_bot.exchange.binance import LIVE, TESTNET
from binance_bot.model import OrderStatus, OrderType, Side

PACKAGE = Path(__file__).resolve().parents[3] / "src" / "binance_bot"


def connector(fake: FakeBinance) -> BinanceConnector:
    return BinanceConnector(API_KEY, API_SECRET, base_url=fake.url, settings=FAST)  # type: ignore[attr-defined]


async def test_design_document_usage(fake: FakeBinance) -> None:
    async with connector(fake) as c:
        assert await c.get_price("BTCUSDT") == Decimal("30000")
        prices = await c.get_prices(["BTCUSDT", "ETHUSDT", "BNBUSDT"])
        assert prices == dict.fromkeys(["BTCUSDT", "ETHUSDT", "BNBUSDT"], Decimal("30000"))
        assert await c.get_klines("BTCUSDT", "1h", limit=10) == []
        book = await c.get_order_book("BTCUSDT", limit=10)
        assert book.best_bid is not None and book.best_bid < (book.best_ask or 0)
        order = await c.place_limit_order("BTCUSDT", "buy", "0.0123456", 29000.129)
        assert (order.orig_qty, order.price, order.side) == (
            Decimal("0.01234"),
            Decimal("29000.12"),
            Side.BUY,
        )
        sell = await c.place_limit_order("BTCUSDT", Side.SELL, Decimal("0.01"), "31000.001")
        assert sell.price == Decimal("31000.01")  # a sell never asks less than given
        assert {o.order_id for o in await c.get_open_orders("BTCUSDT")} == {order.order_id, sell.order_id}
        assert (await c.get_order("BTCUSDT", order.order_id, client_order_id=order.client_order_id)).is_open
        canceled = await c.cancel_order("BTCUSDT", client_order_id=order.client_order_id)
        assert canceled.status is OrderStatus.CANCELED
        filled = await c.place_market_order("BTCUSDT", "BUY", "0.001")
        assert filled.status is OrderStatus.FILLED and filled.executed_qty == Decimal("0.001")
        balances = await c.get_balances()
        assert balances["USDT"].free == Decimal("1000.5")
        m = c.metrics()
    for key in ("requests", "errors", "latency_ms", "cache_hit_rate", "weight_used", "breakers"):
        assert key in m
    assert set(m["latency_ms"]) == {"avg", "p50", "p99"}
    assert m["breakers"] == {"market": "closed", "account": "closed", "trade": "closed"}
    assert m["requests"] >= 10 and 0 < m["cache_hit_rate"] < 1


async def test_oco_prices_round_toward_safety(fake: FakeBinance) -> None:
    async with connector(fake) as c:
        ol = await c.place_oco("BTCUSDT", "SELL", "0.010009", "33000.001", "28000.001", "27900.001")
        assert ol.list_order_status == "EXECUTING"
        by_type = {o.type: o for o in ol.orders}
        assert by_type[OrderType.LIMIT_MAKER].price == Decimal("33000.01")
        stop = by_type[OrderType.STOP_LOSS_LIMIT]
        assert (stop.stop_price, stop.price, stop.orig_qty) == (
            Decimal("28000.01"),
            Decimal("27900.01"),
            Decimal("0.01"),
        )
        params = dict(p.split("=") for p in fake.log[-1][2].split("&"))
        assert params["aboveType"] == "LIMIT_MAKER" and params["belowType"] == "STOP_LOSS_LIMIT"


async def test_market_order_by_quote_amount_and_argument_checks(fake: FakeBinance) -> None:
    async with connector(fake) as c:
        with pytest.raises(ValueError, match="exactly one"):
            await c.place_market_order("BTCUSDT", "BUY")
        with pytest.raises(ValueError, match="BUY or SELL"):
            await c.place_market_order("BTCUSDT", "HOLD", "1")
        with pytest.raises(OrderRejected, match="LOT_SIZE"):
            await c.place_limit_order("BTCUSDT", "BUY", "0.000001", "30000")  # rounds to 0
        await c.place_market_order("BTCUSDT", "BUY", quote_qty="12.3456789123")
        query = fake.log[-1][2]
        assert "quoteOrderQty=12.34567891&" in query and "quantity" not in query


async def test_from_config(fake: FakeBinance) -> None:
    cfg = BotConfig(
        api=ApiConfig(api_key=SecretStr(API_KEY), api_secret=SecretStr(API_SECRET), base_url=fake.url),  # type: ignore[attr-defined]
        performance=PerformanceConfig(connection_pool_size=7, cache_ttl_seconds=5),
    )
    c = BinanceConnector.from_config(cfg, settings=FAST)
    assert c.endpoints.name == "local" and c.endpoints.rest == fake.url  # type: ignore[attr-defined]
    async with c:
        assert await c.get_price("BTCUSDT") > 0
    d = BinanceConnector.from_config(cfg)
    assert d.settings.pool_size == 7 and d.settings.cache_ttl == 5


def test_environments() -> None:
    assert BinanceConnector().endpoints == LIVE
    assert BinanceConnector(testnet=True).endpoints == TESTNET
    local = BinanceConnector(base_url="http://127.0.0.1:8900/api/").endpoints
    assert (local.rest, local.stream, local.ws_api) == (
        "http://127.0.0.1:8900",
        "ws://127.0.0.1:8900",
        "ws://127.0.0.1:8900/ws-api/v3",
    )
    assert not TESTNET.has_sapi and LIVE.is_live
    with pytest.raises(ConfigError):
        BinanceConnector(base_url="ftp://x")
    with pytest.raises(ConfigError, match="user data stream"):
        BinanceConnector(testnet=True).user_stream()


def test_no_withdrawal_endpoint_exists_anywhere_in_the_package() -> None:
    allowed = {"/sapi/v1/account/apiRestrictions"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        for m in re.finditer(r"/(?:sapi|wapi)/[A-Za-z0-9/_.\-]+", text):
            if m.group(0) not in allowed:
                offenders.append(f"{path.relative_to(PACKAGE)}: {m.group(0)}")
        for m in re.finditer(r"withdraw(?:/apply|\.html|/history)|capital/withdraw", text, re.IGNORECASE):
            offenders.append(f"{path.relative_to(PACKAGE)}: {m.group(0)}")
    assert offenders == []
