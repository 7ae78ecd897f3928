from __future__ import annotations

from pathlib import Path

import pytest
import torch

from binance_bot.data import generate_candles, read_candles


class Bars:
    def __init__(self, frame, interval: str) -> None:
        self.frame = frame
        self.interval = interval
        self.series = {
            k: torch.tensor(frame[k].to_numpy()) for k in ("open", "high", "low", "close", "volume")
        }
        self.open_time = torch.tensor(frame["open_time"].to_numpy())

    def rows(self):
        return self.frame[["open_time", "open", "high", "low", "close", "volume"]].to_numpy()

    def head(self, n: int) -> Bars:
        return Bars(self.frame.iloc[:n].reset_index(drop=True), self.interval)


@pytest.fixture(scope="session")
def real_5m(shared_data: Path) -> Bars:
    return Bars(
        read_candles(shared_data / "BTCUSDT-5m.csv.gz").frame.iloc[:12_000].reset_index(drop=True), "5m"
    )


@pytest.fixture(scope="session")
def real_1h_with_gaps(shared_data: Path) -> Bars:
    # 2018 holds most of the file's gaps (exchange outages)
    return Bars(
        read_candles(shared_data / "ETHUSDT-1h.csv.gz").frame.iloc[:9_000].reset_index(drop=True), "1h"
    )


@pytest.fixture(scope="session")
def synthetic_5m() -> Bars:
    return Bars(generate_candles("BTCUSDT", "5m", count=6_000, seed=3).frame, "5m")
