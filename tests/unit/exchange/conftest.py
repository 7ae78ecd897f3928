"""Fixtures for the connector's unit tests: a scriptable Binance look-alike on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.unit.exchange.fakebinance import FakeBinance, make_rest

from binance_bot.exchange.binance.client import BinanceExchangeClient
from binance_bot.exchange.binance.rest import BinanceRestClient


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    server = FakeBinance()
    server.url = await server.start()  # type: ignore[attr-defined]
    yield server
    await server.close()


@pytest.fixture
async def rest(fake: FakeBinance) -> AsyncIterator[BinanceRestClient]:
    client = make_rest(fake)
    await client.start()
    yield client
    await client.close()


@pytest.fixture
async def client(fake: FakeBinance) -> AsyncIterator[BinanceExchangeClient]:
    c = BinanceExchangeClient(make_rest(fake), lookup_delay=0.01)
    await c.start()
    yield c
    await c.close()
