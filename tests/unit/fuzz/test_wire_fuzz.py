"""Every Binance message the client parses, broken every way: a model or a WireFormatError.

Each parser is fed its recorded payload (``tests/resources/binance``) after random
mutations: fields missing, values of the wrong type, huge, negative, non-finite or oddly
written numbers, lists emptied or repeated. The only acceptable failure is
``WireFormatError`` (a ``ValueError`` naming the field), which the REST client turns into
an exchange error and the streams count and skip. A ``KeyError``, ``TypeError``,
``decimal.InvalidOperation`` or anything else escaping a parser is a crash waiting for a
bad day on the exchange.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.fuzz.mutations import mutated

from binance_bot.exchange.binance import wire
from binance_bot.model import Order, OrderRequest, OrderStatus, OrderType, Side, TimeInForce

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "binance"
_ORDER = Order("BNBBTC", 28, "x", Side.BUY, OrderType.LIMIT, OrderStatus.NEW, orig_qty=Decimal(1))


_ACK_REQUEST = OrderRequest(
    "BTCUSDT",
    Side.BUY,
    OrderType.LIMIT,
    "6gCrw2kRUAF9CvJDGP16IP",
    Decimal(1),
    Decimal(1),
    None,
    TimeInForce.GTC,
)


def load(name: str) -> Any:
    return json.loads((RESOURCES / name).read_text())


def _market(payload: Any) -> Any:
    _, inner = wire.unwrap_combined(payload)
    return wire.parse_market_event(inner, 0)


def _fills(payload: Any) -> Any:
    order = wire.parse_order(payload)
    fills = payload.get("fills", []) if isinstance(payload, dict) else []
    if not isinstance(fills, list):
        raise wire.WireFormatError("fills", "not a list")
    return [wire.parse_fill(row, order, 0) for row in fills]


def _my_trades(payload: Any) -> Any:
    if not isinstance(payload, list):
        raise wire.WireFormatError("myTrades", "not a list")
    return [wire.parse_my_trade(row) for row in payload]


def _account(payload: Any) -> Any:
    return wire.parse_account(payload)


PARSERS: list[tuple[str, Callable[[Any], Any]]] = [
    ("account.json", _account),
    ("api_restrictions.json", wire.parse_api_restrictions),
    ("avg_price.json", wire.parse_avg_price),
    ("book_ticker.json", wire.parse_book_ticker),
    ("depth.json", lambda p: wire.parse_depth(p, "BNBBTC")),
    ("error_429.json", wire.parse_error),
    ("error_filter.json", wire.parse_error),
    ("exchange_info.json", wire.parse_exchange_info),
    ("klines_bnbbtc_1m.json", lambda p: wire.parse_klines(p, "BNBBTC", "1m")),
    ("my_trades.json", _my_trades),
    ("order_ack.json", lambda p: wire.parse_order(p, _ACK_REQUEST)),
    ("order_result.json", wire.parse_order),
    ("order_full.json", _fills),
    ("order_full_ccxt_solusdt.json", _fills),
    ("order_query.json", wire.parse_order),
    ("order_cancel.json", wire.parse_order),
    ("order_list_oco.json", wire.parse_order_list),
    ("ticker_price.json", wire.parse_ticker_price),
    ("time.json", wire.parse_server_time),
    ("stream_kline.json", _market),
    ("stream_trade.json", _market),
    ("stream_agg_trade.json", _market),
    ("stream_book_ticker.json", _market),
    ("user_execution_report.json", wire.parse_user_event),
    ("user_list_status.json", lambda p: wire.parse_user_event(p, {28: _ORDER})),
    ("user_account_position.json", wire.parse_user_event),
    ("user_balance_update.json", wire.parse_user_event),
    ("user_external_lock_update.json", wire.parse_user_event),
]


@pytest.mark.parametrize(("resource", "parse"), PARSERS, ids=[name for name, _ in PARSERS])
def test_recorded_payload_parses(resource: str, parse: Callable[[Any], Any]) -> None:
    """The unbroken payload is accepted: the fuzzing below starts from something valid."""
    parse(load(resource))


@pytest.mark.parametrize(("resource", "parse"), PARSERS, ids=[name for name, _ in PARSERS])
@given(data=st.data())
def test_broken_payload_is_a_model_or_a_wire_format_error(
    resource: str, parse: Callable[[Any], Any], data: st.DataObject
) -> None:
    payload = data.draw(mutated(load(resource)))
    with contextlib.suppress(wire.WireFormatError):
        parse(payload)


@given(data=st.data())
def test_combined_stream_envelopes(data: st.DataObject) -> None:
    envelope = {"stream": "bnbbtc@kline_1m", "data": load("stream_kline.json")}
    with contextlib.suppress(wire.WireFormatError):
        _market(data.draw(mutated(envelope)))


@pytest.mark.parametrize("bad", ["abc", ["abc"], [None], 7])
def test_symbol_filters_that_are_not_objects(bad: Any) -> None:
    """Found by the fuzzing above (it escaped as an AttributeError and broke the start-up)."""
    info = load("exchange_info.json")
    info["symbols"][0]["filters"] = bad
    with pytest.raises(wire.WireFormatError):
        wire.parse_exchange_info(info)
