"""Validation: the shared files' rows and gaps as their README lists them, and each check."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from binance_bot.data import CandleFrame, from_frame, read_candles, validate_candles, validate_frame
from binance_bot.data.validation import iso
from binance_bot.errors import DataError

# The table of ../shared/data/binance/README.md: file -> (rows, gaps, missing candles).
SHARED_TABLE: dict[str, tuple[int, int, int]] = {
    "BNBUSDT-5m.csv.gz": (15_012, 1, 60),
    "BNBUSDT-15m.csv.gz": (70_075, 1, 5),
    "BNBUSDT-1h.csv.gz": (61_246, 27, 122),
    "BNBUSDT-4h.csv.gz": (15_662, 8, 16),
    "BNBUSDT-1d.csv.gz": (2_613, 0, 0),
    "BTCUSDT-1m.csv.gz": (43_200, 0, 0),
    "BTCUSDT-5m.csv.gz": (88_128, 0, 0),
    "BTCUSDT-15m.csv.gz": (70_075, 1, 5),
    "BTCUSDT-1h.csv.gz": (61_246, 27, 122),
    "BTCUSDT-4h.csv.gz": (16_147, 8, 16),
    "BTCUSDT-1d.csv.gz": (2_694, 0, 0),
    "ETHUSDT-1m.csv.gz": (43_185, 0, 0),
    "ETHUSDT-5m.csv.gz": (15_012, 1, 60),
    "ETHUSDT-15m.csv.gz": (70_075, 1, 5),
    "ETHUSDT-1h.csv.gz": (61_246, 27, 122),
    "ETHUSDT-4h.csv.gz": (16_147, 8, 16),
    "ETHUSDT-1d.csv.gz": (2_694, 0, 0),
    "um_futures/FILUSDT-1m.csv.gz": (175_680, 0, 0),
}


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _readme_gaps(shared_dir: Path) -> dict[str, list[tuple[int, int, int]]]:
    """The README's "Gaps per file" section: file -> [(first missing, last missing, count)]."""
    text = (shared_dir / "README.md").read_text()
    section = text.split("## Gaps per file", 1)[1].split("\n## ", 1)[0]
    out: dict[str, list[tuple[int, int, int]]] = {}
    for m in re.finditer(r"^- `([^`]+)` — \d+ gap\(s\): (.+)$", section, flags=re.M):
        gaps = []
        for part in m.group(2).split("; "):
            g = re.fullmatch(r"(\S+)(?: – (\S+))? \((\d+)\)", part.strip())
            assert g, part
            first = _ms(g.group(1))
            gaps.append((first, _ms(g.group(2)) if g.group(2) else first, int(g.group(3))))
        out[m.group(1)] = gaps
    return out


@pytest.mark.parametrize("name", sorted(SHARED_TABLE))
def test_shared_files_match_the_readme_table(
    shared_candles: Callable[[str], CandleFrame], shared_dir: Path, name: str
) -> None:
    report = validate_frame(shared_candles(name))
    rows, gaps, missing = SHARED_TABLE[name]
    assert report.ok, [str(e) for e in report.errors]
    assert (report.rows, len(report.gaps), report.missing) == (rows, gaps, missing)
    listed = _readme_gaps(shared_dir).get(name.split("/")[-1], [])
    assert [(g.first_missing, g.last_missing, g.missing) for g in report.gaps] == listed
    symbol, interval = name.split("/")[-1].removesuffix(".csv.gz").split("-")
    assert (report.symbol, report.interval) == (symbol, interval)


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("BTCUSDT-1h.csv.gz", 12),
        ("BTCUSDT-4h.csv.gz", 21),
        ("BNBUSDT-4h.csv.gz", 20),
        ("ETHUSDT-15m.csv.gz", 1),
    ],
)
def test_halted_short_candles_are_warnings(
    shared_candles: Callable[[str], CandleFrame], name: str, short: int
) -> None:
    report = validate_frame(shared_candles(name))
    assert report.ok and report.short_candles == short
    warning = next(w for w in report.warnings if w.code == "short_candle")
    assert warning.message.startswith(f"{short} candle(s) with close_time before open_time + interval - 1")


def test_gap_records_name_the_candles_around_them(shared_candles: Callable[[str], CandleFrame]) -> None:
    report = validate_frame(shared_candles("BTCUSDT-15m.csv.gz"))
    (gap,) = report.gaps
    assert (iso(gap.before_open_time), iso(gap.after_open_time), gap.missing) == (
        "2023-03-24T12:30:00Z",
        "2023-03-24T14:00:00Z",
        5,
    )
    assert (iso(gap.first_missing), iso(gap.last_missing)) == ("2023-03-24T12:45:00Z", "2023-03-24T13:45:00Z")
    assert gap.line == 7829  # header + 7828th candle
    assert "1 gap(s), 5 missing candle(s)" in str(next(w for w in report.warnings if w.code == "gap"))


def _frame(n: int = 6, step: int = 3_600_000, start: int = 1_704_067_200_000) -> pd.DataFrame:
    ot = start + step * np.arange(n, dtype=np.int64)
    price = 100.0 + np.arange(n)
    return pd.DataFrame(
        {
            "open_time": ot,
            "open": price,
            "high": price + 2,
            "low": price - 1,
            "close": price + 1,
            "volume": np.full(n, 10.0),
            "close_time": ot + step - 1,
        }
    )


