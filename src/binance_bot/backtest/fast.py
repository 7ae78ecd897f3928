"""The fast backtester: signals as tensors, the position loop compiled, batched over rows.

A *row* is one independent account: a symbol traded with one parameter set. Signals come
from the strategy's own rules evaluated on whole series (:class:`~binance_bot.strategy.features.FeatureCache`
computes each distinct indicator once for every parameter set that reads it); the position
loop is :func:`binance_bot.backtest.kernel.simulate`, run in parallel over rows.

The loop's integer results are turned back into the engine's ``Decimal`` objects by the
engine's own accounting (:class:`~binance_bot.engine.portfolio.Portfolio`) and the fill
model's commission function, and checked against them on the way: a disagreement is a bug
and raises. Rows the loop cannot follow exactly (see :data:`binance_bot.backtest.kernel.UNSUPPORTED`)
are rerun through the event replay, so the answer is always the engine's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
import torch

from binance_bot.backtest import kernel as kn
from binance_bot.backtest.market import SymbolData, equity_floats
from binance_bot.backtest.result import KillEvent, OpenPosition, SymbolRun
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.config import BotConfig
from binance_bot.engine.portfolio import Portfolio
from binance_bot.errors import ConfigError
from binance_bot.matching import MatchingSettings
from binance_bot.matching.fees import commission
from binance_bot.model import ClosedTrade, Fill, Side
from binance_bot.model.intervals import interval_ms
from binance_bot.model.numbers import ROUND_CEILING, decimal_places, fmt, from_ticks
from binance_bot.risk.levels import ratio
from binance_bot.strategy.base import Feature, Strategy
from binance_bot.strategy.features import FeatureCache

_LIMIT = 2**61
_EQUITY_CHUNK_BYTES = 256 * 2**20
RULE_CHUNK = 32768


class KernelMismatch(AssertionError):
    """The compiled loop and the engine's exact accounting disagree: a bug, never a result."""


@dataclass(frozen=True, slots=True)
class Units:
    """The integer grids of one symbol: prices in ticks, quantities in steps, and the decimal
    places of the quote (``U``), base (``V``) and equity (``W``) units."""

    tick: Decimal
    step: Decimal
    quote_places: int
    base_places: int
    equity_places: int
    commission_places: int

    def quote(self, units: int) -> Decimal:
        return Decimal(units).scaleb(-self.quote_places)

    def base(self, units: int) -> Decimal:
        return Decimal(units).scaleb(-self.base_places)

    def equity(self, units: int) -> Decimal:
        return Decimal(units).scaleb(-self.equity_places)

    def price(self, ticks: int) -> Decimal:
        return from_ticks(ticks, self.tick)

    def qty(self, steps: int) -> Decimal:
        return from_ticks(steps, self.step)

    def commission_value(self, units: int, base: bool) -> Decimal:
        places = self.base_places if base else self.quote_places
        return Decimal(units).scaleb(-places).quantize(Decimal(1).scaleb(-self.commission_places))

    def equity_floats(self, values: np.ndarray) -> np.ndarray:
        """``W`` integers as floats (:func:`binance_bot.backtest.market.equity_floats`)."""
        return equity_floats(values, self.equity_places)


def _places(*values: Decimal) -> int:
    return max(decimal_places(v) for v in values)


def _exact(value: Decimal, places: int) -> int:
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ConfigError(f"{value} has more than {places} decimals")
    return int(scaled)


def units_for(data: SymbolData, spec: BacktestSpec) -> Units:
    rules, cfg, cp = data.rules, spec.config, spec.matching.commission_places
    tick, step = data.tick, data.step
    base_places = max(decimal_places(step), cp)
    quote_places = max(
        decimal_places(tick * step),
        cp,
        _places(spec.capital, cfg.trading.oper_equity, rules.min_notional, rules.max_notional),
    )
    equity_places = max(quote_places, base_places + data.mark_places)
    return Units(tick, step, quote_places, base_places, equity_places, cp)


def _small(value: Decimal, name: str) -> tuple[int, int]:
    num, den = ratio(value)
    if max(abs(num), den) >= 2**31 // 100:
        raise ConfigError(f"{name} {value} has too many digits for the fast backtester", key=name)
    return num, den


