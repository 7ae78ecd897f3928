"""The dashboard's security and routes, over real HTTP on loopback.

The kernel is the engine harness's (paper exchange in process), entered into a position so
that flatten and kill have something to do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from tests.unit.engine.harness import SYMBOL, Harness, bars_from, flat_closes

from binance_bot.config import MASK, MonitoringConfig, register_secret
from binance_bot.engine.control import Control
from binance_bot.errors import ConfigError
from binance_bot.monitoring.dashboard import COOKIE, Dashboard, plotly_js_path
from binance_bot.monitoring.events import EventCounter
from binance_bot.monitoring.logs import remove_logging, setup_logging
from binance_bot.monitoring.metrics import BotCollector, build_registry

TOKEN = "dashboard-token-0123456789abcdef"
SECRET = "MARKER-API-SECRET-5a4b3c2d1e"
ENTRY = [*flat_closes([100, 100, 100, 99, 98, 99, 101]), (101, 101.5, 100.5, 101.2)]


@dataclass
class Served:
    harness: Harness
    dashboard: Dashboard
    events: EventCounter

    @property
    def url(self) -> str:
        return self.dashboard.base_url


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    h = Harness()
    events = EventCounter()
    h.kernel._notifier = events  # the kernel's one notification hook, which the Session fills
    await h.start()
    await h.feed(bars_from(ENTRY))
    assert h.kernel.portfolio.open_count == 1
    dashboard = Dashboard(
        Control(h.kernel),
        token=TOKEN,
        registry=build_registry(BotCollector(h.kernel, events=events)),
        events=events,
        update_interval_s=0.05,
    )
    await dashboard.start("127.0.0.1", 0)
    yield Served(h, dashboard, events)
    await dashboard.stop()
    await h.stop()


def client() -> aiohttp.ClientSession:
    # unsafe=True: keep cookies set by an IP-address host (127.0.0.1)
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def login(http: aiohttp.ClientSession, served: Served) -> str:
    """Open the token URL like a browser; returns the page's CSRF token."""
    async with http.get(served.dashboard.url) as resp:
        assert resp.status == 200
        assert str(resp.url) == served.url  # redirected: the token left the address bar
        page = await resp.text()
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert match is not None
    return match.group(1)


async def test_the_server_listens_on_loopback(served: Served) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    assert served.dashboard.port > 0
    assert served.dashboard.url == f"{served.url}?token={TOKEN}"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/status",
        "/api/snapshot",
        "/api/logs",
        "/events",
        "/metrics",
        "/static/dashboard.js",
        "/nope",
    ],
)
async def test_no_token_is_401_on_every_path(served: Served, path: str) -> None:
    async with client() as http, http.get(served.url.rstrip("/") + path) as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert SYMBOL not in await resp.text()


