"""The sweep core (picklable tasks, metrics only) and the optimiser's windows and search."""

from __future__ import annotations

import math
import pickle

import pytest
from tests.unit.backtest.helpers import config

from binance_bot.backtest import metrics as mt
from binance_bot.backtest.data import DataRef
from binance_bot.backtest.fast import run_fast
from binance_bot.backtest.optimize import (
    LocalEngine,
    optimize,
    parse_grid,
    random_points,
    split_windows,
    walk_forward_windows,
)
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.backtest.sweep import SweepTask, Window, run_batch, run_one, tasks_for
from binance_bot.errors import ConfigError
from binance_bot.strategy import make_strategy

HOUR = 3_600_000
T0 = 1_704_067_200_000
REF = DataRef("BTCUSDT", "1h", None, T0, T0 + 3000 * HOUR, 300, seed=3)
SPEC = BacktestSpec(config("1h", trend="4h", trading={"stop_loss_margin": "0.02"}))
WINDOWS = (
    Window("in_sample", T0, T0 + 2000 * HOUR),
    Window("out_of_sample", T0 + 2000 * HOUR, T0 + 3000 * HOUR),
)


def test_a_task_gives_the_metrics_of_a_full_backtest_of_each_window() -> None:
    task = SweepTask(7, "sma_cross", (("fast", 10), ("slow", 40)), REF, WINDOWS, SPEC)
    result = run_one(task)
    assert result.error is None and result.task_id == 7
    data = REF.load()
    strategy = make_strategy("sma_cross", {"fast": 10, "slow": 40})
    for w in WINDOWS:
        window = data.window(data.index_at(w.start_ms), data.index_at(w.end_ms))
        run = run_fast([window], [strategy], SPEC, fallback=False)[0][0]
        expected = mt.of_run(run).to_dict()
        got = result.metrics[w.name]
        assert got["trades"] == expected["trades"] > 5
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, rel=1e-9, nan_ok=True), key


def test_tasks_and_results_survive_pickling_and_batches_keep_order() -> None:
    tasks = tasks_for(
        "sma_cross",
        [{"fast": 5, "slow": 20}, {"fast": 30, "slow": 20}, {"fast": 8, "slow": 60}],
        [REF],
        WINDOWS,
        SPEC,
    )
    assert pickle.loads(pickle.dumps(tasks)) == tasks
    results = run_batch(list(reversed(tasks)))
    assert [r.task_id for r in results] == [2, 1, 0]
    assert pickle.loads(pickle.dumps(results))[0].metrics == results[0].metrics
    invalid = results[1]
    assert invalid.error is not None and "fast" in invalid.error and invalid.metrics == {}
    assert math.isnan(invalid.value("in_sample", "sharpe"))


def test_grid_parsing() -> None:
    grid = parse_grid("fast=5:50:5,slow=20:200:20")
    assert grid == {"fast": list(range(5, 55, 5)), "slow": list(range(20, 220, 20))}
    assert parse_grid("stop=0.01:0.03:0.01")["stop"] == [0.01, 0.02, 0.03]
    assert parse_grid("fast=5|8|13")["fast"] == [5, 8, 13]
    with pytest.raises(ConfigError):
        parse_grid("fast=5:1:1")
    with pytest.raises(ConfigError):
        parse_grid("fast")
    points = random_points(grid, 7, seed=1)
    assert len(points) == 7 and random_points(grid, 7, seed=1) == points


def test_windows() -> None:
    a, b = split_windows(0, 1000, 0.7)
    assert (a.start_ms, a.end_ms, b.start_ms, b.end_ms) == (0, 700, 700, 1000)
    a, b = split_windows(0, 1000, None, 400)
    assert (a.end_ms, b.start_ms) == (400, 400)
    with pytest.raises(ConfigError):
        split_windows(0, 1000, None, 1000)
    folds = walk_forward_windows(0, 400, 3)
    assert [(i.start_ms, i.end_ms, o.start_ms, o.end_ms) for i, o in folds] == [
        (0, 100, 100, 200),
        (0, 200, 200, 300),
        (0, 300, 300, 400),
    ]


def test_optimize_ranks_in_sample_and_reports_out_of_sample() -> None:
    grid = parse_grid("fast=5:20:5,slow=10:40:10")
    res = optimize(
        "sma_cross", [REF], grid, start_ms=T0, end_ms=T0 + 3000 * HOUR, spec=SPEC, engine=LocalEngine(1)
    )
    assert res.evaluated + res.invalid == 16 and res.invalid == 4  # fast >= slow is refused
    ranked = res.ranked()
    scores = [c.score("in_sample", "sharpe") for c in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all({"in_sample", "out_of_sample"} <= set(c.metrics) for c in ranked)


def test_walk_forward_picks_each_fold_in_sample() -> None:
    grid = parse_grid("fast=5:20:5,slow=30:60:30")
    res = optimize(
        "sma_cross",
        [REF],
        grid,
        start_ms=T0,
        end_ms=T0 + 3000 * HOUR,
        spec=SPEC,
        walk_forward=2,
        objective="total_return",
        engine=LocalEngine(1),
    )
    assert [f.name for f in res.folds] == ["fold1", "fold2"]
    for fold in res.folds:
        best = max(c.score(fold.in_window.name, "total_return") for c in res.candidates)
        assert fold.best.score(fold.in_window.name, "total_return") == best
    chained = res.chained_out_of_sample()
    expected = math.prod(1 + f.best.metrics[f.out_window.name]["total_return"] for f in res.folds) - 1
    assert chained["total_return"] == pytest.approx(expected)


def test_a_process_pool_gives_the_same_results() -> None:
    tasks = tasks_for("sma_cross", [{"fast": f, "slow": 40} for f in (5, 10, 15, 20)], [REF], WINDOWS, SPEC)
    local = {r.task_id: r.metrics for r in LocalEngine(1).map(tasks, batch=2)}
    pooled = {r.task_id: r.metrics for r in LocalEngine(2).map(tasks, batch=2)}
    assert pooled == local


def test_optuna_searches_the_grid_values() -> None:
    pytest.importorskip("optuna")
    grid = parse_grid("fast=5:20:5,slow=30:60:30")
    res = optimize(
        "sma_cross",
        [REF],
        grid,
        start_ms=T0,
        end_ms=T0 + 3000 * HOUR,
        spec=SPEC,
        method="optuna",
        trials=6,
        engine=LocalEngine(1),
    )
    assert 1 <= res.evaluated <= 6
    for c in res.candidates:
        assert c.params["fast"] in grid["fast"] and c.params["slow"] in grid["slow"]
        assert {"in_sample", "out_of_sample"} <= set(c.metrics)
