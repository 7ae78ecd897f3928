"""The integer rules (docs/fill-model.md R2-R13), and their numba-compiled twins.

The backtester compiles these very functions with ``numba.njit``; the parity tests prove the
compiled versions give the engine's answers on arbitrary inputs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numba
import pytest
from hypothesis import given
from hypothesis import strategies as st

from binance_bot.matching import rules

# ------------------------------------------------------------------ R2/R3 paths


def test_R2_rising_bar_visits_high_first() -> None:
    assert rules.bar_path(100, 110, 95, 105) == (100, 110, 95, 105)


def test_R2_flat_bar_counts_as_rising() -> None:
    assert rules.bar_path(100, 110, 95, 100) == (100, 110, 95, 100)


def test_R2_falling_bar_visits_low_first() -> None:
    assert rules.bar_path(100, 110, 95, 99) == (100, 95, 110, 99)


def test_R3_worst_case_sell_sees_low_first_even_on_a_rising_bar() -> None:
    assert rules.order_path(100, 110, 95, 105, True, False) == (100, 95, 110, 105)
    assert rules.order_path(100, 110, 95, 99, True, True) == (100, 110, 95, 99)


def test_R3_without_worst_case_every_side_sees_the_bar_path() -> None:
    for is_buy in (True, False):
        assert rules.order_path(100, 110, 95, 99, False, is_buy) == rules.bar_path(100, 110, 95, 99)


# ------------------------------------------------------------------ R4 reaching a level


def test_R4_gap_at_the_open_happens_at_the_open() -> None:
    # a sell stop at 100 (price <= 100) when the bar opens at 97
    assert rules.first_hit(97, 99, 95, 96, 100, False, False) == (0, 97)
    assert rules.move_hit(103, 97, 100, False, False, True) == (True, 97)


def test_R4_continuous_move_meets_the_level_itself() -> None:
    assert rules.first_hit(103, 105, 99, 101, 100, False, False) == (2, 100)
    assert rules.move_hit(105, 99, 100, False, False, False) == (True, 100)


def test_R4_strict_condition_is_met_one_tick_beyond() -> None:
    assert rules.move_hit(105, 99, 100, False, True, False) == (True, 99)
    assert rules.move_hit(95, 101, 100, True, True, False) == (True, 101)
    # reaching the level exactly is not trading through it
    assert rules.move_hit(105, 100, 100, False, True, False) == (False, 100)
    assert rules.first_hit(105, 106, 100, 102, 100, False, True) == (-1, 0)


def test_R4_jump_meets_only_at_its_end() -> None:
    assert rules.move_hit(105, 101, 100, False, False, True) == (False, 101)


def test_R4_already_met_at_start_is_met_at_start() -> None:
    assert rules.move_hit(99, 95, 100, False, False, False) == (True, 99)


def test_R4_first_hit_uses_the_first_segment_that_reaches_the_level() -> None:
    # rising bar O=100 H=110 L=90 C=105: a buy-side condition price <= 95 is met on the way down
    assert rules.first_hit(100, 110, 90, 105, 95, False, False) == (2, 95)
    assert rules.first_hit(100, 110, 90, 105, 108, True, False) == (1, 108)
    assert rules.first_hit(100, 110, 90, 105, 120, True, False) == (-1, 0)


# ------------------------------------------------------------------ R5/R6/R10 conditions


def test_R5_resting_limit_waits_for_trade_through_by_default() -> None:
    assert rules.resting_limit_condition(True, False) == (False, True)
    assert rules.resting_limit_condition(False, False) == (True, True)


def test_R5_touch_fills_setting_fills_on_reaching_the_limit() -> None:
    assert rules.resting_limit_condition(True, True) == (False, False)


def test_R6_marketable_at_or_better_than_the_limit() -> None:
    assert rules.marketable(True, 100, 100)
    assert rules.marketable(True, 100, 99)
    assert not rules.marketable(True, 100, 101)
    assert rules.marketable(False, 100, 100)
    assert not rules.marketable(False, 100, 99)


def test_R10_binance_trigger_directions() -> None:
    assert rules.stop_condition(True, False) == (True, False)  # STOP_LOSS BUY: rises to stop
    assert rules.stop_condition(False, True) == (True, False)  # TAKE_PROFIT SELL: rises to stop
    assert rules.stop_condition(False, False) == (False, False)  # STOP_LOSS SELL: falls to stop
    assert rules.stop_condition(True, True) == (False, False)  # TAKE_PROFIT BUY: falls to stop


def test_R4_meets_matches_the_four_conditions() -> None:
    assert rules.meets(100, 100, True, False)
    assert not rules.meets(100, 100, True, True)
    assert rules.meets(100, 100, False, False)
    assert rules.meets(99, 100, False, True)


# ------------------------------------------------------------------ R8 slippage


def test_R8_slippage_rounds_against_the_trader() -> None:
    # 5 bps of 10001 ticks is 5.0005 ticks: a buyer pays 6 more, a seller gets 6 less
    assert rules.slipped_price(10001, 500, True) == 10007
    assert rules.slipped_price(10001, 500, False) == 9995


def test_R8_exact_slippage_is_not_rounded_further() -> None:
    assert rules.slipped_price(100000, 500, True) == 100050
    assert rules.slipped_price(100000, 500, False) == 99950


def test_R8_any_positive_slippage_costs_at_least_one_tick() -> None:
    assert rules.slipped_price(10, 1, True) == 11
    assert rules.slipped_price(10, 1, False) == 9
    assert rules.slipped_price(10, 0, True) == 10


def test_R8_a_sell_never_slips_below_one_tick() -> None:
    assert rules.slipped_price(1, 500_000, False) == 1


def test_R8_no_overflow_for_large_prices() -> None:
    big = 9_000_000_000_000
    assert rules.slipped_price(big, 999_999, True) == big + (big * 999_999 + 999_999) // 1_000_000


def test_R6_taker_limit_never_worse_than_limit() -> None:
    assert rules.taker_limit_price(10000, 10002, 500, True) == 10002
    assert rules.taker_limit_price(10000, 10010, 500, True) == 10005
    assert rules.taker_limit_price(10000, 9998, 500, False) == 9998
    assert rules.taker_limit_price(10000, 9990, 500, False) == 9995


def test_R12_stop_limit_takes_when_marketable_at_the_trigger() -> None:
    assert rules.stop_limit_on_trigger(10000, 9990, 500, False) == (True, 9995)
    assert rules.stop_limit_on_trigger(10000, 9998, 500, False) == (True, 9998)
    assert rules.stop_limit_on_trigger(9980, 9990, 500, False) == (False, 9990)
    assert rules.stop_limit_on_trigger(10020, 10010, 500, True) == (False, 10010)


# ------------------------------------------------------------------ R13 participation


def test_R13_participation_allowance_floors_and_subtracts_use() -> None:
    assert rules.participation_allowance(1005, 100_000, 0) == 100
    assert rules.participation_allowance(1005, 100_000, 60) == 40
    assert rules.participation_allowance(1005, 100_000, 150) == 0
    assert rules.participation_allowance(10**15 + 7, 1_000_000, 0) == 10**15 + 7


# ------------------------------------------------------------------ numba parity

RULE_FUNCTIONS: list[Callable[..., Any]] = [
    f for _, f in inspect.getmembers(rules, inspect.isfunction) if f.__module__ == rules.__name__
]

_price = st.integers(min_value=1, max_value=10**12)
_bool = st.booleans()
_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "open_": _price,
    "high": _price,
    "low": _price,
    "close": _price,
    "p0": _price,
    "p1": _price,
    "p2": _price,
    "p3": _price,
    "start": _price,
    "end": _price,
    "level": _price,
    "limit": _price,
    "price": _price,
    "trigger": _price,
    "slippage": st.integers(min_value=0, max_value=999_999),
    "volume_steps": st.integers(min_value=0, max_value=10**17),
    "cap": st.integers(min_value=1, max_value=1_000_000),
    "used_steps": st.integers(min_value=0, max_value=10**17),
}


def _arguments(fn: Callable[..., Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    names = list(inspect.signature(fn).parameters)
    return st.tuples(*(_STRATEGIES.get(name, _bool) for name in names))


def test_every_rule_function_is_covered_by_the_parity_test() -> None:
    names = {f.__name__ for f in RULE_FUNCTIONS}
    assert names >= {
        "bar_path",
        "order_path",
        "meets",
        "move_hit",
        "first_hit",
        "resting_limit_condition",
        "stop_condition",
        "marketable",
        "slipped_price",
        "taker_limit_price",
        "stop_limit_on_trigger",
        "participation_allowance",
    }
    for fn in RULE_FUNCTIONS:
        unknown = [
            n
            for n, p in inspect.signature(fn).parameters.items()
            if n not in _STRATEGIES and p.annotation not in ("bool", bool)
        ]
        assert not unknown, f"{fn.__name__}: no strategy for {unknown}"


@pytest.mark.parametrize("fn", RULE_FUNCTIONS, ids=lambda f: f.__name__)
def test_numba_compiles_each_rule_and_agrees_with_python(fn: Callable[..., Any]) -> None:
    compiled = numba.njit(cache=False)(fn)

    @given(_arguments(fn))
    def agree(args: tuple[Any, ...]) -> None:
        assert compiled(*args) == fn(*args)

    agree()


def test_compiled_rules_compose_inside_a_compiled_kernel() -> None:
    """The backtester's use: jitted rules called from its own njit loop over bars."""
    import numpy as np

    path = numba.njit(rules.order_path)
    hit = numba.njit(rules.first_hit)
    slip = numba.njit(rules.slipped_price)
    condition = numba.njit(rules.stop_condition)

    @numba.njit
    def stop_fills(o: Any, h: Any, low: Any, c: Any, level: int, slippage: int) -> Any:
        out = np.full(o.shape[0], -1, dtype=np.int64)
        up, strict = condition(False, False)
        for i in range(o.shape[0]):
            p0, p1, p2, p3 = path(o[i], h[i], low[i], c[i], True, False)
            k, price = hit(p0, p1, p2, p3, level, up, strict)
            if k >= 0:
                out[i] = slip(price, slippage, False)
        return out

    o = np.array([10000, 9400, 10000], dtype=np.int64)
    got = stop_fills(o, o + 100, np.array([9000, 9300, 9600]), o, 9500, 500)
    # touched in a continuous move -> the stop, slipped; gapped -> the open, slipped; missed -> -1
    assert got.tolist() == [9495, 9395, -1]
