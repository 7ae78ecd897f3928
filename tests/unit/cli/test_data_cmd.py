"""``binance-bot data validate|generate`` through typer's test runner."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from binance_bot.cli import data_cmd
from binance_bot.data import read_candles, validate_candles

REPO = Path(__file__).resolve().parents[3]
CANDLES = REPO / "tests" / "resources" / "candles"
SHARED = REPO.parent / "shared" / "data" / "binance"
ENV = {"COLUMNS": "250", "NO_COLOR": "1"}


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(data_cmd.app, list(args), env=ENV)


def test_validate_valid_files_exits_0() -> None:
    result = invoke("validate", str(CANDLES / "valid"))
    assert result.exit_code == 0, result.output
    assert "6 file(s): 6 passed, 0 failed" in result.output
    assert "BTCUSDT-1h-2024-01.zip:BTCUSDT-1h-2024-01.csv" in result.output
    assert "2024-01-01T00:00:00Z .. 2024-01-02T23:00:00Z" in result.output


def test_validate_malformed_files_exits_2_naming_lines() -> None:
    result = invoke("validate", str(CANDLES / "malformed"), str(CANDLES / "valid" / "BNBUSDT-4h.json"))
    assert result.exit_code == 2, result.output
    assert "8 file(s): 1 passed, 7 failed" in result.output
    for needle in (
        "BTCUSDT-1h-truncated.csv: line 17: truncated line",
        "BTCUSDT-1h-highlow.csv: line 17: high 100.0 < low 101.0",
        "BTCUSDT-1h-duplicate.csv: line 13: duplicate open_time",
        "BTCUSDT-1h-text.csv: line 9: close: not a number: 'abc'",
        "BTCUSDT-1h-nan.csv: line 5: volume: not a number: 'NaN'",
    ):
        assert f"error: {CANDLES / 'malformed'}/{needle}" in result.output


def test_validate_usage_errors_exit_2(tmp_path: Path) -> None:
    assert invoke("validate", str(tmp_path / "nope.csv")).exit_code == 2
    empty = invoke("validate", str(tmp_path))
    assert empty.exit_code == 2 and "no candle files found" in empty.output


def test_validate_unexpected_failure_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(data_cmd, "validate_candles", explode)
    result = invoke("validate", str(CANDLES / "valid"))
    assert result.exit_code == 1 and "RuntimeError: disk on fire" in result.output


def test_validate_shared_daily_files_report_rows_and_gaps() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"shared real candles not found at {SHARED}")
    result = invoke("validate", str(SHARED / "BTCUSDT-1d.csv.gz"), str(SHARED / "BNBUSDT-4h.csv.gz"))
    assert result.exit_code == 0, result.output
    assert "2,694" in result.output and "15,662" in result.output
    assert "8 gap(s), 16 missing candle(s)" in result.output
    assert "20 candle(s) with close_time before open_time + interval - 1" in result.output


def test_generate_writes_valid_reproducible_files(tmp_path: Path) -> None:
    args = ["generate", "--symbols", "BTCUSDT,ethusdt", "--interval", "1h", "--days", "3", "--seed", "4"]
    result = invoke(*args, "--out", str(tmp_path / "a"), "--start", "2024-03-01")
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "(72 candles)" in result.output
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["BTCUSDT-1h.csv.gz", "ETHUSDT-1h.csv.gz"]
    btc = read_candles(tmp_path / "a" / "BTCUSDT-1h.csv.gz")
    assert (btc.symbol, btc.interval, len(btc), btc.format) == ("BTCUSDT", "1h", 72, "normalized-csv")
    assert btc.first_open_time == 1_709_251_200_000  # 2024-03-01T00:00Z
    report = validate_candles(tmp_path / "a" / "ETHUSDT-1h.csv.gz")
    assert report.ok and not report.gaps
    header = gzip.decompress((tmp_path / "a" / "BTCUSDT-1h.csv.gz").read_bytes()).decode().splitlines()[0]
    assert (
        header
        == "open_time,open,high,low,close,volume,close_time,quote_volume,trades,taker_buy_base,taker_buy_quote"
    )
    again = invoke(*args, "--out", str(tmp_path / "b"), "--start", "2024-03-01")
    assert again.exit_code == 0

    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    assert digest(tmp_path / "a" / "BTCUSDT-1h.csv.gz") == digest(tmp_path / "b" / "BTCUSDT-1h.csv.gz")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--symbols", "FOO"], "cannot split symbol 'FOO'"),
        (["--interval", "1M"], "fixed interval of 1m or longer"),
        (["--start", "someday"], "not a date or ISO time"),
        (["--days", "0.0001", "--interval", "1h"], "hold no 1h candle"),
        (["--start", "2024-01-01T00:30:00", "--interval", "1h"], "not on the 1h grid"),
    ],
)
def test_generate_rejects_bad_arguments(tmp_path: Path, args: list[str], needle: str) -> None:
    result = invoke("generate", "--out", str(tmp_path), "--days", "1", *args)
    assert result.exit_code == 2
    assert needle in " ".join(result.output.split())
