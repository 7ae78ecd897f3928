"""Tasks and results survive the trip through flat rows unchanged."""

from __future__ import annotations

import math

import pandas as pd

from binance_bot.backtest.data import DataRef
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.backtest.sweep import SweepResult, Window, tasks_for
from binance_bot.distributed.processor import expand_params, grid_points, results_table
from binance_bot.distributed.rows import (
    METRICS,
    RESULT_COLUMNS,
    RESULT_DDL,
    TASK_COLUMNS,
    contexts_of,
    params_from_json,
    params_json,
    results_frame,
    results_from_rows,
    task_row,
    tasks_from_frame,
)

H = 3_600_000
START = 1_704_067_200_000


def _metrics(seed: float) -> dict[str, float | int]:
    out: dict[str, float | int] = {}
    for i, (name, kind) in enumerate(METRICS):
        out[name] = i + int(seed) if kind == "bigint" else seed / (i + 3)
    return out


def test_task_rows_round_trip_to_equal_tasks() -> None:
    refs = [DataRef(s, "1h", None, START, START + 500 * H, 100) for s in ("BTCUSDT", "ETHUSDT")]
    windows = [Window("a", START, START + 200 * H), Window("b", START + 200 * H, START + 500 * H)]
    grid = [{"fast": 5, "slow": 20}, {"fast": 8, "slow": 21.5}, {"slow": 30, "fast": 3}]
    tasks = tasks_for(
        "sma_cross", grid, refs, windows, BacktestSpec(capital=__import__("decimal").Decimal("250"))
    )
    contexts, of_task = contexts_of(tasks)
    assert len(contexts) == 2  # one per symbol: the spec and windows are shared
    frame = pd.DataFrame([task_row(7, t, of_task[t.task_id]) for t in tasks], columns=list(TASK_COLUMNS))
    back = tasks_from_frame(frame, contexts)
    assert back == tasks
    assert [t.group for t in back] == [t.group for t in tasks]


def test_parameters_keep_their_order_and_number_types() -> None:
    params = (("a", 1), ("b", 0.1 + 0.2), ("c", 1e-17), ("d", 10**15))
    back = params_from_json(params_json(params))
    assert back == params
    assert [type(v) for _, v in back] == [int, float, float, int]


def test_results_round_trip_with_nan_inf_errors_and_several_windows() -> None:
    m1, m2 = _metrics(1.5), _metrics(2.0)
    m1["profit_factor"] = math.inf
    m2["sharpe"] = math.nan
    results = [
        SweepResult(3, "BTCUSDT", "sma_cross", {"fast": 5, "slow": 20}, {"in": m1, "out": m2}, replayed=True),
        SweepResult(4, "BTCUSDT", "sma_cross", {"fast": 30, "slow": 20}, {}, error="fast must be < slow"),
        SweepResult(5, "ETHUSDT", "sma_cross", {"fast": 6, "slow": 20}, {"in": m2}),
    ]
    params = {r.task_id: params_json(tuple(r.params.items())) for r in results}
    frame = results_frame(results, params)
    assert list(frame.columns) == list(RESULT_COLUMNS)
    assert len(frame) == 4  # two windows, one error row, one window
    back = results_from_rows(frame.to_dict("records"))
    assert [r.task_id for r in back] == [3, 4, 5]
    assert back[1].error == "fast must be < slow" and back[1].metrics == {}
    assert back[0].replayed and not back[2].replayed
    for got, want in zip(back, results, strict=True):
        assert got.params == want.params
        assert got.metrics.keys() == want.metrics.keys()
        for w in want.metrics:
            for k, v in want.metrics[w].items():
                g = got.metrics[w][k]
                assert type(g) is type(v)
                assert g == v or (math.isnan(g) and math.isnan(v))


def test_the_schema_lists_every_metric_with_its_type() -> None:
    for name, kind in METRICS:
        assert f"{name} {kind}" in RESULT_DDL
    kinds = dict(METRICS)
    assert kinds["trades"] == "bigint" and kinds["sharpe"] == "double"


def test_grid_points_and_parameter_columns() -> None:
    assert grid_points({"fast": [5, 8], "slow": [20]}) == [{"fast": 5, "slow": 20}, {"fast": 8, "slow": 20}]
    assert grid_points([{"x": 1}]) == [{"x": 1}]
    results = [SweepResult(1, "BTCUSDT", "s", {"fast": 5, "trades": 2}, {"all": _metrics(1.0)})]
    table = results_table(results)
    assert table.loc[0, "fast"] == 5
    assert table.loc[0, "param_trades"] == 2  # a parameter named like a metric gets a prefix
    assert expand_params(table.iloc[0:0]).empty
