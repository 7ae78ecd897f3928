"""Shared fixtures for the candle data tests: fixture files and the shared real candles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from binance_bot.data import CandleFrame, read_candles

REPO = Path(__file__).resolve().parents[3]
RESOURCES = REPO / "tests" / "resources" / "candles"
SHARED = REPO.parent / "shared" / "data" / "binance"


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
