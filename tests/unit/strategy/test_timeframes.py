from __future__ import annotations

import torch

from binance_bot.strategy.timeframes import TrendAggregator, aggregate


def test_streaming_aggregation_equals_batch_with_gaps(real_1h_with_gaps) -> None:
    bars = real_1h_with_gaps
    s = bars.series
    tb = aggregate(
        bars.open_time,
        s["open"],
        s["high"],
        s["low"],
        s["close"],
        s["volume"],
        interval="1h",
        trend_interval="4h",
    )
    agg = TrendAggregator("1h", "4h")
    emitted = []
    seen_at = []
    for row in bars.rows():
        for done in agg.update(int(row[0]), *map(float, row[1:])):
            emitted.append(done)
        seen_at.append(len(emitted) - 1)
    assert len(emitted) >= len(tb.open_time) - 1
    n = len(emitted)
    assert torch.equal(torch.tensor([e[0] for e in emitted]), tb.open_time[:n])
    assert torch.allclose(torch.tensor([e[4] for e in emitted], dtype=torch.float64), tb.close[:n])
    assert torch.allclose(torch.tensor([e[2] for e in emitted], dtype=torch.float64), tb.high[:n])
    assert torch.allclose(
        torch.tensor([e[5] for e in emitted], dtype=torch.float64), tb.volume[:n], rtol=1e-12
    )
    assert torch.equal(torch.tensor(seen_at), tb.last_complete)


def test_a_trend_bar_is_used_only_once_complete() -> None:
    hour = 3_600_000
    open_time = torch.arange(8) * hour  # two 4h buckets
    ones = torch.ones(8, dtype=torch.float64)
    tb = aggregate(open_time, ones, ones, ones, ones, ones, interval="1h", trend_interval="4h")
    assert tb.last_complete.tolist() == [-1, -1, -1, 0, 0, 0, 0, 1]
