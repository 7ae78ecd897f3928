"""The dashboard: a page served by the bot process to watch it and to pause, flatten or kill it.

Every route is a thin wrapper over :class:`~binance_bot.engine.control.Control`, so a button
here does exactly what the matching CLI command does.

Security model (docs/monitoring.md has the long form):

* bound to 127.0.0.1 unless ``monitoring.dashboard_host`` says otherwise;
* every route needs the token (``monitoring.dashboard_token``, or one generated at start and
  printed with the URL): ``Authorization: Bearer <token>`` for scripts and scrapers, or
  ``/?token=<token>`` once in a browser, which is exchanged for an HttpOnly, SameSite=Strict
  session cookie and a redirect that drops the token from the address bar; anything else
  gets 401, whatever the path (unknown paths included, so routes cannot be probed);
* actions are POST only, and a cookie session must send its CSRF token (the
  ``X-CSRF-Token`` header or a ``csrf_token`` form field, bound to that session) and, when
  the browser names an ``Origin``, the dashboard's own; bearer requests cannot be forged
  by another site, so they need no CSRF token;
* every JSON body and event leaves through :func:`~binance_bot.config.redact`; the page
  builds its tables with ``textContent`` only, and a strict Content-Security-Policy allows
  scripts from the dashboard itself (plotly is served from the installed package, no CDN).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from binance_bot.config.redaction import redact, register_secret
from binance_bot.errors import ConfigError
from binance_bot.monitoring.events import EventCounter
from binance_bot.monitoring.logs import log_tail
from binance_bot.monitoring.metrics import CONTENT_TYPE, BotCollector, build_registry, render
from binance_bot.monitoring.webhook import WebhookNotifier

if TYPE_CHECKING:
    from binance_bot.app import Session
    from binance_bot.engine.control import Control

log = logging.getLogger(__name__)

COOKIE = "binance_bot_dashboard"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
STATIC_DIR = Path(__file__).with_name("static")
CSRF_PLACEHOLDER = "__CSRF_TOKEN__"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_BEARER = "bearer"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def plotly_js_path() -> Path:
    """``plotly.min.js`` of the installed plotly package: the page never loads a CDN."""
    return Path(str(files("plotly") / "package_data" / "plotly.min.js"))


def _loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


class Dashboard:
    """The aiohttp application and its server; one per session."""

    def __init__(
        self,
        control: Control,
        *,
        token: str,
        registry: CollectorRegistry,
        api_metrics: Callable[[], Mapping[str, Any]] | None = None,
        events: EventCounter | None = None,
        webhook: WebhookNotifier | None = None,
        log_lines: Callable[[], list[str]] = log_tail,
        update_interval_s: float = 1.0,
        max_sessions: int = 64,
    ) -> None:
        if len(token) < 16:
            raise ValueError("the dashboard token must be at least 16 characters")
        self.control = control
        self.registry = registry
        self.api_metrics = api_metrics or control.kernel.exchange.metrics
        self.events = events
        self.webhook = webhook
        self.log_lines = log_lines
        self.update_interval_s = update_interval_s
        self._token = token.encode()
        self._sessions: OrderedDict[str, str] = OrderedDict()  # session id -> CSRF token
        self._max_sessions = max_sessions
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.host = ""
        self.port = 0
        self._page = (STATIC_DIR / "dashboard.html").read_text(encoding="utf-8")
        self._static = {
            "dashboard.js": STATIC_DIR / "dashboard.js",
            "dashboard.css": STATIC_DIR / "dashboard.css",
            "plotly.min.js": plotly_js_path(),
        }

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def url(self) -> str:
        """The URL to open once: it carries the token, exchanged for a session cookie."""
        return f"{self.base_url}?token={self._token.decode()}"

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.on_response_prepare.append(self._security_headers)
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static_file)
        app.router.add_get("/events", self._events)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/api/snapshot", self._json(self.snapshot))
        app.router.add_get("/api/status", self._json(self.control.status))
        app.router.add_get("/api/positions", self._json(self.control.positions))
        app.router.add_get("/api/orders", self._json(self.control.open_orders))
        app.router.add_get("/api/trades", self._json(self.control.recent_trades))
        app.router.add_get("/api/equity", self._json(self.control.equity_curve))
        app.router.add_get("/api/statistics", self._json(self.control.statistics))
        app.router.add_get("/api/rejections", self._json(self.control.rejections))
        app.router.add_get("/api/logs", self._json(self.log_lines))
        actions: dict[str, Callable[[], Any]] = {
            "pause": self.control.pause_entries,
            "resume": self.control.resume_entries,
            "stop": self.control.stop,
            "flatten": self.control.flatten,
            "kill": self.control.kill,
        }
        for name, action in actions.items():
            app.router.add_post(f"/api/{name}", self._action(name, action))
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not _loopback(host):
            log.warning("the dashboard listens on %s: reachable beyond this machine (token required)", host)
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise ConfigError(
                f"the dashboard cannot listen on {host}:{port} ({exc.strerror or exc}); "
                "choose another monitoring.dashboard_port (0 = any free port)",
                key="monitoring.dashboard_port",
            ) from exc
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.host = host
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("dashboard at %s", self.base_url)

    async def stop(self) -> None:
        """End the live streams first, so shutting the server down does not wait on them."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ security
    def _token_ok(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._token)

    def _who(self, request: web.Request) -> str | None:
        """``"bearer"``, a session id, or None when the request proves nothing."""
        auth = request.headers.get("Authorization")
        if auth is not None:
            scheme, _, value = auth.partition(" ")
            return _BEARER if scheme.lower() == "bearer" and self._token_ok(value.strip()) else None
        sid = request.cookies.get(COOKIE)
        if sid and sid in self._sessions:
            return sid
        return None

    async def _csrf_ok(self, request: web.Request, sid: str) -> bool:
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            return False
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await request.post()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        return sent is not None and hmac.compare_digest(sent.encode(), self._sessions[sid].encode())

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/" and "token" in request.query:
            return self._login(request)
        who = self._who(request)
        if who is None:
            return web.json_response(
                {"error": "a valid dashboard token is required"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="binance-bot"'},
            )
        if request.method not in SAFE_METHODS and who != _BEARER and not await self._csrf_ok(request, who):
            return web.json_response({"error": "missing or wrong CSRF token"}, status=403)
        return await handler(request)

    def _login(self, request: web.Request) -> web.StreamResponse:
        if not self._token_ok(request.query.get("token", "")):
            return web.json_response(
                {"error": "wrong dashboard token"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="binance-bot"'},
            )
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._sessions[sid] = csrf
        while len(self._sessions) > self._max_sessions:
            self._sessions.popitem(last=False)
        response = web.Response(status=303, headers={"Location": "/"})
        response.set_cookie(COOKIE, sid, httponly=True, samesite="Strict", path="/")
        return response

    async def _security_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")

    # ------------------------------------------------------------------ pages and data
    async def _index(self, request: web.Request) -> web.Response:
        sid = request.cookies.get(COOKIE)
        csrf = self._sessions.get(sid, "") if sid else ""
        page = self._page.replace(CSRF_PLACEHOLDER, csrf)
        return web.Response(text=redact(page), content_type="text/html")

    async def _static_file(self, request: web.Request) -> web.StreamResponse:
        path = self._static.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})

    async def _metrics(self, request: web.Request) -> web.Response:
        body = render(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    def _json(self, read: Callable[[], Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            return _json_response(read())

        return handler

    def _action(
        self, name: str, action: Callable[[], Any]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            log.warning("dashboard: %s requested", name)
            try:
                result = action()
                if asyncio.iscoroutine(result):
                    await result
            except RuntimeError as exc:  # e.g. resume while the kill switch is tripped
                return _json_response({"ok": False, "action": name, "error": str(exc)}, status=409)
            return _json_response({"ok": True, "action": name, "status": self.control.status()})

        return handler

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        try:
            await response.write(b"retry: 2000\n\n")
            failing = False
            while not self._closing.is_set():
                try:
                    data = redact(json.dumps(self.snapshot(), default=str))
                except Exception:  # skip this tick; the page keeps its last picture
                    if not failing:
                        log.exception("dashboard: the snapshot could not be built")
                    failing = True
                else:
                    failing = False
                    await response.write(f"event: snapshot\ndata: {data}\n\n".encode())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), self.update_interval_s)
        except ConnectionError:  # the browser went away
            pass
        return response

    def snapshot(self) -> dict[str, Any]:
        """Everything the page shows, in one JSON-ready dict (the SSE payload)."""
        c = self.control
        k = c.kernel
        positions = [
            {"symbol": p["symbol"], "last_close": p["last_close"], **p["position"]} for p in c.positions()
        ]
        stats = c.statistics()
        counters = k.orders.counters
        return {
            "time_ms": int(time.time() * 1000),
            "status": c.status(),
            "positions": positions,
            "orders": c.open_orders(),
            "trades": list(reversed(c.recent_trades(limit=20))),
            "equity_curve": c.equity_curve(limit=500),
            "statistics": {
                key: stats.get(key)
                for key in (
                    "total_trades",
                    "win_rate",
                    "total_pnl",
                    "profit_factor",
                    "max_drawdown",
                    "fees_paid",
                )
            },
            "orders_summary": {
                "sent": counters.sent,
                "rejected": counters.rejected,
                "rejected_by_code": {str(code): n for code, n in counters.rejections_by_code.items()},
            },
            "api": self._api_summary(),
            "rejections": list(reversed(c.rejections()[-10:])),
            "events": self.events.latest(20) if self.events is not None else [],
            "webhook": self.webhook.snapshot() if self.webhook is not None else None,
            "log": self.log_lines()[-100:],
        }

    def _api_summary(self) -> dict[str, Any]:
        try:
            api = dict(self.api_metrics())
        except Exception:
            return {}
        latency = api.get("latency_ms") or {}
        streams = list(api.get("streams", []))
        out: dict[str, Any] = {
            "environment": api.get("environment"),
            "requests": api.get("requests"),
            "errors": api.get("errors_total", sum(dict(api.get("errors", {})).values())),
            "errors_by_code": api.get("errors", {}),
            "latency_p50_ms": latency.get("p50"),
            "latency_p99_ms": latency.get("p99"),
            "weight_used": api.get("weight_used"),
            "rate_limited_429": api.get("rate_limited_429"),
            "cache_hit_rate": api.get("cache_hit_rate"),
            "breakers": api.get("breakers", {}),
            "trading_blocked": api.get("trading_blocked"),
        }
        if streams:
            out["stream_reconnects"] = sum(int(s.get("reconnects", 0)) for s in streams)
            out["streams_connected"] = sum(int(s.get("connected", 0)) for s in streams)
        return {k: v for k, v in out.items() if v is not None}


def _json_response(data: Any, *, status: int = 200) -> web.Response:
    return web.Response(
        text=redact(json.dumps(data, default=str)), status=status, content_type="application/json"
    )


def _print_now(line: str) -> None:
    print(line, flush=True)  # flushed: stdout is often a pipe (a service manager, a test)


def dashboard_token(session: Session) -> str:
    """The configured token, or a fresh random one when the configuration leaves it empty."""
    configured = session.config.monitoring.dashboard_token
    value = configured.get_secret_value() if configured is not None else ""
    return value or secrets.token_urlsafe(24)


async def start_dashboard(
    session: Session,
    *,
    host: str | None = None,
    port: int | None = None,
    update_interval_s: float = 1.0,
    announce: Callable[[str], None] | None = _print_now,
) -> Dashboard:
    """Serve the dashboard for a started session until the session ends; print its URL.

    ``host`` and ``port`` default to ``monitoring.dashboard_host``/``dashboard_port``. The
    URL (with the token) is printed, never logged: the token is registered as a secret, so
    any log line that would carry it is masked.
    """
    assert session.kernel is not None and session.control is not None, "start the session first"
    cfg = session.config.monitoring
    token = dashboard_token(session)
    register_secret(token)
    monitoring = session.monitoring
    connector = session.connector
    api_metrics = connector.metrics if connector is not None else session.kernel.exchange.metrics
    collector = BotCollector(
        session.kernel, api_metrics=api_metrics, events=monitoring.events, webhook=monitoring.webhook
    )
    dashboard = Dashboard(
        session.control,
        token=token,
        registry=build_registry(collector),
        api_metrics=api_metrics,
        events=monitoring.events,
        webhook=monitoring.webhook,
        update_interval_s=update_interval_s,
    )
    await dashboard.start(
        cfg.dashboard_host if host is None else host, cfg.dashboard_port if port is None else port
    )
    session.closers.append(dashboard.stop)
    if announce is not None:
        announce(f"dashboard: {dashboard.url}")
    return dashboard
