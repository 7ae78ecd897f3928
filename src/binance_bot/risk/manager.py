"""Pre-trade checks and the kill switch, as pure state updated by the engine.

Every check returns a :class:`Decision` with a reason, so a refused entry is logged and
recorded with why. Hard limits (daily loss, drawdown) trip the kill switch, which only a
person resets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from binance_bot.model.numbers import ZERO, fmt

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_positions: int = 5
    daily_loss_limit_pct: Decimal = Decimal("5")
    max_drawdown_pct: Decimal = Decimal("20")
    cooldown_bars: int = 3
    max_exposure_pct: Decimal = Decimal("100")


@dataclass(frozen=True, slots=True)
class Decision:
    accept: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.accept


ACCEPT = Decision(True)


@dataclass(slots=True)
class KillSwitch:
    tripped: bool = False
    reason: str = ""
    at_ms: int = 0

    def trip(self, reason: str, at_ms: int) -> bool:
        """Trip once; returns True only on the transition (so callers act once)."""
        if self.tripped:
            return False
        self.tripped, self.reason, self.at_ms = True, reason, at_ms
        return True

    def reset(self) -> None:
        self.tripped, self.reason, self.at_ms = False, "", 0


@dataclass(slots=True)
class RiskManager:
    """Tracks equity marks, cool-downs and the kill switch for one trading run."""

    limits: RiskLimits
    interval_ms: int
    kill_switch: KillSwitch = field(default_factory=KillSwitch)
    peak_equity: Decimal = ZERO
    day_start_ms: int = -1
    day_start_equity: Decimal = ZERO
    cooldown_until: dict[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------------ equity
    def on_equity(self, now_ms: int, equity: Decimal) -> str | None:
        """Record an equity mark; returns the trip reason when a hard limit is breached now."""
        day = now_ms - now_ms % DAY_MS
        if day != self.day_start_ms:
            self.day_start_ms, self.day_start_equity = day, equity
        if equity > self.peak_equity:
            self.peak_equity = equity
        reason = None
        if self.day_start_equity > 0:
            loss_pct = (self.day_start_equity - equity) / self.day_start_equity * 100
            if loss_pct >= self.limits.daily_loss_limit_pct:
                reason = (
                    f"daily loss {loss_pct:.2f}% reached the {fmt(self.limits.daily_loss_limit_pct)}% limit"
                )
        if reason is None and self.peak_equity > 0:
            dd_pct = (self.peak_equity - equity) / self.peak_equity * 100
            if dd_pct >= self.limits.max_drawdown_pct:
                reason = f"drawdown {dd_pct:.2f}% reached the {fmt(self.limits.max_drawdown_pct)}% limit"
        if reason is not None and self.kill_switch.trip(reason, now_ms):
            return reason
        return None

    # ------------------------------------------------------------------ entries
    def check_entry(
        self,
        *,
        symbol: str,
        now_ms: int,
        open_positions: int,
        exposure: Decimal = ZERO,
        equity: Decimal = ZERO,
        entry_value: Decimal = ZERO,
        paused: bool = False,
    ) -> Decision:
        """Accept, or the first reason to refuse, a new long entry in ``symbol``."""
        if self.kill_switch.tripped:
            return Decision(False, f"kill switch tripped: {self.kill_switch.reason}")
        if paused:
            return Decision(False, "entries are paused")
        if open_positions >= self.limits.max_positions:
            return Decision(False, f"max_positions {self.limits.max_positions} reached")
        until = self.cooldown_until.get(symbol)
        if until is not None and now_ms < until:
            return Decision(False, f"cooling down after a stop-out until {until}")
        if equity > 0 and self.limits.max_exposure_pct < 100:
            after = (exposure + entry_value) / equity * 100
            if after > self.limits.max_exposure_pct:
                return Decision(
                    False,
                    f"exposure {after:.2f}% would exceed {fmt(self.limits.max_exposure_pct)}%",
                )
        return ACCEPT

    def on_exit(self, symbol: str, *, stopped_out: bool, bar_close_ms: int) -> None:
        """After a stop-out, block re-entry for ``cooldown_bars`` bars."""
        if stopped_out and self.limits.cooldown_bars > 0:
            self.cooldown_until[symbol] = bar_close_ms + self.limits.cooldown_bars * self.interval_ms
