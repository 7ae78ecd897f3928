"""Reliability campaigns: the bot as a process, an exchange that outlives it, faults, kills.

The exchange is the simulator, started in *this* process so that it survives every kill of
the bot and so that its books can be read directly (they are the truth the invariants are
judged against). The bot is ``python -m binance_bot run``, the product's own command, in a
child process pointed at the simulator through its configuration file, with its state in
one SQLite file that every restart reuses.

Pieces:

* :class:`FaultPlan` / :class:`CountingFaults`: the simulator's fault injector, counting
  every fault it injects by kind, plus request timeouts (a latency fault longer than the
  client's timeout, drawn for a share of requests);
* :class:`CampaignExchange`: the simulator with those faults, 418 and WebSocket-drop
  counters, and a freeze (the market clock stopped) for exact checks;
* :class:`BotProcess`: one run of the bot: spawn, wait until it has reconciled and started,
  SIGKILL or SIGTERM, exit code, its output kept in a file;
* :class:`Campaign`: the working folder, the configuration file, the state store, and the
  settle check every restart must pass within a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from tests.integration.reliability.invariants import ExchangeView, Verdict, settled_verdict

from binance_bot.simulator import AccountSpec, FaultSettings, MarketSpec, Simulator, SimulatorConfig
from binance_bot.simulator.clock import ProtocolClock
from binance_bot.simulator.faults import FaultInjector, ServerErrorFault, StreamFault
from binance_bot.simulator.limits import Refusal

REPO = Path(__file__).resolve().parents[3]

# Recognisable markers: any of them found in a log, a report, the database or a page is a leak.
MARKER_KEY = "RELIABILITYmarkerKEY0a1b2c3d4e5f"
MARKER_SECRET = "RELIABILITY-marker-SECRET-9f8e7d6c5b4a"
DASHBOARD_TOKEN = "reliability-dashboard-token-0123456789"

SYMBOLS_24 = (
    "BTCUSDT",
    "ETHUSDT",
    "BNBUSDT",
    "SOLUSDT",
    "XRPUSDT",
    "ADAUSDT",
    "DOGEUSDT",
    "TRXUSDT",
    "DOTUSDT",
    "LINKUSDT",
    "LTCUSDT",
    "AVAXUSDT",
    "ATOMUSDT",
    "UNIUSDT",
    "XLMUSDT",
    "ETCUSDT",
    "FILUSDT",
    "NEARUSDT",
    "APTUSDT",
    "ARBUSDT",
    "OPUSDT",
    "INJUSDT",
    "AAVEUSDT",
    "ALGOUSDT",
)

START_BALANCES = {"USDT": Decimal("100000")}
STARTED = re.compile(r"run (\w+) started:")
DASHBOARD_URL = re.compile(r"(http://127\.0\.0\.1:\d+)/\?token=")


# ---------------------------------------------------------------------- faults
@dataclass(frozen=True)
class FaultPlan:
    """The simulator's fault settings plus request timeouts: ``timeout_rate`` of requests
    wait ``timeout_s`` before being answered, longer than the bot's request timeout."""

    settings: FaultSettings = field(default_factory=FaultSettings)
    timeout_rate: float = 0.0
    timeout_s: float = 0.0

    def describe(self) -> dict[str, Any]:
        s = self.settings
        return {
            "5xx_rate": s.server_error_rate,
            "5xx_phase": s.server_error_phase,
            "timeout_rate": self.timeout_rate,
            "timeout_s": self.timeout_s,
            "burst_429": f"{s.burst_429_duration_s:g} s every {s.burst_429_every_s:g} s",
            "ws_drop_every_s": s.ws_drop_every_s,
            "clock_skew_ms": s.clock_skew_ms,
            "stream_duplicate_rate": s.stream_duplicate_rate,
        }


