"""One WebSocket that keeps itself alive: reconnect with back-off, rotation, liveness.

Binance closes every connection after 24 hours, sends ``serverShutdown`` before
maintenance, pings every 20 s and drops clients that do not answer within a minute.
aiohttp answers pings itself (``autoping``, echoing the payload); the ``heartbeat`` pings
we send detect a dead peer. Everything else is the subclass's: which URL, what to send once
connected, what to do with each text message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from binance_bot.config.redaction import redact

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SocketSettings:
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    stable_after: float = 60.0
    """A connection that lived this long resets the back-off."""
    rotate_after: float = 23.5 * 3600
    """Reconnect before Binance's 24-hour limit, at a time of our choosing."""
    heartbeat: float = 30.0
    connect_timeout: float = 10.0
    max_message_bytes: int = 16 * 1024 * 1024


class Reconnect(Exception):
    """Raised by a handler to make the socket reconnect (``serverShutdown``, terminated stream)."""


class ReconnectingSocket:
    def __init__(self, name: str, settings: SocketSettings | None = None) -> None:
        self.name = name
        self.settings = settings or SocketSettings()
        self._session: aiohttp.ClientSession | None = None
        self._own_session = False
        self._task: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._closing = False
        self.connected = asyncio.Event()
        self.connects = 0
        self.reconnects = 0
        self.messages = 0
        self.last_error: str | None = None

    # -- subclass hooks --------------------------------------------------------------
    def url(self) -> str:
        raise NotImplementedError

    async def on_open(self, ws: aiohttp.ClientWebSocketResponse, reconnect: bool) -> None:
        """Called after each connect, before messages are read."""

    async def on_text(self, text: str) -> None:
        raise NotImplementedError

    async def on_closed(self) -> None:
        """Called after each disconnect (also the last one)."""

    # -- lifecycle ----------------------------------------------------------------------
    def launch(self, session: aiohttp.ClientSession | None = None) -> None:
        if self._task is not None:
            return
        if session is None:
            session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, connect=self.settings.connect_timeout)
            )
            self._own_session = True
        self._session = session
        self._task = asyncio.create_task(self._run(), name=f"ws-{self.name}")

    async def wait_connected(self, seconds: float) -> None:
        await asyncio.wait_for(self.connected.wait(), seconds)

    async def send_json(self, obj: Any) -> None:
        if self._ws is None or self._ws.closed:
            raise ConnectionError(f"{self.name}: not connected")
        await self._ws.send_json(obj)

    async def drop(self) -> None:
        """Close the current connection; the loop reconnects (used for rotation and tests)."""
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()

    async def stop(self) -> None:
        self._closing = True
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    # -- the loop -------------------------------------------------------------------------
    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            opened_at = time.monotonic()
            try:
                await self._connect_once(reconnect=self.connects > 0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure means: reconnect after a pause
                self.last_error = redact(f"{type(exc).__name__}: {exc}")
                log.warning("%s: connection lost (%s)", self.name, self.last_error)
            finally:
                self.connected.clear()
                self._ws = None
                with contextlib.suppress(Exception):
                    await self.on_closed()
            if self._closing:
                return
            if time.monotonic() - opened_at >= self.settings.stable_after:
                attempt = 0
            delay = min(self.settings.backoff_max, self.settings.backoff_base * 2**attempt)
            delay *= random.uniform(0.5, 1.0)
            attempt += 1
            await asyncio.sleep(delay)

    async def _connect_once(self, reconnect: bool) -> None:
        assert self._session is not None
        s = self.settings
        async with self._session.ws_connect(
            self.url(),
            heartbeat=s.heartbeat,
            autoping=True,
            max_msg_size=s.max_message_bytes,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=s.connect_timeout),
        ) as ws:
            self._ws = ws
            self.connects += 1
            if reconnect:
                self.reconnects += 1
            await self.on_open(ws, reconnect)
            self.connected.set()
            deadline = time.monotonic() + s.rotate_after
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.info("%s: rotating the connection before Binance's 24 h limit", self.name)
                    return
                try:
                    msg = await ws.receive(timeout=remaining)
                except TimeoutError:
                    continue
                if msg.type is aiohttp.WSMsgType.TEXT:
                    self.messages += 1
                    try:
                        await self.on_text(msg.data)
                    except Reconnect as why:
                        log.info("%s: reconnecting (%s)", self.name, why)
                        return
                elif msg.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.CLOSED,
                ):
                    raise ConnectionError(f"closed by peer (code {ws.close_code})")
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    raise ConnectionError(f"socket error: {ws.exception()}")
