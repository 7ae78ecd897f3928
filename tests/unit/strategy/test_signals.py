"""One rule, two evaluations: whole-series (backtest) and bar by bar (live) must agree."""

from __future__ import annotations

import pytest
import torch

from binance_bot.errors import ConfigError
from binance_bot.strategy import available, gt, le, lt, make_strategy
from binance_bot.strategy.features import FeatureCache, StreamingFeatures, batch_signals

STRATEGIES = ["sma_cross", "ema_trend", "confirmed"]


def stream(strategy, bars, trend="30m"):
    sf = StreamingFeatures(strategy, interval=bars.interval, trend_interval=trend)
    entries, exits = [], []
    for row in bars.rows():
        d = sf.update(int(row[0]), *map(float, row[1:]))
        entries.append(d.entry)
        exits.append(d.exit)
    return torch.tensor(entries), torch.tensor(exits)


def batch(strategy, bars, trend="30m"):
    return batch_signals(
        strategy, FeatureCache(bars.series, bars.open_time, interval=bars.interval, trend_interval=trend)
    )


@pytest.mark.parametrize("name", STRATEGIES)
def test_streaming_equals_batch_on_real_candles(name: str, real_5m) -> None:
    strategy = make_strategy(name)
    sig = batch(strategy, real_5m)
    entries, exits = stream(strategy, real_5m)
    assert int(sig.entry.sum()) > 10, "the data should exercise the entry rule"
    assert torch.equal(sig.entry, entries)
    assert torch.equal(sig.exit, exits)


@pytest.mark.parametrize("name", STRATEGIES)
def test_streaming_equals_batch_across_exchange_gaps(name: str, real_1h_with_gaps) -> None:
    strategy = make_strategy(name)
    sig = batch(strategy, real_1h_with_gaps, trend="4h")
    entries, exits = stream(strategy, real_1h_with_gaps, trend="4h")
    assert torch.equal(sig.entry, entries)
    assert torch.equal(sig.exit, exits)


@pytest.mark.parametrize("name", STRATEGIES)
def test_no_look_ahead(name: str, synthetic_5m) -> None:
    """Signals up to bar t are unchanged when every bar after t is removed."""
    strategy = make_strategy(name)
    full = batch(strategy, synthetic_5m)
    for cut in (777, 2_501, 4_999):
        part = batch(strategy, synthetic_5m.head(cut))
        assert torch.equal(part.entry, full.entry[:cut])
        assert torch.equal(part.exit, full.exit[:cut])


def test_trend_is_long_only_when_emas_rise() -> None:
    """The original bot's sign error: its 'long' trend test required EMA50 > EMA26 > EMA9."""
    s = make_strategy("ema_trend")
    up = {"trend_ema_fast": 103.0, "trend_ema_mid": 102.0, "trend_ema_slow": 101.0}
    down = {"trend_ema_fast": 101.0, "trend_ema_mid": 102.0, "trend_ema_slow": 103.0}
    assert s.trend_up(up) is True
    assert s.trend_up(down) is False


def test_comparisons_ignore_rounding_noise_and_nan() -> None:
    assert not gt(1.0, 1.0 + 1e-14)
    assert not gt(1.0 + 1e-14, 1.0)
    assert gt(1.0 + 1e-6, 1.0)
    assert le(1.0 + 1e-14, 1.0)
    assert not lt(float("nan"), 1.0)
    assert not gt(float("nan"), 1.0)
    t = torch.tensor([1.0, 2.0, float("nan")])
    assert gt(t, torch.tensor([0.5, 2.0, 0.0])).tolist() == [True, False, False]


def test_registry_and_parameters() -> None:
    assert available() == ["confirmed", "ema_trend", "sma_cross"]
    s = make_strategy("sma_cross", {"fast": "5", "slow": 20})
    assert (s.params.fast, s.params.slow) == (5, 20)
    with pytest.raises(ConfigError, match="unknown parameter"):
        make_strategy("sma_cross", {"fats": 5})
    with pytest.raises(ConfigError, match="fast .* must be < slow"):
        make_strategy("sma_cross", {"fast": 50, "slow": 20})
    with pytest.raises(ConfigError, match="unknown strategy 'moon'"):
        make_strategy("moon")
    with pytest.raises(ConfigError, match="expected int"):
        make_strategy("ema_trend", {"ema_fast": "nine"})
    assert make_strategy("ema_trend").search_space["ema_fast"].values() == [5, 7, 9, 11, 13, 15]


def test_sma_cross_enters_on_the_cross_bar_only() -> None:
    s = make_strategy("sma_cross", {"fast": 2, "slow": 3})
    closes = [10.0, 10, 10, 9, 8, 9, 11, 12, 13, 12, 10, 9]
    series = {k: torch.tensor(closes, dtype=torch.float64) for k in ("open", "high", "low", "close")}
    series["volume"] = torch.ones(len(closes), dtype=torch.float64)
    sig = batch_signals(s, FeatureCache(series, torch.arange(len(closes)) * 60_000, interval="1m"))
    # fast SMA(2) crosses above slow SMA(3) at index 6 (10 vs 9.33), not again while above
    assert sig.entry.nonzero().flatten().tolist() == [6]
    assert sig.exit.nonzero().flatten().tolist() == [3, 4, 5, 10, 11]
