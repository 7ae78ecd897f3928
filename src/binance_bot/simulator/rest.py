"""REST: one aiohttp handler in front of every endpoint, doing what Binance does around them.

In order: injected latency; parameters (query then body, raw bytes kept for the signature);
rate limits (418 ban, 429 with ``Retry-After``, injected bursts and "requests queued");
injected 5xx that never reach the engine; API key, signature and timing; the handler;
weight (none for a successful order change); injected 5xx that lose the answer of a
request that *was* processed; the ``X-MBX-*`` headers.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from binance_bot.exchange.binance import wire
from binance_bot.simulator.api import REST_ENDPOINTS, Call, Endpoint, Security
from binance_bot.simulator.core import Account, SimulatorCore
from binance_bot.simulator.faults import ServerErrorFault
from binance_bot.simulator.limits import Refusal
from binance_bot.simulator.request import (
    ApiError,
    Params,
    check_timing,
    fail,
    merge_params,
    parse_pairs,
    rest_signature_payload,
)

log = logging.getLogger(__name__)

JSON_TYPE = "application/json;charset=UTF-8"
QUEUED_MSG = "Too many requests queued."
_SERVER_ERRORS: dict[int, tuple[str, str]] = {
    500: (
        "json",
        json.dumps(wire.write_error(-1000, "An unknown error occurred while processing the request.")),
    ),
    502: ("html", "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"),
    503: (
        "json",
        json.dumps(
            wire.write_error(
                -1007,
                "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
            )
        ),
    ),
    504: (
        "html",
        "<html><head><title>504 Gateway Time-out</title></head><body>504 Gateway Time-out</body></html>",
    ),
}
LISTEN_KEY_GONE = (
    "The listenKey user data stream was switched off on 2026-02-20; subscribe over the WebSocket API "
    "with userDataStream.subscribe.signature."
)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(payload, separators=(",", ":")),
        status=status,
        content_type="application/json",
        charset="UTF-8",
        headers=headers,
    )


def server_error_response(status: int, headers: dict[str, str]) -> web.Response:
    kind, body = _SERVER_ERRORS.get(status, _SERVER_ERRORS[500])
    if kind == "html":
        return web.Response(text=body, status=status, content_type="text/html", headers=headers)
    return web.Response(text=body, status=status, content_type="application/json", headers=headers)


def authenticate_rest(
    core: SimulatorCore,
    endpoint: Endpoint,
    request: web.Request,
    params: Params,
    raw_query: str,
    raw_body: str,
) -> Account | None:
    """API key (-2014/-2015, HTTP 401), signature over the raw bytes (-1022), timing (-1021)."""
    if endpoint.security is Security.NONE:
        return None
    key = request.headers.get("X-MBX-APIKEY")
    if not key:
        raise fail(-2014, "API-key format invalid.", 401)
    account = core.accounts.get(key)
    if account is None:
        raise fail(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    payload, signature = rest_signature_payload(raw_query, raw_body)
    if not params.has("timestamp"):
        raise fail(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
    if not signature:
        raise fail(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    if not account.verifier.verify(payload, signature):
        raise fail(-1022, "Signature for this request is not valid.")
    check_timing(
        params.values.get("timestamp"), params.values.get("recvWindow"), core.protocol_clock.now_ms()
    )
    return account


class RestTransport:
    def __init__(self, core: SimulatorCore) -> None:
        self.core = core

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/v3/userDataStream", self._listen_key_gone)
        app.router.add_route("*", "/api/{tail:.*}", self.handle)
        app.router.add_route("*", "/sapi/{tail:.*}", self.handle)

    async def _listen_key_gone(self, request: web.Request) -> web.Response:
        return json_response(wire.write_error(-1000, LISTEN_KEY_GONE), status=410)

    def _headers(
        self, ip: str, endpoint: Endpoint | None, account: Account | None, *, sapi: bool
    ) -> dict[str, str]:
        core = self.core
        now = core.protocol_clock.now_ms()
        used = str(core.limiter.used_weight(ip, now, sapi=sapi))
        if sapi:
            headers = {"X-SAPI-USED-IP-WEIGHT-1M": used}
        else:
            headers = {"X-MBX-USED-WEIGHT": used, "X-MBX-USED-WEIGHT-1M": used}
        if endpoint is not None and endpoint.order_endpoint and account is not None:
            ten, day = core.limiter.order_counts(account.key, now)
            headers["X-MBX-ORDER-COUNT-10S"] = str(ten)
            headers["X-MBX-ORDER-COUNT-1D"] = str(day)
        return headers

    def _refused(self, refusal: Refusal, ip: str, sapi: bool) -> web.Response:
        headers = self._headers(ip, None, None, sapi=sapi)
        headers["Retry-After"] = str(refusal.retry_after_s)
        return json_response(
            wire.write_error(refusal.code, refusal.msg), status=refusal.status, headers=headers
        )

    async def handle(self, request: web.Request) -> web.Response:
        core = self.core
        endpoint = REST_ENDPOINTS.get((request.method, request.path))
        if endpoint is None:
            return json_response(
                wire.write_error(-1000, f"Unknown endpoint {request.method} {request.path}."), 404
            )
        delay = core.faults.latency_s()
        if delay > 0:
            await asyncio.sleep(delay)
        ip = request.remote or "unknown"
        sapi = endpoint.sapi
        raw_query = request.raw_path.partition("?")[2]
        raw_body = (await request.read()).decode("utf-8", errors="replace") if request.can_read_body else ""
        try:
            params = Params(merge_params(parse_pairs(raw_query), parse_pairs(raw_body)))
            weight = endpoint.weight(params)
        except ApiError as exc:
            params, weight = Params({}), 1
            parse_error: ApiError | None = exc
        else:
            parse_error = None
        now = core.protocol_clock.now_ms()
        burst = core.faults.burst_remaining_s()
        refusal = core.limiter.admit(ip, weight, now, sapi=sapi, forced_wait_ms=int(burst * 1000))
        if refusal is not None:
            return self._refused(refusal, ip, sapi)
        if core.faults.too_many_requests():
            core.limiter.charge(ip, weight, now, sapi=sapi)
            return self._refused(Refusal(429, -1003, QUEUED_MSG, 1000), ip, sapi)
        server_error: ServerErrorFault | None = core.faults.server_error()
        if server_error is not None and not server_error.after:
            core.limiter.charge(ip, weight, now, sapi=sapi)
            return server_error_response(server_error.status, self._headers(ip, None, None, sapi=sapi))
        account: Account | None = None
        success = False
        try:
            if parse_error is not None:
                raise parse_error
            params.check_known(endpoint.params)
            account = authenticate_rest(core, endpoint, request, params, raw_query, raw_body)
            core.market.sync()
            call = Call(params, account, now, not core.market_clock.stepped)
            result = endpoint.handler(core, call)
            success = True
        except ApiError as exc:
            rejection = exc.rejection
            status, payload = rejection.http_status, wire.write_error(rejection.code, rejection.msg)
            retry_after = exc.retry_after_ms
        else:
            status, payload, retry_after = 200, result, None
        charged = 0 if success and endpoint.order_endpoint else weight
        core.limiter.charge(ip, charged, core.protocol_clock.now_ms(), sapi=sapi)
        headers = self._headers(ip, endpoint, account, sapi=sapi)
        if retry_after is not None:
            headers["Retry-After"] = str(max(1, -(-retry_after // 1000)))
        if server_error is not None:
            return server_error_response(server_error.status, headers)
        return json_response(payload, status=status, headers=headers)
