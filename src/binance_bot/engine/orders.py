"""Sending orders so that a crash, a timeout or a retry can never double one.

Every order gets a deterministic client order id and is written to the store as an
*intent* before it is sent. When the exchange's answer is lost (timeout, 5xx: execution
status unknown), the order is looked up by that id before anything is sent again; only an
exchange that says "no such order" gets the same id once more. A rejection is recorded with
Binance's code and message and never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from binance_bot.engine.crashpoints import crash_point
from binance_bot.engine.ids import client_order_id
from binance_bot.engine.ports import Clock, ExchangeClient
from binance_bot.errors import (
    ExchangeError,
    InsufficientFunds,
    OrderRejected,
    RateLimited,
    TemporaryExchangeError,
    UnknownOrder,
)
from binance_bot.model import (
    Fill,
    IntentState,
    OcoRequest,
    Order,
    OrderIntent,
    OrderList,
    OrderRequest,
    OrderType,
)
from binance_bot.model.numbers import ZERO

log = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 3


@dataclass(slots=True)
class OrderCounters:
    sent: int = 0
    rejected: int = 0
    unknown_resolved: int = 0
    resent: int = 0
    rejections_by_code: dict[int, int] = field(default_factory=dict)


class OrderManager:
    """Places, cancels and tracks the run's orders; hands every fill to ``on_fill`` once."""

    def __init__(
        self,
        *,
        exchange: ExchangeClient,
        store: Any,
        clock: Clock,
        run_id: str,
        on_fill: Callable[[Fill, Order | None], Awaitable[None]],
        on_order: Callable[[Order], Awaitable[None]],
        on_reject: Callable[[OrderIntent, ExchangeError], Awaitable[None]] | None = None,
    ) -> None:
        self.exchange = exchange
        self.store = store
        self.clock = clock
        self.run_id = run_id
        self._on_fill = on_fill
        self._on_order = on_order
        self._on_reject = on_reject
        self.counters = OrderCounters()
        self.orders_by_client_id: dict[str, Order] = {}
        self._seen: set[tuple[str, int]] = set()
        self._sequences: dict[str, int] = {}

    # ------------------------------------------------------------------ ids
    def next_id(self, symbol: str, suffix: str = "") -> tuple[int, str]:
        """The next client order id of this run for ``symbol``.

        The counter lives in memory: every process start is a new run with a new run id, so
        ids can never repeat across restarts, and the intent written before sending is what
        makes an order findable after a crash. No database write sits on this path.
        """
        seq = self._sequences.get(symbol, 0) + 1
        self._sequences[symbol] = seq
        return seq, client_order_id(self.run_id, symbol, seq, suffix)

    # ------------------------------------------------------------------ orders
    async def place(
        self, request: OrderRequest, *, purpose: str, on_wire: Callable[[], None] | None = None
    ) -> Order | None:
        """Send ``request`` (its client id already set); ``None`` when it was rejected.

        ``on_wire`` is called once, just before the request goes to the exchange client (the
        intent is durable by then): the end of the bar-to-order latency.
        """
        now = self.clock.now_ms()
        intent = OrderIntent(
            client_order_id=request.client_order_id,
            run_id=self.run_id,
            symbol=request.symbol,
            purpose=purpose,
            side=request.side,
            type=request.type,
            created_at=now,
            quantity=request.quantity,
            price=request.price,
            stop_price=request.stop_price,
        )
        self.store.record_intent(intent)
        crash_point("intent_written")
        for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
            try:
                if on_wire is not None and attempt == 1:
                    on_wire()
                crash_point("order_in_flight")
                order = await self.exchange.place_order(request)
                crash_point("acknowledged")
            except OrderRejected as exc:  # InsufficientFunds included: record, never retry
                await self._rejected(intent, exc)
                return None
            except TemporaryExchangeError as exc:
                found = await self._lookup(request.symbol, request.client_order_id)
                if found is not None:
                    self.counters.unknown_resolved += 1
                    log.warning(
                        "order %s status was unknown (%s); the exchange has it: %s",
                        request.client_order_id,
                        exc,
                        found.status,
                    )
                    order = found
                elif attempt < MAX_SEND_ATTEMPTS:
                    self.counters.resent += 1
                    delay = exc.retry_after if isinstance(exc, RateLimited) else 0.2 * attempt
                    log.warning(
                        "order %s did not arrive (%s); sending it again under the same id",
                        request.client_order_id,
                        exc,
                    )
                    await self.clock.sleep(delay)
                    continue
                else:
                    log.error(
                        "order %s: giving up after %d attempts: %s", request.client_order_id, attempt, exc
                    )
                    return None
            order = await self._with_fills(order)
            self.counters.sent += 1
            self.store.update_intent(request.client_order_id, IntentState.SENT, now_ms=self.clock.now_ms())
            await self.track(order)
            return order
        return None

    async def _with_fills(self, order: Order) -> Order:
        """The order with every fill it has had, fetched when its snapshot lacks them.

        An order recovered by a lookup after a lost answer (here or in the exchange client)
        is a ``GET /api/v3/order`` snapshot: executed, but without fills. Left like that, an
        entry would be final with no position behind it until its execution report came,
        and the next signal could buy a second time.
        """
        have = sum((f.qty for f in order.fills), ZERO)
        if order.executed_qty <= have:
            return order
        try:
            trades = await self.exchange.my_trades(order.symbol, start_time=order.time, limit=1000)
        except ExchangeError as exc:
            log.warning(
                "fills of %s could not be fetched (%s): its reports will bring them",
                order.client_order_id,
                exc,
            )
            return order
        fills = tuple(
            t if t.client_order_id else replace(t, client_order_id=order.client_order_id)
            for t in trades
            if t.order_id == order.order_id
        )
        return replace(order, fills=fills) if fills else order

    async def place_oco(self, request: OcoRequest, *, purpose: str = "protect") -> OrderList | None:
        now = self.clock.now_ms()
        legs = (
            (request.take_profit_client_order_id, OrderType.LIMIT_MAKER, request.take_profit_price, None),
            (
                request.stop_client_order_id,
                OrderType.STOP_LOSS_LIMIT,
                request.stop_limit_price,
                request.stop_price,
            ),
        )
        for coid, kind, price, stop in legs:
            self.store.record_intent(
                OrderIntent(
                    client_order_id=coid,
                    run_id=self.run_id,
                    symbol=request.symbol,
                    purpose=purpose,
                    side=request.side,
                    type=kind,
                    created_at=now,
                    quantity=request.quantity,
                    price=price,
                    stop_price=stop,
                    list_client_order_id=request.list_client_order_id,
                )
            )
        for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
            try:
                order_list = await self.exchange.place_oco(request)
                crash_point("protection_sent")
            except OrderRejected as exc:
                for coid, *_ in legs:
                    self.store.update_intent(
                        coid,
                        IntentState.REJECTED,
                        now_ms=self.clock.now_ms(),
                        reject_code=exc.code,
                        reject_msg=exc.message,
                    )
                self._count_rejection(exc)
                log.warning("protection for %s rejected: %s", request.symbol, exc)
                return None
            except TemporaryExchangeError as exc:
                found = await self._lookup(request.symbol, request.stop_client_order_id)
                if found is not None:
                    self.counters.unknown_resolved += 1
                    tp = await self._lookup(request.symbol, request.take_profit_client_order_id)
                    orders = tuple(o for o in (found, tp) if o is not None)
                    order_list = OrderList(
                        order_list_id=found.order_list_id,
                        list_client_order_id=request.list_client_order_id,
                        symbol=request.symbol,
                        list_status_type="EXEC_STARTED",
                        list_order_status="EXECUTING",
                        orders=orders,
                    )
                elif attempt < MAX_SEND_ATTEMPTS:
                    self.counters.resent += 1
                    await self.clock.sleep(exc.retry_after if isinstance(exc, RateLimited) else 0.2 * attempt)
                    continue
                else:
                    log.error(
                        "protection for %s: giving up after %d attempts: %s", request.symbol, attempt, exc
                    )
                    return None
            self.counters.sent += 1
            for coid, *_ in legs:
                self.store.update_intent(coid, IntentState.SENT, now_ms=self.clock.now_ms())
            for order in order_list.orders:
                await self.track(order)
            return order_list
        return None

    async def cancel_list(self, symbol: str, list_client_order_id: str) -> bool:
        """Cancel an order list; True when it is gone (cancelled now or already done)."""
        try:
            result = await self.exchange.cancel_order_list(symbol, list_client_order_id=list_client_order_id)
        except UnknownOrder:
            return True
        except OrderRejected as exc:
            if exc.code in (-2011, -2013):
                return True
            log.warning("cancel of %s on %s refused: %s", list_client_order_id, symbol, exc)
            return False
        for order in result.orders:
            await self.track(order)
        return True

    async def cancel(self, symbol: str, client_order_id: str) -> bool:
        try:
            order = await self.exchange.cancel_order(symbol, client_order_id=client_order_id)
        except UnknownOrder:
            return True
        except OrderRejected as exc:
            if exc.code in (-2011, -2013):
                return True
            log.warning("cancel of %s on %s refused: %s", client_order_id, symbol, exc)
            return False
        await self.track(order)
        return True

    # ------------------------------------------------------------------ tracking
    async def track(self, order: Order) -> None:
        """Record an order snapshot and pass on its new fills (deduplicated by trade id)."""
        known = self.orders_by_client_id.get(order.client_order_id)
        if known is not None and known.update_time > order.update_time and not order.fills:
            return  # an older snapshot arrived late
        self.orders_by_client_id[order.client_order_id] = order
        self.store.upsert_order(order)
        for fill in order.fills:
            await self.fill(fill, order)
        await self._on_order(order)

    async def fill(self, fill: Fill, order: Order | None = None) -> None:
        """Hand a fill on once. The handler stores it atomically with its effect
        (``store.commit_fill``); until then it counts as unseen, so a crash replays it."""
        key = (fill.symbol, fill.trade_id)
        if key in self._seen or self.store.has_fill(fill.symbol, fill.trade_id):
            return
        self._seen.add(key)
        await self._on_fill(fill, order)

    async def _lookup(self, symbol: str, coid: str) -> Order | None:
        try:
            return await self.exchange.get_order(symbol, client_order_id=coid)
        except UnknownOrder:
            return None
        except OrderRejected as exc:
            if exc.code == -2013:
                return None
            raise

    async def _rejected(self, intent: OrderIntent, exc: OrderRejected) -> None:
        self.store.update_intent(
            intent.client_order_id,
            IntentState.REJECTED,
            now_ms=self.clock.now_ms(),
            reject_code=exc.code,
            reject_msg=exc.message,
        )
        self._count_rejection(exc)
        level = logging.INFO if isinstance(exc, InsufficientFunds) else logging.WARNING
        log.log(level, "order %s (%s) rejected: %s", intent.client_order_id, intent.purpose, exc)
        if self._on_reject is not None:
            await self._on_reject(intent, exc)

    def _count_rejection(self, exc: ExchangeError) -> None:
        self.counters.rejected += 1
        code = exc.code if exc.code is not None else 0
        self.counters.rejections_by_code[code] = self.counters.rejections_by_code.get(code, 0) + 1
