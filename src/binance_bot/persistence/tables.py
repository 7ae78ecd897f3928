"""The state schema: runs, order intents, orders, fills, positions, trades, equity, settings.

Money columns hold ``Decimal`` as exact text (:class:`DecimalText`): SQLite has no exact
numeric type, and one representation for SQLite and PostgreSQL keeps the two identical.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class DecimalText(TypeDecorator[Decimal]):
    """A ``Decimal`` stored as its exact text; ``None`` stays ``NULL``."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        return f"{value:f}"

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(16), primary_key=True),
    Column("started_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger),
    Column("mode", String(16), nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("config_json", Text, nullable=False),
)

intents = Table(
    "order_intents",
    metadata,
    Column("client_order_id", String(36), primary_key=True),
    Column("run_id", String(16), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("side", String(4), nullable=False),
    Column("type", String(24), nullable=False),
    Column("quantity", DecimalText),
    Column("price", DecimalText),
    Column("stop_price", DecimalText),
    Column("list_client_order_id", String(36)),
    Column("state", String(16), nullable=False),
    Column("reject_code", Integer),
    Column("reject_msg", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
Index("ix_intents_state", intents.c.state)

orders = Table(
    "orders",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("order_id", BigInteger, primary_key=True),
    Column("client_order_id", String(36), nullable=False),
    Column("side", String(4), nullable=False),
    Column("type", String(24), nullable=False),
    Column("status", String(24), nullable=False),
    Column("orig_qty", DecimalText, nullable=False),
    Column("executed_qty", DecimalText, nullable=False),
    Column("cummulative_quote_qty", DecimalText, nullable=False),
    Column("price", DecimalText, nullable=False),
    Column("stop_price", DecimalText, nullable=False),
    Column("order_list_id", BigInteger, nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("update_time", BigInteger, nullable=False),
    UniqueConstraint("client_order_id", "symbol", "order_id", name="uq_orders_client"),
)
Index("ix_orders_client", orders.c.client_order_id)

fills = Table(
    "fills",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("trade_id", BigInteger, primary_key=True),
    Column("order_id", BigInteger, nullable=False),
    Column("client_order_id", String(36), nullable=False),
    Column("side", String(4), nullable=False),
    Column("price", DecimalText, nullable=False),
    Column("qty", DecimalText, nullable=False),
    Column("commission", DecimalText, nullable=False),
    Column("commission_asset", String(16), nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("is_maker", Boolean, nullable=False),
)

positions = Table(
    "positions",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("qty", DecimalText, nullable=False),
    Column("entry_price", DecimalText, nullable=False),
    Column("stop_price", DecimalText, nullable=False),
    Column("take_profit_price", DecimalText, nullable=False),
    Column("opened_at", BigInteger, nullable=False),
    Column("cost", DecimalText, nullable=False),
    Column("fees_quote", DecimalText, nullable=False),
    Column("entry_client_order_id", String(36), nullable=False),
    Column("protection_list_id", BigInteger, nullable=False),
)

trades = Table(
    "trades",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(16), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("entry_time", BigInteger, nullable=False),
    Column("exit_time", BigInteger, nullable=False),
    Column("entry_price", DecimalText, nullable=False),
    Column("exit_price", DecimalText, nullable=False),
    Column("qty", DecimalText, nullable=False),
    Column("cost", DecimalText, nullable=False),
    Column("proceeds", DecimalText, nullable=False),
    Column("fees_quote", DecimalText, nullable=False),
    Column("exit_reason", String(32), nullable=False),
)

equity = Table(
    "equity",
    metadata,
    Column("run_id", String(16), primary_key=True),
    Column("time", BigInteger, primary_key=True),
    Column("equity", DecimalText, nullable=False),
    Column("free_quote", DecimalText, nullable=False),
    Column("positions_value", DecimalText, nullable=False),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
