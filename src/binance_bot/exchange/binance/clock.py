"""Server time: the offset between our clock and Binance's, measured and kept fresh.

Signed requests carry ``timestamp``; Binance rejects it (-1021) when it is more than 1 s
ahead of its clock or older than ``recvWindow``. We never widen ``recvWindow`` to paper over
a drifting clock: we measure the offset (half the round trip is the best estimate of the
one-way delay) and correct every timestamp with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class ServerClock:
    """Implements the engine's ``Clock`` port in server time."""

    def __init__(self, wall_ms: Callable[[], float] = lambda: time.time() * 1000) -> None:
        self._wall_ms = wall_ms
        self.offset_ms = 0.0
        self.round_trip_ms = 0.0
        self.synced_at_ms = 0.0
        self.syncs = 0

    def now_ms(self) -> int:
        return int(self._wall_ms() + self.offset_ms)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def sync(self, fetch_server_time: Callable[[], Awaitable[int]]) -> float:
        """Measure the offset with one ``GET /api/v3/time``; returns it in ms."""
        t0 = self._wall_ms()
        server = await fetch_server_time()
        t1 = self._wall_ms()
        self.round_trip_ms = t1 - t0
        self.offset_ms = server - (t0 + t1) / 2
        self.synced_at_ms = t1
        self.syncs += 1
        return self.offset_ms
