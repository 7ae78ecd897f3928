"""The wire parsers read Binance's published payloads (see tests/resources/binance/README.md)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from binance_bot.exchange.binance import wire
from binance_bot.model import (
    AccountUpdate,
    BarEvent,
    BookTickerEvent,
    ExecutionReport,
    ExecutionType,
    ListStatus,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SymbolStatus,
    Trade,
)

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "binance"


def load(name: str) -> Any:
    return json.loads((RESOURCES / name).read_text())


def test_exchange_info_rules_and_rate_limits() -> None:
    info = wire.parse_exchange_info(load("exchange_info.json"))
    assert info.server_time == 1565246363776
    weight = info.rate_limits[0]
    assert (weight.rate_limit_type, weight.limit, weight.window_seconds, weight.header_suffix) == (
        "REQUEST_WEIGHT",
        6000,
        60,
        "1M",
    )
    assert [r.header_suffix for r in info.rate_limits] == ["1M", "10S", "1D", "5M"]
    btc = info.symbols["BTCUSDT"]
    assert btc.tick_size == Decimal("0.01")
    assert btc.step_size == Decimal("0.00001")
    assert btc.min_notional == Decimal("5")
    assert btc.market_max_qty == Decimal("128.52621715")
    assert btc.max_num_orders == 200
    assert btc.bid_multiplier_down == Decimal("0.2")
    assert info.symbols["ETHBTC"].status is SymbolStatus.TRADING
    assert "STOP_LOSS" not in btc.order_types


def test_klines_rows() -> None:
    bars = wire.parse_klines(load("klines_bnbbtc_1m.json"), "BNBBTC", "1m")
    assert len(bars) == 2
    b = bars[1]
    assert (b.open_time, b.close_time, b.trades) == (1519892340000, 1519892399999, 154)
    assert (b.open, b.high, b.low, b.close) == (
        Decimal("0.00099400"),
        Decimal("0.00099810"),
        Decimal("0.00099400"),
        Decimal("0.00099810"),
    )
    assert b.quote_volume == Decimal("4.78553253")
    assert b.taker_buy_quote == Decimal("1.77837524")
    assert b.ohlc_problem() is None


def test_tickers_depth_avg_time() -> None:
    assert wire.parse_ticker_price(load("ticker_price.json")) == ("LTCBTC", Decimal("4.00000200"))
    bt = wire.parse_book_ticker(load("book_ticker.json"))
    assert (bt.bid_price, bt.ask_qty) == (Decimal("4"), Decimal("9"))
    book = wire.parse_depth(load("depth.json"), "LTCBTC")
    assert book.last_update_id == 1027024
    assert book.best_bid == Decimal("4") and book.best_ask == Decimal("4.000002")
    assert wire.parse_avg_price(load("avg_price.json")) == Decimal("9.35751834")
    assert wire.parse_server_time(load("time.json")) == 1499827319559


def test_order_ack_needs_the_request() -> None:
    with pytest.raises(wire.WireFormatError) as err:
        wire.parse_order(load("order_ack.json"))
    assert err.value.field == "status"
    req = OrderRequest(
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        client_order_id="6gCrw2kRUAF9CvJDGP16IP",
        quantity=Decimal("1"),
        price=Decimal("100"),
    )
    order = wire.parse_order(load("order_ack.json"), req)
    assert (order.order_id, order.status, order.price, order.time) == (
        28,
        OrderStatus.NEW,
        Decimal("100"),
        1507725176595,
    )


def test_order_result_and_full() -> None:
    result = wire.parse_order(load("order_result.json"))
    assert result.status is OrderStatus.FILLED and result.side is Side.SELL
    assert result.executed_qty == Decimal("10") and result.fills == ()
    full = wire.parse_order(load("order_full.json"))
    (fill,) = full.fills
    assert (fill.trade_id, fill.price, fill.commission_asset, fill.order_id) == (
        56,
        Decimal("4000"),
        "USDT",
        28,
    )
    assert fill.client_order_id == "6gCrw2kRUAF9CvJDGP16IP" and fill.time == 1507725176595
    assert not fill.is_maker


def test_order_with_string_ids_from_a_recorder() -> None:
    order = wire.parse_order(load("order_full_ccxt_solusdt.json"))
    assert (order.order_id, order.order_list_id, order.time) == (9780331417, -1, 1737635557417)
    assert order.status is OrderStatus.NEW and order.fills == ()


def test_order_query_and_cancel() -> None:
    q = wire.parse_order(load("order_query.json"))
    assert (q.client_order_id, q.price, q.time, q.is_open) == (
        "myOrder1",
        Decimal("0.1"),
        1499827319559,
        True,
    )
    c = wire.parse_order(load("order_cancel.json"))
    # clientOrderId of a cancel report is the cancel's id; the order keeps its own
    assert c.client_order_id == "myOrder1"
    assert c.status is OrderStatus.CANCELED and c.update_time == 1684804350068


def test_order_list() -> None:
    ol = wire.parse_order_list(load("order_list_oco.json"))
    assert ol.order_list_id == 1 and ol.list_order_status == "EXECUTING"
    assert [o.type for o in ol.orders] == [OrderType.STOP_LOSS_LIMIT, OrderType.LIMIT_MAKER]
    assert ol.orders[0].stop_price == Decimal("1") and ol.orders[0].order_list_id == 1
    assert ol.transaction_time == 1710485608839


def test_account_trades_restrictions() -> None:
    (bal,) = wire.parse_account(load("account.json"))
    assert (bal.asset, bal.free, bal.locked) == ("BTC", Decimal("4723846.89208129"), Decimal("0"))
    (fill,) = [wire.parse_my_trade(r) for r in load("my_trades.json")]
    assert (fill.side, fill.trade_id, fill.order_id, fill.commission_asset) == (
        Side.BUY,
        28457,
        100234,
        "BNB",
    )
    r = wire.parse_api_restrictions(load("api_restrictions.json"))
    assert r.enable_withdrawals is False and r.enable_reading is True


def test_error_bodies() -> None:
    assert wire.parse_error(load("error_filter.json")) == (-1013, "Filter failure: LOT_SIZE")
    code, msg = wire.parse_error(load("error_429.json"))
    assert code == -1003 and "6000" in msg


def test_stream_payloads() -> None:
    ev = wire.parse_kline_event(load("stream_kline.json"))
    assert isinstance(ev, BarEvent)
    assert (ev.bar.symbol, ev.bar.interval, ev.bar.closed, ev.bar.high) == (
        "BNBBTC",
        "1m",
        False,
        Decimal("0.0025"),
    )
    bt = wire.parse_market_event(load("stream_book_ticker.json"), 7)
    assert isinstance(bt, BookTickerEvent) and bt.ticker.update_id == 400900217 and bt.event_time == 7
    agg = wire.parse_market_event(load("stream_agg_trade.json"), 0)
    assert agg == Trade("BNBBTC", 12345, Decimal("0.001"), Decimal("100"), 1672515782136, True)
    tr = wire.parse_market_event(load("stream_trade.json"), 0)
    assert isinstance(tr, Trade) and tr.trade_id == 12345
    wrapped = wire.wrap_combined("bnbbtc@kline_1m", load("stream_kline.json"))
    name, data = wire.unwrap_combined(wrapped)
    assert name == "bnbbtc@kline_1m" and wire.parse_market_event(data, 0) == ev


def test_user_events() -> None:
    er = wire.parse_user_event(load("user_execution_report.json"))
    assert isinstance(er, ExecutionReport)
    assert er.execution_type is ExecutionType.NEW and er.fill is None
    assert (er.order.order_id, er.order.price, er.order.time) == (
        4293153,
        Decimal("0.10264410"),
        1499405658657,
    )
    ap = wire.parse_user_event({"subscriptionId": 0, "event": load("user_account_position.json")})
    assert isinstance(ap, AccountUpdate) and ap.balances[0].free == Decimal("10000")
    bu = wire.parse_user_event(load("user_balance_update.json"))
    assert isinstance(bu, wire.BalanceDelta) and bu.delta == Decimal("100")
    ls = wire.parse_user_event(load("user_list_status.json"))
    assert isinstance(ls, ListStatus)
    assert ls.order_list.list_client_order_id == "F4QN4G8DlFATFlIUQ0cjdD"
    # the leg was described only by id and nothing else is known about it: not invented
    assert ls.order_list.orders == ()
    assert wire.parse_user_event(load("user_external_lock_update.json")) is None


def test_list_status_fills_legs_from_known_orders() -> None:
    er = wire.parse_execution_report(
        {**load("user_execution_report.json"), "i": 17, "c": "AJYsMjErWJesZvqlJCTUgL", "g": 2}
    )
    ls = wire.parse_list_status_event(load("user_list_status.json"), {17: er.order})
    assert ls.order_list.orders == (er.order,)
