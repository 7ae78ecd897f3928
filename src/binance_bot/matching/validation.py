"""Parameter checks the engine can make before any filter (Binance's -11xx codes).

They run first because Binance refuses a malformed request before it reaches the filters
or the matching engine, so an order that is both malformed and too small must report the
parameter error.
"""

from __future__ import annotations

from decimal import Decimal

from binance_bot.matching import rejections as rj
from binance_bot.matching.rejections import Rejection
from binance_bot.matching.requests import NewOco, NewOrder, OcoLeg
from binance_bot.model.enums import OrderType, Side, TimeInForce
from binance_bot.model.instrument import SymbolRules
from binance_bot.model.orders import is_valid_client_order_id

NUMBER_PATTERN = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"

_NEEDS_TIF = frozenset({OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT})
_NO_TIF = frozenset({OrderType.MARKET, OrderType.LIMIT_MAKER, OrderType.STOP_LOSS, OrderType.TAKE_PROFIT})

OCO_LEG_TYPES = frozenset(
    {
        OrderType.STOP_LOSS,
        OrderType.STOP_LOSS_LIMIT,
        OrderType.LIMIT_MAKER,
        OrderType.TAKE_PROFIT,
        OrderType.TAKE_PROFIT_LIMIT,
    }
)
"""Types an OCO leg may have; which side of the market each goes is checked by role."""


def _negative(param: str) -> Rejection:
    return Rejection(
        -1100, f"Illegal characters found in parameter '{param}'; legal range is '{NUMBER_PATTERN}'."
    )


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _number(param: str, value: Decimal | None, precision: int) -> Rejection | None:
    if value is None:
        return None
    if value < 0:
        return _negative(param)
    if _places(value) > precision:
        return rj.too_much_precision(param)
    return None


def check_new_order(order: NewOrder, rules: SymbolRules) -> Rejection | None:
    """The first parameter error of ``order``, or ``None`` when its parameters fit its type."""
    if order.new_client_order_id is not None and not is_valid_client_order_id(order.new_client_order_id):
        return rj.illegal_client_order_id("newClientOrderId")
    kind = order.type
    if kind is OrderType.MARKET:
        if order.quantity is None and order.quote_order_qty is None:
            return rj.one_of("quantity", "quoteOrderQty")
        if order.quantity is not None and order.quote_order_qty is not None:
            return rj.not_required("quoteOrderQty")
    else:
        if order.quote_order_qty is not None:
            return rj.not_required("quoteOrderQty")
        if order.quantity is None:
            return rj.mandatory("quantity")
    if kind.has_limit_price and order.price is None:
        return rj.mandatory("price")
    if not kind.has_limit_price and order.price is not None:
        return rj.not_required("price")
    if kind.is_conditional and order.stop_price is None:
        return rj.mandatory("stopPrice")
    if not kind.is_conditional and order.stop_price is not None:
        return rj.not_required("stopPrice")
    if kind in _NEEDS_TIF and order.time_in_force is None:
        return rj.mandatory("timeInForce")
    if kind in _NO_TIF and order.time_in_force is not None:
        return rj.tif_not_required()
    for param, value, places in (
        ("quantity", order.quantity, rules.base_asset_precision),
        ("quoteOrderQty", order.quote_order_qty, rules.quote_asset_precision),
        ("price", order.price, rules.quote_asset_precision),
        ("stopPrice", order.stop_price, rules.quote_asset_precision),
    ):
        problem = _number(param, value, places)
        if problem is not None:
            return problem
    return None


def _check_leg(prefix: str, leg: OcoLeg, rules: SymbolRules) -> Rejection | None:
    if leg.type not in OCO_LEG_TYPES:
        return rj.oco_type_not_supported()
    if leg.client_order_id is not None and not is_valid_client_order_id(leg.client_order_id):
        return rj.illegal_client_order_id(f"{prefix}ClientOrderId")
    if leg.type.has_limit_price and leg.price is None:
        return rj.mandatory(f"{prefix}Price")
    if not leg.type.has_limit_price and leg.price is not None:
        return rj.not_required(f"{prefix}Price")
    if leg.type.is_conditional and leg.stop_price is None:
        return rj.mandatory(f"{prefix}StopPrice")
    if not leg.type.is_conditional and leg.stop_price is not None:
        return rj.not_required(f"{prefix}StopPrice")
    if leg.type in _NEEDS_TIF and leg.time_in_force is None:
        return rj.mandatory(f"{prefix}TimeInForce")
    if leg.type in _NO_TIF and leg.time_in_force is not None:
        return rj.tif_not_required()
    for param, value in ((f"{prefix}Price", leg.price), (f"{prefix}StopPrice", leg.stop_price)):
        problem = _number(param, value, rules.quote_asset_precision)
        if problem is not None:
            return problem
    return None


_STOP_LOSS = frozenset({OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT})
_TAKE_PROFIT = frozenset({OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT})


def check_new_oco(oco: NewOco, rules: SymbolRules) -> Rejection | None:
    """Parameter and leg-placement errors of an OCO, before prices are compared with the market.

    A SELL OCO protects a long: its stop-loss leg must be the lower one and its limit or
    take-profit leg the upper one; a BUY OCO the other way round (Binance -1165..-1199).
    """
    if oco.list_client_order_id is not None and not is_valid_client_order_id(oco.list_client_order_id):
        return rj.illegal_client_order_id("listClientOrderId")
    if oco.quantity is None:
        return rj.mandatory("quantity")
    problem = _number("quantity", oco.quantity, rules.base_asset_precision)
    if problem is not None:
        return problem
    for prefix, leg in (("above", oco.above), ("below", oco.below)):
        problem = _check_leg(prefix, leg, rules)
        if problem is not None:
            return problem
    if oco.above.type is OrderType.LIMIT_MAKER and oco.below.type is OrderType.LIMIT_MAKER:
        return rj.oco_needs_contingent()
    above, below = oco.above.type, oco.below.type
    if oco.side is Side.SELL:
        if above in _STOP_LOSS:
            return rj.sell_oco_stop_below()
        if below is OrderType.LIMIT_MAKER:
            return rj.sell_oco_limit_above()
        if below in _TAKE_PROFIT:
            return rj.sell_oco_take_profit_above()
    else:
        if above is OrderType.LIMIT_MAKER:
            return rj.buy_oco_limit_below()
        if above in _TAKE_PROFIT:
            return rj.buy_oco_take_profit_below()
        if below in _STOP_LOSS:
            return rj.buy_oco_stop_above()
    return None


def default_time_in_force(kind: OrderType, requested: TimeInForce | None) -> TimeInForce:
    """Binance reports GTC for the types that take no timeInForce (MARKET included)."""
    return requested if requested is not None else TimeInForce.GTC
