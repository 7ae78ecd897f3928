"""One backtest of a strategy over several symbols, with either engine, and its JSON form.

Each symbol trades in its own account (see :mod:`binance_bot.backtest.spec`); the portfolio
line adds the accounts' equity curves up (a symbol's curve holds its last value between its
own bars, and its starting capital before its first one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from binance_bot.backtest import metrics as mt
from binance_bot.backtest.fast import run_fast
from binance_bot.backtest.market import SymbolData
from binance_bot.backtest.replay import replay_symbol
from binance_bot.backtest.result import SymbolRun
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.errors import ConfigError
from binance_bot.model.intervals import interval_ms
from binance_bot.model.numbers import ZERO
from binance_bot.strategy.base import Strategy

ENGINES = ("fast", "replay")


@dataclass
class BacktestResult:
    strategy: str
    params: dict[str, Any]
    engine: str
    interval: str
    spec: BacktestSpec
    runs: list[SymbolRun]
    data: list[SymbolData] = field(default_factory=list, repr=False)

    @property
    def start_capital(self) -> Decimal:
        return sum((r.start_capital for r in self.runs), ZERO)

    @property
    def final_equity(self) -> Decimal:
        return sum((r.final_equity for r in self.runs), ZERO)

    def portfolio_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """Decision times of every symbol's bars, and the accounts' equity summed at each."""
        times = (
            np.unique(np.concatenate([r.times for r in self.runs])) if self.runs else np.zeros(0, np.int64)
        )
        total = np.zeros(len(times))
        for r in self.runs:
            if not len(r.times):
                total += float(r.start_capital)
                continue
            idx = np.searchsorted(r.times, times, side="right") - 1
            total += np.where(idx >= 0, r.equity[np.maximum(idx, 0)], float(r.start_capital))
        return times, total

    def metrics(self) -> dict[str, mt.Metrics]:
        """Per symbol, and ``portfolio`` for the accounts together."""
        out = {r.symbol: mt.of_run(r) for r in self.runs}
        times, equity = self.portfolio_curve()
        if times.size:
            in_position = np.zeros(len(times), dtype=bool)
            for r in self.runs:
                if len(r.times):
                    idx = np.searchsorted(r.times, times, side="right") - 1
                    in_position |= np.where(idx >= 0, r.in_position[np.maximum(idx, 0)], False)
            trades = [t for r in self.runs for t in r.trades]
            out["portfolio"] = mt.compute(
                equity,
                float(self.start_capital),
                interval_ms(self.interval),
                pnl=[float(t.pnl) for t in trades],
                cost=[float(t.cost) for t in trades],
                in_position=in_position,
                fees_paid=float(sum((r.fees_paid for r in self.runs), ZERO)),
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values; money as exact decimal text."""
        return {
            "strategy": self.strategy,
            "params": self.params,
            "engine": self.engine,
            "interval": self.interval,
            "capital_per_symbol": str(self.spec.capital),
            "fill_model": {
                "maker_fee": str(self.spec.matching.maker_fee),
                "taker_fee": str(self.spec.matching.taker_fee),
                "slippage_bps": str(self.spec.matching.slippage_bps),
                "touch_fills": self.spec.matching.touch_fills,
            },
            "config": {k: v for k, v in self.spec.config.to_dict().items() if k in ("trading", "risk")},
            "start_capital": str(self.start_capital),
            "final_equity": str(self.final_equity),
            "metrics": {k: json_safe(v.to_dict()) for k, v in self.metrics().items()},
            "symbols": [_run_dict(r) for r in self.runs],
        }


def json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null and the strings "inf"/"-inf"."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        v = float(value)
        if np.isnan(v):
            return None
        if np.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(value, np.integer):
        return int(value)
    return value


def _run_dict(r: SymbolRun) -> dict[str, Any]:
    return {
        "symbol": r.symbol,
        "source": r.source,
        "engine": r.engine,
        "first_bar_close": int(r.times[0] - 1) if len(r.times) else None,
        "last_bar_close": int(r.times[-1] - 1) if len(r.times) else None,
        "bars": len(r.times),
        "start_capital": str(r.start_capital),
        "final_equity": str(r.final_equity),
        "fees_paid": str(r.fees_paid),
        "kill_switch": None if r.kill is None else {"time": r.kill.time, "reason": r.kill.reason},
        "open_position": None
        if r.open_position is None
        else {
            "entry_time": r.open_position.entry_time,
            "entry_price": str(r.open_position.entry_price),
            "qty": str(r.open_position.qty),
            "held": str(r.open_position.held),
            "cost": str(r.open_position.cost),
        },
        "notes": list(r.notes),
        "trades": [
            {
                "entry_time": t.entry_time,
                "exit_time": t.exit_time,
                "entry_price": str(t.entry_price),
                "exit_price": str(t.exit_price),
                "qty": str(t.qty),
                "cost": str(t.cost),
                "proceeds": str(t.proceeds),
                "pnl": str(t.pnl),
                "fees_quote": str(t.fees_quote),
                "exit_reason": t.exit_reason,
            }
            for t in r.trades
        ],
    }


def backtest(
    datas: Sequence[SymbolData],
    strategy: Strategy,
    spec: BacktestSpec | None = None,
    *,
    engine: str = "fast",
    progress: Callable[[str, int, int], None] | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` on every symbol of ``datas`` with the ``fast`` or ``replay`` engine.

    ``progress(stage, done, total)`` is told how far the run is (bars for the replay, symbols
    for the fast path).
    """
    if engine not in ENGINES:
        raise ConfigError(f"--engine must be fast or replay, got {engine!r}", key="engine")
    if not datas:
        raise ConfigError("nothing to backtest: no symbols", key="symbols")
    spec = spec or BacktestSpec()
    intervals = {d.interval for d in datas}
    if len(intervals) > 1:
        raise ConfigError(f"one interval per backtest, got {sorted(intervals)}", key="interval")
    runs: list[SymbolRun] = []
    if engine == "fast":
        if progress:
            progress("fast", 0, len(datas))
        for k, d in enumerate(datas):
            runs.append(run_fast([d], [strategy], spec)[0][0])
            if progress:
                progress("fast", k + 1, len(datas))
    else:
        total = sum(d.trade_to - d.trade_from for d in datas)
        done = 0
        for d in datas:

            def step(n: int) -> None:
                nonlocal done
                done += n
                if progress:
                    progress("replay", done, total)

            runs.append(replay_symbol(d, strategy, spec, progress=step))
    return BacktestResult(
        strategy.name, strategy.describe()["params"], engine, datas[0].interval, spec, runs, list(datas)
    )
