"""The synthetic market: determinism, exchange-legal candles, and the stylized facts."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from binance_bot.data import (
    KNOWN_PROFILES,
    CandleFrame,
    SyntheticMarket,
    default_symbol_rules,
    generate_candles,
    symbol_profile,
    validate_frame,
)
from binance_bot.data.synthetic import DEFAULT_START_MS, REGIMES, parse_start, split_symbol
from binance_bot.model import OrderType, Side, SymbolRules

MINUTE = 60_000


@pytest.fixture(scope="module")
def month() -> CandleFrame:
    """30 days of BTCUSDT 1m candles, generated once for the statistical tests."""
    return generate_candles("BTCUSDT", "1m", count=30 * 1440, seed=7)


def test_same_seed_same_market_other_seed_other_market() -> None:
    a = generate_candles("ETHUSDT", "5m", count=500, seed=1).frame
    b = generate_candles("ETHUSDT", "5m", count=500, seed=1).frame
    c = generate_candles("ETHUSDT", "5m", count=500, seed=2).frame
    assert a.equals(b) and not a.equals(c)
    other_symbol = generate_candles("BNBUSDT", "5m", count=500, seed=1).frame
    assert not np.allclose(
        a["close"] / a["close"].iat[0], other_symbol["close"] / other_symbol["close"].iat[0]
    )


def test_stream_chunking_and_random_access_agree() -> None:
    one_by_one = SyntheticMarket("BTCUSDT", "1m", seed=3)
    singles = [one_by_one.next_bar() for _ in range(300)]
    assert one_by_one.position == 300 and one_by_one.next_open_time == DEFAULT_START_MS + 300 * MINUTE
    chunked = SyntheticMarket("BTCUSDT", "1m", seed=3)
    assert chunked.next_bars(120) + chunked.next_bars(180) == singles
    # random access neither needs nor moves the stream, forwards or backwards
    assert one_by_one.bars(DEFAULT_START_MS + 250 * MINUTE, 50) == singles[250:]
    assert one_by_one.bars(DEFAULT_START_MS + 10 * MINUTE, 20) == singles[10:30]
    assert one_by_one.position == 300
    assert (
        one_by_one.next_bar()
        == SyntheticMarket("BTCUSDT", "1m", seed=3).bars(DEFAULT_START_MS + 300 * MINUTE, 1)[0]
    )
    assert one_by_one.last_close == singles[-1].close + 0 or one_by_one.last_close != singles[-1].close


def test_frame_and_bars_are_the_same_candles() -> None:
    market = SyntheticMarket("XRPUSDT", "15m", seed=5)
    frame = market.frame(DEFAULT_START_MS, 400)
    bars = market.bars(DEFAULT_START_MS, 400)
    assert frame.to_bars() == bars  # exact Decimals survive the float frame
    assert (frame.symbol, frame.interval, frame.format) == ("XRPUSDT", "15m", "synthetic")


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "BNBUSDT", "DOGEUSDT", "ZZTOPUSDT", "ETHBTC"])
def test_candles_are_valid_and_exchange_legal(symbol: str) -> None:
    market = SyntheticMarket(symbol, "1h", seed=11)
    bars = market.next_bars(24 * 60)
    rules = market.rules
    assert rules == default_symbol_rules(symbol)
    tick, step = rules.tick_size, rules.step_size
    first = bars[0]
    assert first.open == symbol_profile(symbol).start_price
    for b in bars:
        assert b.ohlc_problem() is None
        for price in (b.open, b.high, b.low, b.close):
            assert price % tick == 0 and rules.min_price <= price <= rules.max_price
        assert b.volume % step == 0 and b.taker_buy_base % step == 0
        assert b.low * b.volume <= b.quote_volume <= b.high * b.volume
        assert 0 <= b.taker_buy_base <= b.volume and 0 <= b.taker_buy_quote <= b.quote_volume
        assert b.trades >= 1 and b.close_time == b.open_time + 3_599_999
    # an order sized at the minimum notional on any close passes every filter
    b = bars[-1]
    qty = rules.round_qty(rules.min_notional * 2 / b.close) + step
    assert rules.violations(side=Side.BUY, order_type=OrderType.LIMIT, quantity=qty, price=b.close) == []
    # consecutive candles join up: each opens at the previous close
    assert all(n.open == p.close for p, n in itertools.pairwise(bars))
    report = validate_frame(market.frame(DEFAULT_START_MS, 24 * 60))
    assert report.ok and not report.warnings and not report.gaps


def _log_returns(frame: CandleFrame) -> np.ndarray:
    return np.diff(np.log(frame.frame["close"].to_numpy()))


def test_fat_tails(month: CandleFrame) -> None:
    r = _log_returns(month)
    z = (r - r.mean()) / r.std()
    assert float(np.mean(z**4)) > 4.0  # a normal distribution gives 3
    assert np.mean(np.abs(z) > 4) > 20 * 6.3e-5  # 20 times the share of 4-sigma moves of a normal


def test_volatility_clusters(month: CandleFrame) -> None:
    a = np.abs(_log_returns(month))
    a = a - a.mean()
    lag1 = float(np.dot(a[1:], a[:-1]) / np.dot(a, a))
    lag60 = float(np.dot(a[60:], a[:-60]) / np.dot(a, a))
    assert lag1 > 0.05 and lag60 > 0.02
    r = _log_returns(month)
    assert abs(float(np.corrcoef(r[1:], r[:-1])[0, 1])) < 0.05  # but returns stay unpredictable


def test_intraday_and_weekly_volume_pattern(month: CandleFrame) -> None:
    f = month.frame
    hour = (f["open_time"] // 3_600_000) % 24
    weekday = (f["open_time"] // 86_400_000 + 3) % 7
    busy = f["volume"][(hour >= 14) & (hour < 15)].mean()
    quiet = f["volume"][(hour >= 2) & (hour < 3)].mean()
    assert busy > 1.5 * quiet
    assert f["volume"][weekday >= 5].mean() < f["volume"][weekday < 5].mean()


def test_regimes_change_over_a_month() -> None:
    market = SyntheticMarket("BTCUSDT", "1m", seed=7)
    seen = set()
    for _ in range(30):
        market.next_frame(1440)
        seen.add(market.regime)
    assert len(seen) >= 3 and seen <= {r.name for r in REGIMES}


def test_known_profiles_and_rules() -> None:
    btc = default_symbol_rules("BTCUSDT")
    assert (btc.tick_size, btc.step_size, btc.min_notional) == (
        Decimal("0.01"),
        Decimal("0.00001"),
        Decimal("5"),
    )
    assert (btc.base_asset, btc.quote_asset, btc.max_qty) == ("BTC", "USDT", Decimal("9000"))
    assert default_symbol_rules("ETHUSDT").step_size == Decimal("0.0001")
    assert default_symbol_rules("BNBUSDT").step_size == Decimal("0.001")
    assert KNOWN_PROFILES["BTCUSDT"].start_price == Decimal("60000")
    assert KNOWN_PROFILES["ETHUSDT"].start_price == Decimal("3000")
    assert KNOWN_PROFILES["BNBUSDT"].start_price == Decimal("600")
    wire = btc.to_exchange_info()
    assert SymbolRules.from_exchange_info(wire) == btc


def test_unknown_symbols_get_a_stable_plausible_profile() -> None:
    p = symbol_profile("ZZTOPUSDT")
    assert p == symbol_profile("ZZTOPUSDT")
    assert Decimal("0.01") <= p.start_price <= Decimal("1000") and p.start_price % p.tick_size == 0
    digits = len(str(p.start_price.normalize()).replace(".", "").lstrip("0"))
    assert 4 <= digits <= 6
    assert 10 <= p.min_notional / (p.start_price * p.step_size) <= 100
    assert symbol_profile("ETHBTC").min_notional == Decimal("0.0001")
    assert symbol_profile("AAAUSDT") != symbol_profile("BBBUSDT")
    assert split_symbol("ETHBTC") == ("ETH", "BTC") and split_symbol("BTCFDUSD") == ("BTC", "FDUSD")
    with pytest.raises(ValueError, match="cannot split symbol 'FOO'"):
        split_symbol("FOO")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="fixed interval of 1m or longer"):
        SyntheticMarket("BTCUSDT", "1M")
    with pytest.raises(ValueError, match="unknown interval"):
        SyntheticMarket("BTCUSDT", "2m")
    with pytest.raises(ValueError, match="not on the 1h grid"):
        SyntheticMarket("BTCUSDT", "1h", origin_ms=DEFAULT_START_MS + MINUTE)
    with pytest.raises(ValueError, match="at or after the origin"):
        SyntheticMarket("BTCUSDT", "1h").bars(DEFAULT_START_MS - 3_600_000, 1)
    assert parse_start("2024-01-01") == DEFAULT_START_MS
    assert parse_start("2024-01-01T01:00:00Z") == DEFAULT_START_MS + 3_600_000


def test_custom_profile_sets_prices_and_rules() -> None:
    cheap = replace(KNOWN_PROFILES["BTCUSDT"], start_price=Decimal("30000"))
    market = SyntheticMarket("BTCUSDT", "4h", seed=2, profile=cheap)
    assert market.next_bar().open == Decimal("30000") and market.rules.tick_size == Decimal("0.01")
    with pytest.raises(ValueError, match="tick_size must be a power of ten"):
        replace(cheap, tick_size=Decimal("0.05"))
