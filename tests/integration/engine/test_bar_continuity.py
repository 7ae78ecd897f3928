"""The bars a worker decides on start exactly where its history ends, whatever the clocks say.

A simulator's market time is not the bot's clock (a replay runs in the past, an accelerated
market runs ahead), and bars keep closing while the history of many symbols loads. The
history must hold closed bars only, and every bar closed after it must reach the worker
once, as a live bar.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import SYMBOLS, SimulatorHandle
from tests.integration.engine.sessions import external_config, until
from tests.integration.reliability.recorder import BarLog

from binance_bot.app import RunOptions, Session
from binance_bot.exchange import BinanceConnector
from binance_bot.exchange.binance.streams import BinanceMarketStream, iter_closed_klines
from binance_bot.model import Bar

MINUTE = 60_000


async def test_history_holds_closed_bars_only_when_the_market_is_not_our_clock(
    simulator: SimulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bars = BarLog()
    bars.install(monkeypatch)
    await simulator.advance(seconds=30)  # the newest kline is half a bar old: still forming
    forming = simulator.market_time // MINUTE * MINUTE
    async with Session(external_config(simulator, tmp_path), RunOptions()) as session:
        assert session.kernel is not None
        for symbol in SYMBOLS:
            assert bars.warm[symbol][-1] == forming - MINUTE
            assert all(bars.bars[(symbol, t)].closed for t in bars.warm[symbol])
        await simulator.advance(seconds=30)  # the forming bar closes: it is a live bar
        await until(lambda: all(bars.live[s] for s in SYMBOLS))
        for symbol in SYMBOLS:
            assert bars.live[symbol] == [forming]
            assert bars.problems(symbol, MINUTE) == []


async def test_bars_closed_while_subscribing_are_decided_on_once(
    simulator: SimulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bars = BarLog()
    bars.install(monkeypatch)
    subscribe = BinanceMarketStream.subscribe

    async def slow_subscribe(stream: BinanceMarketStream, symbols: Any, interval: str) -> None:
        await simulator.advance(bars=3)  # three bars close after the history was loaded
        await subscribe(stream, symbols, interval)

    monkeypatch.setattr(BinanceMarketStream, "subscribe", slow_subscribe)
    start = simulator.market_time
    async with Session(external_config(simulator, tmp_path), RunOptions()) as session:
        assert session.kernel is not None
        await until(lambda: all(len(bars.live[s]) >= 3 for s in SYMBOLS))
        await simulator.advance(bars=1)
        await until(lambda: all(len(bars.live[s]) >= 4 for s in SYMBOLS))
        await asyncio.sleep(0.2)  # a repeat, if any, would arrive now
        for symbol in SYMBOLS:
            assert bars.live[symbol] == [start - MINUTE + i * MINUTE for i in range(1, 5)]
            assert bars.problems(symbol, MINUTE) == []


async def test_a_bar_closing_between_the_repair_requests_arrives_closed_and_final(
    simulator: SimulatorHandle,
) -> None:
    """After a reconnect the stream repairs from REST: the newest bar is held back until a
    later one exists. When that bar closes between the two requests, what is delivered must
    be the bar as it closed, marked closed (a bar still marked forming is dropped by the
    engine, and its real close then counts as a repeat: the bar would be lost)."""
    await simulator.advance(seconds=30)  # the newest bar is half built
    forming = simulator.market_time // MINUTE * MINUTE

    class ClosingBetweenRequests:
        def __init__(self, client: Any) -> None:
            self.client = client
            self.calls = 0

        async def klines(self, *args: Any, **kwargs: Any) -> list[Bar]:
            self.calls += 1
            rows = await self.client.klines(*args, **kwargs)
            if self.calls == 1:
                await simulator.advance(seconds=40)  # the held bar closes now
            return rows

        async def server_time(self) -> int:
            return int(await self.client.server_time())

    async with BinanceConnector(
        simulator.api_key, simulator.api_secret, base_url=simulator.rest_url
    ) as connector:
        source = ClosingBetweenRequests(connector.exchange)
        delivered = [
            bar
            async for page in iter_closed_klines(source, "BTCUSDT", "1m", forming - 3 * MINUTE)
            for bar in page
        ]
        final = (await connector.exchange.klines("BTCUSDT", "1m", start_time=forming, limit=1))[0]
    assert [b.open_time for b in delivered] == [forming - 3 * MINUTE + i * MINUTE for i in range(4)]
    assert all(b.closed for b in delivered)
    last = delivered[-1]
    assert (last.open, last.high, last.low, last.close, last.volume) == (
        final.open,
        final.high,
        final.low,
        final.close,
        final.volume,
    )


async def test_a_gap_whose_backfill_fails_is_filled_by_the_next_one() -> None:
    """A live bar that reveals a gap is delivered only after the missing bars: when the
    backfill fails (REST refused, the IP banned), the bars are fetched again at the next
    bar instead of being skipped for good."""
    import json

    from binance_bot.errors import TemporaryExchangeError
    from binance_bot.exchange.binance import wire
    from binance_bot.exchange.binance.endpoints import Endpoints
    from binance_bot.model import BarEvent

    start = 1_704_067_200_000
    history = [
        Bar(
            "BTCUSDT",
            "1m",
            start + i * MINUTE,
            start + (i + 1) * MINUTE - 1,
            *([Decimal(100 + i)] * 4),
            Decimal(1),
        )
        for i in range(8)
    ]

    class FlakyRest:
        def __init__(self) -> None:
            self.fail = True

        async def klines(self, symbol: str, interval: str, **kwargs: Any) -> list[Bar]:
            if self.fail:
                self.fail = False
                raise TemporaryExchangeError("requests halted: the IP is banned")
            first, end = kwargs.get("start_time") or 0, kwargs.get("end_time")
            return [b for b in history if b.open_time >= first and (end is None or b.open_time <= end)]

        async def server_time(self) -> int:
            return history[-1].close_time

    stream = BinanceMarketStream(
        Endpoints("local", "http://127.0.0.1:9", "ws://127.0.0.1:9", ""), FlakyRest()
    )
    stream._last_closed[("BTCUSDT", "1m")] = history[0].open_time  # as after a subscription

    async def live(bar: Bar) -> None:
        await stream._on_text(json.dumps(wire.write_kline_event(bar, bar.close_time)))

    await live(history[3])  # bars 1 and 2 are missing, and the backfill fails
    await live(history[4])  # the next bar: the backfill works
    delivered = []
    while not stream._events.empty():
        event = stream._events.get_nowait()
        assert isinstance(event, BarEvent)
        delivered.append(event.bar.open_time)
    assert delivered == [b.open_time for b in history[1:5]]
