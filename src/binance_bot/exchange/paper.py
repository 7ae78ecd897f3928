"""The in-process paper exchange: the engine's ports over the fill model, no network.

The same :class:`~binance_bot.matching.MatchingEngine` the local simulator serves over HTTP
runs here in-process, so paper trading, event-replay backtests and the simulator fill the
same orders the same way (``docs/fill-model.md``). Whoever drives it (a candle replay, a
synthetic market, or a live Binance market stream while orders stay simulated) calls
:meth:`PaperExchange.feed` with each bar; the exchange matches resting orders along the bar's
path, publishes the user events (execution reports, list statuses, balances) and the closed
bar to subscribers, and aggregates base bars into every coarser interval subscribed.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from itertools import pairwise
from typing import Any

from binance_bot.engine.ports import Clock
from binance_bot.errors import DataError, ExchangeError
from binance_bot.matching import MatchingEngine, MatchingSettings, Rejection
from binance_bot.model import (
    ZERO,
    Balance,
    Bar,
    BarEvent,
    BookTicker,
    Fill,
    MarketEvent,
    OcoRequest,
    Order,
    OrderList,
    OrderRequest,
    OrderType,
    StreamGap,
    SymbolRules,
    Ticker24h,
    TimeInForce,
    UserEvent,
    floor_open_time,
    interval_ms,
)

ACCOUNT = "paper"
_NEEDS_TIF = frozenset({OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT})
DAY_MS = 86_400_000


class ReplayClock:
    """Simulated time: :meth:`PaperExchange.feed` moves it to each bar's close."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance_to(self, ms: int) -> None:
        if ms > self._now:
            self._now = ms

    async def sleep(self, seconds: float) -> None:
        # replayed time does not pass while we wait: just let the other tasks run
        await asyncio.sleep(0)


class _Aggregator:
    """Builds coarser bars from consecutive base bars, emitting each once it is complete."""

    def __init__(self, interval: str) -> None:
        self.interval = interval
        self.length = interval_ms(interval)
        self._open: dict[str, Bar] = {}

    def add(self, bar: Bar) -> Bar | None:
        start = floor_open_time(bar.open_time, self.interval)
        b = self._open.get(bar.symbol)
        if b is None or b.open_time != start:
            b = replace(bar, interval=self.interval, open_time=start, close_time=start + self.length - 1)
        else:
            b = replace(
                b,
                high=max(b.high, bar.high),
                low=min(b.low, bar.low),
                close=bar.close,
                volume=b.volume + bar.volume,
                quote_volume=b.quote_volume + bar.quote_volume,
                trades=b.trades + bar.trades,
                taker_buy_base=b.taker_buy_base + bar.taker_buy_base,
                taker_buy_quote=b.taker_buy_quote + bar.taker_buy_quote,
            )
        if bar.close_time >= b.close_time:
            self._open.pop(bar.symbol, None)
            return replace(b, closed=True)
        self._open[bar.symbol] = b
        return None


