"""Event replay: the live engine, unchanged, trading a recorded market on a simulated clock.

The kernel that trades live (:class:`~binance_bot.engine.kernel.TradingKernel`) runs here
with the in-process paper exchange (the fill model of :mod:`binance_bot.matching`), a
:class:`~binance_bot.exchange.paper.ReplayClock` and an in-memory state store. Each bar is fed
as its four price events and the engine is allowed to go idle after every event that touched
the account, so it reacts inside the bar as it would live (the protective OCO placed right
after an entry fill works against the rest of that bar). This path is the reference the fast
backtester must equal trade for trade.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal

import numpy as np

from binance_bot.backtest.fast import units_for
from binance_bot.backtest.market import SymbolData, equity_floats
from binance_bot.backtest.result import KillEvent, OpenPosition, SymbolRun
from binance_bot.backtest.spec import BacktestSpec
from binance_bot.engine.kernel import TradingKernel
from binance_bot.engine.memory_store import MemoryStateStore
from binance_bot.errors import ConfigError
from binance_bot.exchange.paper import PaperExchange, ReplayClock
from binance_bot.model import Mode
from binance_bot.strategy.base import Strategy

Progress = Callable[[int], None]

_HISTORY_BARS = 16  # enough for the average-price window (R18) of any interval


async def replay_symbol_async(
    data: SymbolData,
    strategy: Strategy,
    spec: BacktestSpec | None = None,
    *,
    progress: Progress | None = None,
) -> SymbolRun:
    """Trade ``data``'s window through the engine kernel; bars before it warm the indicators."""
    spec = spec or BacktestSpec()
    config = spec.config_for(data.interval)
    rules = data.rules
    if rules.quote_asset != config.trading.quote_asset:
        raise ConfigError(
            f"{data.symbol} is quoted in {rules.quote_asset}, the configuration trades "
            f"{config.trading.quote_asset} (trading.quote_asset)",
            key="trading.quote_asset",
        )
    bars = data.bars()
    warm = bars[: data.trade_from]
    trading = bars[data.trade_from : data.trade_to]
    times = data.times
    start = warm[-1].close_time + 1 if warm else (trading[0].open_time if trading else 0)
    clock = ReplayClock(start)
    exchange = PaperExchange([rules], {rules.quote_asset: spec.capital}, settings=spec.matching, clock=clock)
    exchange.load_history(warm[-_HISTORY_BARS:])
    kernel = TradingKernel(
        config=config,
        exchange=exchange,
        market=exchange.market_stream(),
        user=exchange.user_stream(),
        clock=clock,
        store=MemoryStateStore(),
        strategy=strategy,
        symbols=[data.symbol],
        mode=Mode.BACKTEST,
        warm_up=False,
        periodic=False,
    )
    await kernel.start()
    worker = kernel.workers[data.symbol]
    for bar in warm:
        worker.warm_up(bar)

    async def settle() -> None:
        # the engine may answer an event with orders whose events need handling in turn
        while True:
            await exchange.settle()
            await kernel.idle()
            if exchange._user._feed.queue.empty() and exchange._market._feed.queue.empty():
                return

    places = units_for(data, spec).equity_places
    n = len(trading)
    equity = np.empty(n, dtype=np.int64)
    in_position = np.zeros(n, dtype=bool)
    try:
        for k, bar in enumerate(trading):
            i = data.trade_from + k
            await exchange.feed_path(bar, [int(t) for t in times[:, i]], between=settle)
            await settle()
            equity[k] = _units(kernel.equity(), places)
            in_position[k] = kernel.portfolio.position(data.symbol) is not None
            if progress is not None:
                progress(1)
        final = kernel.equity()
    finally:
        await kernel.shutdown()
        await exchange.close()
    pos = kernel.portfolio.position(data.symbol)
    open_position = (
        None
        if pos is None
        else OpenPosition(data.symbol, pos.opened_at, pos.entry_price, pos.bought, pos.held, pos.cost)
    )
    switch = kernel.risk.kill_switch
    return SymbolRun(
        symbol=data.symbol,
        interval=data.interval,
        engine="replay",
        strategy=strategy.name,
        params=strategy.describe()["params"],
        start_capital=Decimal(spec.capital),
        final_equity=final,
        fills=tuple(exchange.engine.my_trades(exchange.account, data.symbol, limit=10**9)),
        trades=tuple(kernel.portfolio.closed),
        open_position=open_position,
        times=times[3, data.trade_from : data.trade_to] + 1,
        equity=equity_floats(equity, places),
        in_position=in_position,
        kill=KillEvent(switch.at_ms, switch.reason) if switch.tripped else None,
        source=data.source,
    )


def _units(value: Decimal, places: int) -> int:
    """An exact amount as integer units of ``10^-places`` (the fast path's equity grid)."""
    scaled = value.scaleb(places)
    whole = int(scaled)
    if scaled != whole:
        raise ValueError(f"equity {value} has more than {places} decimals")
    return whole


def replay_symbol(
    data: SymbolData,
    strategy: Strategy,
    spec: BacktestSpec | None = None,
    *,
    progress: Progress | None = None,
    quiet: bool = True,
) -> SymbolRun:
    """:func:`replay_symbol_async` in its own event loop; ``quiet`` keeps the engine's per-order
    log lines (useful live, noise in a backtest) out of the console."""
    engine_log = logging.getLogger("binance_bot.engine")
    level = engine_log.level
    if quiet:
        engine_log.setLevel(logging.CRITICAL)
    try:
        return asyncio.run(replay_symbol_async(data, strategy, spec, progress=progress))
    finally:
        engine_log.setLevel(level)
