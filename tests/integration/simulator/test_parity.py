"""One order sequence, three ways: over HTTP against the simulator, through the matching engine
directly, and through the in-process paper exchange. The fills must be identical."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from tests.integration.conftest import BALANCES, SimulatorHandle

from binance_bot.exchange.binance import wire
from binance_bot.matching import MatchingEngine, NewOrder, Rejection
from binance_bot.model import Fill, OcoRequest, OrderRequest, OrderType, Side, TimeInForce
from binance_bot.simulator.market import corner_times

BTC = "BTCUSDT"
MINUTE = 60_000
D = Decimal
Request = OrderRequest | OcoRequest


def _q(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"))


def plan(step: int, last: Decimal) -> list[Request]:
    """Orders placed at one bar boundary, priced from the last price so that some fill."""
    if step == 0:
        return [
            OrderRequest(
                BTC,
                Side.BUY,
                OrderType.LIMIT,
                "p0-limit-buy",
                D("0.05"),
                _q(last * D("0.9995")),
                time_in_force=TimeInForce.GTC,
            ),
            OrderRequest(BTC, Side.BUY, OrderType.MARKET, "p0-market", D("0.02")),
            OrderRequest(
                BTC,
                Side.SELL,
                OrderType.LIMIT,
                "p0-limit-sell",
                D("0.01"),
                _q(last * D("1.0005")),
                time_in_force=TimeInForce.GTC,
            ),
            OrderRequest(
                BTC,
                Side.SELL,
                OrderType.STOP_LOSS_LIMIT,
                "p0-stop",
                D("0.01"),
                _q(last * D("0.998")),
                _q(last * D("0.999")),
                TimeInForce.GTC,
            ),
            OcoRequest(
                BTC,
                Side.SELL,
                D("0.02"),
                "p0-oco",
                _q(last * D("1.001")),
                _q(last * D("0.9985")),
                None,
                "p0-oco-tp",
                "p0-oco-sl",
            ),
        ]
    return [
        OrderRequest(BTC, Side.SELL, OrderType.MARKET, "p1-quote", quote_order_qty=D("100")),
        OrderRequest(
            BTC,
            Side.BUY,
            OrderType.LIMIT,
            "p1-ioc",
            D("0.01"),
            _q(last * D("1.001")),
            time_in_force=TimeInForce.IOC,
        ),
        OrderRequest(
            BTC, Side.SELL, OrderType.TAKE_PROFIT, "p1-tp", D("0.01"), stop_price=_q(last * D("1.0008"))
        ),
    ]


STEPS = ((0, 4), (1, 8))  # (plan, bars to replay after it)


def _key(fill: Fill, *, with_time: bool = True) -> tuple[Any, ...]:
    base = (
        fill.order_id,
        fill.trade_id,
        fill.side,
        fill.price,
        fill.qty,
        fill.commission,
        fill.commission_asset,
        fill.is_maker,
    )
    return (*base, fill.time) if with_time else base


async def _simulator_run(sim: SimulatorHandle) -> tuple[list[Fill], dict[int, list[Request]], int]:
    """Play the plan over HTTP; returns the fills, the requests per step, and the first bar."""
    start = sim.market_time
    boundary = start + MINUTE - 1  # the start bar done, the next one not yet opened
    await sim.advance(to_ms=boundary)
    placed: dict[int, list[Request]] = {}
    for step, bars in STEPS:
        last = sim.core.market.last_price(BTC)
        assert last is not None
        requests = plan(step, last)
        placed[step] = requests
        for request in requests:
            if isinstance(request, OcoRequest):
                status, _, body = await sim.request(
                    "POST", "/api/v3/orderList/oco", wire.oco_params(request), signed=True
                )
            else:
                status, _, body = await sim.request(
                    "POST", "/api/v3/order", wire.order_params(request), signed=True
                )
            assert status == 200, body
        boundary += bars * MINUTE
        await sim.advance(to_ms=boundary)
    status, _, rows = await sim.request("GET", "/api/v3/myTrades", {"symbol": BTC}, signed=True)
    assert status == 200
    return [wire.parse_my_trade(r) for r in rows], placed, start


async def test_http_engine_and_paper_fill_alike(simulator: SimulatorHandle) -> None:
    fills, placed, start = await _simulator_run(simulator)
    assert len(fills) >= 5, "the plan must produce fills, or the comparison proves nothing"
    assert {f.is_maker for f in fills} == {True, False}

    # ---- the matching engine, fed the same bars along the same path at the same times
    rules = simulator.core.engine.rules(BTC)
    tape = simulator.core.market.feed(BTC).tape
    first = tape.first_index_at_or_after(start)
    engine = MatchingEngine(simulator.sim.config.matching)
    engine.add_symbol(rules)
    engine.open_account("direct", BALANCES)
    for index in range(first):
        engine.on_bar(tape.bar(index))

    def play(index: int) -> None:
        bar = tape.bar(index)
        engine.begin_bar(bar)
        for price, t in zip(engine.path(bar), corner_times(bar), strict=True):
            engine.price_event(BTC, price, t)
        engine.end_bar(BTC)

    play(first)
    index = first + 1
    for step, bars in STEPS:
        now = tape.bar(index).open_time - 1
        for request in placed[step]:
            if isinstance(request, OcoRequest):
                result = engine.submit_oco_request("direct", request, now)
            else:
                result = engine.submit("direct", NewOrder.from_request(request), now)
            assert not isinstance(result, Rejection), result
        for _ in range(bars):
            play(index)
            index += 1
    direct = engine.my_trades("direct", BTC)
    assert [_key(f) for f in direct] == [_key(f) for f in fills]

    # ---- the in-process paper exchange: whole bars, the same orders between them
    paper_module = pytest.importorskip("binance_bot.exchange.paper")
    paper = paper_module.PaperExchange([rules], BALANCES, settings=simulator.sim.config.matching)
    paper.load_history(tape.bar(i) for i in range(first + 1))
    index = first + 1
    for step, bars in STEPS:
        for request in placed[step]:
            if isinstance(request, OcoRequest):
                await paper.place_oco(request)
            else:
                await paper.place_order(request)
        for _ in range(bars):
            await paper.feed(tape.bar(index))
            index += 1
    paper_fills = await paper.my_trades(BTC)
    await paper.close()
    assert [_key(f, with_time=False) for f in paper_fills] == [_key(f, with_time=False) for f in fills]
