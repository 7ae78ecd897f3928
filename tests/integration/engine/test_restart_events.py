"""A restart must hear about every change after its reconciliation.

Reconciliation reads the exchange (open orders, trades, balances) once; the user-data
subscription must already be on by then, or a fill made between the two is told to nobody:
the bot would believe its entry still open and leave the position unprotected until some
later reconnect happened to reconcile again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import SimulatorHandle
from tests.integration.engine.sessions import external_config, until

from binance_bot.app import RunOptions, Session
from binance_bot.engine import reconcile as reconcile_module
from binance_bot.model import OrderStatus, Side


async def test_a_fill_right_after_reconciliation_reaches_the_restarted_bot(
    simulator: SimulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = external_config(simulator, tmp_path)
    async with Session(config, RunOptions(symbols=["BTCUSDT"])) as first:
        assert first.kernel is not None
        entry = await first.kernel.workers["BTCUSDT"].enter_now()
        assert entry is not None and entry.status is OrderStatus.NEW  # a stepped market fills it later
    # the first run has stopped with its entry open on the exchange; the restart reconciles,
    # and the entry fills right after that, before the restart trades
    reconcile = reconcile_module.reconcile

    async def reconcile_then_fill(k: Any, *, force: bool = False) -> None:
        await reconcile(k, force=force)
        await simulator.advance(bars=1)

    monkeypatch.setattr(reconcile_module, "reconcile", reconcile_then_fill)
    async with Session(config, RunOptions(symbols=["BTCUSDT"])) as second:
        assert second.kernel is not None and second.store is not None
        store = second.store
        await until(lambda: "BTCUSDT" in store.positions(), 5.0)
        await simulator.advance(bars=1)  # the next bar: the position gets its protection
        engine = simulator.core.engine

        def protected() -> bool:
            return any(o.side is Side.SELL for o in engine.open_orders(simulator.api_key, "BTCUSDT"))

        await until(protected, 5.0)
