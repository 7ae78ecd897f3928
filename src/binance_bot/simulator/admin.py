"""Admin endpoints (``/admin/...``): move the stepped clock, switch faults, fund accounts.

They are not part of Binance's API and need no signature: the server binds to loopback by
default, and these exist so that tests and people can steer a run from outside the process.
Bodies and answers are JSON; a problem is ``{"error": "..."}`` with HTTP 400 (or 409 when
the request does not fit the clock's mode).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from binance_bot.errors import ConfigError
from binance_bot.model.numbers import to_decimal
from binance_bot.simulator.config import FaultSettings

if TYPE_CHECKING:
    from binance_bot.simulator.server import Simulator


class AdminError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except json.JSONDecodeError as exc:
        raise AdminError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise AdminError("the body must be a JSON object")
    return data


def _int(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise AdminError(f"{name} must be a number")
    try:
        return int(value)
    except ValueError:
        raise AdminError(f"{name} must be a number") from None


class AdminApi:
    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator

    def add_routes(self, app: web.Application) -> None:
        routes: list[tuple[str, str, Callable[[web.Request], Awaitable[Any]]]] = [
            ("GET", "/admin/status", self.status),
            ("POST", "/admin/advance", self.advance),
            ("POST", "/admin/clock", self.clock),
            ("GET", "/admin/faults", self.get_faults),
            ("PUT", "/admin/faults", self.put_faults),
            ("PATCH", "/admin/faults", self.patch_faults),
            ("DELETE", "/admin/faults", self.clear_faults),
            ("POST", "/admin/faults/burst", self.burst),
            ("POST", "/admin/ws/drop", self.drop),
            ("POST", "/admin/deposit", self.deposit),
            ("POST", "/admin/unban", self.unban),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, self._wrap(handler))

    @staticmethod
    def _wrap(
        handler: Callable[[web.Request], Awaitable[Any]],
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> web.Response:
            try:
                return web.json_response(await handler(request))
            except AdminError as exc:
                return web.json_response({"error": str(exc)}, status=exc.status)
            except ConfigError as exc:
                return web.json_response({"error": str(exc)}, status=400)

        return run

    async def status(self, request: web.Request) -> Any:
        return self.sim.status()

    async def advance(self, request: web.Request) -> Any:
        data = await _body(request)
        given = [k for k in ("bars", "to", "seconds") if data.get(k) is not None]
        if len(given) != 1:
            raise AdminError("give exactly one of bars, to (epoch ms) or seconds")
        if not self.sim.core.market_clock.stepped:
            raise AdminError(
                "the market clock is running; switch it to stepped (POST /admin/clock) first", 409
            )
        try:
            await self.sim.advance(
                bars=_int(data, "bars"),
                to_ms=_int(data, "to"),
                seconds=float(data["seconds"]) if "seconds" in given else None,
            )
        except ValueError as exc:
            raise AdminError(str(exc)) from None
        return self.sim.status()

    async def clock(self, request: web.Request) -> Any:
        data = await _body(request)
        if "speed" not in data:
            raise AdminError("give speed: a number > 0 for a running clock, or null for the stepped clock")
        speed = data["speed"]
        if speed is not None and (
            isinstance(speed, bool) or not isinstance(speed, int | float) or speed <= 0
        ):
            raise AdminError("speed must be a number > 0, or null")
        await self.sim.set_speed(None if speed is None else float(speed))
        return self.sim.status()

    async def get_faults(self, request: web.Request) -> Any:
        return self.sim.core.faults.settings.to_dict()

    async def put_faults(self, request: web.Request) -> Any:
        self.sim.set_faults(FaultSettings.from_mapping(await _body(request)))
        return self.sim.core.faults.settings.to_dict()

    async def patch_faults(self, request: web.Request) -> Any:
        current = self.sim.core.faults.settings
        self.sim.set_faults(FaultSettings.from_mapping(await _body(request), base=current))
        return self.sim.core.faults.settings.to_dict()

    async def clear_faults(self, request: web.Request) -> Any:
        self.sim.set_faults(FaultSettings())
        self.sim.core.faults.clear_burst()
        return self.sim.core.faults.settings.to_dict()

    async def burst(self, request: web.Request) -> Any:
        data = await _body(request)
        seconds = data.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
            raise AdminError("seconds must be a number > 0")
        self.sim.core.faults.force_burst(float(seconds))
        return {"burstRemaining": self.sim.core.faults.burst_remaining_s()}

    async def drop(self, request: web.Request) -> Any:
        return {"dropped": await self.sim.drop_connections()}

    async def deposit(self, request: web.Request) -> Any:
        data = await _body(request)
        key, asset, amount = data.get("apiKey"), data.get("asset"), data.get("amount")
        if not isinstance(key, str) or key not in self.sim.core.accounts:
            raise AdminError("apiKey must name a configured account")
        if not isinstance(asset, str) or not asset.isalnum():
            raise AdminError("asset must be an asset code such as USDT")
        try:
            value = to_decimal(str(amount), field="amount")
        except ValueError as exc:
            raise AdminError(str(exc)) from None
        if value <= Decimal(0):
            raise AdminError("amount must be > 0")
        self.sim.core.deposit(key, asset.upper(), value)
        balance = self.sim.core.engine.balance(key, asset.upper())
        return {"asset": balance.asset, "free": str(balance.free), "locked": str(balance.locked)}

    async def unban(self, request: web.Request) -> Any:
        self.sim.core.limiter.lift_ban()
        return {}
