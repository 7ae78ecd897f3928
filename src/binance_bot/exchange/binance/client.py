"""The engine's ``ExchangeClient`` port over the Binance REST client, in model types.

Besides converting, this layer refuses orders that Binance would refuse anyway (symbol
filters, checked with :meth:`SymbolRules.violations` before anything is sent, so the message
says which filter and by how much), places orders so that a lost answer can never double
one, and refuses to trade with a live key that can withdraw funds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from binance_bot.errors import (
    ConfigError,
    ExchangeError,
    OrderRejected,
    RateLimited,
    TemporaryExchangeError,
    UnknownOrder,
)
from binance_bot.model import (
    Balance,
    Bar,
    BookTicker,
    Fill,
    OcoRequest,
    Order,
    OrderList,
    OrderRequest,
    OrderType,
    Side,
    SymbolRules,
    SymbolStatus,
    Ticker24h,
)

from . import wire
from .breaker import CircuitOpen
from .rest import BinanceRestClient

log = logging.getLogger(__name__)

_MARKET_LIKE = frozenset({OrderType.MARKET, OrderType.STOP_LOSS, OrderType.TAKE_PROFIT})


def _malformed(exc: wire.WireFormatError, what: str) -> ExchangeError:
    err = ExchangeError(f"{what}: malformed response from Binance ({exc})", endpoint=what)
    err.__cause__ = exc
    return err


class BinanceExchangeClient:
    """Implements :class:`binance_bot.engine.ports.ExchangeClient`."""

    def __init__(
        self,
        rest: BinanceRestClient,
        *,
        precheck: bool = True,
        check_key_permissions: bool | None = None,
        allow_withdraw_enabled_key: bool = False,
        lookup_attempts: int = 3,
        placement_attempts: int = 2,
        lookup_delay: float = 0.25,
    ) -> None:
        self.rest = rest
        self.precheck = precheck
        self.check_key_permissions = (
            rest.endpoints.is_live if check_key_permissions is None else check_key_permissions
        )
        self.allow_withdraw_enabled_key = allow_withdraw_enabled_key
        self.lookup_attempts = lookup_attempts
        self.placement_attempts = placement_attempts
        self.lookup_delay = lookup_delay
        self._rules: dict[str, SymbolRules] = {}
        self._rules_at: dict[str, float] = {}
        self._trade_block: str | None = None
        self.local_rejections = 0
        self.recovered_placements = 0
        self.resent_placements = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self.rest.start()
        if self.rest.info is not None:  # every symbol's rules, from the copy start() just read
            now = time.monotonic()
            self._rules.update(self.rest.info.symbols)
            self._rules_at.update(dict.fromkeys(self.rest.info.symbols, now))
        if self.check_key_permissions and self.rest.can_sign:
            await self.verify_key_permissions()

    async def close(self) -> None:
        await self.rest.close()

    async def verify_key_permissions(self) -> wire.ApiRestrictions:
        """Read the key's restrictions; a key that can withdraw blocks trading (unless overridden)."""
        if not self.rest.endpoints.has_sapi:
            raise ConfigError("apiRestrictions is not served by the testnet; nothing to verify")
        restrictions = self._parse(
            wire.parse_api_restrictions, await self.rest.api_restrictions(), "apiRestrictions"
        )
        if restrictions.enable_withdrawals:
            if self.allow_withdraw_enabled_key:
                log.warning(
                    "the API key can WITHDRAW funds; trading anyway because api.allow_withdraw_enabled_key "
                    "is set. Disable withdrawals on this key in Binance's API management."
                )
            else:
                self._trade_block = (
                    "refusing to trade: this API key has withdrawals enabled. A trading bot never needs "
                    "them and a leaked key could empty the account. Disable 'Enable Withdrawals' for the "
                    "key in Binance's API management (or, against advice, set "
                    "api.allow_withdraw_enabled_key: true)."
                )
                log.critical(self._trade_block)
        else:
            self._trade_block = None
        return restrictions

    @property
    def trading_blocked(self) -> str | None:
        return self._trade_block

    def _ensure_may_trade(self) -> None:
        if self._trade_block:
            raise ConfigError(self._trade_block, key="api.allow_withdraw_enabled_key")

    @staticmethod
    def _parse(fn: Any, payload: Any, what: str, *args: Any) -> Any:
        try:
            return fn(payload, *args)
        except wire.WireFormatError as exc:
            raise _malformed(exc, what) from exc

    # ------------------------------------------------------------------ market data
    async def server_time(self) -> int:
        return self._parse(wire.parse_server_time, await self.rest.time(), "time")

    async def exchange_info(self, symbols: Sequence[str] | None = None) -> dict[str, SymbolRules]:
        info: wire.ExchangeInfo = self._parse(
            wire.parse_exchange_info, await self.rest.exchange_info(symbols), "exchangeInfo"
        )
        self._rules.update(info.symbols)
        now = time.monotonic()
        self._rules_at.update(dict.fromkeys(info.symbols, now))
        return dict(info.symbols)

    async def symbol_rules(self, symbol: str) -> SymbolRules:
        """The symbol's filters, re-read after ``exchange_info_ttl`` (a status can change)."""
        rules = self._rules.get(symbol)
        fetched = self._rules_at.get(symbol, 0.0)
        if rules is None or time.monotonic() - fetched > self.rest.settings.exchange_info_ttl:
            found = await self.exchange_info([symbol])
            rules = found.get(symbol)
            if rules is None:
                raise ExchangeError(f"exchangeInfo has no symbol {symbol}", endpoint="exchangeInfo")
        return rules

    async def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 500,
    ) -> list[Bar]:
        rows = await self.rest.klines(symbol, interval, start_time=start_time, end_time=end_time, limit=limit)
        bars: list[Bar] = self._parse(wire.parse_klines, rows, "klines", symbol, interval)
        if bars and self._in_progress(bars[-1], start_time, end_time, limit, len(bars)):
            bars[-1] = replace(bars[-1], closed=False)
        return bars

    def _in_progress(self, last: Bar, start: int | None, end: int | None, limit: int, n: int) -> bool:
        """Whether the newest row is the bar still forming (Binance serves it with the rest).

        It is when the server clock has not reached its close, and also, whatever the clock
        says, when the answer reached the live edge: no bounds asked for the most recent
        bars, or a start-only request came back short. (A replaying simulator's clock is
        wall time while its bars are historical, so the clock alone cannot tell.)
        """
        if last.close_time >= self.rest.clock.now_ms():
            return True
        return end is None and (start is None or n < limit)

    async def book_ticker(self, symbol: str) -> BookTicker:
        return self._parse(wire.parse_book_ticker, await self.rest.ticker_book_ticker(symbol), "bookTicker")

    async def ticker_price(self, symbol: str) -> Decimal:
        return self._parse(wire.parse_ticker_price, await self.rest.ticker_price(symbol), "ticker/price")[1]

    async def ticker_prices(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        """Several prices at once: one ``symbols=[...]`` request (weight 4) for what the cache
        does not hold, instead of one request (weight 2) per symbol."""
        out: dict[str, Decimal] = {}
        missing = []
        for s in symbols:
            if self.rest.has_cached_price(s):
                out[s] = await self.ticker_price(s)
            else:
                missing.append(s)
        if len(missing) <= 2:
            prices = await asyncio.gather(*(self.ticker_price(s) for s in missing))
            out.update(zip(missing, prices, strict=True))
        else:
            rows = await self.rest.ticker_price(symbols=missing)
            if not isinstance(rows, list):
                raise ExchangeError("ticker/price: expected an array", endpoint="ticker/price")
            for row in rows:
                symbol, price = self._parse(wire.parse_ticker_price, row, "ticker/price")
                self.rest.remember_price(symbol, row)
                out[symbol] = price
        return {s: out[s] for s in symbols if s in out}

    async def avg_price(self, symbol: str) -> Decimal:
        return self._parse(wire.parse_avg_price, await self.rest.avg_price(symbol), "avgPrice")

    async def tickers_24h(self, symbols: Sequence[str] | None = None) -> list[Ticker24h]:
        if symbols is not None and len(symbols) == 1:
            return [
                self._parse(wire.parse_ticker_24h, await self.rest.ticker_24hr(symbols[0]), "ticker/24hr")
            ]
        rows = await self.rest.ticker_24hr(symbols=symbols)
        if not isinstance(rows, list):
            raise ExchangeError("ticker/24hr: expected an array", endpoint="ticker/24hr")
        return [self._parse(wire.parse_ticker_24h, r, "ticker/24hr") for r in rows]

    async def order_book(self, symbol: str, limit: int = 100) -> wire.OrderBook:
        return self._parse(wire.parse_depth, await self.rest.depth(symbol, limit), "depth", symbol)

    # ------------------------------------------------------------------ pre-trade checks
    async def check_order(self, request: OrderRequest) -> None:
        """Raise :class:`OrderRejected` naming the filter (and the miss) Binance would reject."""
        rules = await self.symbol_rules(request.symbol)
        what = f"{request.side.value} {request.type.value} {request.symbol}"
        if rules.status is not SymbolStatus.TRADING:
            self._reject(f"{what}: symbol status is {rules.status.value}, not TRADING", None)
        if request.type.value not in rules.order_types:
            self._reject(f"{what}: order type not allowed (allowed: {', '.join(rules.order_types)})", None)
        needs_avg = (
            request.type in _MARKET_LIKE and rules.min_notional > 0 and request.quote_order_qty is None
        ) or (request.price is not None and rules.bid_multiplier_up > 0)
        avg = await self.avg_price(request.symbol) if needs_avg else None
        violations = rules.violations(
            side=request.side,
            order_type=request.type,
            quantity=request.quantity,
            price=request.price,
            stop_price=request.stop_price,
            avg_price=avg,
            quote_order_qty=request.quote_order_qty,
        )
        if violations:
            first = violations[0]
            more = "; ".join(f"{v.filter_name}: {v.detail}" for v in violations[1:])
            self._reject(
                f"{what} refused before sending: {first.filter_name}: {first.detail}"
                + (f" (also {more})" if more else ""),
                first.filter_name,
            )

    def _reject(self, message: str, filter_name: str | None) -> None:
        self.local_rejections += 1
        raise OrderRejected(message, filter_name=filter_name, endpoint="local pre-check")

    async def check_oco(self, request: OcoRequest) -> None:
        rules = await self.symbol_rules(request.symbol)
        if not rules.oco_allowed:
            self._reject(f"OCO on {request.symbol} is not allowed", None)
        above, below = wire.oco_legs(request)
        for leg in (above, below):
            leg_type = OrderType(leg["Type"])
            price = Decimal(leg["Price"]) if "Price" in leg else None
            stop = Decimal(leg["StopPrice"]) if "StopPrice" in leg else None
            found = rules.violations(
                side=request.side,
                order_type=leg_type,
                quantity=request.quantity,
                price=price,
                stop_price=stop,
            )
            if found:
                v = found[0]
                self._reject(
                    f"OCO {request.side.value} {request.symbol} {leg_type.value} leg refused before sending: "
                    f"{v.filter_name}: {v.detail}",
                    v.filter_name,
                )

    # ------------------------------------------------------------------ orders
    async def _lookup(self, symbol: str, client_order_id: str) -> Order | None:
        """The order by client id, or ``None`` when Binance does not know it (yet)."""
        try:
            payload = await self.rest.get_order(symbol, orig_client_order_id=client_order_id)
        except UnknownOrder:
            return None
        return self._parse(wire.parse_order, payload, "order")

    async def _find_after_failure(
        self, symbol: str, client_order_id: str, failure: Exception
    ) -> Order | None:
        """Poll for an order whose placement failed with an unknown outcome."""
        for i in range(self.lookup_attempts):
            await asyncio.sleep(self.lookup_delay * (2**i))
            try:
                found = await self._lookup(symbol, client_order_id)
            except TemporaryExchangeError as exc:
                raise TemporaryExchangeError(
                    f"order {client_order_id}: placement outcome unknown ({failure}) and the lookup "
                    f"failed too ({exc}); reconcile by client order id before sending it again",
                    endpoint="POST /api/v3/order",
                ) from exc
            if found is not None:
                return found
        return None

    async def place_order(self, request: OrderRequest) -> Order:
        """Send once; after a timeout or 5xx, look the order up by its client order id and
        send it again only when Binance does not have it."""
        self._ensure_may_trade()
        if self.precheck:
            await self.check_order(request)
        params = wire.order_params(request)
        last: Exception | None = None
        for attempt in range(self.placement_attempts):
            if attempt:
                self.resent_placements += 1
            try:
                payload = await self.rest.new_order(params)
            except (RateLimited, CircuitOpen):
                raise  # refused before it reached the matching engine: nothing to look up
            except TemporaryExchangeError as exc:
                last = exc
                found = await self._find_after_failure(request.symbol, request.client_order_id, exc)
                if found is not None:
                    self.recovered_placements += 1
                    return found
                continue
            except OrderRejected as exc:
                # An open order already has this client order id: an earlier attempt (ours,
                # or before a restart) landed. Client order ids name one intent, so it is
                # this order, provided it is what we asked for.
                if exc.code == -2010 and "Duplicate order" in str(exc):
                    found = await self._lookup(request.symbol, request.client_order_id)
                    if found is not None and _same_intent(found, request):
                        self.recovered_placements += 1
                        return found
                raise
            return self._parse(wire.parse_order, payload, "order", request)
        assert last is not None
        raise TemporaryExchangeError(
            f"order {request.client_order_id}: not placed after {self.placement_attempts} attempts ({last})",
            endpoint="POST /api/v3/order",
        ) from last

    async def test_order(self, request: OrderRequest) -> None:
        """``POST /api/v3/order/test``: Binance validates the order without placing it."""
        await self.rest.test_new_order(wire.order_params(request))

    async def place_oco(self, request: OcoRequest) -> OrderList:
        self._ensure_may_trade()
        if self.precheck:
            await self.check_oco(request)
        params = wire.oco_params(request)
        last: Exception | None = None
        for attempt in range(self.placement_attempts):
            if attempt:
                self.resent_placements += 1
            try:
                payload = await self.rest.new_order_list_oco(params)
            except (RateLimited, CircuitOpen):
                raise
            except TemporaryExchangeError as exc:
                last = exc
                found = await self._find_list_after_failure(request.list_client_order_id, exc)
                if found is not None:
                    self.recovered_placements += 1
                    return found
                continue
            return self._parse(wire.parse_order_list, payload, "orderList")
        assert last is not None
        raise TemporaryExchangeError(
            f"OCO {request.list_client_order_id}: not placed after {self.placement_attempts} attempts ({last})",
            endpoint="POST /api/v3/orderList/oco",
        ) from last

    async def _find_list_after_failure(
        self, list_client_order_id: str, failure: Exception
    ) -> OrderList | None:
        for i in range(self.lookup_attempts):
            await asyncio.sleep(self.lookup_delay * (2**i))
            try:
                payload = await self.rest.get_order_list(orig_client_order_id=list_client_order_id)
            except UnknownOrder:
                continue
            except TemporaryExchangeError as exc:
                raise TemporaryExchangeError(
                    f"OCO {list_client_order_id}: placement outcome unknown ({failure}) and the lookup failed "
                    f"too ({exc})",
                    endpoint="POST /api/v3/orderList/oco",
                ) from exc
            order_list: OrderList = self._parse(wire.parse_order_list, payload, "orderList")
            legs = [await self._lookup(order_list.symbol, o.client_order_id) for o in order_list.orders]
            known = {o.order_id: o for o in legs if o is not None}
            return self._parse(wire.parse_order_list, payload, "orderList", known)
        return None

    async def cancel_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        """Cancel; after an unknown outcome, the order's state decides whether to cancel again."""
        if client_order_id is None and order_id is None:
            raise ValueError("cancel_order needs client_order_id or order_id")
        try:
            payload = await self.rest.cancel_order(
                symbol, order_id=order_id, orig_client_order_id=client_order_id
            )
        except (RateLimited, CircuitOpen):
            raise
        except TemporaryExchangeError:
            order = await self.get_order(symbol, client_order_id=client_order_id, order_id=order_id)
            if not order.is_open:
                return order
            payload = await self.rest.cancel_order(
                symbol, order_id=order_id, orig_client_order_id=client_order_id
            )
        return self._parse(wire.parse_order, payload, "order")

    async def cancel_order_list(
        self, symbol: str, *, list_client_order_id: str | None = None, order_list_id: int | None = None
    ) -> OrderList:
        payload = await self.rest.cancel_order_list(
            symbol, order_list_id=order_list_id, list_client_order_id=list_client_order_id
        )
        return self._parse(wire.parse_order_list, payload, "orderList")

    async def cancel_open_orders(self, symbol: str) -> list[Order]:
        try:
            rows = await self.rest.cancel_open_orders(symbol)
        except UnknownOrder:
            return []  # -2011 "Unknown order sent." is what Binance answers when nothing is open
        out: list[Order] = []
        for row in rows:
            if isinstance(row, dict) and "orderReports" in row:
                out.extend(self._parse(wire.parse_order_list, row, "orderList").orders)
            else:
                out.append(self._parse(wire.parse_order, row, "order"))
        return out

    async def get_order(
        self, symbol: str, *, client_order_id: str | None = None, order_id: int | None = None
    ) -> Order:
        if client_order_id is None and order_id is None:
            raise ValueError("get_order needs client_order_id or order_id")
        payload = await self.rest.get_order(symbol, order_id=order_id, orig_client_order_id=client_order_id)
        return self._parse(wire.parse_order, payload, "order")

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        rows = await self.rest.open_orders(symbol)
        return [self._parse(wire.parse_order, r, "openOrders") for r in rows]

    async def all_orders(self, symbol: str, *, limit: int = 500) -> list[Order]:
        rows = await self.rest.all_orders(symbol, limit=limit)
        return [self._parse(wire.parse_order, r, "allOrders") for r in rows]

    # ------------------------------------------------------------------ account
    async def balances(self) -> list[Balance]:
        return self._parse(wire.parse_account, await self.rest.account(), "account")

    async def my_trades(
        self,
        symbol: str,
        *,
        start_time: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> list[Fill]:
        rows = await self.rest.my_trades(symbol, start_time=start_time, from_id=from_id, limit=limit)
        return [self._parse(wire.parse_my_trade, r, "myTrades") for r in rows]

    # ------------------------------------------------------------------ metrics
    def metrics(self) -> dict[str, Any]:
        out = self.rest.snapshot()
        out["local_rejections"] = self.local_rejections
        out["recovered_placements"] = self.recovered_placements
        out["resent_placements"] = self.resent_placements
        out["trading_blocked"] = self._trade_block is not None
        return out


def _same_intent(order: Order, request: OrderRequest) -> bool:
    return (
        order.side is request.side
        and order.type is request.type
        and (request.quantity is None or order.orig_qty == request.quantity)
        and (request.price is None or order.price == request.price)
    )


def side_of(value: str | Side) -> Side:
    """``"buy"``, ``"BUY"`` or ``Side.BUY`` -> ``Side.BUY`` (the facade accepts any)."""
    try:
        return value if isinstance(value, Side) else Side(value.upper())
    except ValueError:
        raise ValueError(f"side must be BUY or SELL, got {value!r}") from None
