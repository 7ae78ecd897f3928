"""Streaming state objects equal the batch kernels bar for bar, warm up from history, and do
not drift over long live sessions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.indicators._reference import (
    CASES,
    THREE_INPUTS,
    Params,
    assert_matches,
    case_id,
    our_outputs,
    random_candles,
)

from binance_bot.indicators import STREAMS, streaming


def _stream(name: str, params: Params) -> streaming._Stream:
    ints = tuple(int(p) if i == 0 or name != "bbands" else p for i, p in enumerate(params))
    return STREAMS[name](*ints)


def _run(
    stream: streaming._Stream, name: str, h: np.ndarray, lo: np.ndarray, c: np.ndarray
) -> list[np.ndarray]:
    bars = zip(h, lo, c, strict=True) if name in THREE_INPUTS else ((x,) for x in c)
    values = [stream.update(*(float(v) for v in bar)) for bar in bars]
    arr = np.asarray(values, dtype=np.float64)
    return [arr] if arr.ndim == 1 else [arr[:, i] for i in range(arr.shape[1])]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_streaming_equals_batch(case: tuple[str, Params]) -> None:
    h, lo, c = random_candles(2500, seed=41)
    for got, want in zip(_run(_stream(*case), case[0], h, lo, c), our_outputs(*case, h, lo, c), strict=True):
        assert_matches(got, want, what=f"stream {case}")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_streaming_follows_the_hole_rules_of_the_batch(case: tuple[str, Params]) -> None:
    h, lo, c = random_candles(700, seed=42)
    c[:6] = np.nan
    lo[300] = np.nan
    c[420] = np.inf
    c[421] = np.nan
    for got, want in zip(_run(_stream(*case), case[0], h, lo, c), our_outputs(*case, h, lo, c), strict=True):
        assert_matches(got, want, what=f"stream {case} with holes")


@settings(max_examples=30)
@given(
    case=st.sampled_from(CASES),
    length=st.integers(min_value=1, max_value=200),
    holes=st.lists(st.integers(min_value=0, max_value=199), max_size=4),
    seed=st.integers(0, 1000),
)
def test_streaming_equals_batch_on_any_walk(
    case: tuple[str, Params], length: int, holes: list[int], seed: int
) -> None:
    h, lo, c = random_candles(length, seed=seed, vol=0.01)
    for x in holes:
        if x < length:
            c[x] = np.nan
    for got, want in zip(_run(_stream(*case), case[0], h, lo, c), our_outputs(*case, h, lo, c), strict=True):
        assert_matches(got, want, what=f"stream {case}")


@pytest.mark.parametrize("case", CASES[::3], ids=case_id)
def test_warm_up_from_history_then_continue(case: tuple[str, Params]) -> None:
    name, params = case
    h, lo, c = random_candles(600, seed=43)
    ints = tuple(int(p) if i == 0 or name != "bbands" else p for i, p in enumerate(params))
    history = (h[:500], lo[:500], c[:500]) if name in THREE_INPUTS else (c[:500],)
    warmed = STREAMS[name].from_history(*history, **dict(zip(_param_names(name), ints, strict=True)))
    also = _stream(name, params).warm_up(*history)
    assert _same(warmed.value, also.value)
    rest = _run(warmed, name, h[500:], lo[500:], c[500:])
    for got, want in zip(rest, our_outputs(name, params, h, lo, c), strict=True):
        assert_matches(got, want[500:], what="after warm-up")


def _param_names(name: str) -> tuple[str, ...]:
    return {
        "macd": ("fast", "slow", "signal"),
        "bbands": ("n", "nbdev_up", "nbdev_dn"),
        "stoch": ("fastk", "slowk", "slowd"),
    }.get(name, ("n",))


def _same(a: object, b: object) -> bool:
    flat_a = np.atleast_1d(np.asarray(a, dtype=float))
    flat_b = np.atleast_1d(np.asarray(b, dtype=float))
    return bool(np.array_equal(flat_a, flat_b, equal_nan=True))


def test_lookbacks_match_the_batch_helper() -> None:
    assert streaming.Ema(9).lookback == 8
    assert streaming.Macd().lookback == 33
    assert streaming.Stoch(14, 3, 3).lookback == 17
    assert set(STREAMS) == {"sma", "ema", "rsi", "macd", "bbands", "atr", "stoch", "adx", "mom", "roc"}


def test_long_sessions_do_not_drift() -> None:
    # months of 1m bars with large, varied prices: the window sums stay exact to rounding
    rng = np.random.default_rng(44)
    prices = 50_000 * np.exp(np.cumsum(rng.normal(0, 0.01, 400_000)))
    sma = streaming.Sma(50)
    bands = streaming.Bbands(50, 2.0, 2.0)
    for p in prices:
        sma.update(float(p))
        bands.update(float(p))
    window = prices[-50:]
    exact_mean = math.fsum(window) / 50
    assert abs(sma.value - exact_mean) <= 1e-12 * exact_mean
    exact_std = math.sqrt(math.fsum((window - exact_mean) ** 2) / 50)
    lower, middle, upper = bands.value
    assert abs(middle - exact_mean) <= 1e-12 * exact_mean
    assert abs((upper - lower) / 4 - exact_std) <= 1e-9 * exact_std


def test_rolling_extremes_evict_old_bars() -> None:
    stoch = streaming.Stoch(3, 1, 1)
    values = [stoch.update(h, lo, c) for h, lo, c in [(10, 1, 5), (9, 2, 5), (8, 3, 5), (7, 4, 5), (6, 5, 5)]]
    # window of the last bar: highs 8,7,6 and lows 3,4,5 -> %K = (5 - 3) / (8 - 3) * 100
    assert values[-1][0] == pytest.approx(40.0)
    assert math.isnan(values[1][0]) and not math.isnan(values[2][0])
