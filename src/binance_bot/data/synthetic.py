"""A seeded synthetic market: the embedded default market of paper mode and the simulator.

The price is a log random walk with the stylized facts strategies must survive:

* **regimes** - a Markov chain over bull, bear, range and turbulent states (mean stay about
  three days) sets the drift and scales volatility and volume;
* **volatility clustering** - GARCH(1,1) on the standardized shocks (alpha 0.05, beta 0.93);
* **fat tails** - Student-t shocks with 4 degrees of freedom, scaled to unit variance;
* **an intraday pattern** - volume and volatility peak around 14:30 UTC (US open) and are
  lower at weekends;
* a weak pull (half-life about 1.4 years) toward the start price so an endless paper
  session never drifts to absurd prices.

Prices are integer ticks of the symbol's ``tickSize`` and volumes integer ``stepSize``
steps, so every candle converts to exact ``Decimal`` and passes Binance's filters as
:func:`default_symbol_rules` states them. High and low bound open and close; quote volume is
volume times the bar's typical price ``(o + h + l + c) / 4`` rounded to 8 decimals, so
``low * volume <= quote_volume <= high * volume``; taker volumes are a share of them.

Determinism: the candle at a given open time depends only on (symbol, interval, seed,
origin). Each random input has its own stream drawn a fixed number of times per candle, so
``next_bar()`` called n times, ``next_frame(n)`` and ``bars(t, n)`` give identical candles,
and a restarted paper session regenerates the same history. Symbols are independent of each
other; generate the finest interval needed and :func:`~binance_bot.data.resample` it when
several intervals of one market must agree.
"""

from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from binance_bot.data.frame import COLUMNS, CandleFrame
from binance_bot.data.slots import check_interval, slot_index, slot_start
from binance_bot.model.instrument import SymbolRules
from binance_bot.model.intervals import INTERVAL_MS
from binance_bot.model.market import Bar
from binance_bot.model.numbers import decimal_places

DEFAULT_START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
_DAY_MS = 86_400_000
_YEAR_MS = 365 * _DAY_MS
_QUOTE_PLACES = 8  # Binance's kline quote volumes carry 8 decimals

KNOWN_QUOTES: tuple[str, ...] = (
    "FDUSD",
    "USDT",
    "USDC",
    "TUSD",
    "BUSD",
    "DAI",
    "BTC",
    "ETH",
    "BNB",
    "EUR",
    "TRY",
    "BRL",
    "JPY",
)
_MIN_NOTIONAL_BY_QUOTE: dict[str, Decimal] = {
    "BTC": Decimal("0.0001"),
    "ETH": Decimal("0.001"),
    "BNB": Decimal("0.01"),
    "TRY": Decimal("10"),
}
_USD_QUOTES = frozenset({"FDUSD", "USDT", "USDC", "TUSD", "BUSD", "DAI"})


def split_symbol(symbol: str) -> tuple[str, str]:
    """Base and quote asset of a symbol such as ``BTCUSDT``; ``ValueError`` when unknown."""
    for quote in KNOWN_QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    raise ValueError(
        f"cannot split symbol {symbol!r} into base and quote asset (quotes: {', '.join(KNOWN_QUOTES)})"
    )


@dataclass(frozen=True)
class SymbolProfile:
    """What the generator needs to know about one market; ticks and steps are powers of ten."""

    symbol: str
    base_asset: str
    quote_asset: str
    start_price: Decimal
    tick_size: Decimal
    step_size: Decimal
    annual_volatility: float
    daily_volume: float  # base asset per day, on average
    avg_trade_size: float  # base asset per trade
    max_qty: Decimal
    min_notional: Decimal

    def __post_init__(self) -> None:
        for name in ("tick_size", "step_size"):
            value: Decimal = getattr(self, name)
            if value <= 0 or value != Decimal(1).scaleb(-decimal_places(value)):
                raise ValueError(f"{self.symbol}: {name} must be a power of ten <= 1, got {value}")


