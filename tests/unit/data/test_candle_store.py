"""The Parquet candle cache: layout, round trip, resume, range reads, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from binance_bot.data import COLUMNS, CandleFrame, CandleStore, read_candles
from binance_bot.errors import DataError

HOUR = 3_600_000


@pytest.fixture
def btc(valid_dir: Path) -> CandleFrame:
    return read_candles(valid_dir / "BTCUSDT-1h-2024-01.csv")


def test_layout_schema_and_metadata(tmp_path: Path, btc: CandleFrame) -> None:
    store = CandleStore(tmp_path)
    path = store.write(btc)
    assert path == tmp_path / "interval=1h" / "symbol=BTCUSDT" / "candles.parquet"
    schema = pq.read_schema(path)
    assert schema.names == list(COLUMNS)
    assert schema.field("open_time").type == pa.int64() and schema.field("close").type == pa.float64()
    assert schema.metadata[b"binance_bot:symbol"] == b"BTCUSDT"
    assert schema.metadata[b"binance_bot:interval"] == b"1h"
    assert schema.metadata[b"binance_bot:schema"] == b"candles/1"
    assert store.entries() == [("BTCUSDT", "1h")]


def test_round_trip_keeps_values_and_absent_fields(tmp_path: Path, btc: CandleFrame, valid_dir: Path) -> None:
    store = CandleStore(tmp_path)
    store.write(btc)
    back = store.read("BTCUSDT", "1h")
    pd.testing.assert_frame_equal(back.frame, btc.frame)
    assert (back.symbol, back.interval, back.format, back.optional) == (
        "BTCUSDT",
        "1h",
        "parquet",
        btc.optional,
    )
    minute = read_candles(valid_dir / "BTCUSDT-1m.csv.gz")  # no quote volume, trades, taker fields
    store.write(minute)
    again = store.read("BTCUSDT", "1m")
    pd.testing.assert_frame_equal(again.frame, minute.frame)
    assert again.optional == ()
    # the file is a plain Parquet file any process can open by path, and read_candles too
    by_path = read_candles(store.path_for("BTCUSDT", "1m"))
    assert (by_path.symbol, by_path.interval, len(by_path)) == ("BTCUSDT", "1m", 60)
    assert pd.read_parquet(store.path_for("BTCUSDT", "1m"))["quote_volume"].isna().all()


def test_append_resumes_and_newer_rows_win(tmp_path: Path, btc: CandleFrame) -> None:
    store = CandleStore(tmp_path)
    assert store.last_open_time("BTCUSDT", "1h") is None
    assert store.append(btc.take(np.arange(0))) == 0 and not store.has("BTCUSDT", "1h")  # nothing new
    assert store.append(btc.take(np.arange(30))) == 30
    last = store.last_open_time("BTCUSDT", "1h")
    assert last == btc.frame["open_time"].iat[29]
    # a downloader resumes from last + interval; an overlap of a few candles is harmless
    tail = btc.take(np.arange(26, 48))
    revised = tail.frame.copy()
    revised.loc[0, "close"] = revised.loc[0, "close"] + 1.0  # candle 26 re-downloaded, changed
    revised.loc[0, "high"] = max(revised.loc[0, "high"], revised.loc[0, "close"])
    assert store.append(CandleFrame(revised, "BTCUSDT", "1h", "download", "memory", tail.lines)) == 18
    merged = store.read("BTCUSDT", "1h").frame
    assert len(merged) == 48 and merged["open_time"].is_monotonic_increasing
    assert merged["close"].iat[26] == btc.frame["close"].iat[26] + 1.0
    assert store.last_open_time("BTCUSDT", "1h") == btc.last_open_time
    assert store.first_open_time("BTCUSDT", "1h") == btc.first_open_time
    assert store.delete("BTCUSDT", "1h") and store.last_open_time("BTCUSDT", "1h") is None


def test_range_reads(tmp_path: Path, btc: CandleFrame) -> None:
    store = CandleStore(tmp_path)
    store.write(btc)
    start = btc.first_open_time or 0
    part = store.read("BTCUSDT", "1h", start + 10 * HOUR, start + 20 * HOUR)
    assert part.frame["open_time"].tolist() == [start + k * HOUR for k in range(10, 20)]
    assert len(store.read("BTCUSDT", "1h", start_ms=start + 40 * HOUR)) == 8
    assert len(store.read("BTCUSDT", "1h", end_ms=start)) == 0


def test_invalid_candles_never_reach_the_cache(tmp_path: Path, btc: CandleFrame, malformed_dir: Path) -> None:
    store = CandleStore(tmp_path)
    store.write(btc)
    before = store.path_for("BTCUSDT", "1h").read_bytes()
    bad = read_candles(malformed_dir / "BTCUSDT-1h-highlow.csv", check=False)
    with pytest.raises(DataError, match=r"BTCUSDT-1h-highlow.csv: line 17: high 100.0 < low 101.0"):
        store.append(bad)
    assert store.path_for("BTCUSDT", "1h").read_bytes() == before
    assert [p.name for p in store.path_for("BTCUSDT", "1h").parent.iterdir()] == ["candles.parquet"]


def test_import_file_and_hive_discovery(tmp_path: Path, valid_dir: Path) -> None:
    store = CandleStore(tmp_path)
    assert store.import_file(valid_dir / "BTCUSDT-1h-2024-01.zip") == 48
    assert store.import_file(valid_dir / "BNBUSDT-4h.json") == 20
    assert store.import_file(valid_dir / "ETHUSDT-15m-2024-12-31.csv") == 24
    assert store.entries() == [("BNBUSDT", "4h"), ("BTCUSDT", "1h"), ("ETHUSDT", "15m")]
    table = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table()
    counts = table.group_by(["symbol", "interval"]).aggregate([("open_time", "count")]).to_pylist()
    assert sorted((r["symbol"], r["interval"], r["open_time_count"]) for r in counts) == [
        ("BNBUSDT", "4h", 20),
        ("BTCUSDT", "1h", 48),
        ("ETHUSDT", "15m", 24),
    ]


def test_missing_and_bad_names(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    with pytest.raises(DataError, match="no cached candles for BTCUSDT 1h"):
        store.read("BTCUSDT", "1h")
    with pytest.raises(ValueError, match="symbol must be"):
        store.path_for("../etc", "1h")
    with pytest.raises(ValueError, match="unknown interval"):
        store.path_for("BTCUSDT", "2m")
    assert not store.has("BTCUSDT", "1h") and not store.delete("BTCUSDT", "1h")
    corrupt = store.path_for("ETHUSDT", "1h")
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"not parquet")
    with pytest.raises(DataError, match="cannot read Parquet"):
        store.read("ETHUSDT", "1h")
    with pytest.raises(DataError, match="cannot read Parquet"):
        store.last_open_time("ETHUSDT", "1h")
