"""TA-Lib as the reference, random candles, and the comparison every parity test uses."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import talib
import torch

from binance_bot import indicators as ind

Params = tuple[float, ...]

# (indicator, parameters): TA-Lib's defaults, the project's defaults, and edge values
CASES: list[tuple[str, Params]] = [
    ("sma", (30,)),
    ("sma", (20,)),
    ("sma", (2,)),
    ("sma", (200,)),
    ("ema", (30,)),
    ("ema", (9,)),
    ("ema", (2,)),
    ("ema", (100,)),
    ("rsi", (14,)),
    ("rsi", (2,)),
    ("rsi", (50,)),
    ("macd", (12, 26, 9)),
    ("macd", (5, 35, 5)),
    ("macd", (26, 12, 9)),
    ("macd", (12, 26, 1)),
    ("bbands", (5, 2.0, 2.0)),
    ("bbands", (20, 2.0, 2.0)),
    ("bbands", (10, 1.5, 2.5)),
    ("bbands", (2, 1.0, 1.0)),
    ("atr", (14,)),
    ("atr", (1,)),
    ("atr", (30,)),
    ("stoch", (5, 3, 3)),
    ("stoch", (14, 3, 3)),
    ("stoch", (1, 1, 1)),
    ("stoch", (21, 5, 4)),
    ("adx", (14,)),
    ("adx", (2,)),
    ("adx", (30,)),
    ("mom", (10,)),
    ("mom", (1,)),
    ("roc", (10,)),
    ("roc", (1,)),
    ("roc", (50,)),
]

THREE_INPUTS = {"atr", "stoch", "adx"}


def case_id(case: tuple[str, Params]) -> str:
    return f"{case[0]}{'-'.join(str(p) for p in case[1])}"


def random_candles(
    length: int, seed: int, *, rows: int | None = None, price: float = 100.0, vol: float = 0.001
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """High, low, close of a random walk with fat tails and wicks: sound candles
    (high >= max(open, close), low <= min(open, close)), shaped [time] or [rows x time]."""
    rng = np.random.default_rng(seed)
    shape = (length,) if rows is None else (rows, length)
    steps = rng.standard_t(4, shape) * vol
    close = price * np.exp(np.cumsum(steps, axis=-1))
    opened = np.concatenate([close[..., :1], close[..., :-1]], axis=-1)
    high = np.maximum(opened, close) * (1 + np.abs(rng.normal(0, vol / 2, shape)))
    low = np.minimum(opened, close) * (1 - np.abs(rng.normal(0, vol / 2, shape)))
    return high, low, close


def talib_outputs(
    name: str, params: Params, h: np.ndarray, lo: np.ndarray, c: np.ndarray
) -> list[np.ndarray]:
    """TA-Lib's outputs in our order (bbands: lower, middle, upper; stoch: k, d)."""
    p = params
    calls: dict[str, Callable[[], object]] = {
        "sma": lambda: talib.SMA(c, p[0]),
        "ema": lambda: talib.EMA(c, p[0]),
        "rsi": lambda: talib.RSI(c, p[0]),
        "macd": lambda: talib.MACD(c, p[0], p[1], p[2]),
        "bbands": lambda: talib.BBANDS(c, p[0], p[1], p[2])[::-1],
        "atr": lambda: talib.ATR(h, lo, c, p[0]),
        "stoch": lambda: talib.STOCH(h, lo, c, p[0], p[1], 0, p[2], 0),
        "adx": lambda: talib.ADX(h, lo, c, p[0]),
        "mom": lambda: talib.MOM(c, p[0]),
        "roc": lambda: talib.ROC(c, p[0]),
    }
    out = calls[name]()
    return [np.asarray(a) for a in (out if isinstance(out, (tuple, list)) else [out])]


def our_outputs(
    name: str, params: Params, h: object, lo: object, c: object, **kw: object
) -> list[torch.Tensor]:
    fn = getattr(ind, name)
    args = (h, lo, c) if name in THREE_INPUTS else (c,)
    ints = tuple(int(v) if name != "bbands" or i == 0 else v for i, v in enumerate(params))
    out = fn(*args, *ints, **kw)
    return list(out) if isinstance(out, tuple) else [out]


def assert_matches(ours: object, ref: object, *, rtol: float = 1e-9, what: str = "") -> None:
    """NaN in exactly the same places; elsewhere |ours - ref| <= rtol * max(|ref|, 1)."""
    a = np.asarray(ours.detach().cpu() if isinstance(ours, torch.Tensor) else ours, dtype=np.float64)
    b = np.asarray(ref, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if (nan_a != nan_b).any():
        where = np.flatnonzero((nan_a != nan_b).reshape(-1))[:5]
        raise AssertionError(f"{what}: NaN positions differ at flat indices {where.tolist()}")
    ok = ~nan_b
    if ok.any():
        rel = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1.0)
        worst = int(np.argmax(rel))
        assert rel[worst] <= rtol, f"{what}: max relative difference {rel[worst]:.3e} > {rtol:.0e}"


def check_against_talib(name: str, params: Params, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> None:
    ours = our_outputs(name, params, h, lo, c)
    if c.ndim == 1:
        refs = talib_outputs(name, params, h, lo, c)
    else:
        per_row = [talib_outputs(name, params, h[r], lo[r], c[r]) for r in range(c.shape[0])]
        refs = [np.stack([row[i] for row in per_row]) for i in range(len(per_row[0]))]
    assert len(ours) == len(refs)
    for i, (o, r) in enumerate(zip(ours, refs, strict=True)):
        assert_matches(o, r, what=f"{name}{params} output {i}")
