"""Technical indicators: PyTorch kernels equal to TA-Lib, batched over symbols, and streaming.

Three ways in, one set of values (TA-Lib's):

* batch kernels over ``[time]`` or ``[symbol x time]`` tensors on any device:
  :func:`sma`, :func:`ema`, :func:`rsi`, :func:`macd`, :func:`bbands`, :func:`atr`,
  :func:`stoch`, :func:`adx`, :func:`mom`, :func:`roc`, and :func:`compute_set` for a whole
  :class:`IndicatorSet` in one fused pass; :func:`lookback` gives the warm-up length;
* streaming state objects for the live engine, one bar at a time, in
  :mod:`binance_bot.indicators.streaming` (``streaming.Ema(9).update(close)``...; plain floats,
  O(1) per bar; :data:`STREAMS` maps names to classes);
* :class:`TechnicalIndicators`, the tulipy-style facade returning NumPy arrays, with
  ``calculate_all_indicators`` for candle frames.
"""

from binance_bot.indicators import streaming
from binance_bot.indicators.batch import (
    Bands,
    IndicatorSet,
    Macd,
    Stoch,
    adx,
    atr,
    bbands,
    compute_set,
    ema,
    lookback,
    macd,
    mom,
    roc,
    rsi,
    sma,
    stoch,
)
from binance_bot.indicators.facade import TechnicalIndicators
from binance_bot.indicators.streaming import STREAMS

__all__ = [
    "STREAMS",
    "Bands",
    "IndicatorSet",
    "Macd",
    "Stoch",
    "TechnicalIndicators",
    "adx",
    "atr",
    "bbands",
    "compute_set",
    "ema",
    "lookback",
    "macd",
    "mom",
    "roc",
    "rsi",
    "sma",
    "stoch",
    "streaming",
]
