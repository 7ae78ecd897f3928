"""An end-to-end paper session: the bot against the simulator over real HTTP and WebSocket,
replaying real candles, with the ledger checked against the exchange at the end.

The run is the product's own ``Session`` (what ``binance-bot run`` starts): embedded
simulator on a loopback port, the Binance client, the engine and the SQLite state store.
Real BTCUSDT and ETHUSDT minute candles are cut to a common window so the session ends
with the data, and replayed fast enough that the SMA-cross strategy trades dozens of times.
"""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.integration.reliability.invariants import (
    ExchangeView,
    StoreSnapshot,
    entries_without_protection,
    settled_verdict,
)
from tests.integration.reliability.recorder import BarLog, ProtectionWatch

from binance_bot.app import RunOptions, Session
from binance_bot.config import BotConfig, load_config
from binance_bot.model import Side

SYMBOLS = ("BTCUSDT", "ETHUSDT")
MINUTE = 60_000
WARMUP = 300
LIVE_BARS = 260
SPEED = 900.0  # 15 one-minute bars per second
PROTECTION_BOUND_S = 5.0


def common_window(shared: Path, out: Path, rows: int) -> list[Path]:
    """The first ``rows`` minutes both symbols traded, as Binance CSV files in ``out``."""
    tables: dict[str, dict[int, str]] = {}
    for symbol in SYMBOLS:
        with gzip.open(shared / f"{symbol}-1m.csv.gz", "rt") as f:
            header = next(f)
            table: dict[int, str] = {}
            for line in f:
                table[int(line.split(",", 1)[0])] = line
                if len(table) >= rows * 3:
                    break
        tables[symbol] = table
    start = max(min(t) for t in tables.values())
    paths = []
    for symbol, table in tables.items():
        lines = [table[t] for t in range(start, start + rows * MINUTE, MINUTE)]
        path = out / f"{symbol}-1m.csv"
        path.write_text(header + "".join(lines))
        paths.append(path)
    return paths


def paper_config(tmp: Path, **trading: Any) -> BotConfig:
    overrides = {
        "mode": "paper",
        "trading": {
            "strategy": "sma_cross",
            "strategy_params": {"fast": 3, "slow": 8},
            "interval": "1m",
            "trend_interval": "5m",
            "oper_equity": "1000",
            "max_positions": 10,
            "stop_loss_margin": "0.003",
            "take_profit_ratio": "1.5",
            **trading,
        },
        "risk": {"daily_loss_limit_pct": "50", "max_drawdown_pct": "50", "cooldown_bars": 0},
        "storage": {"url": f"sqlite:///{tmp / 'state.db'}"},
        "data": {"data_dir": str(tmp / "data")},
        "monitoring": {"log_dir": str(tmp / "logs"), "log_level": "INFO"},
    }
    return load_config(overrides=overrides, environ={}, use_default_file=False).config


async def test_paper_session_on_real_candles_keeps_the_ledger_equal_to_the_exchange(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = common_window(shared_data, tmp_path, WARMUP + LIVE_BARS)
    candles = {
        path.name.split("-")[0]: {
            int(t): tuple(Decimal(x) for x in rest[:5])
            for t, *rest in (line.split(",") for line in path.read_text().splitlines()[1:])
        }
        for path in files
    }
    bars = BarLog()
    bars.install(monkeypatch)
    session = Session(
        paper_config(tmp_path),
        RunOptions(data=files, speed=SPEED, warmup_bars=WARMUP, duration_s=150, balances="USDT=10000"),
    )

    def view() -> ExchangeView | None:
        if session.simulator is None or session.config.api.api_key is None:
            return None
        return ExchangeView(session.simulator.core.engine, session.config.api.api_key.get_secret_value())

    watch = ProtectionWatch(view)
    async with session:
        watch.start()
        try:
            summary = await session.run()
        finally:
            await watch.stop()
    exchange = view()
    assert exchange is not None
    market = session.simulator.core.market.status()["symbols"]
    assert all(feed["finished"] for feed in market.values()), "the session ended before the data did"

    # trades happened, over both symbols, and the bot saw every bar exactly once
    orders = exchange.all_orders()
    entries = [o for o in orders if o.side is Side.BUY and o.executed_qty > 0]
    assert summary["statistics"]["total_trades"] >= 20
    assert {o.symbol for o in entries} == set(SYMBOLS)
    for (symbol, open_time), bar in bars.bars.items():
        row = candles[symbol][open_time]
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == row, f"{symbol} {open_time}: {bar}"
    for symbol in SYMBOLS:
        assert bars.problems(symbol, MINUTE, last_open=market[symbol]["barOpenTime"]) == [], (
            bars.warm[symbol][-3:],
            bars.live[symbol][:3],
            bars.live[symbol][-3:],
        )
        assert len(bars.live[symbol]) > LIVE_BARS // 2

    # the exchange's records and the state store agree, and every entry was protected
    verdict = settled_verdict(exchange, tmp_path / "state.db", {"USDT": Decimal(10000)})
    assert verdict.as_dict() == {k: [] for k in verdict.as_dict()}
    assert entries_without_protection(exchange) == []
    assert watch.samples > 100
    assert watch.worst_s < PROTECTION_BOUND_S, dict(watch.longest_s)
    store = StoreSnapshot.read(tmp_path / "state.db")
    assert store.trades == summary["statistics"]["total_trades"]
    assert len(store.fills) == len(exchange.all_trades()) > 0
    assert sorted(store.positions) == sorted(
        {o.symbol for o in exchange.all_orders() if o.side is Side.SELL and o.status.value == "NEW"}
    )
