"""The higher timeframe, built from trading bars the same way in a backtest and live.

Trend bars are aggregated from trading-interval bars (open of the first, highest high,
lowest low, close of the last, summed volume), bucketed by UTC interval boundaries. A trend
bar is used only once it is *complete*: when the trading bar that ends its bucket has
closed, or when a later bucket's first bar arrives (the bucket's last bars were missing: a
gap). At trading bar ``t`` the trend features are those of the last complete trend bar, so
nothing from an unfinished higher-timeframe bar leaks into a decision.

:func:`aggregate` does this for whole arrays (the backtester); :class:`TrendAggregator`
does it one bar at a time (the live engine). Tests hold the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from binance_bot.model.intervals import interval_ms

_WEEK_OFFSET = 4 * 86_400_000


def bucket_start(open_time: int, trend_ms: int) -> int:
    offset = _WEEK_OFFSET if trend_ms == 7 * 86_400_000 else 0
    return (open_time - offset) // trend_ms * trend_ms + offset


@dataclass(frozen=True, slots=True)
class TrendBars:
    """Aggregated bars plus, per trading bar, the index of the last complete trend bar (-1: none)."""

    open_time: torch.Tensor
    open: torch.Tensor
    high: torch.Tensor
    low: torch.Tensor
    close: torch.Tensor
    volume: torch.Tensor
    last_complete: torch.Tensor


def aggregate(
    open_time: torch.Tensor,
    open_: torch.Tensor,
    high: torch.Tensor,
    low: torch.Tensor,
    close: torch.Tensor,
    volume: torch.Tensor,
    *,
    interval: str,
    trend_interval: str,
) -> TrendBars:
    """Trend bars from 1-D trading-bar arrays sorted by ``open_time`` (int64 ms)."""
    trade_ms, trend_ms = interval_ms(interval), interval_ms(trend_interval)
    if trend_ms % trade_ms:
        raise ValueError(f"trend interval {trend_interval} is not a multiple of {interval}")
    offset = _WEEK_OFFSET if trend_ms == 7 * 86_400_000 else 0
    buckets = torch.div(open_time - offset, trend_ms, rounding_mode="floor") * trend_ms + offset
    starts, inverse = torch.unique_consecutive(buckets, return_inverse=True)
    n = starts.numel()
    first = torch.full((n,), open_time.numel(), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(open_time.numel()), reduce="amin")
    last = torch.zeros(n, dtype=torch.long)
    last.scatter_reduce_(0, inverse, torch.arange(open_time.numel()), reduce="amax")
    hi = torch.full((n,), -torch.inf, dtype=high.dtype).scatter_reduce_(0, inverse, high, reduce="amax")
    lo = torch.full((n,), torch.inf, dtype=low.dtype).scatter_reduce_(0, inverse, low, reduce="amin")
    vol = torch.zeros(n, dtype=volume.dtype).scatter_add_(0, inverse, volume)
    # a bar completes its bucket when it is the bucket's final slot
    completes = (open_time + trade_ms) >= (buckets + trend_ms)
    last_complete = torch.where(completes, inverse, inverse - 1)
    return TrendBars(
        open_time=starts,
        open=open_[first],
        high=hi,
        low=lo,
        close=close[last],
        volume=vol,
        last_complete=last_complete,
    )


def align(values: torch.Tensor, last_complete: torch.Tensor) -> torch.Tensor:
    """Trend values placed on trading bars (NaN before the first complete trend bar)."""
    out = torch.full(last_complete.shape, torch.nan, dtype=values.dtype)
    ok = last_complete >= 0
    out[ok] = values[last_complete[ok]]
    return out


@dataclass(slots=True)
class _Open:
    start: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class TrendAggregator:
    """Streaming twin of :func:`aggregate`: feed trading bars, get completed trend bars."""

    def __init__(self, interval: str, trend_interval: str) -> None:
        self.trade_ms = interval_ms(interval)
        self.trend_ms = interval_ms(trend_interval)
        if self.trend_ms % self.trade_ms:
            raise ValueError(f"trend interval {trend_interval} is not a multiple of {interval}")
        self._open: _Open | None = None

    def update(
        self, open_time: int, open_: float, high: float, low: float, close: float, volume: float
    ) -> list[tuple[int, float, float, float, float, float]]:
        """Completed trend bars ``(start, o, h, l, c, v)`` after this trading bar, oldest first."""
        done: list[tuple[int, float, float, float, float, float]] = []
        start = bucket_start(open_time, self.trend_ms)
        cur = self._open
        if cur is not None and cur.start != start:
            done.append((cur.start, cur.open, cur.high, cur.low, cur.close, cur.volume))
            cur = None
        if cur is None:
            cur = _Open(start, open_, high, low, close, volume)
        else:
            cur.high = max(cur.high, high)
            cur.low = min(cur.low, low)
            cur.close = close
            cur.volume += volume
        if open_time + self.trade_ms >= start + self.trend_ms:
            done.append((cur.start, cur.open, cur.high, cur.low, cur.close, cur.volume))
            self._open = None
        else:
            self._open = cur
        return done
