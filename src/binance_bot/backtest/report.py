"""Self-contained HTML reports of backtests and optimisations (plotly, inlined: no network).

The page embeds plotly's JavaScript once (``include_plotlyjs=True`` on the first chart), so
it opens offline, from an e-mail attachment or an air-gapped machine. Long curves are thinned
to a few thousand points per line for the browser's sake (every trade marker is kept); the
numbers in the tables come from the full-resolution results.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from binance_bot.backtest import metrics as mt
from binance_bot.backtest.optimize import OptimizeResult
from binance_bot.backtest.run import BacktestResult

MAX_POINTS = 4000
MAX_TRADE_ROWS = 2000

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f4f4f4} td.l,th.l{text-align:left}
.note{color:#666;font-size:.85em}
"""

METRIC_ROWS: tuple[tuple[str, str], ...] = (
    ("total_return", "pct"),
    ("cagr", "pct"),
    ("sharpe", "num"),
    ("sortino", "num"),
    ("calmar", "num"),
    ("max_drawdown", "pct"),
    ("max_drawdown_days", "num"),
    ("trades", "int"),
    ("win_rate", "pct"),
    ("profit_factor", "num"),
    ("expectancy", "num"),
    ("average_trade", "pct"),
    ("exposure", "pct"),
    ("fees_paid", "num"),
    ("final_equity", "num"),
)