def _known(
    symbol: str, price: str, tick: str, step: str, vol: float, daily: float, trade: float
) -> SymbolProfile:
    base, quote = split_symbol(symbol)
    return SymbolProfile(
        symbol=symbol,
        base_asset=base,
        quote_asset=quote,
        start_price=Decimal(price),
        tick_size=Decimal(tick),
        step_size=Decimal(step),
        annual_volatility=vol,
        daily_volume=daily,
        avg_trade_size=trade,
        max_qty=Decimal(9000) if Decimal(price) >= 100 else Decimal(90_000_000),
        min_notional=Decimal(5),
    )


KNOWN_PROFILES: dict[str, SymbolProfile] = {
    p.symbol: p
    for p in (
        _known("BTCUSDT", "60000", "0.01", "0.00001", 0.55, 25_000, 0.03),
        _known("ETHUSDT", "3000", "0.01", "0.0001", 0.70, 350_000, 0.4),
        _known("BNBUSDT", "600", "0.01", "0.001", 0.60, 120_000, 1.0),
        _known("SOLUSDT", "150", "0.01", "0.001", 0.85, 2_500_000, 6.0),
        _known("XRPUSDT", "0.6", "0.0001", "0.1", 0.80, 400_000_000, 800.0),
        _known("ADAUSDT", "0.45", "0.0001", "0.1", 0.80, 300_000_000, 1_000.0),
        _known("DOGEUSDT", "0.12", "0.00001", "1", 0.90, 1_500_000_000, 5_000.0),
    )
}


