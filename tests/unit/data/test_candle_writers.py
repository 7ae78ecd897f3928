"""The normalized CSV writer: the shared folder's exact text, reproducible bytes."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from binance_bot.data import CandleFrame, candles_csv_text, generate_candles, read_candles, write_candles_csv


def test_rewriting_a_shared_file_gives_its_text_back(
    shared_candles: Callable[[str], CandleFrame], shared_dir: Path
) -> None:
    # BTCUSDT-5m carries no field with more than 15 significant digits, so floats keep it all
    original = gzip.decompress((shared_dir / "BTCUSDT-5m.csv.gz").read_bytes()).decode()
    assert candles_csv_text(shared_candles("BTCUSDT-5m.csv.gz")) == original


def test_round_trip_and_reproducible_bytes(tmp_path: Path, valid_dir: Path) -> None:
    candles = read_candles(valid_dir / "BNBUSDT-4h.json")
    first = write_candles_csv(candles, tmp_path / "one" / "BNBUSDT-4h.csv.gz")
    second = write_candles_csv(candles, tmp_path / "two" / "BNBUSDT-4h.csv.gz")
    assert first.read_bytes() == second.read_bytes()
    back = read_candles(first)
    pd.testing.assert_frame_equal(back.frame, candles.frame)
    assert back.format == "normalized-csv" and back.optional == candles.optional
    text = first.with_suffix("")  # plain CSV next to it
    write_candles_csv(candles, text)
    assert text.read_text() == gzip.decompress(first.read_bytes()).decode()
    assert text.read_text().splitlines()[1].startswith("1704067200000,311.9,316,308.8,309.2,106152.151,")


def test_absent_fields_stay_empty_and_large_values_stay_positional(tmp_path: Path, valid_dir: Path) -> None:
    minute = read_candles(valid_dir / "BTCUSDT-1m.csv.gz")
    assert candles_csv_text(minute).splitlines()[1].endswith(",1722003359999,,,,")
    big = generate_candles("BTCUSDT", "1d", count=3, seed=1)
    frame = big.frame.copy()
    frame["quote_volume"] = 1.5e17
    line = candles_csv_text(CandleFrame(frame, "BTCUSDT", "1d", "mem", "memory", big.lines)).splitlines()[1]
    assert ",150000000000000000," in line and "e+" not in line
