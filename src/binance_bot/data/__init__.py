"""Candle data: file readers, validation, the Parquet cache, resampling, synthetic markets.

An I/O adapter layer (see ``docs/architecture.md``): it imports only ``model``, ``errors``
and ``config``. Everything produces or consumes one table, :class:`CandleFrame`.
"""

from binance_bot.data.frame import (
    COLUMNS,
    DTYPES,
    OPTIONAL,
    REQUIRED,
    CandleFrame,
    bars_to_frame,
    empty_frame,
    from_frame,
    to_bars,
)
from binance_bot.data.readers import infer_symbol_interval, read_bars, read_candles
from binance_bot.data.resample import resample, resample_bars
from binance_bot.data.store import CandleStore
from binance_bot.data.validation import Gap, Issue, ValidationReport, validate_candles, validate_frame

__all__ = [
    "COLUMNS",
    "DTYPES",
    "OPTIONAL",
    "REQUIRED",
    "CandleFrame",
    "CandleStore",
    "Gap",
    "Issue",
    "ValidationReport",
    "bars_to_frame",
    "empty_frame",
    "from_frame",
    "infer_symbol_interval",
    "read_bars",
    "read_candles",
    "resample",
    "resample_bars",
    "to_bars",
    "validate_candles",
    "validate_frame",
]