class _Feed:
    """An unbounded event queue whose consumer marks items done when it asks for the next
    one, so a replay driver can wait (:meth:`PaperExchange.settle`) until the engine has
    handled everything it was given."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.closed = False

    async def items(self) -> AsyncIterator[Any]:
        while True:
            item = await self.queue.get()
            try:
                if item is None:
                    return
                yield item
            finally:
                self.queue.task_done()

    def close(self) -> None:
        self.closed = True
        self.queue.put_nowait(None)


class PaperMarketStream:
    """:class:`binance_bot.engine.ports.MarketStream` of the bars fed to the paper exchange."""

    def __init__(self, owner: PaperExchange) -> None:
        self._owner = owner
        self._feed = _Feed()
        self.keys: set[tuple[str, str]] = set()

    async def subscribe(self, symbols: Sequence[str], interval: str) -> None:
        for s in symbols:
            self.keys.add((s, interval))
        self._owner._want_interval(interval)

    def events(self) -> AsyncIterator[MarketEvent]:
        return self._feed.items()

    async def close(self) -> None:
        self._feed.close()


class PaperUserStream:
    """:class:`binance_bot.engine.ports.UserStream` of the paper account."""

    def __init__(self) -> None:
        self._feed = _Feed()
        self.started = False

    async def start(self) -> None:
        if not self.started:
            self.started = True
            # nothing was missed before the first start; later (re)starts must reconcile
            return
        await self._feed.queue.put(StreamGap(reason="paper user stream restarted", event_time=0))

    def events(self) -> AsyncIterator[UserEvent]:
        return self._feed.items()

    async def close(self) -> None:
        self._feed.close()


class PaperExchange:
    """:class:`binance_bot.engine.ports.ExchangeClient` over an in-process matching engine."""

    def __init__(
        self,
        rules: Iterable[SymbolRules],
        balances: Mapping[str, Decimal | str | int],
        *,
        settings: MatchingSettings | None = None,
        clock: Clock | None = None,
        account: str = ACCOUNT,
    ) -> None:
        self.engine = MatchingEngine(settings)
        self._rules: dict[str, SymbolRules] = {}
        for r in rules:
            self.engine.add_symbol(r)
            self._rules[r.symbol] = r
        self.account = account
        self.engine.open_account(account, dict(balances))
        self.clock: Clock = clock or ReplayClock()
        self._history: dict[tuple[str, str], list[Bar]] = defaultdict(list)
        self._base: dict[str, str] = {}
        self._aggregators: dict[str, _Aggregator] = {}
        self._market = PaperMarketStream(self)
        self._user = PaperUserStream()
        self.requests: defaultdict[str, int] = defaultdict(int)
        self.rejections: defaultdict[int, int] = defaultdict(int)
        self.bars_fed = 0

    # ------------------------------------------------------------------ wiring
    def market_stream(self) -> PaperMarketStream:
        return self._market

    def user_stream(self) -> PaperUserStream:
        return self._user

    def _want_interval(self, interval: str) -> None:
        if interval not in self._aggregators:
            self._aggregators[interval] = _Aggregator(interval)

    def _now(self) -> int:
        return self.clock.now_ms()

    # ------------------------------------------------------------------ driving the market
    def load_history(self, bars: Iterable[Bar]) -> None:
        """Bars from before the session: they set prices and the average-price window and
        answer ``klines`` queries, but nothing is published."""
        for bar in bars:
            self._apply(bar)

    async def feed(self, bar: Bar) -> None:
        """The market printed ``bar`` (closed): match along its path, then publish."""
        if not bar.closed:
            raise DataError(
                f"{bar.symbol} bar at {bar.open_time}: the paper exchange is fed closed bars only"
            )
        events = self._apply(bar)
        self.bars_fed += 1
        for ev in events:
            if ev.account == self.account:
                await self._user._feed.queue.put(ev.event)
        for out in self._published(bar):
            if (out.symbol, out.interval) in self._market.keys:
                await self._market._feed.queue.put(BarEvent(out, out.close_time))

    async def feed_path(
        self,
        bar: Bar,
        times: Sequence[int],
        between: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """The market printed ``bar`` (closed), fed as its four price events (R2) at ``times``.

        :meth:`feed` matches a whole bar at once, so an order placed in reaction to a fill at
        the open (the protective OCO after an entry) only starts working at the next bar. Live,
        it works milliseconds after the fill. Feeding the path event by event and awaiting
        ``between`` after every event that produced user events lets the consumer (an
        event-replay driver waiting for the engine to go idle) react inside the bar, so later
        events of the same bar meet what it placed. The closed bar is published afterwards,
        exactly as :meth:`feed` publishes it; a :class:`ReplayClock` stands at each event's time
        while it is matched and at ``close_time + 1`` when the bar is published.
        """
        if not bar.closed:
            raise DataError(
                f"{bar.symbol} bar at {bar.open_time}: the paper exchange is fed closed bars only"
            )
        if bar.symbol not in self._rules:
            raise DataError(f"bar for {bar.symbol}, which the paper exchange does not list")
        if len(times) != 4 or any(b < a for a, b in pairwise(times)):
            raise DataError(f"{bar.symbol} bar at {bar.open_time}: need four non-decreasing event times")
        base = self._base.setdefault(bar.symbol, bar.interval)
        if bar.interval != base:
            raise DataError(f"{bar.symbol}: fed {bar.interval} bars after {base} bars; feed one interval")
        replay = self.clock if isinstance(self.clock, ReplayClock) else None
        self.engine.begin_bar(bar)
        for price, at in zip(self.engine.path(bar), times, strict=True):
            if replay is not None:
                replay.advance_to(at)
            mine = [
                ev.event
                for ev in self.engine.price_event(bar.symbol, price, at)
                if ev.account == self.account
            ]
            for event in mine:
                await self._user._feed.queue.put(event)
            if mine and between is not None:
                await between()
        self.engine.end_bar(bar.symbol)
        if replay is not None:
            replay.advance_to(bar.close_time + 1)
        self._history[(bar.symbol, bar.interval)].append(bar)
        self.bars_fed += 1
        for out in self._published(bar):
            if (out.symbol, out.interval) in self._market.keys:
                await self._market._feed.queue.put(BarEvent(out, out.close_time))

    async def settle(self) -> None:
        """Wait until the consumers have taken every event fed so far."""
        for feed in (self._user._feed, self._market._feed):
            if not feed.closed:
                await feed.queue.join()

    def _apply(self, bar: Bar) -> list[Any]:
        if bar.symbol not in self._rules:
            raise DataError(f"bar for {bar.symbol}, which the paper exchange does not list")
        base = self._base.setdefault(bar.symbol, bar.interval)
        if bar.interval != base:
            raise DataError(f"{bar.symbol}: fed {bar.interval} bars after {base} bars; feed one interval")
        if isinstance(self.clock, ReplayClock):
            self.clock.advance_to(bar.close_time + 1)
        events = self.engine.on_bar(bar, bar.close_time)
        self._history[(bar.symbol, bar.interval)].append(bar)
        return events

    def _published(self, bar: Bar) -> list[Bar]:
        out = [bar]
        for interval, agg in self._aggregators.items():
            if interval == bar.interval or interval_ms(interval) <= interval_ms(bar.interval):
                continue
            done = agg.add(bar)
            if done is not None:
                out.append(done)
        return out

    # ------------------------------------------------------------------ errors
    def _check(self, result: Any, endpoint: str) -> Any:
        if isinstance(result, Rejection):
            self.rejections[result.code] += 1
            raise result.to_error(endpoint)
        return result

    def _count(self, name: str) -> None:
        self.requests[name] += 1

    # ------------------------------------------------------------------ ExchangeClient: market data
    async def server_time(self) -> int:
        return self._now()

    async def exchange_info(self, symbols: Sequence[str] | None = None) -> dict[str, SymbolRules]:
        self._count("exchangeInfo")
        if symbols is None:
            return dict(self._rules)
        return {s: self._rules[s] for s in symbols if s in self._rules}

    async def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 500,
    ) -> list[Bar]:
        self._count("klines")
        base = self._base.get(symbol)
        bars = (
            self._history.get((symbol, interval), []) if base == interval else self._coarser(symbol, interval)
        )
        if start_time is not None:
            bars = [b for b in bars if b.open_time >= start_time]
        if end_time is not None:
            bars = [b for b in bars if b.open_time <= end_time]
        return bars[:limit] if start_time is not None else bars[-limit:]

    def _coarser(self, symbol: str, interval: str) -> list[Bar]:
        """Complete ``interval`` bars built from the base bars fed so far."""
        base = self._base.get(symbol)
        if base is None or interval_ms(interval) <= interval_ms(base):
            return []
        agg = _Aggregator(interval)
        return [done for b in self._history[(symbol, base)] if (done := agg.add(b)) is not None]

    def _last(self, symbol: str) -> Decimal:
        if symbol not in self._rules:
            raise ExchangeError(f"{symbol}: Binance -1121 Invalid symbol.", code=-1121, endpoint="paper")
        price = self.engine.last_price(symbol)
        if price is None:
            raise ExchangeError(f"{symbol}: no price yet (feed a bar first)", endpoint="paper")
        return price

    async def book_ticker(self, symbol: str) -> BookTicker:
        self._count("bookTicker")
        last = self._last(symbol)
        tick = self._rules[symbol].tick_size
        return BookTicker(symbol, last - tick if last > tick else last, ZERO, last, ZERO)

    async def ticker_price(self, symbol: str) -> Decimal:
        self._count("ticker/price")
        return self._last(symbol)

    async def avg_price(self, symbol: str) -> Decimal:
        self._count("avgPrice")
        avg = self.engine.avg_price(symbol, self._now())
        return avg if avg is not None else self._last(symbol)

    async def tickers_24h(self, symbols: Sequence[str] | None = None) -> list[Ticker24h]:
        self._count("ticker/24hr")
        out = []
        for symbol in symbols or sorted(self._rules):
            base = self._base.get(symbol)
            bars = self._history.get((symbol, base), []) if base else []
            if not bars:
                continue
            end = bars[-1].close_time
            day = [b for b in bars if b.open_time > end - DAY_MS]
            first, last = day[0].open, day[-1].close
            out.append(
                Ticker24h(
                    symbol=symbol,
                    last_price=last,
                    price_change_percent=((last - first) / first * 100).quantize(Decimal("0.001")),
                    volume=sum((b.volume for b in day), ZERO),
                    quote_volume=sum((b.quote_volume for b in day), ZERO),
                    open_time=day[0].open_time,
                    close_time=end,
                )
            )
        return out

    # ------------------------------------------------------------------ ExchangeClient: orders
    async def _publish(self, events: Iterable[Any]) -> None:
        for ev in events:
            if ev.account == self.account:
                await self._user._feed.queue.put(ev.event)

    async def place_order(self, request: OrderRequest) -> Order:
        self._count("order")
        if request.time_in_force is None and request.type in _NEEDS_TIF:
            # the Binance client sends GTC when the request leaves it open (wire.order_params)
            request = replace(request, time_in_force=TimeInForce.GTC)
        accepted = self._check(
            self.engine.submit_request(self.account, request, self._now()), "POST /api/v3/order"
        )
        await self._publish(accepted.events)
        return accepted.order

    async def place_oco(self, request: OcoRequest) -> OrderList:
        self._count("orderList/oco")
        accepted = self._check(
            self.engine.submit_oco_request(self.account, request, self._now()), "POST /api/v3/orderList/oco"
        )
        await self._publish(accepted.events)
        return accepted.order_list

    async def cancel_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        self._count("cancel")
        done = self._check(
            self.engine.cancel(
                self.account,
                symbol,
                order_id=order_id,
                orig_client_order_id=client_order_id,
                now_ms=self._now(),
            ),
            "DELETE /api/v3/order",
        )
        await self._publish(done.events)
        return done.order

    async def cancel_order_list(
        self, symbol: str, *, list_client_order_id: str | None = None, order_list_id: int | None = None
    ) -> OrderList:
        self._count("cancelOrderList")
        done = self._check(
            self.engine.cancel_order_list(
                self.account,
                symbol,
                order_list_id=order_list_id,
                list_client_order_id=list_client_order_id,
                now_ms=self._now(),
            ),
            "DELETE /api/v3/orderList",
        )
        await self._publish(done.events)
        return done.order_list

    async def cancel_open_orders(self, symbol: str) -> list[Order]:
        self._count("cancelOpenOrders")
        result = self.engine.cancel_all(self.account, symbol, self._now())
        if isinstance(result, Rejection) and result.code == -2011:
            return []  # nothing was open, as the Binance client reports it
        done = self._check(result, "DELETE /api/v3/openOrders")
        await self._publish(done.events)
        return list(done.all_orders)

    async def get_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        self._count("getOrder")
        return self._check(
            self.engine.get_order(
                self.account, symbol, order_id=order_id, orig_client_order_id=client_order_id
            ),
            "GET /api/v3/order",
        )

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        self._count("openOrders")
        return self.engine.open_orders(self.account, symbol)

    async def balances(self) -> list[Balance]:
        self._count("account")
        return self.engine.balances(self.account)

    async def my_trades(
        self,
        symbol: str,
        *,
        start_time: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> list[Fill]:
        self._count("myTrades")
        return self.engine.my_trades(
            self.account, symbol, start_time=start_time, from_id=from_id, limit=limit
        )

    def metrics(self) -> dict[str, Any]:
        return {
            "requests": sum(self.requests.values()),
            "by_endpoint": dict(self.requests),
            "errors": {str(k): v for k, v in self.rejections.items()},
            "bars_fed": self.bars_fed,
            "environment": "paper",
        }

    async def close(self) -> None:
        await self._market.close()
        await self._user.close()