def _unit_hash(*parts: str) -> list[float]:
    """Stable uniforms in [0, 1) from text (Python's ``hash`` changes between runs)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return [int.from_bytes(digest[i : i + 8], "big") / 2**64 for i in range(0, 32, 8)]


def symbol_profile(symbol: str) -> SymbolProfile:
    """The profile of a known symbol, or one derived from a hash of the name for any other.

    An unknown symbol gets a start price between 0.01 and 1000, a tick giving about five
    significant digits, a step that makes the minimum notional 10 to 100 steps, 60-120 %
    annual volatility and a daily turnover of 10-60 million USD worth of the quote asset
    (scaled by the minimum notional for BTC, ETH and BNB quotes). The same name always gets
    the same profile.
    """
    if symbol in KNOWN_PROFILES:
        return KNOWN_PROFILES[symbol]
    base, quote = split_symbol(symbol)
    u = _unit_hash("profile", symbol)
    log_price = -2.0 + 5.0 * u[0]
    tick_exp = max(-8, min(-2, math.floor(log_price) - 4))
    tick = Decimal(1).scaleb(tick_exp)
    price = (Decimal(10 ** (log_price - tick_exp)).quantize(Decimal(1))).scaleb(tick_exp)
    min_notional = _MIN_NOTIONAL_BY_QUOTE.get(quote, Decimal(5))
    step_exp = max(-8, min(0, math.ceil(math.log10(float(min_notional) / float(price))) - 2))
    scale = float(min_notional) / 5  # turnover in "USD-like" units of the quote asset
    return SymbolProfile(
        symbol=symbol,
        base_asset=base,
        quote_asset=quote,
        start_price=price,
        tick_size=tick,
        step_size=Decimal(1).scaleb(step_exp),
        annual_volatility=0.6 + 0.6 * u[1],
        daily_volume=(10e6 + 50e6 * u[2]) * scale / float(price),
        avg_trade_size=300.0 * scale / float(price),
        max_qty=Decimal(9 * 10 ** max(3, math.floor(math.log10(1e8 / float(price))))),
        min_notional=min_notional,
    )


def default_symbol_rules(symbol: str) -> SymbolRules:
    """Exchange filters matching what :class:`SyntheticMarket` generates for ``symbol``.

    PRICE_FILTER (tick, min price one tick), LOT_SIZE (step, min one step), NOTIONAL (5 for
    USD quotes), PERCENT_PRICE_BY_SIDE 0.2-5, MARKET_LOT_SIZE without its own step, 200
    open orders and 5 algo orders: the shape of Binance's spot ``exchangeInfo``.
    """
    return rules_for_profile(symbol_profile(symbol))


def rules_for_profile(p: SymbolProfile) -> SymbolRules:
    """:func:`default_symbol_rules` for an explicit profile."""
    max_price = Decimal(10 ** max(3, math.ceil(math.log10(float(p.start_price))) + 3))
    return SymbolRules(
        symbol=p.symbol,
        base_asset=p.base_asset,
        quote_asset=p.quote_asset,
        min_price=p.tick_size,
        max_price=max_price,
        tick_size=p.tick_size,
        min_qty=p.step_size,
        max_qty=p.max_qty,
        step_size=p.step_size,
        market_min_qty=Decimal(0),
        market_max_qty=p.max_qty,
        market_step_size=Decimal(0),
        min_notional=p.min_notional,
        max_notional=Decimal(9_000_000) if p.quote_asset in _USD_QUOTES else Decimal(0),
        apply_min_to_market=True,
        apply_max_to_market=False,
        avg_price_mins=5,
        bid_multiplier_up=Decimal(5),
        bid_multiplier_down=Decimal("0.2"),
        ask_multiplier_up=Decimal(5),
        ask_multiplier_down=Decimal("0.2"),
        max_num_orders=200,
        max_num_algo_orders=5,
    )


@dataclass(frozen=True)
class Regime:
    """A market state: annual log drift, and multipliers of volatility and volume."""

    name: str
    drift: float
    volatility: float
    volume: float


REGIMES: tuple[Regime, ...] = (
    Regime("bull", 0.8, 0.9, 1.0),
    Regime("bear", -0.7, 1.1, 1.1),
    Regime("range", 0.0, 0.6, 0.75),
    Regime("turbulent", -0.1, 2.0, 1.8),
)
REGIME_DAYS = 3.0  # mean stay in a regime
GARCH_ALPHA = 0.05
GARCH_BETA = 0.93
T_DOF = 4.0
PULL_PER_YEAR = 0.5  # mean reversion of log price toward the start price
_WEEKEND = 0.75
_INTRADAY_AMPLITUDE = 0.4
_INTRADAY_PEAK_HOUR = 14.5
_PATTERN_MEAN = (5 + 2 * _WEEKEND) / 7


def intraday_factor(open_time: np.ndarray, interval_ms: int) -> np.ndarray:
    """Relative activity of each candle (mean about 1): a daily wave and quieter weekends."""
    mid = np.asarray(open_time, dtype=np.int64) + interval_ms // 2
    weekday = ((mid // _DAY_MS) + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    weekend = np.where(weekday >= 5, _WEEKEND, 1.0)
    if interval_ms >= _DAY_MS:
        return weekend / _PATTERN_MEAN
    hour = (mid % _DAY_MS) / 3_600_000
    wave = 1 + _INTRADAY_AMPLITUDE * np.cos(2 * np.pi * (hour - _INTRADAY_PEAK_HOUR) / 24)
    return wave * weekend / _PATTERN_MEAN


@dataclass
class _State:
    position: int  # index of the next candle
    regime: int
    h: float  # GARCH conditional variance (long-run mean 1)
    eps: float  # last standardized shock
    log_price: float  # log of the unrounded close
    close_ticks: int  # last close, in ticks (the next open)


@dataclass
class _Block:
    """n generated candles as integers (ticks, steps, 1e-8 quote units)."""

    open_time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    trades: np.ndarray
    taker_base: np.ndarray
    quote: list[int]
    taker_quote: list[int]
    regime: np.ndarray


class SyntheticMarket:
    """An endless, seeded candle stream for one symbol and interval.

    ``next_bar()`` / ``next_bars(n)`` / ``next_frame(n)`` move the stream forward;
    ``bars(start_ms, n)`` / ``frame(start_ms, n)`` read any stretch at or after the origin
    without moving it. Candle ``k`` opens at ``origin_ms + k * interval``.
    """

    def __init__(
        self,
        symbol: str,
        interval: str = "1m",
        *,
        seed: int = 0,
        origin_ms: int = DEFAULT_START_MS,
        profile: SymbolProfile | None = None,
    ) -> None:
        check_interval(interval)
        if interval not in INTERVAL_MS or interval == "1s":
            raise ValueError(f"synthetic markets need a fixed interval of 1m or longer, got {interval!r}")
        self.symbol = symbol
        self.interval = interval
        self.seed = seed
        self.profile = profile or symbol_profile(symbol)
        self.rules = rules_for_profile(self.profile)
        self.interval_ms = INTERVAL_MS[interval]
        grid = slot_start(slot_index(np.array([origin_ms]), interval), interval)
        if int(grid[0]) != origin_ms:
            raise ValueError(f"origin {origin_ms} is not on the {interval} grid")
        self.origin_ms = origin_ms
        self._tick_places = decimal_places(self.profile.tick_size)
        self._step_places = decimal_places(self.profile.step_size)
        key = [int.from_bytes(hashlib.sha256(f"{symbol}/{interval}".encode()).digest()[:8], "big")]
        seq = np.random.SeedSequence(entropy=seed, spawn_key=key)
        streams = [np.random.Generator(np.random.PCG64(s)) for s in seq.spawn(5)]
        self._regime_rng, self._shock_rng, self._wick_rng, self._volume_rng, self._taker_rng = streams
        start_ticks = int(self.profile.start_price.scaleb(self._tick_places))
        self._state = _State(
            position=0,
            regime=int(self._regime_rng.integers(len(REGIMES))),
            h=1.0,
            eps=0.0,
            log_price=math.log(float(self.profile.start_price)),
            close_ticks=start_ticks,
        )
        self._log_anchor = self._state.log_price
        dt = self.interval_ms / _YEAR_MS
        self._dt = dt
        self._sigma = self.profile.annual_volatility * math.sqrt(dt)
        self._switch = min(1.0, self.interval_ms / (REGIME_DAYS * _DAY_MS))
        self._volume_per_bar = self.profile.daily_volume * self.interval_ms / _DAY_MS

    # ------------------------------------------------------------------ stream position
    @property
    def position(self) -> int:
        return self._state.position

    @property
    def next_open_time(self) -> int:
        return self.origin_ms + self._state.position * self.interval_ms

    @property
    def last_close(self) -> Decimal:
        """Close of the last generated candle (the start price before the first)."""
        return Decimal(self._state.close_ticks).scaleb(-self._tick_places)

    @property
    def regime(self) -> str:
        return REGIMES[self._state.regime].name

    # ------------------------------------------------------------------ public generation
    def next_bar(self) -> Bar:
        return self._bars(self._advance(1))[0]

    def next_bars(self, n: int) -> list[Bar]:
        return self._bars(self._advance(n))

    def next_frame(self, n: int) -> CandleFrame:
        return self._frame(self._advance(n))

    def bars(self, start_ms: int, n: int) -> list[Bar]:
        """The ``n`` candles from ``start_ms`` on, without moving this stream."""
        return self._bars(self._seek(start_ms)._advance(n))

    def frame(self, start_ms: int, n: int) -> CandleFrame:
        """Frame version of :meth:`bars`."""
        return self._frame(self._seek(start_ms)._advance(n))

    def _seek(self, start_ms: int) -> SyntheticMarket:
        offset = start_ms - self.origin_ms
        if offset < 0 or offset % self.interval_ms:
            raise ValueError(
                f"{start_ms} is not a {self.interval} open time at or after the origin {self.origin_ms}"
            )
        target = offset // self.interval_ms
        clone = copy.deepcopy(self)
        if target < clone.position:
            clone = SyntheticMarket(
                self.symbol, self.interval, seed=self.seed, origin_ms=self.origin_ms, profile=self.profile
            )
        while clone.position < target:
            clone._advance(min(100_000, target - clone.position))
        return clone

    # ------------------------------------------------------------------ the model
    def _advance(self, n: int) -> _Block:
        if n < 0:
            raise ValueError("n must be >= 0")
        st = self._state
        k0 = st.position
        open_time = self.origin_ms + self.interval_ms * np.arange(k0, k0 + n, dtype=np.int64)
        activity = intraday_factor(open_time, self.interval_ms)
        # fixed draws per candle from each stream: the order of calls never matters
        switch_u = self._regime_rng.random(n)
        pick_u = self._regime_rng.random(n)
        shocks = self._shock_rng.standard_t(T_DOF, n) * math.sqrt((T_DOF - 2) / T_DOF)
        wicks = np.abs(self._wick_rng.standard_normal((n, 2)))
        vol_noise = self._volume_rng.standard_normal(n)
        taker_noise = self._taker_rng.standard_normal(n)

        regimes = np.empty(n, dtype=np.int64)
        sigma = np.empty(n)
        returns = np.empty(n)
        log_close = np.empty(n)
        omega = 1.0 - GARCH_ALPHA - GARCH_BETA
        regime, h, eps, logp = st.regime, st.h, st.eps, st.log_price
        vol_scale = np.sqrt(activity) * self._sigma
        n_reg = len(REGIMES)
        for i in range(n):
            if switch_u[i] < self._switch:
                regime = (regime + 1 + int(pick_u[i] * (n_reg - 1))) % n_reg
            h = omega + GARCH_ALPHA * eps * eps + GARCH_BETA * h
            reg = REGIMES[regime]
            s = vol_scale[i] * reg.volatility * math.sqrt(h)
            eps = float(shocks[i])
            r = (reg.drift - PULL_PER_YEAR * (logp - self._log_anchor)) * self._dt + s * eps
            logp += r
            regimes[i], sigma[i], returns[i], log_close[i] = regime, s, r, logp

        scale = 10**self._tick_places
        close = np.maximum(1, np.rint(np.exp(log_close) * scale)).astype(np.int64)
        opens = np.empty(n, dtype=np.int64)
        if n:
            opens[0] = st.close_ticks
            opens[1:] = close[:-1]
        top = np.maximum(opens, close)
        bottom = np.minimum(opens, close)
        high = np.maximum(top, np.ceil(top * np.exp(0.7 * sigma * wicks[:, 0]))).astype(np.int64)
        low = np.minimum(bottom, np.maximum(1, np.floor(bottom * np.exp(-0.7 * sigma * wicks[:, 1])))).astype(
            np.int64
        )

        reg_volume = np.array([r.volume for r in REGIMES])[regimes]
        surprise = 0.6 + 0.4 * np.abs(returns) / np.maximum(sigma, 1e-300)
        base_volume = self._volume_per_bar * activity * reg_volume * surprise * np.exp(0.4 * vol_noise - 0.08)
        step = float(self.profile.step_size)
        volume = np.maximum(1, np.rint(base_volume / step)).astype(np.int64)
        trades = np.maximum(1, np.rint(volume * step / self.profile.avg_trade_size)).astype(np.int64)
        share = np.clip(
            0.5 + 0.25 * np.tanh(returns / np.maximum(sigma, 1e-300)) + 0.05 * taker_noise, 0.02, 0.98
        )
        taker = np.floor(volume * share).astype(np.int64)

        # quote volume = volume * (o + h + l + c) / 4, exactly, rounded half-up to 1e-8
        shift = _QUOTE_PLACES - self._tick_places - self._step_places
        typical4 = (opens + high + low + close).tolist()

        def quote_units(qty: list[int]) -> list[int]:
            if shift >= 0:
                num = [t * q * 10**shift for t, q in zip(typical4, qty, strict=True)]
                den = 4
            else:
                num = [t * q for t, q in zip(typical4, qty, strict=True)]
                den = 4 * 10**-shift
            return [(2 * x + den) // (2 * den) for x in num]

        block = _Block(
            open_time=open_time,
            open=opens,
            high=high,
            low=low,
            close=close,
            volume=volume,
            trades=trades,
            taker_base=taker,
            quote=quote_units(volume.tolist()),
            taker_quote=quote_units(taker.tolist()),
            regime=regimes,
        )
        if n:
            st.position, st.regime, st.h, st.eps, st.log_price = k0 + n, regime, h, eps, logp
            st.close_ticks = int(close[-1])
        return block

    # ------------------------------------------------------------------ output forms
    def _frame(self, b: _Block) -> CandleFrame:
        tick = 10**self._tick_places
        step = 10**self._step_places
        unit = 10**_QUOTE_PLACES
        data = {
            "open_time": b.open_time,
            "open": b.open / tick,
            "high": b.high / tick,
            "low": b.low / tick,
            "close": b.close / tick,
            "volume": b.volume / step,
            "close_time": b.open_time + self.interval_ms - 1,
            "quote_volume": np.array([q / unit for q in b.quote], dtype=np.float64),
            "trades": b.trades.astype(np.float64),
            "taker_buy_base": b.taker_base / step,
            "taker_buy_quote": np.array([q / unit for q in b.taker_quote], dtype=np.float64),
        }
        frame = pd.DataFrame({c: data[c] for c in COLUMNS})
        return CandleFrame(
            frame=frame,
            symbol=self.symbol,
            interval=self.interval,
            source=f"synthetic:{self.symbol}-{self.interval}:seed={self.seed}",
            format="synthetic",
            lines=np.arange(1, len(frame) + 1, dtype=np.int64),
            optional=("quote_volume", "trades", "taker_buy_base", "taker_buy_quote"),
        )

    def _bars(self, b: _Block) -> list[Bar]:
        tp, sp = -self._tick_places, -self._step_places

        def dec(values: list[int], exp: int) -> list[Decimal]:
            return [Decimal(v).scaleb(exp) for v in values]

        o, h, lo, c = (dec(x.tolist(), tp) for x in (b.open, b.high, b.low, b.close))
        vol, taker = dec(b.volume.tolist(), sp), dec(b.taker_base.tolist(), sp)
        quote, tq = dec(b.quote, -_QUOTE_PLACES), dec(b.taker_quote, -_QUOTE_PLACES)
        times = b.open_time.tolist()
        trades = b.trades.tolist()
        return [
            Bar(
                symbol=self.symbol,
                interval=self.interval,
                open_time=times[i],
                close_time=times[i] + self.interval_ms - 1,
                open=o[i],
                high=h[i],
                low=lo[i],
                close=c[i],
                volume=vol[i],
                quote_volume=quote[i],
                trades=trades[i],
                taker_buy_base=taker[i],
                taker_buy_quote=tq[i],
            )
            for i in range(len(times))
        ]


def generate_candles(
    symbol: str,
    interval: str = "1m",
    *,
    start_ms: int = DEFAULT_START_MS,
    count: int,
    seed: int = 0,
) -> CandleFrame:
    """``count`` synthetic candles of one symbol from ``start_ms`` (the market's origin)."""
    return SyntheticMarket(symbol, interval, seed=seed, origin_ms=start_ms).next_frame(count)


def parse_start(text: str) -> int:
    """Epoch ms of a UTC date or ISO time (``2024-01-01`` or ``2024-01-01T12:00:00Z``)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)
