"""A graceful stop keeps the account protected.

Stopping (SIGTERM, ``binance-bot stop``, the end of ``--duration``) must not cut an order's
life short: protection on the wire when the stop comes is let finish, and a long that is
still unprotected then gets its OCO before the bot exits (seen in the soak: four longs left
unprotected by a stop that cancelled their protection in flight).
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.unit.engine.harness import Harness, bars_from, flat_closes

from binance_bot.model import OrderType, Side

ENTRY_ROWS = [*flat_closes([100, 100, 100, 99, 98, 99, 101]), (101, 101.5, 100.5, 101.2)]


async def test_a_stop_lets_the_protection_on_the_wire_finish() -> None:
    h = Harness()
    await h.start()
    exchange = h.exchange
    place_oco = exchange.place_oco
    on_the_wire = asyncio.Event()

    async def slow_oco(request: Any) -> Any:
        on_the_wire.set()
        await asyncio.sleep(0.3)  # the exchange is slow to answer
        return await place_oco(request)

    exchange.place_oco = slow_oco  # type: ignore[method-assign]
    feeding = asyncio.create_task(h.feed(bars_from(ENTRY_ROWS)))
    await asyncio.wait_for(on_the_wire.wait(), 10.0)
    await h.kernel.shutdown()  # the stop arrives while the OCO is on the wire
    feeding.cancel()
    await asyncio.gather(feeding, return_exceptions=True)
    legs = [o for o in h.orders() if o.side is Side.SELL and o.is_open]
    assert sorted(o.type.value for o in legs) == [
        OrderType.LIMIT_MAKER.value,
        OrderType.STOP_LOSS_LIMIT.value,
    ]
    assert "TESTUSDT" in h.store.positions()
