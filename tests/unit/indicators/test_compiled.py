"""The opt-in compiled mode: its whole-tile expressions give TA-Lib's values, compiling works,
and a failing compiler falls back to eager execution with one warning."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
import torch
from tests.unit.indicators._reference import (
    CASES,
    Params,
    assert_matches,
    case_id,
    check_against_talib,
    random_candles,
)
from tests.unit.indicators.test_talib_parity import _set_references

from binance_bot.indicators import IndicatorSet, _fused, compute_set


@pytest.fixture
def expressions_run_eagerly(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled mode's expressions, executed without the compiler: same arithmetic,
    checked without paying for compilation in every test."""
    monkeypatch.setattr(_fused, "_failed", True)


@pytest.mark.usefixtures("expressions_run_eagerly")
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_fused_expressions_equal_talib(case: tuple[str, Params], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit.indicators import _reference

    real = _reference.our_outputs

    def compiled_outputs(*args: object, **kw: object) -> list[torch.Tensor]:
        return real(*args, compiled=True, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(_reference, "our_outputs", compiled_outputs)
    h, lo, c = random_candles(5000, seed=71, rows=2)
    check_against_talib(*case, h, lo, c)


@pytest.mark.usefixtures("expressions_run_eagerly")
@pytest.mark.parametrize("tile_bars", [None, 1024])
def test_fused_set_across_tiles_and_holes(tile_bars: int | None) -> None:
    h, lo, c = random_candles(12_000, seed=72)
    spec = IndicatorSet()
    out = compute_set(h, lo, c, spec, tile_bars=tile_bars, compiled=True)
    for name, ref in _set_references(spec, h, lo, c).items():
        assert_matches(out[name], ref, what=name)
    c[5000] = np.nan
    holed = compute_set(h, lo, c, spec, tile_bars=tile_bars, compiled=True)
    eager = compute_set(h, lo, c, spec, tile_bars=tile_bars)
    for name in spec.columns:
        assert_matches(holed[name], eager[name], rtol=1e-11, what=f"{name} with a hole")


@pytest.mark.skipif(
    shutil.which("g++") is None and shutil.which("c++") is None,
    reason="torch.compile's CPU backend needs a C++ compiler on PATH",
)
def test_compiling_really_happens_and_matches_talib() -> None:
    # one expression through the real compiler (a few seconds), on a single short tile
    h, lo, c = random_candles(3000, seed=73)
    _fused._compiled.pop(_fused.stoch, None)
    check_against_talib("stoch", (14, 3, 3), h, lo, c)
    from binance_bot import indicators as ind

    k, d = ind.stoch(h, lo, c, 14, 3, 3, compiled=True)
    assert _fused.stoch in _fused._compiled and not _fused._failed
    eager = ind.stoch(h, lo, c, 14, 3, 3)
    assert_matches(k, eager.k, rtol=1e-12)
    assert_matches(d, eager.d, rtol=1e-12)


def test_a_failing_compiler_falls_back_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(fn, **kw):  # type: ignore[no-untyped-def]
        def call(*args: object) -> None:
            raise RuntimeError("no C++ compiler")

        return call

    monkeypatch.setattr(_fused, "_compiled", {})
    monkeypatch.setattr(_fused, "_failed", False)
    monkeypatch.setattr(torch, "compile", broken)
    h, lo, c = random_candles(2000, seed=74)
    with caplog.at_level(logging.WARNING, logger="binance_bot.indicators"):
        out = compute_set(h, lo, c, compiled=True)
    assert [r.getMessage() for r in caplog.records] == [
        "torch.compile failed (RuntimeError); indicators run eagerly"
    ]
    eager = compute_set(h, lo, c)
    for name in out:
        assert_matches(out[name], eager[name], rtol=1e-11, what=name)
