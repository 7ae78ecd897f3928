"""Soak, short form: 24 symbols for a minute under every fault of the mix (5 % 5xx before and
after processing, 1 % request timeouts, 429 bursts, a WebSocket drop every 30 s, 500 ms
clock skew, duplicated stream messages), invariants checked every second.

``bench/reliability.py soak`` runs it for as long as asked and writes RELIABILITY.md.
At the end every file the run wrote (logs, output, report, database, the dashboard's pages)
is searched for the API key and secret it ran with.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.reliability.campaign import MARKER_KEY, MARKER_SECRET, SYMBOLS_24, issue_faults
from tests.integration.reliability.runs import DASHBOARD_PAGES, soak
from tests.integration.reliability.scan import leaks, written_files

CLEAN = {"duplicate_client_ids": [], "double_entries": [], "unprotected": [], "ledger": []}


async def test_a_minute_under_every_fault_keeps_every_invariant(tmp_path: Path) -> None:
    report = await soak(tmp_path, 60.0, symbols=SYMBOLS_24, faults=issue_faults(2.0))
    assert report.violations == CLEAN
    assert report.exit_code == 0
    assert report.checks >= 50
    for kind in (
        "5xx_before_processing",
        "5xx_after_processing",
        "timeout",
        "429_in_burst",
        "stream_duplicate",
    ):
        assert report.faults.get(kind, 0) > 0, (kind, report.faults)
    assert report.faults["ws_drop"] >= 2 and report.faults["418"] == 0, report.faults
    assert report.bars_processed == report.bars_closed
    assert min(report.bars_closed.values()) >= 50
    assert report.stats["entries_filled"] >= 20, report.stats

    # the bot's dashboard: token everywhere, loopback, CSRF on actions; and no secret anywhere
    assert report.dashboard == {
        "loopback": True,
        "without_token_401": f"{len(DASHBOARD_PAGES) + 1}/{len(DASHBOARD_PAGES) + 1}",
        "with_token_200": len(DASHBOARD_PAGES),
        "login": 200,
        "action_without_csrf": 403,
        "pages_saved": len(DASHBOARD_PAGES),
    }
    written = written_files(tmp_path)
    assert {p.parent.name for p in written} >= {"logs", "output", "pages", "reports"}
    assert leaks(written, [MARKER_KEY, MARKER_SECRET]) == []