def fmt_value(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    v = float(value)
    if math.isnan(v):
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if kind == "pct":
        return f"{v * 100:.2f}%"
    if kind == "int":
        return f"{int(v):,}"
    return f"{v:,.2f}"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _thin(n: int) -> np.ndarray:
    if n <= MAX_POINTS:
        return np.arange(n)
    idx = np.linspace(0, n - 1, MAX_POINTS).astype(np.int64)
    return np.unique(idx)


def _dates(ms: np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(ms, dtype=np.int64), unit="ms", utc=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    head = "".join(
        f'<th class="{"l" if i < left else ""}">{html.escape(h)}</th>' for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<div style='overflow-x:auto'><table><tr>{head}</tr>{body}</table></div>"


def _page(title: str, parts: Sequence[str]) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>"
    )


class _Charts:
    """Renders figures, inlining plotly.js with the first one only."""

    def __init__(self) -> None:
        self.first = True

    def html(self, fig: go.Figure) -> str:
        out = fig.to_html(full_html=False, include_plotlyjs=self.first, config={"displaylogo": False})
        self.first = False
        return out


def monthly_returns(times: np.ndarray, equity: np.ndarray, start: float) -> pd.DataFrame:
    """Return of each calendar month (UTC), years by months, from an equity curve."""
    if not len(times):
        return pd.DataFrame()
    series = pd.Series(np.asarray(equity, dtype=np.float64), index=_dates(np.asarray(times) - 1))
    month_end = series.groupby([series.index.year, series.index.month]).last()
    previous = month_end.shift(1)
    previous.iloc[0] = start
    returns = month_end / previous - 1.0
    table = returns.unstack()
    table.index.name, table.columns.name = "year", "month"
    return table.reindex(columns=range(1, 13))


def backtest_report(result: BacktestResult, *, title: str | None = None, command: str = "") -> str:
    """The HTML page of a backtest: metrics, equity and drawdown, prices with entries and
    exits, monthly returns and the trade list."""
    charts = _Charts()
    name = title or f"Backtest: {result.strategy} {result.params}"
    metrics = result.metrics()
    parts = [f"<h1>{html.escape(name)}</h1>"]
    spec = result.spec
    parts.append(
        "<p class='note'>"
        + html.escape(
            f"engine {result.engine}; interval {result.interval}; {spec.capital} "
            f"{spec.config.trading.quote_asset} per symbol account; fees maker {spec.matching.maker_fee} / "
            f"taker {spec.matching.taker_fee}, slippage {spec.matching.slippage_bps} bps; stop "
            f"{spec.config.trading.stop_loss_margin}, take profit {spec.config.trading.take_profit_ratio}x "
            "the stop distance; orders at the next price event after the bar close."
        )
        + (f"<br>command: <code>{html.escape(command)}</code>" if command else "")
        + "</p>"
    )
    columns = list(metrics)
    rows = [[k] + [fmt_value(getattr(metrics[c], k), kind) for c in columns] for k, kind in METRIC_ROWS]
    parts.append("<h2>Summary</h2>" + _table(["metric", *columns], rows))
    for r in result.runs:
        notes = list(r.notes)
        if r.kill is not None:
            notes.append(f"kill switch at {_iso(r.kill.time)}: {r.kill.reason}")
        if r.open_position is not None:
            notes.append(f"still long {r.open_position.qty} since {_iso(r.open_position.entry_time)}")
        if notes:
            parts.append(f"<p class='note'>{html.escape(r.symbol)}: {html.escape('; '.join(notes))}</p>")

    times, equity = result.portfolio_curve()
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04)
    keep = _thin(len(times))
    fig.add_trace(go.Scatter(x=_dates(times[keep]), y=equity[keep], name="portfolio"), row=1, col=1)
    if len(result.runs) > 1:
        for r in result.runs:
            k = _thin(len(r.times))
            fig.add_trace(
                go.Scatter(x=_dates(r.times[k]), y=r.equity[k], name=r.symbol, opacity=0.6), row=1, col=1
            )
    dd = mt.drawdown(equity, float(result.start_capital)) if len(equity) else np.zeros(0)
    fig.add_trace(
        go.Scatter(
            x=_dates(times[keep]),
            y=-dd[keep] * 100,
            name="drawdown %",
            fill="tozeroy",
            line={"color": "#c33"},
        ),
        row=2,
        col=1,
    )
    fig.update_layout(height=560, title="Equity and drawdown", margin={"t": 40, "b": 30})
    parts.append("<h2>Equity and drawdown</h2>" + charts.html(fig))

    for r, d in zip(result.runs, result.data, strict=False):
        window = slice(d.trade_from, d.trade_to)
        closes = d.frame["close"].to_numpy()[window]
        ct = d.close_time[window]
        k = _thin(len(closes))
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=_dates(ct[k]), y=closes[k], name="close", line={"color": "#888"}))
        buys = [f for f in r.fills if f.side.value == "BUY"]
        sells = [f for f in r.fills if f.side.value == "SELL"]
        fig.add_trace(
            go.Scatter(
                x=_dates(np.array([f.time for f in buys], dtype=np.int64)),
                y=[float(f.price) for f in buys],
                mode="markers",
                name="entry",
                marker={"symbol": "triangle-up", "color": "#1a7f37", "size": 8},
            )
        )
        reasons = [t.exit_reason for t in r.trades] + ["open"] * (len(sells) - len(r.trades))
        fig.add_trace(
            go.Scatter(
                x=_dates(np.array([f.time for f in sells], dtype=np.int64)),
                y=[float(f.price) for f in sells],
                mode="markers",
                name="exit",
                text=reasons,
                marker={"symbol": "triangle-down", "color": "#c33", "size": 8},
            )
        )
        fig.update_layout(
            height=420, title=f"{r.symbol}: price, entries and exits", margin={"t": 40, "b": 30}
        )
        parts.append(f"<h2>{html.escape(r.symbol)}</h2>" + charts.html(fig))

    months = monthly_returns(times, equity, float(result.start_capital))
    if not months.empty:
        z = months.to_numpy() * 100
        fig = go.Figure(
            go.Heatmap(
                z=z,
                x=[datetime(2000, m, 1).strftime("%b") for m in months.columns],
                y=[str(y) for y in months.index],
                colorscale="RdYlGn",
                zmid=0,
                text=[[("" if np.isnan(v) else f"{v:.1f}%") for v in row] for row in z],
                texttemplate="%{text}",
                colorbar={"title": "%"},
            )
        )
        fig.update_layout(
            height=120 + 40 * len(months), title="Monthly returns (portfolio)", margin={"t": 40}
        )
        parts.append("<h2>Monthly returns</h2>" + charts.html(fig))

    trade_rows = []
    for r in result.runs:
        for t in r.trades:
            trade_rows.append(
                [
                    html.escape(r.symbol),
                    _iso(t.entry_time),
                    _iso(t.exit_time),
                    f"{t.entry_price:f}",
                    f"{t.exit_price:f}",
                    f"{t.qty:f}",
                    f"{t.pnl:.2f}",
                    f"{float(t.return_pct):.2f}%",
                    f"{t.fees_quote:.4f}",
                    html.escape(t.exit_reason),
                ]
            )
    trade_rows.sort(key=lambda row: row[1])
    shown = trade_rows[:MAX_TRADE_ROWS]
    note = (
        f"<p class='note'>first {MAX_TRADE_ROWS} of {len(trade_rows)} trades (all are in the JSON result)</p>"
        if len(trade_rows) > MAX_TRADE_ROWS
        else ""
    )
    parts.append(
        f"<h2>Trades ({len(trade_rows)})</h2>"
        + note
        + _table(
            [
                "symbol",
                "entry",
                "exit",
                "entry price",
                "exit price",
                "qty",
                "pnl",
                "return",
                "fees",
                "reason",
            ],
            shown,
            left=3,
        )
    )
    return _page(name, parts)


