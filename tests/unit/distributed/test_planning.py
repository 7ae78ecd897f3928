"""Balanced chunks: every task once, groups kept together, big chunks first."""

from __future__ import annotations

from collections import Counter

import pytest

from binance_bot.backtest.data import DataRef
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.backtest.sweep import SweepTask, Window, tasks_for
from binance_bot.distributed.planning import Chunk, estimated_bars, makespan, plan_chunks

H = 3_600_000
START = 1_704_067_200_000
WINDOWS = (
    Window("in_sample", START, START + 700 * H),
    Window("out_of_sample", START + 700 * H, START + 1000 * H),
)


def _ref(symbol: str, bars: int = 1000, warmup: int = 200) -> DataRef:
    return DataRef(symbol, "1h", None, START, START + bars * H, warmup)


def _tasks(symbols: dict[str, int], points: int) -> list[SweepTask]:
    refs = [_ref(s, bars) for s, bars in symbols.items()]
    grid = [{"fast": 5 + i, "slow": 50} for i in range(points)]
    return tasks_for("sma_cross", grid, refs, list(WINDOWS), BacktestSpec())


def _check_cover(tasks: list[SweepTask], chunks: list[Chunk]) -> None:
    seen = Counter(t.task_id for c in chunks for t in c.tasks)
    assert seen == Counter(t.task_id for t in tasks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert len({t.group for t in c.tasks}) == 1


def test_every_task_once_and_groups_never_mixed() -> None:
    tasks = _tasks({"BTCUSDT": 1000, "ETHUSDT": 1000, "BNBUSDT": 1000}, 37)
    chunks = plan_chunks(tasks, slots=2, batch=64)
    _check_cover(tasks, chunks)


def test_about_waves_chunks_per_slot_of_near_equal_size() -> None:
    tasks = _tasks({"BTCUSDT": 1000, "ETHUSDT": 1000}, 500)
    chunks = plan_chunks(tasks, slots=2, batch=1000, waves=4)
    sizes = [len(c.tasks) for c in chunks]
    assert len(chunks) == 8
    assert max(sizes) - min(sizes) <= 1


def test_batch_caps_a_chunk() -> None:
    tasks = _tasks({"BTCUSDT": 1000}, 300)
    chunks = plan_chunks(tasks, slots=2, batch=16)
    assert max(len(c.tasks) for c in chunks) <= 16
    _check_cover(tasks, chunks)


def test_a_single_group_is_still_spread_over_every_slot() -> None:
    tasks = _tasks({"BTCUSDT": 1000}, 40)
    chunks = plan_chunks(tasks, slots=4, batch=64)
    assert len(chunks) >= 4
    _check_cover(tasks, chunks)


def test_chunks_come_largest_first_and_the_long_symbol_is_cut_finer() -> None:
    # one symbol has 10x the bars: its chunks are the expensive ones and go first
    tasks = _tasks({"BTCUSDT": 10_000, "ETHUSDT": 1000, "BNBUSDT": 1000}, 24)
    chunks = plan_chunks(tasks, slots=2, batch=64)
    costs = [c.cost for c in chunks]
    assert costs == sorted(costs, reverse=True)
    assert chunks[0].tasks[0].data.symbol == "BTCUSDT"
    # largest-first ordering never does worse than the task order on the same chunks
    unordered = sorted(chunks, key=lambda c: c.tasks[0].task_id)
    assert makespan(chunks, 2) <= makespan(unordered, 2)
    # and is within the classic 4/3 bound of the best possible split
    assert makespan(chunks, 2) <= 4 / 3 * max(sum(costs) / 2, max(costs)) + 1e-9


def test_tiny_sweeps_get_one_task_per_chunk() -> None:
    tasks = _tasks({"BTCUSDT": 1000}, 3)
    chunks = plan_chunks(tasks, slots=8)
    assert [len(c.tasks) for c in chunks] == [1, 1, 1]


def test_bars_estimate_includes_warm_up_and_open_windows() -> None:
    assert (
        estimated_bars(
            tasks_for("sma_cross", [{}], [_ref("BTCUSDT", 500, 100)], list(WINDOWS), BacktestSpec())[0]
        )
        == 600
    )
    open_file = DataRef("BTCUSDT", "1h", "/data/BTCUSDT-1h.csv.gz", None, None, 50)
    task = tasks_for("sma_cross", [{}], [open_file], list(WINDOWS), BacktestSpec())[0]
    assert estimated_bars(task) > 50


def test_nothing_to_plan() -> None:
    assert plan_chunks([], slots=2) == []


@pytest.mark.parametrize(("slots", "batch", "waves"), [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_nonsense_sizes_are_refused(slots: int, batch: int, waves: int) -> None:
    with pytest.raises(ValueError):
        plan_chunks(_tasks({"BTCUSDT": 10}, 2), slots=slots, batch=batch, waves=waves)
