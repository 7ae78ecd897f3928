"""Metric names and values after a scripted session on the in-process paper exchange.

The session is the engine scenario of tests/unit/engine/test_scenarios.py: ``sma_cross``
(2/3) on 1m bars of TESTUSDT; the closes 100, 100, 100, 99, 98, 99, 101 cross at bar 7,
the entry (24.75247 at 101.06, cost 2501.4846182 USDT) is protected by an OCO, and the next
bar (high 110) fills the take profit (24.72771 at 108.64, 0.1 % fee in USDT). A LOT_SIZE
refusal and a kill-switch trip follow, so every kind of number has a known value.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal as D

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.unit.engine.harness import SYMBOL, Harness, bars_from, flat_closes

from binance_bot.engine.kernel import TradingKernel
from binance_bot.engine.metrics import LatencyHistogram
from binance_bot.model import OrderRequest, OrderType, Side
from binance_bot.monitoring.events import EventCounter
from binance_bot.monitoring.metrics import (
    BotCollector,
    api_families,
    build_registry,
    latency_families,
    render,
)

ROWS = [
    *flat_closes([100, 100, 100, 99, 98, 99, 101]),
    (101, 101.5, 100.5, 101.2),  # the entry fills at this bar's open
    (101.2, 110, 101, 109),  # the take profit fills
]
COST = D("2501.4846182")
TP_QTY = D("24.72771")
PROCEEDS = (TP_QTY * D("108.64") * D("0.999")).quantize(D("0.00000001"))
PNL = PROCEEDS - COST

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(collector: BotCollector) -> tuple[Samples, dict[str, str]]:
    """Every sample by (name, labels), and every family's type, from the exposition text."""
    text = render(build_registry(collector)).decode()
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@dataclass
class Scripted:
    harness: Harness
    events: EventCounter

    @property
    def kernel(self) -> TradingKernel:
        return self.harness.kernel

    def collector(self) -> BotCollector:
        return BotCollector(self.kernel, events=self.events)


@pytest.fixture
async def session() -> AsyncIterator[Scripted]:
    h = Harness()
    events = EventCounter()
    h.kernel._notifier = events  # the kernel's one notification hook, which the Session fills
    await h.start()
    await h.feed(bars_from(ROWS))
    yield Scripted(h, events)
    await h.stop()


async def test_counters_gauges_and_histograms_after_a_round_trip(session: Scripted) -> None:
    k = session.kernel
    samples, types = scrape(session.collector())

    info = value(
        samples,
        "binance_bot_run_info",
        run_id=k.run_id,
        mode="paper",
        strategy="sma_cross",
        quote_asset="USDT",
    )
    assert info == 1
    # entry + OCO accepted; one BUY fill, one SELL fill; the round trip closed at take profit
    assert value(samples, "binance_bot_orders_sent_total") == k.orders.counters.sent == 2
    assert value(samples, "binance_bot_fills_total", side="BUY") == 1
    assert value(samples, "binance_bot_fills_total", side="SELL") == 1
    assert value(samples, "binance_bot_trades_closed_total", reason="take_profit") == 1
    assert value(samples, "binance_bot_notifications_total", kind="exit") == 1
    assert value(samples, "binance_bot_bars_processed_total", symbol=SYMBOL) == len(ROWS)
    assert value(samples, "binance_bot_realized_pnl") == pytest.approx(float(PNL))
    assert value(samples, "binance_bot_equity") == pytest.approx(float(D(10000) + PNL))
    assert value(samples, "binance_bot_unrealized_pnl") == 0
    assert value(samples, "binance_bot_open_positions") == 0
    assert value(samples, "binance_bot_kill_switch_tripped") == 0
    assert value(samples, "binance_bot_entries_paused") == 0
    assert value(samples, "binance_bot_last_bar_timestamp_seconds") == bars_from(ROWS)[-1].close_time / 1000

    # the entry went out after its bar, the exit was the OCO already resting: one latency sample
    assert value(samples, "binance_bot_bar_to_order_latency_seconds_count") == 1
    assert value(samples, "binance_bot_bar_to_order_latency_seconds_bucket", le="+Inf") == 1
    assert value(samples, "binance_bot_bar_handling_seconds_count") == len(ROWS)
    assert types["binance_bot_bar_to_order_latency_seconds"] == "histogram"
    assert types["binance_bot_orders_sent"] == "counter"
    assert types["binance_bot_equity"] == "gauge"
    # the paper exchange counts requests by endpoint and has no REST latency to report
    by_endpoint = {
        dict(labels)["endpoint"]: v
        for (name, labels), v in samples.items()
        if name == "binance_bot_api_requests_total"
    }
    assert by_endpoint == session.harness.exchange.metrics()["by_endpoint"]
    assert sum(by_endpoint.values()) == session.harness.exchange.metrics()["requests"] > 0
    assert not [key for key in samples if key[0].startswith("binance_bot_api_request_latency_seconds")]


