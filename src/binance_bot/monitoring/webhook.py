"""Webhook notifications: JSON POSTs on fills, exits, rejections and kill-switch trips.

The kernel calls notifiers synchronously from its event loop, in the middle of handling a
fill or a bar, so a notifier must never wait on the network. :class:`WebhookNotifier` only
appends to a bounded queue; one background task delivers the events in order, retrying
with exponential backoff. When the receiver is down long enough for the queue to fill, the
oldest event is dropped (and counted): a burst of stale fill notices is worth less than the
kill-switch notice that comes after them.

The URL is registered as a secret (Slack-style hook URLs are credentials), and every body
passes through :func:`~binance_bot.config.redact` before it leaves the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from binance_bot.config.redaction import redact, register_secret

log = logging.getLogger(__name__)

DEFAULT_KINDS = frozenset({"fill", "exit", "rejected", "kill_switch"})


@dataclass
class WebhookStats:
    sent: int = 0
    failed: int = 0  # given up: retries exhausted or a refusal that retrying cannot fix
    dropped: int = 0  # pushed out of a full queue before any attempt
    retries: int = 0
    abandoned: int = 0  # still queued when the session ended and the drain time ran out


def describe_event(kind: str, payload: dict[str, Any]) -> str:
    """One human line per event, so chat services that show ``text`` need no template."""
    p = payload
    run = f"({p.get('mode', '?')} run {p.get('run_id', '?')})"
    if kind == "fill":
        return f"{p.get('symbol')} {p.get('side')} {p.get('qty')} @ {p.get('price')} {run}"
    if kind == "exit":
        return f"{p.get('symbol')} closed ({p.get('reason')}): PnL {p.get('pnl')} {run}"
    if kind == "rejected":
        return f"{p.get('symbol')} order rejected: {p.get('code')} {p.get('message')} {run}"
    if kind == "kill_switch":
        flat = "positions flattened" if p.get("flatten") else "positions kept"
        return f"kill switch tripped: {p.get('reason')}, {flat} {run}"
    if kind == "protected":
        return f"{p.get('symbol')} protected: stop {p.get('stop')}, take profit {p.get('take_profit')} {run}"
    return f"{kind} {run}"


def webhook_payload(kind: str, payload: dict[str, Any], *, now: float | None = None) -> dict[str, Any]:
    """The JSON object POSTed for one notification (see docs/monitoring.md)."""
    ts = time.time() if now is None else now
    return {
        **payload,
        "event": kind,
        "time": datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds"),
        "time_ms": int(ts * 1000),
        "text": describe_event(kind, payload),
    }


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class WebhookNotifier:
    """A session notifier that POSTs selected events to ``url`` from a background task."""

    def __init__(
        self,
        url: str,
        *,
        kinds: Iterable[str] = DEFAULT_KINDS,
        queue_size: int = 1000,
        max_attempts: int = 6,
        base_delay_s: float = 0.5,
        max_delay_s: float = 30.0,
        timeout_s: float = 10.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("monitoring.webhook_url must be an http:// or https:// URL")
        if queue_size < 1 or max_attempts < 1:
            raise ValueError("queue_size and max_attempts must be at least 1")
        register_secret(url)
        self.url = url
        self.kinds = frozenset(kinds)
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.timeout_s = timeout_s
        self.stats = WebhookStats()
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    # ------------------------------------------------------------------ notifier side
    def __call__(self, kind: str, payload: dict[str, Any]) -> None:
        if self._closed or kind not in self.kinds:
            return
        if self._queue.full():
            self._queue.get_nowait()
            self._queue.task_done()
            self.stats.dropped += 1
        self._queue.put_nowait(webhook_payload(kind, payload))

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def snapshot(self) -> dict[str, Any]:
        return {**asdict(self.stats), "queued": self.queued}

    # ------------------------------------------------------------------ delivery side
    async def start(self) -> None:
        if self._task is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
            self._task = asyncio.create_task(self._deliver_forever(), name="webhook")

    async def close(self, *, drain_timeout_s: float = 5.0) -> None:
        """Stop taking events, give the queued ones ``drain_timeout_s`` to go out, then stop."""
        self._closed = True
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain_timeout_s)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.stats.abandoned += self._queue.qsize()
        if self.stats.abandoned:
            log.warning("webhook: %d event(s) not delivered before shutdown", self.stats.abandoned)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _deliver_forever(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._deliver(event)
            except asyncio.CancelledError:
                self.stats.abandoned += 1
                raise
            except Exception:  # a bug here must not end delivery of the events after it
                self.stats.failed += 1
                log.exception("webhook: event %s could not be delivered", event.get("event"))
            finally:
                self._queue.task_done()

    async def _deliver(self, event: dict[str, Any]) -> None:
        assert self._session is not None
        body = redact(json.dumps(event, default=str)).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "binance-bot"}
        for attempt in range(1, self.max_attempts + 1):
            wait: float | None = None
            try:
                async with self._session.post(
                    self.url, data=body, headers=headers, allow_redirects=False
                ) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        self.stats.sent += 1
                        return
                    retryable = resp.status in (408, 429) or resp.status >= 500
                    reason = f"HTTP {resp.status}"
                    wait = _retry_after(resp.headers.get("Retry-After"))
            except (aiohttp.ClientError, TimeoutError) as exc:
                retryable, reason = True, type(exc).__name__
            if not retryable or attempt == self.max_attempts:
                self.stats.failed += 1
                log.warning(
                    "webhook: %s event not delivered after %d attempt(s): %s",
                    event.get("event"),
                    attempt,
                    reason,
                )
                return
            self.stats.retries += 1
            backoff = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
            delay = min(self.max_delay_s, max(backoff, wait or 0.0))
            log.info("webhook: %s (attempt %d): retrying in %.2fs", reason, attempt, delay)
            await asyncio.sleep(delay)
