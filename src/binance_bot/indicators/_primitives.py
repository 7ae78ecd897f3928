"""Numeric primitives shared by every indicator kernel.

All of them work on ``[rows, time]`` tensors of one floating dtype on any device, and all of
them are written for *tiles*: a slice ``[t0, t1)`` of the time axis whose left context (the
bars before ``t0``) is read from the full input, and whose recursive state is carried in from
the previous tile. Working tile by tile keeps every temporary small enough to stay in the CPU
cache, which is what makes eager PyTorch competitive with a compiled C loop here.

Three building blocks carry the indicators:

``linear_scan``
    Solves ``y[t] = d * y[t-1] + scale * b[t]`` (EMA, Wilder smoothing). The series is cut
    into blocks of ``BLOCK`` bars; one matrix product with the ``BLOCK x BLOCK`` matrix of
    powers ``d**(i-j)`` solves every block from a zero start, the states at the block ends
    follow the same recurrence with decay ``d**BLOCK`` (solved the same way, recursively,
    and by one dense triangular product once few enough are left), and one fused
    multiply-add adds each block's incoming state. Every output is a short sum of exact
    products, so the result is as exact as a sequential loop and does not drift.

``window_sum``
    Sums over the last ``n`` bars without a running total: the time axis is cut into blocks of
    ``n`` bars, prefix sums are taken inside each block, and a window, which spans at most two
    blocks, is the prefix of its own block plus the tail of the previous block. Rounding
    therefore depends only on the ``2n`` bars around the window, never on the length of the
    series.

``window_extreme``
    Rolling maximum or minimum, exact, by van Herk / Gil-Werman (prefix and suffix extremes
    inside blocks of ``n`` bars, 3 comparisons per bar whatever ``n`` is) or by a sparse table
    of doubling windows (``log2 n`` passes), whichever costs less for the tile at hand.

The module has no state beyond small caches of constant matrices.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

BLOCK = 16
"""Block length of the scan: 16 keeps the per-bar work of the matrix product at 32 flops."""

DENSE = 128
"""Block-end states are solved in chunks of this many by one dense triangular product."""


_NUMPY_DTYPES = {torch.float64: np.float64, torch.float32: np.float32, torch.bool: np.bool_}


def empty(size: int | tuple[int, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
    """An uninitialised tensor. On the CPU the memory comes from NumPy: glibc then recycles
    freed blocks of this size, where ``torch.empty`` maps fresh pages from the kernel each
    time, and faulting those in costs far more than the work done in them."""
    np_dtype = _NUMPY_DTYPES.get(dtype)
    if device.type == "cpu" and np_dtype is not None:
        return torch.from_numpy(np.empty(size, dtype=np_dtype))
    return torch.empty(size, dtype=dtype, device=device)


class Workspace:
    """Named scratch buffers reused from tile to tile, so that the hot loop allocates nothing.

    A buffer is handed out as a view of the requested shape; the caller owns it until it asks
    for the same name again. Kernels use short names per purpose and the primitives use names
    starting with an underscore, so a primitive never overwrites a buffer that a kernel still
    reads. Views are cached per shape: asking again costs a dictionary lookup.
    """

    def __init__(self, dtype: torch.dtype, device: torch.device) -> None:
        self.dtype = dtype
        self.device = device
        self._buffers: dict[tuple[str, torch.dtype], Tensor] = {}
        self._views: dict[tuple[str, torch.dtype, tuple[int, ...]], Tensor] = {}

    def get(self, name: str, *shape: int, dtype: torch.dtype | None = None) -> Tensor:
        dtype = dtype or self.dtype
        view = self._views.get((name, dtype, shape))
        if view is not None:
            return view
        size = math.prod(shape)
        buf = self._buffers.get((name, dtype))
        if buf is None or buf.numel() < size:
            buf = empty(max(size, 1), dtype, self.device)
            self._buffers[(name, dtype)] = buf
            self._views = {k: v for k, v in self._views.items() if k[:2] != (name, dtype)}
        view = buf[:size].view(shape)
        self._views[(name, dtype, shape)] = view
        return view


@lru_cache(maxsize=1024)
def decay_matrix(d: float, size: int, scale: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``M[j, i] = scale * d**(i - j)`` for ``i >= j``, else 0, so ``b @ M`` solves a block."""
    e = torch.arange(size, dtype=torch.float64)
    lag = e[None, :] - e[:, None]
    powers = torch.pow(torch.tensor(d, dtype=torch.float64), lag.clamp(min=0))
    mat = torch.where(lag >= 0, powers * scale, torch.zeros((), dtype=torch.float64))
    return mat.to(dtype=dtype, device=device)


