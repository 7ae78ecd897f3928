"""A bot session against the in-test simulator, the way a user points one at ``binance-bot
simulator``: paper mode with ``api.base_url`` and keys, so the exchange outlives the session."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.integration.conftest import SYMBOLS, SimulatorHandle

from binance_bot.config import BotConfig, load_config


def external_config(sim: SimulatorHandle, tmp: Path) -> BotConfig:
    overrides: dict[str, Any] = {
        "mode": "paper",
        "api": {
            "api_key": sim.api_key,
            "api_secret": sim.api_secret,
            "base_url": sim.rest_url,
            "stream_url": sim.stream_url,
            "ws_api_url": sim.ws_api_url,
        },
        "trading": {
            "strategy": "sma_cross",
            "interval": "1m",
            "trend_interval": "5m",
            "symbols": list(SYMBOLS),
        },
        "storage": {"url": f"sqlite:///{tmp / 'state.db'}"},
        "data": {"data_dir": str(tmp / "data")},
        "monitoring": {"log_dir": str(tmp / "logs")},
    }
    return load_config(overrides=overrides, environ={}, use_default_file=False).config


async def until(condition: Any, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not reached within {timeout_s} s")
