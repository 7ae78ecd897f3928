"""Candle tables, rules, configurations and a test strategy for the backtester's tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from binance_bot.backtest.market import SymbolData
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.config import BotConfig, load_config
from binance_bot.matching import MatchingSettings
from binance_bot.model import SymbolRules
from binance_bot.model.intervals import interval_ms
from binance_bot.strategy.base import Feature, Strategy, Value, gt, lt

START = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def rules(symbol: str = "TESTUSDT", tick: str = "0.01", step: str = "0.001") -> SymbolRules:
    return SymbolRules(
        symbol=symbol,
        base_asset=symbol.removesuffix("USDT"),
        quote_asset="USDT",
        min_price=D(tick),
        max_price=D("1000000"),
        tick_size=D(tick),
        min_qty=D(step),
        max_qty=D("9000000"),
        step_size=D(step),
        market_max_qty=D("9000000"),
        min_notional=D("5"),
        max_notional=D("9000000"),
        apply_min_to_market=True,
        avg_price_mins=5,
        bid_multiplier_up=D(5),
        bid_multiplier_down=D("0.2"),
        ask_multiplier_up=D(5),
        ask_multiplier_down=D("0.2"),
        max_num_orders=200,
        max_num_algo_orders=5,
    )


def config(interval: str = "1m", trend: str = "5m", **sections: Mapping[str, Any]) -> BotConfig:
    overrides: dict[str, Any] = {"trading": {"interval": interval, "trend_interval": trend}}
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return load_config(overrides=overrides, environ={}, use_default_file=False).config


def spec(
    interval: str = "1m",
    *,
    capital: str = "10000",
    matching: MatchingSettings | None = None,
    **sections: Mapping[str, Any],
) -> BacktestSpec:
    return BacktestSpec(config(interval, **sections), matching or MatchingSettings(), D(capital))


def frame(
    rows: Sequence[tuple[float, float, float, float]],
    *,
    interval: str = "1m",
    start: int = START,
    open_times: Sequence[int] | None = None,
    close_times: Sequence[int] | None = None,
    volume: float = 1000.0,
) -> pd.DataFrame:
    """``(open, high, low, close)`` rows as a candle table, consecutive unless times are given."""
    step = interval_ms(interval)
    ot = np.asarray(open_times if open_times is not None else [start + i * step for i in range(len(rows))])
    ct = np.asarray(close_times if close_times is not None else ot + step - 1)
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    return pd.DataFrame(
        {
            "open_time": ot.astype(np.int64),
            "open": arr[:, 0],
            "high": arr[:, 1],
            "low": arr[:, 2],
            "close": arr[:, 3],
            "volume": np.full(len(arr), volume),
            "close_time": ct.astype(np.int64),
            "quote_volume": arr[:, 3] * volume,
            "trades": np.full(len(arr), 10.0),
            "taker_buy_base": np.full(len(arr), volume / 2),
            "taker_buy_quote": arr[:, 3] * volume / 2,
        }
    )


def data(
    table: pd.DataFrame, *, symbol_rules: SymbolRules | None = None, interval: str = "1m", trade_from: int = 0
) -> SymbolData:
    r = symbol_rules or rules()
    return SymbolData(r.symbol, interval, r, table, "test", trade_from=trade_from)


def random_market(
    seed: int, bars: int, *, start_price: float = 100.0, tick: float = 0.01, interval: str = "1m"
) -> pd.DataFrame:
    """A random walk with what the position loop must get right: jumps at the open (some
    through the stop), missing bars, candles cut short, flat and wide bars. ``tick`` is the
    prices' precision (finer than the symbol's tick for a file recorded under an older one)."""
    rng = np.random.default_rng(seed)
    step = interval_ms(interval)
    rows, ot, ct = [], [], []
    t, prev = START, start_price
    for _ in range(bars):
        if rng.random() < 0.04:
            t += step * int(rng.integers(1, 6))  # a gap in the data
        if rng.random() < 0.1:  # a jump at the open, often taken back within the bar
            o = prev * (1 + rng.normal(0, 0.03))
            c = (prev if rng.random() < 0.5 else o) * (1 + rng.normal(0, 0.012))
        else:
            o = prev * (1 + rng.normal(0, 0.0005))
            c = o * (1 + rng.normal(0, 0.012))
        h = max(o, c) * (1 + abs(rng.normal(0, 0.006)))
        lo = min(o, c) * (1 - abs(rng.normal(0, 0.006)))
        o, h, lo, c = (max(tick, round(v / tick) * tick) for v in (o, h, lo, c))
        h, lo = max(h, o, c), min(lo, o, c)
        rows.append((round(o, 8), round(h, 8), round(lo, 8), round(c, 8)))
        ot.append(t)
        ct.append(t + (step - 1 if rng.random() > 0.02 else int(rng.integers(0, step))))
        t += step
        prev = c
    return frame(rows, interval=interval, open_times=ot, close_times=ct)


@dataclass(frozen=True, slots=True)
class CandleParams:
    lag: int = 1


class CandleRule(Strategy):
    """Long after a rising close above the open, out after a falling one: signals on most bars
    of a random walk, so every branch of the position loop is exercised."""

    name = "candle_rule"
    Params = CandleParams
    search_space: ClassVar[dict[str, Any]] = {}

    def features(self) -> dict[str, Feature]:
        return {
            "open": Feature("open"),
            "close": Feature("close"),
            "prev": Feature("close", lag=self.params.lag),
        }

    def entry(self, f: Mapping[str, Value]) -> Value:
        return gt(f["close"], f["open"]) & gt(f["close"], f["prev"])

    def exit(self, f: Mapping[str, Value]) -> Value:
        return lt(f["close"], f["open"]) & lt(f["close"], f["prev"])