def optimize_report(result: OptimizeResult, *, top: int = 50, command: str = "") -> str:
    """The HTML page of an optimisation: ranked table (in-sample beside out-of-sample),
    the objective's heatmap over the first two parameters, and the walk-forward folds."""
    charts = _Charts()
    title = f"Optimisation: {result.strategy} ({result.method}, objective {result.objective})"
    parts = [f"<h1>{html.escape(title)}</h1>"]
    parts.append(
        "<p class='note'>"
        + html.escape(
            f"symbols {', '.join(result.symbols)}; {result.evaluated} parameter sets evaluated, "
            f"{result.invalid} refused by the strategy; ranked on {result.ranking_window}, the "
            "other windows were never used to choose."
        )
        + (f"<br>command: <code>{html.escape(command)}</code>" if command else "")
        + "</p>"
    )
    names = list(result.grid)
    windows = [w.name for w in result.windows]
    ranked = result.ranked()[:top]
    header = [*names]
    for w in windows:
        header += [f"{w} {result.objective}", f"{w} return", f"{w} win", f"{w} max dd", f"{w} trades"]
    rows = []
    for c in ranked:
        row = [str(c.params.get(n)) for n in names]
        for w in windows:
            m = c.metrics.get(w, {})
            row += [
                fmt_value(
                    m.get(result.objective),
                    "pct" if result.objective in ("total_return", "cagr", "win_rate") else "num",
                ),
                fmt_value(m.get("total_return"), "pct"),
                fmt_value(m.get("win_rate"), "pct"),
                fmt_value(m.get("max_drawdown"), "pct"),
                fmt_value(m.get("trades"), "int"),
            ]
        rows.append(row)
    parts.append(
        f"<h2>Top {len(ranked)} by {html.escape(result.ranking_window)}</h2>"
        + _table(header, rows, left=len(names))
    )
    if result.folds:
        fold_rows = [
            [
                f.name,
                html.escape(str(f.best.params)),
                fmt_value(f.best.metrics.get(f.in_window.name, {}).get(result.objective), "num"),
                fmt_value(f.best.metrics.get(f.out_window.name, {}).get(result.objective), "num"),
                fmt_value(f.best.metrics.get(f.out_window.name, {}).get("total_return"), "pct"),
                _iso(f.out_window.start_ms),
                _iso(f.out_window.end_ms),
            ]
            for f in result.folds
        ]
        chained = result.chained_out_of_sample()
        parts.append(
            "<h2>Walk-forward</h2>"
            + _table(
                [
                    "fold",
                    "chosen",
                    f"in-sample {result.objective}",
                    f"out-of-sample {result.objective}",
                    "out-of-sample return",
                    "from",
                    "to",
                ],
                fold_rows,
                left=2,
            )
            + f"<p>chained out-of-sample return: {fmt_value(chained.get('total_return'), 'pct')}</p>"
        )
    if len(names) >= 2:
        xs, ys = result.grid[names[0]], result.grid[names[1]]
        shown = [w for w in windows if w in ("in_sample", "out_of_sample")] or windows[-2:]
        fig = make_subplots(rows=1, cols=len(shown), subplot_titles=shown)
        for col, w in enumerate(shown, start=1):
            z = np.full((len(ys), len(xs)), np.nan)
            for c in result.candidates:
                value = c.metrics.get(w, {}).get(result.objective, math.nan)
                if np.isfinite(value) and c.params.get(names[0]) in xs and c.params.get(names[1]) in ys:
                    z[ys.index(c.params[names[1]]), xs.index(c.params[names[0]])] = value
            fig.add_trace(
                go.Heatmap(
                    z=z,
                    x=[str(x) for x in xs],
                    y=[str(y) for y in ys],
                    colorscale="RdYlGn",
                    coloraxis="coloraxis",
                ),
                row=1,
                col=col,
            )
            fig.update_xaxes(title_text=names[0], row=1, col=col)
            fig.update_yaxes(title_text=names[1], row=1, col=col)
        fig.update_layout(
            height=480,
            title=f"{result.objective} by {names[0]} and {names[1]}",
            coloraxis={"colorscale": "RdYlGn"},
        )
        parts.append("<h2>Heatmap</h2>" + charts.html(fig))
    elif ranked:
        ordered = sorted(result.candidates, key=lambda c: c.params[names[0]])
        fig = go.Figure()
        for w in windows[-2:]:
            fig.add_trace(
                go.Scatter(
                    x=[c.params[names[0]] for c in ordered],
                    y=[c.metrics.get(w, {}).get(result.objective) for c in ordered],
                    name=w,
                    mode="lines+markers",
                )
            )
        fig.update_layout(height=400, title=f"{result.objective} by {names[0]}")
        parts.append("<h2>Objective</h2>" + charts.html(fig))
    return _page(title, parts)
