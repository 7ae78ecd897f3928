"""Crash-safe state in SQL: SQLite by default, PostgreSQL by URL (SQLAlchemy Core).

Every write is its own committed transaction, so a SIGKILL between two calls loses nothing
that was already recorded. SQLite runs in WAL mode with ``synchronous=NORMAL``: a committed
transaction survives the process being killed (it is in the WAL file); only a power loss
could drop the last few, which reconciliation with the exchange then repairs. Core (not the
ORM) keeps a write at tens of microseconds, because an intent is written on the path from
bar close to order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from binance_bot.model import (
    ClosedTrade,
    Fill,
    IntentState,
    Order,
    OrderIntent,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
)
from binance_bot.persistence import tables as t


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoints run from maintenance(), off the order path: an automatic one inside a
    # commit would stall the order that triggered it for milliseconds.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An SQLAlchemy engine for ``url``; creates the folder of a SQLite file if needed."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class SqlStateStore:
    """The engine's state store. Methods are synchronous and fast; each one commits."""

    def __init__(self, url: str, *, create_schema: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if create_schema:
            t.metadata.create_all(self.engine)
        self._conn: Connection = self.engine.connect()
        self._insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        self._prepare()

    def _prepare(self) -> None:
        """Build the hot statements once. Executing a prebuilt statement with a parameter
        dict skips SQLAlchemy's per-call statement construction and cache-key work, which
        otherwise costs several times the database write itself on the order path."""

        def upsert(table: Any, keys: tuple[str, ...]) -> Any:
            stmt = self._insert(table)
            return stmt.on_conflict_do_update(
                index_elements=[table.c[k] for k in keys],
                set_={c.name: stmt.excluded[c.name] for c in table.c if c.name not in keys},
            )

        self._intent_insert = insert(t.intents)
        self._intent_update = (
            update(t.intents)
            .where(t.intents.c.client_order_id == bindparam("b_coid"))
            .values(
                state=bindparam("b_state"),
                reject_code=bindparam("b_code"),
                reject_msg=bindparam("b_msg"),
                updated_at=bindparam("b_now"),
            )
        )
        self._order_upsert = upsert(t.orders, ("symbol", "order_id"))
        self._position_upsert_stmt = upsert(t.positions, ("symbol",))
        self._equity_upsert = upsert(t.equity, ("run_id", "time"))
        self._trade_insert_stmt = insert(t.trades)
        self._fill_insert_stmt = (
            self._insert(t.fills)
            .on_conflict_do_nothing(index_elements=[t.fills.c.symbol, t.fills.c.trade_id])
            .returning(t.fills.c.trade_id)
        )

    def close(self) -> None:
        self._conn.close()
        self.engine.dispose()

    def maintenance(self) -> None:
        """Housekeeping that must stay off the order path: copy the WAL back into the database.

        A PASSIVE checkpoint never blocks writers; it runs on its own connection so the
        caller may run it in a thread while the engine keeps writing.
        """
        if self.engine.dialect.name != "sqlite" or ":memory:" in self.url:
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def __enter__(self) -> SqlStateStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _run(self, stmt: Any) -> Any:
        result = self._conn.execute(stmt)
        self._conn.commit()
        return result

    # ------------------------------------------------------------------ runs
    def start_run(
        self, run_id: str, *, started_at: int, mode: str, strategy: str, config: dict[str, Any]
    ) -> None:
        self._run(
            insert(t.runs).values(
                run_id=run_id,
                started_at=started_at,
                mode=mode,
                strategy=strategy,
                status="running",
                config_json=json.dumps(config, default=str, sort_keys=True),
            )
        )

    def end_run(self, run_id: str, *, ended_at: int, status: str) -> None:
        self._run(update(t.runs).where(t.runs.c.run_id == run_id).values(ended_at=ended_at, status=status))

    def runs(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(select(t.runs).order_by(t.runs.c.started_at)).mappings().all()
        self._conn.commit()
        return [dict(r) for r in rows]

    def last_run(self) -> dict[str, Any] | None:
        all_runs = self.runs()
        return all_runs[-1] if all_runs else None

    # ------------------------------------------------------------------ intents
    def record_intent(self, intent: OrderIntent) -> None:
        self._conn.execute(
            self._intent_insert,
            {
                "client_order_id": intent.client_order_id,
                "run_id": intent.run_id,
                "symbol": intent.symbol,
                "purpose": intent.purpose,
                "side": intent.side.value,
                "type": intent.type.value,
                "quantity": intent.quantity,
                "price": intent.price,
                "stop_price": intent.stop_price,
                "list_client_order_id": intent.list_client_order_id,
                "state": intent.state,
                "reject_code": intent.reject_code,
                "reject_msg": intent.reject_msg,
                "created_at": intent.created_at,
                "updated_at": intent.updated_at or intent.created_at,
            },
        )
        self._conn.commit()

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
        self._conn.execute(
            self._intent_update,
            {
                "b_coid": client_order_id,
                "b_state": state,
                "b_code": reject_code,
                "b_msg": reject_msg,
                "b_now": now_ms,
            },
        )
        self._conn.commit()

    def intents(self, *, state: str | None = None, symbol: str | None = None) -> list[OrderIntent]:
        stmt = select(t.intents).order_by(t.intents.c.created_at, t.intents.c.client_order_id)
        if state is not None:
            stmt = stmt.where(t.intents.c.state == state)
        if symbol is not None:
            stmt = stmt.where(t.intents.c.symbol == symbol)
        rows = self._conn.execute(stmt).mappings().all()
        self._conn.commit()
        return [_intent(r) for r in rows]

    def get_intent(self, client_order_id: str) -> OrderIntent | None:
        row = (
            self._conn.execute(select(t.intents).where(t.intents.c.client_order_id == client_order_id))
            .mappings()
            .first()
        )
        self._conn.commit()
        return _intent(row) if row else None

    # ------------------------------------------------------------------ orders and fills
    def upsert_order(self, order: Order) -> None:
        self._conn.execute(
            self._order_upsert,
            {
                "symbol": order.symbol,
                "order_id": order.order_id,
                "client_order_id": order.client_order_id,
                "side": order.side.value,
                "type": order.type.value,
                "status": order.status.value,
                "orig_qty": order.orig_qty,
                "executed_qty": order.executed_qty,
                "cummulative_quote_qty": order.cummulative_quote_qty,
                "price": order.price,
                "stop_price": order.stop_price,
                "order_list_id": order.order_list_id,
                "time": order.time,
                "update_time": order.update_time,
            },
        )
        self._conn.commit()

    def orders(self, *, open_only: bool = False, symbol: str | None = None) -> list[Order]:
        stmt = select(t.orders).order_by(t.orders.c.time, t.orders.c.order_id)
        if open_only:
            stmt = stmt.where(t.orders.c.status.in_(["NEW", "PARTIALLY_FILLED"]))
        if symbol is not None:
            stmt = stmt.where(t.orders.c.symbol == symbol)
        rows = self._conn.execute(stmt).mappings().all()
        self._conn.commit()
        return [_order(r) for r in rows]

    @staticmethod
    def _fill_params(fill: Fill) -> dict[str, Any]:
        return {
            "symbol": fill.symbol,
            "trade_id": fill.trade_id,
            "order_id": fill.order_id,
            "client_order_id": fill.client_order_id,
            "side": fill.side.value,
            "price": fill.price,
            "qty": fill.qty,
            "commission": fill.commission,
            "commission_asset": fill.commission_asset,
            "time": fill.time,
            "is_maker": fill.is_maker,
        }

    def _insert_fill(self, fill: Fill) -> bool:
        return self._conn.execute(self._fill_insert_stmt, self._fill_params(fill)).first() is not None

    def record_fill(self, fill: Fill) -> bool:
        """Store a fill once; returns False when (symbol, trade id) was already recorded."""
        inserted = self._insert_fill(fill)  # RETURNING, not rowcount: rowcount is unreliable here
        self._conn.commit()
        return inserted

    def has_fill(self, symbol: str, trade_id: int) -> bool:
        found = self._conn.execute(
            select(t.fills.c.trade_id).where(t.fills.c.symbol == symbol, t.fills.c.trade_id == trade_id)
        ).first()
        self._conn.commit()
        return found is not None

    def commit_fill(
        self,
        fill: Fill,
        *,
        position: Position | None = None,
        closed: tuple[str, ClosedTrade] | None = None,
    ) -> bool:
        """Record a fill together with its effect, in ONE transaction.

        A fill and the position it changes must never be stored apart: a crash between
        the two would either lose the position (fill seen, position not saved) or count
        the fill twice on restart. ``position`` is the long after the fill; ``closed`` is
        ``(run_id, trade)`` when the fill closed it. Returns False (and changes nothing)
        when the fill was already recorded.
        """
        try:
            if not self._insert_fill(fill):
                self._conn.rollback()
                return False
            if position is not None:
                self._conn.execute(self._position_upsert_stmt, self._position_params(position))
            if closed is not None:
                run_id, trade = closed
                self._conn.execute(self._trade_insert_stmt, self._trade_params(run_id, trade))
                self._conn.execute(t.positions.delete().where(t.positions.c.symbol == trade.symbol))
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise
        return True

    def fills(self, *, symbol: str | None = None, client_order_id: str | None = None) -> list[Fill]:
        stmt = select(t.fills).order_by(t.fills.c.time, t.fills.c.trade_id)
        if symbol is not None:
            stmt = stmt.where(t.fills.c.symbol == symbol)
        if client_order_id is not None:
            stmt = stmt.where(t.fills.c.client_order_id == client_order_id)
        rows = self._conn.execute(stmt).mappings().all()
        self._conn.commit()
        return [_fill(r) for r in rows]

    def last_fill_time(self, symbol: str) -> int | None:
        value = self._conn.execute(
            select(func.max(t.fills.c.time)).where(t.fills.c.symbol == symbol)
        ).scalar()
        self._conn.commit()
        return None if value is None else int(value)

    # ------------------------------------------------------------------ positions and trades
    @staticmethod
    def _position_params(position: Position) -> dict[str, Any]:
        return {
            "symbol": position.symbol,
            "qty": position.qty,
            "entry_price": position.entry_price,
            "stop_price": position.stop_price,
            "take_profit_price": position.take_profit_price,
            "opened_at": position.opened_at,
            "cost": position.cost,
            "fees_quote": position.fees_quote,
            "entry_client_order_id": position.entry_client_order_id,
            "protection_list_id": position.protection_list_id,
        }

    def save_position(self, position: Position) -> None:
        self._conn.execute(self._position_upsert_stmt, self._position_params(position))
        self._conn.commit()

    def delete_position(self, symbol: str) -> None:
        self._run(t.positions.delete().where(t.positions.c.symbol == symbol))

    def positions(self) -> dict[str, Position]:
        rows = self._conn.execute(select(t.positions)).mappings().all()
        self._conn.commit()
        return {r["symbol"]: _position(r) for r in rows}

    @staticmethod
    def _trade_params(run_id: str, trade: ClosedTrade) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "symbol": trade.symbol,
            "entry_time": trade.entry_time,
            "exit_time": trade.exit_time,
            "entry_price": trade.entry_price,
            "exit_price": trade.exit_price,
            "qty": trade.qty,
            "cost": trade.cost,
            "proceeds": trade.proceeds,
            "fees_quote": trade.fees_quote,
            "exit_reason": trade.exit_reason,
        }

    def close_position(self, run_id: str, trade: ClosedTrade) -> None:
        """Record the round trip and drop the open position in one transaction."""
        self._conn.execute(self._trade_insert_stmt, self._trade_params(run_id, trade))
        self._conn.execute(t.positions.delete().where(t.positions.c.symbol == trade.symbol))
        self._conn.commit()

    def trades(self, *, run_id: str | None = None) -> list[ClosedTrade]:
        stmt = select(t.trades).order_by(t.trades.c.exit_time, t.trades.c.id)
        if run_id is not None:
            stmt = stmt.where(t.trades.c.run_id == run_id)
        rows = self._conn.execute(stmt).mappings().all()
        self._conn.commit()
        return [_trade(r) for r in rows]

    # ------------------------------------------------------------------ equity
    def record_equity(
        self, run_id: str, *, time: int, equity: Decimal, free_quote: Decimal, positions_value: Decimal
    ) -> None:
        self._conn.execute(
            self._equity_upsert,
            {
                "run_id": run_id,
                "time": time,
                "equity": equity,
                "free_quote": free_quote,
                "positions_value": positions_value,
            },
        )
        self._conn.commit()

    def equity_curve(self, run_id: str | None = None) -> list[tuple[int, Decimal]]:
        stmt = select(t.equity.c.time, t.equity.c.equity).order_by(t.equity.c.time)
        if run_id is not None:
            stmt = stmt.where(t.equity.c.run_id == run_id)
        rows = self._conn.execute(stmt).all()
        self._conn.commit()
        return [(int(time), value) for time, value in rows]

    # ------------------------------------------------------------------ settings
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        value = self._conn.execute(select(t.settings.c.value).where(t.settings.c.key == key)).scalar()
        self._conn.commit()
        return default if value is None else str(value)

    def set_setting(self, key: str, value: str) -> None:
        stmt = self._insert(t.settings).values(key=key, value=value)
        self._run(stmt.on_conflict_do_update(index_elements=[t.settings.c.key], set_={"value": value}))

    def delete_settings(self, keys: Iterable[str]) -> None:
        self._run(t.settings.delete().where(t.settings.c.key.in_(list(keys))))


# ---------------------------------------------------------------------- row -> model
def _intent(r: Any) -> OrderIntent:
    return OrderIntent(
        client_order_id=r["client_order_id"],
        run_id=r["run_id"],
        symbol=r["symbol"],
        purpose=r["purpose"],
        side=Side(r["side"]),
        type=OrderType(r["type"]),
        created_at=int(r["created_at"]),
        quantity=r["quantity"],
        price=r["price"],
        stop_price=r["stop_price"],
        list_client_order_id=r["list_client_order_id"],
        state=r["state"],
        reject_code=r["reject_code"],
        reject_msg=r["reject_msg"],
        updated_at=int(r["updated_at"]),
    )


def _order(r: Any) -> Order:
    return Order(
        symbol=r["symbol"],
        order_id=int(r["order_id"]),
        client_order_id=r["client_order_id"],
        side=Side(r["side"]),
        type=OrderType(r["type"]),
        status=OrderStatus(r["status"]),
        orig_qty=r["orig_qty"],
        executed_qty=r["executed_qty"],
        cummulative_quote_qty=r["cummulative_quote_qty"],
        price=r["price"],
        stop_price=r["stop_price"],
        time_in_force=TimeInForce.GTC,
        order_list_id=int(r["order_list_id"]),
        time=int(r["time"]),
        update_time=int(r["update_time"]),
    )


def _fill(r: Any) -> Fill:
    return Fill(
        symbol=r["symbol"],
        order_id=int(r["order_id"]),
        client_order_id=r["client_order_id"],
        trade_id=int(r["trade_id"]),
        side=Side(r["side"]),
        price=r["price"],
        qty=r["qty"],
        commission=r["commission"],
        commission_asset=r["commission_asset"],
        time=int(r["time"]),
        is_maker=bool(r["is_maker"]),
    )


def _position(r: Any) -> Position:
    return Position(
        symbol=r["symbol"],
        qty=r["qty"],
        entry_price=r["entry_price"],
        stop_price=r["stop_price"],
        take_profit_price=r["take_profit_price"],
        opened_at=int(r["opened_at"]),
        cost=r["cost"],
        fees_quote=r["fees_quote"],
        entry_client_order_id=r["entry_client_order_id"],
        protection_list_id=int(r["protection_list_id"]),
    )


def _trade(r: Any) -> ClosedTrade:
    return ClosedTrade(
        symbol=r["symbol"],
        entry_time=int(r["entry_time"]),
        exit_time=int(r["exit_time"]),
        entry_price=r["entry_price"],
        exit_price=r["exit_price"],
        qty=r["qty"],
        cost=r["cost"],
        proceeds=r["proceeds"],
        fees_quote=r["fees_quote"],
        exit_reason=r["exit_reason"],
    )
