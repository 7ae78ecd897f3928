"""The tulipy-style facade: same calls as tulipy, TA-Lib's values, whole candle frames,
several symbols in one pass, a bounded cache, and the GPU fallback."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import talib
import torch
from tests.unit.indicators._reference import assert_matches, random_candles

from binance_bot.indicators import IndicatorSet, TechnicalIndicators, batch

TI = TechnicalIndicators


@pytest.fixture
def candles() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return random_candles(800, seed=51)


def test_static_functions_take_tulipy_arguments_and_return_talib_values(candles) -> None:  # type: ignore[no-untyped-def]
    h, lo, c = candles
    assert_matches(TI.sma(c, 20), talib.SMA(c, 20))
    assert_matches(TI.ema(c, 9), talib.EMA(c, 9))
    assert_matches(TI.rsi(c, 14), talib.RSI(c, 14))
    for got, want in zip(TI.macd(c, 12, 26, 9), talib.MACD(c, 12, 26, 9), strict=True):
        assert_matches(got, want)
    upper, middle, lower = talib.BBANDS(c, 20, 2.0, 2.0)
    for got, want in zip(TI.bbands(c, 20, 2.0), (lower, middle, upper), strict=True):
        assert_matches(got, want)
    assert_matches(TI.atr(h, lo, c, 14), talib.ATR(h, lo, c, 14))
    for got, want in zip(TI.stoch(h, lo, c, 14, 3, 3), talib.STOCH(h, lo, c, 14, 3, 0, 3, 0), strict=True):
        assert_matches(got, want)
    assert_matches(TI.adx(h, lo, c, 14), talib.ADX(h, lo, c, 14))
    assert_matches(TI.mom(c, 10), talib.MOM(c, 10))
    assert_matches(TI.roc(c, 10), talib.ROC(c, 10))


def test_full_length_numpy_so_ported_code_reads_the_last_bar(candles) -> None:  # type: ignore[no-untyped-def]
    _, _, c = candles
    data = list(c)
    out = TI.ema(data, 9)
    assert isinstance(out, np.ndarray) and out.shape == (800,) and out.dtype == np.float64
    assert out[-1] == pytest.approx(talib.EMA(c, 9)[-1], rel=1e-12)
    series = pd.Series(c)
    assert_matches(TI.rsi(series, 14), talib.RSI(c, 14))
    assert_matches(TI.sma(torch.from_numpy(c), 5), talib.SMA(c, 5))
    with pytest.raises(ValueError, match="1-D"):
        TI.sma(np.ones((2, 5)), 2)


def _frame(h: np.ndarray, lo: np.ndarray, c: np.ndarray, **extra: object) -> pd.DataFrame:
    return pd.DataFrame({"open_time": np.arange(len(c)), "high": h, "low": lo, "close": c, **extra})


def test_calculate_all_indicators_adds_named_columns(candles) -> None:  # type: ignore[no-untyped-def]
    h, lo, c = candles
    df = _frame(h, lo, c)
    before = df.copy()
    out = TechnicalIndicators().calculate_all_indicators(df)
    pd.testing.assert_frame_equal(df, before)  # the caller's frame is left alone
    assert list(out.columns) == list(df.columns) + IndicatorSet().columns
    assert_matches(out["sma_20"], talib.SMA(c, 20))
    assert_matches(out["ema_21"], talib.EMA(c, 21))
    assert_matches(out["macd_signal"], talib.MACD(c)[1])
    assert_matches(out["bb_upper"], talib.BBANDS(c, 20, 2.0, 2.0)[0])
    assert_matches(out["stoch_d"], talib.STOCH(h, lo, c, 14, 3, 0, 3, 0)[1])
    assert_matches(out["adx_14"], talib.ADX(h, lo, c, 14))
    assert_matches(out["roc_10"], talib.ROC(c, 10))


def test_column_names_in_any_case_and_missing_columns(candles) -> None:  # type: ignore[no-untyped-def]
    h, lo, c = candles
    df = pd.DataFrame({"High": h, "Low": lo, "Close": c})
    out = TechnicalIndicators().calculate_all_indicators(df)
    assert_matches(out["rsi_14"], talib.RSI(c, 14))
    with pytest.raises(ValueError, match="needs columns low"):
        TechnicalIndicators().calculate_all_indicators(pd.DataFrame({"high": h, "close": c}))


def test_many_symbols_in_one_pass_each_with_its_own_warm_up() -> None:
    frames = []
    expected = {}
    for i, (symbol, length) in enumerate([("BTCUSDT", 600), ("ETHUSDT", 35), ("BNBUSDT", 250)]):
        h, lo, c = random_candles(length, seed=60 + i, price=100.0 * (i + 1))
        frames.append(_frame(h, lo, c, symbol=symbol))
        expected[symbol] = (h, lo, c)
    # interleave the symbols' rows the way a multi-symbol candle table arrives
    df = pd.concat(frames).sort_values(["open_time", "symbol"], kind="stable").reset_index(drop=True)
    out = TechnicalIndicators().calculate_all_indicators(df)
    spec = IndicatorSet()
    for symbol, (h, lo, c) in expected.items():
        rows = out[out["symbol"] == symbol]
        alone = batch.compute_set(h, lo, c, spec)
        for name in spec.columns:
            assert_matches(rows[name].to_numpy(), alone[name], rtol=1e-12, what=f"{symbol} {name}")
        assert_matches(rows["macd"].to_numpy(), talib.MACD(c)[0], what=f"{symbol} macd")
    with pytest.raises(ValueError, match="missing symbols"):
        TechnicalIndicators().calculate_all_indicators(df.assign(symbol=[None] * len(df)))


def test_results_are_cached_by_data_and_parameters(monkeypatch: pytest.MonkeyPatch, candles) -> None:  # type: ignore[no-untyped-def]
    calls = []
    real = batch.compute_set

    def counting(*args: object, **kwargs: object) -> dict[str, torch.Tensor]:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "compute_set", counting)
    h, lo, c = candles
    ti = TechnicalIndicators(cache_size=2)
    first = ti.calculate_all_indicators(_frame(h, lo, c))
    again = ti.calculate_all_indicators(_frame(h, lo, c))
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first, again)
    again["ema_9"] = 0.0  # a caller editing its result does not edit the cache
    assert_matches(ti.calculate_all_indicators(_frame(h, lo, c))["ema_9"], first["ema_9"], rtol=0.0)
    changed = c.copy()
    changed[-1] *= 1.01
    ti.calculate_all_indicators(_frame(h, lo, changed))
    ti.calculate_all_indicators(_frame(h, lo, c), IndicatorSet(ema=(5,)))
    assert len(calls) == 3
    ti.calculate_all_indicators(_frame(h, lo, c))  # evicted: the cache holds two entries
    assert len(calls) == 4
    ti.clear_cache()
    ti.calculate_all_indicators(_frame(h, lo, c))
    assert len(calls) == 5


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback of a machine without CUDA")
def test_use_gpu_falls_back_to_the_cpu_with_one_log_line(caplog: pytest.LogCaptureFixture, candles) -> None:  # type: ignore[no-untyped-def]
    h, lo, c = candles
    with caplog.at_level(logging.INFO, logger="binance_bot.indicators"):
        ti = TechnicalIndicators(use_gpu=True)
        out = ti.calculate_all_indicators(_frame(h, lo, c))
    assert ti.device == torch.device("cpu")
    assert [r.getMessage() for r in caplog.records] == [
        "CUDA is not available; technical indicators run on the CPU"
    ]
    assert_matches(out["atr_14"], talib.ATR(h, lo, c, 14))


def test_empty_frame_gets_empty_columns() -> None:
    out = TechnicalIndicators().calculate_all_indicators(pd.DataFrame({"high": [], "low": [], "close": []}))
    assert len(out) == 0 and "rsi_14" in out.columns
