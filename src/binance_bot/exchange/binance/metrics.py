"""Request metrics of one client: counts, errors by code, latency percentiles, cache hits."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from typing import Any

from binance_bot.engine.metrics import LatencyHistogram


class RequestMetrics:
    """Cheap to update on every request; percentiles over the last ``window`` latencies."""

    def __init__(self, window: int = 2048) -> None:
        self.requests = 0
        self.retries = 0
        self.errors: Counter[str] = Counter()
        self.by_endpoint: Counter[str] = Counter()
        self._latencies: deque[float] = deque(maxlen=window)
        self._latency_total = 0.0
        self._latency_count = 0
        self.cache_hits = 0
        self.cache_misses = 0
        self.malformed = 0
        self.latency_histograms: defaultdict[str, LatencyHistogram] = defaultdict(LatencyHistogram)

    def record(self, endpoint: str, seconds: float) -> None:
        self.requests += 1
        self.by_endpoint[endpoint] += 1
        self._latencies.append(seconds)
        self._latency_total += seconds
        self._latency_count += 1
        self.latency_histograms[endpoint].observe(seconds * 1000)

    def record_error(self, key: str) -> None:
        """``key`` is Binance's code (``"-2010"``), ``"http_<status>"`` or an exception kind."""
        self.errors[key] += 1

    def cache(self, hit: bool) -> None:
        if hit:
            self.cache_hits += 1
        else:
            self.cache_misses += 1

    @property
    def cache_hit_rate(self) -> float:
        total = self.cache_hits + self.cache_misses
        return self.cache_hits / total if total else 0.0

    def percentile(self, q: float) -> float:
        if not self._latencies:
            return 0.0
        ordered = sorted(self._latencies)
        idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[idx]

    def snapshot(self) -> dict[str, Any]:
        avg = self._latency_total / self._latency_count if self._latency_count else 0.0
        return {
            "requests": self.requests,
            "retries": self.retries,
            "errors": dict(self.errors),
            "errors_total": sum(self.errors.values()),
            "latency_ms": {
                "avg": avg * 1000,
                "p50": self.percentile(0.50) * 1000,
                "p99": self.percentile(0.99) * 1000,
            },
            "avg_request_time_ms": avg * 1000,
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "cache_hit_rate": self.cache_hit_rate,
            "malformed_responses": self.malformed,
            "by_endpoint": dict(self.by_endpoint),
        }
