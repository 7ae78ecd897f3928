"""A state store in memory, for event-replay backtests and tests.

Same methods and semantics as the SQL store (``binance_bot.persistence``), without the
durability: a replay is rerun from its data, not recovered after a crash, and skipping the
database keeps a replay's cost in the engine, where it belongs.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from binance_bot.model import ClosedTrade, Fill, IntentState, Order, OrderIntent, Position


class MemoryStateStore:
    def __init__(self) -> None:
        self._runs: list[dict[str, Any]] = []
        self._intents: dict[str, OrderIntent] = {}
        self._orders: dict[tuple[str, int], Order] = {}
        self._fills: dict[tuple[str, int], Fill] = {}
        self._positions: dict[str, Position] = {}
        self._trades: list[tuple[str, ClosedTrade]] = []
        self._equity: dict[tuple[str, int], Decimal] = {}
        self._settings: dict[str, str] = {}

    def close(self) -> None:
        return None

    def maintenance(self) -> None:
        return None

    def start_run(
        self, run_id: str, *, started_at: int, mode: str, strategy: str, config: dict[str, Any]
    ) -> None:
        self._runs.append(
            {
                "run_id": run_id,
                "started_at": started_at,
                "ended_at": None,
                "mode": mode,
                "strategy": strategy,
                "status": "running",
            }
        )

    def end_run(self, run_id: str, *, ended_at: int, status: str) -> None:
        for run in self._runs:
            if run["run_id"] == run_id:
                run.update(ended_at=ended_at, status=status)

    def runs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._runs]

    def last_run(self) -> dict[str, Any] | None:
        return dict(self._runs[-1]) if self._runs else None

    def record_intent(self, intent: OrderIntent) -> None:
        if intent.client_order_id in self._intents:
            raise ValueError(f"intent {intent.client_order_id} recorded twice")
        self._intents[intent.client_order_id] = replace(
            intent, updated_at=intent.updated_at or intent.created_at
        )

    def update_intent(
        self,
        client_order_id: str,
        state: str,
        *,
        now_ms: int,
        reject_code: int | None = None,
        reject_msg: str | None = None,
    ) -> None:
        if state not in IntentState.ALL:
            raise ValueError(f"unknown intent state {state!r}")
        intent = self._intents.get(client_order_id)
        if intent is not None:
            self._intents[client_order_id] = replace(
                intent, state=state, reject_code=reject_code, reject_msg=reject_msg, updated_at=now_ms
            )

    def intents(self, *, state: str | None = None, symbol: str | None = None) -> list[OrderIntent]:
        return [
            i
            for i in self._intents.values()
            if (state is None or i.state == state) and (symbol is None or i.symbol == symbol)
        ]

    def get_intent(self, client_order_id: str) -> OrderIntent | None:
        return self._intents.get(client_order_id)

    def upsert_order(self, order: Order) -> None:
        self._orders[(order.symbol, order.order_id)] = replace(order, fills=())

    def orders(self, *, open_only: bool = False, symbol: str | None = None) -> list[Order]:
        return [
            o
            for o in self._orders.values()
            if (not open_only or o.is_open) and (symbol is None or o.symbol == symbol)
        ]

    def record_fill(self, fill: Fill) -> bool:
        key = (fill.symbol, fill.trade_id)
        if key in self._fills:
            return False
        self._fills[key] = fill
        return True

    def has_fill(self, symbol: str, trade_id: int) -> bool:
        return (symbol, trade_id) in self._fills

    def commit_fill(
        self,
        fill: Fill,
        *,
        position: Position | None = None,
        closed: tuple[str, ClosedTrade] | None = None,
    ) -> bool:
        if not self.record_fill(fill):
            return False
        if position is not None:
            self.save_position(position)
        if closed is not None:
            self.close_position(*closed)
        return True

    def fills(self, *, symbol: str | None = None, client_order_id: str | None = None) -> list[Fill]:
        return sorted(
            (
                f
                for f in self._fills.values()
                if (symbol is None or f.symbol == symbol)
                and (client_order_id is None or f.client_order_id == client_order_id)
            ),
            key=lambda f: (f.time, f.trade_id),
        )

    def last_fill_time(self, symbol: str) -> int | None:
        times = [f.time for f in self._fills.values() if f.symbol == symbol]
        return max(times) if times else None

    def save_position(self, position: Position) -> None:
        self._positions[position.symbol] = position

    def delete_position(self, symbol: str) -> None:
        self._positions.pop(symbol, None)

    def positions(self) -> dict[str, Position]:
        return dict(self._positions)

    def close_position(self, run_id: str, trade: ClosedTrade) -> None:
        self._trades.append((run_id, trade))
        self._positions.pop(trade.symbol, None)

    def trades(self, *, run_id: str | None = None) -> list[ClosedTrade]:
        return [t for r, t in self._trades if run_id is None or r == run_id]

    def record_equity(
        self, run_id: str, *, time: int, equity: Decimal, free_quote: Decimal, positions_value: Decimal
    ) -> None:
        self._equity[(run_id, time)] = equity

    def equity_curve(self, run_id: str | None = None) -> list[tuple[int, Decimal]]:
        return sorted((t, v) for (r, t), v in self._equity.items() if run_id is None or r == run_id)

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        return self._settings.get(key, default)

    def set_setting(self, key: str, value: str) -> None:
        self._settings[key] = value

    def delete_settings(self, keys: Any) -> None:
        for key in keys:
            self._settings.pop(key, None)
