"""Shared fixtures: the real-candle folder, isolation from the user's environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Timing-based hypothesis checks are meaningless on a shared 2-core CI box (JIT compiles,
# other jobs): correctness is what the properties assert, never wall time.
settings.register_profile(
    "project",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "project"))

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data" / "binance").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real Binance candles beside the checkout; tests skip with a reason when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real candle folder {SHARED_DATA} is absent (it lives in ../shared beside the checkout)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's keys or overrides, and none leaks secrets to the next."""
    for var in list(os.environ):
        if var.startswith("BINANCE_") or var == "LOG_LEVEL":
            monkeypatch.delenv(var, raising=False)
    from binance_bot.config.redaction import clear_secrets

    clear_secrets()
    yield
    clear_secrets()
