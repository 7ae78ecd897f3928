"""The one in-memory candle table every reader, generator and the cache produce.

Research code (indicators, vectorized backtests, Spark tasks) wants plain float columns, so
:attr:`CandleFrame.frame` is an ordinary pandas ``DataFrame`` with a fixed schema
(:data:`COLUMNS`, :data:`DTYPES`). The order path wants exact ``Decimal`` prices, which
floats can give back: every Binance price and base volume has at most 15 significant digits,
and for such a value the shortest ``repr`` of the parsed float is the published text itself
(trailing zeros aside). :func:`to_bars` relies on that. Quote-asset volumes of busy daily
candles reach 19 digits and come back rounded to 17; :func:`binance_bot.data.read_bars`
parses the file text straight into ``Decimal`` when even those must be exact.

Optional Binance fields (quote volume, trade count, taker volumes) are ``NaN`` in every row
when a source did not carry them; :attr:`CandleFrame.optional` names the ones it did.
``trades`` is float64 for the same reason (a float holds any trade count exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np
import pandas as pd

from binance_bot.model.market import Bar
from binance_bot.model.numbers import ZERO

REQUIRED: tuple[str, ...] = ("open_time", "open", "high", "low", "close", "volume", "close_time")
"""Columns every source must fill in every row."""

OPTIONAL: tuple[str, ...] = ("quote_volume", "trades", "taker_buy_base", "taker_buy_quote")
"""Binance kline fields 8-11; all ``NaN`` when the source lacked them."""

COLUMNS: tuple[str, ...] = (*REQUIRED, *OPTIONAL)
"""Column order of :attr:`CandleFrame.frame`, of the normalized CSV and of the Parquet cache."""

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
INT_COLUMNS: tuple[str, ...] = ("open_time", "close_time")
FLOAT_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in INT_COLUMNS)

DTYPES: dict[str, np.dtype] = {
    c: np.dtype(np.int64) if c in INT_COLUMNS else np.dtype(np.float64) for c in COLUMNS
}

FORMATS: tuple[str, ...] = (
    "binance-csv",  # data.binance.vision kline CSV, with or without header, plain or zipped
    "normalized-csv",  # this project's CSV (header, 11 columns), plain or .gz
    "klines-json",  # GET /api/v3/klines response saved as a JSON array of arrays
    "parquet",  # the CandleStore cache
    "synthetic",  # SyntheticMarket output
    "resampled",  # resample() output
    "memory",  # built from bars or arrays in memory
)


def empty_frame() -> pd.DataFrame:
    """A zero-row frame with the candle schema."""
    return pd.DataFrame({c: np.empty(0, dtype=DTYPES[c]) for c in COLUMNS})


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in :data:`COLUMNS` order with :data:`DTYPES`, missing optional ones as ``NaN``.

    Raises ``ValueError`` naming a missing required column.
    """
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"candle frame lacks required column(s): {', '.join(missing)}")
    data: dict[str, np.ndarray] = {}
    for c in COLUMNS:
        if c not in frame.columns:
            data[c] = np.full(len(frame), np.nan)
            continue
        col = frame[c]
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            col = col.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_dtype(col.dtype):
            # a datetime column (e.g. written by Spark) must become epoch ms, not epoch ns
            col = (col - pd.Timestamp(0)) // pd.Timedelta(milliseconds=1)
        data[c] = col.to_numpy(dtype=DTYPES[c], copy=True)
    return pd.DataFrame(data)


