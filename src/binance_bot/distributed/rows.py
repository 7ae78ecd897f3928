"""Sweep tasks and results as flat rows, the shape they travel in between driver and workers.

A task row carries only what differs between tasks (id, strategy, parameters as JSON, the
symbol for readability) and the index of its *context*: the candle recipe, windows and
settings shared by a whole group, which go to every executor once as a broadcast variable. So
a sweep of a million parameter sets moves a million small rows, not a million copies of the
bot's configuration. A result row is one (task, window) with one typed column per metric of
:class:`~binance_bot.backtest.metrics.Metrics`, which makes the output a plain table: sortable
and filterable in Spark SQL, writable to Parquet.

Pure: pandas only. The DDL strings are what ``mapInPandas`` takes as its schema.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from binance_bot.backtest.data import DataRef
from binance_bot.backtest.metrics import Metrics
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.backtest.sweep import SweepResult, SweepTask, Window

Context = tuple[DataRef, tuple[Window, ...], BacktestSpec]

TASK_COLUMNS = ("chunk", "task_id", "context", "symbol", "strategy", "params")
TASK_DDL = "chunk int, task_id bigint, context int, symbol string, strategy string, params string"
KEY_COLUMNS = ("task_id", "symbol", "strategy", "params", "window", "error", "replayed")


def metric_fields() -> list[tuple[str, str]]:
    """``(name, 'bigint' | 'double')`` for every metric, in the dataclass's order."""
    out = []
    for f in dataclasses.fields(Metrics):
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "float")
        out.append((f.name, "bigint" if kind == "int" else "double"))
    return out


METRICS = metric_fields()
RESULT_DDL = ", ".join(
    [
        "task_id bigint",
        "symbol string",
        "strategy string",
        "params string",
        "window string",
        "error string",
        "replayed boolean",
        *(f"{name} {kind}" for name, kind in METRICS),
    ]
)
RESULT_COLUMNS = (*KEY_COLUMNS, *(name for name, _ in METRICS))


def params_json(params: Sequence[tuple[str, Any]]) -> str:
    """A task's parameters as JSON pairs, in their order (JSON numbers round-trip exactly)."""
    return json.dumps([[k, v] for k, v in params])


def params_from_json(text: str) -> tuple[tuple[str, Any], ...]:
    return tuple((str(k), v) for k, v in json.loads(text))


def contexts_of(tasks: Iterable[SweepTask]) -> tuple[list[Context], dict[int, int]]:
    """The distinct contexts and, per task id, the index of its own."""
    index: dict[tuple[Any, ...], int] = {}
    contexts: list[Context] = []
    of_task: dict[int, int] = {}
    for t in tasks:
        key = t.group
        if key not in index:
            index[key] = len(contexts)
            contexts.append((t.data, t.windows, t.spec))
        of_task[t.task_id] = index[key]
    return contexts, of_task


def task_row(chunk: int, task: SweepTask, context: int) -> tuple[int, int, int, str, str, str]:
    return (chunk, task.task_id, context, task.data.symbol, task.strategy, params_json(task.params))


def tasks_from_frame(frame: pd.DataFrame, contexts: Sequence[Context]) -> list[SweepTask]:
    """Task rows back into :class:`SweepTask` objects equal to the driver's."""
    out = []
    for task_id, context, strategy, params in zip(
        frame["task_id"], frame["context"], frame["strategy"], frame["params"], strict=True
    ):
        data, windows, spec = contexts[int(context)]
        out.append(SweepTask(int(task_id), str(strategy), params_from_json(str(params)), data, windows, spec))
    return out


def results_frame(results: Iterable[SweepResult], params: Mapping[int, str]) -> pd.DataFrame:
    """One row per (task, window); a failed task is one row with its error and no metrics.
    ``params`` maps task ids to their JSON (the task's own text, so it survives unchanged)."""
    records: list[dict[str, Any]] = []
    for r in results:
        base = {
            "task_id": r.task_id,
            "symbol": r.symbol,
            "strategy": r.strategy,
            "params": params[r.task_id],
            "error": r.error,
            "replayed": bool(r.replayed),
        }
        if r.error is not None or not r.metrics:
            records.append({**base, "window": None})
            continue
        for window, values in r.metrics.items():
            records.append({**base, "window": window, **{name: values[name] for name, _ in METRICS}})
    frame = pd.DataFrame.from_records(records, columns=list(RESULT_COLUMNS))
    for name, kind in METRICS:
        frame[name] = frame[name].astype("Int64" if kind == "bigint" else "float64")
    frame["task_id"] = frame["task_id"].astype("int64")
    frame["replayed"] = frame["replayed"].astype(bool)
    for name in ("symbol", "strategy", "params", "window", "error"):
        frame[name] = frame[name].astype(object)
    return frame


def _missing(v: Any) -> bool:
    """A null from Spark (``None``) or from pandas (``NaN``/``NA`` in an object column)."""
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _value(kind: str, v: Any) -> float | int:
    if _missing(v):
        return math.nan
    return int(v) if kind == "bigint" else float(v)


def results_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[SweepResult]:
    """Result rows back into :class:`SweepResult` objects, rows of one task being adjacent."""
    out: list[SweepResult] = []
    current: dict[str, Any] | None = None
    for row in rows:
        task_id = int(row["task_id"])
        if current is None or current["task_id"] != task_id:
            if current is not None:
                out.append(_result(current))
            current = {
                "task_id": task_id,
                "symbol": row["symbol"],
                "strategy": row["strategy"],
                "params": dict(params_from_json(row["params"])),
                "error": None if _missing(row["error"]) else str(row["error"]),
                "replayed": bool(row["replayed"]),
                "metrics": {},
            }
        if not _missing(row["window"]):
            current["metrics"][row["window"]] = {name: _value(kind, row[name]) for name, kind in METRICS}
    if current is not None:
        out.append(_result(current))
    return out


def _result(d: dict[str, Any]) -> SweepResult:
    return SweepResult(
        d["task_id"],
        d["symbol"],
        d["strategy"],
        d["params"],
        d["metrics"],
        error=d["error"],
        replayed=d["replayed"],
    )


__all__ = [
    "KEY_COLUMNS",
    "METRICS",
    "RESULT_COLUMNS",
    "RESULT_DDL",
    "TASK_COLUMNS",
    "TASK_DDL",
    "Context",
    "contexts_of",
    "metric_fields",
    "params_from_json",
    "params_json",
    "results_frame",
    "results_from_rows",
    "task_row",
    "tasks_from_frame",
]
