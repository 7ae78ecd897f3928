"""Fault injection: the failures a bot must survive, on demand and reproducible.

One seeded generator makes every random decision, in the order requests and stream
messages arrive, so a scripted client meets the same faults at the same places on every run.
Settings are replaced whole (from a file at start, or ``PUT /admin/faults`` at run time);
replacing them reseeds the generator and restarts the burst schedule.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from binance_bot.simulator.clock import ProtocolClock
from binance_bot.simulator.config import FaultSettings

Monotonic = Callable[[], float]


@dataclass(frozen=True, slots=True)
class ServerErrorFault:
    status: int
    after: bool
    """True: the request is processed and only the answer is lost (status unknown to the client)."""


@dataclass(frozen=True, slots=True)
class StreamFault:
    duplicate: bool
    delay_s: float


_NO_STREAM_FAULT = StreamFault(False, 0.0)


class FaultInjector:
    def __init__(
        self, settings: FaultSettings, protocol_clock: ProtocolClock, monotonic: Monotonic = time.monotonic
    ) -> None:
        self._clock = protocol_clock
        self._monotonic = monotonic
        self._forced_burst_until = 0.0
        self._settings = settings
        self._rng = random.Random(settings.seed)
        self._since = monotonic()
        self.apply(settings)

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def apply(self, settings: FaultSettings) -> None:
        """Replace every setting at once; the clock skew takes effect immediately."""
        self._settings = settings
        self._rng = random.Random(settings.seed)
        self._since = self._monotonic()
        self._clock.skew_ms = settings.clock_skew_ms

    # ------------------------------------------------------------------ requests
    def latency_s(self) -> float:
        s = self._settings
        if s.latency_ms <= 0 and s.latency_min_ms <= 0:
            return 0.0
        if s.latency_kind == "fixed":
            ms = s.latency_ms
        elif s.latency_kind == "uniform":
            ms = self._rng.uniform(s.latency_min_ms, max(s.latency_min_ms, s.latency_ms))
        elif s.latency_kind == "normal":
            ms = max(s.latency_min_ms, self._rng.gauss(s.latency_ms, s.latency_stddev_ms))
        else:
            ms = s.latency_min_ms + self._rng.expovariate(1 / s.latency_ms) if s.latency_ms > 0 else 0.0
        return max(0.0, ms) / 1000

    def server_error(self) -> ServerErrorFault | None:
        s = self._settings
        if s.server_error_rate <= 0 or self._rng.random() >= s.server_error_rate:
            return None
        status = self._rng.choice(s.server_error_statuses)
        if s.server_error_phase == "mixed":
            after = self._rng.random() < 0.5
        else:
            after = s.server_error_phase == "after"
        return ServerErrorFault(status, after)

    def too_many_requests(self) -> bool:
        rate = self._settings.too_many_requests_rate
        return rate > 0 and self._rng.random() < rate

    def burst_remaining_s(self) -> float:
        """Seconds left of a forced 429 burst, 0 when none is on.

        Scheduled bursts take the last ``burst_429_duration_s`` of every
        ``burst_429_every_s`` period, so the first comes one period minus a burst after the
        settings were applied; ``force_burst`` starts one at once.
        """
        now = self._monotonic()
        remaining = max(0.0, self._forced_burst_until - now)
        s = self._settings
        if s.burst_429_every_s > 0 and s.burst_429_duration_s > 0:
            phase = (now - self._since) % s.burst_429_every_s
            start = s.burst_429_every_s - s.burst_429_duration_s
            if phase >= start:
                remaining = max(remaining, s.burst_429_every_s - phase)
        return remaining

    def force_burst(self, seconds: float) -> None:
        self._forced_burst_until = max(self._forced_burst_until, self._monotonic() + seconds)

    def clear_burst(self) -> None:
        self._forced_burst_until = 0.0

    # ------------------------------------------------------------------ streams
    def stream_fault(self) -> StreamFault:
        s = self._settings
        if s.stream_duplicate_rate <= 0 and s.stream_delay_rate <= 0:
            return _NO_STREAM_FAULT
        duplicate = s.stream_duplicate_rate > 0 and self._rng.random() < s.stream_duplicate_rate
        delayed = s.stream_delay_rate > 0 and self._rng.random() < s.stream_delay_rate
        return StreamFault(duplicate, s.stream_delay_ms / 1000 if delayed else 0.0)

    @property
    def ws_drop_every_s(self) -> float:
        return self._settings.ws_drop_every_s
