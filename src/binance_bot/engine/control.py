"""The one control surface the CLI and the dashboard use: look, pause, stop, flatten, kill.

Routes and commands are thin wrappers over these methods, so a button in the browser and a
command in a terminal do exactly the same thing. Reads return plain JSON-ready dicts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from binance_bot.model.numbers import ZERO

if TYPE_CHECKING:
    from binance_bot.engine.kernel import TradingKernel


class Control:
    def __init__(self, kernel: TradingKernel) -> None:
        self.kernel = kernel

    # ------------------------------------------------------------------ reads
    def status(self) -> dict[str, Any]:
        k = self.kernel
        return {
            "run_id": k.run_id,
            "mode": k.mode.value,
            "strategy": k.strategy.name,
            "symbols": list(k.workers),
            "paused": k.paused,
            "stopping": k.stopping,
            "kill_switch": {
                "tripped": k.risk.kill_switch.tripped,
                "reason": k.risk.kill_switch.reason,
                "at": k.risk.kill_switch.at_ms,
            },
            "equity": str(k.equity().quantize(ZERO.scaleb(-2))) if k.balances else "0",
            "quote_asset": k.quote,
            "open_positions": k.portfolio.open_count,
            "last_bar_time": k.last_bar_time,
            "started_at": k.started_at,
        }

    def positions(self) -> list[dict[str, Any]]:
        return [w.snapshot() for w in self.kernel.workers.values() if w.snapshot()["position"] is not None]

    def open_orders(self) -> list[dict[str, Any]]:
        return [
            {
                "symbol": o.symbol,
                "client_order_id": o.client_order_id,
                "side": o.side.value,
                "type": o.type.value,
                "status": o.status.value,
                "qty": str(o.orig_qty),
                "executed": str(o.executed_qty),
                "price": str(o.price),
                "stop_price": str(o.stop_price),
            }
            for o in self.kernel.orders.orders_by_client_id.values()
            if o.is_open
        ]

    def recent_trades(self, limit: int = 50) -> list[dict[str, Any]]:
        return [
            {
                "symbol": t.symbol,
                "entry_time": t.entry_time,
                "exit_time": t.exit_time,
                "entry_price": str(t.entry_price),
                "exit_price": str(t.exit_price),
                "qty": str(t.qty),
                "pnl": str(t.pnl.quantize(ZERO.scaleb(-4))),
                "return_pct": f"{t.return_pct:.2f}",
                "exit_reason": t.exit_reason,
            }
            for t in self.kernel.portfolio.closed[-limit:]
        ]

    def equity_curve(self, limit: int = 2000) -> list[tuple[int, str]]:
        curve = list(self.kernel.equity_curve)
        step = max(1, len(curve) // limit)
        return [(t, str(v)) for t, v in curve[::step]]

    def statistics(self) -> dict[str, Any]:
        return self.kernel.get_statistics()

    def rejections(self) -> list[dict[str, Any]]:
        return list(self.kernel.rejections)

    # ------------------------------------------------------------------ actions
    def pause_entries(self) -> None:
        self.kernel.paused = True

    def resume_entries(self) -> None:
        if self.kernel.risk.kill_switch.tripped:
            raise RuntimeError("the kill switch is tripped: reset it first")
        self.kernel.paused = False

    def stop(self) -> None:
        """Graceful: no new entries; protective orders stay on the exchange."""
        self.kernel.request_stop()

    async def flatten(self) -> None:
        await self.kernel.flatten(reason="flatten")

    async def kill(self, *, flatten: bool = True) -> None:
        await self.kernel.kill(flatten=flatten, reason="manual kill")
        self.kernel.request_stop()

    def reset_kill_switch(self) -> None:
        self.kernel.reset_kill_switch()
