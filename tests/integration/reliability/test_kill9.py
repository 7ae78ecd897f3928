"""Kill -9 campaign, short form: SIGKILLs at random moments of a paper session (start-up and
trading), each followed by a restart that must settle within the bound, then a graceful stop.

``bench/reliability.py kill9`` runs the full campaign (100 kills) and writes RELIABILITY.md.
Every file the runs wrote is then searched for the API key and secret they used.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.reliability.campaign import MARKER_KEY, MARKER_SECRET
from tests.integration.reliability.runs import kill9_campaign
from tests.integration.reliability.scan import leaks, written_files

SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT")
CLEAN = {"duplicate_client_ids": [], "double_entries": [], "unprotected": [], "ledger": []}


async def test_ten_random_sigkills_lose_nothing_and_double_nothing(tmp_path: Path) -> None:
    report = await kill9_campaign(
        tmp_path, 10, symbols=SYMBOLS, seed=5, startup_share=0.3, trading_window_s=(0.0, 4.0)
    )
    assert report.kills == 10
    assert report.violations == CLEAN
    assert report.restarts_settled == report.restarts_checked >= 5, report
    assert report.final_exit_code == 0
    assert report.stats["entries_filled"] >= 3, report.stats

    written = written_files(tmp_path)
    assert any(p.suffix == ".db" for p in written) and any(p.parent.name == "logs" for p in written)
    assert any(p.parent.name == "reports" for p in written)
    assert leaks(written, [MARKER_KEY, MARKER_SECRET]) == []
