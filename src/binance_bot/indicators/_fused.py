"""Whole-tile expressions for the opt-in compiled mode (``compile=True``).

Eager PyTorch runs every operation as its own pass over the tile, and on a CPU a pass over a
tile that does not fit in the L2 cache runs at memory speed. Here the element-wise parts of
the indicators are written as single expressions, which ``torch.compile`` turns into one
loop each: STOCH, BBANDS and SMA become stencils over their (short) windows, computed in one
pass per output; the true range, the directional moves and the RSI moves and ratio become one
pass each. The matrix-product scans stay as they are.

The arithmetic is TA-Lib's, as in the eager kernels; windows are summed directly (no running
total, so no drift) and BBANDS's variance is the centred two-pass form over each window.
Every function writes into the ``out`` tensors it is given, which may be views of the final
outputs, so no copy follows.

If compilation fails (no C++ compiler, an unsupported device), the expressions run eagerly
and one warning says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

log = logging.getLogger(__name__)

MAX_WINDOW = 64
"""Longest window computed as a stencil; longer ones use the eager block methods."""


def _roll(x: Tensor, n: int, op: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """``op`` folded over the ``n`` bars ending at each bar; ``x`` carries ``n - 1`` bars of
    history in front, the result is ``n - 1`` bars shorter."""
    width = x.shape[-1] - n + 1
    acc = x[..., n - 1 : n - 1 + width]
    for j in range(1, n):
        acc = op(acc, x[..., n - 1 - j : n - 1 - j + width])
    return acc


def sma(x: Tensor, n: int, out: Tensor) -> None:
    out.copy_(_roll(x, n, torch.add) * (1.0 / n))


def bbands(x: Tensor, n: int, up: float, down: float, lower: Tensor, middle: Tensor, upper: Tensor) -> None:
    width = x.shape[-1] - n + 1
    mean = _roll(x, n, torch.add) * (1.0 / n)
    var = torch.zeros_like(mean)
    for j in range(n):
        dev = x[..., n - 1 - j : n - 1 - j + width] - mean
        var = var + dev * dev
    std = torch.sqrt(torch.clamp(var * (1.0 / n), min=0.0))
    middle.copy_(mean)
    upper.copy_(mean + std * up)
    lower.copy_(mean - std * down)


def stoch(h: Tensor, lo: Tensor, c: Tensor, n: int, ks: int, ds: int, k_out: Tensor, d_out: Tensor) -> None:
    """``h``, ``lo``, ``c`` carry ``n + ks + ds - 3`` bars of history in front."""
    highest = _roll(h, n, torch.maximum)
    lowest = _roll(lo, n, torch.minimum)
    span = highest - lowest
    fast_k = torch.where(span == 0.0, torch.zeros_like(span), 100.0 * ((c[..., n - 1 :] - lowest) / span))
    slow_k = _roll(fast_k, ks, torch.add) * (1.0 / ks)
    k_out.copy_(slow_k[..., ds - 1 :])
    d_out.copy_(_roll(slow_k, ds, torch.add) * (1.0 / ds))


def roc(now: Tensor, then: Tensor, out: Tensor) -> None:
    out.copy_(torch.where(then == 0.0, torch.zeros_like(now), (now / then - 1.0) * 100.0))


def true_range(h: Tensor, lo: Tensor, prev_close: Tensor, out: Tensor) -> None:
    out.copy_(torch.maximum(torch.maximum(h - lo, (h - prev_close).abs()), (lo - prev_close).abs()))


def directional_moves(h: Tensor, h_prev: Tensor, lo: Tensor, lo_prev: Tensor, out: Tensor) -> None:
    """``out[0] = +DM - -DM``, ``out[1] = +DM + -DM``."""
    up = h - h_prev
    down = lo_prev - lo
    minus = torch.where(down > torch.clamp(up, min=0.0), down, torch.zeros_like(down))
    plus = torch.where(up > torch.clamp(down, min=0.0), up, torch.zeros_like(up))
    out[0].copy_(plus - minus)
    out[1].copy_(plus + minus)


def rsi_moves(cur: Tensor, prev: Tensor, out: Tensor) -> None:
    """``out[0]`` gains, ``out[1]`` absolute moves."""
    diff = cur - prev
    out[0].copy_(torch.clamp(diff, min=0.0))
    out[1].copy_(diff.abs())


def rsi(gain: Tensor, moves: Tensor, out: Tensor) -> None:
    out.copy_(torch.where(moves <= 0.0, torch.zeros_like(gain), 100.0 * (gain / moves)))


def abs_ratio(num: Tensor, den: Tensor, out: Tensor) -> None:
    out.copy_((num / den).abs())


_compiled: dict[Callable[..., None], Callable[..., None]] = {}
_failed = False


def run(fn: Callable[..., None], *args: Any) -> None:
    """Call the compiled form of ``fn`` (compiling it on first use), or ``fn`` itself once
    compilation has failed."""
    global _failed
    if not _failed:
        compiled = _compiled.get(fn)
        if compiled is None:
            compiled = _compiled[fn] = torch.compile(fn, dynamic=True)
        try:
            compiled(*args)
            return
        except Exception as exc:  # the compiler stack raises many kinds; eager still works
            _failed = True
            log.warning("torch.compile failed (%s); indicators run eagerly", type(exc).__name__)
    fn(*args)
