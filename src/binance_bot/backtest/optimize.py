"""Parameter optimisation with honest out-of-sample numbers.

Parameters are chosen on in-sample data only and reported on data the choice never saw:

* ``split`` (train/test): the period is cut at a fraction; the ranking uses the in-sample
  window, the out-of-sample result of every parameter set is printed beside it;
* ``walk_forward N`` (anchored): the period is cut into ``N + 1`` equal segments; fold ``k``
  chooses on segments ``0..k-1`` and is scored on segment ``k``; the out-of-sample segments
  chained together are the strategy's honest record.

Search methods: ``grid`` (every point), ``random`` (a seeded sample of the grid) and ``optuna``
(TPE over the same ranges, when optuna is installed). The objective is a metric name
(``sharpe``, ``sortino``, ``calmar``, ``total_return``, ``cagr``, ``profit_factor``,
``win_rate``, ``expectancy``), averaged over the symbols. Evaluations stream back from a
local process pool (``spawn``, one torch and numba thread per worker) as
:class:`~binance_bot.backtest.sweep.SweepResult` metrics only, so memory stays bounded
whatever the grid's size.
"""

from __future__ import annotations

import itertools
import math
import os
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

import numpy as np

from binance_bot.backtest.data import DataRef
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.backtest.sweep import SweepResult, SweepTask, Window, run_batch, tasks_for
from binance_bot.errors import ConfigError

OBJECTIVES = (
    "sharpe",
    "sortino",
    "calmar",
    "total_return",
    "cagr",
    "profit_factor",
    "win_rate",
    "expectancy",
)
Progress = Callable[[int, int], None]


# ---------------------------------------------------------------------------------- grids
def parse_grid(text: str) -> dict[str, list[float | int]]:
    """``fast=5:50:5,slow=20:200:20`` (inclusive ranges) or ``fast=5|8|13`` (a list)."""
    grid: dict[str, list[float | int]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, spec = part.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--grid: expected name=start:stop:step, got {part!r}", key="grid")
        name = name.strip()
        try:
            if ":" in spec:
                a, b, s = (float(x) for x in spec.split(":"))
                if s <= 0 or b < a:
                    raise ValueError
                n = math.floor((b - a) / s + 1e-9) + 1
                values = [a + i * s for i in range(n)]
            else:
                values = [float(x) for x in spec.split("|")]
        except ValueError:
            raise ConfigError(f"--grid: cannot read the range of {name!r}: {spec!r}", key="grid") from None
        grid[name] = [int(v) if float(v).is_integer() else round(v, 10) for v in values]
    if not grid:
        raise ConfigError("--grid is empty", key="grid")
    return grid


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(grid[n] for n in names))]


def random_points(grid: Mapping[str, Sequence[Any]], n: int, seed: int = 0) -> list[dict[str, Any]]:
    points = grid_points(grid)
    if n >= len(points):
        return points
    return random.Random(seed).sample(points, n)


# ---------------------------------------------------------------------------------- windows
def split_windows(
    start_ms: int, end_ms: int, fraction: float | None, at_ms: int | None = None
) -> tuple[Window, Window]:
    """In-sample before the cut, out-of-sample after: the cut is ``at_ms`` when given, else
    the ``fraction`` of the period."""
    if at_ms is not None:
        if not start_ms < at_ms < end_ms:
            raise ConfigError("--split date must fall inside the period", key="split")
        cut = at_ms
    else:
        if fraction is None or not 0 < fraction < 1:
            raise ConfigError(f"--split must be between 0 and 1 or a date, got {fraction}", key="split")
        cut = start_ms + int((end_ms - start_ms) * fraction)
    return Window("in_sample", start_ms, cut), Window("out_of_sample", cut, end_ms)


