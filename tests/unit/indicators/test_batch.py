"""Batch kernel contracts: shapes, symbols, causality, devices, dtypes, lookbacks, errors."""

from __future__ import annotations

import numpy as np
import pytest
import talib
import torch
from tests.unit.indicators._reference import (
    CASES,
    THREE_INPUTS,
    Params,
    assert_matches,
    case_id,
    our_outputs,
    random_candles,
    talib_outputs,
)

from binance_bot import indicators as ind
from binance_bot.indicators import IndicatorSet, compute_set, lookback


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_batch_of_symbols_equals_each_symbol_alone(case: tuple[str, Params]) -> None:
    h, lo, c = random_candles(900, seed=21, rows=4)
    together = our_outputs(*case, torch.from_numpy(h), torch.from_numpy(lo), torch.from_numpy(c))
    for r in range(4):
        alone = our_outputs(*case, h[r], lo[r], c[r])
        for t, a in zip(together, alone, strict=True):
            assert t.shape == (4, 900) and a.shape == (900,)
            assert_matches(t[r], a, rtol=1e-12, what=f"row {r}")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_causal_the_past_does_not_change_when_the_future_is_cut(case: tuple[str, Params]) -> None:
    h, lo, c = random_candles(3000, seed=22)
    full = our_outputs(*case, h, lo, c)
    for end in (1, 7, 60, 1234, 2999):
        cut = our_outputs(*case, h[:end], lo[:end], c[:end])
        for f, p in zip(full, cut, strict=True):
            assert_matches(p, f[:end], rtol=1e-12, what=f"cut at {end}")


def test_causal_across_tile_cuts_of_a_fused_set() -> None:
    h, lo, c = random_candles(30_000, seed=23)
    full = compute_set(h, lo, c, tile_bars=4096)
    for end in (4096, 4097, 12_345, 29_999):
        cut = compute_set(h[:end], lo[:end], c[:end], tile_bars=4096)
        for name in full:
            assert_matches(cut[name], full[name][:end], rtol=1e-11, what=f"{name} cut at {end}")


def test_outputs_keep_shape_dtype_and_device() -> None:
    _, _, c = random_candles(500, seed=24, rows=3)
    x = torch.from_numpy(c)
    for out in (ind.sma(x, 5), ind.ema(x[0], 5), *ind.macd(x), *ind.bbands(x, 5)):
        assert out.dtype == torch.float64 and out.device.type == "cpu"
    assert ind.sma(x, 5).shape == (3, 500)
    assert ind.rsi(x[1], 5).shape == (500,)


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu")])
def test_device_argument_moves_the_computation(device: str | torch.device) -> None:
    h, lo, c = random_candles(800, seed=25)
    on = ind.adx(h, lo, c, 14, device=device)
    assert on.device == torch.device("cpu")
    assert_matches(on, talib.ADX(h, lo, c, 14))


def test_integer_and_list_inputs_become_float64() -> None:
    prices = [10, 11, 12, 11, 13, 14, 13, 15, 16, 15, 17]
    out = ind.sma(prices, 3)
    assert out.dtype == torch.float64
    assert_matches(out, talib.SMA(np.asarray(prices, dtype=np.float64), 3))


@pytest.mark.parametrize("case", CASES[::2], ids=case_id)
def test_float32_stays_float32_and_close_to_float64(case: tuple[str, Params]) -> None:
    h, lo, c = random_candles(2000, seed=26)
    single = our_outputs(*case, *(torch.from_numpy(a).float() for a in (h, lo, c)))
    double = our_outputs(*case, h, lo, c)
    # float32 carries 7 digits: prices keep about 1e-6, while ratios of small differences
    # (oscillators over narrow ranges, MACD, momentum) lose several digits to cancellation
    rtol = 1e-5 if case[0] in {"sma", "ema", "bbands", "atr"} else 2e-2
    for s, d in zip(single, double, strict=True):
        assert s.dtype == torch.float32
        assert_matches(s.double(), d, rtol=rtol, what="float32")


