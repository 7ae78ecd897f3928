"""No look-ahead: what a backtest decided up to bar ``t`` cannot depend on bars after ``t``.

For every built-in strategy the data are cut after several bars ``t``; every entry and exit
signal up to ``t``, every fill up to ``t``'s close and the equity curve up to ``t`` must be
those of the full run. Entries fill at the open of the bar after their signal.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.unit.backtest.helpers import config

from binance_bot.backtest import BacktestSpec, SymbolData, fill_key, run_fast
from binance_bot.backtest.fast import signals
from binance_bot.data import SyntheticMarket
from binance_bot.matching import rules as fill_rules
from binance_bot.strategy import make_strategy

BARS = 2500
CUTS = (400, 777, 1200, 1901, 2300)


@pytest.fixture(scope="module")
def market() -> SymbolData:
    synthetic = SyntheticMarket("BTCUSDT", "15m", seed=7)
    frame = synthetic.frame(synthetic.origin_ms, BARS).frame
    return SymbolData("BTCUSDT", "15m", synthetic.rules, frame, "synthetic seed 7", trade_from=200)


def _spec() -> BacktestSpec:
    return BacktestSpec(config("15m", trend="1h", trading={"stop_loss_margin": "0.01"}))


@pytest.mark.parametrize("name", ["sma_cross", "ema_trend", "confirmed"])
def test_cutting_the_future_changes_nothing_before_it(market: SymbolData, name: str) -> None:
    strategy = make_strategy(name)
    spec = _spec()
    full = run_fast([market], [strategy], spec, fallback=False)[0][0]
    entries, exits = signals(market, [strategy], spec.config)
    assert len(full.trades) >= 10
    for t in CUTS:
        head = market.frame.iloc[: t + 1]
        cut = SymbolData(market.symbol, market.interval, market.rules, head, market.source, market.trade_from)
        e, x = signals(cut, [strategy], spec.config)
        assert np.array_equal(e[0], entries[0, : t + 1])
        assert np.array_equal(x[0], exits[0, : t + 1])
        part = run_fast([cut], [strategy], spec, fallback=False)[0][0]
        known = int(market.close_time[t]) + 1
        assert [fill_key(f) for f in part.fills] == [fill_key(f) for f in full.fills if f.time < known]
        assert list(part.trades) == [tr for tr in full.trades if tr.exit_time < known]
        assert np.array_equal(part.equity, full.equity[: len(part.equity)])


@pytest.mark.parametrize("name", ["sma_cross", "ema_trend", "confirmed"])
def test_entries_fill_at_the_next_open(market: SymbolData, name: str) -> None:
    strategy = make_strategy(name)
    spec = _spec()
    run = run_fast([market], [strategy], spec, fallback=False)[0][0]
    entries, _ = signals(market, [strategy], spec.config)
    opens = market.ticks("open")
    slippage = spec.matching.slippage_units
    buys = [f for f in run.fills if f.side.value == "BUY"]
    assert buys
    for fill in buys:
        i = int(np.searchsorted(market.open_time, fill.time))
        assert market.open_time[i] == fill.time
        assert entries[0, i - 1]  # the signal was at the previous bar's close
        assert fill.price == market.tick * fill_rules.slipped_price(int(opens[i]), slippage, True)
