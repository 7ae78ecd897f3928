"""``binance-bot doctor``: is this machine ready to run the bot?"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from binance_bot.cli.state import state_of
from binance_bot.config import BotConfig
from binance_bot.config.redaction import redact

LIVE_REST = "https://api.binance.com"
TESTNET_REST = "https://testnet.binance.vision"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def _python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, f"{platform.python_version()} ({sys.executable})")


def _torch() -> list[Check]:
    try:
        import torch
    except ImportError as exc:
        return [Check("torch", False, f"not importable: {exc}")]
    checks = [Check("torch", True, f"{torch.__version__}, {torch.get_num_threads()} threads")]
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        checks.append(Check("cuda", True, names, required=False))
    else:
        checks.append(Check("cuda", False, "not available: indicators run on the CPU", required=False))
    return checks


def _java_and_spark() -> list[Check]:
    java = shutil.which("java")
    if java:
        try:
            out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=10)
            line = (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else java
            java_check = Check("java", True, line, required=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            java_check = Check("java", False, f"{java}: {exc}", required=False)
    else:
        java_check = Check("java", False, "not found (Spark needs Java 17+)", required=False)
    spec = importlib.util.find_spec("pyspark")
    if spec is None:
        spark = Check("pyspark", False, "not installed (pip install 'binance-bot[spark]')", required=False)
    else:
        from importlib.metadata import version

        spark = Check("pyspark", True, version("pyspark"), required=False)
    return [java_check, spark]


def _writable(name: str, path: Path) -> Check:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
        return Check(name, True, f"{path.resolve()} writable")
    except OSError as exc:
        return Check(name, False, f"{path}: {exc.strerror}")


def _data_folder(config: BotConfig) -> Check:
    folder = config.data.candles_dir
    if folder is None:
        return Check("candles", True, "none configured: the synthetic market is used", required=False)
    files = sorted(p for p in Path(folder).glob("*") if p.is_file()) if Path(folder).is_dir() else []
    if not files:
        return Check("candles", False, f"{folder}: no candle files found", required=False)
    return Check("candles", True, f"{folder}: {len(files)} file(s)", required=False)


async def _reach(url: str, limit_seconds: float) -> Check:
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=limit_seconds)) as session,
            session.get(url.rstrip("/") + "/api/v3/ping") as resp,
        ):
            return Check("exchange", resp.status == 200, f"{url}: HTTP {resp.status}", required=False)
    except Exception as exc:  # any network failure is a finding, not a crash
        return Check("exchange", False, f"{url}: unreachable ({type(exc).__name__})", required=False)


def _rest_url(config: BotConfig) -> str:
    if config.api.base_url:
        return config.api.base_url
    return TESTNET_REST if config.api.testnet else LIVE_REST


def doctor(
    ctx: typer.Context,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the exchange.")] = 3.0,
) -> None:
    """Check Python, torch/CUDA, Java/pyspark, folders and the exchange's reachability."""
    config = state_of(ctx).load().config
    checks = [_python(), *_torch(), *_java_and_spark()]
    checks.append(_writable("logs", Path(config.monitoring.log_dir)))
    checks.append(_writable("data", Path(config.data.data_dir)))
    checks.append(_data_folder(config))
    checks.append(asyncio.run(_reach(_rest_url(config), timeout)))
    checks.append(Check("cpu", True, f"{os.cpu_count()} cores, {platform.machine()}", required=False))
    table = Table(title="binance-bot doctor")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail")
    for c in checks:
        status = "[green]ok[/]" if c.ok else ("[red]FAIL[/]" if c.required else "[yellow]warn[/]")
        table.add_row(c.name, status, redact(c.detail))
    Console().print(table)
    if any(c.required and not c.ok for c in checks):
        raise typer.Exit(1)
