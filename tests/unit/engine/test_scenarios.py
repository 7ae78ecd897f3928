"""Candle tables in, exact orders out: the engine's lifecycle per exit kind.

The strategy is ``sma_cross`` (fast 2, slow 3) on 1m bars of a test symbol (tick 0.01, step
0.00001), 10,000 USDT, the default risk settings (oper_equity 10,000 capped at 25 % of the free
quote; stop 5 %; take profit 1.5x the stop distance; stop-limit 0.5 % below the stop) and the
fill model's defaults (0.1 % fees, 5 bps slippage). The closes 100, 100, 100, 99, 98, 99, 101
make the fast SMA cross above the slow one at the 7th bar (index 6), so the entry goes out at
that close and fills at the next open (bar 7, opening at 101).

Hand computation of that entry, used by every scenario:
* quantity = floor_step(2500 / 101) = 24.75247; fill = ceil_tick(101 x 1.0005) = 101.06;
  commission 0.02475247 TEST, held 24.72771753; cost 2501.4846182 USDT;
* stop = ceil_tick(101.06 x 0.95) = 96.01; take profit = 101.06 + ceil_tick(1.5 x 5.05) = 108.64;
  stop-limit = floor_tick(96.01 x 0.995) = 95.52; OCO quantity floor_step(held) = 24.72771.
"""

from __future__ import annotations

from decimal import Decimal as D

from tests.unit.engine.harness import Harness, bars_from, flat_closes

from binance_bot.model import OrderStatus, OrderType, Side

ENTRY_ROWS = [*flat_closes([100, 100, 100, 99, 98, 99, 101]), (101, 101.5, 100.5, 101.2)]
HELD = D("24.72771753")
COST = D("2501.4846182")
OCO_QTY = D("24.72771")


async def run(rows: list[tuple[float, float, float, float]], **settings) -> Harness:
    h = Harness(**settings)
    await h.start()
    await h.feed(bars_from(rows))
    return h


def summary(h: Harness) -> list[tuple]:
    return [
        (o.side.value, o.type.value, o.status.value, o.orig_qty, o.price, o.stop_price, o.executed_qty)
        for o in h.orders()
    ]


ENTRY = ("BUY", "MARKET", "FILLED", D("24.75247"), D(0), D(0), D("24.75247"))


async def test_entry_is_protected_by_an_oco_at_the_computed_levels() -> None:
    h = await run(ENTRY_ROWS)
    assert summary(h) == [
        ENTRY,
        ("SELL", "STOP_LOSS_LIMIT", "NEW", OCO_QTY, D("95.52"), D("96.01"), D(0)),
        ("SELL", "LIMIT_MAKER", "NEW", OCO_QTY, D("108.64"), D(0), D(0)),
    ]
    pos = h.kernel.portfolio.position("TESTUSDT")
    assert (pos.held, pos.cost, pos.entry_price) == (HELD, COST, D("101.06"))
    assert h.store.positions()["TESTUSDT"].stop_price == D("96.01")
    await h.stop()


async def test_take_profit_exit() -> None:
    h = await run([*ENTRY_ROWS, (101.2, 110, 101, 109)])
    assert summary(h)[1:] == [
        ("SELL", "STOP_LOSS_LIMIT", "EXPIRED", OCO_QTY, D("95.52"), D("96.01"), D(0)),
        ("SELL", "LIMIT_MAKER", "FILLED", OCO_QTY, D("108.64"), D(0), OCO_QTY),
    ]
    [trade] = h.kernel.portfolio.closed
    proceeds = OCO_QTY * D("108.64") * D("0.999")  # maker fee in USDT, exact to 8 places here
    assert trade.exit_reason == "take_profit"
    assert trade.proceeds == proceeds.quantize(D("0.00000001"))
    assert trade.pnl == trade.proceeds - COST
    assert h.kernel.portfolio.dust == {"TESTUSDT": D("0.00000753")}
    assert h.store.trades()[0] == trade
    await h.stop()


async def test_stop_loss_exit_fills_at_the_slipped_trigger() -> None:
    h = await run([*ENTRY_ROWS, (101.2, 101.3, 90, 91)])
    sl = h.orders()[1]
    assert (sl.type, sl.status, sl.executed_qty) == (OrderType.STOP_LOSS_LIMIT, OrderStatus.FILLED, OCO_QTY)
    [trade] = h.kernel.portfolio.closed
    assert trade.exit_reason == "stop_loss"
    assert trade.exit_price == D("95.96")  # floor_tick(96.01 x 0.9995), above the 95.52 limit
    assert trade.pnl < 0
    await h.stop()


async def test_gap_through_the_stop_limit_sells_at_market_next_bar() -> None:
    h = await run([*ENTRY_ROWS, (94, 94.5, 93, 93.5), (93.5, 94, 93, 93.8)])
    assert summary(h)[1:] == [
        ("SELL", "STOP_LOSS_LIMIT", "CANCELED", OCO_QTY, D("95.52"), D("96.01"), D(0)),
        ("SELL", "LIMIT_MAKER", "EXPIRED", OCO_QTY, D("108.64"), D(0), D(0)),
        ("SELL", "MARKET", "FILLED", OCO_QTY, D(0), D(0), OCO_QTY),
    ]
    [trade] = h.kernel.portfolio.closed
    assert trade.exit_reason == "stop_loss"
    assert trade.exit_price == D("93.45")  # the next open 93.5, slipped 5 bps down
    await h.stop()


