"""Kline slots and aggregation for any interval the base candles divide, with ``timeZone``.

The simulator replays one base interval; ``GET /api/v3/klines`` and the kline streams serve
coarser intervals by aggregating it the way the data package resamples (Binance's rule:
prices from the candles that traded, sums of volumes). ``timeZone`` moves slot boundaries
by a whole number of minutes while start and end times stay UTC, as Binance documents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from binance_bot.data.slots import divides
from binance_bot.model import Bar
from binance_bot.model.intervals import ALL_INTERVALS, INTERVAL_MS, floor_open_time
from binance_bot.model.numbers import ZERO

_DAY_MS = 86_400_000
_TZ_RE = re.compile(r"^([+-]?)(\d{1,2})(?::(\d{2}))?$")


def parse_time_zone(text: str) -> int | None:
    """Offset in ms of Binance's ``timeZone`` (``-1:00``, ``05:45``, ``8``), or ``None`` if invalid."""
    m = _TZ_RE.match(text.strip())
    if not m:
        return None
    sign = -1 if m.group(1) == "-" else 1
    hours = int(m.group(2))
    minutes = int(m.group(3) or 0)
    if minutes >= 60:
        return None
    total = sign * (hours * 60 + minutes)
    if not -12 * 60 <= total <= 14 * 60:
        return None
    return total * 60_000


def servable(base: str, interval: str, tz_ms: int) -> bool:
    """True when every ``interval`` slot (shifted by ``tz_ms``) is a union of whole base candles."""
    if interval not in ALL_INTERVALS or not divides(base, interval):
        return False
    return tz_ms % INTERVAL_MS[base] == 0


def slot_open(t: int, interval: str, tz_ms: int) -> int:
    return floor_open_time(t + tz_ms, interval) - tz_ms


def next_slot_open(open_time: int, interval: str, tz_ms: int) -> int:
    if interval == "1M":
        return floor_open_time(open_time + tz_ms + 32 * _DAY_MS, "1M") - tz_ms
    return open_time + INTERVAL_MS[interval]


def slot_close(open_time: int, interval: str, tz_ms: int) -> int:
    """Binance's ``closeTime`` of a slot: the next slot's open minus 1 ms."""
    return next_slot_open(open_time, interval, tz_ms) - 1


def aggregate(
    group: Sequence[Bar], interval: str, open_time: int, close_time: int | None, *, closed: bool
) -> Bar:
    """One coarse candle from the base candles of its slot (``group``, in time order).

    ``close_time`` ``None`` keeps the last candle's (a slot cut short by a halt keeps
    Binance's last-trade time); a slot still in progress passes its nominal end.
    """
    traded = [b for b in group if b.volume > 0] or list(group)
    return Bar(
        symbol=group[0].symbol,
        interval=interval,
        open_time=open_time,
        close_time=group[-1].close_time if close_time is None else close_time,
        open=traded[0].open,
        high=max(b.high for b in traded),
        low=min(b.low for b in traded),
        close=traded[-1].close,
        volume=sum((b.volume for b in group), ZERO),
        quote_volume=sum((b.quote_volume for b in group), ZERO),
        trades=sum(b.trades for b in group),
        taker_buy_base=sum((b.taker_buy_base for b in group), ZERO),
        taker_buy_quote=sum((b.taker_buy_quote for b in group), ZERO),
        closed=closed,
    )