def test_dtype_argument_overrides_the_input_dtype() -> None:
    _, _, c = random_candles(300, seed=27)
    assert ind.ema(c, 9, dtype=torch.float32).dtype == torch.float32


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_lookback_is_the_number_of_leading_nans_as_in_talib(case: tuple[str, Params]) -> None:
    name, params = case
    h, lo, c = random_candles(600, seed=28)
    ref = talib_outputs(name, params, h, lo, c)[0]
    expected = int(np.argmax(~np.isnan(ref)))
    ints = tuple(int(p) if i == 0 or name != "bbands" else p for i, p in enumerate(params))
    assert lookback(name, *ints) == expected
    ours = our_outputs(name, params, h, lo, c)[0].numpy()
    assert np.isnan(ours[:expected]).all() and not np.isnan(ours[expected:]).any()


def test_lookback_examples_and_errors() -> None:
    assert lookback("ema", 9) == 8
    assert lookback("EMA", n=9) == 8
    assert lookback("macd") == 33
    assert lookback("stoch", 14, 3, 3) == 17
    assert lookback("adx", 14) == 27
    with pytest.raises(ValueError, match="unknown indicator"):
        lookback("vwap", 3)
    with pytest.raises(ValueError, match="bad parameters"):
        lookback("ema", 9, 10)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: ind.sma(x, 1), "timeperiod"),
        (lambda x: ind.ema(x, 0), "timeperiod"),
        (lambda x: ind.rsi(x, 1), "timeperiod"),
        (lambda x: ind.macd(x, 1, 26, 9), "fastperiod"),
        (lambda x: ind.macd(x, 12, 26, 0), "signalperiod"),
        (lambda x: ind.bbands(x, 1), "timeperiod"),
        (lambda x: ind.atr(x, x, x, 0), "timeperiod"),
        (lambda x: ind.stoch(x, x, x, 0), "fastk_period"),
        (lambda x: ind.adx(x, x, x, 1), "timeperiod"),
        (lambda x: ind.mom(x, 0), "timeperiod"),
        (lambda x: ind.roc(x, 2.5), "timeperiod"),
        (lambda x: ind.sma(x, 100_001), "timeperiod"),
    ],
)
def test_periods_outside_talib_ranges_are_rejected(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call(np.arange(50.0))


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        ind.atr(np.ones(10), np.ones(10), np.ones(11), 3)
    with pytest.raises(ValueError, match=r"\[time\] or \[symbol x time\]"):
        ind.sma(np.ones((2, 3, 4)), 2)


def test_empty_and_single_bar_inputs() -> None:
    for name, params in CASES:
        ints = tuple(int(p) if i == 0 or name != "bbands" else p for i, p in enumerate(params))
        for length in (0, 1):
            out = our_outputs(name, params, np.ones(length), np.ones(length), np.ones(length))
            warm = min(lookback(name, *ints), length)
            for o in out:
                assert o.shape == (length,)
                assert torch.isnan(o[:warm]).all() and not torch.isnan(o[warm:]).any()


def test_indicator_set_names_columns_and_rejects_duplicates() -> None:
    spec = IndicatorSet()
    assert spec.columns == [
        "sma_20", "ema_9", "ema_21", "rsi_14", "macd", "macd_signal", "macd_hist", "bb_lower", "bb_middle",
        "bb_upper", "atr_14", "stoch_k", "stoch_d", "adx_14", "mom_10", "roc_10",
    ]  # fmt: skip
    assert spec.lookback == 33
    with pytest.raises(ValueError, match="twice"):
        IndicatorSet(ema=(9, 9)).kernels()
    assert IndicatorSet(macd=None, bbands=None, stoch=None, sma=(), ema=(5,), rsi=(), atr=(), adx=(), mom=(),
                        roc=()).columns == ["ema_5"]  # fmt: skip


def test_three_input_indicators_need_all_inputs() -> None:
    with pytest.raises(ValueError, match="missing inputs"):
        ind.batch.run(IndicatorSet(sma=(), ema=(), rsi=(), macd=None, bbands=None, atr=(3,), stoch=None, adx=(),
                                   mom=(), roc=()).kernels(), {"close": np.ones(5)})  # fmt: skip
    assert {"atr", "stoch", "adx"} == THREE_INPUTS
