"""Prometheus metrics, read from the kernel and the exchange client when scraped.

Nothing here is incremented along the trading path: the engine and the exchange client
already count what they do (:class:`~binance_bot.engine.metrics.EngineMetrics`, the order
manager's counters, :class:`~binance_bot.exchange.binance.metrics.RequestMetrics`), and
:class:`BotCollector` turns that state into metric families at scrape time. So the trading
code pays nothing for monitoring, and a scrape always agrees with what the dashboard shows.

Each session gets its own :class:`~prometheus_client.CollectorRegistry` (never the process
global one), so two sessions in one process, or one test after another, cannot collide.
The names are listed in docs/monitoring.md.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from binance_bot.engine.metrics import LatencyHistogram
from binance_bot.model.numbers import ZERO

if TYPE_CHECKING:
    from binance_bot.engine.kernel import TradingKernel
    from binance_bot.monitoring.events import EventCounter
    from binance_bot.monitoring.webhook import WebhookNotifier

log = logging.getLogger(__name__)

PREFIX = "binance_bot"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BREAKER_STATES = ("closed", "open", "half_open")


def _add_histogram(family: HistogramMetricFamily, labels: list[str], hist: LatencyHistogram) -> None:
    """Milliseconds in the engine's buckets become seconds, Prometheus' base unit."""
    buckets = [
        ("+Inf" if bound == float("inf") else repr(bound / 1000), count) for bound, count in hist.cumulative()
    ]
    family.add_metric(labels, buckets=buckets, sum_value=hist.sum_ms / 1000)


def _stream_kind(stream: Mapping[str, Any]) -> str:
    # the user stream reports subscription failures; market streams report their stream count
    return "user" if "subscribe_failures" in stream else "market"


class BotCollector(Collector):
    """Reads one kernel (and its exchange client) into metric families at each scrape.

    ``api_metrics`` returns the exchange client's ``metrics()`` dict (the connector's, when
    there is one, adds the streams' counters); ``request_metrics`` is the REST client's
    :class:`RequestMetrics`, whose per-endpoint latency histograms have no place in that dict.
    """

    def __init__(
        self,
        kernel: TradingKernel,
        *,
        api_metrics: Callable[[], Mapping[str, Any]] | None = None,
        request_metrics: Any = None,
        events: EventCounter | None = None,
        webhook: WebhookNotifier | None = None,
    ) -> None:
        self.kernel = kernel
        self.api_metrics = api_metrics or kernel.exchange.metrics
        self.request_metrics = (
            request_metrics
            if request_metrics is not None
            else getattr(getattr(kernel.exchange, "rest", None), "metrics", None)
        )
        self.events = events
        self.webhook = webhook

    def collect(self) -> Iterator[Metric]:
        yield from self._kernel_metrics()
        yield from self._event_metrics()
        try:
            api = dict(self.api_metrics())
        except Exception:  # an exchange client that cannot report must not break the scrape
            log.debug("exchange metrics unavailable", exc_info=True)
            api = {}
        yield from api_families(api)
        yield from latency_families(getattr(self.request_metrics, "latency_histograms", None) or {})

    # ------------------------------------------------------------------ kernel
    def _kernel_metrics(self) -> Iterable[Metric]:
        k = self.kernel
        info = InfoMetricFamily(f"{PREFIX}_run", "The run: id, mode, strategy, quote asset.")
        info.add_metric(
            [],
            {"run_id": k.run_id, "mode": k.mode.value, "strategy": k.strategy.name, "quote_asset": k.quote},
        )
        yield info

        counters = k.orders.counters
        yield CounterMetricFamily(
            f"{PREFIX}_orders_sent", "Orders the exchange accepted.", value=counters.sent
        )
        rejected = CounterMetricFamily(
            f"{PREFIX}_orders_rejected", "Orders refused, by Binance error code.", labels=["code"]
        )
        for code, n in sorted(counters.rejections_by_code.items()):
            rejected.add_metric([str(code)], n)
        yield rejected
        yield CounterMetricFamily(
            f"{PREFIX}_orders_resent", "Placements sent again under the same id.", value=counters.resent
        )
        yield CounterMetricFamily(
            f"{PREFIX}_orders_unknown_resolved",
            "Placements whose outcome was unknown, found on the exchange.",
            value=counters.unknown_resolved,
        )

        m = k.metrics
        bars = CounterMetricFamily(f"{PREFIX}_bars_processed", "Closed bars handled.", labels=["symbol"])
        for symbol in sorted(k.workers):
            bars.add_metric([symbol], m.bars_by_symbol.get(symbol, 0))
        yield bars
        refused = CounterMetricFamily(
            f"{PREFIX}_entries_refused", "Entry signals the risk layer refused, by reason.", labels=["reason"]
        )
        for reason, n in sorted(m.entries_refused.items()):
            refused.add_metric([reason], n)
        yield refused
        yield CounterMetricFamily(
            f"{PREFIX}_user_stream_gaps",
            "User-stream gaps that forced a reconciliation.",
            value=m.stream_gaps,
        )
        yield CounterMetricFamily(
            f"{PREFIX}_malformed_events", "User events that could not be handled.", value=m.malformed_events
        )
        closed = CounterMetricFamily(
            f"{PREFIX}_trades_closed", "Round trips closed, by exit reason.", labels=["reason"]
        )
        for reason, n in sorted(Counter(t.exit_reason for t in k.portfolio.closed).items()):
            closed.add_metric([reason], n)
        yield closed

        hist = HistogramMetricFamily(
            f"{PREFIX}_bar_to_order_latency_seconds", "From a closed bar's arrival to its order going out."
        )
        _add_histogram(hist, [], m.bar_to_order_histogram)
        yield hist
        hist = HistogramMetricFamily(f"{PREFIX}_bar_handling_seconds", "Time to handle one closed bar.")
        _add_histogram(hist, [], m.bar_handling_histogram)
        yield hist

        realized = sum((t.pnl for t in k.portfolio.closed), ZERO)
        unrealized = ZERO
        position_pnl = GaugeMetricFamily(
            f"{PREFIX}_position_unrealized_pnl", "Unrealized PnL of each open position.", labels=["symbol"]
        )
        position_qty = GaugeMetricFamily(
            f"{PREFIX}_position_quantity", "Base quantity held in each open position.", labels=["symbol"]
        )
        for symbol, pos in sorted(k.portfolio.longs.items()):
            mark = k.marks.get(symbol, pos.entry_price)
            pnl = pos.held * mark + pos.proceeds - pos.cost
            unrealized += pnl
            position_pnl.add_metric([symbol], float(pnl))
            position_qty.add_metric([symbol], float(pos.held))
        yield position_pnl
        yield position_qty
        yield _gauge("equity", "Equity of the run in the quote asset.", k.equity())
        yield _gauge("realized_pnl", "PnL of the closed round trips.", realized)
        yield _gauge("unrealized_pnl", "PnL of the open positions at the last close.", unrealized)
        yield _gauge("open_positions", "Open positions.", k.portfolio.open_count)
        yield _gauge("kill_switch_tripped", "1 when the kill switch is tripped.", k.risk.kill_switch.tripped)
        yield _gauge("entries_paused", "1 when new entries are paused.", k.paused)
        yield _gauge("stopping", "1 once the run has been asked to stop.", k.stopping)
        yield _gauge(
            "last_bar_timestamp_seconds", "Close time of the newest bar handled.", k.last_bar_time / 1000
        )

    # ------------------------------------------------------------------ notifications
    def _event_metrics(self) -> Iterable[Metric]:
        if self.events is not None:
            fills = CounterMetricFamily(
                f"{PREFIX}_fills", "Fills (trades of our orders), by side.", labels=["side"]
            )
            for side in ("BUY", "SELL"):
                fills.add_metric([side], self.events.fills_by_side.get(side, 0))
            yield fills
            notes = CounterMetricFamily(
                f"{PREFIX}_notifications", "Events the kernel announced, by kind.", labels=["kind"]
            )
            for kind, n in sorted(self.events.by_kind.items()):
                notes.add_metric([kind], n)
            yield notes
        if self.webhook is not None:
            stats = self.webhook.stats
            for name, value, doc in (
                ("sent", stats.sent, "Webhook events delivered."),
                ("failed", stats.failed, "Webhook events given up after retries or a refusal."),
                ("dropped", stats.dropped, "Webhook events dropped from a full queue."),
                ("retries", stats.retries, "Webhook delivery retries."),
            ):
                yield CounterMetricFamily(f"{PREFIX}_webhook_{name}", doc, value=value)
            yield _gauge("webhook_queue_size", "Webhook events waiting.", self.webhook.queued)


# ---------------------------------------------------------------------- exchange client
def api_families(api: Mapping[str, Any]) -> Iterable[Metric]:
    """Families from the exchange client's ``metrics()`` dict (keys absent: no family)."""
    requests = CounterMetricFamily(
        f"{PREFIX}_api_requests", "REST requests sent, by endpoint.", labels=["endpoint"]
    )
    for endpoint, n in sorted(dict(api.get("by_endpoint", {})).items()):
        requests.add_metric([str(endpoint)], n)
    yield requests
    errors = CounterMetricFamily(
        f"{PREFIX}_api_errors",
        "REST errors by Binance code (or http_<status>, or the failure kind).",
        labels=["code"],
    )
    for code, n in sorted(dict(api.get("errors", {})).items()):
        errors.add_metric([str(code)], n)
    yield errors
    if "weight_used" in api:
        yield _gauge("api_weight_used", "Request weight used in the current window.", api["weight_used"])
    if "weight_used_server" in api:
        yield _gauge(
            "api_weight_used_server",
            "Request weight the exchange reported used (X-MBX-USED-WEIGHT).",
            api["weight_used_server"],
        )
    if "rate_limited_429" in api:
        yield CounterMetricFamily(
            f"{PREFIX}_api_rate_limited", "429 answers received.", value=api["rate_limited_429"]
        )
    if "cache_hit_rate" in api:
        yield _gauge("api_cache_hit_ratio", "Share of reads served from the cache.", api["cache_hit_rate"])
    if "clock_offset_ms" in api:
        yield _gauge(
            "api_clock_offset_seconds", "Exchange clock minus ours.", float(api["clock_offset_ms"]) / 1000
        )
    breakers = dict(api.get("breakers", {}))
    if breakers:
        family = GaugeMetricFamily(
            f"{PREFIX}_circuit_breaker_state",
            "1 for each endpoint group's current circuit state.",
            labels=["group", "state"],
        )
        for group, state in sorted(breakers.items()):
            for candidate in BREAKER_STATES:
                family.add_metric([group, candidate], 1.0 if state == candidate else 0.0)
        yield family
        yield _gauge(
            "circuit_breakers_open",
            "Endpoint groups whose circuit is not closed.",
            sum(1 for s in breakers.values() if s != "closed"),
        )
    streams = list(api.get("streams", []))
    if streams:
        reconnects = CounterMetricFamily(
            f"{PREFIX}_stream_reconnects", "WebSocket reconnections, by stream kind.", labels=["stream"]
        )
        connected = GaugeMetricFamily(
            f"{PREFIX}_stream_connected", "Connected WebSockets, by stream kind.", labels=["stream"]
        )
        messages = CounterMetricFamily(
            f"{PREFIX}_stream_messages", "WebSocket messages received, by stream kind.", labels=["stream"]
        )
        totals: dict[str, Counter[str]] = {"market": Counter(), "user": Counter()}
        for s in streams:
            kind = _stream_kind(s)
            totals[kind]["reconnects"] += int(s.get("reconnects", 0))
            totals[kind]["connected"] += int(s.get("connected", 0))
            totals[kind]["messages"] += int(s.get("messages", 0))
        for kind, values in totals.items():
            reconnects.add_metric([kind], values["reconnects"])
            connected.add_metric([kind], values["connected"])
            messages.add_metric([kind], values["messages"])
        yield reconnects
        yield connected
        yield messages


def latency_families(histograms: Mapping[str, LatencyHistogram]) -> Iterable[Metric]:
    """The REST client's per-endpoint latency histograms."""
    family = HistogramMetricFamily(
        f"{PREFIX}_api_request_latency_seconds", "REST request latency, by endpoint.", labels=["endpoint"]
    )
    for endpoint, hist in sorted(histograms.items()):
        _add_histogram(family, [endpoint], hist)
    yield family


def _gauge(name: str, doc: str, value: Decimal | float | int | bool) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=float(value))


def build_registry(collector: BotCollector) -> CollectorRegistry:
    """A fresh registry holding only ``collector`` (the process-global one is never used)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The text exposition format Prometheus scrapes."""
    return generate_latest(registry)
