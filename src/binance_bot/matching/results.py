"""What the engine answers: accepted orders and lists, cancellations, and the events they caused.

Every call that changes state returns the user events it produced, tagged with the account
they belong to, in the order Binance would stream them. The simulator writes them to the
user-data stream of that account; the paper exchange hands them to the engine kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

from binance_bot.model.enums import OrderRespType
from binance_bot.model.events import AccountUpdate, ExecutionReport, ListStatus
from binance_bot.model.orders import Order, OrderList

EngineEvent = ExecutionReport | ListStatus | AccountUpdate


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """One user event and the account whose stream it goes to."""

    account: str
    event: EngineEvent


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    """A new order the engine took; ``order`` already includes any immediate fills."""

    order: Order
    transact_time: int
    resp_type: OrderRespType
    events: tuple[AccountEvent, ...]


@dataclass(frozen=True, slots=True)
class ListAccepted:
    """A new OCO; ``order_list.orders`` holds both legs (below leg first, as Binance lists them)."""

    order_list: OrderList
    transact_time: int
    resp_type: OrderRespType
    events: tuple[AccountEvent, ...]


@dataclass(frozen=True, slots=True)
class OrderCanceled:
    """A cancelled order; ``order_list`` is set when it was an OCO leg (the whole list went)."""

    order: Order
    cancel_client_order_id: str
    transact_time: int
    order_list: OrderList | None
    events: tuple[AccountEvent, ...]


@dataclass(frozen=True, slots=True)
class ListCanceled:
    order_list: OrderList
    cancel_client_order_id: str
    transact_time: int
    events: tuple[AccountEvent, ...]


@dataclass(frozen=True, slots=True)
class AllCanceled:
    """``DELETE /api/v3/openOrders``: the standalone orders and the lists that were open."""

    orders: tuple[Order, ...]
    order_lists: tuple[OrderList, ...]
    transact_time: int
    events: tuple[AccountEvent, ...]

    @property
    def all_orders(self) -> tuple[Order, ...]:
        """Every cancelled order, list legs included, by order id."""
        legs = tuple(o for lst in self.order_lists for o in lst.orders)
        return tuple(sorted(self.orders + legs, key=lambda o: o.order_id))
