"""Historical download: paging, resume, backfill before the cache, validation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from tests.unit.exchange.fakebinance import FakeBinance
from typer.testing import CliRunner

from binance_bot.cli.main import app
from binance_bot.data import CandleStore
from binance_bot.errors import DataError
from binance_bot.exchange.binance.client import BinanceExchangeClient
from binance_bot.exchange.binance.download import KlineDownloader
from binance_bot.model import Bar, floor_open_time

MIN = 60_000


def series(first: int, n: int) -> list[Bar]:
    out = []
    for i in range(n):
        t = first + i * MIN
        p = Decimal(100 + i % 7)
        out.append(Bar("BTCUSDT", "1m", t, t + MIN - 1, p, p + 2, p - 1, p + 1, Decimal(3), Decimal(300), 4))
    return out


async def test_pages_resumes_and_backfills(
    fake: FakeBinance, client: BinanceExchangeClient, tmp_path: Path
) -> None:
    now = fake.now_ms()
    first = floor_open_time(now, "1m") - 2600 * MIN
    history = series(first, 2601)  # the last one is the bar in progress at `now`
    fake.bars = history
    store = CandleStore(tmp_path)
    seen: list[tuple[int, int]] = []
    dl = KlineDownloader(client, store, flush_rows=1000)

    result = await dl.download(
        "BTCUSDT", "1m", first + 100 * MIN, progress=lambda s, i, d, t: seen.append((d, t))
    )
    assert result.fetched == result.added == 2500
    # the newest bar, 3 pages of at most 1000, and a look for a successor of the last one
    assert result.requests == 5 and result.resumed_after is None
    assert result.first_open_time == first + 100 * MIN
    assert result.last_open_time == history[-2].open_time
    assert seen[0] == (0, 2500) and seen[-1] == (2500, 2500)
    cached = store.read("BTCUSDT", "1m")
    assert len(cached) == 2500
    assert cached.to_bars()[5] == history[105]

    # nothing new: one look, nothing added
    again = await dl.download("BTCUSDT", "1m", first + 100 * MIN)
    assert (again.fetched, again.added, again.resumed_after) == (0, 0, history[-2].open_time)

    # an earlier start fetches only what the cache lacks before its first bar (one request;
    # those bars are closed, the cached one after them is), and looks for news at the end
    earlier = await dl.download("BTCUSDT", "1m", first)
    assert (earlier.fetched, earlier.added, earlier.requests) == (100, 100, 4)
    queries = [q for m, p, q, _ in fake.log if p == "/api/v3/klines"]
    assert any(
        q.startswith(f"symbol=BTCUSDT&interval=1m&startTime={first}&endTime={first + 100 * MIN - 1}&")
        for q in queries
    )
    assert store.first_open_time("BTCUSDT", "1m") == first


async def test_end_bound_and_many_symbols(
    fake: FakeBinance, client: BinanceExchangeClient, tmp_path: Path
) -> None:
    now = fake.now_ms()
    first = floor_open_time(now, "1m") - 50 * MIN
    fake.bars = series(first, 50)
    store = CandleStore(tmp_path)
    results = await KlineDownloader(client, store).download_many(["BTCUSDT"], "1m", first, first + 20 * MIN)
    assert [r.fetched for r in results] == [20]
    assert store.last_open_time("BTCUSDT", "1m") == first + 19 * MIN


async def test_invalid_bars_are_refused(
    fake: FakeBinance, client: BinanceExchangeClient, tmp_path: Path
) -> None:
    now = fake.now_ms()
    first = floor_open_time(now, "1m") - 10 * MIN
    bars = series(first, 10)
    bad = bars[3]
    bars[3] = Bar(
        bad.symbol,
        bad.interval,
        bad.open_time,
        bad.close_time,
        bad.open,
        bad.low - 5,
        bad.low,
        bad.close,
        bad.volume,
    )
    fake.bars = bars
    with pytest.raises(DataError):
        await KlineDownloader(client, CandleStore(tmp_path)).download("BTCUSDT", "1m", first)


def test_page_limit_is_binances() -> None:
    with pytest.raises(ValueError, match="page_limit"):
        KlineDownloader(None, CandleStore("x"), page_limit=1001)  # type: ignore[arg-type]


@pytest.fixture
def threaded_fake() -> Iterator[FakeBinance]:
    """The fake exchange on its own loop in a thread, for code that runs ``asyncio.run``."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = FakeBinance()
    server.url = asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)  # type: ignore[attr-defined]
    yield server
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_cli_command(threaded_fake: FakeBinance, tmp_path: Path) -> None:
    now = threaded_fake.now_ms()
    first = floor_open_time(now, "1m") - 30 * MIN
    threaded_fake.bars = series(first, 31)  # the 31st is in progress
    start = datetime.fromtimestamp(first / 1000, tz=UTC).isoformat()
    args = [
        "--set",
        f"api.base_url={threaded_fake.url}",  # type: ignore[attr-defined]
        "data",
        "download",
        "--symbols",
        "BTCUSDT",
        "--interval",
        "1m",
        "--start",
        start,
        "--cache-dir",
        str(tmp_path),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "BTCUSDT 1m: 30 new candles in 3 requests" in result.output
    assert CandleStore(tmp_path).last_open_time("BTCUSDT", "1m") == first + 29 * MIN
    bad = CliRunner().invoke(app, [*args[:2], "data", "download", "--symbols", "BTCUSDT", "--interval", "7m"])
    assert bad.exit_code == 2 and "unknown interval" in bad.output
