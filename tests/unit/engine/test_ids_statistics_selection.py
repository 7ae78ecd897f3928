from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from binance_bot.data.assets import read_assets_file
from binance_bot.engine.ids import client_order_id, new_run_id, parse_client_order_id
from binance_bot.engine.statistics import exposure, max_drawdown, trading_statistics
from binance_bot.errors import DataError
from binance_bot.model import ClosedTrade
from binance_bot.model.orders import is_valid_client_order_id


def test_client_order_ids_are_deterministic_and_valid() -> None:
    run = new_run_id()
    assert len(run) == 6
    a = client_order_id(run, "BTCUSDT", 12, "sl")
    assert a == f"{run}-BTCUSDT-12-sl"
    assert a == client_order_id(run, "BTCUSDT", 12, "sl")
    assert is_valid_client_order_id(a)
    assert parse_client_order_id(a) == (run, "BTCUSDT", 12, "sl")
    assert parse_client_order_id("web_6gCrw2kRUAF9CvJDGP16IP") is None
    long_symbol = client_order_id(run, "SUPERLONGSYMBOLNAMEUSDT", 999999, "oco")
    assert len(long_symbol) <= 36
    assert is_valid_client_order_id(long_symbol)


def trade(pnl: str, entry: int, exit_: int) -> ClosedTrade:
    return ClosedTrade(
        symbol="X",
        entry_time=entry,
        exit_time=exit_,
        entry_price=D(1),
        exit_price=D(1),
        qty=D(1),
        cost=D(100),
        proceeds=D(100) + D(pnl),
        fees_quote=D("0.2"),
        exit_reason="signal",
    )


def test_statistics_in_the_design_documents_shape() -> None:
    trades = [trade("10", 0, 10), trade("-5", 20, 30), trade("20", 40, 50)]
    curve = [(0, D(100)), (10, D(110)), (30, D(99)), (50, D(125))]
    stats = trading_statistics(trades, curve=curve, start_ms=0, end_ms=100, api={"cache_hit_rate": 0.8523})
    assert stats["total_trades"] == 3
    assert (stats["wins"], stats["losses"]) == (2, 1)
    assert stats["win_rate"] == "66.67%"
    assert stats["total_pnl"] == "$25.00"
    assert stats["profit_factor"] == 6.0
    assert stats["max_drawdown"] == "10.00%"
    assert stats["exposure"] == "30.00%"
    assert stats["api_metrics"]["cache_hit_rate"] == "85.23%"


def test_drawdown_and_exposure_edges() -> None:
    assert max_drawdown([]) == 0
    assert exposure([], 0, 0) == 0.0
    assert exposure([trade("1", 0, 50), trade("1", 25, 75)], 0, 100) == 0.75
    assert exposure([], 0, 100, open_since=[90]) == 0.1


def test_assets_file(tmp_path: Path) -> None:
    path = tmp_path / "_raw_assets.csv"
    path.write_text("symbol\nBTCUSDT\nethusdt\n\nBTCUSDT\n")
    assert read_assets_file(path) == ["BTCUSDT", "ETHUSDT"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ticker\nBTCUSDT\n", "line 1: no `symbol` column"),
        ("symbol\nBTCUSDT\nBTC/USDT\n", "line 3: 'BTC/USDT' is not a symbol"),
        ("", "empty assets file"),
        ("symbol\n", "no symbols listed"),
    ],
)
def test_assets_file_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "_raw_assets.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_assets_file(path)
