"""Resampling against Binance's own higher-interval candles in the shared files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from binance_bot.data import CandleFrame, from_frame, read_bars, read_candles, resample, resample_bars
from binance_bot.data.validation import iso

PRICES = ("open", "high", "low", "close", "close_time")
SUMS = ("volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")


@pytest.mark.parametrize(
    ("fine", "coarse", "not_in_fine"),
    [
        ("BTCUSDT-1m", "BTCUSDT-15m", 0),
        ("ETHUSDT-1m", "ETHUSDT-15m", 0),
        ("BTCUSDT-1m", "BTCUSDT-1h", 0),
        ("BTCUSDT-5m", "BTCUSDT-15m", 0),
        ("BTCUSDT-5m", "BTCUSDT-4h", 0),
        ("BTCUSDT-15m", "BTCUSDT-1h", 0),
        ("ETHUSDT-15m", "ETHUSDT-1h", 0),
        ("BNBUSDT-15m", "BNBUSDT-4h", 0),
        ("BTCUSDT-1h", "BTCUSDT-4h", 0),
        ("ETHUSDT-1h", "ETHUSDT-4h", 0),
        ("BTCUSDT-1h", "BTCUSDT-1d", 0),
        ("BNBUSDT-1h", "BNBUSDT-1d", 0),
        ("ETHUSDT-4h", "ETHUSDT-1d", 0),
        # The 5m files lack 2021-04-25 04:00-08:55 entirely while Binance's 1h file has
        # candles at 04:00 and 08:00 (its own gap is 05:00-07:00): a hole in that source.
        ("BNBUSDT-5m", "BNBUSDT-1h", 2),
        ("ETHUSDT-5m", "ETHUSDT-1h", 2),
    ],
)
def test_resampling_equals_binance_candles(
    shared_candles: Callable[[str], CandleFrame],
    fine: str,
    coarse: str,
    not_in_fine: int,
) -> None:
    src = shared_candles(f"{fine}.csv.gz")
    ref = shared_candles(f"{coarse}.csv.gz")
    out = resample(src, ref.interval or "")
    ours = out.frame
    theirs = ref.between(out.first_open_time, (out.last_open_time or 0) + 1).frame
    merged = ours.merge(theirs, on="open_time", suffixes=("", "_ref"), how="outer", indicator=True)
    assert (merged["_merge"] == "left_only").sum() == 0  # every candle we build, Binance has
    assert (merged["_merge"] == "right_only").sum() == not_in_fine
    both = merged[merged["_merge"] == "both"]
    assert len(both) > 100
    for c in PRICES:
        differs = both.loc[both[c] != both[f"{c}_ref"], "open_time"]
        assert [iso(int(t)) for t in differs] == [], c
    for c in SUMS:
        if c == "volume" or c in src.optional:
            np.testing.assert_allclose(both[c], both[f"{c}_ref"], rtol=1e-9, atol=0, err_msg=c)
        else:
            assert both[c].isna().all()


def test_exact_decimal_resampling_equals_binance_daily_candles(shared_dir: Path) -> None:
    """Summing 1h quote volumes as Decimals gives Binance's 1d text exactly, all 19 digits."""
    hourly = read_bars(shared_dir / "BTCUSDT-1h.csv.gz")
    daily = {b.open_time: b for b in read_bars(shared_dir / "BTCUSDT-1d.csv.gz")}
    built = resample_bars(hourly, "1d")
    assert len(built) == 2557
    assert all(b == daily[b.open_time] for b in built)


def test_edge_buckets_are_dropped_unless_kept(shared_candles: Callable[[str], CandleFrame]) -> None:
    src = shared_candles("BTCUSDT-1m.csv.gz")  # 2024-07-26 14:15 .. 2024-08-25 14:14
    dropped = resample(src, "1h")
    assert (iso(dropped.first_open_time or 0), iso(dropped.last_open_time or 0)) == (
        "2024-07-26T15:00:00Z",
        "2024-08-25T13:00:00Z",
    )
    kept = resample(src, "1h", partial="keep")
    assert len(kept) == len(dropped) + 2
    first = kept.frame.iloc[0]
    assert iso(int(first["open_time"])) == "2024-07-26T14:00:00Z"
    assert first["open"] == src.frame["open"].iat[0]
    assert first["volume"] == pytest.approx(src.frame["volume"].iloc[:45].sum(), rel=1e-12)
    assert kept.lines[0] == 2 and dropped.lines[0] == src.lines[45]


def test_interior_bucket_with_missing_candles(shared_candles: Callable[[str], CandleFrame]) -> None:
    src = shared_candles("BTCUSDT-15m.csv.gz")  # 12:30 is short, 12:45-13:45 missing (halt)
    halt = 1_679_659_200_000  # 2023-03-24T12:00Z
    kept = resample(src, "1h").frame.set_index("open_time")
    hourly = shared_candles("BTCUSDT-1h.csv.gz").frame.set_index("open_time")
    assert kept.loc[halt, "close_time"] == hourly.loc[halt, "close_time"] == 1_679_661_581_646
    assert kept.loc[halt, "high"] == hourly.loc[halt, "high"]
    dropped = resample(src, "1h", incomplete="drop").frame
    assert halt not in set(dropped["open_time"]) and len(dropped) == len(kept) - 1


