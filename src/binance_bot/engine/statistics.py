"""Trading statistics in the shape the design documents show, plus the risk figures.

``total_trades``, ``wins``, ``losses``, ``win_rate`` and ``total_pnl`` as formatted text,
``api_metrics`` with ``cache_hit_rate`` and ``avg_request_time``, then profit factor,
maximum drawdown and exposure (share of time with at least one open position).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from binance_bot.model import ClosedTrade
from binance_bot.model.numbers import ZERO


def max_drawdown(curve: Sequence[tuple[int, Decimal]]) -> Decimal:
    """Largest fall from a running peak, as a fraction of that peak (0 when flat)."""
    peak = ZERO
    worst = ZERO
    for _, value in curve:
        peak = max(peak, value)
        if peak > 0:
            worst = max(worst, (peak - value) / peak)
    return worst


def exposure(
    trades: Iterable[ClosedTrade], start_ms: int, end_ms: int, open_since: Iterable[int] = ()
) -> float:
    """Fraction of ``[start, end]`` during which at least one position was open."""
    if end_ms <= start_ms:
        return 0.0
    spans = sorted([(t.entry_time, t.exit_time) for t in trades] + [(s, end_ms) for s in open_since])
    covered, cur_start, cur_end = 0, None, None
    for s, e in spans:
        s, e = max(s, start_ms), min(e, end_ms)
        if e <= s:
            continue
        if cur_end is None or s > cur_end:
            if cur_end is not None and cur_start is not None:
                covered += cur_end - cur_start
            cur_start, cur_end = s, e
        else:
            cur_end = max(cur_end, e)
    if cur_end is not None and cur_start is not None:
        covered += cur_end - cur_start
    return covered / (end_ms - start_ms)


def trading_statistics(
    trades: Sequence[ClosedTrade],
    *,
    curve: Sequence[tuple[int, Decimal]] = (),
    start_ms: int = 0,
    end_ms: int = 0,
    open_since: Iterable[int] = (),
    api: dict[str, Any] | None = None,
    currency: str = "$",
) -> dict[str, Any]:
    wins = [t for t in trades if t.pnl > 0]
    losses = [t for t in trades if t.pnl <= 0]
    total = sum((t.pnl for t in trades), ZERO)
    gross_win = sum((t.pnl for t in wins), ZERO)
    gross_loss = -sum((t.pnl for t in losses), ZERO)
    pf = float(gross_win / gross_loss) if gross_loss > 0 else (float("inf") if gross_win > 0 else 0.0)
    api = api or {}
    hit = api.get("cache_hit_rate", 0.0)
    avg_ms = api.get("latency_avg_ms", api.get("avg_request_time_ms", 0.0))
    return {
        "total_trades": len(trades),
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": f"{(len(wins) / len(trades) * 100) if trades else 0:.2f}%",
        "total_pnl": f"{currency}{total:.2f}",
        "profit_factor": round(pf, 4) if pf != float("inf") else "inf",
        "max_drawdown": f"{max_drawdown(curve) * 100:.2f}%",
        "exposure": f"{exposure(trades, start_ms, end_ms, open_since) * 100:.2f}%",
        "fees_paid": f"{currency}{sum((t.fees_quote for t in trades), ZERO):.2f}",
        "api_metrics": {
            "cache_hit_rate": f"{float(hit) * 100:.2f}%",
            "avg_request_time": f"{float(avg_ms):.2f}ms",
            **{k: v for k, v in api.items() if k not in ("cache_hit_rate",)},
        },
    }
