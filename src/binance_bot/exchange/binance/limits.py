"""Rate limits as Binance counts them: REQUEST_WEIGHT, ORDERS and RAW_REQUESTS budgets.

Each budget has two layers:

* an ``aiolimiter.AsyncLimiter`` (leaky bucket, weighted ``acquire``) that paces requests
  at the budget's average rate (windows of a minute or less: REQUEST_WEIGHT, ORDERS per 10 s);
* a sliding log of what was sent in the last window. A leaky bucket alone can admit up to
  twice its capacity within one window (a full burst, then everything that drains), while
  Binance refuses anything over the limit inside its interval; the log makes the bound exact
  and is where the server's own count (``X-MBX-USED-WEIGHT-1M``...) corrects ours when other
  clients share the IP or the account.

A 429 closes the gate for every request until its ``Retry-After``; a 418 (IP ban) makes every
request fail at once with :class:`~binance_bot.errors.IpBanned` until the ban ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping

from aiolimiter import AsyncLimiter

from binance_bot.errors import IpBanned

from .wire import RateLimit

log = logging.getLogger(__name__)

DEFAULT_LIMITS: tuple[RateLimit, ...] = (
    RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 6000),
    RateLimit("ORDERS", "SECOND", 10, 100),
    RateLimit("ORDERS", "DAY", 1, 200000),
    RateLimit("RAW_REQUESTS", "MINUTE", 5, 300000),
)
"""Live values (docs/binance-api.md §3.1) until exchangeInfo says otherwise."""


class Budget:
    """One limiter (e.g. REQUEST_WEIGHT per 1 MINUTE)."""

    def __init__(
        self,
        limit: RateLimit,
        *,
        margin_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        # The window is stretched by a margin so a request sent just as an old one leaves our
        # window cannot still be inside the server's (it received the old one a little later).
        self.window = float(limit.window_seconds) + margin_seconds
        self._clock = clock
        # Pacing only makes sense for short windows: a leaky bucket for a day-long window
        # would drip at its daily average, and the log alone already bounds it exactly.
        self._pacer = AsyncLimiter(limit.limit, limit.window_seconds) if limit.window_seconds <= 60 else None
        self._log: deque[tuple[float, int]] = deque()
        self._sum = 0
        self.server_used = 0
        self.server_peak = 0
        self.waits = 0

    @property
    def key(self) -> str:
        return f"{self.limit.rate_limit_type}_{self.limit.header_suffix}"

    def _expire(self, now: float) -> None:
        horizon = now - self.window
        while self._log and self._log[0][0] <= horizon:
            self._sum -= self._log.popleft()[1]

    def used(self) -> int:
        self._expire(self._clock())
        return self._sum

    def _try_take(self, weight: int) -> float:
        """Take ``weight`` now and return 0, or return how long to wait before trying again."""
        now = self._clock()
        self._expire(now)
        if self._sum + weight <= self.limit.limit:
            self._log.append((now, weight))
            self._sum += weight
            return 0.0
        return max(self._log[0][0] + self.window - now, 0.001) if self._log else 0.001

    async def acquire(self, weight: int) -> None:
        if weight <= 0:
            return
        if weight > self.limit.limit:
            raise ValueError(f"{self.key}: a request of weight {weight} can never fit {self.limit.limit}")
        if self._pacer is not None:
            await self._pacer.acquire(weight)
        while (wait := self._try_take(weight)) > 0:
            self.waits += 1
            await asyncio.sleep(wait)

    def observe(self, server_used: int) -> None:
        """The server counted ``server_used`` in its current interval: if that is more than we
        sent (another client on the same IP or account), book the difference as used now."""
        self.server_used = server_used
        self.server_peak = max(self.server_peak, server_used)
        now = self._clock()
        self._expire(now)
        if server_used > self._sum:
            self._log.append((now, server_used - self._sum))
            self._sum = server_used


class RateLimiter:
    """All budgets of one client, the 429 gate and the 418 ban."""

    def __init__(
        self,
        limits: Iterable[RateLimit] = DEFAULT_LIMITS,
        *,
        margin_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self._margin = margin_seconds
        self._clock = clock
        self._wall_ms = wall_ms
        self.budgets: list[Budget] = []
        self.configure(limits)
        self._resume_at = 0.0  # monotonic time before which nothing is sent (429)
        self.banned_until_ms = 0
        self.rate_limited = 0

    def configure(self, limits: Iterable[RateLimit]) -> None:
        """(Re)build the budgets from exchangeInfo's ``rateLimits``. What was already sent
        (the requests that fetched exchangeInfo, at least) stays counted in every new budget
        of the same type, or the first burst after start-up could overshoot."""
        old = getattr(self, "budgets", [])
        budgets = []
        for rl in limits:
            if rl.rate_limit_type not in ("REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS"):
                continue
            budget = Budget(rl, margin_seconds=self._margin, clock=self._clock)
            sent = sorted(e for b in old if b.limit.rate_limit_type == rl.rate_limit_type for e in b._log)
            for when, weight in sent:
                budget._log.append((when, weight))
                budget._sum += weight
            budgets.append(budget)
        self.budgets = budgets
        self._index()

    def _of(self, kind: str) -> tuple[Budget, ...]:
        return tuple(b for b in self.budgets if b.limit.rate_limit_type == kind)

    def _index(self) -> None:
        """Budgets by type and the headers that correct them, looked up once per configure
        because both are needed on every request."""
        self._raw = self._of("RAW_REQUESTS")
        self._weight = self._of("REQUEST_WEIGHT")
        self._orders = self._of("ORDERS")
        self._headers = tuple(
            (
                f"x-mbx-{'used-weight' if b.limit.rate_limit_type == 'REQUEST_WEIGHT' else 'order-count'}-"
                f"{b.limit.header_suffix.lower()}",
                b,
            )
            for b in (*self._weight, *self._orders)
        )

    def check_ban(self) -> None:
        if self.banned_until_ms and self._wall_ms() < self.banned_until_ms:
            raise IpBanned(
                f"requests halted: the IP is banned by Binance until {self.banned_until_ms} (epoch ms)",
                until_ms=self.banned_until_ms,
                http_status=418,
            )

    async def acquire(self, *, weight: int, orders: int = 0) -> None:
        """Wait until the request fits every budget (and any 429 back-off is over)."""
        self.check_ban()
        while (delay := self._resume_at - self._clock()) > 0:
            await asyncio.sleep(delay)
            self.check_ban()
        for b in self._raw:
            await b.acquire(1)
        for b in self._weight:
            await b.acquire(weight)
        if orders:
            for b in self._orders:
                await b.acquire(orders)

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        """``headers`` must look names up case-insensitively (aiohttp's do)."""
        for name, budget in self._headers:
            value = headers.get(name)
            if value is not None and value.isdigit():
                budget.observe(int(value))

    def back_off(self, seconds: float) -> None:
        """A 429: nobody sends anything for ``seconds``."""
        self.rate_limited += 1
        self._resume_at = max(self._resume_at, self._clock() + seconds)

    def ban(self, until_ms: int, message: str) -> IpBanned:
        self.banned_until_ms = max(self.banned_until_ms, until_ms)
        log.critical(
            "ALERT: Binance banned this IP (HTTP 418) until %s (epoch ms); every request is halted "
            "until then. Reduce request rates before restarting. Server said: %s",
            self.banned_until_ms,
            message,
        )
        return IpBanned(
            f"IP banned by Binance until {self.banned_until_ms} (epoch ms): {message}",
            until_ms=self.banned_until_ms,
            http_status=418,
        )

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {
            b.key: {
                "limit": b.limit.limit,
                "used": b.used(),
                "server_used": b.server_used,
                "server_peak": b.server_peak,
                "waits": b.waits,
            }
            for b in self.budgets
        }
