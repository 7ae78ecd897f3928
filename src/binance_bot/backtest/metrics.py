"""Performance metrics of a backtest: pure functions of an equity curve and round trips.

Every function works on a single run or on many at once (a sweep): the time axis (or the
trade axis) is the last one, so ``[rows, bars]`` arrays give one value per row.

Definitions (``E_0`` is the starting capital, ``E_1..E_T`` the equity after each of the ``T``
trading bars, ``A`` the bars in a year: ``365 days / interval``, markets never close):

* returns ``r_t = E_t / E_(t-1) - 1`` for ``t = 1..T``;
* **total return** ``E_T / E_0 - 1``;
* **CAGR** ``(E_T / E_0) ^ (A / T) - 1`` (``-1`` when everything was lost);
* **Sharpe** ``mean(r) / std(r) x sqrt(A)``, sample standard deviation, no risk-free rate;
* **Sortino** ``mean(r) / sqrt(mean(min(r, 0)^2)) x sqrt(A)`` (downside deviation over every
  bar, as empyrical and quantstats define it; ``inf`` without a losing bar);
* **max drawdown** ``max_t (1 - E_t / max_(s<=t) E_s)`` with ``E_0`` in the running peak, as a
  positive fraction; its **duration** is the longest run of bars spent below a previous peak
  (until the peak is regained, or the end), in bars and in days;
* **Calmar** ``CAGR / max drawdown``;
* over round trips with ``pnl = proceeds - cost`` (fees included): **trades**, **win rate**
  ``#(pnl > 0) / trades``, **profit factor** ``sum(pnl > 0) / |sum(pnl < 0)|`` (``inf``
  without a loss), **expectancy** ``mean(pnl)`` in the quote asset, **average trade**
  ``mean(pnl / cost)`` (a return per trade);
* **exposure** the fraction of trading bars whose close found a long open;
* **fees paid** every commission, in the quote asset.

Undefined values (no trades, a flat curve) are ``nan``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS


def bars_per_year(interval_ms: int) -> float:
    """``A``: bars of ``interval_ms`` in a 365-day year."""
    return YEAR_MS / interval_ms


def _with_start(equity: np.ndarray, start: float | np.ndarray) -> np.ndarray:
    e = np.asarray(equity, dtype=np.float64)
    s = np.broadcast_to(np.asarray(start, dtype=np.float64), e.shape[:-1])[..., None]
    return np.concatenate([s, e], axis=-1)


def returns(equity: np.ndarray, start: float | np.ndarray) -> np.ndarray:
    """Per-bar simple returns ``r_t`` (the first against the starting capital)."""
    e = _with_start(equity, start)
    with np.errstate(divide="ignore", invalid="ignore"):
        return e[..., 1:] / e[..., :-1] - 1.0


def total_return(equity: np.ndarray, start: float | np.ndarray) -> np.ndarray:
    e = _with_start(equity, start)
    return e[..., -1] / e[..., 0] - 1.0


def cagr(equity: np.ndarray, start: float | np.ndarray, per_year: float) -> np.ndarray:
    e = _with_start(equity, start)
    bars = e.shape[-1] - 1
    growth = e[..., -1] / e[..., 0]
    if bars == 0:
        return np.full(growth.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(growth > 0, np.power(np.maximum(growth, 1e-300), per_year / bars) - 1.0, -1.0)
    return out


def sharpe(r: np.ndarray, per_year: float) -> np.ndarray:
    r = np.asarray(r, dtype=np.float64)
    if r.shape[-1] < 2:
        return np.full(r.shape[:-1], np.nan)
    sd = r.std(axis=-1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, r.mean(axis=-1) / sd * np.sqrt(per_year), np.nan)


def sortino(r: np.ndarray, per_year: float) -> np.ndarray:
    r = np.asarray(r, dtype=np.float64)
    if r.shape[-1] < 1:
        return np.full(r.shape[:-1], np.nan)
    downside = np.sqrt(np.mean(np.minimum(r, 0.0) ** 2, axis=-1))
    mean = r.mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(downside > 0, mean / downside * np.sqrt(per_year), np.where(mean > 0, np.inf, np.nan))


def drawdown(equity: np.ndarray, start: float | np.ndarray) -> np.ndarray:
    """``1 - E_t / peak_t`` per bar (``E_0`` counts as a peak), a positive fraction."""
    e = _with_start(equity, start)
    peak = np.maximum.accumulate(e, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1.0 - e / peak)[..., 1:]


def max_drawdown(equity: np.ndarray, start: float | np.ndarray) -> np.ndarray:
    dd = drawdown(equity, start)
    return dd.max(axis=-1) if dd.shape[-1] else np.zeros(dd.shape[:-1])


def max_drawdown_bars(equity: np.ndarray, start: float | np.ndarray) -> np.ndarray:
    """The longest run of consecutive bars below the previous peak."""
    under = drawdown(equity, start) > 0
    if under.shape[-1] == 0:
        return np.zeros(under.shape[:-1], dtype=np.int64)
    idx = np.arange(under.shape[-1])
    last_dry = np.maximum.accumulate(np.where(under, -1, idx), axis=-1)
    return (idx - last_dry).max(axis=-1)


def calmar(cagr_value: np.ndarray, mdd: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mdd > 0, cagr_value / mdd, np.nan)


def trade_stats(pnl: np.ndarray, cost: np.ndarray, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Round-trip metrics; ``mask`` marks the real trades of padded ``[rows, trades]`` arrays."""
    pnl = np.asarray(pnl, dtype=np.float64)
    cost = np.asarray(cost, dtype=np.float64)
    m = np.ones(pnl.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    n = m.sum(axis=-1)
    wins = (m & (pnl > 0)).sum(axis=-1)
    losses = (m & (pnl < 0)).sum(axis=-1)
    gross_win = np.where(m & (pnl > 0), pnl, 0.0).sum(axis=-1)
    gross_loss = -np.where(m & (pnl < 0), pnl, 0.0).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        win_rate = np.where(n > 0, wins / n, np.nan)
        profit_factor = np.where(
            gross_loss > 0, gross_win / gross_loss, np.where(gross_win > 0, np.inf, np.nan)
        )
        expectancy = np.where(n > 0, np.where(m, pnl, 0.0).sum(axis=-1) / n, np.nan)
        per_trade = np.where(m & (cost > 0), pnl / np.where(cost > 0, cost, 1.0), 0.0)
        average = np.where(n > 0, per_trade.sum(axis=-1) / n, np.nan)
    return {
        "trades": n,
        "wins": wins,
        "losses": losses,
        "win_rate": win_rate,
        "profit_factor": profit_factor,
        "expectancy": expectancy,
        "average_trade": average,
    }


@dataclass(frozen=True, slots=True)
class Metrics:
    """The metrics of one run (see the module doc for each definition)."""

    start_equity: float
    final_equity: float
    total_return: float
    cagr: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    max_drawdown_bars: int
    max_drawdown_days: float
    trades: int
    wins: int
    losses: int
    win_rate: float
    profit_factor: float
    expectancy: float
    average_trade: float
    exposure: float
    fees_paid: float
    bars: int
    years: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute(
    equity: np.ndarray,
    start: float,
    interval_ms: int,
    *,
    pnl: Sequence[float] | np.ndarray = (),
    cost: Sequence[float] | np.ndarray = (),
    in_position: np.ndarray | None = None,
    fees_paid: float = 0.0,
) -> Metrics:
    """Every metric of one run from its equity curve (one value per trading bar) and trades."""
    per_year = bars_per_year(interval_ms)
    e = np.asarray(equity, dtype=np.float64)
    r = returns(e, start)
    c = float(cagr(e, start, per_year))
    mdd = float(max_drawdown(e, start))
    mdd_bars = int(max_drawdown_bars(e, start))
    t = trade_stats(np.asarray(pnl, dtype=np.float64), np.asarray(cost, dtype=np.float64))
    exposure = float(np.mean(in_position)) if in_position is not None and len(in_position) else 0.0
    return Metrics(
        start_equity=float(start),
        final_equity=float(e[-1]) if len(e) else float(start),
        total_return=float(total_return(e, start)),
        cagr=c,
        sharpe=float(sharpe(r, per_year)),
        sortino=float(sortino(r, per_year)),
        calmar=float(calmar(np.asarray(c), np.asarray(mdd))),
        max_drawdown=mdd,
        max_drawdown_bars=mdd_bars,
        max_drawdown_days=mdd_bars * interval_ms / DAY_MS,
        trades=int(t["trades"]),
        wins=int(t["wins"]),
        losses=int(t["losses"]),
        win_rate=float(t["win_rate"]),
        profit_factor=float(t["profit_factor"]),
        expectancy=float(t["expectancy"]),
        average_trade=float(t["average_trade"]),
        exposure=exposure,
        fees_paid=float(fees_paid),
        bars=len(e),
        years=len(e) / per_year,
    )


def of_run(run: Any) -> Metrics:
    """:func:`compute` for a :class:`~binance_bot.backtest.result.SymbolRun`."""
    from binance_bot.model.intervals import interval_ms

    return compute(
        run.equity,
        float(run.start_capital),
        interval_ms(run.interval),
        pnl=[float(t.pnl) for t in run.trades],
        cost=[float(t.cost) for t in run.trades],
        in_position=run.in_position,
        fees_paid=float(run.fees_paid),
    )