@lru_cache(maxsize=1024)
def decay_powers(d: float, size: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``d**(i + 1)``: how much of the state entering a block is left after ``i + 1`` steps."""
    e = torch.arange(1, size + 1, dtype=torch.float64)
    return torch.pow(torch.tensor(d, dtype=torch.float64), e).to(dtype=dtype, device=device)


def as_blocks(t: Tensor, block: int) -> Tensor | None:
    """View ``[rows, c]`` as ``[rows * c / block, block]`` without a copy, if the layout allows."""
    rows, length = t.shape
    if length % block or t.stride(1) != 1 or (rows > 1 and t.stride(0) != length):
        return None
    return t.view(rows * (length // block), block)


def linear_scan(
    b: Tensor, d: float, y0: Tensor | None, out: Tensor, ws: Workspace, *, scale: float = 1.0
) -> None:
    """Write ``y[t] = d * y[t-1] + scale * b[t]`` along the last axis into ``out``.

    ``b`` and ``out`` are ``[rows, c]``; ``y0`` (``[rows]``, or ``None`` for zeros) is the
    state before the first bar. ``b`` is only read, so it may be a view of the caller's input.
    """
    rows, length = b.shape
    if length == 0:
        return
    blocks = -(-length // BLOCK)
    bb = as_blocks(b, BLOCK)
    if bb is None:
        tmp = ws.get("_scan_b", rows, blocks * BLOCK)
        tmp[:, :length].copy_(b)
        tmp[:, length:].zero_()
        bb = tmp.view(rows * blocks, BLOCK)
    yy = as_blocks(out, BLOCK)
    direct = yy is not None
    if yy is None:
        yy = ws.get("_scan_y", rows * blocks, BLOCK)
    dtype, device = b.dtype, b.device
    matrix = decay_matrix(d, BLOCK, scale, dtype, device)
    torch.mm(bb, matrix, out=yy)
    # the end state of every block when it starts from zero, then the true ones
    local = ws.get("_scan_local", rows * blocks)
    torch.mv(bb, matrix[:, BLOCK - 1], out=local)
    ends = block_ends(local.view(rows, blocks), d**BLOCK, y0, ws)
    powers = decay_powers(d, BLOCK, dtype, device)
    y3 = yy.view(rows, blocks, BLOCK)
    if blocks > 1:
        add_outer(y3[:, 1:], ends[:, :-1], powers)
    if y0 is not None:
        add_outer(y3[:, :1], y0.unsqueeze(-1), powers)
    if not direct:
        out.copy_(yy.view(rows, blocks * BLOCK)[:, :length])


def add_outer(y3: Tensor, states: Tensor, powers: Tensor) -> None:
    """``y3[r, k, i] += states[r, k] * powers[i]``, as rank-1 matrix updates for a few rows
    (the broadcasting multiply-add is slower over rows of only ``BLOCK`` values)."""
    if y3.shape[0] <= 4:
        for r in range(y3.shape[0]):
            y3[r].addmm_(states[r].unsqueeze(-1), powers.unsqueeze(0))
    else:
        y3.addcmul_(states.unsqueeze(-1), powers)


def block_ends(
    local: Tensor, decay: float, y0: Tensor | None, ws: Workspace, tag: str = "", level: int = 0
) -> Tensor:
    """True end states ``E[k] = decay * E[k-1] + local[k]`` (``E[-1] = y0``) of a row of blocks
    whose ``local`` end states were computed from zero: the scan's recurrence one level up,
    ``BLOCK`` times shorter. Up to ``DENSE`` of them are solved with one triangular product;
    more are cut into chunks of ``DENSE`` that are solved the same way, and the chunk ends are
    solved recursively."""
    rows, count = local.shape
    dtype, device = local.dtype, local.device
    dense = decay_matrix(decay, DENSE, 1.0, dtype, device)
    dense_powers = decay_powers(decay, DENSE, dtype, device)
    if count <= DENSE:
        ends = ws.get(f"_ends{tag}{level}", rows, count)
        torch.mm(local, dense[:count, :count], out=ends)
        if y0 is not None:
            ends.addcmul_(y0.unsqueeze(-1), dense_powers[:count])
        return ends
    chunks = -(-count // DENSE)
    grid = as_blocks(local, DENSE)
    if grid is None:
        padded = ws.get(f"_ends_in{tag}{level}", rows, chunks * DENSE)
        padded[:, :count].copy_(local)
        padded[:, count:].zero_()
        grid = padded.view(rows * chunks, DENSE)
    ends = ws.get(f"_ends{tag}{level}", rows * chunks, DENSE)
    torch.mm(grid, dense, out=ends)
    e3 = ends.view(rows, chunks, DENSE)
    chunk_ends = block_ends(e3[:, :-1, DENSE - 1], decay**DENSE, y0, ws, tag, level + 1)
    add_outer(e3[:, 1:], chunk_ends, dense_powers)
    if y0 is not None:
        add_outer(e3[:, :1], y0.unsqueeze(-1), dense_powers)
    return ends.view(rows, chunks * DENSE)[:, :count]


def aligned_blocks(x: Tensor, t0: int, t1: int, n: int, ws: Workspace, tag: str) -> tuple[Tensor, int]:
    """Blocks of ``n`` bars of ``x`` that end exactly at ``t1`` and reach at least ``n`` bars
    before ``t0``, as ``[rows, m, n]``, and the flat offset of ``t0`` inside them.

    Ending the grid at ``t1`` lets the blocks be a plain view of the input. Only when the
    grid would start before bar 0 (the first tile) is the input copied behind padding that
    repeats bar 0: windows that reach into it are warm-up bars that the caller overwrites, and
    a real price there keeps the sums of deviations from a block's first bar small.
    """
    rows = x.shape[0]
    m = (t1 - t0 + 2 * n - 1) // n
    start = t1 - m * n
    if start >= 0:
        return x[:, start:t1].view(rows, m, n), t0 - start
    buf = ws.get(f"_blocks_{tag}", rows, m * n)
    buf[:, :-start].copy_(x[:, :1].expand(rows, -start))
    buf[:, -start:].copy_(x[:, :t1])
    return buf.view(rows, m, n), t0 - start


def with_history(x: Tensor, t0: int, t1: int, bars: int, ws: Workspace, tag: str) -> Tensor:
    """``x[:, t0 - bars : t1]``; before bar 0 (the first tile) the missing bars repeat bar 0,
    which only warm-up outputs read."""
    start = t0 - bars
    if start >= 0:
        return x[:, start:t1]
    buf = ws.get(f"_hist_{tag}", x.shape[0], t1 - start)
    buf[:, :-start].copy_(x[:, :1].expand(x.shape[0], -start))
    buf[:, -start:].copy_(x[:, :t1])
    return buf


def window_sum(x: Tensor, t0: int, t1: int, n: int, ws: Workspace, tag: str = "s") -> Tensor:
    """Sums of the ``n`` bars ending at each bar of ``[t0, t1)``, as a ``[rows, t1 - t0]`` view.

    Bars before ``n - 1`` hold partial sums; the caller marks them as warm-up. Windows of
    up to three bars are summed directly, in fewer passes than the block prefix sums.
    """
    if n <= 3 and t0 >= n - 1:
        if n == 1:
            return x[:, t0:t1]
        direct = ws.get(f"_wsum_d_{tag}", x.shape[0], t1 - t0)
        torch.add(x[:, t0:t1], x[:, t0 - 1 : t1 - 1], out=direct)
        if n == 3:
            direct.add_(x[:, t0 - 2 : t1 - 2])
        return direct
    blocks, j0 = aligned_blocks(x, t0, t1, n, ws, tag)
    rows, m, _ = blocks.shape
    prefix = ws.get(f"_wsum_p_{tag}", rows, m, n)
    torch.cumsum(blocks, dim=2, out=prefix)
    res = ws.get(f"_wsum_r_{tag}", rows, m, n)
    # window ending at (k, i) = prefix[k, i] + (total of block k-1 - prefix[k-1, i])
    torch.sub(prefix[:, :-1, n - 1 :], prefix[:, :-1, :], out=res[:, 1:, :])
    res[:, 1:, :].add_(prefix[:, 1:, :])
    return res.view(rows, m * n)[:, j0:]


_OP_OVERHEAD_BARS = {"cpu": 16384, "cuda": 262144}
"""Bars of work one extra tensor operation costs in dispatch and launch overhead, roughly."""


def window_extreme(
    x: Tensor, t0: int, t1: int, n: int, ws: Workspace, *, largest: bool, tag: str = "m"
) -> Tensor:
    """Rolling maximum (``largest``) or minimum over ``n`` bars for each bar of ``[t0, t1)``,
    as a ``[rows, t1 - t0]`` view; bars before ``n - 1`` look at the bars they have.

    Two exact algorithms, chosen by a cost model: van Herk / Gil-Werman needs 3 comparisons
    per bar whatever ``n`` is, but in ``2n`` steps of ``1/n`` of the tile each; the sparse
    table of doubling windows needs ``ceil(log2 n) + 1`` comparisons per bar in as many full
    passes. With eager dispatch costs the doubling table wins for CPU tiles; van Herk wins
    for long windows over large (GPU) tiles.
    """
    rows = x.shape[0]
    bars = rows * (t1 - t0 + n)
    overhead = _OP_OVERHEAD_BARS.get(x.device.type, _OP_OVERHEAD_BARS["cuda"])
    passes = math.ceil(math.log2(n)) + 1 if n > 1 else 1
    doubling = passes * (overhead + bars)
    van_herk = (2 * n + 6) * overhead + 6 * bars
    if n > 2 and van_herk < doubling:
        return _van_herk(x, t0, t1, n, ws, largest, tag)
    return _doubling(x, t0, t1, n, ws, largest, tag)


def _doubling(x: Tensor, t0: int, t1: int, n: int, ws: Workspace, largest: bool, tag: str) -> Tensor:
    rows = x.shape[0]
    pick = torch.maximum if largest else torch.minimum
    start = t0 - (n - 1)
    if start >= 0:
        cur = x[:, start:t1]
    else:
        cur = ws.get(f"_dbl_in_{tag}", rows, t1 - start)
        cur[:, -start:].copy_(x[:, :t1])
        cur[:, :-start].copy_(x[:, :1].expand(rows, -start))
    width = cur.shape[1]
    if n == 1:
        return cur
    # cur[j] holds the extreme of the `span` bars ending at j (valid once j >= span - 1)
    span = 1
    flip = 0
    while 2 * span <= n:
        nxt = ws.get(f"_dbl_{tag}{flip}", rows, width)
        pick(cur[:, span:], cur[:, :-span], out=nxt[:, span:])
        cur, span, flip = nxt, 2 * span, 1 - flip
    if span == n:
        return cur[:, n - 1 :]
    res = ws.get(f"_dbl_{tag}{flip}", rows, width - n + 1)
    pick(cur[:, n - 1 :], cur[:, span - 1 : width - (n - span)], out=res)
    return res


def _van_herk(x: Tensor, t0: int, t1: int, n: int, ws: Workspace, largest: bool, tag: str) -> Tensor:
    """Prefix and suffix extremes inside blocks of ``n`` bars; a window spans at most two
    blocks, so it is the suffix of one and the prefix of the next. The blocks are transposed
    so that each step is one comparison across all blocks."""
    pick = torch.maximum if largest else torch.minimum
    blocks, j0 = aligned_blocks(x, t0, t1, n, ws, f"vh{tag}")
    rows, m, _ = blocks.shape
    g = ws.get(f"_vh_g_{tag}", rows, n, m)
    g.copy_(blocks.transpose(1, 2))
    h = ws.get(f"_vh_h_{tag}", rows, n, m)
    h[:, n - 1].copy_(g[:, n - 1])
    for i in range(n - 2, -1, -1):
        pick(h[:, i + 1], g[:, i], out=h[:, i])
    for i in range(1, n):
        pick(g[:, i - 1], g[:, i], out=g[:, i])
    # window ending at (k, i < n-1) = extreme of (suffix of block k-1 from i+1, prefix of block k to i)
    pick(h[:, 1:, :-1], g[:, : n - 1, 1:], out=g[:, : n - 1, 1:])
    out = ws.get(f"_vh_o_{tag}", rows, m, n)
    out.copy_(g.transpose(1, 2))
    return out.view(rows, m * n)[:, j0:]


def lagged(x: Tensor, t0: int, t1: int) -> tuple[Tensor, Tensor, int]:
    """``(x[t], x[t-1], skip)`` over ``[t0 + skip, t1)``; ``skip`` is 1 on the first tile,
    where bar 0 has no predecessor."""
    skip = 1 if t0 == 0 else 0
    return x[:, t0 + skip : t1], x[:, t0 + skip - 1 : t1 - 1], skip


def true_range(high: Tensor, low: Tensor, close: Tensor, t0: int, t1: int, out: Tensor, tmp: Tensor) -> None:
    """TA-Lib's true range ``max(h - l, |h - c[t-1]|, |l - c[t-1]|)`` into ``out``.

    Where every high is at least its low (sound candles) this is exactly
    ``max(h, c[t-1]) - min(l, c[t-1])``, the same subtractions in floating point, in fewer
    passes. Bar 0 has no previous close and gets 0; TA-Lib never reads it either.
    """
    h, _, skip = lagged(high, t0, t1)
    lo, _, _ = lagged(low, t0, t1)
    _, prev_close, _ = lagged(close, t0, t1)
    dst = out[:, skip:]
    aux = tmp[:, skip:]
    torch.sub(h, lo, out=dst)
    if dst.numel() and bool(torch.amin(dst) >= 0):
        torch.maximum(h, prev_close, out=aux)
        torch.minimum(lo, prev_close, out=dst)
        torch.sub(aux, dst, out=dst)
    else:
        torch.sub(h, prev_close, out=aux)
        aux.abs_()
        torch.maximum(dst, aux, out=dst)
        torch.sub(lo, prev_close, out=aux)
        aux.abs_()
        torch.maximum(dst, aux, out=dst)
    if skip:
        out[:, 0].zero_()


def window_any(mask: Tensor, n: int) -> Tensor:
    """For each bar, whether any of the ``n`` bars ending there is set (bars before ``n - 1``
    look at the bars they have)."""
    length = mask.shape[1]
    if length == 0:
        return mask.clone()
    counts = mask.to(torch.int64).cumsum(dim=1)
    lagged_counts = torch.zeros_like(counts)
    if n < length:
        lagged_counts[:, n:] = counts[:, :-n]
    return (counts - lagged_counts) > 0


def ever(mask: Tensor) -> Tensor:
    """For each bar, whether the mask was set at that bar or any earlier one."""
    return mask.to(torch.int32).cumsum(dim=1) > 0


def shifted_any(mask: Tensor, n: int) -> Tensor:
    """``mask[t] | mask[t - n]``."""
    res = mask.clone()
    if n < mask.shape[1]:
        res[:, n:] |= mask[:, :-n]
    return res
