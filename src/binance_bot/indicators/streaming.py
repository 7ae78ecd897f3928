"""One-bar-at-a-time indicators for the live engine, equal to the batch kernels.

Each class keeps a few floats of state and returns the indicator for the bar just closed:
``update(...)`` costs O(1) per bar (rolling extremes: amortised O(1), with monotone deques).
They use plain Python floats, because for one bar a tensor operation costs more than the
whole update. The arithmetic follows TA-Lib's own loops, so the values equal TA-Lib's and the
batch kernels' (to rounding) on the same data, with NaN for the warm-up bars.

Rolling sums keep a running total but re-add their window exactly (``math.fsum``) once every
``n`` bars, so a live stream running for months does not drift; the variance of BBANDS is
kept as sums of deviations from a reference inside the window, refreshed the same way.

NaN or infinite inputs follow the batch rules: bars before the first finite one are skipped
(the warm-up starts there); afterwards a non-finite bar is a hole. Window indicators (SMA,
BBANDS, STOCH, MOM, ROC) return NaN while a hole is inside their window (computing, as the
batch kernels do, with the hole replaced by the last finite bar) and recover afterwards;
smoothed indicators (EMA, MACD, RSI, ATR, ADX) return NaN from the hole on.

Every class can start from history: ``Ema.from_history(closes, n=9)`` or ``ema.warm_up(closes)``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from typing import ClassVar, Self

from binance_bot.indicators.batch import lookback

_NAN = float("nan")


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


class _Window:
    """Sum of the last ``n`` values, exact to rounding however long the stream runs."""

    __slots__ = ("_count", "_sum", "_values", "n")

    def __init__(self, n: int) -> None:
        self.n = n
        self._values: deque[float] = deque()
        self._sum = 0.0
        self._count = 0

    def push(self, value: float) -> None:
        self._values.append(value)
        self._sum += value
        if len(self._values) > self.n:
            self._sum -= self._values.popleft()
        self._count += 1
        if self._count % self.n == 0:
            self._sum = math.fsum(self._values)

    @property
    def full(self) -> bool:
        return len(self._values) == self.n

    @property
    def total(self) -> float:
        return self._sum


class _Holes:
    """Where the holes were, to answer "is there a hole in the last k bars"."""

    __slots__ = ("_bar", "_last")

    def __init__(self) -> None:
        self._bar = -1
        self._last = -(10**18)

    def step(self, hole: bool) -> None:
        self._bar += 1
        if hole:
            self._last = self._bar

    def within(self, bars: int) -> bool:
        return self._bar - self._last < bars


class _Stream:
    """Shared plumbing: parameters, warm-up from history."""

    name: ClassVar[str]
    lookback: int

    def update(self, *bar: float) -> object:
        raise NotImplementedError

    def warm_up(self, *history: Iterable[float]) -> Self:
        """Feed past bars (one iterable per input, oldest first); returns ``self``."""
        for bar in zip(*history, strict=True):
            self.update(*bar)
        return self

    @classmethod
    def from_history(cls, *history: Iterable[float], **params: int | float) -> Self:
        """A new stream with these parameters, warmed up on the given past bars."""
        return cls(**params).warm_up(*history)  # type: ignore[call-arg]


class Sma(_Stream):
    """Simple moving average of the last ``n`` closes."""

    name = "sma"

    def __init__(self, n: int = 30) -> None:
        self.n = n
        self.lookback = lookback("sma", n)
        self._window = _Window(n)
        self._holes = _Holes()
        self._last = _NAN
        self.value = _NAN

    def update(self, x: float) -> float:
        if not math.isfinite(x):
            if math.isnan(self._last):
                return _NAN
            x = self._last
            self._holes.step(True)
        else:
            self._holes.step(False)
        self._last = x
        self._window.push(x)
        ok = self._window.full and not self._holes.within(self.n)
        self.value = self._window.total / self.n if ok else _NAN
        return self.value


class Ema(_Stream):
    """Exponential moving average, ``k = 2 / (n + 1)``, seeded with the SMA of the first ``n``."""

    name = "ema"

    def __init__(self, n: int = 30) -> None:
        self.n = n
        self.k = 2.0 / (n + 1)
        self.lookback = lookback("ema", n)
        self._count = 0
        self._seed = 0.0
        self._dead = False
        self.value = _NAN

    def update(self, x: float) -> float:
        if self._dead or not math.isfinite(x):
            self._dead = self._dead or self._count > 0
            self.value = _NAN
            return _NAN
        self._count += 1
        if self._count < self.n:
            self._seed += x
        elif self._count == self.n:
            self.value = (self._seed + x) / self.n
        else:
            self.value = (x - self.value) * self.k + self.value
        return self.value


class Rsi(_Stream):
    """Wilder's RSI, 0..100."""

    name = "rsi"

    def __init__(self, n: int = 14) -> None:
        self.n = n
        self.lookback = lookback("rsi", n)
        self._count = 0
        self._prev = _NAN
        self._gain = 0.0
        self._loss = 0.0
        self._dead = False
        self.value = _NAN

    def update(self, x: float) -> float:
        if self._dead or not math.isfinite(x):
            self._dead = self._dead or self._count > 0
            self.value = _NAN
            return _NAN
        n = self.n
        self._count += 1
        if self._count == 1:
            self._prev = x
            return _NAN
        diff = x - self._prev
        self._prev = x
        if self._count <= n + 1:
            if diff < 0:
                self._loss -= diff
            else:
                self._gain += diff
            if self._count <= n:
                return _NAN
            self._loss /= n
            self._gain /= n
        else:
            self._loss *= n - 1
            self._gain *= n - 1
            if diff < 0:
                self._loss -= diff
            else:
                self._gain += diff
            self._loss /= n
            self._gain /= n
        total = self._gain + self._loss
        self.value = 100.0 * (self._gain / total) if total != 0.0 else 0.0
        return self.value


