from __future__ import annotations

from decimal import Decimal as D

import pytest

from binance_bot.engine.portfolio import Portfolio
from binance_bot.model import Fill, Side, SymbolRules

RULES = SymbolRules(
    symbol="BTCUSDT",
    base_asset="BTC",
    quote_asset="USDT",
    tick_size=D("0.01"),
    step_size=D("0.00001"),
    min_qty=D("0.00001"),
    min_notional=D("5"),
)


def fill(side: Side, price: str, qty: str, commission: str, asset: str, trade_id: int, t: int = 0) -> Fill:
    return Fill(
        symbol="BTCUSDT",
        order_id=trade_id,
        client_order_id=f"r-BTCUSDT-{trade_id}",
        trade_id=trade_id,
        side=side,
        price=D(price),
        qty=D(qty),
        commission=D(commission),
        commission_asset=asset,
        time=t,
        is_maker=False,
    )


@pytest.fixture
def book() -> Portfolio:
    return Portfolio(quote_asset="USDT", rules={"BTCUSDT": RULES})


def test_round_trip_pnl_is_exact_whatever_the_fee_asset(book: Portfolio) -> None:
    pos = book.apply_buy(fill(Side.BUY, "50000", "0.10000", "0.00010000", "BTC", 1, t=1))
    assert pos.held == D("0.09990000")
    assert pos.cost == D("5000.00000")
    assert book.sellable("BTCUSDT") == D("0.09990")
    book.longs["BTCUSDT"].exit_reason = "take_profit"
    trade = book.apply_sell(fill(Side.SELL, "55000", "0.09990", "5.49450000", "USDT", 2, t=2))
    assert trade is not None
    assert trade.proceeds == D("5494.50000") - D("5.49450000")
    assert trade.pnl == trade.proceeds - D("5000")
    assert trade.exit_reason == "take_profit"
    assert trade.entry_price == D("50000")
    assert trade.exit_price == D("55000")
    assert "BTCUSDT" not in book.longs
    assert book.dust == {}


def test_dust_closes_the_position_and_is_tracked(book: Portfolio) -> None:
    book.apply_buy(fill(Side.BUY, "30000", "0.12345", "0.00012345", "BTC", 1))
    assert book.sellable("BTCUSDT") == D("0.12332")  # 0.12332655 held, step 0.00001
    trade = book.apply_sell(fill(Side.SELL, "30000", "0.12332", "3.6996", "USDT", 2))
    assert trade is not None
    assert book.dust["BTCUSDT"] == D("0.00000655")


def test_partial_sell_keeps_the_position(book: Portfolio) -> None:
    book.apply_buy(fill(Side.BUY, "100", "1.00000", "0.001", "BTC", 1))
    assert book.apply_sell(fill(Side.SELL, "110", "0.50000", "0.055", "USDT", 2)) is None
    pos = book.position("BTCUSDT")
    assert pos is not None
    assert pos.held == D("0.49900")
    assert pos.proceeds == D("54.945")


def test_quote_commission_on_a_buy_adds_to_cost(book: Portfolio) -> None:
    pos = book.apply_buy(fill(Side.BUY, "100", "1", "0.1", "USDT", 1))
    assert pos.held == D("1")
    assert pos.cost == D("100.1")
    assert pos.entry_price == D("100")


def test_market_value_and_abandon(book: Portfolio) -> None:
    book.apply_buy(fill(Side.BUY, "100", "1", "0", "BTC", 1))
    assert book.market_value({"BTCUSDT": D("120")}) == D("120")
    book.open("ETHUSDT", at_ms=0, entry_client_order_id="x")
    book.abandon("ETHUSDT")
    assert "ETHUSDT" not in book.longs
    book.abandon("BTCUSDT")  # a filled long is never abandoned
    assert "BTCUSDT" in book.longs