def walk_forward_windows(start_ms: int, end_ms: int, folds: int) -> list[tuple[Window, Window]]:
    """Anchored folds: fold ``k`` trains on segments ``0..k-1`` and tests on segment ``k``."""
    if folds < 1:
        raise ConfigError(f"--walk-forward needs at least 1 fold, got {folds}", key="walk_forward")
    edges = [start_ms + (end_ms - start_ms) * k // (folds + 1) for k in range(folds + 2)]
    return [
        (Window(f"fold{k}:in", edges[0], edges[k]), Window(f"fold{k}:out", edges[k], edges[k + 1]))
        for k in range(1, folds + 1)
    ]


# ---------------------------------------------------------------------------------- engines
def _init_worker() -> None:
    """One thread per library in each worker: the pool is the parallelism."""
    os.environ["OMP_NUM_THREADS"] = "1"
    import numba
    import torch

    torch.set_num_threads(1)
    numba.set_num_threads(1)


POOL_MIN_WORK = 20_000_000
"""Bar-evaluations below which a process pool costs more (starting Python, torch and the
compiled loop in every worker: seconds) than it saves; the compiled loop already runs the
rows of one batch on every core."""


class LocalEngine:
    """Runs batches of sweep tasks in this process or a ``spawn`` process pool."""

    def __init__(self, workers: int | None = None, *, min_work: int = POOL_MIN_WORK) -> None:
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.min_work = min_work

    def map(
        self,
        tasks: Sequence[SweepTask],
        *,
        batch: int = 64,
        work: int | None = None,
        progress: Progress | None = None,
    ) -> Iterator[SweepResult]:
        """Results as they complete (any order); tasks go in batches of ``batch``. ``work`` is
        the estimated bar-evaluations of all tasks (a pool is started only above ``min_work``)."""
        batches = [tasks[i : i + batch] for i in range(0, len(tasks), batch)]
        done = 0
        small = work is not None and work < self.min_work
        if self.workers <= 1 or len(batches) <= 1 or small:
            for b in batches:
                yield from run_batch(b)
                done += len(b)
                if progress:
                    progress(done, len(tasks))
            return
        ctx = get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker) as pool:
            pending: set[Future[list[SweepResult]]] = set()
            queue = iter(batches)
            for b in itertools.islice(queue, self.workers * 2):
                pending.add(pool.submit(run_batch, b))
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    results = f.result()
                    yield from results
                    done += len(results)
                    if progress:
                        progress(done, len(tasks))
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending.add(pool.submit(run_batch, nxt))


# ---------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Candidate:
    """One parameter set: its metrics per window, averaged over the symbols."""

    params: dict[str, Any]
    metrics: dict[str, dict[str, float]]
    errors: tuple[str, ...] = ()
    replayed: bool = False

    def score(self, window: str, objective: str) -> float:
        value = self.metrics.get(window, {}).get(objective, math.nan)
        return -math.inf if math.isnan(value) else value


@dataclass(frozen=True)
class Fold:
    """A walk-forward fold: the choice made in sample and how it did out of sample."""

    name: str
    in_window: Window
    out_window: Window
    best: Candidate


@dataclass
class OptimizeResult:
    strategy: str
    method: str
    objective: str
    symbols: list[str]
    grid: dict[str, list[Any]]
    windows: list[Window]
    candidates: list[Candidate] = field(default_factory=list)
    folds: list[Fold] = field(default_factory=list)
    evaluated: int = 0
    invalid: int = 0

    @property
    def ranking_window(self) -> str:
        return "in_sample" if not self.folds else self.folds[-1].in_window.name

    def ranked(self, window: str | None = None) -> list[Candidate]:
        w = window or self.ranking_window
        return sorted(self.candidates, key=lambda c: c.score(w, self.objective), reverse=True)

    def chained_out_of_sample(self) -> dict[str, float]:
        """Walk-forward: the folds' out-of-sample results chained (returns compounded)."""
        if not self.folds:
            return {}
        growth = 1.0
        trades = 0.0
        for f in self.folds:
            m = f.best.metrics.get(f.out_window.name, {})
            growth *= 1.0 + m.get("total_return", 0.0)
            trades += m.get("trades", 0.0)
        return {"total_return": growth - 1.0, "trades": trades}


def _average(results: Sequence[SweepResult]) -> Candidate:
    """Metrics of one parameter set averaged over its symbols (counts summed)."""
    errors = tuple(r.error for r in results if r.error)
    ok = [r for r in results if r.error is None]
    metrics: dict[str, dict[str, float]] = {}
    if ok:
        for window in ok[0].metrics:
            keys = ok[0].metrics[window].keys()
            metrics[window] = {}
            for k in keys:
                values = np.array([r.metrics[window][k] for r in ok], dtype=np.float64)
                if k in ("trades", "wins", "losses", "fees_paid", "bars"):
                    metrics[window][k] = float(values.sum())
                else:
                    finite = values[np.isfinite(values)]
                    inf = values[np.isinf(values)]
                    metrics[window][k] = (
                        float(finite.mean()) if finite.size else (float(inf[0]) if inf.size else math.nan)
                    )
    return Candidate(results[0].params, metrics, errors, any(r.replayed for r in results))


