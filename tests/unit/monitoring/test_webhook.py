"""Webhook delivery against a local aiohttp receiver on loopback."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from binance_bot.config import MASK, MonitoringConfig, redact, register_secret
from binance_bot.errors import ConfigError
from binance_bot.monitoring.hub import Monitoring
from binance_bot.monitoring.webhook import WebhookNotifier, webhook_payload

RUN = {"run_id": "abc123", "mode": "paper"}


@dataclass
class Receiver:
    """Answers ``statuses`` in turn (then 200), or waits for ``release`` when it is given."""

    statuses: list[int] = field(default_factory=list)
    release: asyncio.Event | None = None
    bodies: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[float] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts.append(time.monotonic())
        self.headers.append(dict(request.headers))
        if self.release is not None:
            await self.release.wait()
        if self.statuses:
            return web.Response(status=self.statuses.pop(0))
        self.bodies.append(await request.json())
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rx = Receiver()
    app = web.Application()
    app.router.add_post("/hook/{secret}", rx.handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    rx.url = f"http://127.0.0.1:{port}/hook/T0KEN-in-the-path-123"
    yield rx
    if rx.release is not None:
        rx.release.set()
    await runner.cleanup()


async def until(predicate: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_selected_events_arrive_in_order_as_json(receiver: Receiver) -> None:
    hook = WebhookNotifier(receiver.url, base_delay_s=0.01)
    await hook.start()
    hook("fill", {**RUN, "symbol": "BTCUSDT", "side": "BUY", "qty": "0.5", "price": "60000"})
    hook("protected", {**RUN, "symbol": "BTCUSDT", "stop": "57000", "take_profit": "64500"})  # not sent
    hook("exit", {**RUN, "symbol": "BTCUSDT", "reason": "take_profit", "pnl": "12.5"})
    hook("rejected", {**RUN, "symbol": "BTCUSDT", "code": -2010, "message": "insufficient balance"})
    hook("kill_switch", {**RUN, "reason": "manual kill", "flatten": True})
    await hook.close()
    assert [b["event"] for b in receiver.bodies] == ["fill", "exit", "rejected", "kill_switch"]
    fill = receiver.bodies[0]
    assert {k: fill[k] for k in ("run_id", "mode", "symbol", "side", "qty", "price")} == {
        **RUN,
        "symbol": "BTCUSDT",
        "side": "BUY",
        "qty": "0.5",
        "price": "60000",
    }
    assert fill["text"] == "BTCUSDT BUY 0.5 @ 60000 (paper run abc123)"
    assert fill["time"].endswith("+00:00") and fill["time_ms"] > 1_600_000_000_000
    assert (
        receiver.bodies[3]["text"]
        == "kill switch tripped: manual kill, positions flattened (paper run abc123)"
    )
    assert receiver.headers[0]["Content-Type"] == "application/json"
    assert hook.snapshot() == {
        "sent": 4,
        "failed": 0,
        "dropped": 0,
        "retries": 0,
        "abandoned": 0,
        "queued": 0,
    }


async def test_a_failing_receiver_is_retried_with_growing_delays(receiver: Receiver) -> None:
    receiver.statuses = [503, 500, 429]
    hook = WebhookNotifier(receiver.url, base_delay_s=0.05, max_delay_s=1.0)
    await hook.start()
    hook("fill", {**RUN, "symbol": "ETHUSDT", "side": "SELL", "qty": "1", "price": "3000"})
    await until(lambda: hook.stats.sent == 1)
    await hook.close()
    assert [b["event"] for b in receiver.bodies] == ["fill"]
    assert (hook.stats.retries, hook.stats.failed) == (3, 0)
    gaps = [b - a for a, b in zip(receiver.attempts, receiver.attempts[1:], strict=False)]
    assert len(gaps) == 3
    for gap, backoff in zip(gaps, (0.05, 0.1, 0.2), strict=True):  # base x 2^(attempt-1)
        assert gap >= backoff * 0.9


async def test_gives_up_after_max_attempts_without_raising() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hook = WebhookNotifier(f"http://127.0.0.1:{port}/hook", max_attempts=3, base_delay_s=0.01)
    await hook.start()
    hook("kill_switch", {**RUN, "reason": "test", "flatten": False})
    await until(lambda: hook.stats.failed == 1)
    await hook.close()
    assert (hook.stats.sent, hook.stats.retries, hook.stats.failed) == (0, 2, 1)


async def test_a_client_error_is_not_retried(receiver: Receiver) -> None:
    receiver.statuses = [400]
    hook = WebhookNotifier(receiver.url, base_delay_s=0.01)
    await hook.start()
    hook("exit", {**RUN, "symbol": "BTCUSDT", "reason": "stop_loss", "pnl": "-3"})
    await hook.close()
    assert (len(receiver.attempts), hook.stats.retries, hook.stats.failed) == (1, 0, 1)


async def test_a_full_queue_drops_the_oldest_and_never_blocks(receiver: Receiver) -> None:
    receiver.release = asyncio.Event()
    hook = WebhookNotifier(receiver.url, queue_size=3, base_delay_s=0.01)
    await hook.start()
    for i in range(10):  # no await between: the notifier must not need the event loop
        hook("fill", {**RUN, "symbol": "BTCUSDT", "side": "BUY", "qty": str(i), "price": "1"})
    assert (hook.queued, hook.stats.dropped) == (3, 7)
    receiver.release.set()
    await hook.close()
    assert [b["qty"] for b in receiver.bodies] == ["7", "8", "9"]
    assert hook.stats.sent == 3


async def test_a_hung_receiver_does_not_hold_shutdown_forever(receiver: Receiver) -> None:
    receiver.release = asyncio.Event()  # never set before close
    hook = WebhookNotifier(receiver.url, base_delay_s=0.01)
    await hook.start()
    hook("fill", {**RUN, "symbol": "BTCUSDT", "side": "BUY", "qty": "1", "price": "1"})
    hook("exit", {**RUN, "symbol": "BTCUSDT", "reason": "signal", "pnl": "0"})
    await until(lambda: len(receiver.attempts) == 1)
    await asyncio.wait_for(hook.close(drain_timeout_s=0.2), 5)
    assert hook.stats.abandoned == 2 and hook.stats.sent == 0


async def test_secrets_in_a_payload_are_masked(receiver: Receiver) -> None:
    secret = "MARKER-SECRET-in-a-message-77"
    register_secret(secret)
    hook = WebhookNotifier(receiver.url, base_delay_s=0.01)
    await hook.start()
    hook("rejected", {**RUN, "symbol": "BTCUSDT", "code": -1022, "message": f"signature {secret}"})
    await hook.close()
    [body] = receiver.bodies
    assert secret not in str(body) and MASK in body["message"] and MASK in body["text"]


def test_the_event_name_and_time_cannot_be_overridden_by_the_payload() -> None:
    body = webhook_payload(
        "exit", {**RUN, "event": "spoofed", "symbol": "X", "reason": "signal", "pnl": "1"}, now=0
    )
    assert (
        body["event"] == "exit" and body["time"] == "1970-01-01T00:00:00.000+00:00" and body["time_ms"] == 0
    )


def test_the_url_is_checked_and_kept_secret() -> None:
    with pytest.raises(ConfigError, match="http"):
        Monitoring(MonitoringConfig(webhook_url="ftp://example.org/hook"))
    monitoring = Monitoring(
        MonitoringConfig(webhook_url="https://hooks.example.org/services/T0/B1/XYZsecret")
    )
    assert monitoring.webhook is not None and monitoring.webhook in monitoring.notifiers
    assert "XYZsecret" not in redact("posting to https://hooks.example.org/services/T0/B1/XYZsecret")
    plain = Monitoring(MonitoringConfig())
    assert plain.webhook is None and plain.notifiers == [plain.events]
