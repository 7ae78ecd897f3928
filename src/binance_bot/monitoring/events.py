"""Counts of the kernel's notifications, kept from the moment a session starts.

The kernel announces fills, exits, rejections, protections and kill-switch trips through
one callback (``TradingKernel.notify``). Counting them there, rather than adding counters to
the engine, keeps the engine free of monitoring concerns, and the same stream feeds the
dashboard's list of recent events and the webhook.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

Notifier = Callable[[str, dict[str, Any]], None]


class EventCounter:
    """A session notifier: counts events by kind, fills by side, and keeps the latest ones."""

    def __init__(self, *, keep: int = 50) -> None:
        self.by_kind: Counter[str] = Counter()
        self.fills_by_side: Counter[str] = Counter()
        self.exits_by_reason: Counter[str] = Counter()
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)

    def __call__(self, kind: str, payload: dict[str, Any]) -> None:
        self.by_kind[kind] += 1
        if kind == "fill":
            self.fills_by_side[str(payload.get("side", "UNKNOWN"))] += 1
        elif kind == "exit":
            self.exits_by_reason[str(payload.get("reason", "unknown"))] += 1
        self.recent.append({"event": kind, "time_ms": int(time.time() * 1000), **payload})

    def latest(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest events first, as the dashboard lists them."""
        return list(reversed(self.recent))[:limit]
