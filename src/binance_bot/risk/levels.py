"""Stop-loss, stop-limit and take-profit prices, exact on the tick grid.

The rules are written once in integer ticks (plain ``int`` arithmetic, so the vectorized
backtester can compile the same functions with numba) and wrapped for ``Decimal`` callers:

* stop       = ceil_to_tick(entry x (1 - stop_loss_margin))
  (rounded *up*, toward the market: the loss is never larger than the margin);
* take profit = entry + ceil_to_tick(take_profit_ratio x (entry - stop))
  (rounded *up*: the reward-to-risk ratio is never below the configured one);
* stop limit  = floor_to_tick(stop x (1 - stop_limit_buffer))
  (the STOP_LOSS_LIMIT leg's limit price, a little below the trigger so it still fills
  when the price falls through the stop quickly).

Fractions (margin, ratio, buffer) enter as exact integer ratios (``Decimal.as_integer_ratio``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from binance_bot.model.instrument import SymbolRules
from binance_bot.model.numbers import from_ticks, to_ticks

# Each function is self-contained integer arithmetic (no helper calls) so that numba can
# compile it unchanged; ``-((-a) // b)`` is ceil(a / b) for a positive ``b``.


def stop_ticks(entry: int, margin_num: int, margin_den: int) -> int:
    """``ceil(entry x (1 - num/den))`` in ticks."""
    return -((-(entry * (margin_den - margin_num))) // margin_den)


def take_profit_ticks(entry: int, stop: int, ratio_num: int, ratio_den: int) -> int:
    """``entry + ceil(ratio x (entry - stop))`` in ticks."""
    return entry - ((-((entry - stop) * ratio_num)) // ratio_den)


def stop_limit_ticks(stop: int, buffer_num: int, buffer_den: int) -> int:
    """``floor(stop x (1 - num/den))`` in ticks, never below one tick."""
    return max(1, (stop * (buffer_den - buffer_num)) // buffer_den)


@dataclass(frozen=True, slots=True)
class ProtectionLevels:
    stop: Decimal
    stop_limit: Decimal
    take_profit: Decimal


def ratio(value: Decimal) -> tuple[int, int]:
    """An exact ``(numerator, denominator)`` for a ``Decimal`` fraction."""
    num, den = value.as_integer_ratio()
    return int(num), int(den)


def protection_levels(
    entry: Decimal,
    rules: SymbolRules,
    *,
    stop_loss_margin: Decimal,
    take_profit_ratio: Decimal,
    stop_limit_buffer: Decimal,
) -> ProtectionLevels:
    """The three protective prices for a long entered at ``entry`` (on the tick grid)."""
    tick = rules.tick_size
    if tick <= 0:
        raise ValueError(f"{rules.symbol}: protection needs a tick size")
    e = to_ticks(entry, tick)
    s = stop_ticks(e, *ratio(stop_loss_margin))
    tp = take_profit_ticks(e, s, *ratio(take_profit_ratio))
    sl = stop_limit_ticks(s, *ratio(stop_limit_buffer))
    return ProtectionLevels(
        stop=from_ticks(s, tick), stop_limit=from_ticks(sl, tick), take_profit=from_ticks(tp, tick)
    )
