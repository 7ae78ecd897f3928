"""Watching an in-process run from outside the engine: which bars each worker saw, and for
how long a long stood on the exchange without protection.

Both are observers only: they wrap methods to record arguments and never change a result,
so the run they watch is the run the product makes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from tests.integration.reliability.invariants import ExchangeView, unprotected_longs

from binance_bot.engine.worker import SymbolWorker
from binance_bot.model import Bar


@dataclass
class BarLog:
    """Open times of the bars each symbol's worker took as history and as live bars."""

    warm: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    live: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    bars: dict[tuple[str, int], Bar] = field(default_factory=dict)
    """The last version of each bar a worker was given, by (symbol, open time)."""

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        warm_up, on_bar = SymbolWorker.warm_up, SymbolWorker.on_bar
        log = self

        def recording_warm_up(worker: SymbolWorker, bar: Bar) -> None:
            log.warm[worker.symbol].append(bar.open_time)
            log.bars[(bar.symbol, bar.open_time)] = bar
            warm_up(worker, bar)

        async def recording_on_bar(worker: SymbolWorker, bar: Bar, received_ns: int | None = None) -> None:
            log.live[worker.symbol].append(bar.open_time)
            log.bars[(bar.symbol, bar.open_time)] = bar
            await on_bar(worker, bar, received_ns)

        monkeypatch.setattr(SymbolWorker, "warm_up", recording_warm_up)
        monkeypatch.setattr(SymbolWorker, "on_bar", recording_on_bar)

    def problems(self, symbol: str, step_ms: int, last_open: int | None = None) -> list[str]:
        """Gaps, repeats and reordering across history and live bars; ``last_open`` is the
        open time of the last bar the exchange closed, which must have been handled."""
        seen = self.warm[symbol] + self.live[symbol]
        out = []
        for a, b in itertools.pairwise(seen):
            if b != a + step_ms:
                kind = "repeated" if b <= a else f"missing {(b - a) // step_ms - 1} bar(s)"
                out.append(f"{symbol}: {kind} between {a} and {b}")
        if last_open is not None and (not seen or seen[-1] != last_open):
            out.append(
                f"{symbol}: last bar handled {seen[-1] if seen else None}, the exchange closed {last_open}"
            )
        return out


class ProtectionWatch:
    """Samples the exchange and records, per symbol, the longest time a long went unprotected."""

    def __init__(self, view: Callable[[], ExchangeView | None], period_s: float = 0.02) -> None:
        self._view = view
        self._period = period_s
        self._since: dict[str, float] = {}
        self.longest_s: dict[str, float] = defaultdict(float)
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def worst_s(self) -> float:
        return max(self.longest_s.values(), default=0.0)

    def sample(self) -> None:
        view = self._view()
        if view is None:
            return
        now = time.monotonic()
        exposed = unprotected_longs(view)
        for symbol in list(self._since):
            if symbol not in exposed:
                del self._since[symbol]
        for symbol in exposed:
            since = self._since.setdefault(symbol, now)
            self.longest_s[symbol] = max(self.longest_s[symbol], now - since)
        self.samples += 1

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self._period)
