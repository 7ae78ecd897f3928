"""Exact money: ``Decimal`` values, integer ticks and quantization to exchange steps.

Prices, quantities and balances are ``Decimal`` everywhere an order, a fill or the ledger
touches them. Floats are accepted only at the edges (:func:`to_decimal` goes through
``repr`` so ``0.1`` becomes ``Decimal("0.1")``, not ``0.1000000000000000055...``).

Rounding "toward safety" is the caller's choice of direction: quantities round down (never
spend more than we have), a buy price rounds down and a sell price rounds up (never pay
more or receive less than asked), a protective stop rounds toward the market (trigger no
later than asked).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, ROUND_UP, Context, Decimal

ZERO = Decimal(0)
ONE = Decimal(1)

# 34 significant digits: Binance values have at most 20 integer and 20 fraction digits, and
# products of two of them must stay exact before they are quantized.
MONEY_CONTEXT = Context(prec=40)

__all__ = [
    "MONEY_CONTEXT",
    "ONE",
    "ROUND_CEILING",
    "ROUND_DOWN",
    "ROUND_FLOOR",
    "ROUND_HALF_UP",
    "ROUND_UP",
    "ZERO",
    "decimal_places",
    "fmt",
    "from_ticks",
    "is_multiple",
    "quantize_step",
    "to_decimal",
    "to_ticks",
]


def to_decimal(value: object, *, field: str = "value") -> Decimal:
    """Convert wire text, an int or a float into an exact, finite ``Decimal``.

    Raises ``ValueError`` naming ``field`` for anything else (``None``, ``"abc"``, NaN, inf).
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError(f"{field}: expected a number, got a boolean")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = Decimal(text)
        except ArithmeticError:
            raise ValueError(f"{field}: not a number: {value!r}") from None
    else:
        raise ValueError(f"{field}: expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{field}: must be finite, got {value!r}")
    return result


def quantize_step(value: Decimal, step: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
    """Round ``value`` to a multiple of ``step`` (``step == 0`` means no step: unchanged).

    The result carries the step's exponent, so ``quantize_step(Decimal("1.23456"),
    Decimal("0.01"))`` is ``Decimal("1.23")``, ready for the wire.
    """
    if step == 0:
        return value
    units = (value / step).quantize(ONE, rounding=rounding, context=MONEY_CONTEXT)
    result = units * step
    exp = step.normalize().as_tuple().exponent
    if isinstance(exp, int) and exp < 0:
        return result.quantize(Decimal(1).scaleb(exp), context=MONEY_CONTEXT)
    return result.quantize(ONE, context=MONEY_CONTEXT)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is an exact multiple of ``step`` (or the step is disabled)."""
    if step == 0:
        return True
    return (value % step) == 0


def to_ticks(value: Decimal, step: Decimal, rounding: str = ROUND_HALF_UP) -> int:
    """Integer number of ``step`` units in ``value`` (exact when ``value`` is on the grid)."""
    if step == 0:
        raise ValueError("to_ticks needs a non-zero step")
    return int((value / step).quantize(ONE, rounding=rounding, context=MONEY_CONTEXT))


def from_ticks(ticks: int, step: Decimal) -> Decimal:
    """Inverse of :func:`to_ticks`, carrying the step's exponent."""
    return quantize_step(Decimal(ticks) * step, step, ROUND_HALF_UP)


def decimal_places(step: Decimal) -> int:
    """Number of fraction digits a step implies (``0.00100000`` -> 3)."""
    exp = step.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def fmt(value: Decimal, places: int | None = None) -> str:
    """Plain decimal text for the wire: never scientific notation, optional fixed places."""
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)
        return f"{value:f}"
    text = f"{value.normalize():f}" if value != 0 else "0"
    return text