async def test_rejections_by_code_and_the_kill_switch(session: Scripted) -> None:
    k = session.kernel
    _, coid = k.orders.next_id(SYMBOL)
    tiny = OrderRequest(SYMBOL, Side.BUY, OrderType.MARKET, coid, quantity=D("0.000001"))
    assert await k.orders.place(tiny, purpose="entry") is None
    await k.kill(flatten=False, reason="test")
    samples, _ = scrape(session.collector())

    assert value(samples, "binance_bot_orders_rejected_total", code="-1013") == 1
    assert value(samples, "binance_bot_api_errors_total", code="-1013") == 1
    assert value(samples, "binance_bot_notifications_total", kind="rejected") == 1
    assert value(samples, "binance_bot_kill_switch_tripped") == 1
    assert value(samples, "binance_bot_entries_paused") == 1
    assert value(samples, "binance_bot_notifications_total", kind="kill_switch") == 1


async def test_open_position_gauges_and_per_session_registries() -> None:
    h = Harness()
    await h.start()
    await h.feed(bars_from(ROWS[:-1]))  # entered, not yet out
    pos = h.kernel.portfolio.position(SYMBOL)
    assert pos is not None
    first, second = BotCollector(h.kernel), BotCollector(h.kernel)
    samples, _ = scrape(first)
    again, _ = scrape(second)  # a second registry for the same names: no collision
    mark = h.kernel.marks[SYMBOL]
    unrealized = pos.held * mark + pos.proceeds - pos.cost
    assert value(samples, "binance_bot_open_positions") == 1
    assert value(samples, "binance_bot_position_quantity", symbol=SYMBOL) == float(pos.held)
    assert value(samples, "binance_bot_position_unrealized_pnl", symbol=SYMBOL) == pytest.approx(
        float(unrealized)
    )
    assert value(samples, "binance_bot_unrealized_pnl") == pytest.approx(float(unrealized))
    assert samples == again
    await h.stop()


def test_exchange_client_metrics_map_to_api_families() -> None:
    """The keys of ``BinanceExchangeClient.metrics()`` (and the connector's stream list)."""
    api = {
        "requests": 12,
        "by_endpoint": {"/api/v3/order": 3, "/api/v3/klines": 9},
        "errors": {"-2010": 2, "http_503": 1},
        "weight_used": 57,
        "weight_used_server": 55,
        "rate_limited_429": 1,
        "cache_hit_rate": 0.25,
        "clock_offset_ms": -12,
        "breakers": {"trade": "open", "market": "closed", "account": "half_open"},
        "streams": [
            {"connections": 1, "streams": 2, "connected": 1, "reconnects": 3, "messages": 40},
            {"connected": True, "reconnects": 1, "messages": 7, "subscribe_failures": 0},
        ],
    }
    latency = LatencyHistogram()
    for ms in (0.5, 4.0, 4.0, 30.0, 20_000.0):
        latency.observe(ms)
    families = [*api_families(api), *latency_families({"/api/v3/order": latency})]
    samples = {(s.name, frozenset(s.labels.items())): s.value for f in families for s in f.samples}
    assert value(samples, "binance_bot_api_requests_total", endpoint="/api/v3/klines") == 9
    assert value(samples, "binance_bot_api_errors_total", code="-2010") == 2
    assert value(samples, "binance_bot_api_errors_total", code="http_503") == 1
    assert value(samples, "binance_bot_api_weight_used") == 57
    assert value(samples, "binance_bot_api_rate_limited_total") == 1
    assert value(samples, "binance_bot_api_cache_hit_ratio") == 0.25
    assert value(samples, "binance_bot_api_clock_offset_seconds") == -0.012
    assert value(samples, "binance_bot_circuit_breaker_state", group="trade", state="open") == 1
    assert value(samples, "binance_bot_circuit_breaker_state", group="trade", state="closed") == 0
    assert value(samples, "binance_bot_circuit_breaker_state", group="account", state="half_open") == 1
    assert value(samples, "binance_bot_circuit_breakers_open") == 2
    assert value(samples, "binance_bot_stream_reconnects_total", stream="market") == 3
    assert value(samples, "binance_bot_stream_reconnects_total", stream="user") == 1
    assert value(samples, "binance_bot_stream_connected", stream="user") == 1
    # buckets are cumulative, in seconds; 4 ms lands in le=0.005, 20 s only in +Inf
    order = {"endpoint": "/api/v3/order"}
    assert value(samples, "binance_bot_api_request_latency_seconds_bucket", le="0.001", **order) == 1
    assert value(samples, "binance_bot_api_request_latency_seconds_bucket", le="0.005", **order) == 3
    assert value(samples, "binance_bot_api_request_latency_seconds_bucket", le="0.05", **order) == 4
    assert value(samples, "binance_bot_api_request_latency_seconds_bucket", le="10.0", **order) == 4
    assert value(samples, "binance_bot_api_request_latency_seconds_bucket", le="+Inf", **order) == 5
    assert value(samples, "binance_bot_api_request_latency_seconds_count", **order) == 5
    assert value(samples, "binance_bot_api_request_latency_seconds_sum", **order) == pytest.approx(20.0385)


def test_latency_histogram_puts_a_value_on_a_bound_into_that_bucket() -> None:
    h = LatencyHistogram(bounds_ms=(1.0, 10.0))
    for ms in (1.0, 1.0001, 10.0, 11.0):
        h.observe(ms)
    assert h.cumulative() == [(1.0, 1), (10.0, 3), (float("inf"), 4)]
    assert (h.count, h.sum_ms) == (4, pytest.approx(23.0001))
