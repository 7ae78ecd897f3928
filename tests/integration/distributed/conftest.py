"""Spark fixtures: one local[2] session for the whole run, candles in a Parquet candle store.

Starting Spark costs seconds (a JVM, then Python workers importing torch and numba), so every
local test shares one :class:`SparkProcessor` on ``local[2]``. The tests skip, saying why,
only when Java or pyspark is missing; ``.ci/run`` installs both.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from binance_bot.data import CandleStore, SyntheticMarket

SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT")
INTERVAL = "1h"
BARS = 1500


def spark_available() -> str | None:
    """Why Spark tests cannot run here, or None."""
    if shutil.which("java") is None:
        return "Java is not installed (Spark needs Java 17+)"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install '.[spark]')"
    return None


@pytest.fixture(scope="session")
def spark_processor() -> Iterator[object]:
    reason = spark_available()
    if reason:
        pytest.skip(reason)
    from binance_bot.distributed import SparkProcessor

    processor = SparkProcessor("binance-bot tests", "local[2]")
    try:
        yield processor
    finally:
        processor.stop()


@pytest.fixture(scope="session")
def candle_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeded synthetic hourly candles of three symbols, one Parquet file each."""
    root = tmp_path_factory.mktemp("candles")
    store = CandleStore(root)
    for i, symbol in enumerate(SYMBOLS):
        market = SyntheticMarket(symbol, INTERVAL, seed=11 + i)
        store.write(market.frame(market.origin_ms, BARS - 200 * i), symbol=symbol, interval=INTERVAL)
    return root