class Macd(_Stream):
    """MACD line, signal and histogram with TA-Lib's aligned seeding; ``update`` returns
    ``(macd, signal, hist)``."""

    name = "macd"

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast, self.slow = min(fast, slow), max(fast, slow)
        self.signal = signal
        self.lookback = lookback("macd", fast, slow, signal)
        self._kf, self._ks, self._kg = 2.0 / (self.fast + 1), 2.0 / (self.slow + 1), 2.0 / (signal + 1)
        self._count = 0
        self._head: deque[float] = deque(maxlen=self.slow)
        self._ema_fast = self._ema_slow = self._sig = _NAN
        self._sig_seed = 0.0
        self._dead = False
        self.value: tuple[float, float, float] = (_NAN, _NAN, _NAN)

    def update(self, x: float) -> tuple[float, float, float]:
        none = (_NAN, _NAN, _NAN)
        if self._dead or not math.isfinite(x):
            self._dead = self._dead or self._count > 0
            self.value = none
            return none
        self._count += 1
        if self._count < self.slow:
            self._head.append(x)
            return none
        if self._count == self.slow:
            self._head.append(x)
            head = list(self._head)
            self._ema_slow = sum(head) / self.slow
            self._ema_fast = sum(head[self.slow - self.fast :]) / self.fast
        else:
            self._ema_fast = (x - self._ema_fast) * self._kf + self._ema_fast
            self._ema_slow = (x - self._ema_slow) * self._ks + self._ema_slow
        line = self._ema_fast - self._ema_slow
        seen = self._count - self.slow + 1  # MACD values so far
        if seen < self.signal:
            self._sig_seed += line
            return none
        if seen == self.signal:
            self._sig = (self._sig_seed + line) / self.signal
        else:
            self._sig = (line - self._sig) * self._kg + self._sig
        self.value = (line, self._sig, line - self._sig)
        return self.value