def _collect(results: Iterator[SweepResult], n_symbols: int) -> tuple[list[Candidate], int]:
    by_params: dict[tuple[tuple[str, Any], ...], list[SweepResult]] = {}
    for r in results:
        by_params.setdefault(tuple(sorted(r.params.items())), []).append(r)
    candidates, invalid = [], 0
    for members in by_params.values():
        c = _average(members)
        if c.errors and not c.metrics:
            invalid += 1
        else:
            candidates.append(c)
    return candidates, invalid


def optimize(
    strategy: str,
    datas: Sequence[DataRef],
    grid: Mapping[str, Sequence[Any]],
    *,
    start_ms: int,
    end_ms: int,
    spec: BacktestSpec | None = None,
    method: str = "grid",
    objective: str = "sharpe",
    split: float | None = 0.7,
    split_at: int | None = None,
    walk_forward: int | None = None,
    trials: int = 50,
    seed: int = 0,
    engine: LocalEngine | None = None,
    progress: Progress | None = None,
) -> OptimizeResult:
    """Search ``grid`` for ``strategy`` on ``datas`` (see the module doc)."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"--objective must be one of {', '.join(OBJECTIVES)}", key="objective")
    spec = spec or BacktestSpec()
    engine = engine or LocalEngine()
    if walk_forward:
        folds = walk_forward_windows(start_ms, end_ms, walk_forward)
        windows = [w for pair in folds for w in pair]
    else:
        pair = split_windows(start_ms, end_ms, split if split is not None else 0.7, split_at)
        folds = []
        windows = list(pair)
    result = OptimizeResult(strategy, method, objective, [d.symbol for d in datas], dict(grid), windows)
    if method == "optuna":
        result.candidates, result.invalid = _optuna(
            strategy, datas, grid, windows, spec, objective, trials, seed, engine, progress
        )
    else:
        if method == "grid":
            points = grid_points(grid)
        elif method == "random":
            points = random_points(grid, trials, seed)
        else:
            raise ConfigError(f"--method must be grid, random or optuna, got {method!r}", key="method")
        tasks = tasks_for(strategy, points, datas, windows, spec)
        work = len(points) * sum(len(d.load()) for d in datas) * len(windows)
        result.candidates, result.invalid = _collect(
            engine.map(tasks, work=work, progress=progress), len(datas)
        )
    result.evaluated = len(result.candidates)
    for fin, fout in folds:
        best = max(result.candidates, key=lambda c: c.score(fin.name, objective), default=None)
        if best is not None:
            result.folds.append(Fold(fin.name.split(":")[0], fin, fout, best))
    return result


def _optuna(
    strategy: str,
    datas: Sequence[DataRef],
    grid: Mapping[str, Sequence[Any]],
    windows: list[Window],
    spec: BacktestSpec,
    objective: str,
    trials: int,
    seed: int,
    engine: LocalEngine,
    progress: Progress | None,
) -> tuple[list[Candidate], int]:
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "--method optuna needs the optuna package (pip install optuna)", key="method"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    ranking = windows[-2].name if len(windows) > 2 else windows[0].name
    candidates: list[Candidate] = []
    invalid = 0
    seen: dict[tuple[tuple[str, Any], ...], Candidate | None] = {}
    per_round = max(1, engine.workers) * 4
    done = 0
    while done < trials:
        asked = [study.ask() for _ in range(min(per_round, trials - done))]
        points = []
        for trial in asked:
            points.append(
                {name: trial.suggest_categorical(name, list(values)) for name, values in grid.items()}
            )
        fresh = [p for p in points if tuple(sorted(p.items())) not in seen]
        unique = list({tuple(sorted(p.items())): p for p in fresh}.values())
        tasks = tasks_for(strategy, unique, datas, windows, spec, first_id=done * len(datas))
        work = len(unique) * sum(len(d.load()) for d in datas) * len(windows)
        got, bad = _collect(engine.map(tasks, work=work), len(datas))
        invalid += bad
        for c in got:
            seen[tuple(sorted(c.params.items()))] = c
            candidates.append(c)
        for p in unique:
            seen.setdefault(tuple(sorted(p.items())), None)
        for trial, p in zip(asked, points, strict=True):
            c = seen.get(tuple(sorted(p.items())))
            value = c.score(ranking, objective) if c is not None else -math.inf
            study.tell(trial, value if math.isfinite(value) else -1e9)
        done += len(asked)
        if progress:
            progress(done, trials)
    return candidates, invalid