async def test_wrong_tokens_are_401(served: Served) -> None:
    async with client() as http:
        async with http.get(served.url, params={"token": TOKEN + "x"}, allow_redirects=False) as resp:
            assert resp.status == 401
            assert "Set-Cookie" not in resp.headers
        async with http.get(served.url + "?token=") as resp:
            assert resp.status == 401
        for header in (f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", "Bearer"):
            async with http.get(served.url + "metrics", headers={"Authorization": header}) as resp:
                assert resp.status == 401, header
        http.cookie_jar.update_cookies(
            {COOKIE: "a-session-id-nobody-was-given"}, aiohttp.client.URL(served.url)
        )
        async with http.get(served.url + "api/status") as resp:
            assert resp.status == 401


async def test_the_token_becomes_an_http_only_strict_cookie(served: Served) -> None:
    async with client() as http:
        async with http.get(served.dashboard.url, allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/"
            cookie = resp.headers["Set-Cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert TOKEN not in cookie
        async with http.get(served.url) as resp:
            assert resp.status == 200
            page = await resp.text()
            csp = resp.headers["Content-Security-Policy"]
            assert resp.headers["X-Frame-Options"] == "DENY"
            assert resp.headers["Cache-Control"] == "no-store"
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert TOKEN not in page
        # scripts come from the dashboard itself: no CDN
        assert re.findall(r'<script src="([^"]+)"', page) == ["/static/plotly.min.js", "/static/dashboard.js"]
        async with http.get(served.url + "static/plotly.min.js") as resp:
            assert resp.status == 200
            assert len(await resp.read()) == plotly_js_path().stat().st_size


async def test_bearer_token_reads_metrics_and_json(served: Served) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with client() as http:
        async with http.get(served.url + "metrics", headers=headers) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            text = await resp.text()
        assert "binance_bot_open_positions 1.0" in text
        async with http.get(served.url + "api/positions", headers=headers) as resp:
            [row] = await resp.json()
        pos = served.harness.kernel.portfolio.position(SYMBOL)
        assert pos is not None
        assert (row["symbol"], row["position"]["stop"]) == (SYMBOL, str(pos.stop_price))


async def test_actions_need_the_session_csrf_token(served: Served) -> None:
    kernel = served.harness.kernel
    async with client() as http:
        csrf = await login(http, served)
        async with http.post(served.url + "api/pause") as resp:
            assert resp.status == 403
        async with http.post(served.url + "api/pause", headers={"X-CSRF-Token": csrf[:-2] + "xx"}) as resp:
            assert resp.status == 403
        cross_site = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
        async with http.post(served.url + "api/pause", headers=cross_site) as resp:
            assert resp.status == 403
        async with http.get(served.url + "api/pause") as resp:
            assert resp.status == 405  # actions are POST only
        assert kernel.paused is False

        async with client() as other:  # another browser session's token does not fit this one
            other_csrf = await login(other, served)
        async with http.post(served.url + "api/pause", headers={"X-CSRF-Token": other_csrf}) as resp:
            assert resp.status == 403
        assert kernel.paused is False

        async with http.post(served.url + "api/pause", headers={"X-CSRF-Token": csrf}) as resp:
            assert resp.status == 200
            body = await resp.json()
        assert body["ok"] and body["status"]["paused"] is True
        assert kernel.paused is True
        async with http.post(served.url + "api/resume", data={"csrf_token": csrf}) as resp:  # a form post
            assert resp.status == 200
        assert kernel.paused is False


async def test_bearer_requests_act_without_csrf(served: Served) -> None:
    async with (
        client() as http,
        http.post(served.url + "api/pause", headers={"Authorization": f"Bearer {TOKEN}"}) as resp,
    ):
        assert resp.status == 200
    assert served.harness.kernel.paused is True


async def test_kill_trips_the_switch_flattens_and_stops(served: Served) -> None:
    h = served.harness
    async with client() as http:
        csrf = await login(http, served)
        async with http.post(served.url + "api/kill", headers={"X-CSRF-Token": csrf}) as resp:
            assert resp.status == 200
            status = (await resp.json())["status"]
        assert status["kill_switch"]["tripped"] is True and status["stopping"] is True
        await h.feed(bars_from([(101.2, 101.3, 101.1, 101.2)], start=bars_from(ENTRY)[-1].close_time + 1))
        assert h.kernel.portfolio.open_count == 0
        assert [t.exit_reason for t in h.kernel.portfolio.closed] == ["kill"]
        async with http.post(served.url + "api/resume", headers={"X-CSRF-Token": csrf}) as resp:
            assert resp.status == 409  # the kill switch must be reset first, from the CLI
            assert "kill switch" in (await resp.json())["error"]
    assert served.events.by_kind["kill_switch"] == 1


async def read_events(resp: aiohttp.ClientResponse, count: int) -> list[dict]:
    """The next ``count`` snapshot events of an SSE stream."""
    out: list[dict] = []
    event = None
    while len(out) < count:
        line = (await resp.content.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: ") and event == "snapshot":
            out.append(json.loads(line[len("data: ") :]))
    return out


async def test_server_sent_events_follow_the_engine(served: Served) -> None:
    async with client() as http:
        csrf = await login(http, served)
        async with http.get(served.url + "events") as resp:
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            [first] = await read_events(resp, 1)
            assert first["status"]["paused"] is False
            assert [p["symbol"] for p in first["positions"]] == [SYMBOL]
            assert {"orders", "trades", "equity_curve", "api", "log", "events"} <= set(first)
            async with http.post(served.url + "api/pause", headers={"X-CSRF-Token": csrf}) as act:
                assert act.status == 200
            later = await read_events(resp, 2)
            assert later[-1]["status"]["paused"] is True
            await served.dashboard.stop()  # the session ends: the stream ends with it
            await asyncio.wait_for(resp.content.read(), 5)  # ends instead of waiting forever
            assert resp.content.at_eof()


async def test_page_events_and_log_tail_never_show_the_api_secret(served: Served, tmp_path: Path) -> None:
    register_secret(SECRET)
    setup_logging(MonitoringConfig(log_dir=tmp_path / "logs", log_level="INFO"), console=False)
    try:
        logging.getLogger("binance_bot.exchange").warning("signed request failed, secret was %s", SECRET)
        kernel = served.harness.kernel
        kernel.rejections.append({"symbol": SYMBOL, "code": -1022, "message": f"bad signature for {SECRET}"})
        kernel.notify("rejected", symbol=SYMBOL, code=-1022, message=f"bad signature for {SECRET}")
        bodies: list[str] = []
        async with client() as http:
            await login(http, served)
            for path in ("", "api/snapshot", "api/logs", "api/rejections", "api/status"):
                async with http.get(served.url + path) as resp:
                    assert resp.status == 200
                    bodies.append(await resp.text())
            async with http.get(served.url + "events") as resp:
                [event] = await read_events(resp, 1)
            bodies.append(json.dumps(event))
        for body in bodies:
            assert SECRET not in body
        logs, rejections, sse = bodies[2], bodies[3], bodies[-1]
        assert "signed request failed" in logs and MASK in logs  # the line is there, masked
        assert MASK in rejections
        assert any("signed request failed" in line and MASK in line for line in event["log"])
        assert any(MASK in str(e.get("message")) for e in event["events"])
        assert MASK in sse
    finally:
        remove_logging()


def test_short_tokens_are_refused() -> None:
    with pytest.raises(ValueError, match="16 characters"):
        Dashboard(
            Control(Harness().kernel), token="short", registry=build_registry(BotCollector(Harness().kernel))
        )


async def test_a_busy_port_is_a_configuration_error(served: Served) -> None:
    kernel = served.harness.kernel
    second = Dashboard(Control(kernel), token=TOKEN, registry=build_registry(BotCollector(kernel)))
    with pytest.raises(ConfigError, match="monitoring.dashboard_port") as info:
        await second.start("127.0.0.1", served.dashboard.port)
    assert info.value.key == "monitoring.dashboard_port"


async def test_a_failing_snapshot_skips_a_tick_and_the_stream_goes_on(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = served.dashboard.snapshot
    calls = 0

    def flaky() -> dict:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("state changed under the reader")
        return real()

    monkeypatch.setattr(served.dashboard, "snapshot", flaky)
    async with client() as http:
        await login(http, served)
        async with http.get(served.url + "events") as resp:
            [event] = await asyncio.wait_for(read_events(resp, 1), 5)
    assert calls >= 2 and event["status"]["run_id"] == served.harness.kernel.run_id
