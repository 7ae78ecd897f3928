"""Each strategy through the engine on real candles: orders happen exactly where its rules say.

The engine runs bar by bar with streaming indicators; the rules are evaluated again on the
whole series with the batch kernels. Every entry must sit on a bar whose entry rule holds, and
every strategy exit (for ``ema_trend`` and ``confirmed``: the Stochastic cross, %K <= %D) on a
bar whose exit rule holds; stop-loss and take-profit exits must fill at the protection levels.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tests.unit.engine.harness import Harness

from binance_bot.data import default_symbol_rules, read_bars
from binance_bot.model import Side
from binance_bot.strategy import make_strategy
from binance_bot.strategy.features import FeatureCache, batch_signals


@pytest.fixture(scope="module")
def eth_1h(shared_data: Path):
    return read_bars(shared_data / "ETHUSDT-1h.csv.gz")[20_000:23_000]


@pytest.mark.parametrize("name", ["ema_trend", "confirmed", "sma_cross"])
async def test_orders_follow_the_rules(name: str, eth_1h) -> None:
    rules = default_symbol_rules("ETHUSDT")
    params = {"fast": 10, "slow": 30} if name == "sma_cross" else {}
    h = Harness(
        strategy=name,
        params=params,
        rules=rules,
        trading={"interval": "1h", "trend_interval": "4h"},
    )
    await h.start()
    await h.feed(eth_1h)
    await h.stop()

    series = {
        k: torch.tensor([float(getattr(b, k)) for b in eth_1h])
        for k in ("open", "high", "low", "close", "volume")
    }
    cache = FeatureCache(
        series, torch.tensor([b.open_time for b in eth_1h]), interval="1h", trend_interval="4h"
    )
    sig = batch_signals(make_strategy(name, params), cache)
    index = {b.close_time: i for i, b in enumerate(eth_1h)}
    trades = h.kernel.portfolio.closed
    assert len(trades) >= 5, "the slice should produce several round trips"
    reasons = {t.exit_reason for t in trades}
    assert reasons & {"stop_loss", "take_profit", "signal"}

    entries = [o for o in h.orders() if o.side is Side.BUY]
    assert entries
    for order in entries:
        # the entry was decided at the close of the bar before the one it filled in
        decided = index.get(order.time - 1)
        assert decided is not None, f"entry {order.client_order_id} not placed at a bar close"
        assert bool(sig.entry[decided]), f"entry at bar {decided} where the entry rule is false"
    for trade in trades:
        if trade.exit_reason == "signal":
            # the exit fill is the next bar's open; the decision was the close before it
            decided = next(i for i, b in enumerate(eth_1h) if b.close_time >= trade.exit_time) - 1
            assert bool(sig.exit[decided]), f"signal exit at bar {decided} where the exit rule is false"
