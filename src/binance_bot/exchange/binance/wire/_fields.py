"""Field readers and writers shared by every wire schema.

Binance sends prices and quantities as strings and times, ids and counts as integers. The
readers below accept exactly that (plus integers for decimals and digit strings for ids,
which some proxies and recorders produce) and raise :class:`WireFormatError` naming the
field for anything else, so a stream or a client can count a malformed message and skip it
instead of crashing on a ``KeyError`` deep inside a handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from binance_bot.model.numbers import MONEY_CONTEXT

E = TypeVar("E", bound=StrEnum)

WIRE_PLACES = 8
"""Binance writes spot prices and quantities with 8 fraction digits (``"0.10000000"``)."""

_EIGHT = Decimal(1).scaleb(-WIRE_PLACES)


class WireFormatError(ValueError):
    """A Binance message lacks a field or carries a value of the wrong shape."""

    def __init__(self, field: str, problem: str, *, payload: object = None) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.payload = payload


def require_mapping(obj: object, what: str) -> Mapping[str, Any]:
    if type(obj) is dict:  # what json.loads makes; the ABC check below is several times slower
        return obj
    if not isinstance(obj, Mapping):
        raise WireFormatError(what, f"expected a JSON object, got {type(obj).__name__}", payload=obj)
    return obj


def get(obj: Mapping[str, Any], key: str) -> Any:
    try:
        return obj[key]
    except KeyError:
        raise WireFormatError(key, "missing", payload=obj) from None


def dec_value(value: Any, field: str) -> Decimal:
    """A decimal from Binance text (or an int); floats are refused because they are inexact."""
    if isinstance(value, str):
        try:
            result = Decimal(value)
        except ArithmeticError:
            raise WireFormatError(field, f"not a number: {value!r}") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        result = Decimal(value)
    else:
        raise WireFormatError(field, f"expected a decimal string, got {type(value).__name__}")
    if not result.is_finite():
        raise WireFormatError(field, f"must be finite, got {value!r}")
    return result


def dec(obj: Mapping[str, Any], key: str) -> Decimal:
    return dec_value(get(obj, key), key)


def opt_dec(obj: Mapping[str, Any], key: str, default: Decimal) -> Decimal:
    value = obj.get(key)
    return default if value is None else dec_value(value, key)


def int_value(value: Any, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    raise WireFormatError(field, f"expected an integer, got {value!r}")


def int_(obj: Mapping[str, Any], key: str) -> int:
    return int_value(get(obj, key), key)


def opt_int(obj: Mapping[str, Any], key: str, default: int) -> int:
    value = obj.get(key)
    return default if value is None else int_value(value, key)


def str_(obj: Mapping[str, Any], key: str) -> str:
    value = get(obj, key)
    if not isinstance(value, str):
        raise WireFormatError(key, f"expected a string, got {type(value).__name__}", payload=obj)
    return value


def bool_(obj: Mapping[str, Any], key: str) -> bool:
    value = get(obj, key)
    if not isinstance(value, bool):
        raise WireFormatError(key, f"expected a boolean, got {value!r}", payload=obj)
    return value


_MEMBERS: dict[type[StrEnum], dict[str, StrEnum]] = {}


def enum_(obj: Mapping[str, Any], key: str, kind: type[E]) -> E:
    value = get(obj, key)
    # a plain dict lookup per enum class: calling the class goes through EnumMeta.__call__
    members = _MEMBERS.get(kind)
    if members is None:
        members = _MEMBERS[kind] = {m.value: m for m in kind}
    try:
        return members[value]  # type: ignore[return-value]
    except (KeyError, TypeError):
        raise WireFormatError(key, f"unknown {kind.__name__} {value!r}", payload=obj) from None


def wnum(value: Decimal) -> str:
    """Decimal as Binance writes it: 8 fraction digits, more only when the value needs them."""
    exp = value.normalize(MONEY_CONTEXT).as_tuple().exponent
    if isinstance(exp, int) and exp >= -WIRE_PLACES:
        return f"{value.quantize(_EIGHT, context=MONEY_CONTEXT):f}"
    return f"{value.normalize(MONEY_CONTEXT):f}"
