"""Market streams (kline, bookTicker, aggTrade) over combined connections, with gap repair.

Streams are spread over as few ``/stream`` connections as Binance allows (1024 streams
each). Each connection subscribes part of its streams in the URL and the rest with
SUBSCRIBE messages, paced under Binance's 5 incoming messages per second (our pings count
too, so we stay at 4).

The engine's contract is that every *closed* bar of a subscribed (symbol, interval) arrives
exactly once and in order. A connection can drop, rotate or lose messages, so:

* every closed bar is compared with the last one delivered for its key: an older or equal
  open time is a duplicate and is dropped; a later one that skips bars triggers a REST
  backfill of the missing ones before it is delivered;
* after every reconnect, bars that closed while we were away are backfilled from REST at
  once (not only when the next live bar reveals the gap).

Malformed messages are counted and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

from binance_bot.model import Bar, BarEvent, BookTickerEvent, MarketEvent, Trade, floor_open_time, interval_ms

from . import wire
from .endpoints import Endpoints
from .limits import Budget
from .wire import RateLimit
from .ws import Reconnect, ReconnectingSocket, SocketSettings

log = logging.getLogger(__name__)

MAX_STREAMS_PER_CONNECTION = 1024
URL_STREAMS_BUDGET = 1500
"""Characters of stream names put in the connect URL; the rest go by SUBSCRIBE (long URLs
break proxies and servers with line limits)."""
SUBSCRIBE_CHUNK = 100


class KlineSource(Protocol):
    """What gap repair needs: the ``ExchangeClient`` port's klines and server time."""

    async def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 500,
    ) -> list[Bar]: ...

    async def server_time(self) -> int: ...


async def iter_closed_klines(
    source: KlineSource,
    symbol: str,
    interval: str,
    start: int,
    end: int | None = None,
    *,
    page_limit: int = 1000,
    later_exists: bool = False,
) -> AsyncIterator[list[Bar]]:
    """Pages of *closed* bars opening in ``[start, end)``, oldest first.

    A kline is closed once a later one exists: the exchange's newest kline is the bar in
    progress. So the newest bar fetched is held back until the next page shows a successor,
    or one more request for it and its successor does (and then its final values replace
    the ones fetched while it was forming); ``later_exists`` says the caller already knows
    one (a bar at ``end`` has closed). Server time is not used: a replaying simulator's
    market time is not its clock.
    """
    cursor = start
    held: Bar | None = None
    while end is None or cursor < end:
        raw = await source.klines(
            symbol, interval, start_time=cursor, end_time=None if end is None else end - 1, limit=page_limit
        )
        page = [b for b in raw if b.open_time >= cursor and (end is None or b.open_time < end)]
        if not page:
            break
        if held is not None:
            page.insert(0, held)
        held = page.pop()
        if page:
            yield [b if b.closed else replace(b, closed=True) for b in page]
        cursor = next_open(held.open_time, interval)
        if len(raw) < page_limit:
            break
    if held is None:
        return
    if later_exists:
        yield [held if held.closed else replace(held, closed=True)]
        return
    # Ask for the held bar again with its successor: if the successor exists, the bar has
    # closed, and this copy of it (unlike the one fetched while it formed) is final.
    again = await source.klines(symbol, interval, start_time=held.open_time, limit=2)
    if len(again) == 2 and again[0].open_time == held.open_time:
        yield [replace(again[0], closed=True)]


def next_open(open_time: int, interval: str) -> int:
    """Open time of the bar after the one that opened at ``open_time``."""
    if interval == "1M":
        return floor_open_time(open_time + 32 * 86_400_000, "1M")
    return open_time + interval_ms(interval)


@dataclass
class _StreamCounters:
    malformed: int = 0
    duplicates: int = 0
    gaps: int = 0
    backfilled: int = 0
    delivered_bars: int = 0
    control_errors: int = 0
    backfill_failures: int = 0


@dataclass
class _Connection:
    streams: list[str] = field(default_factory=list)
    socket: _MarketSocket | None = None


