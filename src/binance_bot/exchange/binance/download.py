"""Historical klines into the Parquet candle cache, resumable, within the weight budget.

``GET /api/v3/klines`` returns at most 1000 bars per call (weight 2), oldest first from
``startTime``. The downloader pages forward from where the cache ends (and backward to the
requested start when the cache begins later), keeps only closed bars, and appends every
``flush_rows`` bars to :class:`binance_bot.data.CandleStore`, which validates them, so an
interrupted download loses at most one chunk and the next run resumes after it. The REST
client's rate limiter keeps the pace within Binance's weight budget; nothing here sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from binance_bot.config.schema import BotConfig
from binance_bot.data import CandleStore, bars_to_frame, from_frame
from binance_bot.model import Bar, interval_ms

from .connector import BinanceConnector
from .streams import KlineSource, iter_closed_klines, next_open

PAGE_LIMIT = 1000
MONTH_MS = 30 * 86_400_000

ProgressFn = Callable[[str, str, int, int], None]
"""``(symbol, interval, bars fetched so far, bars expected)``."""


@dataclass(frozen=True, slots=True)
class DownloadResult:
    symbol: str
    interval: str
    fetched: int
    added: int
    requests: int
    resumed_after: int | None
    first_open_time: int | None
    last_open_time: int | None
    path: Path | None


_FOREVER = 2**62


class _Counting:
    """Counts the klines requests of one download (its report says how many it took)."""

    def __init__(self, source: KlineSource) -> None:
        self.source = source
        self.requests = 0

    async def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 500,
    ) -> list[Bar]:
        self.requests += 1
        return await self.source.klines(
            symbol, interval, start_time=start_time, end_time=end_time, limit=limit
        )

    async def server_time(self) -> int:
        return await self.source.server_time()


def _length(interval: str) -> int:
    return MONTH_MS if interval == "1M" else interval_ms(interval)


class KlineDownloader:
    def __init__(
        self,
        source: KlineSource,
        store: CandleStore,
        *,
        page_limit: int = PAGE_LIMIT,
        flush_rows: int = 20_000,
        concurrency: int = 2,
    ) -> None:
        if not 1 <= page_limit <= PAGE_LIMIT:
            raise ValueError(f"page_limit must be 1..{PAGE_LIMIT}")
        self.source = source
        self.store = store
        self.page_limit = page_limit
        self.flush_rows = flush_rows
        self.concurrency = concurrency

    def _ranges(
        self, symbol: str, interval: str, start: int, end: int
    ) -> tuple[list[tuple[int, int]], int | None]:
        """Half-open ``[from, to)`` open-time ranges missing from the cache."""
        first = self.store.first_open_time(symbol, interval)
        last = self.store.last_open_time(symbol, interval)
        if first is None or last is None:
            return ([(start, end)] if start < end else []), None
        ranges = []
        if start < first:
            ranges.append((start, min(first, end)))
        resume = max(start, next_open(last, interval))
        if resume < end:
            ranges.append((resume, end))
        return ranges, last

    async def download(
        self,
        symbol: str,
        interval: str,
        start_ms: int,
        end_ms: int | None = None,
        progress: ProgressFn | None = None,
    ) -> DownloadResult:
        # Without an end, "up to now": the exchange's newest bar, still open, is left out.
        # A far end is as good as none (the server time is not the market's in a simulator).
        end = end_ms if end_ms is not None else _FOREVER
        ranges, last_cached = self._ranges(symbol, interval, start_ms, end)
        fetched = added = 0
        buffer: list[Bar] = []
        counting = _Counting(self.source)
        # the exchange's newest bar tells how far the data goes, for the progress estimate
        latest = await counting.klines(symbol, interval, limit=1) if ranges else []
        edge = latest[-1].open_time if latest else start_ms
        expected = sum(max(0, (min(b, edge) - a) // _length(interval)) for a, b in ranges)
        if progress:
            progress(symbol, interval, 0, expected)

        def flush() -> None:
            nonlocal added
            if buffer:
                frame = from_frame(
                    bars_to_frame(buffer),
                    symbol=symbol,
                    interval=interval,
                    source=f"GET /api/v3/klines {symbol} {interval}",
                    format="klines-json",
                )
                added += self.store.append(frame, symbol=symbol, interval=interval)
                buffer.clear()

        for lo, hi in ranges:
            # the cache's first bar closed, so everything before it has: no successor check
            known_closed = hi != end
            async for page in iter_closed_klines(
                counting, symbol, interval, lo, hi, page_limit=self.page_limit, later_exists=known_closed
            ):
                buffer.extend(page)
                fetched += len(page)
                if progress:
                    progress(symbol, interval, fetched, max(expected, fetched))
                if len(buffer) >= self.flush_rows:
                    flush()
        flush()
        has = self.store.has(symbol, interval)
        return DownloadResult(
            symbol=symbol,
            interval=interval,
            fetched=fetched,
            added=added,
            requests=counting.requests,
            resumed_after=last_cached,
            first_open_time=self.store.first_open_time(symbol, interval) if has else None,
            last_open_time=self.store.last_open_time(symbol, interval) if has else None,
            path=self.store.path_for(symbol, interval) if has else None,
        )

    async def download_many(
        self,
        symbols: Sequence[str],
        interval: str,
        start_ms: int,
        end_ms: int | None = None,
        progress: ProgressFn | None = None,
    ) -> list[DownloadResult]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(symbol: str) -> DownloadResult:
            async with gate:
                return await self.download(symbol, interval, start_ms, end_ms, progress)

        return list(await asyncio.gather(*(one(s) for s in symbols)))


async def run_download(
    config: BotConfig,
    symbols: Sequence[str],
    interval: str,
    start_ms: int,
    end_ms: int | None = None,
    *,
    cache_dir: Path | None = None,
    console: Console | None = None,
) -> list[DownloadResult]:
    """The ``binance-bot data download`` command: live, testnet or simulator, per the config."""
    store = CandleStore(cache_dir or config.data.cache_dir)
    # klines are public: no key is needed, so no key permissions are checked either
    connector = BinanceConnector.from_config(config, check_key_permissions=False)
    console = console or Console(soft_wrap=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(symbol: str, ivl: str, done: int, total: int) -> None:
            key = f"{symbol} {ivl}"
            if key not in tasks:
                tasks[key] = bar.add_task(key, total=total)
            bar.update(tasks[key], completed=done, total=total)

        async with connector:
            results = await KlineDownloader(connector.exchange, store).download_many(
                symbols, interval, start_ms, end_ms, progress
            )
    return results
