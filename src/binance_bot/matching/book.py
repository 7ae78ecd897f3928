"""The engine's mutable bookkeeping: working orders, their locked funds, OCO lists, event batches.

These objects never leave the engine; callers see immutable :class:`~binance_bot.model.orders.Order`
and :class:`~binance_bot.model.orders.OrderList` snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from binance_bot.matching.results import AccountEvent
from binance_bot.model.enums import ExecutionType, ListOrderStatus, ListStatusType, OrderType
from binance_bot.model.events import AccountUpdate, ExecutionReport, ListStatus
from binance_bot.model.ledger import Balance, Ledger
from binance_bot.model.orders import Fill, Order, OrderList


class Phase(Enum):
    """Where an open order is in its life (R9-R12)."""

    QUEUED = "QUEUED"  # a MARKET order waiting for the next price event
    WAITING = "WAITING"  # a stop or take-profit order waiting for its trigger
    RESTING = "RESTING"  # a limit order (or a triggered stop-limit) on the book
    DONE = "DONE"


@dataclass(eq=False, slots=True)
class Reserve:
    """Funds locked for one order, or shared by the two legs of an OCO (R15)."""

    account: str
    asset: str
    amount: Decimal
    holders: list[Working] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Working:
    """An order as the engine tracks it: integer levels, progress and locked funds."""

    account: str
    order: Order
    phase: Phase
    is_buy: bool
    qty_steps: int
    limit: int
    stop: int
    reserve: Reserve
    quote_left: Decimal | None = None
    executed_steps: int = 0
    order_list: OcoList | None = None
    used_key: int | None = None
    used_steps: int = 0

    @property
    def is_open(self) -> bool:
        return self.phase is not Phase.DONE

    @property
    def is_take_profit(self) -> bool:
        return self.order.type in (OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT)

    @property
    def remaining_steps(self) -> int:
        return self.qty_steps - self.executed_steps


@dataclass(eq=False, slots=True)
class OcoList:
    account: str
    symbol: str
    order_list_id: int
    list_client_order_id: str
    legs: list[Working]
    status_type: ListStatusType
    order_status: ListOrderStatus
    transaction_time: int

    @property
    def is_open(self) -> bool:
        return self.order_status is ListOrderStatus.EXECUTING

    def snapshot(self) -> OrderList:
        return OrderList(
            order_list_id=self.order_list_id,
            list_client_order_id=self.list_client_order_id,
            symbol=self.symbol,
            list_status_type=self.status_type.value,
            list_order_status=self.order_status.value,
            orders=tuple(leg.order for leg in self.legs),
            transaction_time=self.transaction_time,
        )


class Batch:
    """The events of one atomic change, released in Binance's stream order.

    Execution reports come as they happen; list status changes follow them, and one
    balance update per account closes the batch with the final free/locked of every asset
    the change touched.
    """

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self._events: list[AccountEvent] = []
        self._lists: list[OcoList] = []
        self._touched: dict[str, set[str]] = {}

    def report(self, working: Working, execution_type: ExecutionType, fill: Fill | None = None) -> None:
        event = ExecutionReport(working.order, execution_type, self.now_ms, fill)
        self._events.append(AccountEvent(working.account, event))

    def list_changed(self, oco: OcoList) -> None:
        if oco not in self._lists:
            self._lists.append(oco)

    def touch(self, account: str, *assets: str) -> None:
        self._touched.setdefault(account, set()).update(assets)

    def release(self, ledgers: dict[str, Ledger]) -> list[AccountEvent]:
        out = list(self._events)
        for oco in self._lists:
            out.append(AccountEvent(oco.account, ListStatus(oco.snapshot(), self.now_ms)))
        for account, assets in self._touched.items():
            ledger = ledgers[account]
            balances = tuple(Balance(a, ledger.free(a), ledger.locked(a)) for a in sorted(assets))
            out.append(AccountEvent(account, AccountUpdate(balances, self.now_ms)))
        self._events.clear()
        self._lists.clear()
        self._touched.clear()
        return out
