"""Small raw-WebSocket helpers for the simulator tests (aiohttp's client, nothing else)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp

from binance_bot.simulator.request import ws_signature_payload


async def recv_json(ws: aiohttp.ClientWebSocketResponse, wait: float = 5.0) -> Any:
    """The next text message as JSON; fails the test if none arrives in time."""
    while True:
        msg = await asyncio.wait_for(ws.receive(), wait)
        if msg.type is aiohttp.WSMsgType.TEXT:
            return json.loads(msg.data)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            raise AssertionError(f"the connection closed: {msg}")


async def recv_n(ws: aiohttp.ClientWebSocketResponse, n: int, wait: float = 5.0) -> list[Any]:
    return [await recv_json(ws, wait) for _ in range(n)]


async def nothing_arrives(ws: aiohttp.ClientWebSocketResponse, wait: float = 0.2) -> bool:
    try:
        msg = await asyncio.wait_for(ws.receive(), wait)
    except TimeoutError:
        return True
    return msg.type is not aiohttp.WSMsgType.TEXT


def signed_params(params: dict[str, Any], api_key: str, secret: str, **overrides: Any) -> dict[str, Any]:
    """WebSocket API signing: apiKey and timestamp inside params, sorted, HMAC-SHA256."""
    out = {**params, "apiKey": api_key, "timestamp": int(time.time() * 1000), **overrides}
    out["signature"] = hmac.new(
        secret.encode(), ws_signature_payload(out).encode(), hashlib.sha256
    ).hexdigest()
    return out


class WsApi:
    """A WebSocket API session: requests by id, user events collected on the side."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, api_key: str, secret: str) -> None:
        self.ws = ws
        self.api_key = api_key
        self.secret = secret
        self.events: list[dict[str, Any]] = []
        self._next = 1

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, signed: bool = False
    ) -> dict[str, Any]:
        request_id = self._next
        self._next += 1
        body = signed_params(params or {}, self.api_key, self.secret) if signed else (params or {})
        await self.ws.send_str(json.dumps({"id": request_id, "method": method, "params": body}))
        while True:
            msg = await recv_json(self.ws)
            if "event" in msg:
                self.events.append(msg)
                continue
            assert msg["id"] == request_id, msg
            return msg

    async def event(self, wait: float = 5.0) -> dict[str, Any]:
        if self.events:
            return self.events.pop(0)
        msg = await recv_json(self.ws, wait)
        assert "event" in msg, msg
        return msg

    async def events_until(self, kind: str, wait: float = 5.0) -> list[dict[str, Any]]:
        """Events up to and including the first whose ``e`` is ``kind``."""
        out = []
        while True:
            msg = await self.event(wait)
            out.append(msg)
            if msg["event"]["e"] == kind:
                return out
