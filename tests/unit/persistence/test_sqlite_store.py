from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

from tests.unit.persistence.store_contract import check_store_contract

from binance_bot.persistence import SqlStateStore


def test_sqlite_contract(tmp_path: Path) -> None:
    with SqlStateStore(f"sqlite:///{tmp_path}/state.db") as store:
        check_store_contract(store)


def test_default_folder_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nested/dir/state.db"
    with SqlStateStore(url) as store:
        store.set_setting("a", "b")
    assert (tmp_path / "nested" / "dir" / "state.db").is_file()


def test_committed_writes_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    code = f"""
import os, signal
from binance_bot.persistence import SqlStateStore
s = SqlStateStore("sqlite:///{db}")
s.start_run("r", started_at=1, mode="paper", strategy="x", config={{}})
s.set_setting("marker", "committed")
s.record_equity("r", time=1, equity=__import__("decimal").Decimal("1.5"), free_quote=0, positions_value=0)
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    with SqlStateStore(f"sqlite:///{db}") as store:
        assert store.get_setting("marker") == "committed"
        assert store.last_run()["run_id"] == "r"
        assert store.equity_curve("r") == [(1, D("1.5"))]
    assert os.path.exists(db)
