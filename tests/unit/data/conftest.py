"""Shared fixtures for the candle data tests: fixture files and the shared real candles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from binance_bot.data import CandleFrame, read_candles

REPO = Path(__file__).resolve().parents[3]
RESOURCES = REPO / "tests" / "resources" / "candles"
SHARED = REPO.parent / "shared" / "data" / "binance"

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


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared real candles not found at {SHARED} (checkout without ../shared)")
    return SHARED


@pytest.fixture(scope="session")
def shared_candles(shared_dir: Path) -> Callable[[str], CandleFrame]:
    """Read each shared file at most once per test session (they total 830k rows)."""
    cache: dict[str, CandleFrame] = {}

    def get(name: str) -> CandleFrame:
        if name not in cache:
            cache[name] = read_candles(shared_dir / name, check=False)
        return cache[name]

    return get


@pytest.fixture
def valid_dir() -> Path:
    return RESOURCES / "valid"


@pytest.fixture
def malformed_dir() -> Path:
    return RESOURCES / "malformed"
