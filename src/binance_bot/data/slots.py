"""Candle slots: the position of each candle on its interval's UTC grid, vectorized.

Validation (gaps, alignment, expected close times) and resampling (which target bucket a
candle falls into) both reduce to one question: which slot of the interval grid does an
``open_time`` belong to? Fixed intervals answer it with integer division (``1w`` with
Binance's Monday offset); ``1M`` answers it with calendar months. Working with slot numbers
keeps every check an integer comparison, with no float time arithmetic.
"""

from __future__ import annotations

import numpy as np

from binance_bot.model.intervals import INTERVAL_MS, is_valid_interval

_DAY_MS = 86_400_000
_WEEK_OFFSET_MS = 4 * _DAY_MS  # 1970-01-01 was a Thursday; Binance weeks open on Monday


def check_interval(interval: str) -> str:
    """Return ``interval`` unchanged, or raise ``ValueError`` listing the valid codes."""
    if not is_valid_interval(interval):
        raise ValueError(f"unknown interval {interval!r}; expected one of {', '.join([*INTERVAL_MS, '1M'])}")
    return interval


def _offset(interval: str) -> int:
    return _WEEK_OFFSET_MS if interval == "1w" else 0


def slot_index(open_time: np.ndarray, interval: str) -> np.ndarray:
    """Slot number (int64) of every timestamp: floor of its position on the interval grid."""
    ts = np.asarray(open_time, dtype=np.int64)
    if interval == "1M":
        months = ts.astype("datetime64[ms]").astype("datetime64[M]")
        return months.astype(np.int64)
    step = INTERVAL_MS[check_interval(interval)]
    return (ts - _offset(interval)) // step


def slot_start(slot: np.ndarray, interval: str) -> np.ndarray:
    """Open time (epoch ms) of each slot number: the inverse of :func:`slot_index`."""
    idx = np.asarray(slot, dtype=np.int64)
    if interval == "1M":
        return idx.astype("datetime64[M]").astype("datetime64[ms]").astype(np.int64)
    step = INTERVAL_MS[check_interval(interval)]
    return idx * step + _offset(interval)


def slot_end(slot: np.ndarray, interval: str) -> np.ndarray:
    """Binance's full ``close_time`` for each slot: the next slot's open time minus 1 ms."""
    return slot_start(np.asarray(slot, dtype=np.int64) + 1, interval) - 1


def divides(fine: str, coarse: str) -> bool:
    """True when every ``coarse`` slot is an exact union of whole ``fine`` slots."""
    check_interval(fine)
    check_interval(coarse)
    if fine == "1M":
        return coarse == "1M"
    fine_ms = INTERVAL_MS[fine]
    if coarse == "1M":
        return _DAY_MS % fine_ms == 0
    coarse_ms = INTERVAL_MS[coarse]
    if coarse_ms < fine_ms or coarse_ms % fine_ms:
        return False
    return (_offset(coarse) - _offset(fine)) % fine_ms == 0
