"""I/O adapters that implement the engine's ports: Binance (live, testnet, local simulator)."""

from binance_bot.exchange.binance.connector import BinanceConnector

__all__ = ["BinanceConnector"]
