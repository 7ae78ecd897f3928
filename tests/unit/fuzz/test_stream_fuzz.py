"""Broken and hostile stream traffic: a counted skip, never a crash, never an order.

* Market and user-data frames, truncated, garbled or mutated, go through the streams' own
  text handlers: a frame is an event, or it is counted as malformed and skipped; the only
  exception a handler may raise is ``Reconnect`` (the server said it is closing).
* Execution reports that parse but are about orders the bot never sent (another program's,
  a manual trade, a forged message), with any status, side, quantity or price, reach the
  engine: no order may follow from them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.engine.harness import SYMBOL, Harness, bars_from, flat_closes
from tests.unit.fuzz.mutations import mutated, truncated_text

from binance_bot.exchange.binance import wire
from binance_bot.exchange.binance.endpoints import Endpoints
from binance_bot.exchange.binance.signing import HmacSigner
from binance_bot.exchange.binance.streams import BinanceMarketStream
from binance_bot.exchange.binance.user_stream import BinanceUserStream
from binance_bot.exchange.binance.ws import Reconnect
from binance_bot.model import Bar

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "binance"
MARKET = ["stream_kline.json", "stream_trade.json", "stream_agg_trade.json", "stream_book_ticker.json"]
USER = [
    "user_execution_report.json",
    "user_list_status.json",
    "user_account_position.json",
    "user_balance_update.json",
    "user_external_lock_update.json",
]


def load(name: str) -> Any:
    return json.loads((RESOURCES / name).read_text())


class NoHistory:
    """A kline source with nothing to repair gaps from (a backfill finds no bars)."""

    async def klines(self, *args: Any, **kwargs: Any) -> list[Bar]:
        return []

    async def server_time(self) -> int:
        return 0


@st.composite
def frames(draw: st.DrawFn, names: list[str], *, combined: bool) -> str:
    payload = load(draw(st.sampled_from(names)))
    if combined:
        payload = {"stream": "bnbbtc@kline_1m", "data": payload}
    if draw(st.booleans()):
        payload = draw(mutated(payload))
    text = json.dumps(payload)
    return draw(truncated_text(text)) if draw(st.booleans()) else text


async def _market_frame(text: str) -> tuple[int, int]:
    stream = BinanceMarketStream(
        Endpoints("local", "http://127.0.0.1:9", "ws://127.0.0.1:9", ""), NoHistory()
    )
    await stream._on_text(text)
    return stream.counters.malformed, stream._events.qsize() + stream._trades.qsize()


async def _user_frame(text: str) -> tuple[int, int]:
    stream = BinanceUserStream(
        "ws://127.0.0.1:9", api_key="key", signer=HmacSigner("secret-value"), now_ms=lambda: 0
    )
    with contextlib.suppress(Reconnect):
        await stream.on_text(text)
    return stream.malformed, stream._events.qsize()


@given(text=frames(MARKET, combined=True))
def test_market_frames_are_events_or_counted_skips(text: str) -> None:
    malformed, queued = asyncio.run(_market_frame(text))
    assert malformed + queued <= 1
    try:
        message = json.loads(text)
        _, inner = wire.unwrap_combined(message)
        wire.parse_market_event(inner, 0)
    except (ValueError, wire.WireFormatError):
        assert malformed == 1


@given(text=frames(USER, combined=False))
def test_user_frames_are_events_or_counted_skips(text: str) -> None:
    malformed, queued = asyncio.run(_user_frame(text))
    assert malformed + queued <= 1
    try:
        wire.parse_user_event(json.loads(text))
    except (ValueError, wire.WireFormatError):
        assert malformed == 1


@st.composite
def foreign_reports(draw: st.DrawFn) -> Any:
    """An execution report on the traded symbol about an order the bot never sent."""
    payload = load("user_execution_report.json")
    payload.update(
        s=SYMBOL,
        c=draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=36)),
        C="",
        S=draw(st.sampled_from(["BUY", "SELL"])),
        x=draw(st.sampled_from(["NEW", "TRADE", "CANCELED", "EXPIRED"])),
        X=draw(st.sampled_from(["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED"])),
        o=draw(st.sampled_from(["MARKET", "LIMIT", "STOP_LOSS_LIMIT", "LIMIT_MAKER"])),
        l=draw(st.sampled_from(["0.5", "1", "100", "-1", "0", "1e9"])),
        L=draw(st.sampled_from(["100", "0.01", "-5", "99999999"])),
        z=draw(st.sampled_from(["0.5", "1", "100"])),
        t=draw(st.integers(1, 10**6)),
        N=draw(st.sampled_from(["TEST", "USDT", "BNB", ""])),
    )
    return draw(mutated(payload, 2)) if draw(st.booleans()) else payload


async def _foreign_report_scenario(payload: Any) -> tuple[int, int]:
    h = Harness()
    await h.start()
    try:
        try:
            event = wire.parse_user_event(payload)
        except wire.WireFormatError:
            return 0, 0
        if event is None:
            return 0, 0
        try:  # the user loop counts and skips what it cannot handle; so does this
            await h.kernel.handle_user_event(event)
        except Exception:
            h.kernel.metrics.malformed_events += 1
        # flat bars: the strategy never signals, so any order would come from the report
        await h.feed(bars_from(flat_closes([100.0] * 6)))
        return len(h.orders()), h.kernel.portfolio.open_count
    finally:
        await h.stop()


@settings(max_examples=40)
@given(payload=foreign_reports())
def test_reports_about_orders_we_never_sent_never_lead_to_an_order(payload: Any) -> None:
    orders, positions = asyncio.run(_foreign_report_scenario(payload))
    assert orders == 0
    assert positions == 0