class Bbands(_Stream):
    """Bollinger bands around an SMA with the population deviation; ``update`` returns
    ``(lower, middle, upper)``."""

    name = "bbands"

    def __init__(self, n: int = 5, nbdev_up: float = 2.0, nbdev_dn: float = 2.0) -> None:
        self.n = n
        self.up, self.down = float(nbdev_up), float(nbdev_dn)
        self.lookback = lookback("bbands", n)
        self._values: deque[float] = deque()
        self._ref = _NAN
        self._s1 = 0.0
        self._s2 = 0.0
        self._count = 0
        self._holes = _Holes()
        self._last = _NAN
        self.value: tuple[float, float, float] = (_NAN, _NAN, _NAN)

    def update(self, x: float) -> tuple[float, float, float]:
        if not math.isfinite(x):
            if math.isnan(self._last):
                return (_NAN, _NAN, _NAN)
            x = self._last
            self._holes.step(True)
        else:
            self._holes.step(False)
        self._last = x
        values = self._values
        values.append(x)
        if math.isnan(self._ref):
            self._ref = x
        dev = x - self._ref
        self._s1 += dev
        self._s2 += dev * dev
        if len(values) > self.n:
            old = values.popleft() - self._ref
            self._s1 -= old
            self._s2 -= old * old
        self._count += 1
        if self._count % self.n == 0:
            # a fresh reference inside the window and exact sums: no drift, no cancellation
            self._ref = values[0]
            devs = [v - self._ref for v in values]
            self._s1 = math.fsum(devs)
            self._s2 = math.fsum(d * d for d in devs)
        if len(values) < self.n or self._holes.within(self.n):
            self.value = (_NAN, _NAN, _NAN)
            return self.value
        mean_dev = self._s1 / self.n
        var = self._s2 / self.n - mean_dev * mean_dev
        std = math.sqrt(var) if var > 0.0 else 0.0
        middle = self._ref + mean_dev
        self.value = (middle - self.down * std, middle, middle + self.up * std)
        return self.value


def _true_range(high: float, low: float, prev_close: float) -> float:
    out = high - low
    out = max(out, abs(high - prev_close))
    return max(out, abs(low - prev_close))


class Atr(_Stream):
    """Wilder's average true range; ``update(high, low, close)``."""

    name = "atr"

    def __init__(self, n: int = 14) -> None:
        self.n = n
        self.lookback = lookback("atr", n)
        self._count = 0
        self._prev_close = _NAN
        self._sum = 0.0
        self._dead = False
        self.value = _NAN

    def update(self, high: float, low: float, close: float) -> float:
        if self._dead or not _finite(high, low, close):
            self._dead = self._dead or self._count > 0
            self.value = _NAN
            return _NAN
        n = self.n
        self._count += 1
        if self._count == 1:
            self._prev_close = close
            return _NAN
        tr = _true_range(high, low, self._prev_close)
        self._prev_close = close
        if self._count <= n + 1:
            self._sum += tr
            if self._count <= n:
                return _NAN
            self.value = self._sum / n
        else:
            self.value = (self.value * (n - 1) + tr) / n
        return self.value


class Adx(_Stream):
    """Wilder's average directional index; ``update(high, low, close)``."""

    name = "adx"

    def __init__(self, n: int = 14) -> None:
        self.n = n
        self.lookback = lookback("adx", n)
        self._count = 0
        self._prev = (_NAN, _NAN, _NAN)
        self._minus = self._plus = self._range = 0.0
        self._sum_dx = 0.0
        self._dead = False
        self.value = _NAN

    def update(self, high: float, low: float, close: float) -> float:
        if self._dead or not _finite(high, low, close):
            self._dead = self._dead or self._count > 0
            self.value = _NAN
            return _NAN
        n = self.n
        self._count += 1
        prev_high, prev_low, prev_close = self._prev
        self._prev = (high, low, close)
        if self._count == 1:
            return _NAN
        up, down = high - prev_high, prev_low - low
        minus_dm = down if down > 0 and up < down else 0.0
        plus_dm = up if up > 0 and up > down else 0.0
        tr = _true_range(high, low, prev_close)
        bar = self._count - 1
        if bar < n:
            self._minus += minus_dm
            self._plus += plus_dm
            self._range += tr
            return _NAN
        self._minus = self._minus - self._minus / n + minus_dm
        self._plus = self._plus - self._plus / n + plus_dm
        self._range = self._range - self._range / n + tr
        dx = _NAN
        if self._range != 0.0:
            minus_di = 100.0 * (self._minus / self._range)
            plus_di = 100.0 * (self._plus / self._range)
            total = minus_di + plus_di
            if total != 0.0:
                dx = 100.0 * (abs(minus_di - plus_di) / total)
        if bar < 2 * n:
            if not math.isnan(dx):
                self._sum_dx += dx
            if bar < 2 * n - 1:
                return _NAN
            self.value = self._sum_dx / n
        elif not math.isnan(dx):
            self.value = (self.value * (n - 1) + dx) / n
        return self.value


