"""WebSockets: market streams (``/ws``, ``/stream``) and the WebSocket API (``/ws-api/v3``).

Both speak Binance's connection rules: the server pings every ``ping_interval_s`` and drops a
client that has not answered within ``pong_timeout_s`` (a pong must echo the ping's payload;
unsolicited pongs are allowed but keep nothing alive); a stream client sending more than
``ws_incoming_per_second`` messages in a second is disconnected. The ``ws_drop_every_s``
fault closes every connection that many seconds after it opened, so reconnect logic runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from binance_bot.exchange.binance import wire
from binance_bot.simulator.api import REST_ENDPOINTS, Call, Endpoint, Security
from binance_bot.simulator.core import Account, SimulatorCore
from binance_bot.simulator.hub import MarketConnection, Outbox, UserConnection, dumps
from binance_bot.simulator.limits import Refusal
from binance_bot.simulator.request import ApiError, Params, check_timing, fail, ws_signature_payload, ws_text

log = logging.getLogger(__name__)

MAX_STREAMS = 1024
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
"""Request ids: int64, null, or up to 36 letters and digits (Binance's examples use UUIDs)."""


class _Keepalive:
    """Server pings with a payload, the matching pong, the drop fault and the message rate."""

    def __init__(self, core: SimulatorCore, ws: web.WebSocketResponse, *, limit_rate: bool) -> None:
        self._core = core
        self._ws = ws
        self._limit_rate = limit_rate
        self._payload = b""
        self._last_pong = time.monotonic()
        self._opened = time.monotonic()
        self._window_start = time.monotonic()
        self._window_count = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        cfg = self._core.config
        counter = 0
        next_ping = time.monotonic() + cfg.ping_interval_s
        while not self._ws.closed:
            drop_every = self._core.faults.ws_drop_every_s
            now = time.monotonic()
            wake = next_ping
            if drop_every > 0:
                drop_at = self._opened + drop_every
                if now >= drop_at:
                    await self._ws.close(code=WSCloseCode.GOING_AWAY, message=b"injected disconnect")
                    return
                wake = min(wake, drop_at)
            await asyncio.sleep(min(max(wake - now, 0.0), 1.0))
            now = time.monotonic()
            if now - self._last_pong > cfg.pong_timeout_s:
                await self._ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"pong timeout")
                return
            if now >= next_ping:
                counter += 1
                self._payload = str(counter).encode()
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await self._ws.ping(self._payload)
                next_ping = now + cfg.ping_interval_s

    def pong(self, data: bytes) -> None:
        if data == self._payload and self._payload:
            self._last_pong = time.monotonic()

    def incoming(self) -> bool:
        """Count one client message; False when the client broke the per-second limit."""
        if not self._limit_rate:
            return True
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start = now
            self._window_count = 0
        self._window_count += 1
        return self._window_count <= self._core.config.ws_incoming_per_second

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def _serve(
    core: SimulatorCore,
    ws: web.WebSocketResponse,
    keepalive: _Keepalive,
    on_text: Callable[[str], Awaitable[bool]],
) -> None:
    """Read frames until the client leaves: pings answered, pongs checked, text handed on."""
    async for msg in ws:
        if msg.type is WSMsgType.PING:
            if not keepalive.incoming():
                break
            await ws.pong(msg.data)
        elif msg.type is WSMsgType.PONG:
            if not keepalive.incoming():
                break
            keepalive.pong(msg.data)
        elif msg.type is WSMsgType.TEXT:
            if not keepalive.incoming():
                break
            if not await on_text(msg.data):
                break
        elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR):
            break