def _report(frame: pd.DataFrame, interval: str | None = "1h", max_examples: int = 5):  # type: ignore[no-untyped-def]
    return validate_frame(
        from_frame(frame, symbol="BTCUSDT", interval=interval, source="mem.csv"), max_examples=max_examples
    )


def test_clean_frame_passes_with_no_warnings() -> None:
    report = _report(_frame())
    assert report.ok and not report.warnings and report.rows == 6 and report.optional == ()
    assert (report.price_min, report.price_max) == (99.0, 107.0)
    report.raise_for_errors()


START = 1_704_067_200_000
HOUR = 3_600_000


@pytest.mark.parametrize(
    ("column", "row", "value", "code", "needle"),
    [
        ("close", 2, np.nan, "nan", "close is NaN"),
        ("open", 1, -5.0, "negative", "open must be > 0, got -5.0"),
        ("low", 3, 104.5, "ohlc", "low 104.5 > open 103.0"),
        ("high", 2, 102.5, "ohlc", "high 102.5 < close 103.0"),
        ("open_time", 4, START + 4 * HOUR - 60_000, "alignment", "is not on the 1h grid"),
        ("close_time", 0, START - 1, "close_time", "close_time 1704067199999 is before open_time"),
        ("close_time", 5, START + 6 * HOUR, "close_time", "is after the 1h candle's end"),
        ("open_time", 3, START + 2 * HOUR, "duplicate", "duplicate open_time 1704074400000"),
    ],
)
def test_each_check_names_its_row(column: str, row: int, value: float, code: str, needle: str) -> None:
    frame = _frame()
    frame[column] = frame[column].astype(float)
    frame.loc[row, column] = value
    report = _report(frame)
    assert not report.ok
    first = report.errors[0]
    assert (first.code, first.line) == (code, row + 1)
    assert needle in first.message and str(first).startswith(f"mem.csv: line {row + 1}: ")


def test_optional_columns_checked_only_when_carried() -> None:
    frame = _frame()
    frame["quote_volume"] = 1000.0
    frame["taker_buy_quote"] = 400.0
    frame.loc[5, "taker_buy_quote"] = 2000.0
    frame.loc[2, "quote_volume"] = np.nan
    report = _report(frame)
    assert [(e.code, e.line) for e in report.errors] == [("nan", 3), ("taker", 6)]
    assert "taker_buy_quote 2000.0 > quote_volume 1000.0" in report.errors[1].message


def test_many_errors_are_counted_and_summarized() -> None:
    frame = _frame(40)
    frame["high"] = frame["low"] - 1  # every row: high < low
    report = _report(frame, max_examples=3)
    assert report.error_count == 40
    assert [e.line for e in report.errors] == [1, 2, 3, 4]
    assert report.errors[-1].message == "... and 37 more like line 1"


def test_errors_sorted_by_line_and_first_is_raised() -> None:
    frame = _frame()
    frame.loc[4, "high"] = 10.0  # high < low on line 5
    frame.loc[1, "volume"] = -1.0  # negative on line 2
    report = _report(frame)
    assert [e.line for e in report.errors] == [2, 5]
    with pytest.raises(DataError, match=r"^mem.csv: line 2: volume must be >= 0, got -1.0$") as info:
        report.raise_for_errors()
    assert (info.value.path, info.value.line) == ("mem.csv", 2)


def test_empty_and_unknown_interval_fail() -> None:
    assert [e.code for e in _report(_frame(0)).errors] == ["empty"]
    one = _report(_frame(1), interval=None)
    assert [e.code for e in one.errors] == ["interval"] and "pass it explicitly" in str(one.errors[0])


def test_weekly_and_monthly_grids() -> None:
    week = _frame(3, step=7 * 86_400_000, start=1_704_067_200_000)  # 2024-01-01 was a Monday
    assert _report(week, interval="1w").ok
    months = [1_704_067_200_000, 1_706_745_600_000, 1_709_251_200_000]  # Jan, Feb, Mar 2024
    frame = _frame(3)
    frame["open_time"] = months
    frame["close_time"] = [1_706_745_599_999, 1_709_251_199_999, 1_711_929_599_999]
    assert _report(frame, interval="1M").ok
    frame.loc[2, "open_time"] = 1_711_929_600_000  # April: March is missing
    frame.loc[2, "close_time"] = 1_714_521_599_999
    report = _report(frame, interval="1M")
    assert report.ok and [g.missing for g in report.gaps] == [1]


def test_validate_candles_reports_parse_errors_instead_of_raising(malformed_dir: Path) -> None:
    report = validate_candles(malformed_dir / "BTCUSDT-1h-truncated.csv")
    assert not report.ok and report.rows == 0 and (report.symbol, report.interval) == ("BTCUSDT", "1h")
    (issue,) = report.errors
    assert (issue.code, issue.line) == ("parse", 17)
    assert str(issue).endswith("BTCUSDT-1h-truncated.csv: line 17: truncated line: expected 12 fields, got 3")


def test_validate_candles_accepts_frames_and_paths(valid_dir: Path) -> None:
    path = valid_dir / "BTCUSDT-1h-2024-01.zip"
    assert validate_candles(path).summary() == validate_candles(read_candles(path)).summary()
    assert validate_candles(path).summary().startswith("OK   ")
