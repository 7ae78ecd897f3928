"""Commission: the one Decimal function the engine and the backtester both call.

Binance takes the commission from the asset the trader receives: a BUY pays in the base
asset, a SELL in the quote asset (no BNB discount is modelled). The amount is
``received * rate`` rounded half-up to ``places`` decimals (8, Binance's commission
precision), computed in a 40-digit context so that no intermediate is rounded.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from binance_bot.model.enums import Side
from binance_bot.model.numbers import MONEY_CONTEXT

COMMISSION_ROUNDING = ROUND_HALF_UP


def commission_asset(side: Side, base_asset: str, quote_asset: str) -> str:
    """R16: the asset a fill's commission is paid in: the one received."""
    return base_asset if side is Side.BUY else quote_asset


def commission(side: Side, price: Decimal, qty: Decimal, rate: Decimal, places: int = 8) -> Decimal:
    """R16: commission of one fill, in :func:`commission_asset` units.

    BUY: ``qty * rate``; SELL: ``price * qty * rate``; rounded half-up to ``places``.
    """
    received = qty if side is Side.BUY else MONEY_CONTEXT.multiply(price, qty)
    raw = MONEY_CONTEXT.multiply(received, rate)
    return raw.quantize(Decimal(1).scaleb(-places), rounding=COMMISSION_ROUNDING, context=MONEY_CONTEXT)