@dataclass(frozen=True, eq=False)
class CandleFrame:
    """Candles of one symbol and interval, with where each row came from.

    ``lines[i]`` is the 1-based line of row ``i`` in the source file, counting a header line
    (for Parquet and in-memory sources it is the 1-based row number), so every error found
    later can still name the line a person has to open.
    """

    frame: pd.DataFrame
    symbol: str | None
    interval: str | None
    source: str
    format: str
    lines: np.ndarray = field(repr=False)
    optional: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.lines) != len(self.frame):
            raise ValueError(f"{self.source}: {len(self.lines)} line numbers for {len(self.frame)} rows")

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def first_open_time(self) -> int | None:
        return int(self.frame["open_time"].iat[0]) if len(self.frame) else None

    @property
    def last_open_time(self) -> int | None:
        return int(self.frame["open_time"].iat[-1]) if len(self.frame) else None

    def line_of(self, row: int) -> int:
        return int(self.lines[row])

    def between(self, start_ms: int | None = None, end_ms: int | None = None) -> CandleFrame:
        """Rows with ``start_ms <= open_time < end_ms`` (either bound optional)."""
        ot = self.frame["open_time"].to_numpy()
        mask = np.ones(len(ot), dtype=bool)
        if start_ms is not None:
            mask &= ot >= start_ms
        if end_ms is not None:
            mask &= ot < end_ms
        return self.take(np.flatnonzero(mask))

    def take(self, rows: np.ndarray) -> CandleFrame:
        """The given row positions, with their source lines."""
        frame = self.frame.iloc[rows].reset_index(drop=True)
        return replace(self, frame=frame, lines=np.asarray(self.lines)[rows])

    def to_bars(self, *, symbol: str | None = None, interval: str | None = None) -> list[Bar]:
        """Exact ``Decimal`` bars; see :func:`to_bars`."""
        sym = symbol or self.symbol
        ivl = interval or self.interval
        if not sym or not ivl:
            raise ValueError(f"{self.source}: symbol and interval are needed to build bars")
        return to_bars(self.frame, sym, ivl)


def from_frame(
    frame: pd.DataFrame,
    *,
    symbol: str | None,
    interval: str | None,
    source: str = "<memory>",
    format: str = "memory",
) -> CandleFrame:
    """Wrap any frame with the candle columns; rows numbered 1.. as their "lines"."""
    conformed = conform(frame)
    optional = tuple(c for c in OPTIONAL if len(conformed) and not conformed[c].isna().all())
    return CandleFrame(
        frame=conformed,
        symbol=symbol,
        interval=interval,
        source=source,
        format=format,
        lines=np.arange(1, len(conformed) + 1, dtype=np.int64),
        optional=optional,
    )


def _dec(values: np.ndarray) -> list[Decimal]:
    # repr() is the shortest text that round-trips; for <= 15 significant digits it is the
    # original decimal text, so no binary noise ever reaches an order price.
    return [Decimal(repr(float(v))) if v == v else ZERO for v in values]


def to_bars(frame: pd.DataFrame, symbol: str, interval: str) -> list[Bar]:
    """Exact ``Decimal`` bars from a candle frame (prices via the shortest float ``repr``).

    Exact for every value with at most 15 significant digits, which covers all Binance prices
    and base volumes; a missing optional field becomes 0. Use
    :func:`binance_bot.data.read_bars` when 16+ digit quote volumes must be exact too.
    """
    f = conform(frame) if list(frame.columns) != list(COLUMNS) else frame
    cols = {c: f[c].to_numpy() for c in COLUMNS}
    prices = {c: _dec(cols[c]) for c in FLOAT_COLUMNS if c != "trades"}
    trades = cols["trades"]
    open_time = cols["open_time"].tolist()
    close_time = cols["close_time"].tolist()
    return [
        Bar(
            symbol=symbol,
            interval=interval,
            open_time=open_time[i],
            close_time=close_time[i],
            open=prices["open"][i],
            high=prices["high"][i],
            low=prices["low"][i],
            close=prices["close"][i],
            volume=prices["volume"][i],
            quote_volume=prices["quote_volume"][i],
            trades=int(trades[i]) if trades[i] == trades[i] else 0,
            taker_buy_base=prices["taker_buy_base"][i],
            taker_buy_quote=prices["taker_buy_quote"][i],
        )
        for i in range(len(f))
    ]


def bars_to_frame(bars: Sequence[Bar], *, optional: bool = True) -> pd.DataFrame:
    """The float candle frame of a bar sequence (``optional=False`` leaves fields 8-11 NaN)."""
    n = len(bars)
    data: dict[str, np.ndarray] = {
        "open_time": np.fromiter((b.open_time for b in bars), dtype=np.int64, count=n),
        "close_time": np.fromiter((b.close_time for b in bars), dtype=np.int64, count=n),
    }
    for c in ("open", "high", "low", "close", "volume"):
        data[c] = np.fromiter((float(getattr(b, c)) for b in bars), dtype=np.float64, count=n)
    for c in OPTIONAL:
        if optional:
            data[c] = np.fromiter((float(getattr(b, c)) for b in bars), dtype=np.float64, count=n)
        else:
            data[c] = np.full(n, np.nan)
    return pd.DataFrame({c: data[c] for c in COLUMNS})