def symbol_parameters(data: SymbolData, spec: BacktestSpec, units: Units) -> np.ndarray:
    """The integer parameters of one symbol's rows (layout ``kernel.SP_*``)."""
    rules, cfg = data.rules, spec.config
    u, tick, step = units, units.tick, units.step
    sp = np.zeros(kn.SP_COUNT, dtype=np.int64)
    sp[kn.SP_QUOTE0] = _exact(spec.capital, u.quote_places)
    # an oper_equity beyond 64 bits never binds: the free-balance cap always does first
    sp[kn.SP_OPER] = min(_exact(cfg.trading.oper_equity, u.quote_places), _LIMIT)
    sp[kn.SP_MPQ] = _exact(tick * step, u.quote_places)
    sp[kn.SP_SV] = _exact(step, u.base_places)
    sp[kn.SP_UW] = 10 ** (u.equity_places - u.quote_places)
    sp[kn.SP_VTW] = 10 ** (u.equity_places - u.base_places - data.mark_places)
    sp[kn.SP_MARK_TICK] = _exact(tick, data.mark_places)
    sp[kn.SP_MARK_POW] = 10**data.mark_places
    sp[kn.SP_SMU] = _exact(step, u.quote_places)
    sp[kn.SP_GQ] = 10 ** (u.quote_places - u.commission_places)
    sp[kn.SP_GB] = 10 ** (u.base_places - u.commission_places)

    def steps(qty: Decimal) -> int:
        return int(qty / step) if qty > 0 else 0

    sp[kn.SP_MIN_Q] = steps(rules.min_qty)
    sp[kn.SP_MAX_Q] = steps(rules.max_qty)
    sp[kn.SP_MKT_MIN_Q] = int((rules.market_min_qty / step).to_integral_value(rounding=ROUND_CEILING))
    sp[kn.SP_MKT_MAX_Q] = steps(rules.market_max_qty)
    mstep = rules.market_step_size
    sp[kn.SP_MKT_STEP] = 1
    if mstep > step and (mstep / step) == (mstep / step).to_integral_value():
        sp[kn.SP_MKT_STEP] = int(mstep / step)
    elif mstep > 0 and (step / mstep) != (step / mstep).to_integral_value():
        sp[kn.SP_MKT_STEP_EXTRA] = 1
    sp[kn.SP_MIN_N] = _exact(rules.min_notional, u.quote_places)
    sp[kn.SP_MAX_N] = _exact(rules.max_notional, u.quote_places)
    sp[kn.SP_MIN_N_MKT] = int(rules.apply_min_to_market)
    sp[kn.SP_MAX_N_MKT] = int(rules.apply_max_to_market)
    sp[kn.SP_MIN_P] = int(rules.min_price / tick) if rules.min_price > 0 else 0
    sp[kn.SP_MAX_P] = int(rules.max_price / tick) if rules.max_price > 0 else 0
    sp[kn.SP_PP] = int(rules.bid_multiplier_up > 0)
    sp[kn.SP_ASK_DN_N], sp[kn.SP_ASK_DN_D] = _small(rules.ask_multiplier_down, "askMultiplierDown")
    sp[kn.SP_ASK_UP_N], sp[kn.SP_ASK_UP_D] = _small(rules.ask_multiplier_up, "askMultiplierUp")
    sp[kn.SP_AVG_MS] = rules.avg_price_mins * 60_000
    sp[kn.SP_INTERVAL] = interval_ms(data.interval)
    taker_n, _ = ratio(spec.matching.taker_fee)
    maker_n, _ = ratio(spec.matching.maker_fee)
    frac_n, frac_d = ratio(spec.config.risk.max_fraction_of_free)
    widest = max(int(sp[kn.SP_UW]), 2 * max(taker_n, maker_n, 1), frac_n, frac_d)
    sp[kn.SP_SAFE_Q] = _LIMIT // (100 * widest)
    # products of a price, a quantity and a ratio must fit 64 bits too (see kernel._mul_div)
    top = int(data.marks().max()) if len(data) else 1
    if top * int(sp[kn.SP_SMU]) * int(sp[kn.SP_MARK_POW]) * frac_d * max(frac_n, 1) >= _LIMIT:
        sp[kn.SP_SAFE_Q] = 0  # every row of this symbol goes to the replay
    return sp


