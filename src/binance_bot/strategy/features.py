"""Feature values for strategy rules: whole series for backtests, bar by bar for live trading.

Both paths compute each feature with the indicators package (batch kernels and their
streaming twins, which agree to ~1e-13), and both place higher-timeframe features on
trading bars by the same rule (:mod:`binance_bot.strategy.timeframes`). A strategy therefore
sees the same numbers in a backtest as it will live.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from binance_bot import indicators as ind
from binance_bot.indicators import streaming as stream
from binance_bot.strategy.base import Feature, Strategy
from binance_bot.strategy.timeframes import TrendAggregator, aggregate, align

Series = Mapping[str, torch.Tensor]  # open, high, low, close, volume (float64, 1-D)


@dataclass(frozen=True, slots=True)
class IndicatorBinding:
    """How one named feature indicator is computed in batch and streamed."""

    batch: Callable[[Series, tuple[int, ...]], torch.Tensor]
    stream: Callable[[tuple[int, ...]], Callable[[float, float, float, float, float], float]]
    lookback: Callable[[tuple[int, ...]], int]


def _stream_close(factory: Callable[..., Any]) -> Callable[[tuple[int, ...]], Callable[..., float]]:
    def make(params: tuple[int, ...]) -> Callable[..., float]:
        state = factory(*params)
        return lambda o, h, lo, c, v: state.update(c)

    return make


def _stream_volume(factory: Callable[..., Any]) -> Callable[[tuple[int, ...]], Callable[..., float]]:
    def make(params: tuple[int, ...]) -> Callable[..., float]:
        state = factory(*params)
        return lambda o, h, lo, c, v: state.update(v)

    return make


def _stream_hlc(factory: Callable[..., Any], pick: Callable[[Any], float]) -> Callable[..., Any]:
    def make(params: tuple[int, ...]) -> Callable[..., float]:
        state = factory(*params)
        return lambda o, h, lo, c, v: pick(state.update(h, lo, c))

    return make


def _stream_close_pick(factory: Callable[..., Any], pick: Callable[[Any], float]) -> Callable[..., Any]:
    def make(params: tuple[int, ...]) -> Callable[..., float]:
        state = factory(*params)
        return lambda o, h, lo, c, v: pick(state.update(c))

    return make


def _identity(column: str) -> IndicatorBinding:
    index = {"open": 0, "high": 1, "low": 2, "close": 3, "volume": 4}[column]
    return IndicatorBinding(
        batch=lambda s, p: s[column],
        stream=lambda p: lambda *bar: float(bar[index]),
        lookback=lambda p: 0,
    )


INDICATORS: dict[str, IndicatorBinding] = {
    "open": _identity("open"),
    "high": _identity("high"),
    "low": _identity("low"),
    "close": _identity("close"),
    "volume": _identity("volume"),
    "sma": IndicatorBinding(
        batch=lambda s, p: ind.sma(s["close"], *p),
        stream=_stream_close(stream.Sma),
        lookback=lambda p: ind.lookback("sma", *p),
    ),
    "ema": IndicatorBinding(
        batch=lambda s, p: ind.ema(s["close"], *p),
        stream=_stream_close(stream.Ema),
        lookback=lambda p: ind.lookback("ema", *p),
    ),
    "rsi": IndicatorBinding(
        batch=lambda s, p: ind.rsi(s["close"], *p),
        stream=_stream_close(stream.Rsi),
        lookback=lambda p: ind.lookback("rsi", *p),
    ),
    "macd": IndicatorBinding(
        batch=lambda s, p: ind.macd(s["close"], *p).macd,
        stream=_stream_close_pick(stream.Macd, lambda r: r[0]),
        lookback=lambda p: ind.lookback("macd", *p),
    ),
    "macd_signal": IndicatorBinding(
        batch=lambda s, p: ind.macd(s["close"], *p).signal,
        stream=_stream_close_pick(stream.Macd, lambda r: r[1]),
        lookback=lambda p: ind.lookback("macd", *p),
    ),
    "macd_hist": IndicatorBinding(
        batch=lambda s, p: ind.macd(s["close"], *p).hist,
        stream=_stream_close_pick(stream.Macd, lambda r: r[2]),
        lookback=lambda p: ind.lookback("macd", *p),
    ),
    "stoch_k": IndicatorBinding(
        batch=lambda s, p: ind.stoch(s["high"], s["low"], s["close"], *p).k,
        stream=_stream_hlc(stream.Stoch, lambda r: r[0]),
        lookback=lambda p: ind.lookback("stoch", *p),
    ),
    "stoch_d": IndicatorBinding(
        batch=lambda s, p: ind.stoch(s["high"], s["low"], s["close"], *p).d,
        stream=_stream_hlc(stream.Stoch, lambda r: r[1]),
        lookback=lambda p: ind.lookback("stoch", *p),
    ),
    "adx": IndicatorBinding(
        batch=lambda s, p: ind.adx(s["high"], s["low"], s["close"], *p),
        stream=_stream_hlc(stream.Adx, lambda r: r),
        lookback=lambda p: ind.lookback("adx", *p),
    ),
    "atr": IndicatorBinding(
        batch=lambda s, p: ind.atr(s["high"], s["low"], s["close"], *p),
        stream=_stream_hlc(stream.Atr, lambda r: r),
        lookback=lambda p: ind.lookback("atr", *p),
    ),
    "volume_sma": IndicatorBinding(
        batch=lambda s, p: ind.sma(s["volume"], *p),
        stream=_stream_volume(stream.Sma),
        lookback=lambda p: ind.lookback("sma", *p),
    ),
}


def lookback(indicator: str, params: tuple[int, ...]) -> int:
    return binding(indicator).lookback(params)


def binding(indicator: str) -> IndicatorBinding:
    try:
        return INDICATORS[indicator]
    except KeyError:
        raise ValueError(f"unknown feature indicator {indicator!r}; known: {', '.join(INDICATORS)}") from None


def _lag(values: torch.Tensor, lag: int) -> torch.Tensor:
    if lag == 0:
        return values
    out = torch.full_like(values, torch.nan)
    out[lag:] = values[:-lag]
    return out


# ---------------------------------------------------------------------------------------------- batch
class FeatureCache:
    """Computes each distinct (indicator, params, timeframe) once, however many rules read it.

    A parameter sweep builds many strategies over the same bars; their features overlap
    (ten ``fast`` values share one ``slow`` SMA), so the cache is what makes a sweep cheap.
    """

    def __init__(
        self,
        series: Series,
        open_time: torch.Tensor,
        *,
        interval: str,
        trend_interval: str | None = None,
    ) -> None:
        self.series = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in series.items()}
        self.open_time = torch.as_tensor(open_time, dtype=torch.int64)
        self.interval = interval
        self.trend_interval = trend_interval
        self._trend: Any = None
        self._values: dict[tuple[str, tuple[int, ...], str], torch.Tensor] = {}

    def _trend_bars(self) -> Any:
        if self._trend is None:
            if self.trend_interval is None:
                raise ValueError("a trend feature needs a trend interval")
            s = self.series
            self._trend = aggregate(
                self.open_time,
                s["open"],
                s["high"],
                s["low"],
                s["close"],
                s["volume"],
                interval=self.interval,
                trend_interval=self.trend_interval,
            )
        return self._trend

    def get(self, feature: Feature) -> torch.Tensor:
        key = (feature.indicator, feature.params, feature.timeframe)
        values = self._values.get(key)
        if values is None:
            bind = binding(feature.indicator)
            if feature.timeframe == "trend":
                tb = self._trend_bars()
                trend_series = {
                    "open": tb.open,
                    "high": tb.high,
                    "low": tb.low,
                    "close": tb.close,
                    "volume": tb.volume,
                }
                values = align(bind.batch(trend_series, feature.params), tb.last_complete)
            else:
                values = bind.batch(self.series, feature.params)
            self._values[key] = values
        if feature.timeframe == "trend" and feature.lag:
            raise ValueError("lagged trend features are not supported")
        return _lag(values, feature.lag)

    def features(self, strategy: Strategy) -> dict[str, torch.Tensor]:
        return {name: self.get(f) for name, f in strategy.features().items()}


@dataclass(frozen=True, slots=True)
class Signals:
    """Entry and exit rules evaluated on every bar (bool tensors, same length as the bars)."""

    entry: torch.Tensor
    exit: torch.Tensor


def batch_signals(strategy: Strategy, cache: FeatureCache) -> Signals:
    f = cache.features(strategy)
    return Signals(entry=torch.as_tensor(strategy.entry(f)), exit=torch.as_tensor(strategy.exit(f)))


# ---------------------------------------------------------------------------------------------- stream
@dataclass(frozen=True, slots=True)
class BarDecision:
    """What the rules say at one closed bar, with the feature values that led there."""

    open_time: int
    entry: bool
    exit: bool
    values: dict[str, float]


class StreamingFeatures:
    """The live twin of :class:`FeatureCache` + :func:`batch_signals` for one symbol."""

    def __init__(self, strategy: Strategy, *, interval: str, trend_interval: str | None = None) -> None:
        self.strategy = strategy
        self._features = strategy.features()
        needs_trend = any(f.timeframe == "trend" for f in self._features.values())
        if needs_trend and trend_interval is None:
            raise ValueError(f"{strategy.name} needs a trend interval")
        self._trend = TrendAggregator(interval, trend_interval) if needs_trend else None
        self._updaters: dict[tuple[str, tuple[int, ...], str], Callable[..., float]] = {}
        self._current: dict[tuple[str, tuple[int, ...], str], float] = {}
        self._history: dict[tuple[str, tuple[int, ...], str], deque[float]] = {}
        for f in self._features.values():
            key = (f.indicator, f.params, f.timeframe)
            if key not in self._updaters:
                self._updaters[key] = binding(f.indicator).stream(f.params)
                self._current[key] = float("nan")
            depth = max(f.lag + 1, len(self._history.get(key, ())) or 1)
            self._history[key] = deque([float("nan")] * depth, maxlen=depth)

    def _push(self, timeframe: str, bar: tuple[float, float, float, float, float]) -> None:
        for key, update in self._updaters.items():
            if key[2] == timeframe:
                value = float(update(*bar))
                self._current[key] = value
                self._history[key].append(value)

    def update(
        self, open_time: int, open_: float, high: float, low: float, close: float, volume: float
    ) -> BarDecision:
        """Feed one closed trading bar; returns the rules' verdict at its close."""
        self._push("trade", (open_, high, low, close, volume))
        if self._trend is not None:
            for tb in self._trend.update(open_time, open_, high, low, close, volume):
                self._push("trend", tb[1:])
        values: dict[str, float] = {}
        for name, f in self._features.items():
            hist = self._history[(f.indicator, f.params, f.timeframe)]
            values[name] = hist[-1 - f.lag] if f.lag < len(hist) else float("nan")
        return BarDecision(
            open_time=open_time,
            entry=bool(self.strategy.entry(values)),
            exit=bool(self.strategy.exit(values)),
            values=values,
        )
