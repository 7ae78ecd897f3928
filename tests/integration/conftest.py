"""Shared fixtures for integration tests: the local exchange simulator, in process, on loopback.

``simulator`` (async, one per test) starts :class:`binance_bot.simulator.Simulator` on
127.0.0.1 with a free port and the **stepped** market clock, so nothing moves unless the
test says so and every run is identical:

* market: the seeded synthetic BTCUSDT and ETHUSDT, 1m bars, 300 bars of history before the
  start (2024-01-01 05:00 UTC), filters from ``binance_bot.data.default_symbol_rules``;
* one account: ``api_key``/``api_secret`` below, balances USDT=10000, BTC=1, ETH=10;
* fees 0.1 %, slippage 5 bps (the fill model's defaults).

The yielded :class:`SimulatorHandle` has the URLs (``rest_url`` without ``/api``,
``stream_url`` for ``/ws`` and ``/stream``, ``ws_api_url``), the credentials, and helpers::

    async def test_x(simulator):
        client = MyClient(simulator.rest_url, simulator.api_key, simulator.api_secret)
        await simulator.advance(bars=1)      # or to_ms=..., seconds=...
        simulator.set_faults(server_error_rate=1.0, server_error_phase="after")
        simulator.clear_faults()
        simulator.deposit("USDT", "500")
        status, headers, body = await simulator.request("GET", "/api/v3/account", signed=True)

Clock rules (see docs/simulator.md): the *protocol* clock (``GET /api/v3/time``, timestamp and
recvWindow checks) is wall time plus any injected ``clock_skew_ms``; the *market* clock (bar
times, fills, ``transactTime``) only moves on ``advance``. A MARKET order in the stepped
clock is accepted NEW and fills at the next price event, i.e. on the next ``advance``.

``simulator_factory`` builds simulators with other settings (limits, accounts, data):
``await simulator_factory(limits=LimitSettings(request_weight_per_minute=50))``.
``replay_simulator`` replays the real candles of ``<repo>/../shared/data/binance`` (BTCUSDT
and ETHUSDT 1m) and skips, saying why, when that folder is absent.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from yarl import URL

from binance_bot.simulator import (
    AccountSpec,
    FaultSettings,
    MarketSpec,
    Simulator,
    SimulatorConfig,
)
from binance_bot.simulator.core import SimulatorCore

API_KEY = "sim-test-key-0123456789abcdef"
API_SECRET = "sim-test-secret-0123456789abcdef"
BALANCES = {"USDT": Decimal("10000"), "BTC": Decimal("1"), "ETH": Decimal("10")}
SYMBOLS = ("BTCUSDT", "ETHUSDT")
WARMUP_BARS = 300
SHARED_DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "binance").resolve()


def default_config(**changes: Any) -> SimulatorConfig:
    """The fixture's configuration; keyword arguments replace its fields."""
    config = SimulatorConfig(
        market=MarketSpec(symbols=SYMBOLS, interval="1m", warmup_bars=WARMUP_BARS),
        accounts=(AccountSpec(API_KEY, API_SECRET, BALANCES),),
        speed=None,
    )
    return replace(config, **changes)


@dataclass
class SimulatorHandle:
    """A started simulator and what a test needs to talk to it."""

    sim: Simulator
    api_key: str = API_KEY
    api_secret: str = API_SECRET
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)

    @property
    def rest_url(self) -> str:
        return self.sim.urls.rest

    @property
    def stream_url(self) -> str:
        return self.sim.urls.stream

    @property
    def ws_api_url(self) -> str:
        return self.sim.urls.ws_api

    @property
    def admin_url(self) -> str:
        return self.sim.urls.admin

    @property
    def core(self) -> SimulatorCore:
        """The server's state (engine, market, limiter): for assertions, not for driving it."""
        return self.sim.core

    @property
    def market_time(self) -> int:
        return self.sim.core.market.now_ms

    async def advance(
        self, *, bars: int | None = None, to_ms: int | None = None, seconds: float | None = None
    ) -> int:
        """Move the market clock on (default one bar); returns the new market time."""
        if bars is None and to_ms is None and seconds is None:
            bars = 1
        return await self.sim.advance(bars=bars, to_ms=to_ms, seconds=seconds)

    def set_faults(self, **settings: Any) -> FaultSettings:
        """Turn faults on (merged into the current settings), e.g. ``latency_ms=50``."""
        merged = FaultSettings.from_mapping(settings, base=self.sim.core.faults.settings)
        self.sim.set_faults(merged)
        return merged

    def clear_faults(self) -> None:
        self.sim.set_faults(FaultSettings())
        self.sim.core.faults.clear_burst()

    def deposit(self, asset: str, amount: str | Decimal) -> None:
        self.sim.core.deposit(self.api_key, asset, Decimal(amount))

    def signed_query(self, params: Mapping[str, Any], *, secret: str | None = None) -> str:
        """``params`` plus a fresh timestamp, HMAC-signed like Binance expects."""
        items = {k: v for k, v in params.items() if v is not None}
        items.setdefault("timestamp", int(time.time() * 1000))
        query = urlencode(items)
        sig = hmac.new((secret or self.api_secret).encode(), query.encode(), hashlib.sha256).hexdigest()
        return f"{query}&signature={sig}"

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        signed: bool = False,
        api_key: str | None = None,
    ) -> tuple[int, Mapping[str, str], Any]:
        """One REST call (params in the query string); returns status, headers and parsed JSON."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        query = self.signed_query(params or {}) if signed else urlencode(dict(params or {}))
        headers = {"X-MBX-APIKEY": api_key or self.api_key}
        url = f"{self.rest_url}{path}" + (f"?{query}" if query else "")
        # encoded=True: send the query byte for byte as signed (yarl would normalise %21 to !).
        async with self._session.request(method, URL(url, encoded=True), headers=headers) as resp:
            text = await resp.text()
            try:
                body = await resp.json(content_type=None) if text else None
            except ValueError:
                body = text
            return resp.status, resp.headers, body

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        await self.sim.stop()


SimulatorFactory = Callable[..., Awaitable[SimulatorHandle]]


@pytest.fixture
async def simulator_factory() -> AsyncIterator[SimulatorFactory]:
    """Start simulators with :func:`default_config` changed by keyword; all stop after the test."""
    handles: list[SimulatorHandle] = []

    async def make(**changes: Any) -> SimulatorHandle:
        sim = Simulator(default_config(**changes))
        await sim.start()
        handle = SimulatorHandle(sim)
        handles.append(handle)
        return handle

    yield make
    for handle in handles:
        await handle.close()


@pytest.fixture
async def simulator(simulator_factory: SimulatorFactory) -> SimulatorHandle:
    """The default simulator (see the module docstring)."""
    return await simulator_factory()


@pytest.fixture
async def replay_simulator(simulator_factory: SimulatorFactory) -> SimulatorHandle:
    """BTCUSDT and ETHUSDT 1m replayed from the real candles beside the checkout."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real candle folder {SHARED_DATA} is absent (it lives in ../shared beside the checkout)")
    files = (SHARED_DATA / "BTCUSDT-1m.csv.gz", SHARED_DATA / "ETHUSDT-1m.csv.gz")
    market = MarketSpec(symbols=SYMBOLS, interval="1m", data=files, warmup_bars=WARMUP_BARS)
    return await simulator_factory(market=market)
