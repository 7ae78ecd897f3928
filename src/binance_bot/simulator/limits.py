"""Binance's rate limits: request weight per IP, unfilled order counts per account, bans.

Counters are fixed windows (a minute, ten seconds, a day...) on the protocol clock, as the
``X-MBX-USED-WEIGHT-1M`` header shows them on Binance: the count drops to zero when a new
window begins. The windows start when the server starts, so a test that begins against a
fresh server has the whole first window to itself.

Bans: after a 429 the IP is told to wait ``Retry-After`` seconds. Every request it sends
before then is refused again (429) and counts as a strike; ``ban_after_ignored_429`` strikes
earn an HTTP 418 ban, two minutes the first time and twice as long for every repeat (three
days at most).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from binance_bot.simulator.config import LimitSettings

MINUTE_MS = 60_000
_MAX_BAN_MS = 3 * 86_400_000


@dataclass(slots=True)
class FixedWindow:
    window_ms: int
    origin_ms: int
    key: int = -1
    count: int = 0

    def _roll(self, now_ms: int) -> None:
        key = (now_ms - self.origin_ms) // self.window_ms
        if key != self.key:
            self.key = key
            self.count = 0

    def value(self, now_ms: int) -> int:
        self._roll(now_ms)
        return self.count

    def add(self, now_ms: int, amount: int) -> None:
        self._roll(now_ms)
        self.count = max(0, self.count + amount)

    def ends_ms(self, now_ms: int) -> int:
        self._roll(now_ms)
        return self.origin_ms + (self.key + 1) * self.window_ms


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused by a limit: HTTP status, Binance code and message, and the wait."""

    status: int
    code: int
    msg: str
    retry_after_ms: int

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil(self.retry_after_ms / 1000))


@dataclass(slots=True)
class _IpState:
    weight: FixedWindow
    sapi: FixedWindow
    raw: FixedWindow
    wait_until_ms: int = 0
    strikes: int = 0
    banned_until_ms: int = 0
    bans: int = 0


@dataclass(slots=True)
class _AccountState:
    ten_seconds: FixedWindow
    day: FixedWindow
    orders: set[tuple[str, int]] = field(default_factory=set)


def weight_exceeded_msg(limit: int) -> str:
    return (
        f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API."
    )


def banned_msg(until_ms: int) -> str:
    return (
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans."
    )


