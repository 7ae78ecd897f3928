"""``binance-bot backtest`` and ``binance-bot optimize`` end to end (in-process, small windows)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from binance_bot.cli.main import app

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _offline(page: str) -> None:
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?(https?:)?//", page)  # nothing from a CDN
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # plotly.js itself is inlined


def test_backtest_on_the_synthetic_market(tmp_path: Path) -> None:
    out = invoke(
        "backtest",
        "--strategy",
        "sma_cross",
        "--params",
        "fast=5,slow=20",
        "--symbols",
        "BTCUSDT,ETHUSDT",
        "--interval",
        "1h",
        "--from",
        "2024-02-01",
        "--to",
        "2024-03-01",
        "--out",
        str(tmp_path),
    )
    assert "portfolio" in out and "total_return" in out
    result = json.loads((tmp_path / "result.json").read_text())
    assert set(result["metrics"]) == {"BTCUSDT", "ETHUSDT", "portfolio"}
    assert result["params"] == {"fast": 5, "slow": 20}
    btc = result["symbols"][0]
    assert btc["source"] == "synthetic (seed 0)" and btc["bars"] == 29 * 24
    assert btc["trades"] and {"entry_price", "exit_price", "pnl", "exit_reason"} <= set(btc["trades"][0])
    assert result["metrics"]["BTCUSDT"]["trades"] == len(btc["trades"])
    page = (tmp_path / "report.html").read_text()
    _offline(page)
    for section in ("Equity and drawdown", "Monthly returns", "entries and exits", "Trades ("):
        assert section in page


def test_both_engines_write_the_same_trades(tmp_path: Path, shared_data: Path) -> None:
    common = (
        "--strategy",
        "ema_trend",
        "--symbols",
        "ETHUSDT",
        "--interval",
        "15m",
        "--data",
        str(shared_data),
    )
    window = ("--from", "2023-03-20", "--to", "2023-04-01")
    results = {}
    for engine in ("fast", "replay"):
        folder = tmp_path / engine
        invoke(
            "--set",
            "trading.stop_loss_margin=0.01",
            "backtest",
            *common,
            *window,
            "--engine",
            engine,
            "--out",
            str(folder),
            "--no-html",
        )
        results[engine] = json.loads((folder / "result.json").read_text())
    fast, replay = results["fast"]["symbols"][0], results["replay"]["symbols"][0]
    assert len(fast["trades"]) >= 5
    assert fast["trades"] == replay["trades"]
    assert fast["final_equity"] == replay["final_equity"]


def test_optimize_walk_forward(tmp_path: Path) -> None:
    out = invoke(
        "optimize",
        "--strategy",
        "sma_cross",
        "--grid",
        "fast=5:15:5,slow=20:40:20",
        "--walk-forward",
        "2",
        "--objective",
        "total_return",
        "--workers",
        "1",
        "--interval",
        "1h",
        "--from",
        "2024-01-01",
        "--to",
        "2024-04-01",
        "--out",
        str(tmp_path),
    )
    assert "walk-forward" in out and "chained out-of-sample return" in out
    result = json.loads((tmp_path / "result.json").read_text())
    assert [f["fold"] for f in result["folds"]] == ["fold1", "fold2"]
    assert result["evaluated"] == 6 and result["refused_by_strategy"] == 0
    assert all("fold2:out" in c["metrics"] for c in result["ranked"])
    page = (tmp_path / "report.html").read_text()
    _offline(page)
    assert "Walk-forward" in page and "Heatmap" in page


def test_optimize_split_ranks_in_sample_beside_out_of_sample(tmp_path: Path) -> None:
    out = invoke(
        "optimize",
        "--grid",
        "fast=5|10,slow=30|60",
        "--method",
        "random",
        "--trials",
        "3",
        "--workers",
        "1",
        "--interval",
        "1h",
        "--from",
        "2024-01-01",
        "--to",
        "2024-03-01",
        "--out",
        str(tmp_path),
    )
    assert re.search(r"IS sharpe.*OOS sharpe", out.replace("\n", " "))
    ranked = json.loads((tmp_path / "result.json").read_text())["ranked"]
    assert len(ranked) == 3
    scores = [c["metrics"]["in_sample"]["sharpe"] for c in ranked]
    assert scores == sorted(scores, key=lambda v: -1e9 if v is None else v, reverse=True)


def test_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["optimize", "--grid", "fast=5:10:5", "--engine", "dask"])
    assert result.exit_code != 0
    assert "--engine must be local or spark" in str(result.exception)


@pytest.mark.parametrize("module", ["binance_bot.cli.backtest_cmd"])
def test_the_command_module_imports_nothing_heavy(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in ('torch', 'numba', 'plotly') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
