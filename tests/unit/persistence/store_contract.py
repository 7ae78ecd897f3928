"""The state store's contract, run against SQLite (unit) and a real PostgreSQL (integration)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

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
)
from binance_bot.persistence import SqlStateStore


def check_store_contract(store: SqlStateStore) -> None:
    store.start_run("r1", started_at=1, mode="paper", strategy="ema_trend", config={"x": D("1.5")})
    assert store.last_run()["status"] == "running"

    intent = OrderIntent(
        client_order_id="r1-BTCUSDT-1",
        run_id="r1",
        symbol="BTCUSDT",
        purpose="entry",
        side=Side.BUY,
        type=OrderType.MARKET,
        created_at=10,
        quantity=D("0.12345678"),
    )
    store.record_intent(intent)
    assert store.intents(state=IntentState.PENDING) == [replace(intent, updated_at=10)]
    store.update_intent(
        "r1-BTCUSDT-1", IntentState.REJECTED, now_ms=11, reject_code=-2010, reject_msg="no funds"
    )
    got = store.get_intent("r1-BTCUSDT-1")
    assert got is not None
    assert (got.state, got.reject_code, got.reject_msg, got.updated_at) == ("REJECTED", -2010, "no funds", 11)
    assert store.intents(state=IntentState.PENDING) == []

    order = Order(
        symbol="BTCUSDT",
        order_id=7,
        client_order_id="r1-BTCUSDT-2",
        side=Side.BUY,
        type=OrderType.LIMIT,
        status=OrderStatus.NEW,
        orig_qty=D("1.00000001"),
        price=D("65000.01"),
        time=5,
        update_time=5,
    )
    store.upsert_order(order)
    store.upsert_order(order.with_status(OrderStatus.FILLED, executed_qty=D("1.00000001"), update_time=6))
    [saved] = store.orders()
    assert saved.status is OrderStatus.FILLED
    assert saved.executed_qty == D("1.00000001")
    assert store.orders(open_only=True) == []

    fill = Fill(
        symbol="BTCUSDT",
        order_id=7,
        client_order_id="r1-BTCUSDT-2",
        trade_id=99,
        side=Side.BUY,
        price=D("65000.01"),
        qty=D("1.00000001"),
        commission=D("0.00100000"),
        commission_asset="BTC",
        time=6,
        is_maker=True,
    )
    assert store.record_fill(fill) is True
    assert store.record_fill(fill) is False  # a replayed event never doubles a fill
    assert store.fills(symbol="BTCUSDT") == [fill]
    assert store.last_fill_time("BTCUSDT") == 6

    pos = Position(
        symbol="BTCUSDT",
        qty=D("0.99900001"),
        entry_price=D("65000.01"),
        stop_price=D("61750.01"),
        take_profit_price=D("69875.02"),
        opened_at=6,
        cost=D("65000.0750000065"),
        entry_client_order_id="r1-BTCUSDT-2",
    )
    store.save_position(pos)
    assert store.positions() == {"BTCUSDT": pos}
    trade = ClosedTrade(
        symbol="BTCUSDT",
        entry_time=6,
        exit_time=9,
        entry_price=pos.entry_price,
        exit_price=D("69875.02"),
        qty=pos.qty,
        cost=pos.cost,
        proceeds=D("69735.1"),
        fees_quote=D("69.8"),
        exit_reason="take_profit",
    )
    store.close_position("r1", trade)
    assert store.positions() == {}
    assert store.trades(run_id="r1") == [trade]

    # a fill and its effect land together, once
    buy = replace(fill, trade_id=100, time=12)
    opened = replace(pos, opened_at=12)
    assert store.has_fill("BTCUSDT", 100) is False
    assert store.commit_fill(buy, position=opened) is True
    assert store.has_fill("BTCUSDT", 100) is True
    assert store.positions() == {"BTCUSDT": opened}
    assert store.commit_fill(buy, position=replace(opened, qty=D("9"))) is False
    assert store.positions() == {"BTCUSDT": opened}
    sell = replace(fill, trade_id=101, side=Side.SELL, time=13)
    assert store.commit_fill(sell, closed=("r1", replace(trade, entry_time=12, exit_time=13))) is True
    assert store.positions() == {}
    assert [t.exit_time for t in store.trades(run_id="r1")] == [9, 13]

    store.record_equity("r1", time=9, equity=D("10100.5"), free_quote=D("10100.5"), positions_value=D("0"))
    store.record_equity("r1", time=9, equity=D("10100.6"), free_quote=D("10100.6"), positions_value=D("0"))
    assert store.equity_curve("r1") == [(9, D("10100.6"))]

    assert store.get_setting("kill_switch") is None
    store.set_setting("kill_switch", "tripped")
    store.set_setting("kill_switch", "clear")
    assert store.get_setting("kill_switch") == "clear"

    store.maintenance()  # a checkpoint (SQLite) or nothing; never disturbs the data
    assert store.positions() == {}
    store.end_run("r1", ended_at=20, status="stopped")
    assert store.last_run()["status"] == "stopped"
