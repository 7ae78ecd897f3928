"""The composition root: picks adapters, clock and store for the mode and starts the kernel.

* **paper** (no keys needed): the embedded Binance-compatible simulator runs in this process
  on a free loopback port, replaying candle files (``--data``) or the seeded synthetic market,
  accelerated by ``--speed``; the bot talks to it with the real Binance client over HTTP and
  WebSocket, so paper trading exercises exactly the code that trades live. With
  ``api.base_url`` (and keys) set, paper mode uses that simulator instead, e.g. one started
  with ``binance-bot simulator`` that outlives the bot.
* **testnet** / **live**: the Binance client against Binance's URLs with the configured keys.
  Live trading needs ``mode: live`` *and* an explicit confirmation flag.

Every mode uses the SQL state store (crash-safe), the same kernel, strategy and risk code.
Cross-process control goes through files in the data folder: ``KILL`` (``flatten`` inside
to sell everything) and ``STOP``, written by ``binance-bot kill`` / ``binance-bot stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import secrets
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from binance_bot.config import BotConfig
from binance_bot.config.redaction import register_secret
from binance_bot.data.assets import read_assets_file
from binance_bot.engine.clock import WallClock
from binance_bot.engine.control import Control
from binance_bot.engine.kernel import TradingKernel
from binance_bot.engine.selection import select_symbols
from binance_bot.errors import ConfigError
from binance_bot.exchange import BinanceConnector
from binance_bot.model import Mode
from binance_bot.monitoring.hub import Monitoring
from binance_bot.persistence import SqlStateStore
from binance_bot.strategy import make_strategy

log = logging.getLogger(__name__)

KILL_FILE = "KILL"
STOP_FILE = "STOP"
DEFAULT_PAPER_SYMBOLS = ("BTCUSDT", "ETHUSDT")


@dataclass
class RunOptions:
    """What ``binance-bot run`` was asked for beyond the configuration."""

    symbols: list[str] = field(default_factory=list)
    data: list[Path] = field(default_factory=list)
    speed: float = 60.0
    duration_s: float | None = None
    balances: str = "USDT=10000"
    seed: int = 0
    force: bool = False
    live_confirmed: bool = False
    faults: Any = None  # simulator FaultSettings for rehearsals under failure
    warmup_bars: int = 1000
    on_started: Callable[[Session], Any] | None = None


class Session:
    """One trading run: simulator (paper), connector, store, kernel, control-file watcher."""

    def __init__(self, config: BotConfig, options: RunOptions) -> None:
        self.config = config
        self.options = options
        self.mode = config.effective_mode
        self.simulator: Any = None
        self.connector: BinanceConnector | None = None
        self.store: SqlStateStore | None = None
        self.kernel: TradingKernel | None = None
        self.control: Control | None = None
        self._watch: asyncio.Task[None] | None = None
        self._market: Any = None
        self._user: Any = None
        self.notifiers: list[Callable[[str, dict[str, Any]], None]] = []
        # event counters and the webhook see every notice of the run, dashboard or not
        self.monitoring = Monitoring(config.monitoring)
        self.notifiers.extend(self.monitoring.notifiers)
        # awaited when the session ends, after the kernel has stopped (e.g. the dashboard)
        self.closers: list[Callable[[], Awaitable[Any]]] = []

    # ------------------------------------------------------------------ assembly
    async def _start_simulator(self) -> BotConfig:
        from binance_bot.simulator import (
            AccountSpec,
            FaultSettings,
            MarketSpec,
            Simulator,
            SimulatorConfig,
            parse_balances,
        )

        key, secret = f"paper-{secrets.token_hex(8)}", secrets.token_hex(24)
        register_secret(secret)
        symbols = tuple(self.options.symbols or self.config.trading.symbols or DEFAULT_PAPER_SYMBOLS)
        sim_config = SimulatorConfig(
            market=MarketSpec(
                symbols=() if self.options.data and not self.options.symbols else symbols,
                interval=self.config.trading.interval,
                data=tuple(self.options.data),
                seed=self.options.seed,
                warmup_bars=self.options.warmup_bars,
            ),
            accounts=(AccountSpec(key, secret, parse_balances(self.options.balances)),),
            speed=self.options.speed,
            faults=self.options.faults or FaultSettings(),
        )
        self.simulator = Simulator(sim_config)
        urls = await self.simulator.start()
        log.info("embedded simulator at %s (%gx)", urls.rest, self.options.speed)
        values = self.config.model_dump()
        values["mode"] = Mode.PAPER
        values["api"].update(
            api_key=key,
            api_secret=secret,
            testnet=False,
            base_url=urls.rest,
            stream_url=urls.stream,
            ws_api_url=urls.ws_api,
        )
        if not self.options.symbols and not self.config.trading.symbols:
            values["trading"]["symbols"] = list(self.simulator.core.market.symbols)
        return BotConfig.model_validate(values)

    async def __aenter__(self) -> Session:
        cfg = self.config
        if self.mode is Mode.LIVE and not self.options.live_confirmed:
            raise ConfigError(
                "mode: live trades real money: add --i-understand-live-trading to confirm", key="mode"
            )
        if self.mode is Mode.PAPER and not cfg.api.base_url:
            cfg = await self._start_simulator()
        self.config = cfg
        self.connector = BinanceConnector.from_config(cfg)
        await self.connector.start()
        exchange = self.connector.exchange
        listed = None
        if not (self.options.symbols or cfg.trading.symbols) and cfg.trading.assets_file.exists():
            listed = read_assets_file(cfg.trading.assets_file)
        symbols = await select_symbols(
            exchange,
            symbols=self.options.symbols or cfg.trading.symbols,
            listed=listed,
            quote_asset=cfg.trading.quote_asset,
            top_n=cfg.trading.top_n,
        )
        self.store = SqlStateStore(cfg.storage.url)
        self._market = self.connector.market_stream()
        self._user = self.connector.user_stream()
        self.kernel = TradingKernel(
            config=cfg,
            exchange=exchange,
            market=self._market,
            user=self._user,
            clock=WallClock(),
            store=self.store,
            strategy=make_strategy(cfg.trading.strategy, cfg.trading.strategy_params),
            symbols=symbols,
            mode=self.mode,
            force=self.options.force,
            notifier=self._notify,
        )
        self.control = Control(self.kernel)
        await self.monitoring.start()
        await self.kernel.start()
        _settle_garbage_collector()
        self._watch = asyncio.create_task(self._watch_control_files())
        if self.options.on_started is not None:
            result = self.options.on_started(self)
            if asyncio.iscoroutine(result):
                await result
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self.kernel is not None:
            await self.kernel.shutdown(status="killed" if self.kernel.killed else "stopped")
        for close in reversed(self.closers):
            try:
                await close()
            except Exception:
                log.exception("closing %r failed", close)
        await self.monitoring.close()
        for stream in (self._market, self._user):
            if stream is not None:
                with contextlib.suppress(Exception):
                    await stream.close()
        if self.connector is not None:
            await self.connector.close()
        if self.store is not None:
            self.store.close()
        if self.simulator is not None:
            await self.simulator.stop()

    # ------------------------------------------------------------------ running
    def _notify(self, kind: str, payload: dict[str, Any]) -> None:
        for notifier in self.notifiers:
            notifier(kind, payload)

    async def run(self) -> dict[str, Any]:
        """Trade until stopped, the duration passes, or (paper) the replayed data ends."""
        assert self.kernel is not None
        waiters = [asyncio.create_task(self.kernel.run(duration_s=self.options.duration_s))]
        if self.simulator is not None:
            waiters.append(asyncio.create_task(self._until_data_ends()))
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for task in done:
            exc = task.exception()
            if exc is not None:
                raise exc
        return self.summary()

    async def _until_data_ends(self) -> None:
        market = self.simulator.core.market
        while True:
            await asyncio.sleep(0.5)
            feeds = market.status()["symbols"]
            if feeds and all(f["finished"] for f in feeds.values()):
                log.info("the replayed data has ended")
                await asyncio.sleep(1.0)  # let the last bar's decisions and fills settle
                return

    async def _watch_control_files(self) -> None:
        data_dir = Path(self.config.data.data_dir)
        assert self.kernel is not None
        while True:
            await asyncio.sleep(0.5)
            kill, stop = data_dir / KILL_FILE, data_dir / STOP_FILE
            if kill.exists():
                flatten = "flatten" in kill.read_text(errors="ignore")
                kill.unlink(missing_ok=True)
                log.warning("KILL file found: kill switch%s", " and flatten" if flatten else "")
                await self.kernel.kill(flatten=flatten, reason="KILL file")
                self.kernel.request_stop()
            if stop.exists():
                stop.unlink(missing_ok=True)
                log.warning("STOP file found: stopping gracefully (protection stays on the exchange)")
                self.kernel.request_stop()

    def summary(self) -> dict[str, Any]:
        assert self.kernel is not None
        stats = self.kernel.get_statistics()
        return {
            "run_id": self.kernel.run_id,
            "mode": self.mode.value,
            "strategy": self.kernel.strategy.describe(),
            "symbols": list(self.kernel.workers),
            "statistics": stats,
            "trades": Control(self.kernel).recent_trades(limit=10_000),
        }


def _settle_garbage_collector() -> None:
    """Keep collector pauses off the order path.

    Everything built at start-up (rules, indicator state, clients, thousands of warm-up
    bars) lives as long as the run; ``gc.freeze`` moves it out of the generations the
    collector scans, and a larger young-generation threshold makes collections rarer.
    Measured by ``bench/engine.py``: without this, collections set the p99 of a bar-to-order
    span.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 50)


def install_signal_handlers(session: Session) -> None:
    """SIGTERM and SIGINT stop gracefully: no new entries, protection stays in place."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, lambda: session.kernel.request_stop() if session.kernel else None)


def write_summary(summary: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"run-{summary['run_id']}.json"
    path.write_text(json.dumps(summary, indent=2, default=str))
    return path


def write_control_file(config: BotConfig, name: str, content: str = "") -> Path:
    folder = Path(config.data.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content)
    return path
