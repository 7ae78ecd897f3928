"""Resource hygiene: a session leaves nothing behind, and SIGTERM stops the bot in time.

* In process: a paper session (embedded simulator, real HTTP and WebSocket, SQLite state)
  trades for a few seconds and ends. Afterwards no asyncio task is left, every file
  descriptor opened during the session is closed (sockets, the database and its WAL), and
  neither a ``ResourceWarning`` nor an asyncio "unclosed" report was raised.
* As a process: ``binance-bot run`` gets SIGTERM while trading and must exit by itself
  within the bound, with exit code 0, its summary written, its run closed as "stopped" in
  the state store and its open positions still protected on the exchange.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
import warnings
from pathlib import Path
from typing import Any

from tests.integration.reliability.campaign import Campaign, CampaignExchange
from tests.integration.reliability.invariants import StoreSnapshot, unprotected_longs
from tests.integration.reliability.runs import market_start_ms

from binance_bot.app import RunOptions, Session
from binance_bot.config import load_config

SIGTERM_BOUND_S = 10.0


def open_fds() -> dict[int, str]:
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the descriptor listdir itself used
    return out


async def test_a_session_leaves_no_task_socket_file_or_warning_behind(tmp_path: Path) -> None:
    config = load_config(
        overrides={
            "mode": "paper",
            "trading": {
                "strategy": "sma_cross",
                "strategy_params": {"fast": 3, "slow": 8},
                "interval": "1m",
                "trend_interval": "5m",
                "oper_equity": "1000",
            },
            "risk": {"cooldown_bars": 0},
            "storage": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
            "data": {"data_dir": str(tmp_path / "data")},
            "monitoring": {"log_dir": str(tmp_path / "logs")},
        },
        environ={},
        use_default_file=False,
    ).config
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    gc.collect()
    tasks_before = asyncio.all_tasks()
    fds_before = open_fds()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            session = Session(
                config,
                RunOptions(
                    symbols=["BTCUSDT", "ETHUSDT", "BNBUSDT"], speed=120.0, duration_s=6.0, warmup_bars=300
                ),
            )
            async with session:
                summary = await session.run()
            del session
            await asyncio.sleep(0.2)  # connector callbacks scheduled by the close run now
            gc.collect()
    finally:
        loop.set_exception_handler(previous_handler)
    assert summary["statistics"]["engine"]["bars_processed"] > 0
    leaked_tasks = [t for t in asyncio.all_tasks() - tasks_before if not t.done()]
    assert leaked_tasks == []
    leaked_fds = {fd: target for fd, target in open_fds().items() if fds_before.get(fd) != target}
    assert leaked_fds == {}
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert [c.get("message") for c in reported] == []


async def test_sigterm_stops_a_trading_bot_gracefully_within_the_bound(tmp_path: Path) -> None:
    exchange = CampaignExchange(
        ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"), speed=60.0, start_ms=market_start_ms(48)
    )
    await exchange.start()
    campaign = Campaign(tmp_path, exchange)
    campaign.write_config()
    try:
        run = await campaign.spawn()
        assert await run.wait_ready(60.0)
        await asyncio.sleep(4.0)  # trading: bars, entries, protection
        sent = time.monotonic()
        run.terminate()
        code = await run.wait(SIGTERM_BOUND_S)
        took = time.monotonic() - sent
    finally:
        await campaign.close()
        await exchange.stop()
    assert code == 0, f"exit code {code} after SIGTERM (output in {run.output})"
    assert took < SIGTERM_BOUND_S
    assert list((tmp_path / "reports").glob("run-*.json"))
    assert StoreSnapshot.read(campaign.store_path).runs[-1] == (run.run_id, "stopped")
    assert unprotected_longs(exchange.view()) == {}
