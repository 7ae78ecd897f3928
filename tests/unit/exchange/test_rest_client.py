"""The REST client against a scriptable loopback server: signing, time, limits, resilience."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import pytest
from tests.unit.exchange.fakebinance import API_KEY, API_SECRET, FAST, FakeBinance, Fault, make_rest

from binance_bot.errors import (
    AuthenticationError,
    ExchangeError,
    IpBanned,
    RateLimited,
    TemporaryExchangeError,
)
from binance_bot.exchange.binance.breaker import CircuitOpen
from binance_bot.exchange.binance.endpoints import local
from binance_bot.exchange.binance.limits import RateLimiter
from binance_bot.exchange.binance.rest import BinanceRestClient
from binance_bot.exchange.binance.signing import HmacSigner
from binance_bot.exchange.binance.wire import RateLimit

TICKER = ("GET", "/api/v3/ticker/price")


async def test_start_syncs_time_and_reads_rate_limits(fake: FakeBinance) -> None:
    fake.skew_ms = 2500
    rest = make_rest(fake)
    await rest.start()
    try:
        assert rest.clock.offset_ms == pytest.approx(2500, abs=150)
        assert abs(rest.clock.now_ms() - fake.now_ms()) < 150
        keys = set(rest.limiter.snapshot())
        assert keys == {"REQUEST_WEIGHT_1M", "ORDERS_10S", "ORDERS_1D", "RAW_REQUESTS_5M"}
        assert await rest.ping() == {}
    finally:
        await rest.close()


async def test_signed_request_passes_the_servers_signature_check(
    rest: BinanceRestClient, fake: FakeBinance
) -> None:
    account = await rest.account()
    assert account["balances"][0]["asset"] == "USDT"
    _, _, query, headers = fake.log[-1]
    assert "recvWindow=5000&timestamp=" in query and "&signature=" in query
    assert headers["X-MBX-APIKEY"] == API_KEY


async def test_wrong_secret_is_an_authentication_error_and_not_retried(fake: FakeBinance) -> None:
    rest = BinanceRestClient(
        local(fake.url), api_key=API_KEY, signer=HmacSigner("wrong-secret"), settings=FAST
    )  # type: ignore[attr-defined]
    await rest.start()
    try:
        with pytest.raises(AuthenticationError) as err:
            await rest.account()
        assert err.value.code == -1022
        assert fake.count("GET", "/api/v3/account") == 1
    finally:
        await rest.close()


async def test_reads_are_retried_after_5xx(rest: BinanceRestClient, fake: FakeBinance) -> None:
    fake.fail(*TICKER, Fault(502, {"code": -1000, "msg": "bad gateway"}), Fault(503, "<html>busy</html>"))
    price = await rest.ticker_price("BTCUSDT")
    assert price["price"] == "30000.00000000"
    assert fake.count(*TICKER) == 3
    m = rest.snapshot()
    assert m["retries"] == 2 and m["errors"] == {"-1000": 1, "http_503": 1}
    assert m["breakers"]["market"] == "closed"


async def test_5xx_burst_opens_the_breaker_then_a_trial_closes_it(fake: FakeBinance) -> None:
    rest = make_rest(fake, dataclasses.replace(FAST, cache_enabled=False))
    await rest.start()
    try:
        fake.fail(*TICKER, *[Fault(500) for _ in range(3)])
        with pytest.raises(CircuitOpen):
            await rest.ticker_price("BTCUSDT")
        assert fake.count(*TICKER) == 3  # the fourth attempt was never sent
        assert rest.breaker_states()["market"] == "open"
        assert rest.breaker_states()["account"] == "closed"  # groups are independent
        with pytest.raises(CircuitOpen):
            await rest.ticker_price("BTCUSDT")
        assert fake.count(*TICKER) == 3
        await asyncio.sleep(FAST.breaker_reset)
        assert rest.breaker_states()["market"] == "half_open"
        assert (await rest.ticker_price("BTCUSDT"))["symbol"] == "BTCUSDT"
        assert rest.snapshot()["breakers"]["market"] == "closed"
        assert rest.breakers["market"].times_opened == 1
    finally:
        await rest.close()


async def test_429_retry_after_is_waited_out(rest: BinanceRestClient, fake: FakeBinance) -> None:
    fake.fail(
        *TICKER, Fault(429, {"code": -1003, "msg": "Too much request weight used"}, {"Retry-After": "1"})
    )
    start = time.monotonic()
    price = await rest.ticker_price("BTCUSDT")
    assert time.monotonic() - start >= 0.95
    assert price["symbol"] == "BTCUSDT" and fake.count(*TICKER) == 2
    assert rest.snapshot()["rate_limited_429"] == 1


async def test_long_retry_after_is_not_waited_but_raised(rest: BinanceRestClient, fake: FakeBinance) -> None:
    fake.fail(*TICKER, Fault(429, {"code": -1003, "msg": "slow down"}, {"Retry-After": "3600"}))
    with pytest.raises(RateLimited) as err:
        await rest.ticker_price("BTCUSDT")
    assert err.value.retry_after == 3600


async def test_418_halts_every_request(
    rest: BinanceRestClient, fake: FakeBinance, caplog: pytest.LogCaptureFixture
) -> None:
    until = fake.now_ms() + 60_000
    body = {"code": -1003, "msg": f"Way too much request weight used; IP banned until {until}."}
    fake.fail(*TICKER, Fault(418, body, {"Retry-After": "60"}))
    with caplog.at_level(logging.CRITICAL), pytest.raises(IpBanned) as err:
        await rest.ticker_price("BTCUSDT")
    assert err.value.until_ms == until
    assert "ALERT" in caplog.text
    sent = len(fake.log)
    with pytest.raises(IpBanned):
        await rest.account()
    with pytest.raises(IpBanned):
        await rest.ping()
    assert len(fake.log) == sent  # nothing left the client
    assert rest.snapshot()["banned_until_ms"] == until


@pytest.mark.parametrize("skew", [10_000, -3_000])
async def test_clock_skew_resyncs_and_retries_once(
    rest: BinanceRestClient, fake: FakeBinance, skew: int
) -> None:
    syncs = fake.count("GET", "/api/v3/time")
    fake.skew_ms = skew  # the server clock jumps after our last sync
    account = await rest.account()
    assert account["balances"]
    assert fake.count("GET", "/api/v3/account") == 2
    assert fake.count("GET", "/api/v3/time") == syncs + 1
    assert rest.clock.offset_ms == pytest.approx(skew, abs=150)
    assert rest.settings.recv_window_ms == 5000  # never widened


async def test_persistent_skew_is_raised_after_one_resync(rest: BinanceRestClient, fake: FakeBinance) -> None:
    skew = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    fake.fail("GET", "/api/v3/account", Fault(400, skew), Fault(400, skew))
    with pytest.raises(ExchangeError) as err:
        await rest.account()
    assert err.value.code == -1021
    assert fake.count("GET", "/api/v3/account") == 2


async def test_read_timeouts_are_retried(fake: FakeBinance) -> None:
    rest = make_rest(fake, dataclasses.replace(FAST, timeout_seconds=0.3))
    await rest.start()
    try:
        fake.fail(*TICKER, Fault(200, {"symbol": "BTCUSDT", "price": "1"}, delay=1.0))
        price = await rest.ticker_price("BTCUSDT")
        assert price["price"] == "30000.00000000"
        assert rest.snapshot()["errors"] == {"timeout": 1}
    finally:
        await rest.close()


async def test_orders_are_never_retried_by_the_transport(rest: BinanceRestClient, fake: FakeBinance) -> None:
    fake.fail("POST", "/api/v3/order", Fault(503))
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1", "newClientOrderId": "t1"}
    with pytest.raises(TemporaryExchangeError):
        await rest.new_order(params)
    assert fake.count("POST", "/api/v3/order") == 1


async def test_cache_and_single_flight(rest: BinanceRestClient, fake: FakeBinance) -> None:
    before = rest.snapshot()
    results = await asyncio.gather(*(rest.ticker_price("ETHUSDT") for _ in range(10)))
    assert all(r == results[0] for r in results)
    assert fake.count(*TICKER) == 1
    await rest.ticker_price("ETHUSDT")
    assert fake.count(*TICKER) == 1
    m = rest.snapshot()
    assert m["cache_hits"] - before["cache_hits"] == 10
    assert m["cache_misses"] - before["cache_misses"] == 1
    await asyncio.sleep(FAST.cache_ttl + 0.05)
    await rest.ticker_price("ETHUSDT")
    assert fake.count(*TICKER) == 2


async def test_server_weight_header_is_tracked(rest: BinanceRestClient, fake: FakeBinance) -> None:
    await rest.ping()
    m = rest.snapshot()
    minute = max(fake.used)
    assert m["weight_used_server"] == fake.used[minute]
    assert m["weight_used"] >= m["weight_used_server"]
    assert m["requests"] >= 3 and m["latency_ms"]["p99"] >= m["latency_ms"]["p50"] > 0


async def test_secrets_stay_out_of_errors_and_logs(
    fake: FakeBinance, caplog: pytest.LogCaptureFixture
) -> None:
    rest = make_rest(fake)
    with caplog.at_level(logging.DEBUG):
        await rest.start()
        fake.fail("GET", "/api/v3/account", Fault(400, {"code": -1100, "msg": "Illegal characters"}))
        with pytest.raises(ExchangeError) as err:
            await rest.account()
        await rest.close()
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("binance_bot"))
    assert "server time offset" in ours
    text = ours + str(err.value) + repr(err.value.__cause__)
    assert API_SECRET not in text and API_KEY not in text and "signature=" not in text


async def test_unstarted_client_says_so(fake: FakeBinance) -> None:
    rest = make_rest(fake)
    with pytest.raises(ExchangeError, match="not started"):
        await rest.ping()


async def test_full_weight_budget_never_draws_a_429() -> None:
    fake = FakeBinance(weight_limit=40, weight_window=1)
    fake.url = await fake.start()  # type: ignore[attr-defined]
    rest = make_rest(fake, dataclasses.replace(FAST, limit_margin_seconds=0.1))
    try:
        await rest.start()
        assert set(rest.limiter.snapshot()) == {"REQUEST_WEIGHT_1S"}
        start = time.monotonic()
        results = await asyncio.gather(*(rest.ping() for _ in range(100)))
        elapsed = time.monotonic() - start
        assert results == [{}] * 100
        assert fake.rejected_429 == 0 and rest.snapshot()["rate_limited_429"] == 0
        assert elapsed >= 1.5  # 102 requests at 40 per second cannot finish sooner
        assert max(fake.used.values()) <= 40
    finally:
        await rest.close()
        await fake.close()


async def test_the_clock_is_resynced_periodically(fake: FakeBinance) -> None:
    rest = make_rest(fake, dataclasses.replace(FAST, time_sync_interval=0.1))
    await rest.start()
    try:
        fake.skew_ms = 7_000
        await asyncio.sleep(0.35)
        assert rest.clock.syncs >= 3
        assert rest.clock.offset_ms == pytest.approx(7_000, abs=150)
    finally:
        await rest.close()


def test_limits_carry_what_was_sent_into_reconfigured_budgets() -> None:
    limiter = RateLimiter(margin_seconds=0.0)
    limiter.budgets[0]._try_take(20)
    limiter.configure([RateLimit("REQUEST_WEIGHT", "SECOND", 10, 100), RateLimit("ORDERS", "DAY", 1, 5)])
    snap = limiter.snapshot()
    assert snap["REQUEST_WEIGHT_10S"]["used"] == 20 and snap["ORDERS_1D"]["used"] == 0
