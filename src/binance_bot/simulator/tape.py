"""Candle tapes: the bars a symbol's market replays, from files, a Parquet store or the generator.

A tape is indexed by position and by open time. File tapes keep the float candle frame and
convert a row to an exact ``Decimal`` :class:`~binance_bot.model.Bar` only when it is
replayed or served (a year of 1m candles would otherwise cost seconds and hundreds of MB at
start-up). The synthetic tape grows on demand, so the generated market never ends.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from binance_bot.data import CandleStore, SyntheticMarket, infer_symbol_interval, read_candles
from binance_bot.data.frame import COLUMNS, CandleFrame
from binance_bot.data.synthetic import DEFAULT_START_MS
from binance_bot.errors import ConfigError, DataError
from binance_bot.model import Bar
from binance_bot.model.intervals import INTERVAL_MS
from binance_bot.model.numbers import ZERO

CANDLE_SUFFIXES = (".csv", ".csv.gz", ".zip", ".json", ".parquet", ".gz")
DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT")
_SYNTHETIC_CHUNK = 2000


class BarTape:
    """The bars of one symbol at one interval, in open-time order."""

    symbol: str
    interval: str
    interval_ms: int

    def __len__(self) -> int:
        raise NotImplementedError

    def open_time(self, index: int) -> int:
        raise NotImplementedError

    def bar(self, index: int) -> Bar:
        raise NotImplementedError

    def ensure(self, until_ms: int) -> None:
        """Make sure every bar opening at or before ``until_ms`` exists (generated tapes)."""

    @property
    def endless(self) -> bool:
        return False

    def first_open_time(self) -> int:
        return self.open_time(0)

    def last_index_at_or_before(self, t: int) -> int:
        """Position of the last bar opening at or before ``t``, or -1."""
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.open_time(mid) <= t:
                lo = mid + 1
            else:
                hi = mid
        return lo - 1

    def first_index_at_or_after(self, t: int) -> int:
        """Position of the first bar opening at or after ``t`` (``len`` when none)."""
        return self.last_index_at_or_before(t - 1) + 1

    def bars(self, start: int, stop: int) -> list[Bar]:
        return [self.bar(i) for i in range(max(0, start), min(stop, len(self)))]


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value))) if value == value else ZERO


class FrameTape(BarTape):
    """A tape over a float candle frame; rows become exact bars through their shortest ``repr``."""

    def __init__(self, frame: pd.DataFrame, symbol: str, interval: str) -> None:
        self.symbol = symbol
        self.interval = interval
        self.interval_ms = INTERVAL_MS[interval]
        self._open = frame["open_time"].to_numpy(dtype=np.int64)
        self._close = frame["close_time"].to_numpy(dtype=np.int64)
        self._cols = {
            c: frame[c].to_numpy(dtype=np.float64) for c in COLUMNS if c not in ("open_time", "close_time")
        }
        self._open_list: list[int] = self._open.tolist()
        self._cache: dict[int, Bar] = {}

    def __len__(self) -> int:
        return len(self._open_list)

    def open_time(self, index: int) -> int:
        return self._open_list[index]

    def last_index_at_or_before(self, t: int) -> int:
        return bisect.bisect_right(self._open_list, t) - 1

    def bar(self, index: int) -> Bar:
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        c = self._cols
        trades = c["trades"][index]
        bar = Bar(
            symbol=self.symbol,
            interval=self.interval,
            open_time=self._open_list[index],
            close_time=int(self._close[index]),
            open=_dec(c["open"][index]),
            high=_dec(c["high"][index]),
            low=_dec(c["low"][index]),
            close=_dec(c["close"][index]),
            volume=_dec(c["volume"][index]),
            quote_volume=_dec(c["quote_volume"][index]),
            trades=int(trades) if trades == trades else 0,
            taker_buy_base=_dec(c["taker_buy_base"][index]),
            taker_buy_quote=_dec(c["taker_buy_quote"][index]),
        )
        self._cache[index] = bar
        return bar


class SyntheticTape(BarTape):
    """The seeded generator as a tape that extends itself as market time advances."""

    def __init__(self, symbol: str, interval: str, *, seed: int, origin_ms: int) -> None:
        self.symbol = symbol
        self.interval = interval
        self.interval_ms = INTERVAL_MS[interval]
        self._market = SyntheticMarket(symbol, interval, seed=seed, origin_ms=origin_ms)
        self._origin = origin_ms
        self._bars: list[Bar] = []

    @property
    def endless(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._bars)

    def open_time(self, index: int) -> int:
        return self._origin + index * self.interval_ms

    def last_index_at_or_before(self, t: int) -> int:
        if t < self._origin:
            return -1
        return min(len(self._bars) - 1, (t - self._origin) // self.interval_ms)

    def bar(self, index: int) -> Bar:
        return self._bars[index]

    def ensure(self, until_ms: int) -> None:
        while self._origin + len(self._bars) * self.interval_ms <= until_ms:
            missing = (until_ms - self._origin) // self.interval_ms + 1 - len(self._bars)
            self._bars.extend(self._market.next_bars(max(missing, _SYNTHETIC_CHUNK)))


# ---------------------------------------------------------------------------- loading
@dataclass(frozen=True, slots=True)
class LoadedMarket:
    tapes: dict[str, BarTape]
    start_ms: int


def _candle_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.name.lower().endswith(CANDLE_SUFFIXES)
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def _is_store(root: Path) -> bool:
    return root.is_dir() and any(root.glob("interval=*/symbol=*/candles.parquet"))


def _concat(frames: Sequence[CandleFrame]) -> pd.DataFrame:
    frame = pd.concat([f.frame for f in frames], ignore_index=True)
    frame = frame.sort_values("open_time", kind="stable").drop_duplicates("open_time", keep="last")
    return frame.reset_index(drop=True)


def load_file_tapes(paths: Iterable[Path], symbols: Sequence[str], interval: str) -> dict[str, BarTape]:
    """Tapes for ``symbols`` (all found when empty) at ``interval`` from files, folders or stores.

    Several files of one symbol (monthly archives) are joined; another interval of a wanted
    symbol is named in the error, so the user sees at once which ``--interval`` would work.
    """
    found: dict[str, list[CandleFrame]] = {}
    other_intervals: dict[str, set[str]] = {}
    wanted = set(symbols)
    for root in paths:
        if not root.exists():
            raise ConfigError(f"{root}: no such file or folder", key="data")
        if _is_store(root):
            store = CandleStore(root)
            for symbol, ivl in store.entries():
                if wanted and symbol not in wanted:
                    continue
                if ivl != interval:
                    other_intervals.setdefault(symbol, set()).add(ivl)
                    continue
                found.setdefault(symbol, []).append(store.read(symbol, ivl))
            continue
        for path in _candle_files(root):
            name_symbol, name_interval = infer_symbol_interval(path)
            if name_symbol is not None and wanted and name_symbol not in wanted:
                continue
            if name_interval is not None and name_interval != interval:
                if name_symbol is not None:
                    other_intervals.setdefault(name_symbol, set()).add(name_interval)
                continue
            try:
                candles = read_candles(path, interval=interval)
            except DataError:
                raise
            except (ValueError, OSError) as exc:
                raise DataError(f"{path}: {exc}", path=str(path)) from exc
            symbol = candles.symbol
            if symbol is None:
                raise DataError(
                    f"{path}: the symbol is unknown; name the file like BTCUSDT-{interval}.csv",
                    path=str(path),
                )
            if wanted and symbol not in wanted:
                continue
            found.setdefault(symbol, []).append(candles)
    missing = [s for s in symbols if s not in found]
    if missing:
        hints = []
        for s in missing:
            have = sorted(other_intervals.get(s, ()), key=lambda i: INTERVAL_MS.get(i, 0))
            hints.append(f"{s} (has {', '.join(have)})" if have else s)
        raise ConfigError(
            f"no {interval} candles found for {', '.join(hints)} in {', '.join(str(p) for p in paths)}",
            key="data",
        )
    if not found:
        raise ConfigError(
            f"no {interval} candle files found in {', '.join(str(p) for p in paths)}", key="data"
        )
    tapes: dict[str, BarTape] = {}
    for symbol in sorted(found):
        frame = _concat(found[symbol])
        if frame.empty:
            raise ConfigError(f"{symbol}: the candle files hold no rows", key="data")
        tapes[symbol] = FrameTape(frame, symbol, interval)
    return tapes


def _floor(t: int, step: int) -> int:
    return t // step * step


def replay_start(tapes: dict[str, BarTape], warmup_bars: int, start_ms: int | None) -> int:
    """The first market time: given, or the earliest leaving ``warmup_bars`` of history everywhere."""
    step = next(iter(tapes.values())).interval_ms
    if start_ms is None:
        candidates = []
        for tape in tapes.values():
            index = min(warmup_bars, len(tape) - 1)
            candidates.append(tape.open_time(index))
        start = max(candidates)
    else:
        start = _floor(start_ms, step)
    for symbol, tape in tapes.items():
        if tape.open_time(len(tape) - 1) < start:
            raise ConfigError(
                f"{symbol}: its candles end before the market start {start}; "
                "the symbols' data do not overlap (choose other files or --start)",
                key="data",
            )
    return start


def load_market(
    *,
    symbols: Sequence[str],
    interval: str,
    data: Sequence[Path],
    seed: int,
    start_ms: int | None,
    warmup_bars: int,
    running_clock_now_ms: int | None,
) -> LoadedMarket:
    """Tapes and the first market time for a market spec.

    A synthetic market on a running clock starts at the current wall time (so its klines look
    live to a bot that compares them with its clock); otherwise it starts ``warmup_bars``
    after 2024-01-01.
    """
    step = INTERVAL_MS[interval]
    if data:
        tapes = load_file_tapes(data, symbols, interval)
        return LoadedMarket(tapes, replay_start(tapes, warmup_bars, start_ms))
    names = tuple(symbols) or DEFAULT_SYMBOLS
    if start_ms is not None:
        start = _floor(start_ms, step)
    elif running_clock_now_ms is not None:
        start = _floor(running_clock_now_ms, step)
    else:
        start = DEFAULT_START_MS + warmup_bars * step
    origin = start - warmup_bars * step
    tapes: dict[str, BarTape] = {}
    for symbol in names:
        try:
            tape = SyntheticTape(symbol, interval, seed=seed, origin_ms=origin)
        except ValueError as exc:
            raise ConfigError(f"{symbol}: {exc}", key="symbols") from None
        tape.ensure(start)
        tapes[symbol] = tape
    return LoadedMarket(tapes, start)