def _hourly(n: int) -> CandleFrame:
    ot = 1_704_067_200_000 + 3_600_000 * np.arange(n, dtype=np.int64)
    p = 100.0 + np.arange(n, dtype=float)
    frame = pd.DataFrame(
        {
            "open_time": ot,
            "open": p,
            "high": p + 5,
            "low": p - 5,
            "close": p + 1,
            "volume": np.ones(n),
            "close_time": ot + 3_599_999,
            "trades": np.full(n, 2.0),
        }
    )
    return from_frame(frame, symbol="BTCUSDT", interval="1h")


def test_dropped_interior_buckets_do_not_leak_into_neighbours() -> None:
    candles = _hourly(12)
    holed = candles.take(np.array([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]))  # 05:00 missing
    out = resample(holed, "4h", incomplete="drop").frame
    assert out["open_time"].tolist() == [1_704_067_200_000, 1_704_067_200_000 + 8 * 3_600_000]
    assert out["high"].tolist() == [108.0, 116.0] and out["low"].tolist() == [95.0, 103.0]
    assert out["volume"].tolist() == [4.0, 4.0] and out["trades"].tolist() == [8.0, 8.0]


def test_monthly_and_weekly_buckets() -> None:
    days = _hourly(24 * 70)  # 2024-01-01 .. 2024-03-10 (70 whole days)
    monthly = resample(resample(days, "1d"), "1M", partial="keep").frame
    assert [iso(int(t))[:10] for t in monthly["open_time"]] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert monthly["volume"].tolist() == [31 * 24.0, 29 * 24.0, 10 * 24.0]
    assert monthly["close_time"].iat[0] == 1_706_745_599_999
    weekly = resample(days, "1w").frame  # 2024-01-01 is a Monday
    assert weekly["open_time"].iat[1] - weekly["open_time"].iat[0] == 7 * 86_400_000
    assert len(weekly) == 10 and (weekly["volume"] == 168.0).all()


@pytest.mark.parametrize(("source", "target"), [("1h", "15m"), ("1h", "90m"), ("3d", "1w"), ("1w", "1M")])
def test_rejects_impossible_targets(source: str, target: str) -> None:
    candles = replace(_hourly(4), interval=source)
    with pytest.raises(ValueError, match=target):
        resample(candles, target)


def test_resample_bars_matches_the_float_path(valid_dir: Path) -> None:
    path = valid_dir / "BTCUSDT-1h-2024-01.csv"
    exact = resample_bars(read_bars(path), "4h")
    floats = resample(read_candles(path), "4h")
    assert len(exact) == len(floats) == 12
    for bar, row in zip(exact, floats.frame.itertuples(), strict=True):
        assert (float(bar.open), float(bar.high), float(bar.low), float(bar.close)) == (
            row.open,
            row.high,
            row.low,
            row.close,
        )
        assert float(bar.quote_volume) == pytest.approx(row.quote_volume, rel=1e-12)
        assert bar.trades == row.trades and bar.close_time == row.close_time


def test_candles_without_trades_do_not_set_prices() -> None:
    """A halt: empty candles carry the last price; Binance's coarse candle ignores them."""
    candles = _hourly(8)
    frame = candles.frame.copy()
    for row in (0, 1):  # 00:00 and 01:00: no trades, flat at a carried price of 200
        frame.loc[row, ["open", "high", "low", "close", "volume", "trades"]] = [
            200.0,
            200.0,
            200.0,
            200.0,
            0.0,
            0.0,
        ]
    for row in (4, 5, 6, 7):  # a whole bucket without trades
        frame.loc[row, ["open", "high", "low", "close", "volume", "trades"]] = [
            150.0,
            150.0,
            150.0,
            150.0,
            0.0,
            0.0,
        ]
    out = resample(from_frame(frame, symbol="BTCUSDT", interval="1h"), "4h").frame
    first, empty = out.iloc[0], out.iloc[1]
    assert (first["open"], first["high"], first["low"], first["close"]) == (102.0, 108.0, 97.0, 104.0)
    assert (first["volume"], first["trades"]) == (2.0, 4.0)
    assert (empty["open"], empty["high"], empty["low"], empty["close"], empty["volume"]) == (
        150.0,
        150.0,
        150.0,
        150.0,
        0.0,
    )
    bars = resample_bars(from_frame(frame, symbol="BTCUSDT", interval="1h").to_bars(), "4h")
    assert [float(bars[0].open), float(bars[0].high), float(bars[1].close)] == [102.0, 108.0, 150.0]


def test_halted_4h_candle_opens_after_the_restart(shared_candles: Callable[[str], CandleFrame]) -> None:
    out = resample(shared_candles("BTCUSDT-15m.csv.gz"), "4h").frame.set_index("open_time")
    assert out.loc[1_679_659_200_000, "open"] == 28079.99  # 2023-03-24T12:00Z, as Binance's 4h
