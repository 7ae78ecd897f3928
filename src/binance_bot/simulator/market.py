"""The replayed market: bars walked along the fill model's intrabar path, on the market clock.

Each bar is four price events, the fill model's path (``docs/fill-model.md`` R2): the open at
the bar's open time, the two extremes at one and two thirds of it, the close at its close
time. The matching engine sees every event (so resting and stop orders fill exactly as in a
backtest of the same bars); streams see them as trades, book tickers and partial klines.
Nothing after the current event is ever served: the current bar appears as the part of its
path already walked, with its volume pro rata to the time elapsed.

A running clock may add interpolated prices between two corners of the path (they stay on
the path, so fills are unchanged, R2); a MARKET order in a running clock fills at once at
the price interpolated for *now*, which is the fill model's own way to fill "at the next
price event" without making the client wait (R9).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Protocol

from binance_bot.matching import AccountEvent, MatchingEngine
from binance_bot.model import Bar, BookTicker, SymbolRules
from binance_bot.model.numbers import MONEY_CONTEXT, ZERO
from binance_bot.simulator.clock import MarketClock
from binance_bot.simulator.klines import aggregate, next_slot_open, slot_close, slot_open
from binance_bot.simulator.tape import BarTape

_DAY_MS = 86_400_000
_MINUTE_MS = 60_000
_EIGHT = Decimal("0.00000001")


def corner_times(bar: Bar) -> tuple[int, int, int, int]:
    """When the four corners of a bar's path happen: open, one third, two thirds, close."""
    span = max(bar.close_time - bar.open_time, 3)
    return (bar.open_time, bar.open_time + span // 3, bar.open_time + 2 * span // 3, bar.open_time + span)


class MarketSink(Protocol):
    """Where the market reports what happened (the server: user streams and market streams)."""

    def user_events(self, events: Sequence[AccountEvent]) -> None: ...

    def price_tick(self, feed: SymbolFeed, corner: int | None) -> None: ...


@dataclass(slots=True)
class Ticker24:
    """Rolling 24-hour statistics of one symbol at the current market time."""

    open_price: Decimal
    high: Decimal
    low: Decimal
    last: Decimal
    volume: Decimal
    quote_volume: Decimal
    open_time: int
    close_time: int
    first_id: int
    last_id: int
    count: int


class SymbolFeed:
    """Where one symbol's replay stands: the current bar, how much of its path is done, ids."""

    def __init__(self, tape: BarTape, rules: SymbolRules, tick: Decimal, step: Decimal) -> None:
        self.tape = tape
        self.rules = rules
        self.symbol = rules.symbol
        self.tick = tick
        self.step = step
        self.index = -1
        self.bar: Bar | None = None
        self.path: tuple[Decimal, ...] = ()
        self.times: tuple[int, ...] = ()
        self.done = 0
        self.bar_open = False
        self.high = ZERO
        self.low = ZERO
        self.last_price: Decimal | None = None
        self.prev_price: Decimal | None = None
        self.last_time = 0
        self.update_id = 0
        self.trade_id = 0
        self.last_trade_qty = ZERO
        self.buyer_is_maker = False
        self._volume_emitted = ZERO

    # ------------------------------------------------------------------ schedule
    def next_event_time(self) -> int | None:
        if self.bar_open:
            return self.times[self.done]
        nxt = self.index + 1
        if self.tape.endless:
            return self.tape.open_time(nxt)
        return self.tape.open_time(nxt) if nxt < len(self.tape) else None

    @property
    def finished(self) -> bool:
        """The tape is exhausted: the market stays at its last price forever."""
        return not self.bar_open and not self.tape.endless and self.index + 1 >= len(self.tape)

    @property
    def settled_ms(self) -> int:
        """Every candle ending at or before this time is final."""
        if self.bar is None:
            return self.tape.open_time(0) - 1 if len(self.tape) else -1
        if self.bar_open:
            return self.bar.open_time - 1
        return self.bar.open_time + self.tape.interval_ms - 1

    # ------------------------------------------------------------------ current bar
    def fraction(self) -> Decimal:
        """How much of the current bar has elapsed (0 at its open, 1 at its close)."""
        bar = self.bar
        if bar is None or not self.bar_open:
            return Decimal(1)
        span = bar.close_time - bar.open_time
        if span <= 0:
            return Decimal(1)
        done = min(max(self.last_time - bar.open_time, 0), span)
        return Decimal(done) / Decimal(span)

    def partial_bar(self) -> Bar | None:
        """The current bar as far as it has happened; the whole bar once it closed."""
        bar = self.bar
        if bar is None:
            return None
        if not self.bar_open:
            return bar
        f = self.fraction()

        def part(value: Decimal, unit: Decimal) -> Decimal:
            return MONEY_CONTEXT.multiply(value, f).quantize(unit, rounding=ROUND_DOWN, context=MONEY_CONTEXT)

        assert self.last_price is not None
        return Bar(
            symbol=bar.symbol,
            interval=bar.interval,
            open_time=bar.open_time,
            close_time=bar.open_time + self.tape.interval_ms - 1,
            open=self.path[0],
            high=self.high,
            low=self.low,
            close=self.last_price,
            volume=part(bar.volume, self.step),
            quote_volume=part(bar.quote_volume, _EIGHT),
            trades=int(bar.trades * f),
            taker_buy_base=part(bar.taker_buy_base, self.step),
            taker_buy_quote=part(bar.taker_buy_quote, _EIGHT),
            closed=False,
        )

    def interpolated(self, t: int) -> Decimal | None:
        """The price at time ``t`` on the current segment of the path, on the tick grid."""
        if not self.bar_open or self.done == 0 or self.done >= len(self.path):
            return None
        j = self.done - 1
        t0, t1 = self.times[j], self.times[j + 1]
        if not t0 < t < t1:
            return None
        p0, p1 = self.path[j], self.path[j + 1]
        raw = p0 + (p1 - p0) * Decimal(t - t0) / Decimal(t1 - t0)
        ticks = (raw / self.tick).quantize(Decimal(1), rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)
        return (ticks * self.tick).quantize(self.tick, context=MONEY_CONTEXT)

    def record(self, price: Decimal, t: int, *, in_bar: bool) -> None:
        """Book-keeping of one processed price event: the aggressor side, ids, the trade size.

        The public trade's size is the bar volume the event adds (pro rata to time), so the
        trades of one bar add up to its volume; an event outside any bar trades one step.
        """
        if self.last_price is not None and price != self.last_price:
            self.buyer_is_maker = price < self.last_price
        self.prev_price = self.last_price
        self.last_price = price
        self.last_time = t
        self.update_id += 1
        self.trade_id += 1
        if not in_bar or self.bar is None:
            self.last_trade_qty = self.step
            return
        volume = self.partial_bar().volume if self.bar_open else self.bar.volume  # type: ignore[union-attr]
        self.last_trade_qty = max(self.step, volume - self._volume_emitted)
        self._volume_emitted = volume if self.bar_open else ZERO


class Market:
    """Every symbol's feed, the matching engine they drive, and the market data they serve."""

    def __init__(
        self,
        engine: MatchingEngine,
        tapes: dict[str, BarTape],
        start_ms: int,
        clock: MarketClock,
        sink: MarketSink,
        *,
        spread_bps: Decimal = Decimal("2"),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self._sink = sink
        self._spread = spread_bps / Decimal(10_000)
        self.interval = next(iter(tapes.values())).interval
        self.interval_ms = next(iter(tapes.values())).interval_ms
        self.feeds: dict[str, SymbolFeed] = {}
        self._agg_cache: dict[tuple[str, str, int], dict[int, Bar]] = {}
        self._depth_cache: dict[
            str, tuple[int, int, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]
        ] = {}
        self._now = start_ms
        for symbol in sorted(tapes):
            rules = engine.rules(symbol)
            tick = rules.tick_size if rules.tick_size > 0 else Decimal(1).scaleb(-rules.quote_asset_precision)
            step = rules.step_size if rules.step_size > 0 else Decimal(1).scaleb(-rules.base_asset_precision)
            feed = SymbolFeed(tapes[symbol], rules, tick, step)
            self.feeds[symbol] = feed
            self._warm_up(feed, start_ms)
        self.advance_to(start_ms)

    def _warm_up(self, feed: SymbolFeed, start_ms: int) -> None:
        """Replay the history bars the average price needs (R18), so filters work from the start."""
        tape = feed.tape
        tape.ensure(start_ms)
        first = tape.first_index_at_or_after(start_ms)
        if first == 0:
            return
        horizon = start_ms - feed.rules.avg_price_mins * _MINUTE_MS - tape.interval_ms
        begin = max(0, min(first - 1, tape.first_index_at_or_after(horizon)))
        for index in range(begin, first):
            bar = tape.bar(index)
            self.engine.on_bar(bar)
            feed.index = index
            feed.bar = bar
        feed.last_price = self.engine.last_price(feed.symbol)
        feed.last_time = feed.bar.close_time if feed.bar is not None else 0
        feed.high = feed.low = feed.last_price or ZERO

    # ================================================================== time
    @property
    def now_ms(self) -> int:
        """The market time everything served is consistent with."""
        return self._now

    @property
    def symbols(self) -> list[str]:
        return list(self.feeds)

    def feed(self, symbol: str) -> SymbolFeed:
        return self.feeds[symbol]

    def next_event_time(self) -> int | None:
        times = [t for t in (f.next_event_time() for f in self.feeds.values()) if t is not None]
        return min(times) if times else None

    def sync(self) -> int:
        """Catch a running clock up: process every path corner due by now; returns how many."""
        if self.clock.stepped:
            return 0
        return self.advance_to(self.clock.now_ms())

    def advance_to(self, target_ms: int) -> int:
        """Process every price event up to ``target_ms`` in time order (symbols in name order)."""
        processed = 0
        while True:
            best: SymbolFeed | None = None
            best_t = 0
            for feed in self.feeds.values():
                t = feed.next_event_time()
                if t is not None and t <= target_ms and (best is None or t < best_t):
                    best, best_t = feed, t
            if best is None:
                break
            self._corner(best)
            processed += 1
        if target_ms > self._now:
            self._now = target_ms
        if self.clock.stepped and self._now > self.clock.now_ms():
            self.clock.set(self._now)
        return processed

    def advance_bars(self, bars: int) -> int:
        """Move a stepped market ``bars`` base intervals on, to the next bar opens."""
        if bars < 0:
            raise ValueError("bars must be >= 0")
        base = self._now // self.interval_ms * self.interval_ms
        return self.advance_to(base + bars * self.interval_ms)

    def _corner(self, feed: SymbolFeed) -> None:
        engine = self.engine
        if not feed.bar_open:
            feed.index += 1
            feed.tape.ensure(feed.tape.open_time(feed.index))
            bar = feed.tape.bar(feed.index)
            engine.begin_bar(bar)
            feed.bar = bar
            feed.path = engine.path(bar)
            feed.times = corner_times(bar)
            feed.done = 0
            feed.bar_open = True
            feed.high = feed.low = feed.path[0]
        corner = feed.done
        price = feed.path[corner]
        t = feed.times[corner]
        events = engine.price_event(feed.symbol, price, t)
        feed.done += 1
        if feed.done == len(feed.path):
            engine.end_bar(feed.symbol)
            feed.bar_open = False
        feed.high = max(feed.high, price)
        feed.low = min(feed.low, price)
        feed.record(price, t, in_bar=True)
        self._now = max(self._now, t)
        if events:
            self._sink.user_events(events)
        self._sink.price_tick(feed, corner)

    def price_now(self, symbol: str) -> list[AccountEvent]:
        """A price event at the current market time (interpolated on the path, or the last price).

        In a running clock this is how orders meet the market "now"; the stepped clock never
        calls it, so its fills depend only on the path's corners.
        """
        self.sync()
        feed = self.feeds[symbol]
        now = self._now
        price = feed.interpolated(now)
        if price is None:
            price = feed.last_price
        if price is None:
            return []
        events = self.engine.price_event(symbol, price, now)
        in_bar = feed.bar_open
        if in_bar:
            feed.high = max(feed.high, price)
            feed.low = min(feed.low, price)
        feed.record(price, max(now, feed.last_time), in_bar=in_bar)
        if events:
            self._sink.user_events(events)
        self._sink.price_tick(feed, None)
        return events

    def tick_all(self, min_gap_ms: int) -> None:
        """Interpolated prices for the streams of a running clock, where none came recently."""
        self.sync()
        for symbol, feed in self.feeds.items():
            due = feed.bar_open and feed.done and self._now - feed.last_time >= min_gap_ms
            if due and feed.interpolated(self._now) is not None:
                self.price_now(symbol)

    # ================================================================== market data
    def last_price(self, symbol: str) -> Decimal | None:
        return self.feeds[symbol].last_price

    def avg_price(self, symbol: str) -> Decimal | None:
        return self.engine.avg_price(symbol, self._now)

    def book_ticker(self, symbol: str) -> BookTicker:
        bids, asks = self.depth(symbol, 1)
        feed = self.feeds[symbol]
        bid = bids[0] if bids else (ZERO, ZERO)
        ask = asks[0] if asks else (ZERO, ZERO)
        return BookTicker(symbol, bid[0], bid[1], ask[0], ask[1], update_id=feed.update_id)

    def depth(
        self, symbol: str, limit: int
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """A synthetic book around the last price: ``spread_bps`` wide (at least one tick), one
        tick between levels, quantities on the step grid that vary with the level and update.

        The book changes only with a price event, so it is built once per event (and depth)."""
        feed = self.feeds[symbol]
        cached = self._depth_cache.get(symbol)
        if cached is not None and cached[0] == feed.update_id and cached[1] >= limit:
            return cached[2][:limit], cached[3][:limit]
        price = feed.last_price
        if price is None:
            return [], []
        tick = feed.tick
        width = max(1, int((price * self._spread / tick).to_integral_value(rounding=ROUND_DOWN)))
        last_ticks = int((price / tick).to_integral_value(rounding=ROUND_HALF_UP))
        bid_ticks = max(1, last_ticks - width // 2)
        ask_ticks = bid_ticks + width
        base = self._level_base_qty(feed)
        bids: list[tuple[Decimal, Decimal]] = []
        asks: list[tuple[Decimal, Decimal]] = []
        for level in range(limit):
            if bid_ticks - level >= 1:
                bids.append((self._price(bid_ticks - level, tick), self._level_qty(feed, base, 0, level)))
            asks.append((self._price(ask_ticks + level, tick), self._level_qty(feed, base, 1, level)))
        self._depth_cache[symbol] = (feed.update_id, limit, bids, asks)
        return bids, asks

    @staticmethod
    def _price(ticks: int, tick: Decimal) -> Decimal:
        return (Decimal(ticks) * tick).quantize(tick, context=MONEY_CONTEXT)

    def _level_base_qty(self, feed: SymbolFeed) -> Decimal:
        """Typical level size: a twentieth of the last *finished* bar's volume (never the future)."""
        tape = feed.tape
        index = feed.index - 1 if feed.bar_open else feed.index
        volume = tape.bar(index).volume if 0 <= index < len(tape) else ZERO
        return max(feed.step, (volume / 20).quantize(feed.step, rounding=ROUND_DOWN, context=MONEY_CONTEXT))

    @staticmethod
    def _level_qty(feed: SymbolFeed, base: Decimal, side: int, level: int) -> Decimal:
        mix = (feed.update_id * 2654435761 + level * 40503 + side * 9973) % 1000
        qty = base * (Decimal(500 + mix) / Decimal(1000))
        return max(feed.step, qty.quantize(feed.step, rounding=ROUND_DOWN, context=MONEY_CONTEXT))

    # ------------------------------------------------------------------ klines
    def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        tz_ms: int = 0,
    ) -> list[Bar]:
        """Binance's klines semantics, never past the current event.

        With ``start_ms`` the oldest candles opening at or after it; without, the most recent
        ones (opening at or before ``end_ms`` when given). The current candle is partial.
        """
        feed = self.feeds[symbol]
        upper = feed.last_time if feed.bar is not None else -1
        if end_ms is not None:
            upper = min(upper, end_ms)
        if upper < 0 or limit <= 0:
            return []
        if interval == self.interval and tz_ms == 0:
            return self._base_klines(feed, start_ms, upper, limit)
        return self._agg_klines(feed, interval, tz_ms, start_ms, upper, limit)

    @staticmethod
    def _served(feed: SymbolFeed, index: int) -> Bar:
        """A base candle as it may be served now: the current one only as far as it happened."""
        if index == feed.index:
            partial = feed.partial_bar()
            if partial is not None:
                return partial
        return feed.tape.bar(index)

    def _base_klines(self, feed: SymbolFeed, start_ms: int | None, upper: int, limit: int) -> list[Bar]:
        tape = feed.tape
        last = min(feed.index, tape.last_index_at_or_before(upper))
        if last < 0:
            return []
        if start_ms is not None:
            first = tape.first_index_at_or_after(start_ms)
            stop = min(last + 1, first + limit)
        else:
            stop = last + 1
            first = max(0, stop - limit)
        return [self._served(feed, i) for i in range(first, stop)]

    def _agg_klines(
        self,
        feed: SymbolFeed,
        interval: str,
        tz_ms: int,
        start_ms: int | None,
        upper: int,
        limit: int,
    ) -> list[Bar]:
        tape = feed.tape
        last_index = min(feed.index, tape.last_index_at_or_before(upper))
        if last_index < 0:
            return []
        out: list[Bar] = []
        if start_ms is not None:
            first_slot = slot_open(start_ms, interval, tz_ms)
            if first_slot < start_ms:
                first_slot = next_slot_open(first_slot, interval, tz_ms)
            index = tape.first_index_at_or_after(first_slot)
            while len(out) < limit and index <= last_index:
                opened = slot_open(tape.open_time(index), interval, tz_ms)
                if opened > upper:
                    break
                bar, index = self._slot(feed, interval, tz_ms, opened, index, last_index)
                out.append(bar)
            return out
        index = last_index
        while len(out) < limit and index >= 0:
            opened = slot_open(tape.open_time(index), interval, tz_ms)
            first = tape.first_index_at_or_after(opened)
            bar, _ = self._slot(feed, interval, tz_ms, opened, first, last_index)
            out.append(bar)
            index = first - 1
        out.reverse()
        return out

    def _slot(
        self, feed: SymbolFeed, interval: str, tz_ms: int, opened: int, first: int, last_index: int
    ) -> tuple[Bar, int]:
        """The candle of the slot opening at ``opened`` (base candles from ``first``), and the
        position of the first base candle after it."""
        tape = feed.tape
        close = slot_close(opened, interval, tz_ms)
        stop = min(tape.last_index_at_or_before(close), last_index) + 1
        complete = close <= feed.settled_ms
        cache = self._agg_cache.setdefault((feed.symbol, interval, tz_ms), {})
        if complete and opened in cache:
            return cache[opened], stop
        group = [self._served(feed, i) for i in range(first, stop)]
        bar = aggregate(group, interval, opened, None if complete else close, closed=complete)
        if complete:
            cache[opened] = bar
        return bar, stop

    def stream_kline(self, symbol: str, interval: str) -> Bar | None:
        """The candle a ``@kline_<interval>`` stream reports now: partial, or final at slot end."""
        feed = self.feeds[symbol]
        if feed.bar is None:
            return None
        if interval == self.interval:
            return feed.partial_bar()
        last_index = feed.index
        opened = slot_open(feed.bar.open_time, interval, 0)
        first = feed.tape.first_index_at_or_after(opened)
        bar, _ = self._slot(feed, interval, 0, opened, first, last_index)
        return bar

    # ------------------------------------------------------------------ statistics
    def ticker_24h(self, symbol: str) -> Ticker24 | None:
        """Rolling 24 hours of base candles up to now (the current one partial)."""
        feed = self.feeds[symbol]
        if feed.bar is None or feed.last_price is None:
            return None
        now = max(self._now, feed.last_time)
        tape = feed.tape
        first = tape.first_index_at_or_after(now - _DAY_MS + 1)
        bars = [self._served(feed, i) for i in range(max(first, 0), feed.index + 1)]
        if not bars:
            last = feed.last_price
            return Ticker24(last, last, last, last, ZERO, ZERO, now - _DAY_MS, now, -1, -1, 0)
        count = sum(b.trades for b in bars)
        return Ticker24(
            open_price=bars[0].open,
            high=max(b.high for b in bars),
            low=min(b.low for b in bars),
            last=feed.last_price,
            volume=sum((b.volume for b in bars), ZERO),
            quote_volume=sum((b.quote_volume for b in bars), ZERO),
            open_time=now - _DAY_MS,
            close_time=now,
            first_id=max(feed.trade_id - count + 1, 0) if count else -1,
            last_id=feed.trade_id if count else -1,
            count=count,
        )

    def status(self) -> dict[str, object]:
        return {
            "marketTime": self._now,
            "interval": self.interval,
            "clock": "stepped" if self.clock.stepped else "running",
            "speed": self.clock.speed,
            "symbols": {
                s: {
                    "lastPrice": str(f.last_price) if f.last_price is not None else None,
                    "barOpenTime": f.bar.open_time if f.bar is not None else None,
                    "pathDone": f.done if f.bar_open else 4,
                    "finished": f.finished,
                }
                for s, f in self.feeds.items()
            },
        }
