"""Where a backtest's candles come from: a folder of candle files, or the seeded synthetic market.

A file is found by its name (``BTCUSDT-1h.csv.gz``, ``BTCUSDT-1h.parquet``, ``BTCUSDT-1h-*.zip``)
or in the Parquet cache layout of :class:`~binance_bot.data.CandleStore`. The trading window
is ``[start, end)`` by open time; up to ``warmup`` bars before it are loaded too, so the
indicators start warm, exactly as the live engine warms up from history before trading.
Symbols trade under :func:`~binance_bot.data.default_symbol_rules` (the rules the exchange
simulator serves for the same files), so a backtest, a paper run and a replay agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from binance_bot.backtest.market import SymbolData
from binance_bot.config import BotConfig
from binance_bot.data import CandleStore, SyntheticMarket, default_symbol_rules, read_candles
from binance_bot.data.synthetic import DEFAULT_START_MS
from binance_bot.errors import DataError
from binance_bot.model.intervals import interval_ms
from binance_bot.strategy.base import Strategy

_SUFFIXES = (".csv.gz", ".csv", ".parquet", ".zip", ".json", ".gz")


def warmup_bars(strategy: Strategy, config: BotConfig) -> int:
    """History bars before the window: what the live engine loads to warm up
    (``min(1000, max(200, 3 x the strategy's warm-up)))``, in trading bars)."""
    trading = config.trading
    ratio = interval_ms(trading.trend_interval) // interval_ms(trading.interval) if strategy.uses_trend else 1
    return min(1000, max(200, strategy.warmup_bars(ratio) * 3))


def find_candle_file(folder: Path, symbol: str, interval: str) -> Path | None:
    """The candle file of ``symbol`` at ``interval`` in ``folder`` (see the module doc)."""
    for suffix in _SUFFIXES:
        path = folder / f"{symbol}-{interval}{suffix}"
        if path.is_file():
            return path
    matches = sorted(folder.glob(f"{symbol}-{interval}-*"))
    if matches:
        return matches[0]
    store = CandleStore(folder)
    if store.has(symbol, interval):
        return store.path_for(symbol, interval)
    return None


@dataclass(frozen=True, slots=True)
class DataRef:
    """A picklable recipe for one symbol's candles (what a sweep worker loads)."""

    symbol: str
    interval: str
    path: str | None  # None: the synthetic market
    start_ms: int | None
    end_ms: int | None
    warmup: int
    seed: int = 0

    def load(self) -> SymbolData:
        return _load_cached(self)


@lru_cache(maxsize=8)
def _load_cached(ref: DataRef) -> SymbolData:
    return load_symbol(
        ref.symbol,
        ref.interval,
        path=Path(ref.path) if ref.path else None,
        start_ms=ref.start_ms,
        end_ms=ref.end_ms,
        warmup=ref.warmup,
        seed=ref.seed,
    )


def resolve(
    symbol: str,
    interval: str,
    folder: Path | None,
    *,
    start_ms: int | None,
    end_ms: int | None,
    warmup: int,
    seed: int = 0,
) -> DataRef:
    """The recipe for ``symbol``: its file in ``folder``, or the synthetic market without one."""
    path = None
    if folder is not None:
        found = find_candle_file(folder, symbol, interval)
        if found is None:
            raise DataError(
                f"no {symbol} {interval} candle file in {folder} (expected {symbol}-{interval}.csv.gz)"
            )
        path = str(found)
    return DataRef(symbol, interval, path, start_ms, end_ms, warmup, seed)


def load_symbol(
    symbol: str,
    interval: str,
    *,
    path: Path | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    warmup: int = 0,
    seed: int = 0,
) -> SymbolData:
    """Candles of ``symbol`` for the window ``[start_ms, end_ms)`` plus ``warmup`` bars before it."""
    if path is None:
        return _synthetic(symbol, interval, start_ms, end_ms, warmup, seed)
    candles = read_candles(path, symbol=symbol, interval=interval)
    frame = candles.frame
    ot = frame["open_time"].to_numpy()
    first = int(np.searchsorted(ot, start_ms, side="left")) if start_ms is not None else 0
    last = int(np.searchsorted(ot, end_ms, side="left")) if end_ms is not None else len(ot)
    if last <= first:
        raise DataError(f"{path}: no {symbol} candles in the requested window")
    w0 = max(0, first - warmup)
    window = frame.iloc[w0:last].reset_index(drop=True)
    return SymbolData(
        symbol, interval, default_symbol_rules(symbol), window, str(path), trade_from=first - w0
    )


def _synthetic(
    symbol: str, interval: str, start_ms: int | None, end_ms: int | None, warmup: int, seed: int
) -> SymbolData:
    step = interval_ms(interval)
    start = DEFAULT_START_MS + warmup * step if start_ms is None else start_ms - start_ms % step
    end = start + 2000 * step if end_ms is None else end_ms
    if end <= start:
        raise DataError("the backtest window is empty")
    first = start - warmup * step
    # the candle at a time depends on the market's origin: keep it fixed (2024-01-01, or New
    # Year of an earlier start) so that every window of one seed reads the same market
    origin = DEFAULT_START_MS
    if first < origin:
        year = datetime.fromtimestamp(first / 1000, tz=UTC).year
        origin = int(datetime(year, 1, 1, tzinfo=UTC).timestamp() * 1000)
    if origin % step or (first - origin) % step:
        raise DataError(f"synthetic {interval} candles need a window on the {interval} grid")
    market = SyntheticMarket(symbol, interval, seed=seed, origin_ms=origin)
    n = (end - first + step - 1) // step
    frame = market.frame(first, n).frame
    return SymbolData(
        symbol, interval, market.rules, frame, f"synthetic (seed {seed})", trade_from=(start - first) // step
    )
