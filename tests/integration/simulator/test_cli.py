"""``binance-bot simulator`` as a user runs it: prints its URLs, serves, stops cleanly on a signal."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from binance_bot.cli.simulator_cmd import build_config
from binance_bot.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]


def _config_args(**changes: object) -> dict[str, object]:
    args: dict[str, object] = {
        "data": None,
        "synthetic": False,
        "symbols": "btcusdt,ETHUSDT",
        "interval": "1m",
        "speed": 60.0,
        "host": "127.0.0.1",
        "port": 0,
        "api_key": "K",
        "api_secret": "S",
        "balances": "USDT=10000,btc=0.5",
        "faults": None,
        "seed": 1,
        "start": "2024-03-01",
        "warmup_bars": 10,
        "enable_withdrawals": True,
        "slippage_bps": "2.5",
        "maker_fee": "0.0008",
        "taker_fee": "0.001",
        "rules": None,
    }
    args.update(changes)
    return args


def test_build_config_maps_every_option(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("faults:\n  latency_ms: 20\n  server_error_rate: 0.1\n")
    config = build_config(**_config_args(faults=faults))  # type: ignore[arg-type]
    assert config.market.symbols == ("BTCUSDT", "ETHUSDT")
    assert config.market.start_ms == 1_709_251_200_000
    assert config.speed == 60.0
    account = config.accounts[0]
    assert (account.api_key, account.api_secret, account.enable_withdrawals) == ("K", "S", True)
    assert {k: str(v) for k, v in account.balances.items()} == {"USDT": "10000", "BTC": "0.5"}
    assert (config.faults.latency_ms, config.faults.server_error_rate) == (20.0, 0.1)
    assert str(config.matching.slippage_bps) == "2.5"
    with pytest.raises(ConfigError, match="exclude each other"):
        build_config(**_config_args(data=[tmp_path], synthetic=True))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="ASSET=AMOUNT"):
        build_config(**_config_args(balances="USDT:5"))  # type: ignore[arg-type]
    faults.write_text("latncy_ms: 20\n")
    with pytest.raises(ConfigError, match="unknown fault setting"):
        build_config(**_config_args(faults=faults))  # type: ignore[arg-type]


async def test_the_command_serves_until_interrupted() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "binance_bot",
        "simulator",
        "--port",
        "0",
        "--stepped",
        "--symbols",
        "BTCUSDT",
        "--warmup-bars",
        "10",
        "--api-key",
        "cli-key",
        "--api-secret",
        "cli-secret",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while not any(line.startswith("Ctrl-C") for line in lines):
            raw = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert raw, f"the command exited early: {lines}"
            lines.append(raw.decode().strip())
        urls = {
            line.split()[0]: line.split()[-1] for line in lines if line.startswith(("REST", "WS", "admin"))
        }
        assert urls["WS"].endswith("/ws-api/v3")
        assert not any(line.startswith("secret") for line in lines)  # given, so not printed
        async with aiohttp.ClientSession() as session, session.get(f"{urls['REST']}/api/v3/ping") as resp:
            assert resp.status == 200
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
    rest = (await asyncio.wait_for(proc.stdout.read(), 30)).decode()
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert "simulator stopped" in rest
