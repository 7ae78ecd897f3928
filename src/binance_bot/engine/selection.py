"""Which symbols to trade: an explicit list, ``_raw_assets.csv`` (read by ``binance_bot.data.assets``),
or the top N by 24h quote volume."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from binance_bot.engine.ports import ExchangeClient
from binance_bot.model import SymbolStatus

log = logging.getLogger(__name__)


async def top_by_quote_volume(exchange: ExchangeClient, quote_asset: str, n: int) -> list[str]:
    """The ``n`` TRADING symbols quoted in ``quote_asset`` with the largest 24h quote volume."""
    rules = await exchange.exchange_info()
    tickers = await exchange.tickers_24h()
    ranked = sorted(
        (
            t
            for t in tickers
            if t.symbol in rules
            and rules[t.symbol].quote_asset == quote_asset
            and rules[t.symbol].status is SymbolStatus.TRADING
        ),
        key=lambda t: t.quote_volume,
        reverse=True,
    )
    return [t.symbol for t in ranked[:n]]


async def select_symbols(
    exchange: ExchangeClient,
    *,
    symbols: Sequence[str],
    listed: Sequence[str] | None,
    quote_asset: str,
    top_n: int,
) -> list[str]:
    """An explicit list wins; then the assets file's list (``listed``); then the top N by volume."""
    if symbols:
        return [s.upper() for s in symbols]
    if listed:
        return list(listed)
    chosen = await top_by_quote_volume(exchange, quote_asset, top_n)
    log.info("top %d %s symbols by 24h quote volume: %s", top_n, quote_asset, ", ".join(chosen))
    return chosen