def issue_faults(request_timeout_s: float, *, seed: int = 9) -> FaultPlan:
    """The mix the reliability issue asks for: 5 % 5xx, 1 % timeouts, 429 bursts, a WebSocket
    drop every 30 s, 500 ms clock skew, duplicated stream messages."""
    return FaultPlan(
        FaultSettings(
            seed=seed,
            server_error_rate=0.05,
            server_error_phase="mixed",
            burst_429_every_s=40.0,
            burst_429_duration_s=2.0,
            ws_drop_every_s=30.0,
            clock_skew_ms=500,
            stream_duplicate_rate=0.05,
        ),
        timeout_rate=0.01,
        timeout_s=request_timeout_s + 1.0,
    )


class CountingFaults(FaultInjector):
    """The simulator's injector, counting what it injects, plus the plan's request timeouts."""

    def __init__(self, plan: FaultPlan, protocol_clock: ProtocolClock) -> None:
        self.plan = plan
        self.counts: Counter[str] = Counter()
        self._timeouts = random.Random(plan.settings.seed + 1)
        self._burst_periods: set[int] = set()
        super().__init__(plan.settings, protocol_clock)

    def latency_s(self) -> float:
        if self.plan.timeout_rate > 0 and self._timeouts.random() < self.plan.timeout_rate:
            self.counts["timeout"] += 1
            return self.plan.timeout_s
        return super().latency_s()

    def server_error(self) -> ServerErrorFault | None:
        fault = super().server_error()
        if fault is not None:
            self.counts[f"5xx_{'after' if fault.after else 'before'}_processing"] += 1
        return fault

    def too_many_requests(self) -> bool:
        hit = super().too_many_requests()
        if hit:
            self.counts["429_queued"] += 1
        return hit

    def burst_remaining_s(self) -> float:
        remaining = super().burst_remaining_s()
        if remaining > 0:
            self.counts["429_in_burst"] += 1
            every = self.settings.burst_429_every_s
            if every > 0:
                period = int((time.monotonic() - self._since) // every)
                if period not in self._burst_periods:
                    self._burst_periods.add(period)
                    self.counts["429_bursts_met"] += 1
        return remaining

    def stream_fault(self) -> StreamFault:
        fault = super().stream_fault()
        if fault.duplicate:
            self.counts["stream_duplicate"] += 1
        if fault.delay_s > 0:
            self.counts["stream_delay"] += 1
        return fault


# ---------------------------------------------------------------------- the exchange
class CampaignExchange:
    """The simulator every run of the bot talks to; it lives as long as the campaign."""

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        speed: float,
        faults: FaultPlan | None = None,
        seed: int = 0,
        balances: dict[str, Decimal] | None = None,
        warmup_bars: int = 300,
        start_ms: int | None = None,
    ) -> None:
        self.symbols = tuple(symbols)
        self.speed = speed
        self.balances = dict(balances or START_BALANCES)
        config = SimulatorConfig(
            market=MarketSpec(
                symbols=self.symbols, interval="1m", seed=seed, warmup_bars=warmup_bars, start_ms=start_ms
            ),
            accounts=(AccountSpec(MARKER_KEY, MARKER_SECRET, self.balances),),
            speed=speed,
        )
        self.sim = Simulator(config)
        self.faults = CountingFaults(faults or FaultPlan(), self.sim.core.protocol_clock)
        self.sim.core.faults = self.faults
        self.bans_418 = 0
        self.ws_connections_opened = 0
        self.ws_drops = 0
        self._conn_seen: dict[int, float] = {}
        self._watch: asyncio.Task[None] | None = None
        self._wrap_limiter()

    def _wrap_limiter(self) -> None:
        limiter = self.sim.core.limiter
        admit = limiter.admit

        def counting_admit(*args: Any, **kwargs: Any) -> Refusal | None:
            refusal = admit(*args, **kwargs)
            if refusal is not None and refusal.status == 418:
                self.bans_418 += 1
            return refusal

        limiter.admit = counting_admit  # type: ignore[method-assign]

    async def start(self) -> None:
        await self.sim.start()
        self._watch = asyncio.get_running_loop().create_task(self._watch_connections())

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self.sim.stop()

    async def _watch_connections(self) -> None:
        """Count WebSocket connections opened, and those the drop fault closed (older than the
        drop period when they went away while nothing else closed them)."""
        hub = self.sim.core.hub
        while True:
            now = time.monotonic()
            live = {id(c): c for c in (*hub.market_connections, *hub.user_connections)}
            for key in live:
                if key not in self._conn_seen:
                    self._conn_seen[key] = now
                    self.ws_connections_opened += 1
            every = self.faults.settings.ws_drop_every_s
            for key, opened in list(self._conn_seen.items()):
                if key not in live:
                    del self._conn_seen[key]
                    if every > 0 and now - opened >= every - 0.5:
                        self.ws_drops += 1
            await asyncio.sleep(0.2)

    @property
    def urls(self) -> Any:
        return self.sim.urls

    def view(self) -> ExchangeView:
        return ExchangeView(self.sim.core.engine, MARKER_KEY)

    @property
    def market_time(self) -> int:
        return self.sim.core.market.now_ms

    async def freeze(self) -> None:
        """Stop the market clock: no bar closes and no resting order fills until :meth:`resume`."""
        await self.sim.set_speed(None)

    async def resume(self) -> None:
        await self.sim.set_speed(self.speed)

    def clear_faults(self) -> None:
        """Every fault off (the counts are kept)."""
        self.faults.plan = FaultPlan()
        self.sim.set_faults(FaultSettings())
        self.sim.core.faults.clear_burst()

    def fault_counts(self) -> dict[str, int]:
        counts = dict(self.faults.counts)
        counts["ws_drop"] = self.ws_drops
        counts["418"] = self.bans_418
        return counts


