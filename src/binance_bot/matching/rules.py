"""The fill model's price rules over integers: one source for the engine and the backtester.

Prices are integer ticks of the symbol's tick size, quantities integer steps of its step
size. Every function takes and returns only ints and bools (or tuples of them) and calls no
other function of this module, so the backtester compiles each one unchanged with
``numba.njit(rules.fn)`` inside its kernel while the matching engine calls the very same
Python function. Rule numbers (R2, R4, ...) refer to ``docs/fill-model.md``.

Fractions are integers over a fixed denominator, never floats, so that rounding is exact:
slippage in hundredths of a basis point (5 bps = 500, out of :data:`SLIPPAGE_DENOMINATOR`)
and the participation cap in parts per million (10% = 100_000, out of
:data:`PARTICIPATION_DENOMINATOR`). Products are split (``p = q*D + r``) so that no
intermediate exceeds int64 for any price below 9.2e12 ticks.
"""

from __future__ import annotations

SLIPPAGE_DENOMINATOR = 1_000_000
"""Slippage is given in hundredths of a basis point: ``bps * 100 / 1e6 == bps / 1e4``."""

PARTICIPATION_DENOMINATOR = 1_000_000
"""The participation cap is given in parts per million of the bar's volume."""


def bar_path(open_: int, high: int, low: int, close: int) -> tuple[int, int, int, int]:
    """R2: the four price events of a bar, O→H→L→C when close ≥ open, else O→L→H→C."""
    if close >= open_:
        return (open_, high, low, close)
    return (open_, low, high, close)


def order_path(
    open_: int, high: int, low: int, close: int, worst_case: bool, is_buy: bool
) -> tuple[int, int, int, int]:
    """R2/R3: the path an order of this side sees.

    In worst-case mode the extreme adverse to a protective order comes first: the low for a
    SELL (it protects a long), the high for a BUY. Otherwise every order sees the bar path.
    """
    if worst_case:
        if is_buy:
            return (open_, high, low, close)
        return (open_, low, high, close)
    if close >= open_:
        return (open_, high, low, close)
    return (open_, low, high, close)


def meets(price: int, level: int, up: bool, strict: bool) -> bool:
    """R4: whether ``price`` satisfies a wait condition (``up``: price ≥/> level, else ≤/<)."""
    if up:
        if strict:
            return price > level
        return price >= level
    if strict:
        return price < level
    return price <= level


def move_hit(start: int, end: int, level: int, up: bool, strict: bool, jump: bool) -> tuple[bool, int]:
    """R4: whether a move from ``start`` to ``end`` meets a condition, and at which price.

    A jump (the open of a bar, after the previous bar's close) trades only at ``end``, so a
    condition met there is met at ``end``: gaps happen at the open. A continuous move trades
    every tick between, so the condition is met at the first tick that satisfies it: the
    level itself, or one tick beyond it when strict. A condition already met at ``start``
    is met at ``start``.
    """
    if jump:
        if up:
            return (end > level if strict else end >= level, end)
        return (end < level if strict else end <= level, end)
    if up:
        start_hit = start > level if strict else start >= level
        end_hit = end > level if strict else end >= level
    else:
        start_hit = start < level if strict else start <= level
        end_hit = end < level if strict else end <= level
    if start_hit:
        return (True, start)
    if not end_hit:
        return (False, end)
    if not strict:
        return (True, level)
    if up:
        return (True, level + 1)
    return (True, level - 1)


def first_hit(p0: int, p1: int, p2: int, p3: int, level: int, up: bool, strict: bool) -> tuple[int, int]:
    """R4: the first price event ``k`` (0..3) of a path at which a condition is met, and the price.

    ``k == 0`` means at the open (a gap: the price is the open); for ``k`` in 1..3 the
    condition is met while moving continuously from ``p[k-1]`` to ``p[k]``, at the first
    satisfying tick. Returns ``(-1, 0)`` when the bar never meets it.
    """
    if up:
        if p0 > level if strict else p0 >= level:
            return (0, p0)
        boundary = level + 1 if strict else level
        if p1 >= boundary:
            return (1, boundary)
        if p2 >= boundary:
            return (2, boundary)
        if p3 >= boundary:
            return (3, boundary)
        return (-1, 0)
    if p0 < level if strict else p0 <= level:
        return (0, p0)
    boundary = level - 1 if strict else level
    if p1 <= boundary:
        return (1, boundary)
    if p2 <= boundary:
        return (2, boundary)
    if p3 <= boundary:
        return (3, boundary)
    return (-1, 0)


