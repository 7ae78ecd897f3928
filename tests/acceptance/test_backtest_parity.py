"""Backtest equals replay on real Binance candles: the same trades, to the last unit.

For every built-in strategy, on slices of the shared real-candle files (each slice holds
missing candles from exchange outages, and candles Binance cut short at a trading halt), the
fast backtester and the event replay through the engine kernel must produce identical fills
(times, prices, quantities, commissions, maker/taker), identical round trips (``Decimal``
cost, proceeds, fees, exit reasons), the same open position, kill switch, final equity and
equity curve. The fast path runs without its replay fallback, so a row it could not follow
fails here instead of being quietly replayed.

The stop is tightened to 1 % on two of the slices so that stop-losses and take-profits happen
next to the strategies' own exits; one slice keeps the defaults with a 4 % drawdown limit so
the kill switch trips.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from binance_bot.backtest import BacktestSpec, SymbolData, SymbolRun, fill_key, replay_symbol, run_fast
from binance_bot.config import load_config
from binance_bot.data import default_symbol_rules, read_candles
from binance_bot.model.intervals import interval_ms
from binance_bot.strategy import make_strategy

STRATEGIES = ("sma_cross", "ema_trend", "confirmed")
WARM_UP = 300

# (file, first row, end row, trend interval, configuration overrides)
SLICES: tuple[tuple[str, int, int, str, Mapping[str, Mapping[str, Any]]], ...] = (
    ("BTCUSDT-1h.csv.gz", 0, 3000, "4h", {"trading": {"stop_loss_margin": "0.01"}}),
    ("ETHUSDT-15m.csv.gz", 6500, 9500, "1h", {"trading": {"stop_loss_margin": "0.01"}}),
    ("BNBUSDT-5m.csv.gz", 0, 3000, "30m", {"trading": {"stop_loss_margin": "0.02"}}),
    ("ETHUSDT-4h.csv.gz", 2000, 3500, "1d", {"risk": {"max_drawdown_pct": "4"}}),
)


def _slice(folder: Path, name: str, a: int, b: int) -> SymbolData:
    symbol, interval = name.split(".")[0].split("-")
    frame = read_candles(folder / name).frame.iloc[a:b].reset_index(drop=True)
    return SymbolData(symbol, interval, default_symbol_rules(symbol), frame, name, trade_from=WARM_UP)


def _spec(interval: str, trend: str, overrides: Mapping[str, Mapping[str, Any]]) -> BacktestSpec:
    values: dict[str, Any] = {"trading": {"interval": interval, "trend_interval": trend}}
    for section, items in overrides.items():
        values.setdefault(section, {}).update(items)
    return BacktestSpec(load_config(overrides=values, environ={}, use_default_file=False).config)


@pytest.fixture(scope="module")
def runs(shared_data: Path) -> dict[tuple[str, str], tuple[SymbolRun, SymbolRun, SymbolData]]:
    out = {}
    for name, a, b, trend, overrides in SLICES:
        data = _slice(shared_data, name, a, b)
        spec = _spec(data.interval, trend, overrides)
        strategies = [make_strategy(s) for s in STRATEGIES]
        fast = run_fast([data], strategies, spec, fallback=False)[0]
        for strategy, fast_run in zip(strategies, fast, strict=True):
            out[(name, strategy.name)] = (fast_run, replay_symbol(data, strategy, spec), data)
    return out


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", [s[0] for s in SLICES])
def test_identical_trades(runs: dict, name: str, strategy: str) -> None:
    fast, replay, _ = runs[(name, strategy)]
    assert [fill_key(f) for f in fast.fills] == [fill_key(f) for f in replay.fills]
    assert fast.trades == replay.trades
    assert fast.open_position == replay.open_position
    assert fast.kill == replay.kill
    assert fast.final_equity == replay.final_equity
    assert np.array_equal(fast.equity, replay.equity)
    assert fast.same_trading(replay)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_trades_dozens_of_times_with_every_exit(runs: dict, strategy: str) -> None:
    reasons = Counter(
        t.exit_reason for (name, s), (_, replay, _) in runs.items() if s == strategy for t in replay.trades
    )
    assert sum(reasons.values()) >= 24, reasons
    assert {"stop_loss", "take_profit", "signal"} <= set(reasons), reasons


def test_the_slices_hold_gaps_and_halted_candles(runs: dict) -> None:
    gaps = halted = 0
    for (_, strategy), (_, _, data) in runs.items():
        if strategy != STRATEGIES[0]:
            continue
        step = interval_ms(data.interval)
        window = slice(data.trade_from, data.trade_to)
        gaps += int(np.sum(np.diff(data.open_time[window]) > step))
        halted += int(np.sum(data.close_time[window] < data.open_time[window] + step - 1))
    assert gaps >= 3
    assert halted >= 1


def test_a_drawdown_limit_trips_the_kill_switch_in_both(runs: dict) -> None:
    killed = [(f.kill, r.kill) for (name, _), (f, r, _) in runs.items() if name.startswith("ETHUSDT-4h")]
    assert any(r is not None for _, r in killed)
    assert all(f == r for f, r in killed)
