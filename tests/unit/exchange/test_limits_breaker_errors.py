"""Rate-limit budgets, the circuit breaker and error translation, on a controlled clock."""

from __future__ import annotations

import asyncio
import logging

import pytest
from multidict import CIMultiDict

from binance_bot.errors import (
    AuthenticationError,
    ClockSkewError,
    ExchangeError,
    InsufficientFunds,
    IpBanned,
    OrderRejected,
    RateLimited,
    TemporaryExchangeError,
    UnknownOrder,
)
from binance_bot.exchange.binance.breaker import BreakerState, CircuitBreaker, CircuitOpen
from binance_bot.exchange.binance.errors import BinanceAPIError, banned_until_ms, translate
from binance_bot.exchange.binance.limits import Budget, RateLimiter
from binance_bot.exchange.binance.wire import RateLimit


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_budget_never_exceeds_its_limit_in_any_window() -> None:
    clock = FakeClock()
    budget = Budget(RateLimit("REQUEST_WEIGHT", "SECOND", 1, 10), margin_seconds=0.0, clock=clock)
    assert budget._try_take(6) == 0
    assert budget._try_take(4) == 0
    wait = budget._try_take(1)
    assert wait == pytest.approx(1.0)
    clock.t += 0.5
    assert budget._try_take(1) == pytest.approx(0.5)
    clock.t += 0.5
    assert budget._try_take(6) == 0 and budget.used() == 6


async def test_budget_books_what_the_server_counted_beyond_ours() -> None:
    clock = FakeClock()
    budget = Budget(RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 100), margin_seconds=0.0, clock=clock)
    assert budget._try_take(10) == 0
    budget.observe(95)  # another client on this IP used 85
    assert budget.used() == 95
    assert budget._try_take(10) > 0
    budget.observe(20)  # a lower server count never frees what we know we sent
    assert budget.used() == 95


async def test_budget_acquire_waits_for_the_window() -> None:
    budget = Budget(RateLimit("REQUEST_WEIGHT", "SECOND", 1, 4), margin_seconds=0.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(3):
        await budget.acquire(2)
    assert loop.time() - start >= 0.45  # the third request had to wait for the first to age out
    with pytest.raises(ValueError, match="can never fit"):
        await budget.acquire(5)


def test_headers_correct_the_matching_budgets() -> None:
    limiter = RateLimiter(margin_seconds=0.0)
    # response headers as aiohttp hands them over: names compare case-insensitively
    headers = CIMultiDict(
        {"x-mbx-used-weight-1m": "1234", "X-MBX-ORDER-COUNT-10S": "7", "X-MBX-USED-WEIGHT": "9"}
    )
    limiter.observe_headers(headers)
    snap = limiter.snapshot()
    assert snap["REQUEST_WEIGHT_1M"]["server_used"] == 1234
    assert snap["ORDERS_10S"]["server_used"] == 7
    assert snap["ORDERS_1D"]["server_used"] == 0
    limiter.observe_headers(CIMultiDict({"X-MBX-USED-WEIGHT-1M": "not a number"}))
    assert limiter.snapshot()["REQUEST_WEIGHT_1M"]["server_used"] == 1234


async def test_ban_halts_everything_until_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    now = [1_000_000]
    limiter = RateLimiter(wall_ms=lambda: now[0])
    with caplog.at_level(logging.CRITICAL):
        err = limiter.ban(1_060_000, "Way too much request weight used")
    assert isinstance(err, IpBanned) and err.until_ms == 1_060_000
    assert "ALERT" in caplog.text and "1060000" in caplog.text
    with pytest.raises(IpBanned):
        await limiter.acquire(weight=1)
    now[0] = 1_060_001
    await limiter.acquire(weight=1)


async def test_back_off_gate_delays_every_request() -> None:
    limiter = RateLimiter()
    limiter.back_off(0.3)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(limiter.acquire(weight=1), limiter.acquire(weight=1))
    assert loop.time() - start >= 0.28
    assert limiter.rate_limited == 1


def test_breaker_transitions() -> None:
    clock = FakeClock()
    br = CircuitBreaker("market", failure_threshold=3, reset_timeout=10, clock=clock)
    for _ in range(2):
        br.before_call()
        br.record_failure()
    assert br.state is BreakerState.CLOSED
    br.record_success()  # a success resets the count
    for _ in range(3):
        br.before_call()
        br.record_failure()
    assert br.state is BreakerState.OPEN and br.times_opened == 1
    with pytest.raises(CircuitOpen, match="market"):
        br.before_call()
    clock.t += 10
    assert br.state is BreakerState.HALF_OPEN
    br.before_call()  # the one trial
    with pytest.raises(CircuitOpen):
        br.before_call()  # nobody else while the trial runs
    br.record_failure()
    assert br.state is BreakerState.OPEN and br.times_opened == 2
    clock.t += 10
    br.before_call()
    br.record_success()
    assert br.state is BreakerState.CLOSED
    assert isinstance(CircuitOpen("x"), TemporaryExchangeError)


@pytest.mark.parametrize(
    ("status", "code", "msg", "trading", "cls"),
    [
        (429, -1003, "Too much request weight used", False, RateLimited),
        (400, -1015, "Too many new orders", True, RateLimited),
        (503, None, "Service Unavailable", False, TemporaryExchangeError),
        (400, -1007, "Timeout waiting for response from backend server.", True, TemporaryExchangeError),
        (400, -1021, "Timestamp for this request is outside of the recvWindow.", False, ClockSkewError),
        (400, -1022, "Signature for this request is not valid.", False, AuthenticationError),
        (401, -2015, "Invalid API-key, IP, or permissions for action.", False, AuthenticationError),
        (400, -2013, "Order does not exist.", False, UnknownOrder),
        (400, -2011, "Unknown order sent.", True, UnknownOrder),
        (400, -2011, "Order was not canceled due to cancel restrictions.", True, OrderRejected),
        (400, -2010, "Account has insufficient balance for requested action.", True, InsufficientFunds),
        (400, -2010, "Order would immediately match and take.", True, OrderRejected),
        (400, -1100, "Illegal characters found in parameter 'price'", True, OrderRejected),
        (400, -1121, "Invalid symbol.", False, ExchangeError),
    ],
)
def test_translation(status: int, code: int | None, msg: str, trading: bool, cls: type) -> None:
    raw = BinanceAPIError(status, code, msg, "POST /api/v3/order")
    err = translate(raw, retry_after=3.0, trading=trading)
    assert type(err) is cls
    assert err.code == code and err.http_status == status
    assert msg in str(err)
    if isinstance(err, RateLimited):
        assert err.retry_after == 3.0
    if isinstance(err, InsufficientFunds):
        assert isinstance(err, OrderRejected)


def test_filter_failures_name_the_filter() -> None:
    err = translate(
        BinanceAPIError(400, -1013, "Filter failure: NOTIONAL", "POST /api/v3/order"), trading=True
    )
    assert isinstance(err, OrderRejected) and err.filter_name == "NOTIONAL"


def test_ban_end_comes_from_the_message_or_retry_after() -> None:
    msg = "Way too much request weight used; IP banned until 1659146400000. Please use WebSocket Streams"
    assert banned_until_ms(msg, 120, 0) == 1659146400000
    assert banned_until_ms("banned", 30, 1000) == 31000