def global_parameters(config: BotConfig, matching: MatchingSettings) -> np.ndarray:
    g = np.zeros(kn.G_COUNT, dtype=np.int64)
    g[kn.G_TAKER_N], g[kn.G_TAKER_D] = ratio(matching.taker_fee)
    g[kn.G_MAKER_N], g[kn.G_MAKER_D] = ratio(matching.maker_fee)
    g[kn.G_SLIP] = matching.slippage_units
    g[kn.G_TOUCH] = int(matching.touch_fills)
    risk = config.risk
    g[kn.G_FRAC_N], g[kn.G_FRAC_D] = _small(risk.max_fraction_of_free, "risk.max_fraction_of_free")
    g[kn.G_DAILY_N], g[kn.G_DAILY_D] = _small(risk.daily_loss_limit_pct, "risk.daily_loss_limit_pct")
    g[kn.G_DD_N], g[kn.G_DD_D] = _small(risk.max_drawdown_pct, "risk.max_drawdown_pct")
    g[kn.G_EXPO_N], g[kn.G_EXPO_D] = _small(risk.max_exposure_pct, "risk.max_exposure_pct")
    g[kn.G_COOLDOWN] = risk.cooldown_bars
    return g


def check_supported(spec: BacktestSpec) -> None:
    """Settings the compiled loop does not model: use the event replay for them."""
    cfg, m = spec.config, spec.matching
    if cfg.trading.entry_order_type != "MARKET":
        raise ConfigError(
            "the fast backtester models MARKET entries only; use the replay engine for LIMIT entries",
            key="trading.entry_order_type",
        )
    if m.participation_cap is not None:
        raise ConfigError(
            "the fast backtester does not model the participation cap (R13); use the replay engine",
            key="participation_cap",
        )
    if m.worst_case_path:
        raise ConfigError(
            "worst_case_path applies to whole-bar matching only; both backtest engines feed the "
            "bar path event by event (R3)",
            key="worst_case_path",
        )


# ---------------------------------------------------------------------------------- signals
class _SharedCache(FeatureCache):
    """A feature cache that also keeps each lagged series: the strategies of a sweep ask for
    the same lags again and again (rules never modify their inputs)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lagged: dict[tuple[Any, ...], torch.Tensor] = {}

    def get(self, feature: Feature) -> torch.Tensor:
        key = (feature.indicator, feature.params, feature.timeframe, feature.lag)
        found = self._lagged.get(key)
        if found is None:
            found = super().get(feature)
            self._lagged[key] = found
        return found


def signals(
    data: SymbolData, strategies: Sequence[Strategy], config: BotConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit rules of every strategy on every bar of ``data``: two ``[len, bars]`` bool
    arrays. Features shared between the strategies are computed once."""
    frame = data.frame
    series = {
        c: torch.from_numpy(frame[c].to_numpy(dtype=np.float64, copy=True))
        for c in ("open", "high", "low", "close", "volume")
    }
    uses_trend = any(s.uses_trend for s in strategies)
    cache = _SharedCache(
        series,
        torch.from_numpy(data.open_time.copy()),
        interval=data.interval,
        trend_interval=config.trading.trend_interval if uses_trend else None,
    )
    n = len(data)
    entries = np.zeros((len(strategies), n), dtype=bool)
    exits = np.zeros((len(strategies), n), dtype=bool)
    out_entries, out_exits = torch.from_numpy(entries), torch.from_numpy(exits)
    for j, strategy in enumerate(strategies):
        features = cache.features(strategy)
        # A rule is elementwise over bars (the live engine applies it to one bar's floats), so
        # it is evaluated on slices: the same values as batch_signals on the whole series,
        # with temporaries small enough to stay in cache instead of faulting in fresh pages.
        for a in range(0, n, RULE_CHUNK):
            part = {name: values[a : a + RULE_CHUNK] for name, values in features.items()}
            out_entries[j, a : a + RULE_CHUNK] = torch.as_tensor(strategy.entry(part))
            out_exits[j, a : a + RULE_CHUNK] = torch.as_tensor(strategy.exit(part))
    return entries, exits


# ---------------------------------------------------------------------------------- rows
@dataclass(frozen=True, slots=True)
class RowSpec:
    """One account: which symbol (index into the data list), its trading window and which
    signal row (index into the signal arrays of that symbol) drives it."""

    symbol: int
    signal: int
    start: int
    end: int


@dataclass(frozen=True, eq=False)
class RawRows:
    """The compiled loop's integer output for a set of rows (see ``kernel.T_*``, ``S_*``)."""

    rows: tuple[RowSpec, ...]
    trades: np.ndarray
    summary: np.ndarray
    equity: np.ndarray
    units: tuple[Units, ...]


