"""Builders for the simulator's unit tests: a market over the synthetic tapes, a recording sink."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from binance_bot.data import default_symbol_rules
from binance_bot.matching import AccountEvent, MatchingEngine
from binance_bot.simulator.clock import MarketClock
from binance_bot.simulator.market import Market, SymbolFeed
from binance_bot.simulator.tape import load_market


@dataclass
class RecordingSink:
    """Every price event the market reports: (symbol, corner, price, time)."""

    ticks: list[tuple[str, int | None, Decimal, int]] = field(default_factory=list)
    events: list[AccountEvent] = field(default_factory=list)

    def user_events(self, events: Sequence[AccountEvent]) -> None:
        self.events.extend(events)

    def price_tick(self, feed: SymbolFeed, corner: int | None) -> None:
        assert feed.last_price is not None
        self.ticks.append((feed.symbol, corner, feed.last_price, feed.last_time))


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def build_market(
    symbols: tuple[str, ...] = ("BTCUSDT",),
    *,
    warmup_bars: int = 200,
    speed: float | None = None,
    monotonic: FakeMonotonic | None = None,
) -> tuple[Market, RecordingSink]:
    loaded = load_market(
        symbols=symbols,
        interval="1m",
        data=(),
        seed=0,
        start_ms=None,
        warmup_bars=warmup_bars,
        running_clock_now_ms=None,
    )
    engine = MatchingEngine()
    for symbol in symbols:
        engine.add_symbol(default_symbol_rules(symbol))
    engine.open_account("a", {"USDT": Decimal(100_000), "BTC": Decimal(1)})
    clock = MarketClock(loaded.start_ms, speed, monotonic=monotonic or FakeMonotonic())
    sink = RecordingSink()
    return Market(engine, loaded.tapes, loaded.start_ms, clock, sink), sink


@pytest.fixture
def market() -> tuple[Market, RecordingSink]:
    return build_market()
