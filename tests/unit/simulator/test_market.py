"""The replayed market: path corners, partial bars, klines semantics and aggregation, the book."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.unit.simulator.conftest import FakeMonotonic, RecordingSink, build_market

from binance_bot.data import resample_bars
from binance_bot.matching import NewOrder, OrderAccepted
from binance_bot.model import OrderType, Side
from binance_bot.simulator.klines import parse_time_zone, servable, slot_open
from binance_bot.simulator.market import Market, corner_times

MINUTE = 60_000
HOUR = 60 * MINUTE


def test_each_bar_is_its_fill_model_path_at_the_corner_times(market: tuple[Market, RecordingSink]) -> None:
    m, sink = market
    start = m.now_ms
    feed = m.feed("BTCUSDT")
    bar = feed.tape.bar(feed.index)
    assert sink.ticks == [("BTCUSDT", 0, m.engine.path(bar)[0], start)]  # the start bar's open
    m.advance_bars(2)
    second = feed.tape.bar(feed.index - 1)
    expected = [
        *[
            ("BTCUSDT", c, p, t)
            for c, (p, t) in enumerate(zip(m.engine.path(bar), corner_times(bar), strict=True))
        ][1:],
        *[
            ("BTCUSDT", c, p, t)
            for c, (p, t) in enumerate(zip(m.engine.path(second), corner_times(second), strict=True))
        ],
        ("BTCUSDT", 0, m.engine.path(feed.tape.bar(feed.index))[0], start + 2 * MINUTE),
    ]
    assert sink.ticks[1:] == expected
    assert m.now_ms == start + 2 * MINUTE
    path = m.engine.path(bar)
    assert path == (
        (bar.open, bar.high, bar.low, bar.close)
        if bar.close >= bar.open
        else (bar.open, bar.low, bar.high, bar.close)
    )


def test_partial_bar_shows_only_what_happened() -> None:
    m, _ = build_market()
    feed = m.feed("BTCUSDT")
    full = feed.tape.bar(feed.index)
    seen = []
    for _ in range(3):
        partial = feed.partial_bar()
        assert partial is not None and not partial.closed
        done = feed.path[: feed.done]
        assert (partial.high, partial.low, partial.close) == (max(done), min(done), done[-1])
        assert partial.close_time == full.open_time + MINUTE - 1
        seen.append(partial.volume)
        m.advance_to(feed.times[feed.done])
    assert feed.partial_bar() == full  # closed: the file's bar itself
    assert seen[0] == 0 and seen == sorted(seen) and seen[-1] < full.volume
    klines = m.klines("BTCUSDT", "1m", start_ms=None, end_ms=None, limit=3)
    assert klines[-1] == full
    assert m.klines("BTCUSDT", "1m", start_ms=full.open_time + MINUTE, end_ms=None, limit=10) == []


def test_klines_start_end_limit(market: tuple[Market, RecordingSink]) -> None:
    m, _ = market
    tape = m.feed("BTCUSDT").tape
    now = m.now_ms
    newest = m.klines("BTCUSDT", "1m", start_ms=None, end_ms=None, limit=5)
    assert [b.open_time for b in newest] == [now - (4 - i) * MINUTE for i in range(5)]
    oldest = m.klines("BTCUSDT", "1m", start_ms=0, end_ms=None, limit=3)
    assert oldest == [tape.bar(0), tape.bar(1), tape.bar(2)]
    mid = now - 50 * MINUTE + 1  # inside a bar: klines open at or after it
    window = m.klines("BTCUSDT", "1m", start_ms=mid, end_ms=mid + 10 * MINUTE, limit=500)
    assert [b.open_time for b in window] == [now - 49 * MINUTE + i * MINUTE for i in range(10)]
    capped = m.klines("BTCUSDT", "1m", start_ms=None, end_ms=now - 100 * MINUTE, limit=2)
    assert [b.open_time for b in capped] == [now - 101 * MINUTE, now - 100 * MINUTE]
    assert m.klines("BTCUSDT", "1m", start_ms=None, end_ms=now + 9 * HOUR, limit=1)[0].open_time == now


@pytest.mark.parametrize("interval", ["3m", "5m", "15m", "1h"])
def test_aggregated_klines_are_resampled_base_bars(interval: str) -> None:
    m, _ = build_market(warmup_bars=300)
    m.advance_bars(7)
    tape = m.feed("BTCUSDT").tape
    history = tape.bars(0, m.feed("BTCUSDT").index)  # the finished base bars
    expected = {b.open_time: b for b in resample_bars(history, interval, partial="keep")}
    served = m.klines("BTCUSDT", interval, start_ms=0, end_ms=None, limit=1000)
    done = [b for b in served if b.closed]
    assert len(done) >= 3
    for bar in done[1:]:  # the first slot may start before the data
        ref = expected[bar.open_time]
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.quote_volume, bar.trades) == (
            ref.open,
            ref.high,
            ref.low,
            ref.close,
            ref.volume,
            ref.quote_volume,
            ref.trades,
        )
    current = served[-1]
    assert not current.closed
    assert current.open_time == slot_open(m.now_ms, interval, 0)
    assert current.close == m.last_price("BTCUSDT")


def test_time_zone_and_calendar_slots() -> None:
    m, _ = build_market(warmup_bars=600)
    tz = parse_time_zone("+05:30")
    assert tz == 5 * HOUR + 30 * MINUTE
    assert parse_time_zone("-1:00") == -HOUR
    assert parse_time_zone("8") == 8 * HOUR
    assert (
        parse_time_zone("15:00") is None and parse_time_zone("5:75") is None and parse_time_zone("x") is None
    )
    shifted = m.klines("BTCUSDT", "1h", start_ms=0, end_ms=None, limit=20, tz_ms=tz)
    assert all(b.open_time % HOUR == 30 * MINUTE for b in shifted)
    assert servable("1m", "1M", 0) and servable("1m", "1w", 0) and servable("1m", "3d", 0)
    assert (
        not servable("5m", "3m", 0) and not servable("1h", "1h", 30 * MINUTE) and not servable("1m", "2m", 0)
    )
    month = m.klines("BTCUSDT", "1M", start_ms=None, end_ms=None, limit=1)
    assert month[0].open_time == 1_704_067_200_000  # 2024-01-01T00:00Z
    week = m.klines("BTCUSDT", "1w", start_ms=None, end_ms=None, limit=1)
    assert week[0].open_time == 1_704_067_200_000  # a Monday


def test_book_and_depth_around_the_last_price(market: tuple[Market, RecordingSink]) -> None:
    m, _ = market
    last = m.last_price("BTCUSDT")
    assert last is not None
    bids, asks = m.depth("BTCUSDT", 50)
    assert len(bids) == len(asks) == 50
    tick, step = Decimal("0.01"), Decimal("0.00001")
    assert bids[0][0] <= last <= asks[0][0]
    assert asks[0][0] - bids[0][0] >= tick
    assert [p for p, _ in bids] == [bids[0][0] - i * tick for i in range(50)]
    assert [p for p, _ in asks] == [asks[0][0] + i * tick for i in range(50)]
    assert all(q > 0 and q % step == 0 for _, q in bids + asks)
    book = m.book_ticker("BTCUSDT")
    assert (book.bid_price, book.ask_price) == (bids[0][0], asks[0][0])
    m.advance_bars(1)
    assert m.book_ticker("BTCUSDT").update_id > book.update_id


def test_running_clock_interpolates_on_the_path_and_fills_market_orders_now() -> None:
    clock = FakeMonotonic()
    m, sink = build_market(speed=60.0, monotonic=clock)
    feed = m.feed("BTCUSDT")
    clock.now += 0.5  # 30 market seconds: past the first corner (20 s), before the second
    assert m.sync() == 1
    assert feed.done == 2
    clock.now += 0.1  # 6 more seconds (36 s): between corners 1 and 2
    t = m.clock.now_ms()
    price = feed.interpolated(t)
    lo, hi = sorted(feed.path[1:3])
    assert price is not None and lo <= price <= hi and price % feed.tick == 0
    accepted = m.engine.submit(
        "a", NewOrder("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=Decimal("0.01")), m.now_ms
    )
    assert isinstance(accepted, OrderAccepted)
    events = m.price_now("BTCUSDT")
    fills = [e.event.fill for e in events if getattr(e.event, "fill", None) is not None]
    assert len(fills) == 1 and fills[0] is not None and fills[0].time == t
    assert sink.ticks[-1] == ("BTCUSDT", None, price, t)


def test_ticker_24h_sums_the_window(market: tuple[Market, RecordingSink]) -> None:
    m, _ = market
    m.advance_bars(3)
    stats = m.ticker_24h("BTCUSDT")
    assert stats is not None
    feed = m.feed("BTCUSDT")
    bars = [feed.tape.bar(i) for i in range(feed.index)]
    partial = feed.partial_bar()
    assert partial is not None
    assert stats.volume == sum((b.volume for b in bars), partial.volume)  # all history is inside 24 hours
    assert stats.open_price == bars[0].open and stats.last == m.last_price("BTCUSDT")
    assert stats.high == max(max(b.high for b in bars), partial.high)
