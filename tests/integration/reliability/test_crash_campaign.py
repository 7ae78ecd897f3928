"""Crash campaign: the bot SIGKILLs itself at each step of an order's life, then restarts.

Steps (``binance_bot.engine.crashpoints``): intent written, order on the wire, exchange's
answer received, fill accounted, OCO acknowledged. After each crash a normal run on the
same state must, within a bound, hold every long protected, keep its ledger equal to the
exchange's trades and balances, and never have doubled an order.

The first two crashes come after an answer that carried a fill, on a fresh state: the fill
of a symbol's first entry is then known only to the exchange, the hardest case for the
restart to find.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.reliability.runs import crash_campaign

POINTS = ("acknowledged", "filled", "intent_written", "order_in_flight", "protection_sent")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT")


async def test_every_crash_point_recovers_without_doubling_or_losing(tmp_path: Path) -> None:
    report = await crash_campaign(tmp_path, POINTS, symbols=SYMBOLS)
    assert [p["point"] for p in report.points] == list(POINTS)
    assert all(p["killed_itself"] and p["restart_ready"] for p in report.points), report.points
    assert report.violations == {
        "duplicate_client_ids": [],
        "double_entries": [],
        "unprotected": [],
        "ledger": [],
    }
    assert report.stats["entries_filled"] >= 2 and report.stats["oco_legs"] >= 2, report.stats
