"""Cutting a sweep into Spark partitions that keep every core busy until the end.

Two forces pull in opposite directions. Tasks that share candles, windows and settings (a
*group*, :attr:`~binance_bot.backtest.sweep.SweepTask.group`) are cheapest together: the
batched core loads the candles and computes each indicator once for all of them. But one
partition per group leaves cores idle when there are fewer groups than cores, or when one
symbol has far more bars than the others. So each group is cut into near-equal *chunks*, about
``waves`` chunks per task slot over the whole sweep, and the chunks are ordered by estimated
cost, largest first. Spark hands partitions to free slots in index order, so this is the
longest-processing-time-first rule: the big chunks start early and the small ones fill the
gaps at the end. No shuffle or hash placement is involved; chunk ``i`` is partition ``i``.

Pure: no pyspark here, so the plan is unit-tested without a JVM.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from binance_bot.backtest.sweep import SweepTask
from binance_bot.model.intervals import interval_ms

# bars assumed for a candle file whose window is open-ended (the estimate only ranks chunks)
_UNKNOWN_BARS = 10_000
# the fixed work of a chunk (loading candles, shared indicators) in units of one task's work
GROUP_OVERHEAD = 1.0


def estimated_bars(task: SweepTask) -> int:
    """Bars a task's backtest walks through: its window plus the warm-up history."""
    ref = task.data
    step = interval_ms(ref.interval)
    if ref.start_ms is not None and ref.end_ms is not None:
        return max(1, (ref.end_ms - ref.start_ms) // step) + ref.warmup
    if ref.path is None:  # the synthetic market's default window
        return 2000 + ref.warmup
    return _UNKNOWN_BARS + ref.warmup


@dataclass(frozen=True)
class Chunk:
    """Tasks of one group that run as one batched call in one Spark partition."""

    index: int
    tasks: tuple[SweepTask, ...]
    cost: float


def _split(n: int, parts: int) -> list[int]:
    """``n`` items into ``parts`` sizes differing by at most one."""
    base, extra = divmod(n, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def plan_chunks(tasks: Sequence[SweepTask], slots: int, *, batch: int = 64, waves: int = 4) -> list[Chunk]:
    """Chunks of ``tasks``, largest estimated cost first (see the module doc).

    ``slots`` is how many tasks Spark runs at once (its default parallelism); a chunk holds
    at most ``batch`` tasks, which bounds a worker's memory and how long a result waits.
    """
    if slots < 1 or batch < 1 or waves < 1:
        raise ValueError(f"slots, batch and waves must be >= 1, got {slots}, {batch}, {waves}")
    if not tasks:
        return []
    groups: dict[tuple[Any, ...], list[SweepTask]] = {}
    for t in tasks:
        groups.setdefault(t.group, []).append(t)
    size = min(batch, max(1, math.ceil(len(tasks) / (slots * waves))))
    pieces: list[tuple[float, int, tuple[SweepTask, ...]]] = []
    for members in groups.values():
        bars = estimated_bars(members[0]) * len(members[0].windows)
        start = 0
        for n in _split(len(members), math.ceil(len(members) / size)):
            part = tuple(members[start : start + n])
            start += n
            pieces.append((bars * (n + GROUP_OVERHEAD), part[0].task_id, part))
    pieces.sort(key=lambda p: (-p[0], p[1]))
    return [Chunk(i, part, cost) for i, (cost, _, part) in enumerate(pieces)]


def makespan(chunks: Sequence[Chunk], slots: int) -> float:
    """Estimated finish time of the whole plan when each free slot takes the next chunk in
    order (Spark's behaviour for one stage): the figure the ordering minimises."""
    loads = [0.0] * max(1, slots)
    for c in chunks:
        i = loads.index(min(loads))
        loads[i] += c.cost
    return max(loads)


__all__ = ["GROUP_OVERHEAD", "Chunk", "estimated_bars", "makespan", "plan_chunks"]
