"""Who listens to what: market stream subscriptions, user-data subscriptions, outgoing queues.

Every WebSocket connection owns an :class:`Outbox`: messages are queued and written by one
task per connection, so a slow client delays only itself (one that falls too far behind is
disconnected, as Binance does). Injected stream faults act here: a duplicated message is
queued twice, a delayed one is queued later, and so may arrive after newer ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from binance_bot.exchange.binance import wire
from binance_bot.simulator.faults import FaultInjector

log = logging.getLogger(__name__)

MAX_QUEUE = 50_000


def dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))


class Outbox:
    def __init__(self, ws: web.WebSocketResponse, faults: FaultInjector) -> None:
        self.ws = ws
        self._faults = faults
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._delayed: set[asyncio.TimerHandle] = set()
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def send(self, text: str, *, faulty: bool = True) -> None:
        """Queue a message; ``faulty`` messages (stream events, not replies) may be duplicated or delayed."""
        if self._closed:
            return
        if self._queue.qsize() > MAX_QUEUE:
            log.warning("disconnecting a WebSocket client that fell %d messages behind", MAX_QUEUE)
            self.close()
            return
        if not faulty:
            self._queue.put_nowait(text)
            return
        fault = self._faults.stream_fault()
        copies = 2 if fault.duplicate else 1
        if fault.delay_s > 0:
            loop = asyncio.get_running_loop()
            handle: asyncio.TimerHandle

            def later() -> None:
                self._delayed.discard(handle)
                if not self._closed:
                    for _ in range(copies):
                        self._queue.put_nowait(text)

            handle = loop.call_later(fault.delay_s, later)
            self._delayed.add(handle)
            return
        for _ in range(copies):
            self._queue.put_nowait(text)

    async def _run(self) -> None:
        while True:
            text = await self._queue.get()
            if text is None or self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                self.close()
                return

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for handle in self._delayed:
            handle.cancel()
        self._delayed.clear()
        self._queue.put_nowait(None)

    async def wait_closed(self) -> None:
        self.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class MarketConnection:
    """A ``/ws`` or ``/stream`` client: its streams and whether payloads are wrapped."""

    def __init__(self, outbox: Outbox, *, combined: bool) -> None:
        self.outbox = outbox
        self.combined = combined
        self.streams: list[str] = []


class UserConnection:
    """A ``/ws-api/v3`` client: its user-data subscriptions (id -> account)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.subscriptions: dict[int, str] = {}
        self.next_subscription = 0
        self.logged_on: str | None = None


class StreamHub:
    def __init__(self) -> None:
        self._market: dict[str, set[MarketConnection]] = defaultdict(set)
        self._by_symbol: dict[str, set[str]] = defaultdict(set)
        self._users: dict[str, set[UserConnection]] = defaultdict(set)
        self.market_connections: set[MarketConnection] = set()
        self.user_connections: set[UserConnection] = set()

    # ------------------------------------------------------------------ market
    def subscribe(self, conn: MarketConnection, names: list[str]) -> None:
        for name in names:
            if name not in conn.streams:
                conn.streams.append(name)
            self._market[name].add(conn)
            self._by_symbol[name.split("@", 1)[0]].add(name)

    def unsubscribe(self, conn: MarketConnection, names: list[str]) -> None:
        for name in names:
            if name in conn.streams:
                conn.streams.remove(name)
            subscribers = self._market.get(name)
            if subscribers is not None:
                subscribers.discard(conn)
                if not subscribers:
                    del self._market[name]
                    self._by_symbol[name.split("@", 1)[0]].discard(name)

    def streams_of(self, symbol: str) -> set[str]:
        """Stream names with at least one subscriber for a (lowercase) symbol."""
        return self._by_symbol.get(symbol, set())

    def publish(self, name: str, payload: Mapping[str, Any]) -> None:
        subscribers = self._market.get(name)
        if not subscribers:
            return
        raw: str | None = None
        combined: str | None = None
        for conn in subscribers:
            if conn.combined:
                if combined is None:
                    combined = dumps(wire.wrap_combined(name, payload))
                conn.outbox.send(combined)
            else:
                if raw is None:
                    raw = dumps(payload)
                conn.outbox.send(raw)

    def add_market(self, conn: MarketConnection) -> None:
        self.market_connections.add(conn)

    def remove_market(self, conn: MarketConnection) -> None:
        self.unsubscribe(conn, list(conn.streams))
        self.market_connections.discard(conn)

    # ------------------------------------------------------------------ user data
    def add_user(self, conn: UserConnection) -> None:
        self.user_connections.add(conn)

    def subscribe_user(self, conn: UserConnection, account: str) -> int:
        sub_id = conn.next_subscription
        conn.next_subscription += 1
        conn.subscriptions[sub_id] = account
        self._users[account].add(conn)
        return sub_id

    def unsubscribe_user(self, conn: UserConnection, sub_id: int) -> str | None:
        account = conn.subscriptions.pop(sub_id, None)
        if account is not None and account not in conn.subscriptions.values():
            self._users[account].discard(conn)
        return account

    def remove_user(self, conn: UserConnection) -> None:
        for sub_id in list(conn.subscriptions):
            self.unsubscribe_user(conn, sub_id)
        self.user_connections.discard(conn)

    def has_user(self, account: str) -> bool:
        return bool(self._users.get(account))

    def publish_user(self, account: str, event: Mapping[str, Any]) -> None:
        for conn in self._users.get(account, ()):
            for sub_id, owner in conn.subscriptions.items():
                if owner == account:
                    conn.outbox.send(dumps(wire.wrap_user_event(sub_id, event)))

    def all_outboxes(self) -> list[Outbox]:
        return [c.outbox for c in self.market_connections] + [c.outbox for c in self.user_connections]
