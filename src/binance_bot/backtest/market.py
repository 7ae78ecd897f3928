"""One symbol's candles as both backtest paths need them, and the times of the intrabar events.

The fast path wants integer arrays (prices in ticks, event times in ms); the event replay
wants exact :class:`~binance_bot.model.Bar` objects. Both are derived here from one candle
table, so the two paths can only disagree in their logic, never in their inputs.

**Event times.** A bar is replayed as four price events ``P0 = open, P1, P2, P3 = close``
(R2 of ``docs/fill-model.md``). They happen at ``open_time``, ``open_time + interval // 3``,
``open_time + 2 * interval // 3`` and ``close_time``; the middle two never later than
``close_time`` (Binance reports an early ``close_time`` for a candle cut short by a trading
halt). Fill times, and the cool-down measured from a stop-out's fill, follow from these.
Decisions happen at ``close_time + 1``, when the closed bar is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

import numba
import numpy as np
import pandas as pd

from binance_bot.data.frame import to_bars
from binance_bot.errors import DataError
from binance_bot.matching.market import grid_unit
from binance_bot.model import Bar, SymbolRules
from binance_bot.model.intervals import interval_ms
from binance_bot.model.numbers import MONEY_CONTEXT, ONE, decimal_places


@numba.njit(cache=True)
def _event_times(ot: np.ndarray, ct: np.ndarray, step: int, out: np.ndarray) -> bool:
    ok = True
    for i in range(ot.shape[0]):
        o, c = ot[i], ct[i]
        ok &= c >= o
        out[0, i] = o
        out[1, i] = min(o + step // 3, c)
        out[2, i] = min(o + 2 * step // 3, c)
        out[3, i] = c
    return ok


def event_times(open_time: np.ndarray, close_time: np.ndarray, interval: str) -> np.ndarray:
    """``[4, n]`` int64 times of the price events P0..P3 of each bar (see the module doc)."""
    ot = np.ascontiguousarray(open_time, dtype=np.int64)
    ct = np.ascontiguousarray(close_time, dtype=np.int64)
    out = np.empty((4, ot.shape[0]), dtype=np.int64)
    if not _event_times(ot, ct, interval_ms(interval), out):
        raise DataError("a candle closes before it opens")
    return out


@numba.njit(cache=True)
def _grid(values: np.ndarray, unit: float, out: np.ndarray, off: np.ndarray) -> int:
    """Nearest grid index of each value; flags (and counts) the values not on the grid."""
    count = 0
    for i in range(values.shape[0]):
        x = values[i] / unit
        t = np.rint(x)
        out[i] = np.int64(t)
        if abs(x - t) > 1e-6:
            off[i] = True
            count += 1
    return count


@numba.njit(cache=True)
def _on_grid(values: np.ndarray, scale: float) -> bool:
    """Whether every value times ``scale`` is a whole number (up to float noise)."""
    for i in range(values.shape[0]):
        x = values[i] * scale
        if abs(x - np.rint(x)) > abs(x) * 1e-13 + 1e-9:
            return False
    return True


def equity_floats(units: np.ndarray, places: int) -> np.ndarray:
    """Integer amounts of ``10^-places`` as floats, the same way for both engines.

    ``whole + fraction / 10^places``: within one unit in the last place of the exact value
    (a correctly rounded conversion would cost a ``Fraction`` per bar once amounts pass
    2^53 units). Exact money stays in the ``Decimal`` results; these floats feed metrics
    and charts.
    """
    values = np.asarray(units, dtype=np.int64)
    if places > 18:
        return np.array([float(Decimal(int(v)).scaleb(-places)) for v in values.ravel()]).reshape(
            values.shape
        )
    scale = 10**places
    whole, fraction = np.divmod(values, scale)
    return whole.astype(np.float64) + fraction.astype(np.float64) / float(scale)


def to_grid(values: np.ndarray, unit: Decimal) -> np.ndarray:
    """Prices as int64 ticks of ``unit``, rounded half up like the matching engine (R1).

    Float division is exact enough for every value that lies on the grid (the usual case);
    values off the grid, where half-up rounding could differ from the float's, go through
    ``Decimal`` one by one.
    """
    v = np.ascontiguousarray(values, dtype=np.float64)
    out = np.empty(v.shape[0], dtype=np.int64)
    off = np.zeros(v.shape[0], dtype=bool)
    if _grid(v, float(unit), out, off):
        for i in np.flatnonzero(off):
            exact = Decimal(repr(float(v[i]))) / unit
            out[i] = int(exact.quantize(ONE, rounding=ROUND_HALF_UP, context=MONEY_CONTEXT))
    return out


@dataclass(frozen=True, eq=False)
class SymbolData:
    """Candles of one symbol and interval, the rules it trades under, and the trading window.

    Rows before ``trade_from`` only warm the indicators up (no decision is taken on them);
    trading covers rows ``trade_from .. trade_to - 1``.
    """

    symbol: str
    interval: str
    rules: SymbolRules
    frame: pd.DataFrame
    source: str
    trade_from: int = 0
    trade_to: int = -1
    _extra: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.frame)
        end = n if self.trade_to < 0 else self.trade_to
        object.__setattr__(self, "trade_to", end)
        if not 0 <= self.trade_from <= end <= n:
            raise DataError(f"{self.symbol}: trading window {self.trade_from}..{end} outside 0..{n}")

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def tick(self) -> Decimal:
        return grid_unit(self.rules.tick_size, self.rules.quote_asset_precision)

    @property
    def step(self) -> Decimal:
        return grid_unit(self.rules.step_size, self.rules.base_asset_precision)

    def window(self, trade_from: int, trade_to: int) -> SymbolData:
        """The same candles with another trading window (indicators still warm from row 0)."""
        out = SymbolData(
            self.symbol, self.interval, self.rules, self.frame, self.source, trade_from, trade_to
        )
        out._extra.update(self._extra)
        return out

    @cached_property
    def open_time(self) -> np.ndarray:
        return self.frame["open_time"].to_numpy(dtype=np.int64)

    @cached_property
    def close_time(self) -> np.ndarray:
        return self.frame["close_time"].to_numpy(dtype=np.int64)

    @cached_property
    def times(self) -> np.ndarray:
        """``[4, n]`` event times (:func:`event_times`)."""
        return event_times(self.open_time, self.close_time, self.interval)

    def ticks(self, column: str) -> np.ndarray:
        key = f"ticks:{column}"
        cached = self._extra.get(key)
        if cached is None:
            cached = to_grid(self.frame[column].to_numpy(), self.tick)
            self._extra[key] = cached
        assert isinstance(cached, np.ndarray)
        return cached

    @cached_property
    def mark_places(self) -> int:
        """Decimal places of the closes (at least the tick's).

        The engine values a long, sizes an entry and compares with the stop-limit at the
        bar's close as published, which may be finer than the tick (a file recorded when the
        symbol's tick was smaller): the fast path needs those closes exactly.
        """
        closes = np.ascontiguousarray(self.frame["close"].to_numpy(dtype=np.float64))
        places = decimal_places(self.tick)
        while places < 12 and not _on_grid(closes, 10.0**places):
            places += 1
        return places

    def marks(self) -> np.ndarray:
        """Closes as int64 units of ``10^-mark_places`` (exact)."""
        cached = self._extra.get("marks")
        if (
            cached is None
            and self.mark_places == decimal_places(self.tick)
            and self.tick == Decimal(1).scaleb(-self.mark_places)
        ):
            cached = self.ticks("close")  # closes on the tick grid: the marks are the ticks
        if cached is None:
            cached = to_grid(self.frame["close"].to_numpy(), Decimal(1).scaleb(-self.mark_places))
            self._extra["marks"] = cached
        assert isinstance(cached, np.ndarray)
        return cached

    def bars(self) -> list[Bar]:
        """Exact bars for the event replay (cached)."""
        cached = self._extra.get("bars")
        if cached is None:
            cached = to_bars(self.frame, self.symbol, self.interval)
            self._extra["bars"] = cached
        assert isinstance(cached, list)
        return cached

    def index_at(self, time_ms: int) -> int:
        """The first row opening at or after ``time_ms``."""
        return int(np.searchsorted(self.open_time, time_ms, side="left"))