def resting_limit_condition(is_buy: bool, touch_fills: bool) -> tuple[bool, bool]:
    """R5: ``(up, strict)`` of a resting limit: a BUY waits for the price to fall below it.

    By default the path must trade through the limit (strictly beyond it), because a resting
    order's place in the queue is unknown; ``touch_fills`` fills when the price reaches it.
    """
    return (not is_buy, not touch_fills)


def stop_condition(is_buy: bool, is_take_profit: bool) -> tuple[bool, bool]:
    """R10: ``(up, strict)`` of a stop: Binance's trigger direction, reached (not crossed).

    STOP_LOSS BUY and TAKE_PROFIT SELL trigger when the price rises to ``stopPrice``;
    STOP_LOSS SELL and TAKE_PROFIT BUY when it falls to it.
    """
    return (is_buy != is_take_profit, False)


def marketable(is_buy: bool, limit: int, price: int) -> bool:
    """R6: whether a limit order arriving now would take: the price is at or better than it."""
    if is_buy:
        return price <= limit
    return price >= limit


def slipped_price(price: int, slippage: int, is_buy: bool) -> int:
    """R8: a taker's price: ``price`` moved by ``slippage`` against the trader, on the tick grid.

    A BUY pays ``ceil(price * (1 + s))``, a SELL gets ``floor(price * (1 - s))`` but at
    least one tick; ``slippage`` is in hundredths of a basis point.
    """
    q = price // SLIPPAGE_DENOMINATOR
    r = price - q * SLIPPAGE_DENOMINATOR
    amount = q * slippage + (r * slippage + SLIPPAGE_DENOMINATOR - 1) // SLIPPAGE_DENOMINATOR
    if is_buy:
        return price + amount
    result = price - amount
    if result < 1:
        return 1
    return result


def taker_limit_price(price: int, limit: int, slippage: int, is_buy: bool) -> int:
    """R6/R8: a marketable limit's fill: the slipped price, but never worse than its limit."""
    q = price // SLIPPAGE_DENOMINATOR
    r = price - q * SLIPPAGE_DENOMINATOR
    amount = q * slippage + (r * slippage + SLIPPAGE_DENOMINATOR - 1) // SLIPPAGE_DENOMINATOR
    if is_buy:
        slipped = price + amount
        return limit if slipped > limit else slipped
    slipped = price - amount
    if slipped < 1:
        slipped = 1
    return limit if slipped < limit else slipped


def stop_limit_on_trigger(trigger: int, limit: int, slippage: int, is_buy: bool) -> tuple[bool, int]:
    """R12: a triggered stop-limit takes at the trigger price when marketable there.

    Returns ``(True, fill price)`` (slipped, bounded by the limit) or ``(False, limit)``
    when it must rest as a limit order instead.
    """
    if is_buy:
        if trigger > limit:
            return (False, limit)
    elif trigger < limit:
        return (False, limit)
    q = trigger // SLIPPAGE_DENOMINATOR
    r = trigger - q * SLIPPAGE_DENOMINATOR
    amount = q * slippage + (r * slippage + SLIPPAGE_DENOMINATOR - 1) // SLIPPAGE_DENOMINATOR
    if is_buy:
        slipped = trigger + amount
        return (True, limit if slipped > limit else slipped)
    slipped = trigger - amount
    if slipped < 1:
        slipped = 1
    return (True, limit if slipped < limit else slipped)


def participation_allowance(volume_steps: int, cap: int, used_steps: int) -> int:
    """R13: steps one order may still take in this bar: ``floor(volume * cap) - used``, ≥ 0.

    ``cap`` is in parts per million of the bar's volume.
    """
    q = volume_steps // PARTICIPATION_DENOMINATOR
    r = volume_steps - q * PARTICIPATION_DENOMINATOR
    total = q * cap + (r * cap) // PARTICIPATION_DENOMINATOR
    left = total - used_steps
    if left < 0:
        return 0
    return left