# ---------------------------------------------------------------------- the bot
@dataclass
class BotSettings:
    """What the bot is configured with for a campaign (the strategy trades often on purpose,
    so that every step of an order's life is reached many times)."""

    fast: int = 3
    slow: int = 8
    oper_equity: str = "1000"
    max_positions: int = 30
    stop_loss_margin: str = "0.003"
    take_profit_ratio: str = "1.5"
    request_timeout_s: float = 2.0
    dashboard: bool = False


class BotProcess:
    """One run of ``python -m binance_bot run`` against the campaign's exchange."""

    def __init__(self, campaign: Campaign, index: int, *, crash_at: str | None, duration_s: float | None):
        self.campaign = campaign
        self.index = index
        self.crash_at = crash_at
        self.duration_s = duration_s
        self.output = campaign.workdir / "output" / f"run-{index:03d}.txt"
        self.proc: asyncio.subprocess.Process | None = None
        self.ready = asyncio.Event()
        self.run_id: str | None = None
        self.dashboard_url: str | None = None
        self.spawned_at = 0.0
        self.ready_at = 0.0
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        c = self.campaign
        args = [
            sys.executable,
            "-m",
            "binance_bot",
            "--config",
            str(c.config_path),
            "run",
            "--symbols",
            ",".join(c.exchange.symbols),
            "--out",
            str(c.workdir / "reports"),
        ]
        if self.duration_s is not None:
            args += ["--duration", str(self.duration_s)]
        if c.bot.dashboard:
            args.append("--dashboard")
        env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_") and k != "LOG_LEVEL"}
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = str(REPO / "src")
        if self.crash_at:
            env["BINANCE_BOT_CRASH_AT"] = self.crash_at
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.spawned_at = time.monotonic()
        self.proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=c.workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with self.output.open("wb") as out:
            async for line in self.proc.stdout:
                out.write(line)
                out.flush()
                text = line.decode(errors="replace")
                if not self.ready.is_set():
                    found = STARTED.search(text)
                    if found:
                        self.run_id = found.group(1)
                        self.ready_at = time.monotonic()
                        self.ready.set()
                if self.dashboard_url is None:
                    url = DASHBOARD_URL.search(text)
                    if url:
                        self.dashboard_url = url.group(1)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def wait_ready(self, timeout_s: float) -> bool:
        """True once the run has reconciled and started; False if it exited or took too long."""
        assert self.proc is not None
        waiter = asyncio.ensure_future(self.ready.wait())
        ender = asyncio.ensure_future(self.proc.wait())
        try:
            await asyncio.wait({waiter, ender}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            ender.cancel()
        return self.ready.is_set()

    def kill(self) -> None:
        if self.running:
            os.kill(self.pid, signal.SIGKILL)

    def terminate(self) -> None:
        if self.running:
            os.kill(self.pid, signal.SIGTERM)

    async def wait(self, timeout_s: float) -> int | None:
        """The exit code (negative: the signal), or None if it is still running after the wait."""
        assert self.proc is not None
        try:
            rc = await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            return None
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._reader, 5.0)
        return rc

    async def ensure_dead(self) -> None:
        """Never leave a child behind, whatever happened to the campaign."""
        if self.running:
            self.kill()
            await self.wait(10.0)
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    def rss_kib(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except (OSError, ValueError):
            return None
        return None


class Campaign:
    """A working folder, the bot's configuration and state, and the processes run on them."""

    def __init__(self, workdir: Path, exchange: CampaignExchange, bot: BotSettings | None = None) -> None:
        self.workdir = workdir
        self.exchange = exchange
        self.bot = bot or BotSettings()
        self.config_path = workdir / "config.yaml"
        self.store_path = workdir / "state.db"
        self.runs: list[BotProcess] = []
        self.settle_times_s: list[float] = []

    def write_config(self) -> None:
        urls = self.exchange.urls
        b = self.bot
        config = {
            "mode": "paper",
            "api": {
                "api_key": MARKER_KEY,
                "api_secret": MARKER_SECRET,
                "base_url": urls.rest,
                "stream_url": urls.stream,
                "ws_api_url": urls.ws_api,
                "request_timeout_seconds": b.request_timeout_s,
            },
            "trading": {
                "strategy": "sma_cross",
                "strategy_params": {"fast": b.fast, "slow": b.slow},
                "interval": "1m",
                "trend_interval": "5m",
                "max_workers": 8,
                "oper_equity": b.oper_equity,
                "max_positions": b.max_positions,
                "stop_loss_margin": b.stop_loss_margin,
                "take_profit_ratio": b.take_profit_ratio,
            },
            "risk": {
                "max_fraction_of_free": "0.25",
                "daily_loss_limit_pct": "90",
                "max_drawdown_pct": "90",
                "cooldown_bars": 0,
            },
            "storage": {"url": f"sqlite:///{self.store_path}"},
            "data": {"data_dir": str(self.workdir / "data")},
            "monitoring": {
                "log_dir": str(self.workdir / "logs"),
                "log_level": "INFO",
                "report_interval_seconds": 10.0,
                "dashboard_port": 0,
                "dashboard_token": DASHBOARD_TOKEN,
            },
        }
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.config_path.chmod(0o600)

    async def spawn(self, *, crash_at: str | None = None, duration_s: float | None = None) -> BotProcess:
        run = BotProcess(self, len(self.runs) + 1, crash_at=crash_at, duration_s=duration_s)
        self.runs.append(run)
        await run.start()
        return run

    def verdict(self) -> Verdict:
        return settled_verdict(self.exchange.view(), self.store_path, self.exchange.balances)

    async def settle(self, bound_s: float) -> tuple[Verdict, float]:
        """Freeze the market and wait (at most ``bound_s``) until every invariant holds exactly.

        The bot keeps running: with no bar closing and no resting order filling, it has
        nothing left to do once it has caught up, so the ledger must match the exchange and
        every long must be protected. Returns the last verdict and the time it took.
        """
        await self.exchange.freeze()
        started = time.monotonic()
        verdict = self.verdict()
        while verdict.violations and time.monotonic() - started < bound_s:
            await asyncio.sleep(0.25)
            verdict = self.verdict()
        took = time.monotonic() - started
        self.settle_times_s.append(took)
        return verdict, took

    async def close(self) -> None:
        for run in self.runs:
            await run.ensure_dead()

    def artifacts(self) -> list[Path]:
        """Every file the campaign's runs wrote: logs, reports, outputs, the database."""
        return sorted(p for p in self.workdir.rglob("*") if p.is_file() and p != self.config_path)
