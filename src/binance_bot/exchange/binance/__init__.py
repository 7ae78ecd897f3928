"""Binance Spot: wire schemas, signed REST client, streams and the connector facade.

Construct for an environment with :class:`BinanceConnector` (``testnet=True``, or
``base_url=`` for the local simulator), or from configuration with
``BinanceConnector.from_config(config)``; the engine's ports are ``connector.exchange``
(``ExchangeClient``), ``connector.market_stream()`` (``MarketStream``) and
``connector.user_stream()`` (``UserStream``).
"""

from binance_bot.exchange.binance.client import BinanceExchangeClient
from binance_bot.exchange.binance.connector import BinanceConnector, new_client_order_id
from binance_bot.exchange.binance.endpoints import LIVE, TESTNET, Endpoints, local, resolve
from binance_bot.exchange.binance.rest import BinanceRestClient, RestSettings
from binance_bot.exchange.binance.signing import Ed25519Signer, HmacSigner
from binance_bot.exchange.binance.streams import BinanceMarketStream
from binance_bot.exchange.binance.user_stream import BinanceUserStream
from binance_bot.exchange.binance.ws import SocketSettings

__all__ = [
    "LIVE",
    "TESTNET",
    "BinanceConnector",
    "BinanceExchangeClient",
    "BinanceMarketStream",
    "BinanceRestClient",
    "BinanceUserStream",
    "Ed25519Signer",
    "Endpoints",
    "HmacSigner",
    "RestSettings",
    "SocketSettings",
    "local",
    "new_client_order_id",
    "resolve",
]
