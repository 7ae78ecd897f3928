"""Properties over generated data: constant prices, empty ranges, short series, any
parameters, any 2-D batch."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.indicators._reference import assert_matches, check_against_talib, random_candles

from binance_bot import indicators as ind
from binance_bot.indicators import lookback

prices = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
periods = st.integers(min_value=2, max_value=60)


@given(price=prices, length=st.integers(min_value=1, max_value=300), n=periods)
def test_constant_prices(price: float, length: int, n: int) -> None:
    x = np.full(length, price)
    start = lookback("adx", n)

    def after(t: torch.Tensor, warm: int) -> np.ndarray:
        return t.numpy()[warm:]

    np.testing.assert_allclose(after(ind.sma(x, n), n - 1), price, rtol=1e-12)
    np.testing.assert_allclose(after(ind.ema(x, n), n - 1), price, rtol=1e-12)
    bands = ind.bbands(x, n, 2.0, 2.0)
    for line in bands:
        np.testing.assert_allclose(after(line, n - 1), price, rtol=1e-12)
    assert (after(ind.rsi(x, n), n) == 0.0).all()  # no gains, no losses: TA-Lib says 0
    assert (after(ind.mom(x, n), n) == 0.0).all()
    assert (after(ind.roc(x, n), n) == 0.0).all()
    assert (after(ind.atr(x, x, x, n), n) == 0.0).all()
    assert (after(ind.adx(x, x, x, n), start) == 0.0).all()
    k, d = ind.stoch(x, x, x, n, 3, 3)
    warm = lookback("stoch", n, 3, 3)
    assert (after(k, warm) == 0.0).all() and (after(d, warm) == 0.0).all()
    for line in ind.macd(x, 12, 26, 9):
        np.testing.assert_allclose(after(line, 33), 0.0, atol=1e-12 * price)


@given(length=st.integers(min_value=30, max_value=400), seed=st.integers(0, 10**6), flat=st.integers(1, 30))
def test_stoch_on_empty_ranges_is_zero_like_talib(length: int, seed: int, flat: int) -> None:
    h, lo, c = random_candles(length, seed=seed)
    # every bar trades at one price for `flat` bars: highest high == lowest low there
    start = length // 3
    for a in (h, lo, c):
        a[start : start + flat] = c[start]
    for params in ((1, 1, 1), (3, 2, 2), (5, 3, 3)):
        check_against_talib("stoch", params, h, lo, c)


@given(
    name=st.sampled_from(["sma", "ema", "rsi", "atr", "adx", "mom", "roc"]),
    n=st.integers(min_value=2, max_value=400),
    length=st.integers(min_value=0, max_value=60),
)
def test_series_shorter_than_the_period_are_all_nan(name: str, n: int, length: int) -> None:
    h, lo, c = random_candles(length, seed=length)
    args = (h, lo, c) if name in {"atr", "adx"} else (c,)
    out = getattr(ind, name)(*args, n).numpy()
    assert out.shape == (length,)
    warm = min(lookback(name, n), length)
    assert np.isnan(out[:warm]).all() and not np.isnan(out[warm:]).any()


@settings(max_examples=40)
@given(
    seed=st.integers(0, 10**6),
    length=st.integers(min_value=1, max_value=500),
    rows=st.integers(min_value=1, max_value=3),
    vol=st.sampled_from([1e-4, 1e-3, 3e-2]),
    fast=periods,
    slow=periods,
    signal=st.integers(min_value=1, max_value=20),
    n=periods,
    k=st.floats(min_value=0.5, max_value=3.0),
    small=st.integers(min_value=1, max_value=6),
)
def test_any_parameters_on_any_walk_equal_talib(
    seed: int,
    length: int,
    rows: int,
    vol: float,
    fast: int,
    slow: int,
    signal: int,
    n: int,
    k: float,
    small: int,
) -> None:
    h, lo, c = random_candles(length, seed=seed, rows=rows, vol=vol)
    for name, params in [
        ("sma", (n,)), ("ema", (n,)), ("rsi", (n,)), ("macd", (fast, slow, signal)), ("bbands", (n, k, k / 2)),
        ("atr", (small,)), ("stoch", (n, small, small)), ("adx", (n,)), ("mom", (small,)), ("roc", (n,)),
    ]:  # fmt: skip
        check_against_talib(name, params, h, lo, c)


@given(seed=st.integers(0, 10**6), length=st.integers(min_value=1, max_value=300))
def test_float32_inputs_give_float32_close_to_float64(seed: int, length: int) -> None:
    _, _, c = random_candles(length, seed=seed)
    single = ind.ema(torch.from_numpy(c).float(), 9)
    assert single.dtype == torch.float32
    assert_matches(single.double(), ind.ema(c, 9), rtol=1e-5)
