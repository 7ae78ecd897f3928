"""A kernel on the in-process paper exchange, fed hand-written candle tables."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

from binance_bot.config import load_config
from binance_bot.engine.kernel import TradingKernel
from binance_bot.engine.memory_store import MemoryStateStore
from binance_bot.exchange.paper import PaperExchange
from binance_bot.model import Bar, Order, SymbolRules
from binance_bot.strategy import make_strategy

SYMBOL = "TESTUSDT"
SMA_2_3 = {"fast": 2, "slow": 3}
MINUTE = 60_000
START = 1_704_067_200_000  # 2024-01-01 00:00 UTC

RULES = SymbolRules(
    symbol=SYMBOL,
    base_asset="TEST",
    quote_asset="USDT",
    min_price=D("0.01"),
    max_price=D("100000"),
    tick_size=D("0.01"),
    min_qty=D("0.00001"),
    max_qty=D("100000"),
    step_size=D("0.00001"),
    min_notional=D("5"),
    max_notional=D("9000000"),
)


def bars_from(
    rows: list[tuple[float, float, float, float]], *, start: int = START, volume: str = "1000"
) -> list[Bar]:
    """``(open, high, low, close)`` rows as consecutive closed 1m bars."""
    out = []
    for i, (o, h, lo, c) in enumerate(rows):
        t = start + i * MINUTE
        out.append(
            Bar(
                symbol=SYMBOL,
                interval="1m",
                open_time=t,
                close_time=t + MINUTE - 1,
                open=D(str(o)),
                high=D(str(h)),
                low=D(str(lo)),
                close=D(str(c)),
                volume=D(volume),
                quote_volume=D(volume) * D(str(c)),
            )
        )
    return out


def flat_closes(closes: list[float]) -> list[tuple[float, float, float, float]]:
    """Bars opening at the previous close, with wicks of 0.1 beyond open/close."""
    rows = []
    prev = closes[0]
    for c in closes:
        o = prev
        rows.append((o, max(o, c) + 0.1, min(o, c) - 0.1, c))
        prev = c
    return rows


class Harness:
    def __init__(
        self,
        *,
        strategy: str = "sma_cross",
        params: dict[str, Any] | None = None,
        balances: dict[str, str] | None = None,
        store: Any = None,
        exchange: PaperExchange | None = None,
        rules: SymbolRules = RULES,
        **settings: Any,
    ) -> None:
        overrides: dict[str, Any] = {
            "trading": {
                "interval": "1m",
                "trend_interval": "5m",
                "max_workers": 2,
                **settings.pop("trading", {}),
            },
            "risk": {"daily_loss_limit_pct": "50", "max_drawdown_pct": "50", **settings.pop("risk", {})},
        }
        self.config = load_config(overrides=overrides, environ={}, use_default_file=False).config
        self.symbol = rules.symbol
        self.exchange = exchange or PaperExchange([rules], balances or {"USDT": "10000"})
        self.store = store or MemoryStateStore()
        self.kernel = TradingKernel(
            config=self.config,
            exchange=self.exchange,
            market=self.exchange.market_stream(),
            user=self.exchange.user_stream(),
            clock=self.exchange.clock,
            store=self.store,
            strategy=make_strategy(
                strategy, params if params is not None else SMA_2_3 if strategy == "sma_cross" else {}
            ),
            symbols=[rules.symbol],
            warm_up=False,
            periodic=False,
        )

    async def start(self) -> None:
        await self.kernel.start()

    async def settle(self) -> None:
        for _ in range(100):
            await self.exchange.settle()
            await self.kernel.idle()
            if self.exchange._user._feed.queue.empty() and self.exchange._market._feed.queue.empty():
                return

    async def feed(self, bars: list[Bar]) -> None:
        for bar in bars:
            await self.exchange.feed(bar)
            await self.settle()

    def orders(self) -> list[Order]:
        """Every order of the account, in placement order."""
        return sorted(
            self.exchange.engine.all_orders(self.exchange.account, self.symbol, limit=100_000),
            key=lambda o: o.order_id,
        )

    async def stop(self) -> None:
        await self.kernel.shutdown()

    async def crash(self) -> None:
        """Die without shutting down: tasks vanish, the store keeps what was committed."""
        for task in self.kernel._tasks:
            task.cancel()
        await asyncio.gather(*self.kernel._tasks, return_exceptions=True)
