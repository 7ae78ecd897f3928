from decimal import Decimal as D

import pytest

from binance_bot.model import OrderType, Side, SymbolRules


@pytest.fixture
def btc() -> SymbolRules:
    return SymbolRules(
        symbol="BTCUSDT",
        base_asset="BTC",
        quote_asset="USDT",
        min_price=D("0.01"),
        max_price=D("1000000"),
        tick_size=D("0.01"),
        min_qty=D("0.00001"),
        max_qty=D("9000"),
        step_size=D("0.00001"),
        min_notional=D("5"),
        max_notional=D("9000000"),
    )


def test_round_toward_safety(btc: SymbolRules) -> None:
    assert btc.round_qty(D("0.123456789")) == D("0.12345")
    assert btc.round_price_for(D("100.005"), Side.BUY) == D("100.00")
    assert btc.round_price_for(D("100.005"), Side.SELL) == D("100.01")


def test_violations_name_filter_and_miss(btc: SymbolRules) -> None:
    v = btc.violations(side=Side.BUY, order_type=OrderType.LIMIT, quantity=D("0.00001"), price=D("100.00"))
    assert [x.filter_name for x in v] == ["NOTIONAL"]
    assert "below minNotional 5 by 4.999" in v[0].detail
    assert v[0].binance_message == "Filter failure: NOTIONAL"


def test_valid_order_has_no_violation(btc: SymbolRules) -> None:
    assert (
        btc.violations(side=Side.SELL, order_type=OrderType.LIMIT, quantity=D("0.001"), price=D("50000"))
        == []
    )


def test_exchange_info_round_trip(btc: SymbolRules) -> None:
    assert SymbolRules.from_exchange_info(btc.to_exchange_info()) == btc
