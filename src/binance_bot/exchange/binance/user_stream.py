"""Our own order, list and balance changes through the WebSocket API.

The listenKey mechanism is gone (switched off 2026-02-20); user data now comes from
``userDataStream.subscribe.signature`` on the WebSocket API connection, signed like any
WebSocket API request (sorted params, HMAC or Ed25519). There is no keepalive beyond
ping/pong; the connection lasts at most 24 hours.

Whatever happened while we were disconnected is lost, so after every reconnect the first
event is a :class:`~binance_bot.model.StreamGap`: the engine reconciles open orders and
balances over REST before trusting the stream again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from binance_bot.errors import AuthenticationError, ClockSkewError, ExchangeError
from binance_bot.model import ExecutionReport, Order, StreamGap, UserEvent

from . import wire
from .errors import BinanceAPIError, translate
from .signing import Signer, sign_ws_params
from .ws import Reconnect, ReconnectingSocket, SocketSettings

log = logging.getLogger(__name__)

KNOWN_ORDERS = 10_000
"""Latest order states remembered for filling in ``listStatus`` legs."""


class BinanceUserStream(ReconnectingSocket):
    """Implements :class:`binance_bot.engine.ports.UserStream`."""

    def __init__(
        self,
        ws_api_url: str,
        *,
        api_key: str,
        signer: Signer,
        now_ms: Callable[[], int],
        resync_clock: Callable[[], Any] | None = None,
        recv_window_ms: int = 5000,
        settings: SocketSettings | None = None,
        queue_size: int = 10_000,
        subscribe_timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__("user-data", settings)
        self._subscribe_timeout = subscribe_timeout
        self._given_session = session
        self._url = ws_api_url
        self._api_key = api_key
        self._signer = signer
        self._now_ms = now_ms
        self._resync = resync_clock
        self._recv_window = recv_window_ms
        self._events: asyncio.Queue[UserEvent | None] = asyncio.Queue(queue_size)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._known: OrderedDict[int, Order] = OrderedDict()
        self.subscription_id: int | None = None
        self.malformed = 0
        self.gaps = 0
        self.subscribe_failures = 0
        self.fatal: ExchangeError | None = None

    def url(self) -> str:
        return self._url

    async def start(self) -> None:
        """Connect and subscribe; raises if the first subscription is refused (bad key...)."""
        self.launch(self._given_session)
        deadline = time.monotonic() + self._subscribe_timeout
        while not self.connected.is_set():
            if self.fatal is not None:
                err, self.fatal = self.fatal, None
                await self.stop()
                raise err
            if time.monotonic() > deadline:
                await self.stop()
                raise ExchangeError(
                    f"user data stream: not subscribed within {self._subscribe_timeout:.0f}s "
                    f"({self.last_error or 'no answer'})",
                    endpoint="userDataStream.subscribe.signature",
                )
            await asyncio.sleep(0.02)

    async def _request(self, ws: aiohttp.ClientWebSocketResponse, method: str, params: dict[str, Any]) -> Any:
        req_id = f"bb-{next(self._ids)}"
        await ws.send_json({"id": req_id, "method": method, "params": params})
        # the reader loop is not running yet during on_open, so read the answer here
        while True:
            msg = await ws.receive(timeout=self.settings.connect_timeout)
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"{method}: connection closed before the answer")
            data = json.loads(msg.data)
            if isinstance(data, dict) and data.get("id") == req_id:
                return data
            await self.on_text(msg.data)  # an event that raced the answer

    async def on_open(self, ws: aiohttp.ClientWebSocketResponse, reconnect: bool) -> None:
        for attempt in range(2):
            params = sign_ws_params(
                {"apiKey": self._api_key, "timestamp": self._now_ms(), "recvWindow": self._recv_window},
                self._signer,
            )
            answer = await self._request(ws, "userDataStream.subscribe.signature", params)
            if answer.get("status") == 200:
                result = answer.get("result") or {}
                self.subscription_id = result.get("subscriptionId") if isinstance(result, dict) else None
                break
            error = answer.get("error") or {}
            raw = BinanceAPIError(
                int(answer.get("status", 400)),
                error.get("code"),
                str(error.get("msg", "")),
                "userDataStream.subscribe",
            )
            err = translate(raw)
            err.__cause__ = raw
            self.subscribe_failures += 1
            if isinstance(err, ClockSkewError) and attempt == 0 and self._resync is not None:
                await self._resync()
                continue
            if isinstance(err, AuthenticationError) or not reconnect:
                self.fatal = err
            raise err
        if reconnect:
            self.gaps += 1
            await self._events.put(
                StreamGap(reason="user data stream reconnected", event_time=self._now_ms())
            )

    async def on_text(self, text: str) -> None:
        try:
            message = json.loads(text)
            if isinstance(message, dict) and "id" in message and "status" in message:
                return  # an answer nobody waits for (e.g. after a timeout)
            event = wire.parse_user_event(message, self._known)
        except (ValueError, wire.WireFormatError) as exc:
            self.malformed += 1
            log.debug("skipping a malformed user-data message (%s): %.200s", exc, text)
            return
        if event is None or isinstance(event, wire.BalanceDelta):
            return  # the outboundAccountPosition that follows carries the new balances
        if isinstance(event, wire.StreamTerminated):
            raise Reconnect("eventStreamTerminated")
        if isinstance(event, wire.ServerShutdown):
            raise Reconnect("serverShutdown")
        if isinstance(event, ExecutionReport):
            self._known[event.order.order_id] = event.order
            self._known.move_to_end(event.order.order_id)
            while len(self._known) > KNOWN_ORDERS:
                self._known.popitem(last=False)
        await self._events.put(event)

    async def events(self) -> AsyncIterator[UserEvent]:
        while True:
            item = await self._events.get()
            if item is None:
                return
            yield item

    async def close(self) -> None:
        await self.stop()
        with contextlib.suppress(asyncio.QueueFull):
            self._events.put_nowait(None)

    def metrics(self) -> dict[str, Any]:
        return {
            "connected": self.connected.is_set(),
            "reconnects": self.reconnects,
            "gaps": self.gaps,
            "messages": self.messages,
            "malformed": self.malformed,
            "subscribe_failures": self.subscribe_failures,
        }
