"""Runs indicator kernels over ``[rows, time]`` inputs, tile by tile, and applies the NaN rules.

A kernel computes its outputs for one tile ``[t0, t1)`` of a block of rows, reading bars before
``t0`` from the full input and carrying its recursive state from the previous tile. The
runner cuts the work into tiles that fit the CPU cache (or into a few large ones on a GPU),
runs every kernel of a request on a tile before moving on, so that inputs are read from
memory once for the whole set, and allocates each output once.

Non-finite inputs (NaN, +inf, -inf) are *holes*:

* Leading holes are skipped, as TA-Lib's Python wrapper does: a row starts at its first bar
  where every input of the indicator is finite, and the warm-up counts from there.
* A hole inside the series is filled with the last finite bar for the computation, and every
  output that depends on it is then set to NaN as each kernel's ``holes`` rule says: windowed
  indicators lose only the windows that contain the hole, smoothed ones (whose state carries
  every past bar) lose everything from the hole on.

Inputs without holes take the fast path and never pay for any of this.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from binance_bot.indicators._primitives import BLOCK, Workspace, empty

CPU_TILE = 1 << 17
"""Bars per tile on the CPU: the temporaries of a tile stay in the cores' L2 caches (and the
L3), while each tensor operation still has enough bars to amortise its dispatch cost."""

GPU_TILE = 1 << 24
"""Bars per tile on a GPU: large enough to keep the device busy, small enough to bound memory."""


@dataclass
class Tile:
    """One piece of work: rows of the current row block, bars ``[t0, t1)``."""

    t0: int
    t1: int
    inputs: Mapping[str, Tensor]
    outputs: Mapping[str, Tensor]
    ws: Workspace
    fused: bool = False
    """Run the element-wise parts as compiled whole-tile expressions (``compiled=True``)."""
    shared: dict[str, Tensor] = field(default_factory=dict)
    """Intermediates that several kernels of one request need (the true range), computed
    once per tile by the first kernel that asks; read-only for everyone."""

    @property
    def rows(self) -> int:
        return next(iter(self.outputs.values())).shape[0]

    @property
    def first(self) -> bool:
        return self.t0 == 0


class Kernel(ABC):
    """One indicator with fixed parameters, written as a tile step with carried state."""

    sources: tuple[str, ...] = ("close",)
    names: tuple[str, ...] = ()

    @property
    @abstractmethod
    def lookback(self) -> int:
        """Leading bars without a value, as TA-Lib counts them."""

    @property
    def reach(self) -> int:
        """How many bars before ``t0`` a tile reads (from inputs), at most."""
        return 1

    def begin(self, rows: int, ws: Workspace) -> None:  # noqa: B027 - stateless kernels keep no carry
        """Start a new block of rows: drop any carried state."""

    @abstractmethod
    def step(self, tile: Tile) -> None:
        """Write every output for bars ``[t0, t1)`` of the tile, NaN for warm-up bars."""

    @abstractmethod
    def holes(self, hole: Tensor) -> dict[str, Tensor]:
        """For each output, which bars depend on a hole, given where the holes are."""


def as_series(value: object, dtype: torch.dtype | None, device: torch.device | str | None) -> Tensor:
    """Turn a tensor, array, list or pandas Series into a floating ``[rows, time]`` tensor."""
    if isinstance(value, Tensor):
        t = value
    else:
        arr = np.asarray(value)
        if arr.dtype not in (np.float32, np.float64):
            arr = arr.astype(np.float64)
        if not arr.flags.writeable:  # e.g. pandas' copy-on-write views; torch wants writable memory
            arr = arr.copy()
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if dtype is not None:
        t = t.to(dtype)
    elif not t.is_floating_point() or t.dtype in (torch.float16, torch.bfloat16):
        t = t.to(torch.float64)
    if device is not None:
        t = t.to(device)
    if t.dim() == 1:
        t = t.unsqueeze(0)
    if t.dim() != 2:
        raise ValueError(f"indicator inputs are [time] or [symbol x time], got shape {tuple(t.shape)}")
    return t.contiguous()


def run(
    kernels: Sequence[Kernel],
    inputs: Mapping[str, object],
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    tile_bars: int | None = None,
    compiled: bool = False,
) -> dict[str, Tensor]:
    """Compute every kernel's outputs over the inputs; 1-D inputs give 1-D outputs. With
    ``compiled`` the element-wise parts run as ``torch.compile``d whole-tile expressions
    (compiled on first use, a few seconds per expression and parameter set)."""
    needed = sorted({s for k in kernels for s in k.sources})
    missing = [s for s in needed if s not in inputs]
    if missing:
        raise ValueError(f"missing inputs: {', '.join(missing)}")
    one_dim = all(getattr(inputs[s], "ndim", np.ndim(inputs[s])) == 1 for s in needed)
    first = as_series(inputs[needed[0]], dtype, device)
    series = {needed[0]: first}
    for s in needed[1:]:
        series[s] = as_series(inputs[s], first.dtype, first.device)
        if series[s].shape != first.shape:
            raise ValueError(
                f"inputs differ in shape: {needed[0]} {tuple(first.shape)} vs {s} {tuple(series[s].shape)}"
            )
    fast = _run_tiles(kernels, series, tile_bars, compiled, check=True)
    if fast is not None:
        outputs = fast
    else:
        finite = {s: bool(torch.isfinite(t).all()) for s, t in series.items()}
        outputs = {}
        groups: dict[tuple[str, ...], list[Kernel]] = {}
        for k in kernels:
            groups.setdefault(tuple(sorted(k.sources)), []).append(k)
        for sources, group in groups.items():
            sub = {s: series[s] for s in sources}
            if all(finite[s] for s in sources):
                outputs.update(_run_tiles(group, sub, tile_bars, compiled) or {})
            else:
                outputs.update(_run_with_holes(group, sub, tile_bars, compiled))
    if one_dim:
        return {name: t.squeeze(0) for name, t in outputs.items()}
    return outputs


def _alloc(rows: int, length: int, like: Tensor) -> Tensor:
    return empty((rows, length), like.dtype, like.device)


def _plan(
    rows: int, length: int, kernels: Sequence[Kernel], device: torch.device, tile_bars: int | None
) -> tuple[int, list[tuple[int, int]]]:
    """Rows per tile and the time cuts. Long rows are cut in time, one row per tile; short
    rows are stacked whole. The first cut holds every kernel's warm-up, and later cuts start
    far enough in that their left context is a plain view of the input."""
    budget = tile_bars or (GPU_TILE if device.type == "cuda" else CPU_TILE)
    warm = max(k.lookback for k in kernels) + 1
    reach = max(k.reach for k in kernels)
    first = -(-max(budget, warm, reach) // BLOCK) * BLOCK
    if length <= first + budget // 4:
        return max(1, budget // max(length, 1)), [(0, length)]
    step = -(-budget // BLOCK) * BLOCK
    cuts = [(0, first)]
    t = first
    while t < length:
        end = min(t + step, length)
        if length - end < step // 4:
            end = length
        cuts.append((t, end))
        t = end
    return 1, cuts


def _run_tiles(
    kernels: Sequence[Kernel],
    series: Mapping[str, Tensor],
    tile_bars: int | None,
    compiled: bool = False,
    check: bool = False,
) -> dict[str, Tensor] | None:
    """The fast path. With ``check`` it verifies each tile's inputs just before using them
    (a sum is non-finite when any term is, and it pulls the tile into the cache for the
    kernels) and returns None at the first hole, so the caller can take the hole path."""
    like = next(iter(series.values()))
    rows, length = like.shape
    outputs = {name: _alloc(rows, length, like) for k in kernels for name in k.names}
    if length == 0 or rows == 0:
        return outputs
    ws = Workspace(like.dtype, like.device)
    per_tile, cuts = _plan(rows, length, kernels, like.device, tile_bars)
    for r0 in range(0, rows, per_tile):
        r1 = min(r0 + per_tile, rows)
        ins = {s: t[r0:r1] for s, t in series.items()}
        outs = {name: t[r0:r1] for name, t in outputs.items()}
        for k in kernels:
            k.begin(r1 - r0, ws)
        for t0, t1 in cuts:
            if check and not bool(torch.isfinite(sum(t[:, t0:t1].sum() for t in ins.values()))):
                return None
            tile = Tile(t0, t1, ins, outs, ws, compiled)
            for k in kernels:
                k.step(tile)
    return outputs


def _run_with_holes(
    kernels: Sequence[Kernel], series: Mapping[str, Tensor], tile_bars: int | None, compiled: bool
) -> dict[str, Tensor]:
    like = next(iter(series.values()))
    rows, length = like.shape
    hole = torch.zeros((rows, length), dtype=torch.bool, device=like.device)
    for t in series.values():
        hole |= ~torch.isfinite(t)
    pos = torch.arange(length, device=like.device)
    # first bar where every input is finite; rows that never get one start "at the end"
    start = torch.where(hole, length, pos).amin(dim=1, keepdim=True)
    src_idx = (pos + start).clamp(max=max(length - 1, 0))
    aligned_hole = hole.gather(1, src_idx) | (pos >= length - start)
    # fill every hole with the last finite bar before it (rows with none get 0)
    last_ok = torch.where(aligned_hole, 0, pos).cummax(dim=1).values
    fill_idx = src_idx.gather(1, last_ok)
    filled = {}
    for s, t in series.items():
        v = t.gather(1, fill_idx)
        filled[s] = torch.where(torch.isfinite(v), v, torch.zeros((), dtype=v.dtype, device=v.device))
    outputs = _run_tiles(kernels, filled, tile_bars, compiled)
    assert outputs is not None  # unchecked runs always finish
    back_idx = (pos - start).clamp(min=0)
    before_start = pos < start
    result = {}
    for k in kernels:
        for name, mask in k.holes(aligned_hole).items():
            out = outputs[name].masked_fill(mask, float("nan"))
            out = out.gather(1, back_idx).masked_fill(before_start, float("nan"))
            result[name] = out
    return result
