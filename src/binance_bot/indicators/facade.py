"""``TechnicalIndicators``: the tulipy-style facade over the batch kernels.

Code written for tulipy ports by changing the import: the static methods take the same
arguments in the same order and return the same tuples. What differs (see
``docs/indicators.md``): outputs are full length, NaN during the warm-up, so ``ema(close, 9)[-1]``
is the value for the last bar; values are TA-Lib's (EMA seeded with an SMA, TA-Lib's MACD
instead of tulipy's fixed 0.15/0.075 factors for 12/26, Wilder smoothing seeded like TA-Lib);
ROC is in percent, as in TA-Lib, where tulipy returns a fraction.

An instance computes a whole set of indicators for a candle frame in one pass on the CPU or a
GPU, and remembers recent results in a bounded LRU cache keyed by a fingerprint of the data
and the parameters, so a strategy asking again for the same frame pays nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

import cachetools
import numpy as np
import pandas as pd
import torch

from binance_bot.indicators import batch
from binance_bot.indicators.batch import IndicatorSet

log = logging.getLogger(__name__)

ArrayLike = Any
"""A list, a NumPy array, a pandas Series or a 1-D tensor of prices."""

_SOURCES = ("high", "low", "close")


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


class TechnicalIndicators:
    """Indicators with tulipy's calling convention and TA-Lib's values.

    ``TechnicalIndicators.ema(close, 9)`` works on any price sequence;
    ``TechnicalIndicators(use_gpu=True).calculate_all_indicators(df)`` adds the default set
    of columns to a candle frame (on a GPU when CUDA is present, else on the CPU).
    ``compiled=True`` runs the frame computations in the compiled mode (faster on long
    frames, after compiling once per process).
    """

    def __init__(
        self,
        use_gpu: bool = False,
        *,
        indicators: IndicatorSet | None = None,
        cache_size: int = 64,
        compiled: bool = False,
    ) -> None:
        if use_gpu and not torch.cuda.is_available():
            log.warning("CUDA is not available; technical indicators run on the CPU")
        self.device = torch.device("cuda" if use_gpu and torch.cuda.is_available() else "cpu")
        self.indicators = indicators or IndicatorSet()
        self.compiled = compiled
        self._cache: cachetools.LRUCache[tuple[object, ...], dict[str, np.ndarray]] = cachetools.LRUCache(
            maxsize=cache_size
        )

    # -- tulipy-style functions ----------------------------------------------------------

    @staticmethod
    def sma(real: ArrayLike, period: int) -> np.ndarray:
        return _np(batch.sma(_series(real), period))

    @staticmethod
    def ema(real: ArrayLike, period: int) -> np.ndarray:
        return _np(batch.ema(_series(real), period))

    @staticmethod
    def rsi(real: ArrayLike, period: int) -> np.ndarray:
        return _np(batch.rsi(_series(real), period))

    @staticmethod
    def macd(
        real: ArrayLike, short_period: int, long_period: int, signal_period: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(macd, macd_signal, macd_histogram)``."""
        res = batch.macd(_series(real), short_period, long_period, signal_period)
        return _np(res.macd), _np(res.signal), _np(res.hist)

    @staticmethod
    def bbands(real: ArrayLike, period: int, stddev: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(lower, middle, upper)``."""
        res = batch.bbands(_series(real), period, stddev, stddev)
        return _np(res.lower), _np(res.middle), _np(res.upper)

    @staticmethod
    def atr(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int) -> np.ndarray:
        return _np(batch.atr(_series(high), _series(low), _series(close), period))

    @staticmethod
    def stoch(
        high: ArrayLike,
        low: ArrayLike,
        close: ArrayLike,
        pct_k_period: int,
        pct_k_slowing_period: int,
        pct_d_period: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(stoch_k, stoch_d)``."""
        res = batch.stoch(
            _series(high), _series(low), _series(close), pct_k_period, pct_k_slowing_period, pct_d_period
        )
        return _np(res.k), _np(res.d)

    @staticmethod
    def adx(high: ArrayLike, low: ArrayLike, close: ArrayLike, period: int) -> np.ndarray:
        return _np(batch.adx(_series(high), _series(low), _series(close), period))

    @staticmethod
    def mom(real: ArrayLike, period: int) -> np.ndarray:
        return _np(batch.mom(_series(real), period))

    @staticmethod
    def roc(real: ArrayLike, period: int) -> np.ndarray:
        """Rate of change in percent (tulipy returns the fraction)."""
        return _np(batch.roc(_series(real), period))

    # -- whole frames -----------------------------------------------------------------------

    def calculate_all_indicators(
        self, df: pd.DataFrame, indicators: IndicatorSet | None = None
    ) -> pd.DataFrame:
        """A copy of ``df`` with one column per indicator of the set (default: the instance's,
        see :class:`IndicatorSet` for the names).

        ``df`` needs ``high``, ``low`` and ``close`` columns (any capitalisation), its rows in
        time order. With a ``symbol`` column every symbol is computed on its own rows, all
        symbols in one batched pass; each symbol's warm-up starts at its own first row.
        """
        spec = indicators or self.indicators
        cols = _price_columns(df)
        prices = [df[cols[s]].to_numpy(dtype=np.float64, copy=True) for s in _SOURCES]
        symbol_col = next((c for c in df.columns if str(c).lower() == "symbol"), None)
        symbols = None if symbol_col is None else pd.factorize(df[symbol_col], sort=False)[0]
        if symbols is not None and (symbols < 0).any():
            raise ValueError(f"column {symbol_col!r} has missing symbols")
        key = (_fingerprint(prices, symbols), astuple(spec), str(self.device), self.compiled)
        columns = self._cache.get(key)
        if columns is None:
            columns = self._compute(prices, symbols, spec)
            self._cache[key] = columns
        out = df.copy()
        for name, values in columns.items():
            out[name] = values.copy()
        return out

    def clear_cache(self) -> None:
        self._cache.clear()

    def _compute(
        self, prices: list[np.ndarray], symbols: np.ndarray | None, spec: IndicatorSet
    ) -> dict[str, np.ndarray]:
        if symbols is None or len(prices[0]) == 0:
            res = batch.compute_set(*prices, spec, device=self.device, compiled=self.compiled)
            return {name: _np(t) for name, t in res.items()}
        # One row per symbol, each left-aligned so that its warm-up starts at column 0; the
        # tail of shorter rows repeats their last price and is dropped afterwards.
        order = np.argsort(symbols, kind="stable")
        counts = np.bincount(symbols)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        width = int(counts.max())
        rank = np.arange(len(order)) - np.repeat(starts, counts)
        rows = symbols[order]
        grid_index = rows * width + rank
        pad = np.minimum(np.arange(width)[None, :], counts[:, None] - 1) + starts[:, None]
        grids = []
        for p in prices:
            sorted_p = p[order]
            grids.append(torch.from_numpy(np.ascontiguousarray(sorted_p[pad])))
        res = batch.compute_set(*grids, spec, device=self.device, compiled=self.compiled)
        out = {}
        for name, t in res.items():
            flat = _np(t).reshape(-1)
            values = np.empty(len(order), dtype=np.float64)
            values[order] = flat[grid_index]
            out[name] = values
        return out


def _series(values: ArrayLike) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values
    arr = np.asarray(values, dtype=np.float64)
    if not arr.flags.writeable:
        arr = arr.copy()
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D price sequence, got shape {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr))


def _price_columns(df: pd.DataFrame) -> dict[str, str]:
    by_lower = {str(c).lower(): c for c in df.columns}
    missing = [s for s in _SOURCES if s not in by_lower]
    if missing:
        raise ValueError(f"the frame needs columns {', '.join(missing)}; it has {list(df.columns)}")
    return {s: by_lower[s] for s in _SOURCES}


def _fingerprint(prices: Sequence[np.ndarray], symbols: np.ndarray | None) -> str:
    """A digest of the data: equal frames share cached results, any changed price misses."""
    h = hashlib.blake2b(digest_size=16)
    for arr in prices:
        h.update(np.ascontiguousarray(arr).view(np.uint8))
    if symbols is not None:
        h.update(np.ascontiguousarray(symbols).view(np.uint8))
    h.update(str(len(prices[0])).encode())
    return h.hexdigest()
