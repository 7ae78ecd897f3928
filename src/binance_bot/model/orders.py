"""Orders: what we ask for (``OrderRequest``), what the exchange holds (``Order``) and fills.

Status transitions follow Binance's order lifecycle; :func:`check_transition` rejects an
illegal one (for example FILLED -> NEW), so a replayed or duplicated exchange message can
never move an order backwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal

from binance_bot.model.enums import OrderStatus, OrderType, Side, TimeInForce
from binance_bot.model.numbers import ZERO

CLIENT_ORDER_ID_PATTERN = re.compile(r"^[a-zA-Z0-9-_]{1,36}$")
"""Binance's rule for ``newClientOrderId`` (REST -1100 message)."""

_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset(
        {
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELED,
            OrderStatus.EXPIRED,
            OrderStatus.EXPIRED_IN_MATCH,
            OrderStatus.REJECTED,
            OrderStatus.PENDING_CANCEL,
        }
    ),
    OrderStatus.PARTIALLY_FILLED: frozenset(
        {
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELED,
            OrderStatus.EXPIRED,
            OrderStatus.EXPIRED_IN_MATCH,
            OrderStatus.PENDING_CANCEL,
        }
    ),
    OrderStatus.PENDING_CANCEL: frozenset({OrderStatus.CANCELED, OrderStatus.FILLED}),
}


def can_transition(old: OrderStatus, new: OrderStatus) -> bool:
    """True when ``old -> new`` is a legal step (staying in the same final state is legal)."""
    if old == new:
        return True
    return new in _TRANSITIONS.get(old, frozenset())


def check_transition(old: OrderStatus, new: OrderStatus) -> None:
    if not can_transition(old, new):
        raise ValueError(f"illegal order status transition {old} -> {new}")


def is_valid_client_order_id(value: str) -> bool:
    return bool(CLIENT_ORDER_ID_PATTERN.match(value))


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order as we intend to send it. Quantities and prices are already quantized."""

    symbol: str
    side: Side
    type: OrderType
    client_order_id: str
    quantity: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    quote_order_qty: Decimal | None = None

    def __post_init__(self) -> None:
        if not is_valid_client_order_id(self.client_order_id):
            raise ValueError(
                f"client_order_id {self.client_order_id!r} must match {CLIENT_ORDER_ID_PATTERN.pattern}"
            )


@dataclass(frozen=True, slots=True)
class OcoRequest:
    """A SELL (or BUY) OCO: a take-profit leg above the market and a stop leg below it.

    The wire form is ``POST /api/v3/orderList/oco`` with ``aboveType``/``belowType``.
    For a SELL the above leg is LIMIT_MAKER (take profit) and the below leg is
    STOP_LOSS_LIMIT; for a BUY the roles swap.
    """

    symbol: str
    side: Side
    quantity: Decimal
    list_client_order_id: str
    take_profit_price: Decimal
    stop_price: Decimal
    stop_limit_price: Decimal | None
    take_profit_client_order_id: str
    stop_client_order_id: str
    stop_limit_time_in_force: TimeInForce = TimeInForce.GTC


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of an order (a Binance trade from our side)."""

    symbol: str
    order_id: int
    client_order_id: str
    trade_id: int
    side: Side
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_maker: bool

    @property
    def quote_qty(self) -> Decimal:
        return self.price * self.qty


@dataclass(frozen=True, slots=True)
class Order:
    """The exchange's view of one order."""

    symbol: str
    order_id: int
    client_order_id: str
    side: Side
    type: OrderType
    status: OrderStatus
    orig_qty: Decimal
    executed_qty: Decimal = ZERO
    cummulative_quote_qty: Decimal = ZERO
    price: Decimal = ZERO
    stop_price: Decimal = ZERO
    time_in_force: TimeInForce = TimeInForce.GTC
    order_list_id: int = -1
    time: int = 0
    update_time: int = 0
    orig_quote_order_qty: Decimal = ZERO
    fills: tuple[Fill, ...] = field(default=(), compare=False)
    working_time: int = -1
    """When the order started working (Binance ``workingTime``); -1 while a stop waits for its trigger."""

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def is_working(self) -> bool:
        """Binance's ``isWorking``: false for a stop order that has not triggered yet."""
        return self.working_time >= 0

    @property
    def remaining_qty(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    @property
    def avg_price(self) -> Decimal:
        return self.cummulative_quote_qty / self.executed_qty if self.executed_qty else ZERO

    def with_status(self, status: OrderStatus, **changes: object) -> Order:
        check_transition(self.status, status)
        return replace(self, status=status, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class OrderList:
    """An OCO as the exchange reports it."""

    order_list_id: int
    list_client_order_id: str
    symbol: str
    list_status_type: str
    list_order_status: str
    orders: tuple[Order, ...]
    transaction_time: int = 0


class IntentState:
    """Where an order intent stands; written *before* the order is sent (crash safety)."""

    PENDING = "PENDING"  # written, not yet known to have reached the exchange
    SENT = "SENT"  # the exchange acknowledged it
    REJECTED = "REJECTED"  # the exchange (or a local check) refused it: recorded, never retried
    NOT_SENT = "NOT_SENT"  # reconciliation found it never arrived
    ALL = (PENDING, SENT, REJECTED, NOT_SENT)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order we decided to send, recorded before sending so a restart can find it.

    ``purpose`` says why (``entry``, ``exit``, ``protect``, ``flatten``); the client order id
    is deterministic (run, symbol, sequence), so a retry or a restart can never double it.
    """

    client_order_id: str
    run_id: str
    symbol: str
    purpose: str
    side: Side
    type: OrderType
    created_at: int
    quantity: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    list_client_order_id: str | None = None
    state: str = IntentState.PENDING
    reject_code: int | None = None
    reject_msg: str | None = None
    updated_at: int = 0