class MarketArrays:
    """The symbols' integer arrays padded to one length, as the compiled loop reads them."""

    def __init__(self, datas: Sequence[SymbolData]) -> None:
        n = max((len(d) for d in datas), default=0)
        s = len(datas)
        self.bars = n
        if s == 1:  # one symbol: views, no copies
            d = datas[0]
            self.opens, self.highs = d.ticks("open")[None, :], d.ticks("high")[None, :]
            self.lows, self.closes = d.ticks("low")[None, :], d.ticks("close")[None, :]
            self.marks = d.marks()[None, :]
            self.times = d.times[:, None, :]
            return
        self.opens = np.zeros((s, n), dtype=np.int64)
        self.highs = np.zeros((s, n), dtype=np.int64)
        self.lows = np.zeros((s, n), dtype=np.int64)
        self.closes = np.zeros((s, n), dtype=np.int64)
        self.marks = np.zeros((s, n), dtype=np.int64)
        self.times = np.zeros((4, s, n), dtype=np.int64)
        for i, d in enumerate(datas):
            m = len(d)
            self.opens[i, :m] = d.ticks("open")
            self.highs[i, :m] = d.ticks("high")
            self.lows[i, :m] = d.ticks("low")
            self.closes[i, :m] = d.ticks("close")
            self.marks[i, :m] = d.marks()
            self.times[:, i, :m] = d.times


def simulate_rows(
    datas: Sequence[SymbolData],
    rows: Sequence[RowSpec],
    entries: Sequence[np.ndarray],
    exits: Sequence[np.ndarray],
    spec: BacktestSpec,
    *,
    keep_equity: bool = True,
    market: MarketArrays | None = None,
) -> RawRows:
    """Run ``rows`` through the compiled loop. ``entries[s]``/``exits[s]`` are symbol ``s``'s
    ``[signal rows, bars]`` arrays. The trade buffer is sized by the entry signals in each
    row's window (a round trip needs its own entry bar), so it cannot overflow."""
    check_supported(spec)
    market = market or MarketArrays(datas)
    units = tuple(units_for(d, spec) for d in datas)
    sym_par = np.stack([symbol_parameters(d, spec, u) for d, u in zip(datas, units, strict=True)])
    glob = global_parameters(spec.config, spec.matching)
    trading = spec.config.trading
    margin = _small(trading.stop_loss_margin, "trading.stop_loss_margin")
    tp_ratio = _small(trading.take_profit_ratio, "trading.take_profit_ratio")
    buffer = _small(trading.stop_limit_buffer, "trading.stop_limit_buffer")
    r = len(rows)
    n = market.bars
    row_par = np.zeros((r, kn.R_COUNT), dtype=np.int64)
    ent = np.zeros((r, n), dtype=bool)
    ext = np.zeros((r, n), dtype=bool)
    capacity = 1
    for j, row in enumerate(rows):
        row_par[j] = (row.symbol, row.start, row.end, *margin, *tp_ratio, *buffer)
        m = entries[row.symbol].shape[1]
        ent[j, :m] = entries[row.symbol][row.signal]
        ext[j, :m] = exits[row.symbol][row.signal]
        capacity = max(capacity, int(ent[j, row.start : row.end].sum()) + 1)
    trades = np.zeros((r, capacity, kn.T_FIELDS), dtype=np.int64)
    summary = np.zeros((r, kn.S_FIELDS), dtype=np.int64)
    equity = np.zeros((r, n if keep_equity else 0), dtype=np.int64)
    kn.simulate(
        market.opens,
        market.highs,
        market.lows,
        market.closes,
        market.marks,
        market.times,
        sym_par,
        glob,
        row_par,
        ent,
        ext,
        trades,
        summary,
        equity,
    )
    if np.any(summary[:, kn.S_STATUS] == kn.STATUS_FULL):
        raise KernelMismatch("the trade buffer overflowed although it was sized by the entry signals")
    return RawRows(tuple(rows), trades, summary, equity, units)


