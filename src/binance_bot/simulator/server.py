"""The simulator as a server: start it, get its URLs, drive its clock, stop it.

Embedding::

    config = SimulatorConfig(accounts=(AccountSpec("key", "secret", {"USDT": 10_000}),))
    async with Simulator(config) as sim:
        print(sim.urls.rest, sim.urls.stream, sim.urls.ws_api)
        await sim.advance(bars=1)          # stepped clock: time moves only when asked

A running clock (``speed``) is driven by a background task that sleeps until the next
price event; requests also catch the market up before they are answered, so nothing
served ever lags the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

from binance_bot.exchange.binance import wire
from binance_bot.simulator.admin import AdminApi
from binance_bot.simulator.config import FaultSettings, SimulatorConfig
from binance_bot.simulator.core import SimulatorCore
from binance_bot.simulator.hub import dumps
from binance_bot.simulator.rest import RestTransport
from binance_bot.simulator.ws import StreamTransport, WsApiTransport

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SimulatorUrls:
    """Where a client points: REST base (paths ``/api/v3/...``), stream base (``/ws``,
    ``/stream``), the WebSocket API endpoint, and the admin base (``/admin/...``)."""

    rest: str
    stream: str
    ws_api: str
    admin: str


class Simulator:
    def __init__(self, config: SimulatorConfig, *, core: SimulatorCore | None = None) -> None:
        self.config = config
        self.core = core or SimulatorCore.create(config)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._driver: asyncio.Task[None] | None = None
        self._urls: SimulatorUrls | None = None
        self._stopping = asyncio.Event()
        self._stop_task: asyncio.Future[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 20)
        RestTransport(self.core).add_routes(app)
        StreamTransport(self.core).add_routes(app)
        WsApiTransport(self.core).add_routes(app)
        AdminApi(self).add_routes(app)
        return app

    async def start(self) -> SimulatorUrls:
        """Bind (``port`` 0 picks a free port) and start serving; returns the URLs."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already started")
        runner = web.AppRunner(self.build_app(), handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        await site.start()
        self._runner, self._site = runner, site
        port = self._bound_port(runner)
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        origin = f"{host}:{port}"
        self._urls = SimulatorUrls(
            rest=f"http://{origin}",
            stream=f"ws://{origin}",
            ws_api=f"ws://{origin}/ws-api/v3",
            admin=f"http://{origin}/admin",
        )
        self._start_driver()
        log.info(
            "simulator serving on http://%s (%s clock)",
            origin,
            "stepped" if self.config.stepped else "running",
        )
        return self._urls

    @staticmethod
    def _bound_port(runner: web.AppRunner) -> int:
        for addr in runner.addresses:
            if isinstance(addr, tuple) and len(addr) >= 2:
                return int(addr[1])
        raise RuntimeError("the simulator's socket has no port")

    async def stop(self) -> None:
        """Close every connection and the listening socket; safe to call twice, even at once."""
        if self._stop_task is None:
            self._stop_task = asyncio.ensure_future(self._shutdown())
        await asyncio.shield(self._stop_task)

    async def _shutdown(self) -> None:
        self._stopping.set()
        await self._stop_driver()
        await self._announce_shutdown()
        await self.drop_connections()
        runner, self._runner, self._site = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        """Run until :meth:`stop` is called (the CLI's SIGINT/SIGTERM handlers call it)."""
        await self._stopping.wait()

    @property
    def urls(self) -> SimulatorUrls:
        if self._urls is None:
            raise RuntimeError("the simulator is not started")
        return self._urls

    # ------------------------------------------------------------------ clock
    def _start_driver(self) -> None:
        if not self.core.market_clock.stepped and self._driver is None:
            self._driver = asyncio.get_running_loop().create_task(self._drive())

    async def _stop_driver(self) -> None:
        if self._driver is not None:
            self._driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._driver
            self._driver = None

    async def _drive(self) -> None:
        """Sleep until the next path corner (or the next interpolation tick), then catch up."""
        market = self.core.market
        clock = self.core.market_clock
        tick = self.config.tick_interval_s
        while True:
            nxt = market.next_event_time()
            wait = clock.wall_seconds_until(nxt) if nxt is not None else 1.0
            if tick > 0:
                wait = min(wait, tick)
            await asyncio.sleep(max(wait, 0.001))
            try:
                market.sync()
                if tick > 0 and clock.speed is not None:
                    market.tick_all(int(tick * 1000 * clock.speed / 2))
            except Exception:
                log.exception("the market driver failed; the market is stopped")
                raise

    async def set_speed(self, speed: float | None) -> None:
        """Switch the market clock: ``None`` stepped, else running at ``speed``x."""
        await self._stop_driver()
        self.core.market.sync()
        self.core.market_clock.set_speed(speed)
        if self._runner is not None:
            self._start_driver()

    async def advance(
        self, *, bars: int | None = None, to_ms: int | None = None, seconds: float | None = None
    ) -> int:
        """Move a stepped market on (exactly one argument) and return the new market time.

        ``bars`` goes to the open of the ``bars``-th next base bar, ``to_ms`` to an absolute
        market time, ``seconds`` that much market time on. Streams and user events are queued
        before this returns; yielding once lets the writers start sending them.
        """
        if sum(x is not None for x in (bars, to_ms, seconds)) != 1:
            raise ValueError("give exactly one of bars, to_ms or seconds")
        market = self.core.market
        if not self.core.market_clock.stepped:
            raise RuntimeError("advance() needs the stepped clock")
        if bars is not None:
            market.advance_bars(bars)
        elif to_ms is not None:
            if to_ms < market.now_ms:
                raise ValueError(f"cannot go back in time from {market.now_ms} to {to_ms}")
            market.advance_to(to_ms)
        else:
            assert seconds is not None
            if seconds < 0:
                raise ValueError("seconds must be >= 0")
            market.advance_to(market.now_ms + int(seconds * 1000))
        await asyncio.sleep(0)
        return market.now_ms

    # ------------------------------------------------------------------ faults, connections
    def set_faults(self, settings: FaultSettings) -> None:
        self.core.faults.apply(settings)

    async def _announce_shutdown(self) -> None:
        """``serverShutdown`` to every client (Binance's warning before a disconnect), then a
        short wait for the queued messages to go out."""
        hub = self.core.hub
        event = {"e": "serverShutdown", "E": self.core.protocol_clock.now_ms()}
        for conn in hub.market_connections:
            payload = wire.wrap_combined("!serverShutdown", event) if conn.combined else event
            conn.outbox.send(dumps(payload), faulty=False)
        for user in hub.user_connections:
            user.outbox.send(dumps({"event": event}), faulty=False)
        outboxes = hub.all_outboxes()
        if outboxes:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(o.wait_closed() for o in outboxes)), 1.0)

    async def drop_connections(self) -> int:
        """Close every WebSocket connection now (clients must reconnect)."""
        outboxes = self.core.hub.all_outboxes()
        for outbox in outboxes:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await outbox.ws.close(code=1001, message=b"server closing the connection")
        return len(outboxes)

    def status(self) -> dict[str, Any]:
        core = self.core
        return {
            **core.market.status(),
            "serverTime": core.protocol_clock.now_ms(),
            "accounts": len(core.accounts),
            "connections": {
                "streams": len(core.hub.market_connections),
                "wsApi": len(core.hub.user_connections),
            },
            "faults": core.faults.settings.to_dict(),
        }
