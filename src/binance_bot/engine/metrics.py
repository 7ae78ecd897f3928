"""Counters and latency samples the engine keeps about itself (exported by monitoring/)."""

from __future__ import annotations

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


@dataclass(slots=True)
class EngineMetrics:
    bars_processed: int = 0
    bars_by_symbol: Counter[str] = field(default_factory=Counter)
    entries_refused: Counter[str] = field(default_factory=Counter)
    trades_closed: int = 0
    stream_gaps: int = 0
    malformed_events: int = 0
    bar_to_order_ms: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    bar_handling_ms: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))

    def bar(self, symbol: str, handling_ms: float) -> None:
        self.bars_processed += 1
        self.bars_by_symbol[symbol] += 1
        self.bar_handling_ms.append(handling_ms)

    def bar_to_order(self, ms: float) -> None:
        self.bar_to_order_ms.append(ms)

    def entry_refused(self, reason: str) -> None:
        self.entries_refused[reason.split(":")[0]] += 1

    def trade_closed(self, trade: ClosedTrade) -> None:
        self.trades_closed += 1

    def latency_summary(self) -> dict[str, float]:
        sample = list(self.bar_to_order_ms)
        return {
            "bar_to_order_p50_ms": percentile(sample, 50),
            "bar_to_order_p99_ms": percentile(sample, 99),
            "samples": float(len(sample)),
        }
