"""binance-bot: an async, fast and safe Binance spot trading bot."""

__version__ = "0.1.0"