# ============================================================================ market streams
class StreamTransport:
    def __init__(self, core: SimulatorCore) -> None:
        self.core = core

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/ws", self.raw)
        app.router.add_get("/ws/{streams:.*}", self.raw)
        app.router.add_get("/stream", self.combined)

    async def raw(self, request: web.Request) -> web.StreamResponse:
        names = [s for s in request.match_info.get("streams", "").split("/") if s]
        return await self._connect(request, names, combined=False)

    async def combined(self, request: web.Request) -> web.StreamResponse:
        names = [s for s in request.query.get("streams", "").split("/") if s]
        return await self._connect(request, names, combined=True)

    async def _connect(self, request: web.Request, names: list[str], *, combined: bool) -> web.StreamResponse:
        core = self.core
        bad = [n for n in names if not core.valid_stream(n)]
        if bad or len(names) > MAX_STREAMS:
            reason = (
                f"Invalid request: unknown stream '{bad[0]}'" if bad else "Invalid request: too many streams"
            )
            return web.json_response({"code": 2, "msg": reason}, status=400)
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        outbox = Outbox(ws, core.faults)
        outbox.start()
        conn = MarketConnection(outbox, combined=combined)
        core.hub.add_market(conn)
        core.hub.subscribe(conn, names)
        keepalive = _Keepalive(core, ws, limit_rate=True)
        keepalive.start()

        async def on_text(text: str) -> bool:
            reply = self._control(conn, text)
            if reply is not None:
                outbox.send(dumps(reply), faulty=False)
            return True

        try:
            await _serve(core, ws, keepalive, on_text)
        finally:
            core.hub.remove_market(conn)
            await keepalive.stop()
            await outbox.wait_closed()
            if not ws.closed:
                await ws.close()
        return ws

    def _control(self, conn: MarketConnection, text: str) -> dict[str, Any] | None:
        try:
            msg = json.loads(text)
        except json.JSONDecodeError as exc:
            return {"code": 3, "msg": f"Invalid JSON: expected value at line {exc.lineno} column {exc.colno}"}
        if not isinstance(msg, dict):
            return {"code": 3, "msg": "Invalid JSON: expected an object"}
        request_id = msg.get("id")
        if not _valid_id(request_id):
            return {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer", "id": None}
        method = msg.get("method")
        params = msg.get("params", [])

        def error(text: str) -> dict[str, Any]:
            return {"code": 2, "msg": f"Invalid request: {text}", "id": request_id}

        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return error("invalid value for parameter 'params'")
            if method == "SUBSCRIBE":
                bad = [p for p in params if not self.core.valid_stream(p)]
                if bad:
                    return error(f"unknown stream '{bad[0]}'")
                if len(set(conn.streams) | set(params)) > MAX_STREAMS:
                    return error(f"too many streams; at most {MAX_STREAMS} per connection")
                self.core.hub.subscribe(conn, params)
            else:
                self.core.hub.unsubscribe(conn, params)
            return {"result": None, "id": request_id}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": list(conn.streams), "id": request_id}
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            if not isinstance(params, list) or not params or params[0] != "combined":
                return {"code": 0, "msg": "Unknown property", "id": request_id}
            if method == "GET_PROPERTY":
                return {"result": conn.combined, "id": request_id}
            if len(params) != 2 or not isinstance(params[1], bool):
                return error("invalid value for parameter 'params'")
            conn.combined = params[1]
            return {"result": None, "id": request_id}
        return error(f"unknown method '{method}'")


def _valid_id(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and bool(_ID_RE.match(value))


# ============================================================================ WebSocket API
WS_METHODS: dict[str, Endpoint] = {e.name: e for e in REST_ENDPOINTS.values() if not e.sapi}
_SUBSCRIBE_WEIGHT = 2
_CONNECT_WEIGHT = 2


class WsApiTransport:
    def __init__(self, core: SimulatorCore) -> None:
        self.core = core

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/ws-api/v3", self.connect)

    async def connect(self, request: web.Request) -> web.StreamResponse:
        core = self.core
        ip = request.remote or "unknown"
        now = core.protocol_clock.now_ms()
        refusal = core.limiter.admit(ip, _CONNECT_WEIGHT, now)
        if refusal is not None:
            return web.json_response(
                wire.write_error(refusal.code, refusal.msg),
                status=refusal.status,
                headers={"Retry-After": str(refusal.retry_after_s)},
            )
        core.limiter.charge(ip, _CONNECT_WEIGHT, now)
        return_limits = request.query.get("returnRateLimits", "true").lower() != "false"
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        outbox = Outbox(ws, core.faults)
        outbox.start()
        conn = UserConnection(outbox)
        core.hub.add_user(conn)
        keepalive = _Keepalive(core, ws, limit_rate=False)
        keepalive.start()

        async def on_text(text: str) -> bool:
            reply = await self._request(conn, ip, text, return_limits)
            outbox.send(dumps(reply), faulty=False)
            return True

        try:
            await _serve(core, ws, keepalive, on_text)
        finally:
            core.hub.remove_user(conn)
            await keepalive.stop()
            await outbox.wait_closed()
            if not ws.closed:
                await ws.close()
        return ws

    def _rate_limits(self, ip: str, account: Account | None, orders: bool) -> list[dict[str, Any]]:
        core = self.core
        now = core.protocol_clock.now_ms()
        out = []
        for limit in core.rate_limits():
            if limit.rate_limit_type == "REQUEST_WEIGHT":
                row = wire.write_rate_limit(limit)
                row["count"] = core.limiter.used_weight(ip, now)
                out.append(row)
            elif limit.rate_limit_type == "ORDERS" and orders and account is not None:
                ten, day = core.limiter.order_counts(account.key, now)
                row = wire.write_rate_limit(limit)
                row["count"] = ten if limit.interval == "SECOND" else day
                out.append(row)
        return out

    async def _request(self, conn: UserConnection, ip: str, text: str, return_limits: bool) -> dict[str, Any]:
        core = self.core
        try:
            msg = json.loads(text)
        except json.JSONDecodeError:
            return self._error(None, 400, -1135, "Invalid JSON request.")
        if not isinstance(msg, dict):
            return self._error(None, 400, -1135, "Invalid JSON request.")
        request_id = msg.get("id")
        if not _valid_id(request_id):
            return self._error(None, 400, -1135, "Invalid request ID.")
        method = str(msg.get("method", ""))
        if method.startswith("v3/"):
            method = method[3:]
        raw_params = msg.get("params", {})
        if not isinstance(raw_params, dict):
            return self._error(
                request_id, 400, -1135, "Invalid 'params' in JSON request; expected an object."
            )
        delay = core.faults.latency_s()
        if delay > 0:
            await asyncio.sleep(delay)
        special: dict[str, tuple[Callable[[UserConnection, Account | None, dict[str, Any]], Any], bool]] = {
            "userDataStream.subscribe.signature": (self._subscribe, True),
            "userDataStream.unsubscribe": (self._unsubscribe, False),
            "session.subscriptions": (self._subscriptions, False),
        }
        endpoint = WS_METHODS.get(method)
        if endpoint is None and method not in special:
            return self._error(request_id, 400, -1100, f"Unknown method '{method}'.")
        params = Params({k: ws_text(v) for k, v in raw_params.items()})
        weight = endpoint.weight(params) if endpoint is not None else _SUBSCRIBE_WEIGHT
        now = core.protocol_clock.now_ms()
        burst = core.faults.burst_remaining_s()
        refusal = core.limiter.admit(ip, weight, now, forced_wait_ms=int(burst * 1000))
        if refusal is None and core.faults.too_many_requests():
            refusal = Refusal(429, -1003, "Too many requests queued.", 1000)
        if refusal is not None:
            out = self._error(request_id, refusal.status, refusal.code, refusal.msg)
            out["error"]["data"] = {"serverTime": now, "retryAfter": now + refusal.retry_after_ms}
            if return_limits:
                out["rateLimits"] = self._rate_limits(ip, None, False)
            return out
        server_error = core.faults.server_error()
        if server_error is not None and not server_error.after:
            core.limiter.charge(ip, weight, now)
            return self._error(
                request_id,
                server_error.status,
                -1000,
                "An unknown error occurred while processing the request.",
            )
        account: Account | None = None
        success = False
        try:
            if endpoint is not None:
                if endpoint.security is Security.SIGNED:
                    account = self._authenticate(raw_params, params)
                params.check_known(endpoint.params)
                core.market.sync()
                result = endpoint.handler(core, Call(params, account, now, not core.market_clock.stepped))
            else:
                handler, signed = special[method]
                if signed:
                    account = self._authenticate(raw_params, params)
                result = handler(conn, account, raw_params)
            success = True
        except ApiError as exc:
            rejection = exc.rejection
            out = self._error(request_id, rejection.http_status, rejection.code, rejection.msg)
        else:
            out = {"id": request_id, "status": 200, "result": result}
        order_endpoint = endpoint is not None and endpoint.order_endpoint
        core.limiter.charge(ip, 0 if success and order_endpoint else weight, core.protocol_clock.now_ms())
        if server_error is not None:
            return self._error(
                request_id,
                server_error.status,
                -1000,
                "An unknown error occurred while processing the request.",
            )
        if return_limits:
            out["rateLimits"] = self._rate_limits(ip, account, order_endpoint)
        return out

    @staticmethod
    def _error(request_id: object, status: int, code: int, msg: str) -> dict[str, Any]:
        return {"id": request_id, "status": status, "error": {"code": code, "msg": msg}}

    def _authenticate(self, raw: dict[str, Any], params: Params) -> Account:
        """Sorted-params signature (``apiKey`` inside ``params``), then timing."""
        key = params.values.get("apiKey")
        if not key:
            raise fail(-1102, "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.")
        account = self.core.accounts.get(key)
        if account is None:
            raise fail(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        signature = params.values.get("signature")
        if not params.has("timestamp"):
            raise fail(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
        if not signature:
            raise fail(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
        if not account.verifier.verify(ws_signature_payload(raw), signature):
            raise fail(-1022, "Signature for this request is not valid.")
        check_timing(
            params.values.get("timestamp"), params.values.get("recvWindow"), self.core.protocol_clock.now_ms()
        )
        return account

    # ------------------------------------------------------------------ user data stream
    def _subscribe(self, conn: UserConnection, account: Account | None, raw: dict[str, Any]) -> Any:
        assert account is not None
        Params({k: ws_text(v) for k, v in raw.items()}).check_known(())
        if account.key in conn.subscriptions.values():
            raise fail(-2035, "User Data Stream subscription already active.")
        return {"subscriptionId": self.core.hub.subscribe_user(conn, account.key)}

    def _unsubscribe(self, conn: UserConnection, account: Account | None, raw: dict[str, Any]) -> Any:
        params = Params({k: ws_text(v) for k, v in raw.items()})
        params.check_known(("subscriptionId",))
        wanted = params.integer("subscriptionId")
        ids = [wanted] if wanted is not None else list(conn.subscriptions)
        if not ids or any(i not in conn.subscriptions for i in ids):
            raise fail(-2036, "User Data Stream subscription not active.")
        now = self.core.market.now_ms
        for sub_id in ids:
            self.core.hub.unsubscribe_user(conn, sub_id)
            conn.outbox.send(
                dumps(wire.wrap_user_event(sub_id, {"e": "eventStreamTerminated", "E": now})), faulty=False
            )
        return {}

    def _subscriptions(self, conn: UserConnection, account: Account | None, raw: dict[str, Any]) -> Any:
        return [{"subscriptionId": sub_id} for sub_id in sorted(conn.subscriptions)]
