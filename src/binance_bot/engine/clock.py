"""Clocks: wall time for live and paper trading, a manual clock for replay."""

from __future__ import annotations

import asyncio
import time


class WallClock:
    """Real time. ``now_ms`` is the local clock; the exchange adapter keeps its own offset."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """Simulated time that only moves when the replay driver says so.

    ``sleep`` yields to the event loop without waiting: in a replay, time passes because
    the driver feeds the next bar, never because a task slept.
    """

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance_to(self, ms: int) -> None:
        if ms < self._now:
            raise ValueError(f"time cannot go back: {ms} < {self._now}")
        self._now = ms

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)
