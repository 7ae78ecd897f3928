"""The signed, pooled, rate-limited REST client: one method per Binance endpoint.

Methods return Binance's JSON as parsed (dicts and lists); :mod:`.client` turns it into
model types through :mod:`.wire`. This layer owns everything about *sending*: the pooled
session, signing, server-time correction, rate-limit budgets, circuit breakers, retries
where they are safe, the TTL cache and the metrics.

Retry rules (a retry must never be able to double an order):

* ``Retry.READ``: queries and idempotent calls are retried on 5xx, timeouts and connection
  errors, with exponential back-off and jitter.
* ``Retry.NEVER``: order placement. A 5xx or a timeout means *status unknown*; the caller
  looks the order up by its client order id before sending it again (see
  :meth:`.client.BinanceExchangeClient.place_order`).
* Every request: a 429 (rejected, not executed) is waited out and sent again when its
  ``Retry-After`` is short; a -1021 (rejected before processing) resynchronises the clock and
  is sent again once. A 418 halts everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import aiohttp
from cachetools import TTLCache
from yarl import URL

from binance_bot.config.redaction import redact
from binance_bot.errors import (
    ClockSkewError,
    ConfigError,
    ExchangeError,
    IpBanned,
    RateLimited,
    TemporaryExchangeError,
)

from . import wire
from .breaker import BreakerState, CircuitBreaker
from .clock import ServerClock
from .endpoints import Endpoints
from .errors import BinanceAPIError, banned_until_ms, translate
from .limits import RateLimiter
from .metrics import RequestMetrics
from .signing import Signer, encode_query, signed_query

log = logging.getLogger(__name__)


class Retry(Enum):
    READ = "read"
    NEVER = "never"


GROUPS = ("market", "account", "trade")
"""Endpoint groups, one circuit breaker each: public data, signed reads, order changes."""


@dataclass(frozen=True, slots=True)
class RestSettings:
    recv_window_ms: int = 5000
    timeout_seconds: float = 10.0
    pool_size: int = 20
    dns_cache_seconds: int = 300
    keepalive_seconds: float = 30.0
    max_retries: int = 3
    backoff_base: float = 0.2
    backoff_max: float = 5.0
    max_retry_after: float = 60.0
    cache_enabled: bool = True
    cache_ttl: float = 1.0
    exchange_info_ttl: float = 3600.0
    time_sync_interval: float = 600.0
    breaker_threshold: int = 5
    breaker_reset: float = 30.0
    limit_margin_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not 1 <= self.recv_window_ms <= 60000:
            raise ConfigError("api.recv_window_ms must be within 1..60000", key="api.recv_window_ms")


def depth_weight(limit: int) -> int:
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def ticker_24hr_weight(symbols: Sequence[str] | None) -> int:
    if symbols is None:
        return 80
    n = len(symbols)
    return 2 if n <= 20 else 40 if n <= 100 else 80


def _symbols_param(symbols: Sequence[str]) -> str:
    return json.dumps(list(symbols), separators=(",", ":"))


class BinanceRestClient:
    """One pooled ``aiohttp`` session to one Binance environment."""

    def __init__(
        self,
        endpoints: Endpoints,
        *,
        api_key: str | None = None,
        signer: Signer | None = None,
        settings: RestSettings | None = None,
        clock: ServerClock | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.settings = settings or RestSettings()
        self._api_key = api_key
        self._signer = signer
        self.clock = clock or ServerClock()
        self.limiter = limiter or RateLimiter(margin_seconds=self.settings.limit_margin_seconds)
        self.metrics = RequestMetrics()
        s = self.settings
        self.breakers = {
            g: CircuitBreaker(g, failure_threshold=s.breaker_threshold, reset_timeout=s.breaker_reset)
            for g in GROUPS
        }
        self._session: aiohttp.ClientSession | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._cache: TTLCache[Any, Any] = TTLCache(maxsize=4096, ttl=s.cache_ttl)
        self._info_cache: TTLCache[Any, Any] = TTLCache(maxsize=64, ttl=s.exchange_info_ttl)
        self._inflight: dict[Any, asyncio.Future[Any]] = {}
        self.info: wire.ExchangeInfo | None = None
        """exchangeInfo as read at start (rate limits and every symbol's rules)."""

    # ------------------------------------------------------------------ lifecycle
    @property
    def can_sign(self) -> bool:
        return bool(self._api_key) and self._signer is not None

    async def start(self, *, load_limits: bool = True) -> None:
        """Open the session, measure the server-time offset, read the rate limits."""
        if self._session is None:
            s = self.settings
            connector = aiohttp.TCPConnector(
                limit=s.pool_size,
                ttl_dns_cache=s.dns_cache_seconds,
                keepalive_timeout=s.keepalive_seconds,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=s.timeout_seconds),
                headers={"Accept": "application/json"},
            )
        await self.sync_time()
        if load_limits:
            info = wire.parse_exchange_info(await self.exchange_info())
            self.info = info
            if info.rate_limits:
                self.limiter.configure(info.rate_limits)
        if self._sync_task is None and self.settings.time_sync_interval > 0:
            self._sync_task = asyncio.create_task(self._sync_loop(), name="binance-time-sync")

    async def close(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
            self._sync_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.time_sync_interval)
            try:
                await self.sync_time()
            except ExchangeError as exc:
                log.warning("periodic server-time sync failed: %s", exc)

    async def sync_time(self) -> float:
        async def fetch() -> int:
            return wire.parse_server_time(await self.time())

        offset = await self.clock.sync(fetch)
        log.debug("server time offset %.1f ms (round trip %.1f ms)", offset, self.clock.round_trip_ms)
        return offset

    # ------------------------------------------------------------------ core
    def _backoff(self, attempt: int) -> float:
        s = self.settings
        return min(s.backoff_max, s.backoff_base * 2**attempt) * random.uniform(0.5, 1.0)

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        signed: bool = False,
        weight: int = 1,
        group: str = "market",
        orders: int = 0,
        retry: Retry = Retry.READ,
    ) -> Any:
        """Send one logical request (with the retries its kind allows) and return the JSON."""
        if signed and not self.can_sign:
            raise ConfigError(f"{path} needs api.api_key and api.api_secret (or api.private_key_path)")
        breaker = self.breakers[group]
        resynced = False
        attempt = 0
        while True:
            breaker.before_call()
            try:
                return await self._send(method, path, params, signed, weight, orders, group)
            except RateLimited as exc:
                if exc.retry_after > self.settings.max_retry_after or attempt >= self.settings.max_retries:
                    raise
                log.warning(
                    "%s %s: 429, waiting %.1fs (Retry-After) before sending again",
                    method,
                    path,
                    exc.retry_after,
                )
            except ClockSkewError:
                if resynced:
                    raise
                resynced = True
                log.warning("%s %s: -1021, resynchronising the clock and sending once more", method, path)
                await self.sync_time()
                continue
            except TemporaryExchangeError as exc:
                if retry is Retry.NEVER or attempt >= self.settings.max_retries:
                    raise
                delay = self._backoff(attempt)
                log.info("%s %s: %s; retry %d in %.2fs", method, path, exc, attempt + 1, delay)
                await asyncio.sleep(delay)
            attempt += 1
            self.metrics.retries += 1

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        signed: bool,
        weight: int,
        orders: int,
        group: str,
    ) -> Any:
        breaker = self.breakers[group]
        if self._session is None:
            raise ExchangeError("the REST client is not started (use it as an async context manager)")
        try:
            await self.limiter.acquire(weight=weight, orders=orders)
        except IpBanned:
            breaker.release_trial()
            raise
        headers: dict[str, str] | None = None
        if signed:
            full = dict(params or {})
            full["recvWindow"] = self.settings.recv_window_ms
            full["timestamp"] = self.clock.now_ms()
            query = signed_query(full, self._signer)  # type: ignore[arg-type]
            headers = {"X-MBX-APIKEY": self._api_key or ""}
        else:
            query = encode_query(params or {})
        raw_url = f"{self.endpoints.rest}{path}?{query}" if query else f"{self.endpoints.rest}{path}"
        url = URL(raw_url, encoded=True)
        started = time.perf_counter()
        try:
            async with self._session.request(method, url, headers=headers) as resp:
                body = await resp.read()
                status = resp.status
                resp_headers = resp.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.metrics.record(path, time.perf_counter() - started)
            kind = "timeout" if isinstance(exc, TimeoutError) else "connection"
            self.metrics.record_error(kind)
            breaker.record_failure()
            raise TemporaryExchangeError(
                f"{method} {path}: {kind} error ({type(exc).__name__}); outcome unknown",
                endpoint=path,
            ) from exc
        self.metrics.record(path, time.perf_counter() - started)
        self.limiter.observe_headers(resp_headers)
        if 200 <= status < 300:
            breaker.record_success()
            try:
                return json.loads(body)
            except ValueError as exc:
                self.metrics.malformed += 1
                raise ExchangeError(f"{method} {path}: response is not JSON", endpoint=path) from exc
        raise self._error(method, path, status, body, resp_headers, group)

    def _error(
        self,
        method: str,
        path: str,
        status: int,
        body: bytes,
        headers: Mapping[str, str],
        group: str,
    ) -> ExchangeError:
        breaker = self.breakers[group]
        code: int | None = None
        msg = ""
        try:
            code, msg = wire.parse_error(json.loads(body))
        except (ValueError, wire.WireFormatError):
            msg = body[:200].decode("utf-8", "replace").strip()
        self.metrics.record_error(str(code) if code is not None else f"http_{status}")
        retry_after: float | None = None
        ra = headers.get("Retry-After")
        if ra is not None:
            with contextlib.suppress(ValueError):
                retry_after = float(ra)
        raw = BinanceAPIError(status, code, redact(msg), f"{method} {path}")
        if status == 418:
            breaker.release_trial()
            until = banned_until_ms(msg, retry_after, self.clock.now_ms())
            err: ExchangeError = self.limiter.ban(until, redact(msg))
        else:
            err = translate(raw, retry_after=retry_after, trading=group == "trade")
            if isinstance(err, RateLimited):
                breaker.release_trial()
                self.limiter.back_off(err.retry_after)
            elif isinstance(err, TemporaryExchangeError):
                breaker.record_failure()
            else:
                breaker.record_success()
        err.__cause__ = raw
        return err

    # ------------------------------------------------------------------ cache
    async def _cached(self, cache: TTLCache[Any, Any], key: Any, fetch: Callable[[], Awaitable[Any]]) -> Any:
        """TTL cache with single flight: concurrent misses for one key share one request."""
        if not self.settings.cache_enabled:
            return await fetch()
        try:
            value = cache[key]
        except KeyError:
            pass
        else:
            self.metrics.cache(True)
            return value
        pending = self._inflight.get(key)
        if pending is not None:
            self.metrics.cache(True)
            return await asyncio.shield(pending)
        self.metrics.cache(False)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            value = await fetch()
        except asyncio.CancelledError:
            fut.cancel()
            raise
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved here so a future nobody awaited does not warn
            raise
        else:
            cache[key] = value
            fut.set_result(value)
            return value
        finally:
            del self._inflight[key]

    def has_cached_price(self, symbol: str) -> bool:
        return self.settings.cache_enabled and ("ticker/price", symbol) in self._cache

    def remember_price(self, symbol: str, price_payload: Mapping[str, Any]) -> None:
        if self.settings.cache_enabled:
            self._cache[("ticker/price", symbol)] = price_payload

    # ------------------------------------------------------------------ general
    async def ping(self) -> Any:
        return await self.request("GET", "/api/v3/ping", weight=1)

    async def time(self) -> Any:
        return await self.request("GET", "/api/v3/time", weight=1)

    async def exchange_info(self, symbols: Sequence[str] | None = None) -> Any:
        params = {"symbols": _symbols_param(symbols)} if symbols else None
        key = ("exchangeInfo", tuple(symbols or ()))
        return await self._cached(
            self._info_cache, key, lambda: self.request("GET", "/api/v3/exchangeInfo", params, weight=20)
        )

    # ------------------------------------------------------------------ market data
    async def depth(self, symbol: str, limit: int = 100) -> Any:
        return await self.request(
            "GET", "/api/v3/depth", {"symbol": symbol, "limit": limit}, weight=depth_weight(limit)
        )

    async def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 500,
    ) -> Any:
        params = {
            "symbol": symbol,
            "interval": interval,
            "startTime": start_time,
            "endTime": end_time,
            "limit": limit,
        }
        return await self.request("GET", "/api/v3/klines", params, weight=2)

    async def avg_price(self, symbol: str) -> Any:
        return await self._cached(
            self._cache,
            ("avgPrice", symbol),
            lambda: self.request("GET", "/api/v3/avgPrice", {"symbol": symbol}, weight=2),
        )

    async def ticker_24hr(self, symbol: str | None = None, symbols: Sequence[str] | None = None) -> Any:
        if symbol is not None:
            return await self.request("GET", "/api/v3/ticker/24hr", {"symbol": symbol}, weight=2)
        params = {"symbols": _symbols_param(symbols)} if symbols else None
        return await self.request("GET", "/api/v3/ticker/24hr", params, weight=ticker_24hr_weight(symbols))

    async def ticker_price(self, symbol: str | None = None, symbols: Sequence[str] | None = None) -> Any:
        if symbol is not None:
            return await self._cached(
                self._cache,
                ("ticker/price", symbol),
                lambda: self.request("GET", "/api/v3/ticker/price", {"symbol": symbol}, weight=2),
            )
        params = {"symbols": _symbols_param(symbols)} if symbols else None
        return await self.request("GET", "/api/v3/ticker/price", params, weight=4)

    async def ticker_book_ticker(
        self, symbol: str | None = None, symbols: Sequence[str] | None = None
    ) -> Any:
        if symbol is not None:
            return await self._cached(
                self._cache,
                ("ticker/bookTicker", symbol),
                lambda: self.request("GET", "/api/v3/ticker/bookTicker", {"symbol": symbol}, weight=2),
            )
        params = {"symbols": _symbols_param(symbols)} if symbols else None
        return await self.request("GET", "/api/v3/ticker/bookTicker", params, weight=4)

    # ------------------------------------------------------------------ trading
    async def new_order(self, params: Mapping[str, Any]) -> Any:
        """``POST /api/v3/order``. Never retried on an unknown outcome (see module doc)."""
        return await self.request(
            "POST", "/api/v3/order", params, signed=True, weight=1, orders=1, group="trade", retry=Retry.NEVER
        )

    async def test_new_order(self, params: Mapping[str, Any]) -> Any:
        return await self.request("POST", "/api/v3/order/test", params, signed=True, weight=1, group="trade")

    async def cancel_order(
        self, symbol: str, *, order_id: int | None = None, orig_client_order_id: str | None = None
    ) -> Any:
        params = {"symbol": symbol, "orderId": order_id, "origClientOrderId": orig_client_order_id}
        return await self.request(
            "DELETE", "/api/v3/order", params, signed=True, weight=1, group="trade", retry=Retry.NEVER
        )

    async def cancel_open_orders(self, symbol: str) -> Any:
        return await self.request(
            "DELETE",
            "/api/v3/openOrders",
            {"symbol": symbol},
            signed=True,
            weight=1,
            group="trade",
            retry=Retry.NEVER,
        )

    async def get_order(
        self, symbol: str, *, order_id: int | None = None, orig_client_order_id: str | None = None
    ) -> Any:
        params = {"symbol": symbol, "orderId": order_id, "origClientOrderId": orig_client_order_id}
        return await self.request("GET", "/api/v3/order", params, signed=True, weight=4, group="account")

    async def open_orders(self, symbol: str | None = None) -> Any:
        params = {"symbol": symbol} if symbol else None
        return await self.request(
            "GET", "/api/v3/openOrders", params, signed=True, weight=6 if symbol else 80, group="account"
        )

    async def all_orders(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 500,
    ) -> Any:
        params = {
            "symbol": symbol,
            "orderId": order_id,
            "startTime": start_time,
            "endTime": end_time,
            "limit": limit,
        }
        return await self.request("GET", "/api/v3/allOrders", params, signed=True, weight=20, group="account")

    async def new_order_list_oco(self, params: Mapping[str, Any]) -> Any:
        """``POST /api/v3/orderList/oco`` (two unfilled orders); never retried blindly."""
        return await self.request(
            "POST",
            "/api/v3/orderList/oco",
            params,
            signed=True,
            weight=1,
            orders=2,
            group="trade",
            retry=Retry.NEVER,
        )

    async def cancel_order_list(
        self, symbol: str, *, order_list_id: int | None = None, list_client_order_id: str | None = None
    ) -> Any:
        params = {"symbol": symbol, "orderListId": order_list_id, "listClientOrderId": list_client_order_id}
        return await self.request(
            "DELETE", "/api/v3/orderList", params, signed=True, weight=1, group="trade", retry=Retry.NEVER
        )

    async def get_order_list(
        self, *, order_list_id: int | None = None, orig_client_order_id: str | None = None
    ) -> Any:
        params = {"orderListId": order_list_id, "origClientOrderId": orig_client_order_id}
        return await self.request("GET", "/api/v3/orderList", params, signed=True, weight=4, group="account")

    # ------------------------------------------------------------------ account
    async def account(self, *, omit_zero_balances: bool = False) -> Any:
        params = {"omitZeroBalances": "true"} if omit_zero_balances else None
        return await self.request("GET", "/api/v3/account", params, signed=True, weight=20, group="account")

    async def my_trades(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> Any:
        params = {
            "symbol": symbol,
            "orderId": order_id,
            "startTime": start_time,
            "endTime": end_time,
            "fromId": from_id,
            "limit": limit,
        }
        weight = 5 if order_id is not None else 20
        return await self.request(
            "GET", "/api/v3/myTrades", params, signed=True, weight=weight, group="account"
        )

    async def rate_limit_order(self) -> Any:
        return await self.request("GET", "/api/v3/rateLimit/order", signed=True, weight=40, group="account")

    async def api_restrictions(self) -> Any:
        """``GET /sapi/v1/account/apiRestrictions``: what the key may do (not on the testnet)."""
        return await self.request(
            "GET", "/sapi/v1/account/apiRestrictions", signed=True, weight=1, group="account"
        )

    # ------------------------------------------------------------------ metrics
    def breaker_states(self) -> dict[str, str]:
        return {g: b.state.value for g, b in self.breakers.items()}

    def snapshot(self) -> dict[str, Any]:
        out = self.metrics.snapshot()
        out["breakers"] = self.breaker_states()
        out["breakers_open"] = sum(1 for b in self.breakers.values() if b.state is not BreakerState.CLOSED)
        out["rate_limits"] = self.limiter.snapshot()
        weight = [v for k, v in out["rate_limits"].items() if k.startswith("REQUEST_WEIGHT")]
        out["weight_used"] = weight[0]["used"] if weight else 0
        out["weight_used_server"] = weight[0]["server_used"] if weight else 0
        out["rate_limited_429"] = self.limiter.rate_limited
        out["banned_until_ms"] = self.limiter.banned_until_ms
        out["clock_offset_ms"] = self.clock.offset_ms
        out["clock_syncs"] = self.clock.syncs
        out["environment"] = self.endpoints.name
        return out
