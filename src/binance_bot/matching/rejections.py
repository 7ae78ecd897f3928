"""Typed refusals with Binance's exact codes and messages.

A :class:`Rejection` is a value, not an exception: the simulator writes it as the JSON
error body, the paper exchange raises :meth:`Rejection.to_error`. The constructors below are
the only place the wire texts are spelled, so a message cannot drift between call sites.
"""

from __future__ import annotations

from dataclasses import dataclass

from binance_bot.errors import (
    AuthenticationError,
    ExchangeError,
    InsufficientFunds,
    OrderRejected,
    UnknownOrder,
)
from binance_bot.model.instrument import FilterViolation
from binance_bot.model.orders import CLIENT_ORDER_ID_PATTERN

INSUFFICIENT_BALANCE_MSG = "Account has insufficient balance for requested action."


@dataclass(frozen=True, slots=True)
class Rejection:
    """Binance's ``{"code", "msg"}`` plus the HTTP status and a human ``detail`` (never on the wire)."""

    code: int
    msg: str
    http_status: int = 400
    detail: str = ""

    @property
    def filter_name(self) -> str | None:
        prefix = "Filter failure: "
        return self.msg[len(prefix) :] if self.code == -1013 and self.msg.startswith(prefix) else None

    def to_json(self) -> dict[str, int | str]:
        return {"code": self.code, "msg": self.msg}

    def to_error(self, endpoint: str | None = None) -> ExchangeError:
        """The exception the bot's error tree uses for this refusal (what the caller must do)."""
        text = f"{self.code} {self.msg}" + (f" ({self.detail})" if self.detail else "")
        common = {"code": self.code, "http_status": self.http_status, "endpoint": endpoint}
        if self.code in (-2011, -2013):
            return UnknownOrder(text, **common)
        if self.code in (-2014, -2015):
            return AuthenticationError(text, **common)
        if self.msg == INSUFFICIENT_BALANCE_MSG:
            return InsufficientFunds(text, **common)
        return OrderRejected(text, filter_name=self.filter_name, **common)


def invalid_api_key() -> Rejection:
    return Rejection(-2015, "Invalid API-key, IP, or permissions for action.", http_status=401)


def invalid_symbol() -> Rejection:
    return Rejection(-1121, "Invalid symbol.")


def filter_failure(violation: FilterViolation) -> Rejection:
    return Rejection(-1013, violation.binance_message, detail=violation.detail)


def mandatory(param: str) -> Rejection:
    return Rejection(-1102, f"Mandatory parameter '{param}' was not sent, was empty/null, or malformed.")


def one_of(first: str, second: str) -> Rejection:
    return Rejection(-1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!")


def not_required(param: str) -> Rejection:
    return Rejection(-1106, f"Parameter '{param}' sent when not required.")


def tif_not_required() -> Rejection:
    return Rejection(-1114, "TimeInForce parameter sent when not required.")


def too_much_precision(param: str) -> Rejection:
    return Rejection(-1111, f"Parameter '{param}' has too much precision.")


def illegal_client_order_id(param: str) -> Rejection:
    return Rejection(
        -1100,
        f"Illegal characters found in parameter '{param}'; legal range is '{CLIENT_ORDER_ID_PATTERN.pattern}'.",
    )


def insufficient_balance(detail: str = "") -> Rejection:
    return Rejection(-2010, INSUFFICIENT_BALANCE_MSG, detail=detail)


def would_match() -> Rejection:
    return Rejection(-2010, "Order would immediately match and take.")


def would_trigger() -> Rejection:
    return Rejection(-2010, "Order would trigger immediately.")


def duplicate_order() -> Rejection:
    return Rejection(-2010, "Duplicate order sent.")


def market_closed() -> Rejection:
    return Rejection(-2010, "Market is closed.")


def unsupported_combination() -> Rejection:
    return Rejection(-2010, "Unsupported order combination")


def quote_qty_not_supported() -> Rejection:
    return Rejection(-2010, "Quote order qty market orders are not support for this symbol.")


def oco_not_supported() -> Rejection:
    return Rejection(-2010, "OCO orders are not supported for this symbol")


_TYPE_NOT_SUPPORTED = {
    "MARKET": "Market orders are not supported for this symbol.",
    "STOP_LOSS": "Stop loss orders are not supported for this symbol.",
    "STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
    "TAKE_PROFIT": "Take profit orders are not supported for this symbol.",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders are not supported for this symbol.",
}


def order_type_not_supported(order_type: str) -> Rejection:
    msg = _TYPE_NOT_SUPPORTED.get(order_type)
    return Rejection(-2010, msg) if msg else unsupported_combination()


def unknown_order() -> Rejection:
    return Rejection(-2011, "Unknown order sent.")


def no_such_order() -> Rejection:
    return Rejection(-2013, "Order does not exist.")


def client_order_id_mismatch() -> Rejection:
    return Rejection(-2039, "Client order ID is not correct for this order ID.")


def oco_type_not_supported() -> Rejection:
    return Rejection(-1158, "Order type not supported in OCO.")


def oco_needs_contingent() -> Rejection:
    return Rejection(-1168, "At least one OCO order must be contingent.")


def buy_oco_limit_below() -> Rejection:
    return Rejection(-1165, "A limit order in a buy OCO must be below.")


def sell_oco_limit_above() -> Rejection:
    return Rejection(-1166, "A limit order in a sell OCO must be above.")


def buy_oco_stop_above() -> Rejection:
    return Rejection(-1196, "A stop loss order in a buy OCO must be above.")


def sell_oco_stop_below() -> Rejection:
    return Rejection(-1197, "A stop loss order in a sell OCO must be below.")


def buy_oco_take_profit_below() -> Rejection:
    return Rejection(-1198, "A take profit order in a buy OCO must be below.")


def sell_oco_take_profit_above() -> Rejection:
    return Rejection(-1199, "A take profit order in a sell OCO must be above.")


def unknown_order_list() -> Rejection:
    return Rejection(-2011, "Order list does not exist.")


def no_such_order_list() -> Rejection:
    return Rejection(-2013, "Order list does not exist.")
