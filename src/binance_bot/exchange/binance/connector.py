"""``BinanceConnector``: the design documents' facade over the connector's layers.

    async with BinanceConnector(api_key, api_secret, testnet=True) as c:
        price = await c.get_price("BTCUSDT")
        order = await c.place_limit_order("BTCUSDT", "BUY", "0.001", price * Decimal("0.99"))

It is a thin convenience layer: quantities and prices given here are quantized to the
symbol's filters toward safety (quantity down; a buy price down, a sell price up) before
the :class:`~.client.BinanceExchangeClient` pre-checks and sends them. The engine uses the
client and the streams directly (``connector.exchange``, :meth:`market_stream`,
:meth:`user_stream`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from binance_bot.config.redaction import register_secret
from binance_bot.config.schema import BotConfig
from binance_bot.errors import ConfigError
from binance_bot.model import (
    Balance,
    Bar,
    BookTicker,
    OcoRequest,
    Order,
    OrderList,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
    quantize_step,
    to_decimal,
)
from binance_bot.model.numbers import ROUND_DOWN

from .client import BinanceExchangeClient, side_of
from .endpoints import Endpoints, resolve
from .rest import BinanceRestClient, RestSettings
from .signing import Ed25519Signer, HmacSigner, Signer
from .streams import BinanceMarketStream
from .user_stream import BinanceUserStream
from .wire import OrderBook
from .ws import SocketSettings


def new_client_order_id(prefix: str = "bb") -> str:
    """A fresh id matching Binance's ``^[a-zA-Z0-9-_]{1,36}$``."""
    return f"{prefix}-{secrets.token_urlsafe(16)}"


