"""NaN and infinite inputs: leading ones are skipped like TA-Lib's wrapper does; a hole inside
the series spoils exactly the outputs that depend on it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
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

from binance_bot.indicators import lookback

RECURSIVE = {"ema", "rsi", "macd", "atr", "adx"}


def _ints(name: str, params: Params) -> tuple[float, ...]:
    return tuple(int(p) if i == 0 or name != "bbands" else p for i, p in enumerate(params))


def _spoiled(name: str, params: Params, holes: list[int], length: int) -> list[np.ndarray]:
    """Per output, the bars a hole spoils under the documented rules."""
    p = [int(v) for v in params]
    spans: list[int | None]
    if name in RECURSIVE:
        spans = [None] * (3 if name == "macd" else 1)
    elif name in {"sma", "bbands"}:
        spans = [p[0]] * (3 if name == "bbands" else 1)
    elif name == "stoch":
        spans = [p[0] + p[1] - 1, p[0] + p[1] + p[2] - 2]
    else:  # mom, roc: the bar itself and the bar n later
        masks = np.zeros(length, dtype=bool)
        for h in holes:
            masks[h] = True
            if h + p[0] < length:
                masks[h + p[0]] = True
        return [masks]
    out = []
    for span in spans:
        m = np.zeros(length, dtype=bool)
        for h in holes:
            m[h : length if span is None else h + span] = True
        out.append(m)
    return out


def _with_holes(
    holes: list[int], value: float, *arrays: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Copies with the holes, and copies where each hole repeats the previous bar."""
    holed, filled = [], []
    for a in arrays:
        b, f = a.copy(), a.copy()
        for h in sorted(holes):
            b[h] = value
            f[h] = f[h - 1]
        holed.append(b)
        filled.append(f)
    return holed, filled


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_a_hole_spoils_exactly_what_depends_on_it(case: tuple[str, Params], value: float) -> None:
    name, params = case
    h, lo, c = random_candles(600, seed=31)
    holes = [300, 303, 590]
    (hh, hl, hc), (fh, fl, fc) = _with_holes(holes, value, h, lo, c)
    ours = our_outputs(name, params, hh, hl, hc)
    refs = talib_outputs(name, params, fh, fl, fc)
    for out, ref, spoiled in zip(ours, refs, _spoiled(name, params, holes, 600), strict=True):
        expected = ref.copy()
        expected[spoiled] = np.nan
        assert_matches(out, expected, what=f"{name}{params} with holes")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_leading_nans_are_skipped_like_talib_does(case: tuple[str, Params]) -> None:
    name, params = case
    h, lo, c = random_candles(400, seed=32)
    h[:5] = np.nan
    c[:9] = np.nan  # TA-Lib starts where every input is a number: bar 9
    ours = our_outputs(name, params, h, lo, c)
    refs = talib_outputs(name, params, h, lo, c)
    for out, ref in zip(ours, refs, strict=True):
        assert_matches(out, ref, what="leading NaN")


def test_each_row_starts_at_its_own_first_number() -> None:
    h, lo, c = random_candles(300, seed=33, rows=3)
    c[1, :40] = np.nan
    c[2, :] = np.nan
    for name, params in CASES:
        if name in THREE_INPUTS:
            continue
        ours = our_outputs(name, params, h, lo, torch.from_numpy(c))
        for r in range(2):
            for out, ref in zip(ours, talib_outputs(name, params, h[r], lo[r], c[r]), strict=True):
                assert_matches(out[r], ref, what=f"{name} row {r}")
        assert all(torch.isnan(out[2]).all() for out in ours)


def test_a_hole_in_one_symbol_leaves_the_others_alone() -> None:
    h, lo, c = random_candles(500, seed=34, rows=3)
    clean = our_outputs("adx", (14,), h, lo, c)[0]
    h[1, 200] = np.nan
    holed = our_outputs("adx", (14,), h, lo, c)[0]
    assert_matches(holed[0], clean[0], rtol=0.0)
    assert_matches(holed[2], clean[2], rtol=0.0)
    assert torch.isnan(holed[1, 200:]).all() and not torch.isnan(holed[1, 27:200]).any()


@given(
    case=st.sampled_from(CASES),
    length=st.integers(min_value=1, max_value=250),
    holes=st.lists(st.integers(min_value=0, max_value=249), max_size=6),
    lead=st.integers(min_value=0, max_value=30),
)
def test_hole_rules_hold_for_any_pattern(
    case: tuple[str, Params], length: int, holes: list[int], lead: int
) -> None:
    name, params = case
    h, lo, c = random_candles(length, seed=length)
    lead = min(lead, length)
    inner = sorted({x for x in holes if lead < x < length})
    (hh, hl, hc), (fh, fl, fc) = _with_holes(inner, np.nan, h, lo, c)
    for a in (hh, hl, hc, fh, fl, fc):
        a[:lead] = np.nan
    ours = our_outputs(name, params, hh, hl, hc)
    refs = talib_outputs(name, params, fh, fl, fc)
    for out, ref, spoiled in zip(ours, refs, _spoiled(name, params, inner, length), strict=True):
        expected = ref.copy()
        expected[spoiled] = np.nan
        assert_matches(out, expected, what=f"{name}{params} lead={lead} holes={inner}")
    assert lookback(name, *_ints(name, params)) >= 0
