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
from binance_bot.data.synthetic import (
    KNOWN_PROFILES,
    SymbolProfile,
    SyntheticMarket,
    default_symbol_rules,
    generate_candles,
    symbol_profile,
)
from binance_bot.data.validation import Gap, Issue, ValidationReport, validate_candles, validate_frame
from binance_bot.data.writers import candles_csv_text, write_candles_csv

__all__ = [
    "COLUMNS",
    "DTYPES",
    "KNOWN_PROFILES",
    "OPTIONAL",
    "REQUIRED",
    "CandleFrame",
    "CandleStore",
    "Gap",
    "Issue",
    "SymbolProfile",
    "SyntheticMarket",
    "ValidationReport",
    "bars_to_frame",
    "candles_csv_text",
    "default_symbol_rules",
    "empty_frame",
    "from_frame",
    "generate_candles",
    "infer_symbol_interval",
    "read_bars",
    "read_candles",
    "resample",
    "resample_bars",
    "symbol_profile",
    "to_bars",
    "validate_candles",
    "validate_frame",
    "write_candles_csv",
]
