"""The design documents' AsyncTrader usage, on the in-process paper exchange."""

from __future__ import annotations

from decimal import Decimal as D

from tests.unit.engine.harness import RULES, SYMBOL, bars_from, flat_closes

from binance_bot.config import load_config
from binance_bot.engine import AsyncTrader
from binance_bot.engine.memory_store import MemoryStateStore
from binance_bot.exchange.paper import PaperExchange


def config():
    overrides = {"trading": {"interval": "1m", "trend_interval": "5m", "symbols": [SYMBOL]}}
    return load_config(overrides=overrides, environ={}, use_default_file=False).config


async def test_trend_entry_and_statistics() -> None:
    paper = PaperExchange([RULES], {"USDT": "10000"})
    rising = [100 + i * 0.5 for i in range(400)]  # a steady up-trend: EMA9 > EMA26 > EMA50
    paper.load_history(bars_from(flat_closes(rising)))
    async with AsyncTrader(
        config=config(),
        symbols=[SYMBOL],
        exchange=paper,
        market=paper.market_stream(),
        user=paper.user_stream(),
        clock=paper.clock,
        store=MemoryStateStore(),
    ) as trader:
        assert await trader.get_general_trend(SYMBOL) == "long"
        price = await trader.connector.ticker_price(SYMBOL)
        assert await trader.enter_position(SYMBOL, "short", price) is None  # spot: stay flat
        order = await trader.enter_position(SYMBOL, "long", price)
        assert order is not None
        assert order.side.value == "BUY"
        assert order.orig_qty == D("2500") / price // D("0.00001") * D("0.00001")
        stats = trader.get_statistics()
        for key in ("total_trades", "wins", "losses", "win_rate", "total_pnl", "api_metrics"):
            assert key in stats
        assert "cache_hit_rate" in stats["api_metrics"]
        assert "avg_request_time" in stats["api_metrics"]


async def test_falling_market_is_flat() -> None:
    paper = PaperExchange([RULES], {"USDT": "10000"})
    paper.load_history(bars_from(flat_closes([300 - i * 0.5 for i in range(400)])))
    async with AsyncTrader(
        config=config(), symbols=[SYMBOL], exchange=paper, clock=paper.clock, store=MemoryStateStore()
    ) as trader:
        assert await trader.get_general_trend(SYMBOL) == "flat"
