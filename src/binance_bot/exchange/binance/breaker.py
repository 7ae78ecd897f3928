"""A circuit breaker per endpoint group: stop hammering an exchange that keeps failing.

CLOSED counts consecutive failures; ``failure_threshold`` of them OPEN the circuit, and
calls fail at once for ``reset_timeout`` seconds. Then one trial call is let through
(HALF_OPEN): success closes the circuit, failure opens it again. Only failures that say
"the exchange is unwell" (5xx, timeouts, connection errors) count; a rejected order or a bad
parameter is the caller's problem and leaves the circuit alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from binance_bot.errors import TemporaryExchangeError


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(TemporaryExchangeError):
    """The group's circuit is open: the call was not sent."""


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self.times_opened = 0

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.reset_timeout:
            self._state = BreakerState.HALF_OPEN
            self._trial_in_flight = False
        return self._state

    def before_call(self) -> None:
        """Raise :class:`CircuitOpen` unless a call may go out now."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return
        retry_in = max(self.reset_timeout - (self._clock() - self._opened_at), 0.0)
        raise CircuitOpen(
            f"circuit '{self.name}' is {state.value} after {self._failures} consecutive failures; "
            f"next trial in {retry_in:.1f}s",
            endpoint=self.name,
        )

    def record_success(self) -> None:
        self._failures = 0
        self._state = BreakerState.CLOSED
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            if self._state is not BreakerState.OPEN:
                self.times_opened += 1
            self._state = BreakerState.OPEN
            self._opened_at = self._clock()
            self._trial_in_flight = False

    def release_trial(self) -> None:
        """The trial call ended without saying anything about the exchange's health."""
        self._trial_in_flight = False