async def test_signal_exit_cancels_the_oco_then_sells() -> None:
    # closes 101.2, 101.8, 100: fast SMA(2) 100.9 falls below slow SMA(3) 101.0 at the 100 close,
    # inside the stop/take-profit band; the sell is queued and fills at the next open (100)
    rows = [*ENTRY_ROWS, (101.2, 102, 101, 101.8), (101.8, 102, 99.9, 100)]
    h = await run(rows)
    assert [(o.type.value, o.status.value) for o in h.orders()] == [
        ("MARKET", "FILLED"),
        ("STOP_LOSS_LIMIT", "CANCELED"),
        ("LIMIT_MAKER", "CANCELED"),
        ("MARKET", "NEW"),
    ]
    assert h.kernel.portfolio.position("TESTUSDT") is not None
    await h.feed(bars_from([(100, 100.2, 99.4, 99.5)], start=bars_from(rows)[-1].open_time + 60_000))
    [trade] = h.kernel.portfolio.closed
    assert trade.exit_reason == "signal"
    assert trade.exit_price == D("99.95")  # floor_tick(100 x 0.9995)
    await h.stop()


async def test_kill_switch_on_drawdown_flattens_and_blocks_entries() -> None:
    # 100.9 keeps the fast SMA above the slow one (no signal exit) but marks the long
    # 0.07 % below the equity peak of the entry bar's close: past a 0.05 % drawdown limit
    rows = [*ENTRY_ROWS, (101.2, 101.3, 100.8, 100.9), (100.9, 101, 100.7, 100.8)]
    h = await run(rows, risk={"max_drawdown_pct": "0.05", "daily_loss_limit_pct": "50"})
    k = h.kernel
    assert k.killed
    assert k.risk.kill_switch.reason.startswith("drawdown")
    assert h.store.get_setting("kill_switch").startswith("drawdown")
    [trade] = k.portfolio.closed
    assert trade.exit_reason == "kill"
    assert all(not o.is_open for o in h.orders())
    # a fresh cross later is refused while the switch is tripped
    later = bars_from(
        flat_closes([99.1, 98, 97, 96, 97, 99, 101, 101]), start=bars_from(rows)[-1].open_time + 60_000
    )
    await h.feed(later)
    assert len([o for o in h.orders() if o.side is Side.BUY]) == 1
    assert k.metrics.entries_refused["kill switch tripped"] >= 1
    await h.stop()


async def test_cooldown_after_a_stop_out() -> None:
    after_stop = [*ENTRY_ROWS, (101.2, 101.3, 90, 91)]
    # a new cross two bars after the stop: refused during the 3-bar cool-down
    rows = [*after_stop, (91, 91.2, 88, 88.5), (88.5, 95.5, 88.4, 95)]
    h = await run(rows)
    assert len([o for o in h.orders() if o.side is Side.BUY]) == 1
    # the stop filled during bar 8 (whole-bar replay stamps its close, ...739999); 3 bars on
    refused = dict(h.kernel.metrics.entries_refused)
    assert refused == {"cooling down after a stop-out until 1704067919999": 1}
    await h.stop()


async def test_restart_adopts_the_open_position_and_its_protection() -> None:
    h = await run(ENTRY_ROWS)
    store, exchange = h.store, h.exchange
    before = [o.client_order_id for o in h.orders()]
    await h.crash()  # the process dies: a new kernel starts on the same state and exchange
    h2 = Harness(store=store, exchange=exchange)
    await h2.start()
    pos = h2.kernel.portfolio.position("TESTUSDT")
    assert pos is not None
    assert pos.held == HELD
    assert h2.kernel.workers["TESTUSDT"].is_protected()
    assert pos.protection_list_client_id.endswith("-2-oco")
    assert [o.client_order_id for o in h2.orders()] == before  # nothing re-sent
    await h2.feed(bars_from([(101.2, 110, 101, 109)], start=bars_from(ENTRY_ROWS)[-1].open_time + 60_000))
    [trade] = h2.kernel.portfolio.closed
    assert trade.exit_reason == "take_profit"
    assert trade.cost == COST
    await h2.stop()


async def test_an_unexpected_error_in_one_bar_does_not_end_the_worker(monkeypatch) -> None:
    h = Harness()
    await h.start()
    worker = h.kernel.workers["TESTUSDT"]
    calls = {"n": 0}
    original = worker.features.update

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return original(*args)

    monkeypatch.setattr(worker.features, "update", flaky)
    await h.feed(bars_from(ENTRY_ROWS))
    assert h.kernel.metrics.worker_errors == 1
    assert h.kernel.metrics.bars_processed == len(ENTRY_ROWS)  # the worker went on after the error
    await h.stop()