class _Extreme:
    """Rolling maximum (or minimum) of the last ``n`` values with a monotone deque."""

    __slots__ = ("_bar", "_items", "_largest", "n")

    def __init__(self, n: int, largest: bool) -> None:
        self.n = n
        self._largest = largest
        self._items: deque[tuple[int, float]] = deque()
        self._bar = -1

    def push(self, value: float) -> float:
        self._bar += 1
        items = self._items
        if self._largest:
            while items and items[-1][1] <= value:
                items.pop()
        else:
            while items and items[-1][1] >= value:
                items.pop()
        items.append((self._bar, value))
        if items[0][0] <= self._bar - self.n:
            items.popleft()
        return items[0][1]


class Stoch(_Stream):
    """Slow stochastic with SMA smoothing; ``update(high, low, close)`` returns ``(k, d)``."""

    name = "stoch"

    def __init__(self, fastk: int = 5, slowk: int = 3, slowd: int = 3) -> None:
        self.fastk, self.slowk, self.slowd = fastk, slowk, slowd
        self.lookback = lookback("stoch", fastk, slowk, slowd)
        self._highest = _Extreme(fastk, largest=True)
        self._lowest = _Extreme(fastk, largest=False)
        self._k_window = _Window(slowk)
        self._d_window = _Window(slowd)
        self._count = 0
        self._holes = _Holes()
        self._last = (_NAN, _NAN, _NAN)
        self.value: tuple[float, float] = (_NAN, _NAN)

    def update(self, high: float, low: float, close: float) -> tuple[float, float]:
        if not _finite(high, low, close):
            if math.isnan(self._last[0]):
                return (_NAN, _NAN)
            high, low, close = self._last
            self._holes.step(True)
        else:
            self._holes.step(False)
        self._last = (high, low, close)
        self._count += 1
        highest = self._highest.push(high)
        lowest = self._lowest.push(low)
        if self._count < self.fastk:
            return (_NAN, _NAN)
        span = (highest - lowest) / 100.0
        fast_k = (close - lowest) / span if span != 0.0 else 0.0
        self._k_window.push(fast_k)
        if not self._k_window.full:
            return (_NAN, _NAN)
        slow_k = self._k_window.total / self.slowk
        self._d_window.push(slow_k)
        if not self._d_window.full:
            return (_NAN, _NAN)
        k_span = self.fastk + self.slowk - 1
        k = _NAN if self._holes.within(k_span) else slow_k
        d = _NAN if self._holes.within(k_span + self.slowd - 1) else self._d_window.total / self.slowd
        self.value = (k, d)
        return self.value


class Mom(_Stream):
    """Momentum ``x[t] - x[t-n]``."""

    name = "mom"
    _percent = False

    def __init__(self, n: int = 10) -> None:
        self.n = n
        self.lookback = lookback(self.name, n)
        self._values: deque[float] = deque(maxlen=n + 1)
        self._holes: deque[bool] = deque(maxlen=n + 1)
        self._last = _NAN
        self.value = _NAN

    def update(self, x: float) -> float:
        hole = not math.isfinite(x)
        if hole:
            if math.isnan(self._last):
                return _NAN
            x = self._last
        self._last = x
        self._values.append(x)
        self._holes.append(hole)
        if len(self._values) <= self.n or self._holes[0] or hole:
            self.value = _NAN
        elif self._percent:
            then = self._values[0]
            self.value = ((x / then) - 1.0) * 100.0 if then != 0.0 else 0.0
        else:
            self.value = x - self._values[0]
        return self.value


class Roc(Mom):
    """Rate of change in percent, ``(x[t] / x[t-n] - 1) * 100``; 0 where ``x[t-n]`` is 0."""

    name = "roc"
    _percent = True


STREAMS: dict[str, type[_Stream]] = {
    cls.name: cls for cls in (Sma, Ema, Rsi, Macd, Bbands, Atr, Stoch, Adx, Mom, Roc)
}
"""Streaming class by indicator name, for code that configures indicators by name."""
