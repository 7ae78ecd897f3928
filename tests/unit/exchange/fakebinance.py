"""A small scriptable Binance look-alike on loopback for the connector's unit tests.

It checks HMAC signatures over the raw query string (as Binance does), keeps orders in
memory and counts request weight, and lets a test queue faults per endpoint (5xx, 429, 418,
-1021, slow answers that land or do not land). Integration tests use the real simulator;
this exists to pin narrow behaviours without depending on it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

from binance_bot.exchange.binance import wire
from binance_bot.exchange.binance.endpoints import local
from binance_bot.exchange.binance.rest import BinanceRestClient, RestSettings
from binance_bot.exchange.binance.signing import HmacSigner
from binance_bot.model import Bar, Fill, Order, OrderList, OrderStatus, OrderType

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "binance"
API_KEY = "test-key-0123456789"
API_SECRET = "test-secret-abcdefghijklmnop"


@dataclass
class Fault:
    """What to do with the next request to an endpoint instead of (or besides) serving it."""

    status: int = 500
    body: Any = field(default_factory=lambda: {"code": -1000, "msg": "An unknown error occurred."})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    process_first: bool = False  # serve the request (e.g. place the order), then answer late


class FakeBinance:
    def __init__(self, *, weight_limit: int = 6000, weight_window: int = 60) -> None:
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server: TestServer | None = None
        self.log: list[tuple[str, str, str, dict[str, str]]] = []
        self.faults: dict[tuple[str, str], deque[Fault]] = defaultdict(deque)
        self.skew_ms = 0
        self.weight_limit = weight_limit
        self.weight_window = weight_window
        self.used: dict[int, int] = defaultdict(int)
        self.rejected_429 = 0
        self.orders: dict[str, Order] = {}
        self.fills: list[Fill] = []
        self._ids = itertools.count(1)
        self.price = Decimal("30000.00")
        self.withdrawals_enabled = False
        self.bars: list[Bar] = []
        self.info = json.loads((RESOURCES / "exchange_info.json").read_text())
        if weight_window != 60:
            self.info["rateLimits"] = [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "SECOND",
                    "intervalNum": weight_window,
                    "limit": weight_limit,
                }
            ]
        self.stream_sockets: list[tuple[web.WebSocketResponse, set[str]]] = []
        self.stream_connects = 0
        self.control_messages: list[dict[str, Any]] = []
        self.user_sockets: list[web.WebSocketResponse] = []
        self.user_subscribes = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> str:
        self.server = TestServer(self.app, host="127.0.0.1")
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def fail(self, method: str, path: str, *faults: Fault) -> None:
        self.faults[(method, path)].extend(faults)

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p, _, _ in self.log if m == method and p == path)

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.skew_ms

    # ------------------------------------------------------------------ plumbing
    @staticmethod
    def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(
            status=status, text=json.dumps(obj), content_type="application/json", headers=headers
        )

    def _error(self, status: int, code: int, msg: str) -> web.Response:
        return self._json({"code": code, "msg": msg}, status)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if request.path == "/stream":
                return await self._stream_socket(request)
            if request.path == "/ws-api/v3":
                return await self._user_socket(request)
        raw_query = request.raw_path.partition("?")[2]
        self.log.append((request.method, request.path, raw_query, dict(request.headers)))
        window = int(time.time() // self.weight_window)
        self.used[window] += 1
        if self.used[window] > self.weight_limit:
            self.rejected_429 += 1
            return self._error(429, -1003, "Too much request weight used")
        suffix = "1M" if self.weight_window == 60 else f"{self.weight_window}S"
        headers = {f"X-MBX-USED-WEIGHT-{suffix}": str(self.used[window])}
        queue = self.faults.get((request.method, request.path))
        fault = queue.popleft() if queue else None
        if fault is not None and not fault.process_first:
            await asyncio.sleep(fault.delay)
            return self._json(fault.body, fault.status, {**headers, **fault.headers})
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        try:
            resp = await self._serve(request, raw_query, params)
        except KeyError as exc:
            resp = self._error(400, -1102, f"Mandatory parameter '{exc.args[0]}' was not sent.")
        if fault is not None:
            await asyncio.sleep(fault.delay)
            return self._json(fault.body, fault.status, {**headers, **fault.headers})
        resp.headers.update(headers)
        return resp

    def _check_signed(
        self, request: web.Request, raw_query: str, params: dict[str, str]
    ) -> web.Response | None:
        if request.headers.get("X-MBX-APIKEY") != API_KEY:
            return self._error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        payload, _, sig = raw_query.rpartition("&signature=")
        expected = hmac.new(API_SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if sig != expected:
            return self._error(400, -1022, "Signature for this request is not valid.")
        ts = int(params["timestamp"])
        window = int(params.get("recvWindow", 5000))
        now = self.now_ms()
        if not (ts < now + 1000 and now - ts <= window):
            return self._error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return None

    async def _serve(self, request: web.Request, raw_query: str, params: dict[str, str]) -> web.Response:
        path, method = request.path, request.method
        public: dict[str, Callable[[dict[str, str]], Any]] = {
            "/api/v3/ping": lambda p: {},
            "/api/v3/time": lambda p: {"serverTime": self.now_ms()},
            "/api/v3/exchangeInfo": lambda p: self.info,
            "/api/v3/ticker/price": self._ticker_price,
            "/api/v3/ticker/bookTicker": lambda p: {
                "symbol": p["symbol"],
                "bidPrice": str(self.price - 1),
                "bidQty": "1.00000000",
                "askPrice": str(self.price + 1),
                "askQty": "2.00000000",
            },
            "/api/v3/avgPrice": lambda p: {"mins": 5, "price": str(self.price), "closeTime": self.now_ms()},
            "/api/v3/depth": lambda p: wire.write_depth(
                1, [(self.price - 1, Decimal(1))], [(self.price + 1, Decimal(2))]
            ),
            "/api/v3/klines": self._klines,
        }
        if path in public:
            return self._json(public[path](params))
        bad = self._check_signed(request, raw_query, params)
        if bad is not None:
            return bad
        if path == "/api/v3/order" and method == "POST":
            return self._new_order(params)
        if path == "/api/v3/order" and method == "GET":
            order = self.orders.get(params.get("origClientOrderId", ""))
            if order is None:
                return self._error(400, -2013, "Order does not exist.")
            return self._json(wire.write_order_query(order))
        if path == "/api/v3/order" and method == "DELETE":
            order = self.orders.get(params.get("origClientOrderId", ""))
            if order is None or not order.is_open:
                return self._error(400, -2011, "Unknown order sent.")
            canceled = order.with_status(OrderStatus.CANCELED, update_time=self.now_ms())
            self.orders[order.client_order_id] = canceled
            return self._json(
                wire.write_cancel_response(canceled, cancel_client_order_id="x", transact_time=1)
            )
        if path == "/api/v3/orderList/oco" and method == "POST":
            return self._new_oco(params)
        if path == "/api/v3/openOrders" and method == "GET":
            return self._json([wire.write_order_query(o) for o in self.orders.values() if o.is_open])
        if path == "/api/v3/account":
            return self._json(
                wire.write_account(
                    [wire.parse_balance({"asset": "USDT", "free": "1000.5", "locked": "0"})], update_time=1
                )
            )
        if path == "/api/v3/myTrades":
            return self._json([wire.write_my_trade(f) for f in self.fills if f.symbol == params["symbol"]])
        if path == "/sapi/v1/account/apiRestrictions":
            return self._json(
                wire.write_api_restrictions(wire.ApiRestrictions(enable_withdrawals=self.withdrawals_enabled))
            )
        return self._error(404, -1000, f"no route {method} {path}")

    # ------------------------------------------------------------------ websockets
    async def _stream_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        streams = set(filter(None, request.query.get("streams", "").split("/")))
        entry = (ws, streams)
        self.stream_sockets.append(entry)
        self.stream_connects += 1
        try:
            async for msg in ws:
                data = json.loads(msg.data)
                self.control_messages.append(data)
                if data.get("method") == "SUBSCRIBE":
                    streams.update(data["params"])
                    await ws.send_json({"result": None, "id": data["id"]})
        finally:
            self.stream_sockets.remove(entry)
        return ws

    async def push(self, stream: str, payload: Any) -> int:
        """Send ``payload`` (wrapped as a combined-stream message) to every subscriber."""
        sent = 0
        for ws, streams in list(self.stream_sockets):
            if stream in streams and not ws.closed:
                await ws.send_str(
                    payload if isinstance(payload, str) else json.dumps(wire.wrap_combined(stream, payload))
                )
                sent += 1
        return sent

    async def push_bar(self, bar: Bar) -> int:
        name = f"{bar.symbol.lower()}@kline_{bar.interval}"
        return await self.push(name, wire.write_kline_event(bar, self.now_ms()))

    async def drop_sockets(self) -> None:
        for ws, _ in list(self.stream_sockets):
            await ws.close()
        for ws in list(self.user_sockets):
            await ws.close()

    async def _user_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        try:
            async for msg in ws:
                data = json.loads(msg.data)
                params = dict(data.get("params") or {})
                if data.get("method") != "userDataStream.subscribe.signature":
                    await ws.send_json(
                        {"id": data.get("id"), "status": 400, "error": {"code": -1100, "msg": "?"}}
                    )
                    continue
                sig = params.pop("signature", "")
                payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
                expected = hmac.new(API_SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
                if params.get("apiKey") != API_KEY or sig != expected:
                    err = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
                    await ws.send_json({"id": data["id"], "status": 401, "error": err})
                    continue
                if abs(int(params["timestamp"]) - self.now_ms()) > int(params.get("recvWindow", 5000)):
                    err = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
                    await ws.send_json({"id": data["id"], "status": 400, "error": err})
                    continue
                self.user_subscribes += 1
                self.user_sockets.append(ws)
                await ws.send_json({"id": data["id"], "status": 200, "result": {"subscriptionId": 0}})
        finally:
            if ws in self.user_sockets:
                self.user_sockets.remove(ws)
        return ws

    async def push_user(self, event: Any) -> int:
        sent = 0
        for ws in list(self.user_sockets):
            text = event if isinstance(event, str) else json.dumps(wire.wrap_user_event(0, event))
            await ws.send_str(text)
            sent += 1
        return sent

    def _new_oco(self, p: dict[str, str]) -> web.Response:
        req = wire.parse_oco_params(p)
        now = self.now_ms()
        list_id = next(self._ids)
        above, below = wire.oco_legs(req)
        legs = []
        for leg in (above, below):
            oid = next(self._ids)
            order = Order(
                req.symbol,
                oid,
                leg["ClientOrderId"],
                req.side,
                OrderType(leg["Type"]),
                OrderStatus.NEW,
                req.quantity,
                price=Decimal(leg.get("Price", "0")),
                stop_price=Decimal(leg.get("StopPrice", "0")),
                order_list_id=list_id,
                time=now,
                update_time=now,
                working_time=-1 if OrderType(leg["Type"]).is_conditional else now,
            )
            self.orders[order.client_order_id] = order
            legs.append(order)
        ol = OrderList(
            list_id, req.list_client_order_id, req.symbol, "EXEC_STARTED", "EXECUTING", tuple(legs), now
        )
        return self._json(wire.write_order_list(ol, p.get("newOrderRespType", "FULL")))

    def _ticker_price(self, p: dict[str, str]) -> Any:
        if "symbols" in p:
            return [wire.write_ticker_price(s, self.price) for s in json.loads(p["symbols"])]
        return wire.write_ticker_price(p["symbol"], self.price)

    def _klines(self, p: dict[str, str]) -> Any:
        start = int(p.get("startTime", 0))
        end = int(p.get("endTime", 2**62))
        limit = int(p.get("limit", 500))
        if "startTime" not in p:
            rows = [b for b in self.bars if b.open_time <= min(end, self.now_ms())]
            return [wire.write_kline(b) for b in rows[-limit:]]
        # like Binance: up to the bar in progress (the one that contains "now"), if listed
        rows = [b for b in self.bars if start <= b.open_time <= end and b.open_time <= self.now_ms()]
        return [wire.write_kline(b) for b in rows[:limit]]

    def _new_order(self, p: dict[str, str]) -> web.Response:
        req = wire.parse_order_params(p)
        existing = self.orders.get(req.client_order_id)
        if existing is not None and existing.is_open:
            return self._error(400, -2010, "Duplicate order sent.")
        now = self.now_ms()
        oid = next(self._ids)
        qty = req.quantity or Decimal(0)
        if req.type is OrderType.MARKET:
            fill = Fill(
                req.symbol,
                oid,
                req.client_order_id,
                oid,
                req.side,
                self.price,
                qty,
                Decimal(0),
                "USDT",
                now,
                False,
            )
            self.fills.append(fill)
            order = Order(
                req.symbol,
                oid,
                req.client_order_id,
                req.side,
                req.type,
                OrderStatus.FILLED,
                qty,
                qty,
                qty * self.price,
                Decimal(0),
                time=now,
                update_time=now,
                working_time=now,
                fills=(fill,),
            )
        else:
            order = Order(
                req.symbol,
                oid,
                req.client_order_id,
                req.side,
                req.type,
                OrderStatus.NEW,
                qty,
                price=req.price or Decimal(0),
                time=now,
                update_time=now,
                working_time=now,
            )
        self.orders[req.client_order_id] = order
        return self._json(wire.write_order_response(order, p.get("newOrderRespType", "FULL")))


FAST = RestSettings(
    timeout_seconds=2.0,
    backoff_base=0.01,
    backoff_max=0.05,
    breaker_threshold=3,
    breaker_reset=0.3,
    time_sync_interval=0,
    limit_margin_seconds=0.0,
)


def make_rest(fake: FakeBinance, settings: RestSettings = FAST) -> BinanceRestClient:
    return BinanceRestClient(
        local(fake.url),  # type: ignore[attr-defined]
        api_key=API_KEY,
        signer=HmacSigner(API_SECRET),
        settings=settings,
    )