# ---------------------------------------------------------------------------------- results
def _fills_and_trades(
    data: SymbolData, raw: RawRows, j: int, spec: BacktestSpec
) -> tuple[list[Fill], list[ClosedTrade], OpenPosition | None]:
    """The row's fills, replayed through the engine's own portfolio accounting."""
    u = raw.units[raw.rows[j].symbol]
    rules = data.rules
    symbol, base, quote = data.symbol, rules.base_asset, rules.quote_asset
    taker, maker, places = spec.matching.taker_fee, spec.matching.maker_fee, spec.matching.commission_places
    pf = Portfolio(quote_asset=quote, rules={symbol: rules})
    fills: list[Fill] = []
    trades: list[ClosedTrade] = []

    def fill(side: Side, time: int, ticks: int, steps: int, comm_units: int, is_maker: bool) -> Fill:
        price, qty = u.price(ticks), u.qty(steps)
        comm = u.commission_value(comm_units, base=side is Side.BUY)
        expected = commission(side, price, qty, maker if is_maker else taker, places)
        if comm != expected:
            raise KernelMismatch(f"{symbol}: commission {comm} != {expected} at {time}")
        f = Fill(
            symbol=symbol,
            order_id=len(fills) + 1,
            client_order_id="",
            trade_id=len(fills) + 1,
            side=side,
            price=price,
            qty=qty,
            commission=comm,
            commission_asset=base if side is Side.BUY else quote,
            time=time,
            is_maker=is_maker,
        )
        fills.append(f)
        return f

    summary = raw.summary[j]
    for rec in raw.trades[j, : summary[kn.S_TRADES]]:
        pf.apply_buy(
            fill(
                Side.BUY,
                int(rec[kn.T_ENTRY_TIME]),
                int(rec[kn.T_ENTRY_PRICE]),
                int(rec[kn.T_BOUGHT]),
                int(rec[kn.T_BUY_COMM]),
                False,
            )
        )
        pos = pf.position(symbol)
        assert pos is not None
        pos.exit_reason = kn.REASONS[int(rec[kn.T_REASON])]
        sell = fill(
            Side.SELL,
            int(rec[kn.T_EXIT_TIME]),
            int(rec[kn.T_EXIT_PRICE]),
            int(rec[kn.T_SOLD]),
            int(rec[kn.T_SELL_COMM]),
            bool(rec[kn.T_EXIT_MAKER]),
        )
        trade = pf.apply_sell(sell)
        if trade is None:
            raise KernelMismatch(f"{symbol}: the sell at {sell.time} leaves more than dust")
        if trade.cost != u.quote(int(rec[kn.T_COST])) or trade.proceeds != u.quote(int(rec[kn.T_PROCEEDS])):
            raise KernelMismatch(f"{symbol}: round trip closed at {sell.time} accounted differently")
        trades.append(trade)
    open_position = None
    if summary[kn.S_OPEN]:
        pos = pf.apply_buy(
            fill(
                Side.BUY,
                int(summary[kn.S_OPEN_TIME]),
                int(summary[kn.S_OPEN_PRICE]),
                int(summary[kn.S_OPEN_BOUGHT]),
                int(summary[kn.S_OPEN_COMM]),
                False,
            )
        )
        if pos.held != u.base(int(summary[kn.S_HELD])):
            raise KernelMismatch(f"{symbol}: open long holds {pos.held}, the loop says otherwise")
        open_position = OpenPosition(symbol, pos.opened_at, pos.entry_price, pos.bought, pos.held, pos.cost)
    return fills, trades, open_position


def _kill(raw: RawRows, j: int, config: BotConfig) -> KillEvent | None:
    summary = raw.summary[j]
    kind = int(summary[kn.S_KILL_KIND])
    if kind == 0:
        return None
    u = raw.units[raw.rows[j].symbol]
    equity = u.equity(int(summary[kn.S_KILL_EQUITY]))
    ref = u.equity(int(summary[kn.S_KILL_REF]))
    pct = (ref - equity) / ref * 100
    if kind == 1:
        limit = config.risk.daily_loss_limit_pct
        reason = f"daily loss {pct:.2f}% reached the {fmt(limit)}% limit"
    else:
        limit = config.risk.max_drawdown_pct
        reason = f"drawdown {pct:.2f}% reached the {fmt(limit)}% limit"
    return KillEvent(int(summary[kn.S_KILL_TIME]), reason)


