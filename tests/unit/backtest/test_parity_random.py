"""The compiled loop equals the engine on random markets and random settings, fill for fill.

Each case draws a market (jumps at the open, missing bars, candles cut short, prices only a
few ticks wide for the penny symbol, prices finer than the tick) and a configuration (stop distance, stop-limit buffer,
sizing, tight kill-switch limits, cool-down, exposure cap, fees, slippage, touch fills), runs
the fast backtester with no replay fallback, replays the same window through the engine
kernel on the paper exchange, and requires identical fills, round trips, open position,
kill switch, equity curve and exposure. The cases together must reach every exit path.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal as D

import numpy as np
import pytest
from tests.unit.backtest.helpers import CandleRule, data, random_market, rules, spec

from binance_bot.backtest.fast import run_fast
from binance_bot.backtest.replay import replay_symbol
from binance_bot.backtest.result import SymbolRun, fill_key
from binance_bot.matching import MatchingSettings

CASES = 48


def _case(seed: int) -> tuple:
    rng = np.random.default_rng(1000 + seed)
    penny = seed % 4 == 3
    fine = seed % 4 == 1  # prices published with more decimals than the tick
    table = random_market(seed, 160, start_price=1.5 if penny else 100.0, tick=0.0001 if fine else 0.01)
    symbol_rules = rules("PENNYUSDT", "0.01", "1") if penny else rules()
    pick = lambda *xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    s = spec(
        capital=pick("1000", "10000", "250.5"),
        matching=MatchingSettings(
            maker_fee=D(pick("0.001", "0.00075", "0")),
            taker_fee=D(pick("0.001", "0.00075")),
            slippage_bps=D(pick("0", "5", "12.5")),
            touch_fills=bool(rng.random() < 0.3),
        ),
        trading={
            "oper_equity": pick("1000", "5000", "100000"),
            "stop_loss_margin": pick("0.005", "0.01", "0.02", "0.05"),
            "take_profit_ratio": pick("1", "1.5", "2.25"),
            "stop_limit_buffer": pick("0", "0.001", "0.005"),
        },
        risk={
            "max_fraction_of_free": pick("0.25", "0.5", "1"),
            "daily_loss_limit_pct": pick("1.5", "5", "100"),
            "max_drawdown_pct": pick("2", "10", "100"),
            "cooldown_bars": pick(0, 3),
            "max_exposure_pct": pick("100", "30", "100"),
        },
    )
    strategy = CandleRule(CandleRule.Params(lag=int(rng.integers(1, 3))))
    return data(table, symbol_rules=symbol_rules, trade_from=int(rng.integers(0, 4))), strategy, s


def _paths(run: SymbolRun) -> set[str]:
    """Which lifecycle paths a run went through, told from its fills."""
    seen = {t.exit_reason for t in run.trades}
    sells = [f for f in run.fills if f.side.value == "SELL"]
    reasons = [t.exit_reason for t in run.trades]
    for sell, reason in zip(sells, reasons, strict=False):
        if reason == "stop_loss" and sell.is_maker:
            seen.add("stop_rested_then_filled")
        if reason == "stop_loss" and not sell.is_maker and sell.time in set(run.times - 1):
            seen.add("stop_loss_at_close")
    if run.kill is not None:
        seen.add("kill:" + run.kill.reason.split()[0])
    return seen


@pytest.fixture(scope="module")
def outcomes() -> list[tuple[SymbolRun, SymbolRun]]:
    out = []
    for seed in range(CASES):
        d, strategy, s = _case(seed)
        fast = run_fast([d], [strategy], s, fallback=False)[0][0]
        replay = replay_symbol(d, strategy, s)
        out.append((fast, replay))
    return out


@pytest.mark.parametrize("seed", range(CASES))
def test_fast_equals_replay(outcomes: list[tuple[SymbolRun, SymbolRun]], seed: int) -> None:
    fast, replay = outcomes[seed]
    assert [fill_key(f) for f in fast.fills] == [fill_key(f) for f in replay.fills]
    assert fast.trades == replay.trades
    assert fast.open_position == replay.open_position
    assert fast.kill == replay.kill
    assert fast.final_equity == replay.final_equity
    assert np.array_equal(fast.equity, replay.equity)
    assert np.array_equal(fast.in_position, replay.in_position)
    assert fast.same_trading(replay)


def test_the_cases_reach_every_exit_path(outcomes: list[tuple[SymbolRun, SymbolRun]]) -> None:
    seen: Counter[str] = Counter()
    for _, replay in outcomes:
        seen.update(_paths(replay))
    for path in (
        "take_profit",
        "stop_loss",
        "signal",
        "kill",
        "stop_rested_then_filled",
        "stop_loss_at_close",
        "kill:daily",
        "kill:drawdown",
        "protection_failed",
    ):
        assert seen[path] > 0, f"no case reached {path}: {dict(seen)}"
    assert sum(len(r.trades) for _, r in outcomes) > 150
