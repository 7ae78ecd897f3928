"""The simulator's two clocks.

* The **protocol clock** is what ``GET /api/v3/time`` returns and what ``timestamp``,
  ``recvWindow`` and the rate-limit windows are checked against: wall time plus an injected
  skew. It never runs faster than the wall, so a client signing requests with its own clock
  can synchronise with it exactly as it does with Binance, whatever the market's speed.
* The **market clock** dates bars, fills, order times and stream events. It is *stepped*
  (it moves only when asked, for deterministic tests) or *running* at ``speed`` market
  seconds per wall second (1 = real time).

Both read the wall through injectable functions so that tests can drive them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

WallMs = Callable[[], int]
Monotonic = Callable[[], float]


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class ProtocolClock:
    """Wall time plus a skew (ms) that fault injection may change at any moment."""

    def __init__(self, wall: WallMs = wall_ms, skew_ms: int = 0) -> None:
        self._wall = wall
        self.skew_ms = skew_ms

    def now_ms(self) -> int:
        return self._wall() + self.skew_ms


class MarketClock:
    """Market time in ms: stepped (moved by :meth:`set`) or running at ``speed``."""

    def __init__(self, start_ms: int, speed: float | None, monotonic: Monotonic = time.monotonic) -> None:
        self._monotonic = monotonic
        self._anchor_ms = start_ms
        self._anchor_wall = monotonic()
        self._speed = speed

    @property
    def speed(self) -> float | None:
        return self._speed

    @property
    def stepped(self) -> bool:
        return self._speed is None

    def now_ms(self) -> int:
        if self._speed is None:
            return self._anchor_ms
        elapsed = self._monotonic() - self._anchor_wall
        return self._anchor_ms + int(elapsed * 1000 * self._speed)

    def set(self, market_ms: int) -> None:
        """Move a stepped clock (never backwards)."""
        if self._speed is not None:
            raise RuntimeError("a running market clock cannot be set; switch it to stepped first")
        if market_ms < self._anchor_ms:
            raise ValueError(f"market time cannot go back from {self._anchor_ms} to {market_ms}")
        self._anchor_ms = market_ms

    def set_speed(self, speed: float | None) -> None:
        """Switch between stepped and running (or change speed) without a jump in market time."""
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        now = self.now_ms()
        self._anchor_ms = now
        self._anchor_wall = self._monotonic()
        self._speed = speed

    def wall_seconds_until(self, market_ms: int) -> float:
        """How long (wall seconds) until a running clock reaches ``market_ms``; 0 when past."""
        if self._speed is None:
            return float("inf")
        return max(0.0, (market_ms - self.now_ms()) / 1000 / self._speed)