def symbol_run(data: SymbolData, strategy: Strategy, raw: RawRows, j: int, spec: BacktestSpec) -> SymbolRun:
    """Row ``j`` of ``raw`` as a :class:`SymbolRun` with exact ``Decimal`` fills and trades."""
    row = raw.rows[j]
    u = raw.units[row.symbol]
    summary = raw.summary[j]
    fills, trades, open_position = _fills_and_trades(data, raw, j, spec)
    window = slice(row.start, row.end)
    times = data.times[3, window] + 1
    in_position = np.zeros(row.end - row.start, dtype=bool)
    spans = [(int(t[kn.T_ENTRY_BAR]), int(t[kn.T_EXIT_BAR])) for t in raw.trades[j, : summary[kn.S_TRADES]]]
    if summary[kn.S_OPEN]:
        spans.append((int(summary[kn.S_OPEN_BAR]), row.end))
    for a, b in spans:
        in_position[a - row.start : b - row.start] = True
    equity = (
        u.equity_floats(raw.equity[j, window])
        if raw.equity.shape[1]
        else np.full(row.end - row.start, np.nan)
    )
    final = u.equity(int(summary[kn.S_FINAL_EQ])) if row.end > row.start else Decimal(spec.capital)
    if int(in_position.sum()) != int(summary[kn.S_EXPOSURE]):
        raise KernelMismatch(f"{data.symbol}: exposure bars disagree with the trade spans")
    return SymbolRun(
        symbol=data.symbol,
        interval=data.interval,
        engine="fast",
        strategy=strategy.name,
        params=strategy.describe()["params"],
        start_capital=Decimal(spec.capital),
        final_equity=final,
        fills=tuple(fills),
        trades=tuple(trades),
        open_position=open_position,
        times=times,
        equity=equity,
        in_position=in_position,
        kill=_kill(raw, j, spec.config),
        source=data.source,
    )


def unsupported_reason(raw: RawRows, j: int) -> str | None:
    summary = raw.summary[j]
    if summary[kn.S_STATUS] != kn.STATUS_UNSUPPORTED:
        return None
    return f"{kn.UNSUPPORTED[int(summary[kn.S_UNSUPPORTED])]} (bar {int(summary[kn.S_AT_BAR])})"


def run_fast(
    datas: Sequence[SymbolData],
    strategies: Sequence[Strategy],
    spec: BacktestSpec | None = None,
    *,
    fallback: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[list[SymbolRun]]:
    """Backtest every strategy (parameter set) on every symbol: ``result[symbol][strategy]``.

    Each symbol's window is ``data.trade_from .. data.trade_to``. With ``fallback`` a row the
    compiled loop cannot follow exactly is rerun through the event replay (its run carries a
    note saying so); without it such a row raises.
    """
    from binance_bot.backtest.replay import replay_symbol

    spec = spec or BacktestSpec()
    configs = [spec.config_for(d.interval) for d in datas]
    entries, exits = [], []
    for d, cfg in zip(datas, configs, strict=True):
        if progress:
            progress(f"signals {d.symbol}")
        e, x = signals(d, strategies, cfg)
        entries.append(e)
        exits.append(x)
    rows = [
        RowSpec(s, j, d.trade_from, d.trade_to) for s, d in enumerate(datas) for j in range(len(strategies))
    ]
    out: list[list[SymbolRun]] = [[] for _ in datas]
    per_row = max(1, max((len(d) for d in datas), default=1) * 8)
    chunk = max(1, _EQUITY_CHUNK_BYTES // per_row)
    market = MarketArrays(datas)
    for c0 in range(0, len(rows), chunk):
        part = rows[c0 : c0 + chunk]
        if progress:
            progress(f"simulating rows {c0 + 1}-{c0 + len(part)} of {len(rows)}")
        raw = simulate_rows(datas, part, entries, exits, spec, market=market)
        for j, row in enumerate(part):
            data, strategy = datas[row.symbol], strategies[row.signal]
            why = unsupported_reason(raw, j)
            if why is None:
                out[row.symbol].append(symbol_run(data, strategy, raw, j, spec))
                continue
            if not fallback:
                raise ConfigError(f"{data.symbol}: the fast backtester cannot follow {why}")
            run = replay_symbol(data, strategy, spec)
            out[row.symbol].append(replace(run, notes=(f"replayed: the fast loop cannot follow {why}",)))
    return out


def bars_per_year(interval_ms: int) -> float:
    """Bars in a 365-day year: crypto markets never close."""
    return 365 * 86_400_000 / interval_ms


__all__ = [
    "KernelMismatch",
    "MarketArrays",
    "RawRows",
    "RowSpec",
    "Units",
    "bars_per_year",
    "run_fast",
    "signals",
    "simulate_rows",
    "symbol_run",
    "units_for",
]
