"""Replaying the real candles beside the checkout: served klines are the file's, never ahead of time."""

from __future__ import annotations

from decimal import Decimal

from tests.integration.conftest import SHARED_DATA, SimulatorHandle

from binance_bot.data import read_candles
from binance_bot.exchange.binance import wire
from binance_bot.model import Bar

MINUTE = 60_000
HOUR = 60 * MINUTE


def _ohlcv(bar: Bar) -> tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]:
    return (bar.open_time, bar.open, bar.high, bar.low, bar.close, bar.volume)


async def _klines(sim: SimulatorHandle, interval: str, **params: int) -> list[Bar]:
    status, _, body = await sim.request(
        "GET", "/api/v3/klines", {"symbol": "BTCUSDT", "interval": interval, **params}
    )
    assert status == 200, body
    return wire.parse_klines(body, "BTCUSDT", interval)


async def test_klines_are_the_files_up_to_now(replay_simulator: SimulatorHandle) -> None:
    sim = replay_simulator
    now = sim.market_time
    minutes = {b.open_time: b for b in read_candles(SHARED_DATA / "BTCUSDT-1m.csv.gz").to_bars()}
    served = await _klines(sim, "1m", limit=1000)
    assert served[-1].open_time == now
    # all the history (ETH starts 15 minutes later, so BTC has 315 bars) and the bar just opened
    assert served[0].open_time == min(minutes)
    assert len(served) == (now - min(minutes)) // MINUTE + 1
    assert [_ohlcv(b) for b in served[:-1]] == [_ohlcv(minutes[b.open_time]) for b in served[:-1]]
    assert served[-1].open == minutes[now].open and served[-1].volume == 0
    assert await _klines(sim, "1m", startTime=now + MINUTE) == []
    assert (await _klines(sim, "1m", endTime=now + 10 * HOUR, limit=1))[0].open_time == now

    await sim.advance(bars=90)
    later = await _klines(sim, "1m", startTime=now, limit=90)
    assert [_ohlcv(b) for b in later] == [_ohlcv(minutes[now + i * MINUTE]) for i in range(90)]

    hours = {b.open_time: b for b in read_candles(SHARED_DATA / "BTCUSDT-1h.csv.gz").to_bars()}
    done = [b for b in await _klines(sim, "1h", limit=4) if b.open_time + HOUR <= sim.market_time]
    assert done
    assert [_ohlcv(b) for b in done] == [_ohlcv(hours[b.open_time]) for b in done]


async def test_resting_limit_fills_at_its_price_on_real_data(replay_simulator: SimulatorHandle) -> None:
    sim = replay_simulator
    minutes = read_candles(SHARED_DATA / "BTCUSDT-1m.csv.gz").to_bars()
    now = sim.market_time
    future = [b for b in minutes if now <= b.open_time < now + 60 * MINUTE]
    target = min(b.low for b in future[1:]) + Decimal("0.01")  # traded through within the hour
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01",
        "price": str(target),
    }
    status, _, placed = await sim.request("POST", "/api/v3/order", order, signed=True)
    assert status == 200 and placed["status"] == "NEW", placed
    await sim.advance(bars=60)
    status, _, trades = await sim.request("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"}, signed=True)
    assert [(t["price"], t["qty"], t["isMaker"]) for t in trades] == [(wire.wnum(target), "0.01000000", True)]