class _MarketSocket(ReconnectingSocket):
    def __init__(
        self, owner: BinanceMarketStream, index: int, streams: list[str], settings: SocketSettings
    ) -> None:
        super().__init__(f"market-{index}", settings)
        self.owner = owner
        self.streams = streams
        # Binance counts incoming messages per second (control messages, pings and pongs)
        # and disconnects past 5: an exact budget of 3 per second leaves room for pongs and
        # heartbeat pings. A leaky bucket alone would let a full bucket plus its drip into
        # one second.
        self._control = Budget(RateLimit("CONTROL_MESSAGES", "SECOND", 1, 3), margin_seconds=0.05)
        self._ids = 0

    def _url_streams(self) -> list[str]:
        out, size = [], 0
        for s in self.streams:
            size += len(s) + 1
            if out and size > URL_STREAMS_BUDGET:
                break
            out.append(s)
        return out

    def url(self) -> str:
        first = self._url_streams()
        return f"{self.owner.endpoints.stream}/stream?streams={quote('/'.join(first), safe='@/_')}"

    async def on_open(self, ws: aiohttp.ClientWebSocketResponse, reconnect: bool) -> None:
        rest = self.streams[len(self._url_streams()) :]
        for i in range(0, len(rest), SUBSCRIBE_CHUNK):
            await self.subscribe_more(rest[i : i + SUBSCRIBE_CHUNK], ws)
        if reconnect:
            await self.owner._repair_after_reconnect(self.streams)

    async def subscribe_more(
        self, streams: list[str], ws: aiohttp.ClientWebSocketResponse | None = None
    ) -> None:
        target = ws or self._ws
        if target is None or target.closed:
            return  # the next connect subscribes them through on_open
        await self._control.acquire(1)
        self._ids += 1
        try:
            await target.send_json({"method": "SUBSCRIBE", "params": streams, "id": self._ids})
        except (ConnectionError, aiohttp.ClientError) as exc:
            # the connection is going down; the reconnect subscribes every stream in the URL
            # or in on_open, these included (they are already in self.streams)
            log.info("%s: SUBSCRIBE not sent (%s); the reconnect will subscribe", self.name, exc)

    async def on_text(self, text: str) -> None:
        await self.owner._on_text(text)


