"""The sweep core: pure, picklable tasks in, metrics out, for any map engine.

A :class:`SweepTask` names everything one backtest needs (strategy and parameters, a data
recipe, the evaluation windows, the settings) and holds no data; :func:`run_one` turns it into
a :class:`SweepResult` holding metrics only (no equity curves, no trade lists), so results of
a large grid can be streamed and kept in bounded memory. :func:`run_batch` runs many tasks at
once: tasks that share candles and windows become rows of one compiled call and share every
indicator, which is where a sweep's speed comes from. A local process pool
(:mod:`binance_bot.backtest.optimize`) and a Spark job map exactly these two functions over
their partitions.

A task's windows are evaluated as independent accounts (each window starts flat with the
starting capital); indicators are warm from the start of the loaded candles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from binance_bot.backtest import kernel as kn
from binance_bot.backtest import metrics as mt
from binance_bot.backtest.data import DataRef
from binance_bot.backtest.fast import (
    RawRows,
    RowSpec,
    check_supported,
    signals,
    simulate_rows,
    unsupported_reason,
)
from binance_bot.backtest.market import SymbolData
from binance_bot.backtest.replay import replay_symbol
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.errors import BotError
from binance_bot.model.intervals import interval_ms
from binance_bot.strategy import make_strategy
from binance_bot.strategy.base import Strategy

_ROW_CHUNK_BYTES = 128 * 2**20


@dataclass(frozen=True, slots=True)
class Window:
    """An evaluation window ``[start_ms, end_ms)`` by bar open time, with a name."""

    name: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class SweepTask:
    """One parameter set on one symbol, evaluated on each of ``windows``."""

    task_id: int
    strategy: str
    params: tuple[tuple[str, Any], ...]
    data: DataRef
    windows: tuple[Window, ...]
    spec: BacktestSpec = field(default_factory=BacktestSpec)

    @property
    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def group(self) -> tuple[Any, ...]:
        """Tasks with equal groups share candles, windows and settings: one compiled call."""
        return (
            self.data,
            self.windows,
            self.spec.config.model_dump_json(),
            self.spec.matching,
            self.spec.capital,
        )


@dataclass(frozen=True)
class SweepResult:
    """Metrics per window (``{window name: {metric: value}}``), or why the task failed."""

    task_id: int
    symbol: str
    strategy: str
    params: dict[str, Any]
    metrics: dict[str, dict[str, float]]
    error: str | None = None
    replayed: bool = False

    def value(self, window: str, metric: str) -> float:
        if self.error is not None:
            return math.nan
        return float(self.metrics[window][metric])


def run_one(task: SweepTask) -> SweepResult:
    """Evaluate one task (see the module doc)."""
    return run_batch([task])[0]


def run_batch(tasks: Sequence[SweepTask]) -> list[SweepResult]:
    """Evaluate many tasks, in their order; tasks sharing a group share one compiled call."""
    out: dict[int, SweepResult] = {}
    groups: dict[tuple[Any, ...], list[SweepTask]] = {}
    for t in tasks:
        groups.setdefault(t.group, []).append(t)
    for members in groups.values():
        for result in _run_group(members):
            out[result.task_id] = result
    return [out[t.task_id] for t in tasks]


def _run_group(tasks: list[SweepTask]) -> Iterable[SweepResult]:
    first = tasks[0]
    spec, windows = first.spec, first.windows
    data = first.data.load()
    config = spec.config_for(data.interval)
    check_supported(spec)
    strategies: list[Strategy] = []
    valid: list[SweepTask] = []
    for t in tasks:
        try:
            strategies.append(make_strategy(t.strategy, t.param_dict))
            valid.append(t)
        except BotError as exc:
            yield SweepResult(t.task_id, data.symbol, t.strategy, t.param_dict, {}, error=str(exc))
    if not valid:
        return
    entries, exits = signals(data, strategies, config)
    spans = [(w, data.index_at(w.start_ms), data.index_at(w.end_ms)) for w in windows]
    rows = [RowSpec(0, j, a, b) for j in range(len(valid)) for _, a, b in spans]
    chunk = max(len(spans), (_ROW_CHUNK_BYTES // max(1, len(data) * 8)) // len(spans) * len(spans))
    results: dict[int, dict[str, dict[str, float]]] = {t.task_id: {} for t in valid}
    replayed: set[int] = set()
    spec_i = BacktestSpec(config, spec.matching, spec.capital)
    for c0 in range(0, len(rows), chunk):
        part = rows[c0 : c0 + chunk]
        raw = simulate_rows([data], part, [entries], [exits], spec_i)
        values = row_metrics(data, raw, spec_i)
        for j, row in enumerate(part):
            task = valid[row.signal]
            window = spans[(c0 + j) % len(spans)][0]
            if unsupported_reason(raw, j) is not None:
                run = replay_symbol(data.window(row.start, row.end), strategies[row.signal], spec_i)
                results[task.task_id][window.name] = mt.of_run(run).to_dict()
                replayed.add(task.task_id)
            else:
                results[task.task_id][window.name] = values[j]
    for t in valid:
        yield SweepResult(
            t.task_id,
            data.symbol,
            t.strategy,
            t.param_dict,
            results[t.task_id],
            replayed=t.task_id in replayed,
        )


def row_metrics(data: SymbolData, raw: RawRows, spec: BacktestSpec) -> list[dict[str, float]]:
    """Every metric of every row, straight from the compiled loop's integers (no ``Decimal``)."""
    u = raw.units[0]
    start = float(spec.capital)
    step = interval_ms(data.interval)
    per_year = mt.bars_per_year(step)
    out = []
    for j, row in enumerate(raw.rows):
        s = raw.summary[j]
        bars = row.end - row.start
        equity = u.equity_floats(raw.equity[j, row.start : row.end]) if bars else np.zeros(0)
        n = int(s[kn.S_TRADES])
        rec = raw.trades[j, :n]
        quote = 10.0**u.quote_places
        cost = rec[:, kn.T_COST] / quote
        pnl = (rec[:, kn.T_PROCEEDS] - rec[:, kn.T_COST]) / quote
        fees = float(
            np.sum(rec[:, kn.T_BUY_COMM] / 10.0**u.base_places * rec[:, kn.T_ENTRY_PRICE] * float(u.tick))
            + np.sum(rec[:, kn.T_SELL_COMM]) / quote
        )
        if s[kn.S_OPEN]:
            fees += s[kn.S_OPEN_COMM] / 10.0**u.base_places * s[kn.S_OPEN_PRICE] * float(u.tick)
        r = mt.returns(equity, start)
        cagr = float(mt.cagr(equity, start, per_year))
        mdd = float(mt.max_drawdown(equity, start))
        mdd_bars = int(mt.max_drawdown_bars(equity, start))
        t = mt.trade_stats(pnl, cost)
        out.append(
            mt.Metrics(
                start_equity=start,
                final_equity=float(equity[-1]) if bars else start,
                total_return=float(mt.total_return(equity, start)),
                cagr=cagr,
                sharpe=float(mt.sharpe(r, per_year)),
                sortino=float(mt.sortino(r, per_year)),
                calmar=float(mt.calmar(np.asarray(cagr), np.asarray(mdd))),
                max_drawdown=mdd,
                max_drawdown_bars=mdd_bars,
                max_drawdown_days=mdd_bars * step / mt.DAY_MS,
                trades=n,
                wins=int(t["wins"]),
                losses=int(t["losses"]),
                win_rate=float(t["win_rate"]),
                profit_factor=float(t["profit_factor"]),
                expectancy=float(t["expectancy"]),
                average_trade=float(t["average_trade"]),
                exposure=float(s[kn.S_EXPOSURE]) / bars if bars else 0.0,
                fees_paid=fees,
                bars=bars,
                years=bars / per_year,
            ).to_dict()
        )
    return out


def tasks_for(
    strategy: str,
    points: Sequence[Mapping[str, Any]],
    datas: Sequence[DataRef],
    windows: Sequence[Window],
    spec: BacktestSpec,
    *,
    first_id: int = 0,
) -> list[SweepTask]:
    """One task per (symbol, parameter set), ids counting from ``first_id``."""
    out = []
    k = first_id
    for params in points:
        for ref in datas:
            out.append(SweepTask(k, strategy, tuple(sorted(params.items())), ref, tuple(windows), spec))
            k += 1
    return out
