"""Metrics: hand-computed cases, and agreement with empyrical (and quantstats when installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from binance_bot.backtest import metrics as m

HOUR = 3_600_000
A = 8760.0  # hourly bars in a 365-day year


def test_hand_computed_curve() -> None:
    # 100 -> 110 -> 99 -> 121: returns +10 %, -10 %, +22.2 %; peak 110, trough 99
    equity = np.array([110.0, 99.0, 121.0])
    r = m.returns(equity, 100.0)
    assert r == pytest.approx([0.10, -0.10, 121 / 99 - 1])
    assert m.total_return(equity, 100.0) == pytest.approx(0.21)
    assert m.cagr(equity, 100.0, A) == pytest.approx(1.21 ** (A / 3) - 1)
    assert m.max_drawdown(equity, 100.0) == pytest.approx(0.10)
    assert m.max_drawdown_bars(equity, 100.0) == 1
    mean, sd = r.mean(), r.std(ddof=1)
    assert m.sharpe(r, A) == pytest.approx(mean / sd * math.sqrt(A))
    assert m.sortino(r, A) == pytest.approx(mean / math.sqrt(0.01 / 3) * math.sqrt(A))


def test_drawdown_duration_counts_bars_below_the_previous_peak() -> None:
    # peak 100 at the start, under water for 4 bars, a new peak, then 2 bars under to the end
    equity = np.array([90.0, 95.0, 80.0, 99.0, 101.0, 100.0, 100.5])
    assert m.max_drawdown_bars(equity, 100.0) == 4
    assert m.max_drawdown(equity, 100.0) == pytest.approx(0.20)
    assert m.drawdown(equity, 100.0)[-1] == pytest.approx(1 - 100.5 / 101)


def test_flat_and_rising_curves() -> None:
    flat = np.full(5, 100.0)
    assert math.isnan(m.sharpe(m.returns(flat, 100.0), A))
    assert math.isnan(m.sortino(m.returns(flat, 100.0), A))
    assert m.max_drawdown(flat, 100.0) == 0
    rising = np.array([101.0, 102.0, 104.0])
    assert m.sortino(m.returns(rising, 100.0), A) == math.inf
    assert math.isnan(m.calmar(np.asarray(0.5), np.asarray(0.0)))


def test_trades_hand_computed() -> None:
    pnl = np.array([10.0, -5.0, 20.0, -5.0, 0.0])
    cost = np.array([100.0, 100.0, 200.0, 50.0, 100.0])
    t = m.trade_stats(pnl, cost)
    assert (t["trades"], t["wins"], t["losses"]) == (5, 2, 2)
    assert t["win_rate"] == pytest.approx(0.4)
    assert t["profit_factor"] == pytest.approx(30 / 10)
    assert t["expectancy"] == pytest.approx(4.0)
    assert t["average_trade"] == pytest.approx((0.1 - 0.05 + 0.1 - 0.1 + 0) / 5)
    none = m.trade_stats(np.array([]), np.array([]))
    assert none["trades"] == 0 and math.isnan(none["win_rate"]) and math.isnan(none["profit_factor"])
    only_wins = m.trade_stats(np.array([1.0, 2.0]), np.array([10.0, 10.0]))
    assert only_wins["profit_factor"] == math.inf


def test_rows_are_independent() -> None:
    rng = np.random.default_rng(3)
    curves = 1000 * np.cumprod(1 + rng.normal(0, 0.01, (4, 300)), axis=1)
    starts = np.array([1000.0, 1000.0, 990.0, 1010.0])
    batch = m.sharpe(m.returns(curves, starts), A)
    one = [float(m.sharpe(m.returns(curves[i], starts[i]), A)) for i in range(4)]
    assert batch == pytest.approx(one)
    pnl = rng.normal(0, 1, (3, 7))
    mask = np.arange(7)[None, :] < np.array([[7], [3], [0]])
    rows = m.trade_stats(pnl, np.ones_like(pnl), mask)
    assert rows["trades"].tolist() == [7, 3, 0]
    assert rows["expectancy"][1] == pytest.approx(pnl[1, :3].mean())


def test_compute_collects_everything() -> None:
    equity = np.array([110.0, 99.0, 121.0])
    got = m.compute(
        equity,
        100.0,
        HOUR,
        pnl=[15.0, -4.0],
        cost=[50.0, 40.0],
        in_position=np.array([1, 1, 0]),
        fees_paid=0.3,
    )
    assert got.total_return == pytest.approx(0.21)
    assert got.calmar == pytest.approx(got.cagr / 0.10)
    assert got.max_drawdown_days == pytest.approx(1 / 24)
    assert got.exposure == pytest.approx(2 / 3)
    assert (got.trades, got.win_rate, got.fees_paid, got.bars) == (2, 0.5, 0.3, 3)
    assert got.years == pytest.approx(3 / A)


@pytest.fixture
def sample() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    r = rng.standard_t(4, 2000) * 0.004 + 0.0002
    equity = 10_000 * np.cumprod(1 + r)
    return equity, r


def test_against_empyrical(sample: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch) -> None:
    empyrical = pytest.importorskip("empyrical")
    # empyrical 0.5.5 still reads np.NINF, which NumPy 2 removed; give it the constant back
    monkeypatch.setattr(np, "NINF", -np.inf, raising=False)
    equity, r = sample
    ours = m.returns(equity, 10_000.0)
    assert ours == pytest.approx(r, rel=1e-9)
    assert m.sharpe(ours, A) == pytest.approx(empyrical.sharpe_ratio(r, annualization=A), rel=1e-9)
    assert m.sortino(ours, A) == pytest.approx(empyrical.sortino_ratio(r, annualization=A), rel=1e-9)
    assert m.max_drawdown(equity, 10_000.0) == pytest.approx(-empyrical.max_drawdown(r), rel=1e-9)
    cagr = m.cagr(equity, 10_000.0, A)
    assert cagr == pytest.approx(empyrical.annual_return(r, annualization=A), rel=1e-9)
    mdd = m.max_drawdown(equity, 10_000.0)
    assert m.calmar(cagr, mdd) == pytest.approx(empyrical.calmar_ratio(r, annualization=A), rel=1e-9)


def test_against_quantstats(sample: tuple[np.ndarray, np.ndarray]) -> None:
    qs = pytest.importorskip("quantstats")
    import pandas as pd

    equity, r = sample
    series = pd.Series(r, index=pd.date_range("2024-01-01", periods=len(r), freq="h"))
    ours = m.returns(equity, 10_000.0)
    assert m.sharpe(ours, A) == pytest.approx(qs.stats.sharpe(series, periods=A), rel=1e-9)
    assert m.sortino(ours, A) == pytest.approx(qs.stats.sortino(series, periods=A), rel=1e-9)
    assert m.max_drawdown(equity, 10_000.0) == pytest.approx(-qs.stats.max_drawdown(series), rel=1e-9)
