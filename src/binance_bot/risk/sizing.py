"""How much to buy: ``min(oper_equity, free quote x max fraction) / price``, on the step grid.

Quantities round *down* (never spend more than the budget) and an order that would break
LOT_SIZE or NOTIONAL after rounding is refused here, with the filter named, rather than
sent to be rejected by the exchange.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from binance_bot.model.enums import OrderType, Side
from binance_bot.model.instrument import SymbolRules
from binance_bot.model.numbers import MONEY_CONTEXT, ZERO, fmt


@dataclass(frozen=True, slots=True)
class SizeDecision:
    qty: Decimal
    budget: Decimal
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.qty > 0


def entry_budget(oper_equity: Decimal, free_quote: Decimal, max_fraction_of_free: Decimal) -> Decimal:
    """The quote amount one entry may spend."""
    return max(ZERO, min(oper_equity, free_quote * max_fraction_of_free))


def size_entry(
    *,
    rules: SymbolRules,
    price: Decimal,
    oper_equity: Decimal,
    free_quote: Decimal,
    max_fraction_of_free: Decimal,
    order_type: OrderType = OrderType.MARKET,
) -> SizeDecision:
    """Quantity for a long entry at ``price`` (the expected fill price), or why there is none."""
    if price <= 0:
        return SizeDecision(ZERO, ZERO, f"price {fmt(price)} must be > 0")
    budget = entry_budget(oper_equity, free_quote, max_fraction_of_free)
    if budget <= 0:
        return SizeDecision(ZERO, budget, f"no free {rules.quote_asset} to trade with")
    raw = MONEY_CONTEXT.divide(budget, price)
    qty = rules.round_qty(raw, market=order_type is OrderType.MARKET)
    violations = rules.violations(
        side=Side.BUY,
        order_type=OrderType.LIMIT,  # notional is checked at the expected price for both kinds
        quantity=qty,
        price=rules.round_price(price) if rules.tick_size else price,
    )
    violations = [v for v in violations if v.filter_name != "PRICE_FILTER"]
    if qty <= 0 or violations:
        detail = violations[0].detail if violations else f"budget {fmt(budget)} buys less than one step"
        name = violations[0].filter_name if violations else "LOT_SIZE"
        return SizeDecision(ZERO, budget, f"{name}: {detail}")
    return SizeDecision(qty, budget)