class BinanceConnector:
    """Async context manager: pooled REST client, key checks, streams on demand."""

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        testnet: bool = False,
        base_url: str | None = None,
        stream_url: str | None = None,
        ws_api_url: str | None = None,
        private_key_path: Path | str | None = None,
        recv_window_ms: int = 5000,
        timeout_seconds: float = 10.0,
        pool_size: int = 20,
        cache_enabled: bool = True,
        cache_ttl_seconds: float = 1.0,
        allow_withdraw_enabled_key: bool = False,
        check_key_permissions: bool | None = None,
        settings: RestSettings | None = None,
        socket_settings: SocketSettings | None = None,
    ) -> None:
        self.endpoints: Endpoints = resolve(
            testnet=testnet, base_url=base_url, stream_url=stream_url, ws_api_url=ws_api_url
        )
        register_secret(api_key)
        register_secret(api_secret)
        signer: Signer | None = None
        if private_key_path:
            signer = Ed25519Signer.from_file(Path(private_key_path))
        elif api_secret:
            signer = HmacSigner(api_secret)
        if self.endpoints.is_live and signer is not None and not api_key:
            raise ConfigError("api.api_key is empty", key="api.api_key")
        self._api_key = api_key
        self._signer = signer
        self.settings = settings or RestSettings(
            recv_window_ms=recv_window_ms,
            timeout_seconds=timeout_seconds,
            pool_size=pool_size,
            cache_enabled=cache_enabled,
            cache_ttl=cache_ttl_seconds,
        )
        self.socket_settings = socket_settings or SocketSettings()
        self.rest = BinanceRestClient(self.endpoints, api_key=api_key, signer=signer, settings=self.settings)
        self.exchange = BinanceExchangeClient(
            self.rest,
            check_key_permissions=check_key_permissions,
            allow_withdraw_enabled_key=allow_withdraw_enabled_key,
        )
        self._streams: list[BinanceMarketStream | BinanceUserStream] = []

    @classmethod
    def from_config(cls, config: BotConfig, **overrides: Any) -> BinanceConnector:
        """Build from the bot's configuration (``api`` and ``performance`` sections)."""
        api, perf = config.api, config.performance
        kwargs: dict[str, Any] = {
            "api_key": api.api_key.get_secret_value() if api.api_key else None,
            "api_secret": api.api_secret.get_secret_value() if api.api_secret else None,
            "testnet": api.testnet,
            "base_url": api.base_url,
            "stream_url": api.stream_url,
            "ws_api_url": api.ws_api_url,
            "private_key_path": api.private_key_path,
            "recv_window_ms": api.recv_window_ms,
            "timeout_seconds": api.request_timeout_seconds,
            "pool_size": perf.connection_pool_size,
            "cache_enabled": perf.cache_enabled,
            "cache_ttl_seconds": perf.cache_ttl_seconds,
            "allow_withdraw_enabled_key": api.allow_withdraw_enabled_key,
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> BinanceConnector:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        try:
            await self.exchange.start()
        except BaseException:
            await self.exchange.close()
            raise

    async def close(self) -> None:
        for s in self._streams:
            await s.close()
        self._streams.clear()
        await self.exchange.close()

    def market_stream(self, *, deliver_partial_bars: bool = False) -> BinanceMarketStream:
        """A market stream whose gap repair reads klines through this connector."""
        stream = BinanceMarketStream(
            self.endpoints,
            self.exchange,
            settings=self.socket_settings,
            deliver_partial_bars=deliver_partial_bars,
        )
        self._streams.append(stream)
        return stream

    def user_stream(self) -> BinanceUserStream:
        """The account's user-data stream (call ``start()`` on it)."""
        if self._signer is None or not self._api_key:
            raise ConfigError("the user data stream needs api.api_key and a secret or private key")
        stream = BinanceUserStream(
            self.endpoints.ws_api,
            api_key=self._api_key,
            signer=self._signer,
            now_ms=self.rest.clock.now_ms,
            resync_clock=self.rest.sync_time,
            recv_window_ms=self.settings.recv_window_ms,
            settings=self.socket_settings,
        )
        self._streams.append(stream)
        return stream

    # ------------------------------------------------------------------ market data
    async def get_price(self, symbol: str) -> Decimal:
        return await self.exchange.ticker_price(symbol)

    async def get_prices(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        return await self.exchange.ticker_prices(symbols)

    async def get_klines(
        self,
        symbol: str,
        interval: str,
        limit: int = 500,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
    ) -> list[Bar]:
        return await self.exchange.klines(
            symbol, interval, start_time=start_time, end_time=end_time, limit=limit
        )

    async def get_order_book(self, symbol: str, limit: int = 100) -> OrderBook:
        return await self.exchange.order_book(symbol, limit)

    async def get_book_ticker(self, symbol: str) -> BookTicker:
        return await self.exchange.book_ticker(symbol)

    # ------------------------------------------------------------------ orders
    async def place_limit_order(
        self,
        symbol: str,
        side: str | Side,
        qty: Decimal | str | float,
        price: Decimal | str | float,
        *,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        client_order_id: str | None = None,
    ) -> Order:
        s = side_of(side)
        rules = await self.exchange.symbol_rules(symbol)
        request = OrderRequest(
            symbol=symbol,
            side=s,
            type=OrderType.LIMIT,
            client_order_id=client_order_id or new_client_order_id(),
            quantity=rules.round_qty(to_decimal(qty, field="qty")),
            price=rules.round_price_for(to_decimal(price, field="price"), s),
            time_in_force=TimeInForce(time_in_force),
        )
        return await self.exchange.place_order(request)

    async def place_market_order(
        self,
        symbol: str,
        side: str | Side,
        qty: Decimal | str | float | None = None,
        *,
        quote_qty: Decimal | str | float | None = None,
        client_order_id: str | None = None,
    ) -> Order:
        """By base quantity, or by quote amount (``quote_qty``: spend / receive that much)."""
        if (qty is None) == (quote_qty is None):
            raise ValueError("place_market_order needs exactly one of qty and quote_qty")
        rules = await self.exchange.symbol_rules(symbol)
        request = OrderRequest(
            symbol=symbol,
            side=side_of(side),
            type=OrderType.MARKET,
            client_order_id=client_order_id or new_client_order_id(),
            quantity=rules.round_qty(to_decimal(qty, field="qty"), market=True) if qty is not None else None,
            quote_order_qty=(
                quantize_step(
                    to_decimal(quote_qty, field="quote_qty"),
                    Decimal(1).scaleb(-rules.quote_asset_precision),
                    ROUND_DOWN,
                )
                if quote_qty is not None
                else None
            ),
        )
        return await self.exchange.place_order(request)

    async def place_oco(
        self,
        symbol: str,
        side: str | Side,
        qty: Decimal | str | float,
        take_profit_price: Decimal | str | float,
        stop_price: Decimal | str | float,
        stop_limit_price: Decimal | str | float | None = None,
        *,
        list_client_order_id: str | None = None,
    ) -> OrderList:
        """A take-profit and a stop that cancel each other (SELL: exits a long position)."""
        s = side_of(side)
        rules = await self.exchange.symbol_rules(symbol)
        # For a SELL every price rounds up: the take profit never sells cheaper than asked and
        # the stop, below the market, triggers no later than asked; a BUY rounds all down.
        tp = rules.round_price_for(to_decimal(take_profit_price, field="take_profit_price"), s)
        stop = rules.round_price_for(to_decimal(stop_price, field="stop_price"), s)
        limit = (
            rules.round_price_for(to_decimal(stop_limit_price, field="stop_limit_price"), s)
            if stop_limit_price is not None
            else None
        )
        list_id = list_client_order_id or new_client_order_id("oco")
        request = OcoRequest(
            symbol=symbol,
            side=s,
            quantity=rules.round_qty(to_decimal(qty, field="qty")),
            list_client_order_id=list_id,
            take_profit_price=tp,
            stop_price=stop,
            stop_limit_price=limit,
            take_profit_client_order_id=new_client_order_id("tp"),
            stop_client_order_id=new_client_order_id("sl"),
        )
        return await self.exchange.place_oco(request)

    async def cancel_order(
        self, symbol: str, order_id: int | None = None, *, client_order_id: str | None = None
    ) -> Order:
        return await self.exchange.cancel_order(symbol, order_id=order_id, client_order_id=client_order_id)

    async def get_order(
        self, symbol: str, order_id: int | None = None, *, client_order_id: str | None = None
    ) -> Order:
        return await self.exchange.get_order(symbol, order_id=order_id, client_order_id=client_order_id)

    async def get_open_orders(self, symbol: str | None = None) -> list[Order]:
        return await self.exchange.open_orders(symbol)

    async def get_balances(self, *, include_zero: bool = False) -> dict[str, Balance]:
        return {b.asset: b for b in await self.exchange.balances() if include_zero or b.total != 0}

    # ------------------------------------------------------------------ metrics
    def metrics(self) -> dict[str, Any]:
        """Requests, errors by code, latency avg/p50/p99, cache hit rate, weight used,
        breaker states, and each stream's counters."""
        out = self.exchange.metrics()
        out["streams"] = [s.metrics() for s in self._streams]
        return out
