"""Resampling finer candles into coarser ones, the way Binance aggregates klines.

A coarse candle is the fine candles whose open time falls in its UTC bucket
(``floor_open_time``): open of the first, highest high, lowest low, close of the last,
sums of base volume, quote volume, trades and taker volumes, and the ``close_time`` of the
last one (so a bucket cut short by a trading halt keeps Binance's last-trade time).

Binance builds every interval from trades, so a fine candle without trades (volume 0,
open = high = low = close = the previous close, as Binance publishes during a halt) adds
nothing to the coarse prices: open, high, low and close come from the candles that traded.
Only a bucket with no trade at all takes its (flat) prices from the empty candles. On
2023-03-24, when spot trading halted at 12:30 UTC, this is what makes the 4h candle for
12:00 open at the first price after the restart, as Binance's own 4h candle does.

Two kinds of incomplete bucket, two decisions:

* **Edge buckets** - the first bucket when the data starts after its open, the last when the
  data stops before its end - hold only part of what Binance aggregated, so they are dropped
  by default (``partial="keep"`` keeps them).
* **Interior buckets with missing fine candles** are kept by default: Binance publishes a
  coarse candle whenever any trade happened in the bucket, and a fine candle is missing only
  when nothing traded (a halt), so the aggregate of what is present *is* Binance's candle.
  ``incomplete="drop"`` drops them for sources whose holes are not exchange halts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from binance_bot.data.frame import COLUMNS, OPTIONAL, CandleFrame, conform
from binance_bot.data.slots import divides, slot_index, slot_start
from binance_bot.model.market import Bar
from binance_bot.model.numbers import ZERO

Partial = Literal["drop", "keep"]
Incomplete = Literal["keep", "drop"]


def _plan(
    open_time: np.ndarray, source: str, target: str, partial: Partial, incomplete: Incomplete
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group boundaries: (first row, last row, bucket open time) of every kept bucket."""
    if not divides(source, target):
        raise ValueError(
            f"cannot resample {source} candles into {target}: {target} is not a whole number of {source}"
        )
    if not len(open_time):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    if np.any(np.diff(open_time) <= 0):
        raise ValueError("candles must have strictly increasing open_time to be resampled")
    bucket = slot_index(open_time, target)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:] - 1, len(open_time) - 1]
    b = bucket[starts]
    # fine slots spanned by each bucket, and where the data starts and stops inside it
    fine_first = slot_index(slot_start(b, target), source)
    fine_last = slot_index(slot_start(b + 1, target), source) - 1
    first_slot = slot_index(open_time[starts], source)
    last_slot = slot_index(open_time[ends], source)
    keep = np.ones(len(b), dtype=bool)
    if partial == "drop":
        keep[0] &= first_slot[0] == fine_first[0]
        keep[-1] &= last_slot[-1] == fine_last[-1]
    if incomplete == "drop":
        keep &= (ends - starts + 1) == (fine_last - fine_first + 1)
    return starts[keep], ends[keep], slot_start(b[keep], target)


def resample(
    candles: CandleFrame,
    interval: str,
    *,
    partial: Partial = "drop",
    incomplete: Incomplete = "keep",
) -> CandleFrame:
    """Aggregate ``candles`` into ``interval`` candles (see the module notes for edges/gaps).

    The result's ``lines`` are the source lines of each bucket's first candle.
    """
    if candles.interval is None:
        raise ValueError(f"{candles.source}: the source interval is unknown")
    f = candles.frame
    ot = f["open_time"].to_numpy()
    starts, ends, opens = _plan(ot, candles.interval, interval, partial, incomplete)
    if not len(starts):
        frame = conform(f.iloc[0:0])
    else:
        lengths = ends - starts + 1
        seg = np.cumsum(lengths) - lengths  # segment starts in the kept rows
        rows = np.arange(int(lengths.sum())) - np.repeat(seg, lengths) + np.repeat(starts, lengths)
        col = {c: f[c].to_numpy()[rows] for c in COLUMNS}
        last = seg + lengths - 1
        # Prices come from the candles that traded; a bucket with no trade at all keeps
        # its flat carried price like Binance's own empty candles.
        traded = col["volume"] > 0
        pos = np.arange(len(rows))
        first_t = np.minimum.reduceat(np.where(traded, pos, len(rows)), seg)
        last_t = np.maximum.reduceat(np.where(traded, pos, -1), seg)
        any_t = last_t >= 0
        high_t = np.maximum.reduceat(np.where(traded, col["high"], -np.inf), seg)
        low_t = np.minimum.reduceat(np.where(traded, col["low"], np.inf), seg)
        data: dict[str, np.ndarray] = {
            "open_time": opens,
            "open": col["open"][np.where(any_t, first_t, seg)],
            "high": np.where(any_t, high_t, np.maximum.reduceat(col["high"], seg)),
            "low": np.where(any_t, low_t, np.minimum.reduceat(col["low"], seg)),
            "close": col["close"][np.where(any_t, last_t, last)],
            "close_time": col["close_time"][last],
        }
        for c in ("volume", *OPTIONAL):
            data[c] = np.add.reduceat(col[c], seg)
        frame = pd.DataFrame({c: data[c] for c in COLUMNS})
    return CandleFrame(
        frame=frame,
        symbol=candles.symbol,
        interval=interval,
        source=candles.source,
        format="resampled",
        lines=np.asarray(candles.lines)[starts],
        optional=candles.optional,
    )


def resample_bars(
    bars: Sequence[Bar],
    interval: str,
    *,
    partial: Partial = "drop",
    incomplete: Incomplete = "keep",
) -> list[Bar]:
    """Exact ``Decimal`` version of :func:`resample` for the engine and the simulator.

    ``bars`` must share one symbol and interval and be in ``open_time`` order.
    """
    if not bars:
        return []
    source = bars[0].interval
    symbol = bars[0].symbol
    if any(b.interval != source or b.symbol != symbol for b in bars):
        raise ValueError("resample_bars needs bars of one symbol and one interval")
    ot = np.fromiter((b.open_time for b in bars), dtype=np.int64, count=len(bars))
    starts, ends, opens = _plan(ot, source, interval, partial, incomplete)
    out: list[Bar] = []
    for s, e, t in zip(starts.tolist(), ends.tolist(), opens.tolist(), strict=True):
        group = bars[s : e + 1]
        traded = [b for b in group if b.volume > 0] or group
        out.append(
            Bar(
                symbol=symbol,
                interval=interval,
                open_time=t,
                close_time=group[-1].close_time,
                open=traded[0].open,
                high=max(b.high for b in traded),
                low=min(b.low for b in traded),
                close=traded[-1].close,
                volume=sum((b.volume for b in group), ZERO),
                quote_volume=sum((b.quote_volume for b in group), ZERO),
                trades=sum(b.trades for b in group),
                taker_buy_base=sum((b.taker_buy_base for b in group), ZERO),
                taker_buy_quote=sum((b.taker_buy_quote for b in group), ZERO),
                closed=group[-1].closed,
            )
        )
    return out
