"""Making local state agree with the exchange: at start-up and after every stream gap.

At start-up the store says what we believed when we stopped (open longs, intents, orders);
the exchange says what is true (open orders, trades, balances). Reconciliation:

1. resolves intents written but never confirmed: the order is looked up by its client id;
   found means it was sent (adopted), "no such order" means it never arrived (NOT_SENT);
2. replays every trade of ours the exchange made while we were down (fills are keyed by
   trade id, so nothing is counted twice), which opens or closes positions as they really are;
3. re-tracks our open orders, so protection that is still on the exchange is recognised;
4. re-places missing protection for every open long;
5. compares each long with the exchange's base balance; a long the balance cannot cover is
   a mismatch it cannot explain: start-up is refused (``--force`` overrides, loudly, by
   trusting the exchange).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from binance_bot.engine.portfolio import OpenLong
from binance_bot.errors import StateMismatch, UnknownOrder
from binance_bot.model import Fill, IntentState, Order
from binance_bot.model.numbers import from_ticks, to_ticks
from binance_bot.risk.levels import ratio, stop_limit_ticks

if TYPE_CHECKING:
    from binance_bot.engine.kernel import TradingKernel

log = logging.getLogger(__name__)


def _stop_limit(k: TradingKernel, symbol: str, stop: Decimal) -> Decimal:
    rules = k.rules[symbol]
    if stop <= 0 or rules.tick_size <= 0:
        return Decimal(0)
    ticks = stop_limit_ticks(to_ticks(stop, rules.tick_size), *ratio(k.config.trading.stop_limit_buffer))
    return from_ticks(ticks, rules.tick_size)


async def reconcile(k: TradingKernel, *, force: bool = False) -> None:
    """Start-up reconciliation (see the module docstring)."""
    for symbol, pos in k.store.positions().items():
        if symbol in k.rules:
            k.portfolio.longs[symbol] = OpenLong.from_position(
                pos, stop_limit_price=_stop_limit(k, symbol, pos.stop_price)
            )
    adopted = 0
    for intent in k.store.intents(state=IntentState.PENDING):
        if intent.symbol not in k.rules:
            continue
        try:
            order = await k.exchange.get_order(intent.symbol, client_order_id=intent.client_order_id)
        except UnknownOrder:
            k.store.update_intent(intent.client_order_id, IntentState.NOT_SENT, now_ms=k.clock.now_ms())
            log.info("intent %s never reached the exchange", intent.client_order_id)
            continue
        k.store.update_intent(intent.client_order_id, IntentState.SENT, now_ms=k.clock.now_ms())
        adopted += 1
        if intent.purpose == "entry" and order.is_open and intent.symbol in k.workers:
            k.workers[intent.symbol].state.entry_client_id = intent.client_order_id
        await _track_quietly(k, order)
    await catch_up(k, initial=True)
    _check_balances(k, force=force)
    if adopted:
        log.warning("reconciliation adopted %d order(s) sent before the restart", adopted)


async def _track_quietly(k: TradingKernel, order: Order) -> None:
    k.orders.orders_by_client_id[order.client_order_id] = order
    k.store.upsert_order(order)


async def catch_up(k: TradingKernel, *, initial: bool = False) -> None:
    """Fetch open orders, balances and missed trades; then make sure every long is protected."""
    await k.refresh_balances()
    open_orders = await k.exchange.open_orders()
    ours = {o.client_order_id for o in open_orders if k.store.get_intent(o.client_order_id) is not None}
    for order in open_orders:
        if order.client_order_id in ours:
            await _track_quietly(k, order)
    # orders we believed open but the exchange no longer lists: fetch their final state
    for coid, order in list(k.orders.orders_by_client_id.items()):
        if order.is_open and coid not in ours and order.symbol in k.rules:
            try:
                final = await k.exchange.get_order(order.symbol, client_order_id=coid)
            except UnknownOrder:
                continue
            await _track_quietly(k, final)
    for symbol in k.rules:
        await replay_trades(k, symbol)
    for symbol, worker in k.workers.items():
        worker.adopt_protection()
        pos = k.portfolio.position(symbol)
        if pos is not None and pos.held > 0 and not worker.is_protected() and not initial_skip(k, worker):
            log.warning("%s: long without protection on the exchange: placing it", symbol)
            await worker.protect()
    # entry orders finished while we were away: move their positions on to protection
    for worker in k.workers.values():
        coid = worker.state.entry_client_id
        order = k.orders.orders_by_client_id.get(coid) if coid else None
        if order is not None and order.status.is_final:
            await worker.on_order(order)


def initial_skip(k: TradingKernel, worker: object) -> bool:
    """Protection waits while an entry or exit of the symbol is still in flight."""
    state = getattr(worker, "state", None)
    return bool(state and (state.entry_client_id or state.exit_client_id))


def _search_start(k: TradingKernel, symbol: str) -> int | None:
    """Where the search for fills made while away starts, in the exchange's own time.

    After our last stored fill (or the open position's first) nothing older can be new.
    With neither, the oldest order of ours on the symbol bounds it: a first entry that
    filled just before a crash has its order recorded but not its fill. Our clock is never
    used: the exchange dates trades by its clock (a simulator's market may even replay the
    past), and a fill made a second before the restart would be out of reach.
    """
    since = k.store.last_fill_time(symbol)
    pos = k.portfolio.position(symbol)
    starts = [t for t in (since, pos.opened_at if pos else None) if t is not None]
    if not starts:
        ours = [o.time for o in k.store.orders(symbol=symbol)]
        ours += [o.time for o in k.orders.orders_by_client_id.values() if o.symbol == symbol]
        starts = [min(ours)] if ours else []
    return min(starts) if starts else None


async def replay_trades(k: TradingKernel, symbol: str) -> None:
    """Account every trade of ours on ``symbol`` that the store does not have yet."""
    start = _search_start(k, symbol)
    if start is None:
        return  # no order of ours ever reached the exchange on this symbol
    fills = await k.exchange.my_trades(symbol, start_time=start, limit=1000)
    cache: dict[int, Order | None] = {}
    for fill in fills:
        order = await _order_of(k, symbol, fill, cache)
        if order is None:
            continue  # not ours (a manual trade, or another program's)
        if not fill.client_order_id:
            fill = Fill(**{**_fill_fields(fill), "client_order_id": order.client_order_id})
        if not k.store.has_fill(symbol, fill.trade_id):
            log.warning(
                "%s: adopting a fill made while away: %s %s @ %s",
                symbol,
                fill.side.value,
                fill.qty,
                fill.price,
            )
            await k.orders.fill(fill, order)


def _fill_fields(fill: Fill) -> dict[str, object]:
    return {name: getattr(fill, name) for name in fill.__slots__}


async def _order_of(
    k: TradingKernel, symbol: str, fill: Fill, cache: dict[int, Order | None]
) -> Order | None:
    if fill.order_id in cache:
        return cache[fill.order_id]
    order = next(
        (
            o
            for o in k.orders.orders_by_client_id.values()
            if o.symbol == symbol and o.order_id == fill.order_id
        ),
        None,
    )
    if order is None:
        try:
            order = await k.exchange.get_order(symbol, order_id=fill.order_id)
        except UnknownOrder:
            order = None
    if order is not None and k.store.get_intent(order.client_order_id) is None:
        order = None
    cache[fill.order_id] = order
    if order is not None:
        await _track_quietly(k, order)
    return order


def _check_balances(k: TradingKernel, *, force: bool) -> None:
    problems = []
    for symbol, pos in k.portfolio.longs.items():
        base = k.rules[symbol].base_asset
        balance = k.balances.get(base)
        have = balance.total if balance else Decimal(0)
        if have + k.rules[symbol].step_size < pos.held:
            problems.append(f"{symbol}: we hold {pos.held} {base} by our records, the exchange shows {have}")
    if not problems:
        return
    text = "; ".join(problems)
    if not force:
        raise StateMismatch(
            f"state does not match the exchange: {text}. Check the account, then start with --force "
            "to trust the exchange's balances"
        )
    log.error("FORCED START despite a mismatch: %s; trusting the exchange", text)
    for symbol, pos in list(k.portfolio.longs.items()):
        base = k.rules[symbol].base_asset
        balance = k.balances.get(base)
        have = balance.total if balance else Decimal(0)
        if have < pos.held:
            if k.portfolio.is_dust(symbol, have):
                del k.portfolio.longs[symbol]
                k.store.delete_position(symbol)
            else:
                pos.held = have
                k.store.save_position(pos.to_position())
