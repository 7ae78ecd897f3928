"""Account schemas: balances, API-key restrictions and Binance error bodies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from binance_bot.exchange.binance.wire._fields import (
    WireFormatError,
    dec,
    get,
    int_value,
    require_mapping,
    str_,
    wnum,
)
from binance_bot.model import Balance


def parse_balance(row: object) -> Balance:
    obj = require_mapping(row, "balances[]")
    return Balance(asset=str_(obj, "asset"), free=dec(obj, "free"), locked=dec(obj, "locked"))


def parse_account(payload: object) -> list[Balance]:
    """``GET /api/v3/account`` -> the balances."""
    rows = get(require_mapping(payload, "account"), "balances")
    if not isinstance(rows, list):
        raise WireFormatError("balances", "expected an array", payload=payload)
    return [parse_balance(r) for r in rows]


def write_account(
    balances: Iterable[Balance],
    *,
    update_time: int,
    maker_commission: Decimal = Decimal("0.001"),
    taker_commission: Decimal = Decimal("0.001"),
    can_trade: bool = True,
    can_withdraw: bool = False,
    uid: int = 0,
) -> dict[str, Any]:
    bps = int(maker_commission * 10000), int(taker_commission * 10000)
    return {
        "makerCommission": bps[0],
        "takerCommission": bps[1],
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": wnum(maker_commission),
            "taker": wnum(taker_commission),
            "buyer": wnum(Decimal(0)),
            "seller": wnum(Decimal(0)),
        },
        "canTrade": can_trade,
        "canWithdraw": can_withdraw,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": update_time,
        "accountType": "SPOT",
        "balances": [{"asset": b.asset, "free": wnum(b.free), "locked": wnum(b.locked)} for b in balances],
        "permissions": ["SPOT"],
        "uid": uid,
    }


@dataclass(frozen=True, slots=True)
class ApiRestrictions:
    """``GET /sapi/v1/account/apiRestrictions``: what the API key is allowed to do."""

    enable_withdrawals: bool
    enable_reading: bool = True
    enable_spot_and_margin_trading: bool = False
    ip_restrict: bool = False
    create_time: int = 0
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


def parse_api_restrictions(payload: object) -> ApiRestrictions:
    obj = require_mapping(payload, "apiRestrictions")
    withdraw = get(obj, "enableWithdrawals")
    if not isinstance(withdraw, bool):
        raise WireFormatError("enableWithdrawals", f"expected a boolean, got {withdraw!r}", payload=obj)
    return ApiRestrictions(
        enable_withdrawals=withdraw,
        enable_reading=obj.get("enableReading") is True,
        enable_spot_and_margin_trading=obj.get("enableSpotAndMarginTrading") is True,
        ip_restrict=obj.get("ipRestrict") is True,
        create_time=int_value(obj.get("createTime", 0), "createTime"),
        raw=dict(obj),
    )


def write_api_restrictions(r: ApiRestrictions) -> dict[str, Any]:
    return {
        "ipRestrict": r.ip_restrict,
        "createTime": r.create_time,
        "enableReading": r.enable_reading,
        "enableWithdrawals": r.enable_withdrawals,
        "enableInternalTransfer": False,
        "enableMargin": False,
        "enableFutures": False,
        "permitsUniversalTransfer": False,
        "enableVanillaOptions": False,
        "enableFixApiTrade": False,
        "enableFixReadOnly": False,
        "enableSpotAndMarginTrading": r.enable_spot_and_margin_trading,
        "enablePortfolioMarginTrading": False,
    }


def parse_error(payload: object) -> tuple[int, str]:
    """``{"code": -1121, "msg": "Invalid symbol."}`` -> ``(-1121, "Invalid symbol.")``."""
    obj = require_mapping(payload, "error")
    code = int_value(get(obj, "code"), "code")
    msg = obj.get("msg", "")
    return code, msg if isinstance(msg, str) else str(msg)


def write_error(code: int, msg: str) -> dict[str, Any]:
    return {"code": code, "msg": msg}
