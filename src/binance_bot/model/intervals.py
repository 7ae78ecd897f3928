"""Kline intervals: Binance's codes and their length in milliseconds.

Binance aligns every interval to UTC epoch multiples, except ``1w`` (weeks start on Monday,
so the epoch offset is 4 days: 1970-01-01 was a Thursday) and ``1M`` (calendar months).
"""

from __future__ import annotations

from datetime import UTC, datetime

_SECOND = 1_000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR

INTERVAL_MS: dict[str, int] = {
    "1s": _SECOND,
    "1m": _MINUTE,
    "3m": 3 * _MINUTE,
    "5m": 5 * _MINUTE,
    "15m": 15 * _MINUTE,
    "30m": 30 * _MINUTE,
    "1h": _HOUR,
    "2h": 2 * _HOUR,
    "4h": 4 * _HOUR,
    "6h": 6 * _HOUR,
    "8h": 8 * _HOUR,
    "12h": 12 * _HOUR,
    "1d": _DAY,
    "3d": 3 * _DAY,
    "1w": 7 * _DAY,
}
"""Fixed-length intervals. ``1M`` (a calendar month) is handled by :func:`floor_open_time`."""

ALL_INTERVALS: tuple[str, ...] = (*INTERVAL_MS, "1M")

_WEEK_OFFSET = 4 * _DAY  # epoch 0 was a Thursday; Binance weeks open on Monday 00:00 UTC


def interval_ms(interval: str) -> int:
    """Length of a fixed interval in ms; raises ``ValueError`` naming the bad code."""
    try:
        return INTERVAL_MS[interval]
    except KeyError:
        raise ValueError(
            f"unknown or variable-length interval {interval!r}; expected one of {', '.join(INTERVAL_MS)}"
        ) from None


def floor_open_time(ts_ms: int, interval: str) -> int:
    """Open time of the ``interval`` candle that contains ``ts_ms`` (UTC boundaries)."""
    if interval == "1M":
        dt = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
        return int(datetime(dt.year, dt.month, 1, tzinfo=UTC).timestamp() * 1000)
    step = interval_ms(interval)
    if interval == "1w":
        return (ts_ms - _WEEK_OFFSET) // step * step + _WEEK_OFFSET
    return ts_ms // step * step


def is_valid_interval(interval: str) -> bool:
    return interval in INTERVAL_MS or interval == "1M"
