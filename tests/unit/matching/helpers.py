"""Builders for the matching tests: a BTCUSDT-like symbol, hand-made bars, event filters."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal as D

from binance_bot.matching import (
    AccountEvent,
    MatchingEngine,
    MatchingSettings,
    NewOco,
    NewOrder,
    OcoLeg,
    OrderAccepted,
)
from binance_bot.matching.rejections import Rejection
from binance_bot.model import (
    AccountUpdate,
    Bar,
    ExecutionReport,
    Fill,
    ListStatus,
    OrderType,
    Side,
    SymbolRules,
    TimeInForce,
)

SYMBOL = "BTCUSDT"
ALICE = "alice"
MINUTE = 60_000

BTC = SymbolRules(
    symbol=SYMBOL,
    base_asset="BTC",
    quote_asset="USDT",
    min_price=D("0.01"),
    max_price=D("1000000"),
    tick_size=D("0.01"),
    min_qty=D("0.00001"),
    max_qty=D("9000"),
    step_size=D("0.00001"),
    market_max_qty=D("100"),
    min_notional=D("5"),
    max_notional=D("9000000"),
)

NO_SLIP = MatchingSettings(slippage_bps=D("0"))


def make_engine(
    settings: MatchingSettings | None = None,
    *,
    price: str = "100",
    balances: dict[str, str] | None = None,
    rules: SymbolRules = BTC,
) -> MatchingEngine:
    """An engine with one symbol whose market is open at ``price`` and one funded account."""
    engine = MatchingEngine(settings or NO_SLIP)
    engine.add_symbol(rules)
    engine.open_account(ALICE, balances if balances is not None else {"USDT": "100000", "BTC": "10"})
    engine.price_event(rules.symbol, D(price), 0)
    return engine


class Clock:
    """Bar open times one minute apart, so that tests need not count."""

    def __init__(self) -> None:
        self.t = MINUTE

    def bar(self, o: str, h: str, low: str, c: str, volume: str = "1000", symbol: str = SYMBOL) -> Bar:
        bar = Bar(symbol, "1m", self.t, self.t + MINUTE - 1, D(o), D(h), D(low), D(c), D(volume))
        self.t += MINUTE
        return bar


def limit(
    side: Side, qty: str, price: str, tif: TimeInForce = TimeInForce.GTC, cid: str | None = None
) -> NewOrder:
    return NewOrder(
        SYMBOL,
        side,
        OrderType.LIMIT,
        quantity=D(qty),
        price=D(price),
        time_in_force=tif,
        new_client_order_id=cid,
    )


def market(side: Side, qty: str | None = None, quote: str | None = None) -> NewOrder:
    return NewOrder(
        SYMBOL,
        side,
        OrderType.MARKET,
        quantity=D(qty) if qty is not None else None,
        quote_order_qty=D(quote) if quote is not None else None,
    )


def stop(
    kind: OrderType,
    side: Side,
    qty: str,
    stop_price: str,
    price: str | None = None,
    tif: TimeInForce | None = None,
) -> NewOrder:
    if kind.has_limit_price and tif is None:
        tif = TimeInForce.GTC
    return NewOrder(
        SYMBOL,
        side,
        kind,
        quantity=D(qty),
        stop_price=D(stop_price),
        price=D(price) if price is not None else None,
        time_in_force=tif,
    )


def sell_oco(qty: str, take_profit: str, stop_price: str, stop_limit: str | None = None) -> NewOco:
    below = (
        OcoLeg(OrderType.STOP_LOSS, stop_price=D(stop_price))
        if stop_limit is None
        else OcoLeg(
            OrderType.STOP_LOSS_LIMIT,
            price=D(stop_limit),
            stop_price=D(stop_price),
            time_in_force=TimeInForce.GTC,
        )
    )
    return NewOco(
        SYMBOL, Side.SELL, D(qty), above=OcoLeg(OrderType.LIMIT_MAKER, price=D(take_profit)), below=below
    )


def accepted(result: object) -> OrderAccepted:
    assert isinstance(result, OrderAccepted), result
    return result


def rejected(result: object) -> Rejection:
    assert isinstance(result, Rejection), result
    return result


def reports(events: Iterable[AccountEvent]) -> list[ExecutionReport]:
    return [e.event for e in events if isinstance(e.event, ExecutionReport)]


def fills(events: Iterable[AccountEvent]) -> list[Fill]:
    return [r.fill for r in reports(events) if r.fill is not None]


def list_statuses(events: Iterable[AccountEvent]) -> list[ListStatus]:
    return [e.event for e in events if isinstance(e.event, ListStatus)]


def account_updates(events: Iterable[AccountEvent]) -> list[AccountUpdate]:
    return [e.event for e in events if isinstance(e.event, AccountUpdate)]
