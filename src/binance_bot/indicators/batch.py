"""The ten indicators as batch kernels over ``[time]`` or ``[symbol x time]`` tensors.

Every function returns tensors of the input's shape, dtype (float64 unless float32 is passed)
and device, with NaN for the warm-up bars, and values equal to TA-Lib's:

* **Warm-up (lookback)** as TA-Lib counts it, with its default unstable periods of 0:
  SMA, EMA, BBANDS ``n - 1``; RSI, ATR, MOM, ROC ``n``; ADX ``2n - 1``;
  MACD ``slow + signal - 2`` for all three lines; STOCH ``fastk + slowk + slowd - 3`` for
  both lines. :func:`lookback` returns these numbers.
* **EMA** uses ``k = 2 / (n + 1)`` and is seeded with the SMA of its first ``n`` bars.
* **MACD** swaps ``fast`` and ``slow`` when ``slow < fast`` (as TA-Lib does), seeds the slow
  EMA with the SMA of the first ``slow`` bars and the fast EMA, aligned with it, with the SMA
  of the ``fast`` bars ending at bar ``slow - 1``; the signal line is an EMA of the MACD line
  seeded the same way. TA-Lib publishes none of the three lines before the signal exists.
* **RSI, ATR, ADX** use Wilder's smoothing ``s = (s * (n - 1) + v) / n``, seeded with the
  plain average of the first ``n`` values (RSI: gains and losses of bars 1..n; ATR: true
  ranges of bars 1..n). ADX smooths +DM, -DM and the true range as Wilder *sums*
  ``s = s - s / n + v`` seeded with the sum of bars 1..n-1, and its first value is the mean
  of the DX of bars n..2n-1.
* **TA-Lib's zero tests** are kept, because they decide values (as TA-Lib 0.8's C library
  makes them: exact, scale-free tests, where TA-Lib 0.4 used an absolute 1e-8 that broke
  low-priced symbols): RSI is 0 where average gain plus average loss is 0; BBANDS's
  deviation is 0 where the variance is not positive; ADX skips a bar (keeps the previous
  ADX, or adds nothing to the first average) where the smoothed true range or the sum of the
  directional indicators is 0; STOCH's %K is 0 where the highest high equals the lowest low;
  ROC is 0 where the bar ``n`` back is 0.
* **BBANDS** uses the population standard deviation around an SMA middle band (TA-Lib's
  default ``matype``), computed from deviations against a reference inside each window rather
  than as ``E[x^2] - mean^2``.
* **STOCH** smooths %K and %D with SMAs (TA-Lib's default); **ROC** is in percent,
  ``(x[t] / x[t-n] - 1) * 100``.

NaN and infinite inputs follow the rules of :mod:`binance_bot.indicators._runner`: leading ones
are skipped (the warm-up restarts at the first finite bar, as in TA-Lib's Python wrapper); a
hole inside the series turns into NaN every window that contains it (SMA, BBANDS, STOCH, MOM,
ROC) or every bar from the hole on (EMA, MACD, RSI, ATR, ADX, whose state carries the whole
past). TA-Lib's own SMA keeps a running total and so never recovers from a hole; ours does.

Periods are checked against TA-Lib's ranges and a ``ValueError`` names the offending one.

Every function takes ``compiled=True`` to run its element-wise parts as ``torch.compile``d
whole-tile expressions (see :mod:`binance_bot.indicators._fused`): several times faster on
long series, at the price of compiling each expression once per parameter set on first use.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from binance_bot.indicators import _fused as fused
from binance_bot.indicators._primitives import (
    BLOCK,
    Workspace,
    add_outer,
    aligned_blocks,
    as_blocks,
    block_ends,
    decay_matrix,
    decay_powers,
    ever,
    lagged,
    linear_scan,
    shifted_any,
    true_range,
    window_any,
    window_extreme,
    window_sum,
    with_history,
)
from binance_bot.indicators._runner import Kernel, Tile, run

_NAN = float("nan")
_MAX_PERIOD = 100_000

Device = torch.device | str | None


def _period(name: str, value: int, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _MAX_PERIOD:
        raise ValueError(f"{name} must be an integer in [{low}, {_MAX_PERIOD}], got {value!r}")
    return value


def _warmup(out: Tensor, bars: int) -> None:
    out[:, :bars].fill_(_NAN)


def _zero_where_not_positive(values: Tensor, test: Tensor) -> None:
    """``values[test <= 0] = 0``. One reduction decides; the masked write (slow on the CPU)
    runs only on the rare tiles that need it."""
    if test.numel() and bool(torch.amin(test) <= 0.0):
        values.masked_fill_(test <= 0.0, 0.0)


def _zero_like(t: Tensor) -> Tensor:
    """A zero that broadcasts to ``t`` without memory (for ``addcdiv``'s ``input``)."""
    return torch.zeros((), dtype=t.dtype, device=t.device).expand_as(t)


# Kernels take their scratch buffers from a few shared slots ("a", "b", ...): a kernel's
# scratch is dead once its step returns, so the next kernel reuses the same memory, which is
# still in the cache, instead of touching buffers of its own.


def _true_range(tile: Tile, sources: tuple[str, ...]) -> Tensor:
    """The tile's true range, computed once for all kernels of the request that use it."""
    key = "tr:" + ",".join(sources)
    tr = tile.shared.get(key)
    if tr is None:
        rows, width = tile.rows, tile.t1 - tile.t0
        tr = tile.ws.get(key, rows, width)
        high, low, close = (tile.inputs[s] for s in sources)
        if tile.fused:
            h, _, skip = lagged(high, tile.t0, tile.t1)
            lo, prev_close = lagged(low, tile.t0, tile.t1)[0], lagged(close, tile.t0, tile.t1)[1]
            fused.run(fused.true_range, h, lo, prev_close, tr[:, skip:])
            if skip:
                tr[:, 0].zero_()
        else:
            true_range(high, low, close, tile.t0, tile.t1, tr, tile.ws.get("tr_tmp", rows, width))
        tile.shared[key] = tr
    return tr


class _Sma(Kernel):
    def __init__(self, n: int, name: str = "sma", source: str = "close") -> None:
        self.n = _period("timeperiod", n, 2)
        self.sources = (source,)
        self.names = (name,)

    @property
    def lookback(self) -> int:
        return self.n - 1

    @property
    def reach(self) -> int:
        return 2 * self.n

    def step(self, tile: Tile) -> None:
        n, t0, t1 = self.n, tile.t0, tile.t1
        out = tile.outputs[self.names[0]][:, t0:t1]
        if t1 <= self.lookback:
            out.fill_(_NAN)
            return
        x = tile.inputs[self.sources[0]]
        if tile.fused and n <= fused.MAX_WINDOW:
            fused.run(fused.sma, with_history(x, t0, t1, n - 1, tile.ws, "sma"), n, out)
        else:
            torch.mul(window_sum(x, t0, t1, n, tile.ws), 1.0 / n, out=out)
        if tile.first:
            _warmup(out, n - 1)

    def holes(self, hole: Tensor) -> dict[str, Tensor]:
        return {self.names[0]: window_any(hole, self.n)}


class _Ema(Kernel):
    def __init__(self, n: int, name: str = "ema", source: str = "close") -> None:
        self.n = _period("timeperiod", n, 2)
        self.k = 2.0 / (n + 1)
        self.sources = (source,)
        self.names = (name,)
        self._state: Tensor | None = None

    @property
    def lookback(self) -> int:
        return self.n - 1

    def begin(self, rows: int, ws: Workspace) -> None:
        self._state = None

    def step(self, tile: Tile) -> None:
        n, t0, t1 = self.n, tile.t0, tile.t1
        out = tile.outputs[self.names[0]][:, t0:t1]
        if t1 <= self.lookback:
            out.fill_(_NAN)
            return
        x = tile.inputs[self.sources[0]]
        if tile.first:
            b = tile.ws.get("a", tile.rows, t1)
            torch.mul(x[:, :t1], self.k, out=b)
            b[:, : n - 1].zero_()
            torch.div(x[:, :n].sum(dim=1), n, out=b[:, n - 1])
            linear_scan(b, 1.0 - self.k, None, out, tile.ws)
            _warmup(out, n - 1)
        else:
            linear_scan(x[:, t0:t1], 1.0 - self.k, self._state, out, tile.ws, scale=self.k)
        self._state = out[:, -1]

    def holes(self, hole: Tensor) -> dict[str, Tensor]:
        return {self.names[0]: ever(hole)}


class _Rsi(Kernel):
    def __init__(self, n: int, name: str = "rsi", source: str = "close") -> None:
        self.n = _period("timeperiod", n, 2)
        self.sources = (source,)
        self.names = (name,)
        self._state: Tensor | None = None

    @property
    def lookback(self) -> int:
        return self.n

    def begin(self, rows: int, ws: Workspace) -> None:
        self._state = None

    def step(self, tile: Tile) -> None:
        n, t0, t1, ws = self.n, tile.t0, tile.t1, tile.ws
        out = tile.outputs[self.names[0]][:, t0:t1]
        if t1 <= self.lookback:
            out.fill_(_NAN)
            return
        rows, width = tile.rows, t1 - t0
        cur, prev, skip = lagged(tile.inputs[self.sources[0]], t0, t1)
        # Smoothing is linear, so the average gain plus the average loss is the smoothed
        # absolute move: smooth gains and |moves| and RSI is one division.
        moves = ws.get("a", 2, rows, width)
        if tile.fused:
            fused.run(fused.rsi_moves, cur, prev, moves[:, :, skip:])
            if skip:
                moves[:, :, 0].zero_()
        else:
            diff = ws.get("b", rows, width)
            torch.sub(cur, prev, out=diff[:, skip:])
            if skip:
                diff[:, 0].zero_()
            torch.clamp(diff, min=0.0, out=moves[0])
            torch.abs(diff, out=moves[1])
        flat = moves.view(2 * rows, width)
        avg = ws.get("c", 2, rows, width)
        d = (n - 1) / n
        if tile.first:
            seeds = flat[:, 1 : n + 1].sum(dim=1) / n
            flat.div_(n)
            flat[:, :n].zero_()
            flat[:, n] = seeds
            linear_scan(flat, d, None, avg.view(2 * rows, width), ws)
        else:
            linear_scan(flat, d, self._state, avg.view(2 * rows, width), ws, scale=1.0 / n)
        self._state = avg.view(2 * rows, width)[:, -1].clone()
        if tile.fused:
            fused.run(fused.rsi, avg[0], avg[1], out)
        else:
            torch.addcdiv(_zero_like(out), avg[0], avg[1], value=100.0, out=out)
            _zero_where_not_positive(out, avg[1])
        if tile.first:
            _warmup(out, n)

    def holes(self, hole: Tensor) -> dict[str, Tensor]:
        return {self.names[0]: ever(hole)}


def _ema_difference(
    x: Tensor, ks: tuple[float, float], states: list[Tensor | None], out: Tensor, ws: Workspace
) -> list[Tensor | None]:
    """``EMA_a(x) - EMA_b(x)`` into ``out`` with one matrix product: the two block solutions
    differ only in their matrices, so their difference has a matrix of its own. Returns the
    two EMAs' states at the last bar."""
    rows, width = x.shape
    bb = as_blocks(x, BLOCK)
    yy = as_blocks(out, BLOCK)
    if bb is None or yy is None:
        ema = ws.get("c", 2, rows, width)
        for j, k in enumerate(ks):
            linear_scan(x, 1.0 - k, states[j], ema[j], ws, scale=k)
        torch.sub(ema[0], ema[1], out=out)
        return [ema[0, :, -1].clone(), ema[1, :, -1].clone()]
    (ka, kb), blocks = ks, width // BLOCK
    da, db = 1.0 - ka, 1.0 - kb
    dt, dev = x.dtype, x.device
    ma, mb = decay_matrix(da, BLOCK, ka, dt, dev), decay_matrix(db, BLOCK, kb, dt, dev)
    torch.mm(bb, ma - mb, out=yy)
    local = ws.get("d", rows * blocks, 2)
    torch.mm(bb, torch.stack((ma[:, BLOCK - 1], mb[:, BLOCK - 1]), dim=1), out=local)
    l3 = local.view(rows, blocks, 2)
    y3 = yy.view(rows, blocks, BLOCK)
    ends = []
    for j, (d, sign) in enumerate(((da, 1.0), (db, -1.0))):
        e = block_ends(l3[:, :, j], d**BLOCK, states[j], ws, tag=str(j))
        powers = decay_powers(d, BLOCK, dt, dev) * sign
        if blocks > 1:
            add_outer(y3[:, 1:], e[:, :-1], powers)
        if states[j] is not None:
            add_outer(y3[:, :1], states[j].unsqueeze(-1), powers)
        ends.append(e[:, -1].clone())
    return ends


class _Macd(Kernel):
    def __init__(self, fast: int, slow: int, signal: int, names: tuple[str, str, str]) -> None:
        fast = _period("fastperiod", fast, 2)
        slow = _period("slowperiod", slow, 2)
        self.fast, self.slow = min(fast, slow), max(fast, slow)
        self.signal = _period("signalperiod", signal, 1)
        self.names = names
        self._state: list[Tensor | None] = [None, None, None]

    @property
    def lookback(self) -> int:
        return self.slow + self.signal - 2

    def begin(self, rows: int, ws: Workspace) -> None:
        self._state = [None, None, None]

    def step(self, tile: Tile) -> None:
        fast, slow, signal, t0, t1, ws = self.fast, self.slow, self.signal, tile.t0, tile.t1, tile.ws
        line, sig, hist = (tile.outputs[name][:, t0:t1] for name in self.names)
        if t1 <= self.lookback:
            for out in (line, sig, hist):
                out.fill_(_NAN)
            return
        rows, width = tile.rows, t1 - t0
        x = tile.inputs[self.sources[0]]
        kf, ks, kg = 2.0 / (fast + 1), 2.0 / (slow + 1), 2.0 / (signal + 1)
        if tile.first:
            ema = ws.get("a", 2, rows, width)
            seed_at = slow - 1
            b = ws.get("b", rows, width)
            for j, (k, seed) in enumerate(((kf, x[:, slow - fast : slow]), (ks, x[:, :slow]))):
                torch.mul(x[:, :t1], k, out=b)
                b[:, :seed_at].zero_()
                b[:, seed_at] = seed.sum(dim=1) / seed.shape[1]
                linear_scan(b, 1.0 - k, None, ema[j], ws)
            torch.sub(ema[0], ema[1], out=line)
            sig_at = seed_at + signal - 1
            torch.mul(line, kg, out=b)
            b[:, :sig_at].zero_()
            b[:, sig_at] = line[:, seed_at : sig_at + 1].sum(dim=1) / signal
            linear_scan(b, 1.0 - kg, None, sig, ws)
            self._state = [ema[0, :, -1].clone(), ema[1, :, -1].clone(), sig[:, -1]]
        else:
            self._state[:2] = _ema_difference(x[:, t0:t1], (kf, ks), self._state[:2], line, ws)
            linear_scan(line, 1.0 - kg, self._state[2], sig, ws, scale=kg)
            self._state[2] = sig[:, -1]
        torch.sub(line, sig, out=hist)
        if tile.first:
            for out in (line, sig, hist):
                _warmup(out, self.lookback)

    def holes(self, hole: Tensor) -> dict[str, Tensor]:
        return dict.fromkeys(self.names, ever(hole))


class _Bbands(Kernel):
    def __init__(self, n: int, up: float, down: float, names: tuple[str, str, str]) -> None:
        self.n = _period("timeperiod", n, 2)
        self.up, self.down = float(up), float(down)
        self.names = names

    @property
    def lookback(self) -> int:
        return self.n - 1

    @property
    def reach(self) -> int:
        return 2 * self.n

    def step(self, tile: Tile) -> None:
        n, t0, t1, ws = self.n, tile.t0, tile.t1, tile.ws
        lower, middle, upper = (tile.outputs[name][:, t0:t1] for name in self.names)
        if t1 <= self.lookback:
            for out in (lower, middle, upper):
                out.fill_(_NAN)
            return
        if tile.fused and n <= fused.MAX_WINDOW:
            x = with_history(tile.inputs[self.sources[0]], t0, t1, n - 1, ws, "bb")
            fused.run(fused.bbands, x, n, self.up, self.down, lower, middle, upper)
        else:
            self._eager(tile, lower, middle, upper)
        if tile.first:
            for out in (lower, middle, upper):
                _warmup(out, n - 1)

    def _eager(self, tile: Tile, lower: Tensor, middle: Tensor, upper: Tensor) -> None:
        n, t0, t1, ws = self.n, tile.t0, tile.t1, tile.ws
        blocks, j0 = aligned_blocks(tile.inputs[self.sources[0]], t0, t1, n, ws, "bb")
        rows, m, _ = blocks.shape
        # Deviations from the first bar of each block, which belongs to every window that
        # ends in that block, so sums of squares stay at the scale of the local price range.
        ref = blocks[:, :, :1]
        dev = ws.get("a", 2, rows, m, n)
        torch.sub(blocks, ref, out=dev[0])
        torch.mul(dev[0], dev[0], out=dev[1])
        prefix = ws.get("b", 2, rows, m, n)
        torch.cumsum(dev, dim=3, out=prefix)
        # The window ending at bar i of block k = bars 0..i of block k plus the tail of block
        # k-1 after bar i; the tail's sums are moved from block k-1's reference onto block k's
        # (shift = ref[k-1] - ref[k], over the n-1-i bars of the tail).
        tail = ws.get("c", 2, rows, m - 1, n)
        torch.sub(prefix[:, :, :-1, n - 1 :], prefix[:, :, :-1, :], out=tail)
        shift = ref[:, :-1] - ref[:, 1:]
        count = torch.arange(n - 1, -1, -1, dtype=blocks.dtype, device=blocks.device)
        sums = ws.get("d", 2, rows, m - 1, n)
        torch.add(prefix[:, :, 1:], tail, out=sums)
        sums[1].addcmul_(shift, tail[0], value=2.0)
        sums[1].addcmul_(shift * shift, count)
        sums[0].addcmul_(shift, count)
        sums.mul_(1.0 / n)
        mean_dev, var = sums[0], sums[1]
        var.addcmul_(mean_dev, mean_dev, value=-1.0)
        mean_dev.add_(ref[:, 1:])
        # bar t0 sits at flat position j0 - n of the [rows, (m - 1) * n] layout
        lo, hi = j0 - n, j0 - n + (t1 - t0)
        mid = mean_dev.view(rows, -1)[:, lo:hi]
        std = var.view(rows, -1)[:, lo:hi]
        std.clamp_(min=0.0).sqrt_()
        middle.copy_(mid)
        torch.add(mid, std, alpha=self.up, out=upper)
        torch.sub(mid, std, alpha=self.down, out=lower)

    def holes(self, hole: Tensor) -> dict[str, Tensor]:
        return dict.fromkeys(self.names, window_any(hole, self.n))


class _Atr(Kernel):
    sources = ("high", "low", "close")

    def __init__(self, n: int, name: str = "atr") -> None:
        self.n = _period("timeperiod", n, 1)
        self.names = (name,)
        self._state: Tensor | None = None

    @property
    def lookback(self) -> int:
        return self.n

    def begin(self, rows: int, ws: Workspace) -> None:
        self._state = None

    def step(self, tile: Tile) -> None:
        n, t0, t1, ws = self.n, tile.t0, tile.t1, tile.ws
        out = tile.outputs[self.names[0]][:, t0:t1]
        if t1 <= self.lookback:
            out.fill_(_NAN)
            return
        tr = _true_range(tile, self.sources)
        d = (n - 1) / n
        if tile.first:
            b = ws.get("a", tile.rows, t1 - t0)
            torch.mul(tr, 1.0 / n, out=b)
            b[:, :n].zero_()
            b[:, n] = tr[:, 1 : n + 1].sum(dim=1) / n
            linear_scan(b, d, None, out, ws)
            _warmup(out, n)
        else:
            linear_scan(tr, d, self._state, out, ws, scale=1.0 / n)
        self._state = out[:, -1]

    def holes(self, hole: Tensor) -> dict[str, Tensor]:
        return {self.names[0]: ever(hole)}


class _Adx(Kernel):
    sources = ("high", "low", "close")

    def __init__(self, n: int, name: str = "adx") -> None:
        self.n = _period("timeperiod", n, 2)
        self.names = (name,)
        self._sums: Tensor | None = None
        self._adx: Tensor | None = None
        self._moving_from: Tensor | None = None

    @property
    def lookback(self) -> int:
        return 2 * self.n - 1

    def begin(self, rows: int, ws: Workspace) -> None:
        self._sums = None
        self._adx = None
        self._moving_from = None

    def step(self, tile: Tile) -> None:
        n, t0, t1, ws = self.n, tile.t0, tile.t1, tile.ws
        out = tile.outputs[self.names[0]][:, t0:t1]
        if t1 <= self.lookback:
            out.fill_(_NAN)
            return
        rows, width = tile.rows, t1 - t0
        high, low, _ = (tile.inputs[s] for s in self.sources)
        up = ws.get("a", rows, width)
        down = ws.get("b", rows, width)
        tmp = ws.get("c", rows, width)
        h, h_prev, skip = lagged(high, t0, t1)
        lo, lo_prev, _ = lagged(low, t0, t1)
        moves = ws.get("d", 2, rows, width)
        if tile.fused:
            fused.run(fused.directional_moves, h, h_prev, lo, lo_prev, moves[:, :, skip:])
            if skip:
                moves[:, :, 0].zero_()
        else:
            torch.sub(h, h_prev, out=up[:, skip:])
            torch.sub(lo_prev, lo, out=down[:, skip:])
            if skip:
                up[:, 0].zero_()
                down[:, 0].zero_()
            self._moves(up, down, tmp, moves)
        flat = moves.view(2 * rows, width)
        sums = ws.get("e", 2, rows, width)
        if tile.first:
            seeds = flat[:, 1:n].sum(dim=1)
            flat[:, : n - 1].zero_()
            flat[:, n - 1] = seeds
        linear_scan(flat, 1.0 - 1.0 / n, self._sums, sums.view(2 * rows, width), ws)
        self._sums = sums.view(2 * rows, width)[:, -1].clone()
        ratio = up  # |DI difference| / DI sum; DX is 100 times this
        if tile.fused:
            fused.run(fused.abs_ratio, sums[0], sums[1], ratio)
        else:
            torch.div(sums[0], sums[1], out=ratio)
            ratio.abs_()
        valid = self._valid(tile, sums[1])
        first = 0
        if tile.first:
            first = 2 * n
            window = ratio[:, n : 2 * n]
            if valid is not None:
                window = torch.where(valid[:, n : 2 * n], window, 0.0)
            self._adx = window.sum(dim=1) * (100.0 / n)
            out[:, 2 * n - 1] = self._adx
        self._smooth(ratio, valid, first, out, ws)
        if tile.first:
            _warmup(out, 2 * n - 1)

    @staticmethod
    def _moves(up: Tensor, down: Tensor, tmp: Tensor, moves: Tensor) -> None:
        """``moves[0] = +DM - -DM``, ``moves[1] = +DM + -DM``.

        -DM where the fall beats both zero and the rise, +DM where the rise beats both (float
        0/1 masks: comparisons into bool tensors are several times slower). Smoothing is
        linear and at most one DM is non-zero per bar, so smoothing these two (both exact
        here) gives the difference and the sum of the DIs' numerators; the true range
        cancels out of DX = 100 |-DI - +DI| / (-DI + +DI).
        """
        torch.clamp(up, min=0.0, out=tmp)
        torch.gt(down, tmp, out=tmp)
        torch.mul(down, tmp, out=moves[0])
        torch.clamp(down, min=0.0, out=tmp)
        torch.gt(up, tmp, out=tmp)
        torch.mul(up, tmp, out=moves[1])
        torch.add(moves[0], moves[1], out=moves[1])
        torch.sub(moves[1], moves[0], alpha=2.0, out=moves[0])

    def _valid(self, tile: Tile, total: Tensor) -> Tensor | None:
        """Bars where TA-Lib computes a DX: smoothed range and DI sum not zero. The smoothed
        range is zero only until the first bar that moves at all, so after that only the DI
        sum matters; None when every bar is valid, which one reduction proves almost always."""
        starts = self._moving_from
        if starts is None or not bool((starts <= tile.t0).all()):
            tr = _true_range(tile, self.sources)
            pos = torch.arange(tile.t0, tile.t1, device=tr.device)
            big = torch.tensor(tile.t1 + 1, device=tr.device)
            found = torch.where(tr > 0.0, pos, big).amin(dim=1)
            starts = found if starts is None else torch.minimum(starts, found)
            self._moving_from = starts
        # the smoothed range is non-zero from the first moving bar on (bar 0 has no range)
        # the first tile reads DX only from bar n on
        used = total[:, self.n :] if tile.first else total
        ranged = bool((starts <= max(tile.t0, self.n)).all())
        if ranged and bool(torch.amin(used) > 0.0):
            return None
        pos = torch.arange(tile.t0, tile.t1, device=total.device)
        return (total != 0.0) & (pos >= starts.unsqueeze(-1))

    def _smooth(self, ratio: Tensor, valid: Tensor | None, first: int, out: Tensor, ws: Workspace) -> None:
        """ADX = (ADX * (n - 1) + DX) / n over the bars from ``first`` on; a bar TA-Lib skips
        repeats the previous ADX."""
        n = self.n
        ratio = ratio[:, first:]
        dst = out[:, first:]
        if ratio.shape[1] == 0:
            return
        d, scale = (n - 1) / n, 100.0 / n
        if valid is None:
            linear_scan(ratio, d, self._adx, dst, ws, scale=scale)
            self._adx = dst[:, -1].clone()
            return
        valid = valid[:, first:]
        assert self._adx is not None  # set by the first tile
        for r in range(ratio.shape[0]):
            keep = valid[r]
            kept = ratio[r][keep].unsqueeze(0)
            smoothed = torch.empty_like(kept)
            linear_scan(kept, d, self._adx[r : r + 1], smoothed, ws, scale=scale)
            # bar t shows the ADX after the last valid bar up to t (or the carried one)
            count = keep.to(torch.int64).cumsum(dim=0)
            dst[r] = torch.cat((self._adx[r : r + 1], smoothed[0]))[count]
        self._adx = dst[:, -1].clone()

    def holes(self, hole: Tensor) -> dict[str, Tensor]:
        return {self.names[0]: ever(hole)}


class _Stoch(Kernel):
    sources = ("high", "low", "close")

    def __init__(self, fastk: int, slowk: int, slowd: int, names: tuple[str, str]) -> None:
        self.fastk = _period("fastk_period", fastk, 1)
        self.slowk = _period("slowk_period", slowk, 1)
        self.slowd = _period("slowd_period", slowd, 1)
        self.names = names

    @property
    def lookback(self) -> int:
        return self.fastk + self.slowk + self.slowd - 3

    @property
    def reach(self) -> int:
        return 2 * (self.fastk + self.slowk + self.slowd)

    def step(self, tile: Tile) -> None:
        t0, t1, ws = tile.t0, tile.t1, tile.ws
        k_out, d_out = (tile.outputs[name][:, t0:t1] for name in self.names)
        if t1 <= self.lookback:
            k_out.fill_(_NAN)
            d_out.fill_(_NAN)
            return
        rows = tile.rows
        high, low, close = (tile.inputs[s] for s in self.sources)
        if tile.fused and max(self.fastk, self.slowk, self.slowd) <= fused.MAX_WINDOW:
            halo = self.lookback
            h, lo, c = (with_history(x, t0, t1, halo, ws, f"st{i}") for i, x in enumerate((high, low, close)))
            fused.run(fused.stoch, h, lo, c, self.fastk, self.slowk, self.slowd, k_out, d_out)
            if tile.first:
                _warmup(k_out, self.lookback)
                _warmup(d_out, self.lookback)
            return
        # %K is needed from far enough back for both SMAs' windows (and their block grids)
        d_from = max(t0 - 2 * self.slowd, 0)
        k_from = max(d_from - 2 * self.slowk, 0)
        width = t1 - k_from
        lowest = window_extreme(low, k_from, t1, self.fastk, ws, largest=False, tag="lo")
        highest = window_extreme(high, k_from, t1, self.fastk, ws, largest=True, tag="hi")
        fast_k = ws.get("a", rows, width)
        span = ws.get("b", rows, width)
        torch.sub(close[:, k_from:t1], lowest, out=fast_k)
        torch.sub(highest, lowest, out=span)
        torch.addcdiv(_zero_like(fast_k), fast_k, span, value=100.0, out=fast_k)
        if bool(torch.amin(span) <= 0.0):  # TA-Lib: %K is 0 where the range is empty
            fast_k.masked_fill_(span == 0.0, 0.0)
        if k_from == 0:
            fast_k[:, : self.fastk - 1].zero_()
        slow_k = ws.get("c", rows, t1 - d_from)
        torch.mul(
            window_sum(fast_k, d_from - k_from, width, self.slowk, ws, "k"), 1.0 / self.slowk, out=slow_k
        )
        if d_from == 0:
            slow_k[:, : self.fastk + self.slowk - 2].zero_()
        k_out.copy_(slow_k[:, t0 - d_from :])
        torch.mul(
            window_sum(slow_k, t0 - d_from, t1 - d_from, self.slowd, ws, "d"), 1.0 / self.slowd, out=d_out
        )
        if tile.first:
            _warmup(k_out, self.lookback)
            _warmup(d_out, self.lookback)

    def holes(self, hole: Tensor) -> dict[str, Tensor]:
        k_span = self.fastk + self.slowk - 1
        return {
            self.names[0]: window_any(hole, k_span),
            self.names[1]: window_any(hole, k_span + self.slowd - 1),
        }


class _Mom(Kernel):
    def __init__(self, n: int, name: str = "mom", source: str = "close", percent: bool = False) -> None:
        self.n = _period("timeperiod", n, 1)
        self.sources = (source,)
        self.names = (name,)
        self.percent = percent

    @property
    def lookback(self) -> int:
        return self.n

    @property
    def reach(self) -> int:
        return self.n

    def step(self, tile: Tile) -> None:
        n, t0, t1 = self.n, tile.t0, tile.t1
        x = tile.inputs[self.sources[0]]
        out = tile.outputs[self.names[0]]
        start = max(t0, n)
        if start < t1:
            dst = out[:, start:t1]
            now, then = x[:, start:t1], x[:, start - n : t1 - n]
            if self.percent and tile.fused:
                fused.run(fused.roc, now, then, dst)
            elif self.percent:
                torch.div(now, then, out=dst)
                dst.sub_(1.0)
                dst.mul_(100.0)
                if not (bool(torch.amin(then) > 0) or bool(torch.amax(then) < 0)):
                    dst.masked_fill_(then == 0.0, 0.0)
            else:
                torch.sub(now, then, out=dst)
        if tile.first:
            _warmup(out[:, :t1], n)

    def holes(self, hole: Tensor) -> dict[str, Tensor]:
        return {self.names[0]: shifted_any(hole, self.n)}


# ---------------------------------------------------------------------------------------------
# Public kernels


class Macd(NamedTuple):
    macd: Tensor
    signal: Tensor
    hist: Tensor


class Bands(NamedTuple):
    lower: Tensor
    middle: Tensor
    upper: Tensor


class Stoch(NamedTuple):
    k: Tensor
    d: Tensor


def _one(
    kernel: Kernel, inputs: Mapping[str, object], dtype: torch.dtype | None, device: Device, compiled: bool
) -> Tensor:
    return run([kernel], inputs, dtype=dtype, device=device, compiled=compiled)[kernel.names[0]]


def sma(
    x: object, n: int = 30, *, dtype: torch.dtype | None = None, device: Device = None, compiled: bool = False
) -> Tensor:
    """Simple moving average of the last ``n`` bars."""
    return _one(_Sma(n), {"close": x}, dtype, device, compiled)


def ema(
    x: object, n: int = 30, *, dtype: torch.dtype | None = None, device: Device = None, compiled: bool = False
) -> Tensor:
    """Exponential moving average, ``k = 2 / (n + 1)``, seeded with the SMA of the first ``n``."""
    return _one(_Ema(n), {"close": x}, dtype, device, compiled)


def rsi(
    x: object, n: int = 14, *, dtype: torch.dtype | None = None, device: Device = None, compiled: bool = False
) -> Tensor:
    """Wilder's relative strength index, 0..100."""
    return _one(_Rsi(n), {"close": x}, dtype, device, compiled)


def macd(
    x: object,
    fast: int = 12,
    slow: int = 26,
    signal: int = 9,
    *,
    dtype: torch.dtype | None = None,
    device: Device = None,
    compiled: bool = False,
) -> Macd:
    """MACD line (fast EMA - slow EMA), its signal EMA and the histogram (line - signal)."""
    names = ("macd", "macd_signal", "macd_hist")
    res = run([_Macd(fast, slow, signal, names)], {"close": x}, dtype=dtype, device=device, compiled=compiled)
    return Macd(*(res[name] for name in names))


def bbands(
    x: object,
    n: int = 5,
    nbdev_up: float = 2.0,
    nbdev_dn: float = 2.0,
    *,
    dtype: torch.dtype | None = None,
    device: Device = None,
    compiled: bool = False,
) -> Bands:
    """Bollinger bands: SMA middle, +- ``nbdev`` population standard deviations."""
    names = ("bb_lower", "bb_middle", "bb_upper")
    res = run(
        [_Bbands(n, nbdev_up, nbdev_dn, names)], {"close": x}, dtype=dtype, device=device, compiled=compiled
    )
    return Bands(*(res[name] for name in names))


def atr(
    high: object,
    low: object,
    close: object,
    n: int = 14,
    *,
    dtype: torch.dtype | None = None,
    device: Device = None,
    compiled: bool = False,
) -> Tensor:
    """Wilder's average true range."""
    return _one(_Atr(n), {"high": high, "low": low, "close": close}, dtype, device, compiled)


def stoch(
    high: object,
    low: object,
    close: object,
    fastk: int = 5,
    slowk: int = 3,
    slowd: int = 3,
    *,
    dtype: torch.dtype | None = None,
    device: Device = None,
    compiled: bool = False,
) -> Stoch:
    """Slow stochastic: %K = SMA(fast %K, slowk), %D = SMA(%K, slowd)."""
    names = ("stoch_k", "stoch_d")
    res = run(
        [_Stoch(fastk, slowk, slowd, names)],
        {"high": high, "low": low, "close": close},
        dtype=dtype,
        device=device,
        compiled=compiled,
    )
    return Stoch(*(res[name] for name in names))


def adx(
    high: object,
    low: object,
    close: object,
    n: int = 14,
    *,
    dtype: torch.dtype | None = None,
    device: Device = None,
    compiled: bool = False,
) -> Tensor:
    """Wilder's average directional index, 0..100."""
    return _one(_Adx(n), {"high": high, "low": low, "close": close}, dtype, device, compiled)


def mom(
    x: object, n: int = 10, *, dtype: torch.dtype | None = None, device: Device = None, compiled: bool = False
) -> Tensor:
    """Momentum ``x[t] - x[t-n]``."""
    return _one(_Mom(n), {"close": x}, dtype, device, compiled)


def roc(
    x: object, n: int = 10, *, dtype: torch.dtype | None = None, device: Device = None, compiled: bool = False
) -> Tensor:
    """Rate of change in percent, ``(x[t] / x[t-n] - 1) * 100``; 0 where ``x[t-n]`` is 0."""
    return _one(_Mom(n, name="roc", percent=True), {"close": x}, dtype, device, compiled)


_KERNEL_OF: dict[str, Callable[..., Kernel]] = {
    "sma": lambda n=30: _Sma(n),
    "ema": lambda n=30: _Ema(n),
    "rsi": lambda n=14: _Rsi(n),
    "macd": lambda fast=12, slow=26, signal=9: _Macd(fast, slow, signal, ("a", "b", "c")),
    "bbands": lambda n=5, nbdev_up=2.0, nbdev_dn=2.0: _Bbands(n, nbdev_up, nbdev_dn, ("a", "b", "c")),
    "atr": lambda n=14: _Atr(n),
    "stoch": lambda fastk=5, slowk=3, slowd=3: _Stoch(fastk, slowk, slowd, ("a", "b")),
    "adx": lambda n=14: _Adx(n),
    "mom": lambda n=10: _Mom(n),
    "roc": lambda n=10: _Mom(n, percent=True),
}


def lookback(name: str, *params: int | float, **named: int | float) -> int:
    """Leading bars without a value (TA-Lib's lookback) of an indicator with these parameters,
    given as for the batch function: ``lookback("ema", 9) == 8``,
    ``lookback("macd", 12, 26, 9) == 33``."""
    try:
        make = _KERNEL_OF[name.lower()]
    except KeyError:
        raise ValueError(f"unknown indicator {name!r}; known: {', '.join(_KERNEL_OF)}") from None
    try:
        inspect.signature(make).bind(*params, **named)
    except TypeError as exc:
        raise ValueError(f"bad parameters for {name}: {exc}") from None
    return make(*params, **named).lookback


# ---------------------------------------------------------------------------------------------
# A whole set in one pass


@dataclass(frozen=True)
class IndicatorSet:
    """Which indicators, with which parameters, one pass computes; ``None`` or ``()`` leaves
    one out. Column names carry the period for the single-line indicators (``sma_20``,
    ``ema_9``, ``rsi_14``...) and fixed names for the others (``macd``, ``macd_signal``,
    ``macd_hist``, ``bb_lower``, ``bb_middle``, ``bb_upper``, ``stoch_k``, ``stoch_d``)."""

    sma: tuple[int, ...] = (20,)
    ema: tuple[int, ...] = (9, 21)
    rsi: tuple[int, ...] = (14,)
    macd: tuple[int, int, int] | None = (12, 26, 9)
    bbands: tuple[int, float] | None = (20, 2.0)
    atr: tuple[int, ...] = (14,)
    stoch: tuple[int, int, int] | None = (14, 3, 3)
    adx: tuple[int, ...] = (14,)
    mom: tuple[int, ...] = (10,)
    roc: tuple[int, ...] = (10,)

    def kernels(self) -> list[Kernel]:
        """Fresh kernels for one run (kernels carry state, so runs never share them)."""
        ks: list[Kernel] = [_Sma(n, f"sma_{n}") for n in self.sma]
        ks += [_Ema(n, f"ema_{n}") for n in self.ema]
        ks += [_Rsi(n, f"rsi_{n}") for n in self.rsi]
        if self.macd is not None:
            ks.append(_Macd(*self.macd, names=("macd", "macd_signal", "macd_hist")))
        if self.bbands is not None:
            n, k = self.bbands
            ks.append(_Bbands(n, k, k, ("bb_lower", "bb_middle", "bb_upper")))
        ks += [_Atr(n, f"atr_{n}") for n in self.atr]
        if self.stoch is not None:
            ks.append(_Stoch(*self.stoch, names=("stoch_k", "stoch_d")))
        ks += [_Adx(n, f"adx_{n}") for n in self.adx]
        ks += [_Mom(n, f"mom_{n}") for n in self.mom]
        ks += [_Mom(n, f"roc_{n}", percent=True) for n in self.roc]
        names = [name for k in ks for name in k.names]
        if len(set(names)) != len(names):
            raise ValueError(f"an indicator set names a column twice: {sorted(names)}")
        return ks

    @property
    def columns(self) -> list[str]:
        return [name for k in self.kernels() for name in k.names]

    @property
    def lookback(self) -> int:
        """The longest warm-up of the set."""
        return max((k.lookback for k in self.kernels()), default=0)


def compute_set(
    high: object,
    low: object,
    close: object,
    spec: IndicatorSet | None = None,
    *,
    dtype: torch.dtype | None = None,
    device: Device = None,
    tile_bars: int | None = None,
    compiled: bool = False,
) -> dict[str, Tensor]:
    """Every indicator of ``spec`` (default: :class:`IndicatorSet`) in one fused pass over the
    data, column name -> tensor of the input's shape."""
    spec = spec or IndicatorSet()
    return run(
        spec.kernels(),
        {"high": high, "low": low, "close": close},
        dtype=dtype,
        device=device,
        tile_bars=tile_bars,
        compiled=compiled,
    )
