"""Rate limits: fixed windows, 429 waits, strikes to a 418 ban, unfilled order counts."""

from __future__ import annotations

from binance_bot.simulator.config import LimitSettings
from binance_bot.simulator.limits import FixedWindow, RateLimiter, banned_msg, weight_exceeded_msg

T0 = 1_700_000_000_000


def test_fixed_window_resets_at_its_boundary() -> None:
    w = FixedWindow(60_000, T0)
    w.add(T0 + 1, 5)
    assert w.value(T0 + 59_999) == 5
    assert w.ends_ms(T0 + 10) == T0 + 60_000
    assert w.value(T0 + 60_000) == 0
    w.add(T0 + 60_001, -3)
    assert w.value(T0 + 60_002) == 0  # never negative


def test_weight_429_with_the_wait_to_the_window_end() -> None:
    limiter = RateLimiter(LimitSettings(request_weight_per_minute=10, ban_after_ignored_429=3), T0)
    assert limiter.admit("ip", 6, T0 + 1000) is None
    limiter.charge("ip", 6, T0 + 1000)
    refusal = limiter.admit("ip", 5, T0 + 15_000)
    assert refusal is not None
    assert (refusal.status, refusal.code, refusal.msg) == (429, -1003, weight_exceeded_msg(10))
    assert refusal.retry_after_ms == 45_000 and refusal.retry_after_s == 45
    assert limiter.used_weight("ip", T0 + 15_000) == 6
    assert limiter.admit("other-ip", 5, T0 + 15_000) is None  # limits are per IP


def test_ignoring_the_wait_earns_a_doubling_ban() -> None:
    limiter = RateLimiter(
        LimitSettings(request_weight_per_minute=1, ban_after_ignored_429=2, ban_seconds=120), T0
    )
    limiter.charge("ip", 1, T0)
    assert limiter.admit("ip", 1, T0 + 1)  # 429: wait to the window end
    strike = limiter.admit("ip", 1, T0 + 2)
    assert strike is not None and strike.status == 429
    ban = limiter.admit("ip", 1, T0 + 3)
    assert ban is not None
    assert (ban.status, ban.msg, ban.retry_after_ms) == (418, banned_msg(T0 + 3 + 120_000), 120_000)
    still = limiter.admit("ip", 1, T0 + 60_000)
    assert still is not None and still.status == 418 and still.retry_after_ms == 60_003
    # served the ban, then did it again: twice as long
    after = T0 + 3 + 120_000
    limiter.charge("ip", 1, after)
    assert limiter.admit("ip", 1, after + 1)
    assert limiter.admit("ip", 1, after + 2)
    again = limiter.admit("ip", 1, after + 3)
    assert again is not None and again.retry_after_ms == 240_000
    limiter.lift_ban()
    assert limiter.admit("ip", 0, after + 4) is None


def test_respecting_the_wait_clears_the_strikes() -> None:
    limiter = RateLimiter(LimitSettings(request_weight_per_minute=1, ban_after_ignored_429=2), T0)
    limiter.charge("ip", 1, T0)
    first = limiter.admit("ip", 1, T0 + 1)
    assert first is not None
    assert limiter.admit("ip", 1, T0 + 1 + first.retry_after_ms) is None


def test_forced_waits_and_raw_requests() -> None:
    limiter = RateLimiter(LimitSettings(raw_requests_per_5m=2), T0)
    forced = limiter.admit("ip", 1, T0, forced_wait_ms=2500)
    assert forced is not None and (forced.status, forced.retry_after_s) == (429, 3)
    limiter = RateLimiter(LimitSettings(raw_requests_per_5m=2), T0)
    assert limiter.admit("ip", 0, T0) is None and limiter.admit("ip", 0, T0) is None
    raw = limiter.admit("ip", 0, T0)
    assert raw is not None and raw.retry_after_ms == 300_000


def test_order_counts_and_first_fill_decrement() -> None:
    limiter = RateLimiter(LimitSettings(orders_per_10s=2, orders_per_day=2), T0)
    limiter.add_orders("acct", [("BTCUSDT", 1), ("BTCUSDT", 2)], T0)
    refusal = limiter.admit_orders("acct", 1, T0 + 5)
    assert refusal is not None
    assert (refusal.status, refusal.code, refusal.msg) == (
        429,
        -1015,
        "Too many new orders; current limit is 2 orders per 10 SECOND.",
    )
    limiter.order_filled("acct", ("BTCUSDT", 1), T0 + 6)
    limiter.order_filled("acct", ("BTCUSDT", 1), T0 + 7)  # only the first fill counts
    assert limiter.order_counts("acct", T0 + 8) == (1, 1)
    assert limiter.admit_orders("acct", 1, T0 + 9) is None
    limiter.add_orders("acct", [("BTCUSDT", 3)], T0 + 10_000)  # a new 10-second window, same day
    day = limiter.admit_orders("acct", 1, T0 + 10_001)
    assert day is not None and day.msg == "Too many new orders; current limit is 2 orders per DAY."
