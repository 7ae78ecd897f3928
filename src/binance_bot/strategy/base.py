"""What a strategy is: named features, an entry rule and an exit rule, and a parameter space.

A rule is one function written once and evaluated two ways: on whole tensors by the
vectorized backtester (every bar at once) and on plain floats by the live engine (the bar
that just closed). It only combines its inputs with comparisons (:func:`gt`, :func:`lt`,
...) and ``&``/``|``, which mean the same thing for tensors and for Python bools, so the
backtest cannot drift from what trades live.

Comparisons carry a tiny relative tolerance. Batch and streaming indicators agree to about
1e-13, not bit for bit; without the tolerance two equal moving averages (a flat market)
could compare differently in a backtest and live. With it, equality is "not above" on both.

Spot trading is long-only: a short signal means "stay flat", so rules only say when to be
long (entry) and when to stop being long (exit). Stop-loss and take-profit exits are the
risk layer's, not the strategy's.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import torch

from binance_bot.errors import ConfigError, StrategyError

RELATIVE_TOLERANCE = 1e-9

Value = Any  # a torch.Tensor (batch) or a float (streaming); rules treat both alike


def _scale(a: Value, b: Value) -> Value:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return torch.maximum(torch.as_tensor(a).abs(), torch.as_tensor(b).abs()) * RELATIVE_TOLERANCE
    return max(abs(a), abs(b)) * RELATIVE_TOLERANCE


def gt(a: Value, b: Value) -> Value:
    """``a > b`` beyond rounding noise; False when either side is NaN (warm-up)."""
    return (a - b) > _scale(a, b)


def lt(a: Value, b: Value) -> Value:
    """``a < b`` beyond rounding noise; False when either side is NaN."""
    return (b - a) > _scale(a, b)


def ge(a: Value, b: Value) -> Value:
    """``a >= b`` up to rounding noise; False when either side is NaN."""
    return (b - a) <= _scale(a, b)


def le(a: Value, b: Value) -> Value:
    """``a <= b`` up to rounding noise; False when either side is NaN."""
    return (a - b) <= _scale(a, b)


@dataclass(frozen=True, slots=True)
class Feature:
    """One input of a rule: an indicator output on a timeframe, optionally ``lag`` bars back.

    ``indicator`` names an entry of :data:`binance_bot.strategy.features.INDICATORS`
    (``close``, ``volume``, ``sma``, ``ema``, ``rsi``, ``macd_hist``, ``stoch_k``, ``stoch_d``,
    ``adx``, ...). ``timeframe`` is ``trade`` (the trading interval) or ``trend`` (the higher
    interval, aggregated from trading bars and used once its bar has closed).
    """

    indicator: str
    params: tuple[int, ...] = ()
    timeframe: str = "trade"
    lag: int = 0

    @property
    def key(self) -> str:
        args = ",".join(str(p) for p in self.params)
        base = f"{self.indicator}({args})" if self.params else self.indicator
        if self.timeframe != "trade":
            base = f"{self.timeframe}:{base}"
        return f"{base}@{self.lag}" if self.lag else base


@dataclass(frozen=True, slots=True)
class ParamRange:
    """An inclusive integer or decimal range for optimisation: ``start..stop`` by ``step``."""

    start: float
    stop: float
    step: float

    def values(self) -> list[float]:
        out, v = [], self.start
        while v <= self.stop + 1e-12:
            out.append(round(v, 10))
            v += self.step
        return out


P = TypeVar("P")


class Strategy(ABC):
    """Base class. Subclasses set ``name``, ``Params`` (a frozen dataclass) and ``search_space``."""

    name: ClassVar[str]
    Params: ClassVar[type]
    search_space: ClassVar[Mapping[str, ParamRange]] = {}
    uses_trend: ClassVar[bool] = False
    description: ClassVar[str] = ""

    def __init__(self, params: Any = None) -> None:
        self.params = params if params is not None else self.Params()
        self.validate()

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> Strategy:
        """Build from config values; unknown or ill-typed parameters are configuration errors."""
        values = dict(values or {})
        fields = {f.name: f for f in dataclasses.fields(cls.Params)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ConfigError(
                f"trading.strategy_params: unknown parameter(s) {', '.join(unknown)} for {cls.name} "
                f"(allowed: {', '.join(fields)})",
                key="trading.strategy_params",
            )
        converted: dict[str, Any] = {}
        for key, raw in values.items():
            kind = type(getattr(cls.Params(), key))
            try:
                converted[key] = kind(raw)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"trading.strategy_params.{key}: expected {kind.__name__}, got {raw!r}",
                    key=f"trading.strategy_params.{key}",
                ) from None
        try:
            return cls(cls.Params(**converted))
        except StrategyError as exc:
            raise ConfigError(f"trading.strategy_params: {exc}", key="trading.strategy_params") from exc

    def validate(self) -> None:
        """Raise :class:`StrategyError` for parameters that make no sense (override to add rules)."""
        for f in dataclasses.fields(self.params):
            value = getattr(self.params, f.name)
            if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
                raise StrategyError(f"{self.name}: {f.name} must be > 0, got {value}")

    @abstractmethod
    def features(self) -> dict[str, Feature]:
        """The inputs the rules read, by local name."""

    @abstractmethod
    def entry(self, f: Mapping[str, Value]) -> Value:
        """True where a flat position should go long (evaluated at bar close)."""

    @abstractmethod
    def exit(self, f: Mapping[str, Value]) -> Value:
        """True where an open long should be closed by the strategy (evaluated at bar close)."""

    def warmup_bars(self, trend_ratio: int = 1) -> int:
        """Bars of history before every feature has a value (trading-interval bars)."""
        from binance_bot.strategy.features import lookback

        worst = 0
        for feat in self.features().values():
            bars = lookback(feat.indicator, feat.params) + feat.lag
            if feat.timeframe == "trend":
                bars = (bars + 1) * trend_ratio
            worst = max(worst, bars)
        return worst

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "params": dataclasses.asdict(self.params)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"
