"""Monitoring of a whole paper session on the embedded simulator, and of ``binance-bot run``.

* the webhook receives the session's fills and its kill-switch notice (a local receiver on
  loopback), the dashboard uses the configured token and stops with the session;
* ``binance-bot run --dashboard`` prints the URL with its token, serves the page and the
  metrics, and a stop sent through the dashboard ends the process cleanly.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from binance_bot.app import RunOptions, Session
from binance_bot.config import BotConfig, load_config
from binance_bot.monitoring.dashboard import start_dashboard

REPO = Path(__file__).resolve().parents[3]
TOKEN = "configured-dashboard-token-0123456789"
SPEED = 300.0


def paper_overrides(tmp_path: Path) -> dict[str, Any]:
    return {
        "trading": {
            "strategy": "sma_cross",
            "strategy_params": {"fast": 2, "slow": 3},
            "interval": "1m",
            "symbols": ["BTCUSDT"],
        },
        "data": {"data_dir": str(tmp_path / "data")},
        "storage": {"url": f"sqlite:///{tmp_path / 'state.db'}"},
        "monitoring": {"log_dir": str(tmp_path / "logs"), "dashboard_port": 0},
    }


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on loopback that fails its first call, then accepts."""
    bodies: list[dict[str, Any]] = []
    calls = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.Response(status=503)
        bodies.append(await request.json())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", bodies
    await runner.cleanup()


async def test_webhook_and_dashboard_follow_a_paper_session(
    tmp_path: Path, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, bodies = receiver
    overrides = paper_overrides(tmp_path)
    overrides["monitoring"].update(webhook_url=url, dashboard_token=TOKEN)
    config: BotConfig = load_config(overrides=overrides, environ={}, use_default_file=False).config
    printed: list[str] = []
    async with Session(config, RunOptions(speed=SPEED, warmup_bars=100)) as session:
        kernel = session.kernel
        assert kernel is not None
        dashboard = await start_dashboard(session, update_interval_s=0.2, announce=printed.append)
        assert printed == [f"dashboard: http://127.0.0.1:{dashboard.port}/?token={TOKEN}"]
        runner = asyncio.create_task(session.run())
        deadline = time.monotonic() + 60
        while kernel.portfolio.open_count == 0 and not kernel.portfolio.closed:
            assert time.monotonic() < deadline, "no entry within a minute"
            await asyncio.sleep(0.05)
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(dashboard.base_url + "metrics", headers=bearer) as resp:
                metrics = await resp.text()
            assert re.search(r'^binance_bot_fills_total\{side="BUY"\} [1-9]', metrics, re.M), metrics
            assert re.search(r'^binance_bot_stream_connected\{stream="market"\} 1\.0', metrics, re.M)
            assert re.search(
                r'^binance_bot_api_request_latency_seconds_count\{endpoint="/api/v3/order"\} [1-9]',
                metrics,
                re.M,
            )
            async with http.post(dashboard.base_url + "api/kill", headers=bearer) as resp:
                assert resp.status == 200
        await asyncio.wait_for(runner, 20)
        assert kernel.risk.kill_switch.tripped
    # the session has ended: the dashboard is gone and the webhook queue was drained
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(dashboard.base_url + "metrics", headers=bearer):
                pass
    kinds = [b["event"] for b in bodies]
    assert kinds[0] == "fill" and bodies[0]["side"] == "BUY"  # the first try got 503: retried
    assert "kill_switch" in kinds
    kill = next(b for b in bodies if b["event"] == "kill_switch")
    assert (kill["reason"], kill["flatten"], kill["run_id"]) == ("manual kill", True, kernel.run_id)
    assert session.monitoring.webhook is not None and session.monitoring.webhook.stats.retries >= 1


async def test_a_generated_token_when_none_is_configured(tmp_path: Path) -> None:
    config = load_config(overrides=paper_overrides(tmp_path), environ={}, use_default_file=False).config
    printed: list[str] = []
    async with Session(config, RunOptions(speed=SPEED, warmup_bars=50)) as session:
        dashboard = await start_dashboard(session, announce=printed.append)
        [line] = printed
        token = line.rsplit("?token=", 1)[1]
        assert len(token) >= 24
        async with aiohttp.ClientSession() as http:
            async with http.get(
                dashboard.base_url + "api/status", headers={"Authorization": f"Bearer {token}"}
            ) as resp:
                assert resp.status == 200 and (await resp.json())["mode"] == "paper"
            async with http.get(dashboard.base_url + "api/status") as resp:
                assert resp.status == 401


async def test_binance_bot_run_dashboard_prints_its_url_and_serves(tmp_path: Path) -> None:
    sets = {
        "monitoring.dashboard_port": "0",
        "monitoring.log_dir": str(tmp_path / "logs"),
        "monitoring.log_level": "INFO",
        "data.data_dir": str(tmp_path / "data"),
        "storage.url": f"sqlite:///{tmp_path / 'state.db'}",
    }
    args = [sys.executable, "-m", "binance_bot"]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    args += [
        "run",
        "--dashboard",
        "--symbols",
        "BTCUSDT",
        "--interval",
        "1m",
        "--speed",
        "60",
        "--duration",
        "120",
    ]
    args += ["--out", str(tmp_path / "reports")]
    stderr = (tmp_path / "stderr.txt").open("wb")
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    try:
        line = ""
        while not line.startswith("dashboard: "):
            raw = await asyncio.wait_for(proc.stdout.readline(), 90)
            assert raw, f"the command exited early; stderr: {(tmp_path / 'stderr.txt').read_text()[-2000:]}"
            line = raw.decode().strip()
        match = re.fullmatch(r"dashboard: (http://127\.0\.0\.1:(\d+)/)\?token=([A-Za-z0-9_\-]{24,})", line)
        assert match is not None, line
        base, token = match.group(1), match.group(3)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(line.removeprefix("dashboard: ")) as resp:
                assert resp.status == 200 and "binance-bot dashboard" in await resp.text()
            async with http.get(base + "metrics", headers={"Authorization": f"Bearer {token}"}) as resp:
                assert "binance_bot_run_info" in await resp.text()
            async with http.post(base + "api/stop", headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status == 200 and (await resp.json())["status"]["stopping"] is True
        rest = (await asyncio.wait_for(proc.stdout.read(), 60)).decode()
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        assert "summary written to" in rest
        logs = (tmp_path / "logs" / "binance-bot.log").read_text()
        assert token not in logs  # the URL is printed, never logged
        assert f"dashboard at {base}" in logs
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        stderr.close()
