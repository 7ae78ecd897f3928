from __future__ import annotations

from decimal import Decimal as D

import numba
import pytest
from hypothesis import given
from hypothesis import strategies as st

from binance_bot.model import OrderType, SymbolRules
from binance_bot.risk import protection_levels, size_entry, stop_limit_ticks, stop_ticks, take_profit_ticks

BTC = SymbolRules(
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


def test_levels_follow_the_design_documents() -> None:
    # 5% stop, take profit at 1.5x the stop distance
    levels = protection_levels(
        D("100.00"), BTC, stop_loss_margin=D("0.05"), take_profit_ratio=D("1.5"), stop_limit_buffer=D("0.005")
    )
    assert levels.stop == D("95.00")
    assert levels.take_profit == D("107.50")
    assert levels.stop_limit == D("94.52")  # floor(95 * 0.995 = 94.525)


def test_levels_round_toward_safety() -> None:
    levels = protection_levels(
        D("100.03"), BTC, stop_loss_margin=D("0.05"), take_profit_ratio=D("1.5"), stop_limit_buffer=D("0")
    )
    # 100.03 * 0.95 = 95.0285 -> stop rounds up to 95.03 (loss never above 5%)
    assert levels.stop == D("95.03")
    # distance 5.00, x1.5 = 7.50 -> 107.53
    assert levels.take_profit == D("107.53")
    assert (D("100.03") - levels.stop) / D("100.03") <= D("0.05")


@given(
    entry=st.integers(1, 10**10),
    margin=st.decimals(D("0.0001"), D("0.9999"), places=4),
    tp=st.decimals(D("0.1"), D("10"), places=2),
    buf=st.decimals(D("0"), D("0.1"), places=4),
)
def test_tick_rules_compile_with_numba_and_agree(entry: int, margin: D, tp: D, buf: D) -> None:
    m, r, b = margin.as_integer_ratio(), tp.as_integer_ratio(), buf.as_integer_ratio()
    s = stop_ticks(entry, *m)
    t = take_profit_ticks(entry, s, *r)
    sl = stop_limit_ticks(s, *b)
    assert s == _stop_jit(entry, *m)
    assert t == _tp_jit(entry, s, *r)
    assert sl == _sl_jit(s, *b)
    assert s <= entry
    assert t >= entry
    assert sl <= s


_stop_jit = numba.njit(stop_ticks)
_tp_jit = numba.njit(take_profit_ticks)
_sl_jit = numba.njit(stop_limit_ticks)


def test_sizing_caps_by_oper_equity_and_free_fraction() -> None:
    d = size_entry(
        rules=BTC,
        price=D("50000"),
        oper_equity=D("10000"),
        free_quote=D("20000"),
        max_fraction_of_free=D("0.25"),
    )
    assert d.budget == D("5000")
    assert d.qty == D("0.1")
    d = size_entry(
        rules=BTC,
        price=D("30000"),
        oper_equity=D("1000"),
        free_quote=D("100000"),
        max_fraction_of_free=D("0.5"),
    )
    assert d.qty == D("0.03333")  # rounded down to the step


def test_sizing_refuses_below_min_notional_with_reason() -> None:
    d = size_entry(
        rules=BTC, price=D("50000"), oper_equity=D("4"), free_quote=D("1000"), max_fraction_of_free=D("1")
    )
    assert not d.ok
    assert d.reason.startswith("NOTIONAL: notional") and "below minNotional 5" in d.reason


def test_sizing_without_funds() -> None:
    d = size_entry(
        rules=BTC, price=D("1"), oper_equity=D("10"), free_quote=D("0"), max_fraction_of_free=D("1")
    )
    assert not d.ok
    assert "no free USDT" in d.reason


@pytest.mark.parametrize("order_type", [OrderType.MARKET, OrderType.LIMIT])
def test_sizing_never_exceeds_budget(order_type: OrderType) -> None:
    for price in (D("0.37"), D("123.45"), D("99999.99")):
        d = size_entry(
            rules=BTC,
            price=price,
            oper_equity=D("777"),
            free_quote=D("5000"),
            max_fraction_of_free=D("1"),
            order_type=order_type,
        )
        assert d.qty * price <= D("777")
