"""Malformed messages raise WireFormatError naming the field, so streams can count and skip them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from binance_bot.exchange.binance import wire

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "binance"


def load(name: str) -> Any:
    return json.loads((RESOURCES / name).read_text())


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({k: v for k, v in load("order_result.json").items() if k != "origQty"}, "origQty"),
        ({**load("order_result.json"), "status": "WEIRD"}, "status"),
        ({**load("order_result.json"), "executedQty": 1.5}, "executedQty"),
        ({**load("order_result.json"), "executedQty": "abc"}, "executedQty"),
        ({**load("order_result.json"), "orderId": True}, "orderId"),
        ({**load("order_result.json"), "orderId": "12a"}, "orderId"),
        ({**load("order_result.json"), "executedQty": "NaN"}, "executedQty"),
    ],
)
def test_order_fields(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(wire.WireFormatError) as err:
        wire.parse_order(payload)
    assert err.value.field == field
    assert isinstance(err.value, ValueError)


def test_not_an_object() -> None:
    with pytest.raises(wire.WireFormatError, match="expected a JSON object"):
        wire.parse_order([1, 2])
    with pytest.raises(wire.WireFormatError):
        wire.unwrap_combined("text")


def test_kline_row_shape() -> None:
    with pytest.raises(wire.WireFormatError, match="at least 11"):
        wire.parse_kline([1, "2"], "S", "1m")
    row = load("klines_bnbbtc_1m.json")[0]
    row[4] = None
    with pytest.raises(wire.WireFormatError, match="close"):
        wire.parse_kline(row, "S", "1m")


def test_stream_events() -> None:
    bad = load("stream_kline.json")
    del bad["k"]["c"]
    with pytest.raises(wire.WireFormatError) as err:
        wire.parse_market_event(bad, 0)
    assert err.value.field == "c"
    with pytest.raises(wire.WireFormatError) as err:
        wire.parse_user_event({"E": 1})
    assert err.value.field == "e"
    er = load("user_execution_report.json")
    er["x"] = "TRADE"
    del er["t"]
    with pytest.raises(wire.WireFormatError) as err:
        wire.parse_user_event(er)
    assert err.value.field == "t"


def test_exchange_info_problems() -> None:
    info = load("exchange_info.json")
    del info["symbols"][1]["filters"][0]["tickSize"]
    with pytest.raises(wire.WireFormatError) as err:
        wire.parse_exchange_info(info)
    assert err.value.field == "tickSize"
    info = load("exchange_info.json")
    info["rateLimits"][0]["interval"] = "FORTNIGHT"
    with pytest.raises(wire.WireFormatError, match="FORTNIGHT"):
        wire.parse_exchange_info(info)


def test_api_restrictions_needs_a_boolean() -> None:
    with pytest.raises(wire.WireFormatError) as err:
        wire.parse_api_restrictions({"enableWithdrawals": "false"})
    assert err.value.field == "enableWithdrawals"