class RateLimiter:
    def __init__(self, settings: LimitSettings, origin_ms: int) -> None:
        self.settings = settings
        self._origin = origin_ms
        self._ips: dict[str, _IpState] = {}
        self._accounts: dict[str, _AccountState] = {}

    def _ip(self, ip: str) -> _IpState:
        state = self._ips.get(ip)
        if state is None:
            state = _IpState(
                weight=FixedWindow(MINUTE_MS, self._origin),
                sapi=FixedWindow(MINUTE_MS, self._origin),
                raw=FixedWindow(5 * MINUTE_MS, self._origin),
            )
            self._ips[ip] = state
        return state

    def _account(self, account: str) -> _AccountState:
        state = self._accounts.get(account)
        if state is None:
            state = _AccountState(FixedWindow(10_000, self._origin), FixedWindow(86_400_000, self._origin))
            self._accounts[account] = state
        return state

    # ------------------------------------------------------------------ weight
    def admit(
        self, ip: str, weight: int, now_ms: int, *, sapi: bool = False, forced_wait_ms: int = 0
    ) -> Refusal | None:
        """Decide whether a request may run; a refusal is final (the request is not processed).

        ``forced_wait_ms`` is an injected 429 burst: refused like an exceeded limit, and
        ignoring it counts toward a ban like ignoring a real one.
        """
        state = self._ip(ip)
        if state.banned_until_ms > now_ms:
            return Refusal(418, -1003, banned_msg(state.banned_until_ms), state.banned_until_ms - now_ms)
        limit = self.settings.request_weight_per_minute
        if state.wait_until_ms > now_ms:
            state.strikes += 1
            if state.strikes >= self.settings.ban_after_ignored_429:
                return self._ban(state, now_ms)
            return Refusal(429, -1003, weight_exceeded_msg(limit), state.wait_until_ms - now_ms)
        state.strikes = 0
        state.raw.add(now_ms, 1)
        if forced_wait_ms > 0:
            return self._too_much(state, limit, now_ms, now_ms + forced_wait_ms)
        if state.raw.value(now_ms) > self.settings.raw_requests_per_5m:
            return self._too_much(state, limit, now_ms, state.raw.ends_ms(now_ms))
        window = state.sapi if sapi else state.weight
        cap = self.settings.sapi_weight_per_minute if sapi else limit
        if window.value(now_ms) + weight > cap:
            return self._too_much(state, cap, now_ms, window.ends_ms(now_ms))
        return None

    def _too_much(self, state: _IpState, limit: int, now_ms: int, until_ms: int) -> Refusal:
        state.wait_until_ms = max(state.wait_until_ms, until_ms)
        return Refusal(429, -1003, weight_exceeded_msg(limit), state.wait_until_ms - now_ms)

    def _ban(self, state: _IpState, now_ms: int) -> Refusal:
        duration = min(int(self.settings.ban_seconds * 1000) * 2**state.bans, _MAX_BAN_MS)
        state.bans += 1
        state.banned_until_ms = now_ms + duration
        state.wait_until_ms = state.banned_until_ms
        state.strikes = 0
        return Refusal(418, -1003, banned_msg(state.banned_until_ms), duration)

    def charge(self, ip: str, weight: int, now_ms: int, *, sapi: bool = False) -> None:
        if weight:
            state = self._ip(ip)
            (state.sapi if sapi else state.weight).add(now_ms, weight)

    def used_weight(self, ip: str, now_ms: int, *, sapi: bool = False) -> int:
        state = self._ip(ip)
        return (state.sapi if sapi else state.weight).value(now_ms)

    def lift_ban(self, ip: str | None = None) -> None:
        """Forgive bans and waits (admin), for one IP or all."""
        states = [self._ips[ip]] if ip is not None and ip in self._ips else list(self._ips.values())
        for state in states:
            state.banned_until_ms = state.wait_until_ms = 0
            state.strikes = 0

    # ------------------------------------------------------------------ orders
    def admit_orders(self, account: str, count: int, now_ms: int) -> Refusal | None:
        state = self._account(account)
        s = self.settings
        if state.ten_seconds.value(now_ms) + count > s.orders_per_10s:
            return Refusal(
                429,
                -1015,
                f"Too many new orders; current limit is {s.orders_per_10s} orders per 10 SECOND.",
                state.ten_seconds.ends_ms(now_ms) - now_ms,
            )
        if state.day.value(now_ms) + count > s.orders_per_day:
            return Refusal(
                429,
                -1015,
                f"Too many new orders; current limit is {s.orders_per_day} orders per DAY.",
                state.day.ends_ms(now_ms) - now_ms,
            )
        return None

    def add_orders(self, account: str, order_keys: list[tuple[str, int]], now_ms: int) -> None:
        state = self._account(account)
        state.ten_seconds.add(now_ms, len(order_keys))
        state.day.add(now_ms, len(order_keys))
        state.orders.update(order_keys)

    def order_filled(self, account: str, order_key: tuple[str, int], now_ms: int) -> None:
        """The first fill of an order takes it off the unfilled count (Binance, since 2025)."""
        state = self._account(account)
        if order_key in state.orders:
            state.orders.discard(order_key)
            state.ten_seconds.add(now_ms, -1)
            state.day.add(now_ms, -1)

    def order_counts(self, account: str, now_ms: int) -> tuple[int, int]:
        state = self._account(account)
        return state.ten_seconds.value(now_ms), state.day.value(now_ms)
