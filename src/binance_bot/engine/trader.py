"""``AsyncTrader``: the design documents' engine facade over :class:`TradingKernel`.

    async with AsyncTrader(api_key, api_secret, testnet=True) as trader:
        trend = await trader.get_general_trend("BTCUSDT")
        price = await trader.connector.get_price("BTCUSDT")
        await trader.enter_position("BTCUSDT", trend, price)
        print(trader.get_statistics())

Positions are then guarded on the exchange by their OCO and monitored by the kernel's
background tasks. The facade builds nothing of its own: the kernel, its workers, the risk
rules and the order manager are the ones ``binance-bot run`` uses. Given credentials, it
loads the Binance adapter by name at run time (the engine never imports an adapter); given
an ``exchange`` (any :class:`~binance_bot.engine.ports.ExchangeClient`), it uses that.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any

import torch

from binance_bot.config import BotConfig, load_config
from binance_bot.engine.clock import WallClock
from binance_bot.engine.kernel import TradingKernel
from binance_bot.engine.ports import Clock, ExchangeClient, MarketStream, UserStream
from binance_bot.model import Mode, Order
from binance_bot.strategy import EmaTrend, make_strategy
from binance_bot.strategy.base import Strategy
from binance_bot.strategy.features import FeatureCache

log = logging.getLogger(__name__)

ADAPTER_MODULE = "binance_bot.exchange"
STORE_MODULE = "binance_bot.persistence"


class AsyncTrader:
    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        testnet: bool | None = None,
        base_url: str | None = None,
        config: BotConfig | None = None,
        symbols: Sequence[str] = ("BTCUSDT",),
        strategy: Strategy | None = None,
        exchange: ExchangeClient | None = None,
        market: MarketStream | None = None,
        user: UserStream | None = None,
        clock: Clock | None = None,
        store: Any = None,
    ) -> None:
        overrides: dict[str, Any] = {"api": {}}
        if api_key is not None:
            overrides["api"]["api_key"] = api_key
        if api_secret is not None:
            overrides["api"]["api_secret"] = api_secret
        if testnet is not None:
            overrides["api"]["testnet"] = testnet
        if base_url is not None:
            overrides["api"]["base_url"] = base_url
        if not overrides["api"]:
            overrides = {}
        self.config = config or load_config(overrides=overrides, use_default_file=False).config
        self.symbols = [s.upper() for s in symbols]
        self.strategy = strategy or make_strategy(
            self.config.trading.strategy, self.config.trading.strategy_params
        )
        self._exchange = exchange
        self._market = market
        self._user = user
        self._clock = clock or WallClock()
        self._store = store
        self.connector: Any = None
        self.kernel: TradingKernel | None = None

    async def __aenter__(self) -> AsyncTrader:
        if self._exchange is None:
            adapter = importlib.import_module(ADAPTER_MODULE)
            self.connector = adapter.BinanceConnector.from_config(self.config)
            await self.connector.start()
            self._exchange = self.connector.exchange
            self._market = self._market or self.connector.market_stream()
            self._user = self._user or self.connector.user_stream()
        else:
            self.connector = self._exchange
        if self._store is None:
            persistence = importlib.import_module(STORE_MODULE)
            self._store = persistence.SqlStateStore(self.config.storage.url)
        self.kernel = TradingKernel(
            config=self.config,
            exchange=self._exchange,
            market=self._market,
            user=self._user,
            clock=self._clock,
            store=self._store,
            strategy=self.strategy,
            symbols=self.symbols,
            mode=self.config.effective_mode,
        )
        await self.kernel.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.kernel is not None:
            await self.kernel.shutdown()
        for closable in (self._market, self._user):
            if closable is not None:
                await closable.close()
        if self.connector is not None and self.connector is not self._exchange:
            await self.connector.close()

    async def get_general_trend(self, symbol: str) -> str:
        """``"long"`` when the higher timeframe's EMAs are aligned upward, else ``"flat"``.

        Spot is long-only: a down-trend means staying out, never shorting.
        """
        strategy = self.strategy if isinstance(self.strategy, EmaTrend) else EmaTrend()
        assert self._exchange is not None
        interval = self.config.trading.trend_interval
        bars = await self._exchange.klines(symbol, interval, limit=500)
        closed = [b for b in bars if b.close_time < self._clock.now_ms()] or bars
        if not closed:
            return "flat"
        series = {
            name: torch.tensor([float(getattr(b, name)) for b in closed], dtype=torch.float64)
            for name in ("open", "high", "low", "close", "volume")
        }
        cache = FeatureCache(series, torch.tensor([b.open_time for b in closed]), interval=interval)
        feats = {
            name.removeprefix("trend_"): cache.get(f.__class__(f.indicator, f.params, "trade", f.lag))[
                -1
            ].item()
            for name, f in strategy.features().items()
            if f.timeframe == "trend"
        }
        up = strategy.trend_up({f"trend_{k}": v for k, v in feats.items()})
        return "long" if bool(up) else "flat"

    async def enter_position(
        self, symbol: str, direction: str = "long", price: Decimal | None = None
    ) -> Order | None:
        """Open a protected long now (risk checks and sizing as for a signal); ``None`` if refused."""
        if direction.lower() not in ("long", "buy"):
            log.info("%s: trend is %s: spot is long-only, staying flat", symbol, direction)
            return None
        assert self.kernel is not None
        worker = self.kernel.workers.get(symbol.upper())
        if worker is None:
            raise ValueError(
                f"{symbol} is not one of this trader's symbols: {', '.join(self.kernel.workers)}"
            )
        return await worker.enter_now(price)

    def get_statistics(self) -> dict[str, Any]:
        if self.kernel is None:
            return {}
        return self.kernel.get_statistics()

    @property
    def mode(self) -> Mode:
        return self.config.effective_mode
