"""Every indicator equals TA-Lib: random walks, real Binance candles, awkward prices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.unit.indicators._reference import (
    CASES,
    Params,
    assert_matches,
    case_id,
    check_against_talib,
    random_candles,
    talib_outputs,
)

from binance_bot.indicators import IndicatorSet, compute_set


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_random_walk_single_series(case: tuple[str, Params]) -> None:
    h, lo, c = random_candles(3000, seed=11)
    check_against_talib(*case, h, lo, c)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_random_walk_batch_of_symbols(case: tuple[str, Params]) -> None:
    h, lo, c = random_candles(700, seed=12, rows=5)
    check_against_talib(*case, h, lo, c)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_long_series_cut_into_many_tiles(case: tuple[str, Params]) -> None:
    # 300k bars: the default CPU tiling cuts it in three; carries must cross the cuts exactly
    h, lo, c = random_candles(300_000, seed=13, vol=0.002)
    check_against_talib(*case, h, lo, c)


SPECS = [
    IndicatorSet(),
    IndicatorSet(sma=(2, 50), ema=(2, 30), rsi=(3,), macd=(3, 10, 4), bbands=(7, 1.5), atr=(1, 5), stoch=(3, 2, 2),
                 adx=(3,), mom=(1,), roc=(7,)),
]  # fmt: skip


def _set_references(
    spec: IndicatorSet, h: np.ndarray, lo: np.ndarray, c: np.ndarray
) -> dict[str, np.ndarray]:
    refs: dict[str, np.ndarray] = {}
    for n in spec.sma:
        refs[f"sma_{n}"] = talib_outputs("sma", (n,), h, lo, c)[0]
    for n in spec.ema:
        refs[f"ema_{n}"] = talib_outputs("ema", (n,), h, lo, c)[0]
    for n in spec.rsi:
        refs[f"rsi_{n}"] = talib_outputs("rsi", (n,), h, lo, c)[0]
    for n in spec.atr:
        refs[f"atr_{n}"] = talib_outputs("atr", (n,), h, lo, c)[0]
    for n in spec.adx:
        refs[f"adx_{n}"] = talib_outputs("adx", (n,), h, lo, c)[0]
    for n in spec.mom:
        refs[f"mom_{n}"] = talib_outputs("mom", (n,), h, lo, c)[0]
    for n in spec.roc:
        refs[f"roc_{n}"] = talib_outputs("roc", (n,), h, lo, c)[0]
    assert spec.macd is not None and spec.bbands is not None and spec.stoch is not None
    for name, v in zip(
        ("macd", "macd_signal", "macd_hist"), talib_outputs("macd", spec.macd, h, lo, c), strict=True
    ):
        refs[name] = v
    n, k = spec.bbands
    for name, v in zip(
        ("bb_lower", "bb_middle", "bb_upper"), talib_outputs("bbands", (n, k, k), h, lo, c), strict=True
    ):
        refs[name] = v
    for name, v in zip(("stoch_k", "stoch_d"), talib_outputs("stoch", spec.stoch, h, lo, c), strict=True):
        refs[name] = v
    return refs


@pytest.mark.parametrize("spec", SPECS, ids=["default-set", "other-set"])
@pytest.mark.parametrize("tile_bars", [None, 1000, 4096])
def test_fused_set_equals_talib_whatever_the_tiling(spec: IndicatorSet, tile_bars: int | None) -> None:
    h, lo, c = random_candles(20_000, seed=14)
    out = compute_set(h, lo, c, spec, tile_bars=tile_bars)
    refs = _set_references(spec, h, lo, c)
    assert set(out) == set(refs) == set(spec.columns)
    for name, ref in refs.items():
        assert_matches(out[name], ref, what=f"{name} (tile_bars={tile_bars})")


def _candle_files(folder: Path) -> list[Path]:
    files = sorted(folder.rglob("*.csv.gz"))
    assert files, f"no candle files under {folder}"
    return files


def _load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    df = pd.read_csv(path, usecols=["high", "low", "close"])
    return tuple(df[k].to_numpy(dtype=np.float64) for k in ("high", "low", "close"))  # type: ignore[return-value]


def test_every_real_candle_file_with_default_parameters(shared_data: Path) -> None:
    spec = IndicatorSet(sma=(20, 30), ema=(9, 30), rsi=(14,), atr=(14,), adx=(14,), mom=(10,), roc=(10,))
    for path in _candle_files(shared_data):
        h, lo, c = _load(path)
        out = compute_set(h, lo, c, spec)
        for name, ref in _set_references(spec, h, lo, c).items():
            assert_matches(out[name], ref, what=f"{path.name} {name}")


DAILY_CASES = [case for case in CASES if case[1] not in {(30,), (14,), (12, 26, 9), (10,)}]


@pytest.mark.parametrize("case", DAILY_CASES, ids=case_id)
def test_real_daily_and_4h_candles_with_other_parameters(shared_data: Path, case: tuple[str, Params]) -> None:
    for path in _candle_files(shared_data):
        if "-1d" in path.name or "-4h" in path.name:
            check_against_talib(*case, *_load(path))


@pytest.mark.parametrize(
    ("scale", "what"),
    [
        (1e-6, "a coin priced in millionths"),
        (1e-9, "prices near the smallest tick"),
        (600.0, "BTC-like (about 60,000)"),
    ],
)
@pytest.mark.parametrize("case", CASES[::3], ids=case_id)
def test_price_scale_does_not_matter(scale: float, what: str, case: tuple[str, Params]) -> None:
    # TA-Lib 0.8's zero tests are exact, so tiny prices must not hit an absolute threshold
    h, lo, c = random_candles(1500, seed=15)
    check_against_talib(*case, h * scale, lo * scale, c * scale)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_flat_stretches_and_empty_ranges(case: tuple[str, Params]) -> None:
    # 200 bars where nothing trades: zero ranges (STOCH), zero true range (ATR, ADX skip
    # bars), zero moves (RSI), zero variance (BBANDS)
    h, lo, c = random_candles(1500, seed=16)
    for a in (h, lo, c):
        a[400:600] = c[400]
    check_against_talib(*case, h, lo, c)


@pytest.mark.parametrize("case", CASES[::2], ids=case_id)
def test_unsound_candles_with_high_below_low(case: tuple[str, Params]) -> None:
    h, lo, c = random_candles(800, seed=17)
    check_against_talib(*case, lo, h, c)
