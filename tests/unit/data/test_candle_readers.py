"""Readers: every supported layout, exact values, and malformed input named by file and line."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from binance_bot.data import (
    COLUMNS,
    DTYPES,
    OPTIONAL,
    CandleFrame,
    infer_symbol_interval,
    read_bars,
    read_candles,
    to_bars,
)
from binance_bot.errors import DataError

BTC_ROW_1 = (
    "1704067200000,42283.58000000,42554.57000000,42261.02000000,42475.23000000,1271.68108000,"
    "1704070799999,53957248.97378900,47134,682.57581000,28957416.81964500,0"
)


@pytest.mark.parametrize(
    ("name", "symbol", "interval", "fmt", "rows", "first_line"),
    [
        ("BTCUSDT-1h-2024-01.csv", "BTCUSDT", "1h", "binance-csv", 48, 1),
        ("BTCUSDT-1h-2024-01.zip", "BTCUSDT", "1h", "binance-csv", 48, 1),
        ("ETHUSDT-15m-2024-12-31.csv", "ETHUSDT", "15m", "binance-csv", 24, 1),
        ("FILUSDT-1m-2023-08-01.csv", "FILUSDT", "1m", "binance-csv", 30, 2),
        ("BNBUSDT-4h.json", "BNBUSDT", "4h", "klines-json", 20, 2),
        ("BTCUSDT-1m.csv.gz", "BTCUSDT", "1m", "normalized-csv", 60, 2),
    ],
)
def test_reads_every_layout(
    valid_dir: Path, name: str, symbol: str, interval: str, fmt: str, rows: int, first_line: int
) -> None:
    candles = read_candles(valid_dir / name)
    assert (candles.symbol, candles.interval, candles.format, len(candles)) == (symbol, interval, fmt, rows)
    assert list(candles.frame.columns) == list(COLUMNS)
    assert {c: candles.frame[c].dtype for c in COLUMNS} == DTYPES
    assert candles.lines[0] == first_line and candles.lines[-1] == first_line + rows - 1
    ot = candles.frame["open_time"].to_numpy()
    assert np.all(np.diff(ot) > 0) and 1.5e12 < ot[0] < 1.8e12  # milliseconds, in order


def test_public_csv_values_are_the_file_text(valid_dir: Path) -> None:
    first = read_candles(valid_dir / "BTCUSDT-1h-2024-01.csv").frame.iloc[0]
    expected = [float(x) for x in BTC_ROW_1.split(",")[:11]]
    assert [float(first[c]) for c in COLUMNS] == expected


def test_zip_equals_plain_csv(valid_dir: Path) -> None:
    plain = read_candles(valid_dir / "BTCUSDT-1h-2024-01.csv")
    zipped = read_candles(valid_dir / "BTCUSDT-1h-2024-01.zip")
    pd.testing.assert_frame_equal(plain.frame, zipped.frame)
    assert zipped.source.endswith("BTCUSDT-1h-2024-01.zip:BTCUSDT-1h-2024-01.csv")


def test_microsecond_timestamps_become_milliseconds(valid_dir: Path) -> None:
    candles = read_candles(valid_dir / "ETHUSDT-15m-2024-12-31.csv")
    assert candles.frame["open_time"].iat[0] == 1_735_603_200_000
    assert candles.frame["close_time"].iat[0] == 1_735_603_200_000 + 15 * 60_000 - 1
    assert candles.frame["open"].iat[0] == 3361.83


def test_futures_header_names_are_mapped(valid_dir: Path) -> None:
    frame = read_candles(valid_dir / "FILUSDT-1m-2023-08-01.csv").frame
    row = frame.iloc[0]
    assert (row["trades"], row["taker_buy_base"], row["taker_buy_quote"]) == (208.0, 5452.3, 23199.1103)


def test_klines_json_keeps_every_field(valid_dir: Path) -> None:
    candles = read_candles(valid_dir / "BNBUSDT-4h.json")
    row = candles.frame.iloc[0]
    assert row["open_time"] == 1_704_067_200_000 and row["close_time"] == 1_704_081_599_999
    assert (row["open"], row["high"], row["low"], row["close"]) == (311.9, 316.0, 308.8, 309.2)
    assert row["trades"] == 44305 and candles.optional == OPTIONAL


def test_normalized_file_without_extras_marks_them_absent(valid_dir: Path) -> None:
    candles = read_candles(valid_dir / "BTCUSDT-1m.csv.gz")
    assert candles.optional == ()
    assert candles.frame[list(OPTIONAL)].isna().all().all()
    assert candles.frame["close_time"].iat[0] == candles.frame["open_time"].iat[0] + 59_999


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("BTCUSDT-1h.csv.gz", ("BTCUSDT", "1h")),
        ("BTCUSDT-1m-2024-01.zip", ("BTCUSDT", "1m")),
        ("BTCUSDT-1h-2025-01-31.csv", ("BTCUSDT", "1h")),
        ("BTC_USDT-5m.json", ("BTCUSDT", "5m")),
        ("ETHBTC-1M-2024.csv", ("ETHBTC", "1M")),
        ("FILUSDT-1m.parquet", ("FILUSDT", "1m")),
        ("candles.parquet", (None, None)),
        ("BTCUSDT-7x.csv", (None, None)),
        ("BTCUSDT-7m.csv", ("BTCUSDT", None)),
    ],
)
def test_infers_symbol_and_interval_from_the_name(name: str, expected: tuple[str | None, str | None]) -> None:
    assert infer_symbol_interval(Path("some/dir") / name) == expected


def test_explicit_symbol_and_interval_win(valid_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "klines.csv"
    target.write_bytes((valid_dir / "BTCUSDT-1h-2024-01.csv").read_bytes())
    inferred = read_candles(target)
    assert (inferred.symbol, inferred.interval) == (None, "1h")  # interval from the spacing
    named = read_candles(target, symbol="BTCUSDT", interval="1h")
    assert (named.symbol, named.interval) == ("BTCUSDT", "1h")


# ----------------------------------------------------------------------------- malformed files
@pytest.mark.parametrize(
    ("name", "line", "needle"),
    [
        ("BTCUSDT-1h-truncated.csv", 17, "truncated line: expected 12 fields, got 3"),
        ("BTCUSDT-1h-text.csv", 9, "close: not a number: 'abc'"),
        (
            "BTCUSDT-1h-duplicate.csv",
            13,
            "duplicate open_time 1704106800000 (2024-01-01T11:00:00Z), also on line 12",
        ),
        ("BTCUSDT-1h-highlow.csv", 17, "high 100.0 < low 101.0"),
        ("BTCUSDT-1h-nan.csv", 5, "volume: not a number: 'NaN'"),
        (
            "ETHUSDT-15m-mixed-units.csv",
            10,
            "open_time 1735611300000 is in milliseconds but line 1 is in microseconds",
        ),
        ("BNBUSDT-4h-short.json", 6, "expected a kline array of 12 values, got 6 values"),
    ],
)
def test_malformed_files_name_file_and_line(malformed_dir: Path, name: str, line: int, needle: str) -> None:
    with pytest.raises(DataError) as info:
        read_candles(malformed_dir / name)
    err = info.value
    assert err.line == line
    assert err.path is not None and err.path.endswith(name)
    assert f"{name}: line {line}: {needle}" in str(err)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


HEADER = ",".join(COLUMNS)
GOOD = [
    "1704067200000,100,101,99,100.5,10,1704070799999,1000,5,4,400",
    "1704070800000,100.5,102,100,101,11,1704074399999,1100,6,5,500",
    "1704074400000,101,103,100.5,102,12,1704077999999,1200,7,6,600",
]


def _csv(*rows: str, header: bool = True) -> str:
    return "\n".join([HEADER, *rows] if header else list(rows)) + "\n"


@pytest.mark.parametrize(
    ("rows", "line", "needle"),
    [
        # line numbers count the header line
        ((GOOD[0], GOOD[1].replace(",102,100,", ",100.4,100,"), GOOD[2]), 3, "high 100.4 < open 100.5"),
        ((GOOD[0], "", GOOD[1]), 3, "empty line inside the data"),
        (
            (GOOD[0], GOOD[1].replace(",1100,", ",,"), GOOD[2]),
            3,
            "quote_volume: empty here but filled on line 2",
        ),
        (
            (GOOD[0], GOOD[1], GOOD[2].replace("1704074400000", "17040744OOOOO")),
            4,
            "open_time: not an integer",
        ),
        ((GOOD[0], GOOD[1].replace(",6,5,", ",6.5,5,"), GOOD[2]), 3, "trades: not an integer: '6.5'"),
        ((GOOD[0], GOOD[1].replace(",101,11,", ",inf,11,"), GOOD[2]), 3, "close: not a number: 'inf'"),
        ((GOOD[0], GOOD[1] + ",7"), 3, "too many fields: expected 11 fields, got 12"),
        ((GOOD[0], GOOD[1].replace(",11,", ",-11,"), GOOD[2]), 3, "volume must be >= 0, got -11.0"),
        ((GOOD[0], GOOD[1].replace(",5,500", ",12,500")), 3, "taker_buy_base 12.0 > volume 11.0"),
        ((GOOD[0], GOOD[2], GOOD[1]), 4, "is before the previous candle's 1704074400000 (line 3)"),
        ((GOOD[0], GOOD[1].replace("1704070800000", "1704070860000")), 3, "is not on the 1h grid"),
        ((GOOD[0], GOOD[1].replace("1704074399999", "1704074400000")), 3, "is after the 1h candle's end"),
    ],
)
def test_inline_malformed_cases(tmp_path: Path, rows: tuple[str, ...], line: int, needle: str) -> None:
    path = _write(tmp_path / "BTCUSDT-1h.csv", _csv(*rows))
    with pytest.raises(DataError) as info:
        read_candles(path)
    assert info.value.line == line
    assert f"BTCUSDT-1h.csv: line {line}: " in str(info.value) and needle in str(info.value)


def test_trailing_blank_lines_are_fine(tmp_path: Path) -> None:
    path = _write(tmp_path / "BTCUSDT-1h.csv", _csv(*GOOD) + "\n\n")
    assert len(read_candles(path)) == 3


def test_header_problems_point_at_line_1(tmp_path: Path) -> None:
    path = _write(tmp_path / "BTCUSDT-1h.csv", _csv(*GOOD).replace("trades", "tardes"))
    with pytest.raises(DataError, match=r"BTCUSDT-1h.csv: line 1: unknown column 'tardes'") as info:
        read_candles(path)
    assert info.value.line == 1
    wrong_width = _write(tmp_path / "ETHUSDT-1h.csv", "1704067200000,1,2,3\n")
    with pytest.raises(DataError, match=r"line 1: expected 12 fields .* got 4"):
        read_candles(wrong_width)


def test_header_without_close_time_derives_it(tmp_path: Path) -> None:
    text = "open_time,open,high,low,close,volume\n1704067200000,1,2,0.5,1.5,3\n1704070800000,1.5,2,1,1,4\n"
    candles = read_candles(_write(tmp_path / "BTCUSDT-1h.csv", text))
    assert candles.frame["close_time"].tolist() == [1704070799999, 1704074399999]


def test_check_false_returns_invalid_candles_but_still_rejects_bad_syntax(malformed_dir: Path) -> None:
    candles = read_candles(malformed_dir / "BTCUSDT-1h-highlow.csv", check=False)
    assert candles.frame["high"].iat[16] == 100.0 and candles.line_of(16) == 17
    with pytest.raises(DataError, match="line 9"):
        read_candles(malformed_dir / "BTCUSDT-1h-text.csv", check=False)


def test_container_problems(tmp_path: Path) -> None:
    two = tmp_path / "BTCUSDT-1h-2024-01.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a.csv", GOOD[0])
        zf.writestr("b.csv", GOOD[1])
    with pytest.raises(DataError, match="expected one CSV file in the zip, found a.csv, b.csv"):
        read_candles(two)
    not_gz = _write(tmp_path / "BTCUSDT-1h.csv.gz", "plain text")
    with pytest.raises(DataError, match="not a valid gzip file"):
        read_candles(not_gz)
    broken_json = _write(tmp_path / "BTCUSDT-1h.json", '[\n  [1704067200000, "1", "2",\n')
    with pytest.raises(DataError, match=r"BTCUSDT-1h.json: line \d+: invalid JSON"):
        read_candles(broken_json)
    with pytest.raises(DataError, match="cannot read"):
        read_candles(tmp_path / "missing-1h.csv")


def test_gzip_zip_and_json_roundtrip_the_same_candles(tmp_path: Path, valid_dir: Path) -> None:
    text = (valid_dir / "BTCUSDT-1h-2024-01.csv").read_text()
    (tmp_path / "BTCUSDT-1h.csv.gz").write_bytes(gzip.compress(text.encode()))
    rows = list(csv.reader(io.StringIO(text)))
    klines = ",".join(
        f'[{r[0]},"{r[1]}","{r[2]}","{r[3]}","{r[4]}","{r[5]}",{r[6]},"{r[7]}",{r[8]},"{r[9]}","{r[10]}","0"]'
        for r in rows
    )
    _write(tmp_path / "BTCUSDT-1h.json", f"[{klines}]")
    ref = read_candles(valid_dir / "BTCUSDT-1h-2024-01.csv").frame
    pd.testing.assert_frame_equal(read_candles(tmp_path / "BTCUSDT-1h.csv.gz").frame, ref)
    single_line = read_candles(tmp_path / "BTCUSDT-1h.json")
    pd.testing.assert_frame_equal(single_line.frame, ref)
    assert set(single_line.lines.tolist()) == {1}  # a one-line REST response: every kline on line 1


# ----------------------------------------------------------------------------- exact decimals
def test_read_bars_is_the_exact_file_text(valid_dir: Path) -> None:
    path = valid_dir / "BTCUSDT-1h-2024-01.csv"
    bars = read_bars(path)
    text_rows = list(csv.reader(path.read_text().splitlines()))
    assert len(bars) == len(text_rows) == 48
    for bar, row in zip(bars, text_rows, strict=True):
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == tuple(Decimal(x) for x in row[1:6])
        assert (bar.quote_volume, bar.trades, bar.taker_buy_base, bar.taker_buy_quote) == (
            Decimal(row[7]),
            int(row[8]),
            Decimal(row[9]),
            Decimal(row[10]),
        )
    assert bars[0].symbol == "BTCUSDT" and bars[0].interval == "1h" and bars[0].close_time == 1704070799999


def test_float_frame_gives_back_exact_prices(valid_dir: Path) -> None:
    candles = read_candles(valid_dir / "BNBUSDT-4h.json")
    exact = read_bars(valid_dir / "BNBUSDT-4h.json")
    via_float = candles.to_bars()
    for a, b in zip(exact, via_float, strict=True):
        assert (a.open, a.high, a.low, a.close, a.volume, a.taker_buy_base) == (
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            b.taker_buy_base,
        )
    assert to_bars(candles.frame, "BNBUSDT", "4h") == via_float


def test_shared_prices_and_volumes_survive_the_float_frame(
    shared_candles: Callable[[str], CandleFrame],
) -> None:
    """Every shared price and base volume has <= 15 digits, so repr(float) is its text."""
    candles = shared_candles("BTCUSDT-1d.csv.gz")
    exact = read_bars(candles.source)
    via_float = candles.to_bars()
    for a, b in zip(exact, via_float, strict=True):
        assert (a.open, a.high, a.low, a.close, a.volume) == (b.open, b.high, b.low, b.close, b.volume)
    # 1d quote volumes reach 19 digits: only the text path keeps them exact
    assert max(len(str(b.quote_volume).replace(".", "").lstrip("0")) for b in exact) > 15


@pytest.mark.parametrize("name", ["BTCUSDT-1h.csv.gz", "ETHUSDT-1m.csv.gz", "um_futures/FILUSDT-1m.csv.gz"])
def test_reads_shared_files(shared_candles: Callable[[str], CandleFrame], name: str) -> None:
    candles = shared_candles(name)
    symbol, interval = name.split("/")[-1].removesuffix(".csv.gz").split("-")
    assert (candles.symbol, candles.interval, candles.format) == (symbol, interval, "normalized-csv")
    assert candles.lines[0] == 2 and len(candles) == candles.lines[-1] - 1


def test_foreign_parquet_with_datetime_or_microsecond_times(tmp_path: Path, valid_dir: Path) -> None:
    ref = read_candles(valid_dir / "BTCUSDT-1h-2024-01.csv")
    as_datetimes = ref.frame.assign(
        open_time=pd.to_datetime(ref.frame["open_time"], unit="ms", utc=True),
        close_time=pd.to_datetime(ref.frame["close_time"], unit="ms", utc=True),
    )
    as_datetimes.to_parquet(tmp_path / "BTCUSDT-1h-dt.parquet")
    pd.testing.assert_frame_equal(read_candles(tmp_path / "BTCUSDT-1h-dt.parquet").frame, ref.frame)
    micros = ref.frame.assign(
        open_time=ref.frame["open_time"] * 1000, close_time=ref.frame["close_time"] * 1000 + 999
    )
    micros.to_parquet(tmp_path / "BTCUSDT-1h-us.parquet")
    back = read_candles(tmp_path / "BTCUSDT-1h-us.parquet")
    pd.testing.assert_frame_equal(back.frame, ref.frame)
    assert (back.symbol, back.interval, back.format) == ("BTCUSDT", "1h", "parquet")
    ref.frame.drop(columns=["close"]).to_parquet(tmp_path / "BTCUSDT-1h-bad.parquet")
    with pytest.raises(DataError, match="lacks required column"):
        read_candles(tmp_path / "BTCUSDT-1h-bad.parquet")


def test_nan_text_is_an_error_even_in_a_whole_column(tmp_path: Path) -> None:
    rows = [r.replace(",1000,5,4,400", ",NaN,,,").replace(",1100,6,5,500", ",NaN,,,") for r in GOOD[:2]]
    with pytest.raises(DataError, match=r"BTCUSDT-1h.csv: line 2: quote_volume: not a number: 'NaN'"):
        read_candles(_write(tmp_path / "BTCUSDT-1h.csv", _csv(*rows)))


def test_bars_to_frame_and_empty_frame(valid_dir: Path) -> None:
    from binance_bot.data import bars_to_frame, empty_frame

    path = valid_dir / "BTCUSDT-1h-2024-01.csv"
    pd.testing.assert_frame_equal(bars_to_frame(read_bars(path)), read_candles(path).frame)
    assert bars_to_frame(read_bars(path), optional=False)[list(OPTIONAL)].isna().all().all()
    empty = empty_frame()
    assert len(empty) == 0 and {c: empty[c].dtype for c in COLUMNS} == DTYPES
