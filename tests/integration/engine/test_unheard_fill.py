"""A protective fill the bot has not heard of yet must not start an order storm.

When the stop-loss leg sells the position but its execution report is late (the user
stream is down, or busy reconciling), the next exit finds the coins gone: the exchange
answers -2010 insufficient balance. Retrying that exit at every bar sends a rejected order
per bar per symbol; with many symbols the request weight runs out, 429s follow, then an IP
ban (seen in the soak). The bot must instead ask the exchange what happened on the symbol.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.engine.harness import Harness, bars_from, flat_closes

from binance_bot.engine.kernel import TradingKernel
from binance_bot.model import ExecutionReport, ListStatus, OrderStatus, OrderType, Side

ENTRY_ROWS = [*flat_closes([100, 100, 100, 99, 98, 99, 101]), (101, 101.5, 100.5, 101.2)]
STOP_BAR = (101.2, 101.3, 90, 91)  # through the stop: the stop-loss leg fills on the exchange
AFTER = [(91, 91.5, 90.5, 91.2), (91.2, 91.6, 90.8, 91.0), (91.0, 91.4, 90.6, 90.9)]


async def test_an_exit_refused_for_a_sold_position_learns_the_fill_instead_of_retrying(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = Harness()
    await h.start()
    await h.feed(bars_from(ENTRY_ROWS))
    assert h.kernel.portfolio.position("TESTUSDT") is not None

    handle = TradingKernel.handle_user_event

    async def deaf(kernel: TradingKernel, event: object) -> None:
        if not isinstance(event, ExecutionReport | ListStatus):
            await handle(kernel, event)

    monkeypatch.setattr(TradingKernel, "handle_user_event", deaf)
    rows = [*ENTRY_ROWS, STOP_BAR]
    await h.feed(bars_from(rows)[-1:])
    monkeypatch.setattr(TradingKernel, "handle_user_event", handle)
    start = bars_from(rows)[-1].open_time + 60_000
    await h.feed(bars_from(AFTER, start=start))

    sells: list[Any] = [o for o in h.orders() if o.side is Side.SELL]
    stop_leg = next(o for o in sells if o.type is OrderType.STOP_LOSS_LIMIT)
    assert stop_leg.status is OrderStatus.FILLED
    refused = [r for r in h.kernel.rejections if r["purpose"] in ("exit", "flatten")]
    assert len(refused) <= 1, refused  # one refusal, then the fill is known: no retry storm
    assert h.kernel.portfolio.position("TESTUSDT") is None
    [trade] = h.kernel.portfolio.closed
    assert trade.exit_reason == "stop_loss"
    assert "TESTUSDT" not in h.store.positions()
    assert {f.order_id for f in h.store.fills()} >= {stop_leg.order_id}
    await h.stop()


async def test_an_order_recovered_without_its_fills_gets_them_before_the_next_decision() -> None:
    """An answer lost and recovered by a lookup is a GET-order snapshot: executed, no fills.
    The fills are fetched at once, so the entry's position exists (and gets its protection)
    before the next bar could decide to buy again."""
    from dataclasses import replace

    h = Harness()
    await h.start()
    exchange = h.exchange
    place = exchange.place_order
    recovered: list[str] = []

    async def place_then_lose_the_answer(request: Any) -> Any:
        await place(request)
        if request.side is Side.BUY:
            await exchange.feed(bars_from(ENTRY_ROWS)[-1])  # the next bar opens: it executes
        recovered.append(request.client_order_id)
        found = await exchange.get_order(request.symbol, client_order_id=request.client_order_id)
        return replace(found, fills=())  # what a lookup returns: no fills

    handle = TradingKernel.handle_user_event

    async def deaf(kernel: TradingKernel, event: object) -> None:
        if not isinstance(event, ExecutionReport | ListStatus):
            await handle(kernel, event)

    exchange.place_order = place_then_lose_the_answer  # type: ignore[method-assign]
    TradingKernel.handle_user_event = deaf  # type: ignore[method-assign]
    try:
        await h.feed(bars_from(ENTRY_ROWS)[:-1])  # the last one is fed by the placement above
        await h.settle()
    finally:
        TradingKernel.handle_user_event = handle  # type: ignore[method-assign]
    assert recovered
    entry = h.orders()[0]
    assert (entry.side, entry.status) == (Side.BUY, OrderStatus.FILLED)
    pos = h.kernel.portfolio.position("TESTUSDT")
    assert pos is not None and pos.bought == entry.executed_qty
    assert [o.type for o in h.orders()[1:]] == [OrderType.STOP_LOSS_LIMIT, OrderType.LIMIT_MAKER]
    await h.stop()
