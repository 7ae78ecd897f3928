"""Counters and latency samples the engine keeps about itself (exported by monitoring/)."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, deque
from dataclasses import dataclass, field

from binance_bot.model import ClosedTrade


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a small sample; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


LATENCY_BOUNDS_MS: tuple[float, ...] = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


@dataclass(slots=True)
class LatencyHistogram:
    """Observations per latency bucket since start, for Prometheus histograms.

    The sample windows above forget old values (they serve percentiles); a histogram that
    monitoring exports must count every observation ever made, so it is kept beside them.
    """

    bounds_ms: tuple[float, ...] = LATENCY_BOUNDS_MS
    counts: list[int] = field(default_factory=list)
    count: int = 0
    sum_ms: float = 0.0

    def __post_init__(self) -> None:
        if len(self.counts) != len(self.bounds_ms) + 1:
            self.counts = [0] * (len(self.bounds_ms) + 1)

    def observe(self, ms: float) -> None:
        self.counts[bisect_left(self.bounds_ms, ms)] += 1  # a value equal to a bound belongs to it
        self.count += 1
        self.sum_ms += ms

    def cumulative(self) -> list[tuple[float, int]]:
        """``(upper bound in ms, observations <= bound)`` per bucket, the last bound ``inf``."""
        out: list[tuple[float, int]] = []
        running = 0
        for bound, n in zip((*self.bounds_ms, float("inf")), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


@dataclass(slots=True)
class EngineMetrics:
    bars_processed: int = 0
    bars_by_symbol: Counter[str] = field(default_factory=Counter)
    entries_refused: Counter[str] = field(default_factory=Counter)
    trades_closed: int = 0
    stream_gaps: int = 0
    malformed_events: int = 0
    worker_errors: int = 0
    bar_to_order_ms: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    bar_handling_ms: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    bar_to_order_histogram: LatencyHistogram = field(default_factory=LatencyHistogram)
    bar_handling_histogram: LatencyHistogram = field(default_factory=LatencyHistogram)
    order_processing_ms: dict[str, deque[float]] = field(default_factory=dict)
    """Per purpose (entry, exit): from the worker taking the bar off its queue to the order
    reaching the exchange client (intent durably written), without waiting behind other
    symbols. An exit includes cancelling the protective OCO first (a network round trip)."""
    order_processing_cpu_ms: dict[str, deque[float]] = field(default_factory=dict)
    """The same span in this thread's CPU time: our own work, without the time the OS gave
    the core to other processes (or, for an exit, the time spent awaiting the cancel)."""

    def bar(self, symbol: str, handling_ms: float) -> None:
        self.bars_processed += 1
        self.bars_by_symbol[symbol] += 1
        self.bar_handling_ms.append(handling_ms)
        self.bar_handling_histogram.observe(handling_ms)

    def bar_to_order(self, ms: float) -> None:
        self.bar_to_order_ms.append(ms)
        self.bar_to_order_histogram.observe(ms)

    def order_processing(self, ms: float, purpose: str, *, cpu_ms: float | None = None) -> None:
        self.order_processing_ms.setdefault(purpose, deque(maxlen=10_000)).append(ms)
        if cpu_ms is not None:
            self.order_processing_cpu_ms.setdefault(purpose, deque(maxlen=10_000)).append(cpu_ms)

    def entry_refused(self, reason: str) -> None:
        self.entries_refused[reason.split(":")[0]] += 1

    def trade_closed(self, trade: ClosedTrade) -> None:
        self.trades_closed += 1

    def latency_summary(self) -> dict[str, float]:
        sample = list(self.bar_to_order_ms)
        out = {
            "bar_to_order_p50_ms": percentile(sample, 50),
            "bar_to_order_p99_ms": percentile(sample, 99),
            "samples": float(len(sample)),
        }
        for purpose, values in self.order_processing_ms.items():
            own = list(values)
            out[f"{purpose}_processing_p50_ms"] = percentile(own, 50)
            out[f"{purpose}_processing_p99_ms"] = percentile(own, 99)
        return out