class BinanceMarketStream:
    """Implements :class:`binance_bot.engine.ports.MarketStream` (plus book tickers and trades)."""

    def __init__(
        self,
        endpoints: Endpoints,
        klines: KlineSource,
        *,
        settings: SocketSettings | None = None,
        max_streams_per_connection: int = MAX_STREAMS_PER_CONNECTION,
        deliver_partial_bars: bool = False,
        queue_size: int = 10_000,
    ) -> None:
        if not 1 <= max_streams_per_connection <= MAX_STREAMS_PER_CONNECTION:
            raise ValueError(f"max_streams_per_connection must be 1..{MAX_STREAMS_PER_CONNECTION}")
        self.endpoints = endpoints
        self._source = klines
        self._settings = settings or SocketSettings()
        self._max = max_streams_per_connection
        self.deliver_partial_bars = deliver_partial_bars
        self._events: asyncio.Queue[MarketEvent | None] = asyncio.Queue(queue_size)
        self._trades: asyncio.Queue[Trade | None] = asyncio.Queue(queue_size)
        self._connections: list[_Connection] = []
        self._subscribed: set[str] = set()
        self._last_closed: dict[tuple[str, str], int] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self.counters = _StreamCounters()

    # ------------------------------------------------------------------ subscribing
    async def subscribe(self, symbols: Sequence[str], interval: str) -> None:
        """Closed bars of ``interval`` for ``symbols``, each exactly once, from now on.

        "Now" is the exchange's: its newest kline is the bar in progress, so the one before
        it is the last closed bar, which the caller already has from its history load. (The
        server clock cannot tell: a simulator's protocol clock and market clock differ.)
        """
        missing = [s.upper() for s in symbols if (s.upper(), interval) not in self._last_closed]
        latest = await asyncio.gather(*(self._source.klines(s, interval, limit=1) for s in missing))
        now: int | None = None
        for symbol, rows in zip(missing, latest, strict=True):
            if rows:
                current = rows[-1].open_time
            else:
                now = await self._source.server_time() if now is None else now
                current = floor_open_time(now, interval)
            self._last_closed[(symbol, interval)] = _previous_open(current, interval)
        await self._add(wire.stream_names(symbols, f"kline_{interval}"))

    async def subscribe_book_tickers(self, symbols: Sequence[str]) -> None:
        await self._add(wire.stream_names(symbols, "bookTicker"))

    async def subscribe_trades(self, symbols: Sequence[str]) -> None:
        """``@aggTrade`` streams; the trades arrive through :meth:`trades`."""
        await self._add(wire.stream_names(symbols, "aggTrade"))

    async def _add(self, names: list[str]) -> None:
        if self._closed:
            raise RuntimeError("the market stream is closed")
        new = [n for n in names if n not in self._subscribed]
        if not new:
            return
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, connect=self._settings.connect_timeout)
            )
        self._subscribed.update(new)
        started: list[_MarketSocket] = []
        while new:
            conn = next((c for c in self._connections if len(c.streams) < self._max), None)
            if conn is None:
                conn = _Connection()
                self._connections.append(conn)
            room = self._max - len(conn.streams)
            batch, new = new[:room], new[room:]
            conn.streams.extend(batch)
            if conn.socket is None:
                conn.socket = _MarketSocket(self, len(self._connections) - 1, conn.streams, self._settings)
                conn.socket.launch(self._session)
                started.append(conn.socket)
            else:
                for i in range(0, len(batch), SUBSCRIBE_CHUNK):
                    await conn.socket.subscribe_more(batch[i : i + SUBSCRIBE_CHUNK])
        for sock in started:
            with contextlib.suppress(TimeoutError):
                await sock.wait_connected(self._settings.connect_timeout)

    # ------------------------------------------------------------------ consuming
    async def events(self) -> AsyncIterator[MarketEvent]:
        while True:
            item = await self._events.get()
            if item is None:
                return
            yield item

    async def trades(self) -> AsyncIterator[Trade]:
        while True:
            item = await self._trades.get()
            if item is None:
                return
            yield item

    # ------------------------------------------------------------------ message handling
    async def _on_text(self, text: str) -> None:
        try:
            message = json.loads(text)
            if isinstance(message, dict) and "id" in message and ("result" in message or "code" in message):
                if "code" in message:
                    self.counters.control_errors += 1
                    log.warning("market stream control error: %s", message)
                return
            if isinstance(message, dict) and "code" in message and "msg" in message:
                self.counters.control_errors += 1
                log.warning("market stream error: %s", message)
                return
            _, payload = wire.unwrap_combined(message)
            event = wire.parse_market_event(payload, _now_ms())
        except (ValueError, wire.WireFormatError) as exc:
            self.counters.malformed += 1
            log.debug("skipping a malformed market message (%s): %.200s", exc, text)
            return
        if isinstance(event, BarEvent):
            await self._on_bar(event)
        elif isinstance(event, BookTickerEvent):
            await self._events.put(event)
        elif isinstance(event, Trade):
            await self._trades.put(event)
        elif isinstance(event, wire.ServerShutdown):
            raise Reconnect("serverShutdown")

    def _lock(self, key: tuple[str, str]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def _on_bar(self, event: BarEvent) -> None:
        bar = event.bar
        key = (bar.symbol, bar.interval)
        async with self._lock(key):
            last = self._last_closed.get(key)
            if not bar.closed:
                if self.deliver_partial_bars and (last is None or bar.open_time > last):
                    await self._events.put(event)
                return
            if last is not None and bar.open_time <= last:
                self.counters.duplicates += 1
                return
            if last is not None and bar.open_time > next_open(last, bar.interval):
                self.counters.gaps += 1
                await self._backfill(key, end_before=bar.open_time)
                last = self._last_closed.get(key)
                if last is not None and bar.open_time <= last:
                    return
                if last is not None and bar.open_time > next_open(last, bar.interval):
                    # the backfill failed: delivering this bar would skip the missing ones for
                    # good; it is closed, so the next bar's backfill brings it with them
                    return
            self._last_closed[key] = bar.open_time
            self.counters.delivered_bars += 1
            await self._events.put(event)

    async def _backfill(self, key: tuple[str, str], *, end_before: int | None) -> None:
        """Deliver the closed bars after the last delivered one (and before ``end_before``,
        the open of a bar that is known to have closed, so every bar before it has too).

        Called with the key's lock held. A failed backfill is logged and retried by the
        next gap or reconnect: bars are never invented and never delivered twice.
        """
        symbol, interval = key
        try:
            start = next_open(self._last_closed[key], interval)
            if end_before is not None and start >= end_before:
                return
            pages = iter_closed_klines(
                self._source, symbol, interval, start, end_before, later_exists=end_before is not None
            )
            async for page in pages:
                for b in page:
                    if b.open_time <= self._last_closed[key]:
                        continue
                    self._last_closed[key] = b.open_time
                    self.counters.backfilled += 1
                    self.counters.delivered_bars += 1
                    await self._events.put(BarEvent(b, _now_ms()))
        except Exception as exc:  # the REST error is already typed; one bad backfill must not kill the stream
            self.counters.backfill_failures += 1
            log.warning("kline backfill for %s %s failed: %s", symbol, interval, exc)

    async def _repair_after_reconnect(self, streams: list[str]) -> None:
        for name in streams:
            sym, _, kind = name.partition("@")
            if not kind.startswith("kline_"):
                continue
            key = (sym.upper(), kind[len("kline_") :])
            if key in self._last_closed:
                async with self._lock(key):
                    await self._backfill(key, end_before=None)

    # ------------------------------------------------------------------ control
    async def drop_connections(self) -> None:
        """Close every connection now; each reconnects and repairs (rotation, tests)."""
        for c in self._connections:
            if c.socket is not None:
                await c.socket.drop()

    def metrics(self) -> dict[str, Any]:
        sockets = [c.socket for c in self._connections if c.socket is not None]
        return {
            "connections": len(sockets),
            "streams": len(self._subscribed),
            "connected": sum(1 for s in sockets if s.connected.is_set()),
            "reconnects": sum(s.reconnects for s in sockets),
            "messages": sum(s.messages for s in sockets),
            "malformed": self.counters.malformed,
            "duplicates_dropped": self.counters.duplicates,
            "gaps": self.counters.gaps,
            "bars_backfilled": self.counters.backfilled,
            "bars_delivered": self.counters.delivered_bars,
            "backfill_failures": self.counters.backfill_failures,
            "control_errors": self.counters.control_errors,
        }

    async def close(self) -> None:
        self._closed = True
        for c in self._connections:
            if c.socket is not None:
                await c.socket.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None
        for q in (self._events, self._trades):
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(None)


def _previous_open(open_time: int, interval: str) -> int:
    if interval == "1M":
        return floor_open_time(open_time - 1, "1M")
    return open_time - interval_ms(interval)


def _now_ms() -> int:
    return int(time.time() * 1000)
