"""The simulator's state, transport-free: engine, market, accounts, limits, faults, listeners.

REST, the WebSocket API and the admin endpoints all act on one :class:`SimulatorCore` from
the event loop's thread, and the matching engine is synchronous, so no request ever sees a
half-applied change and no lock is needed.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from binance_bot.errors import ConfigError
from binance_bot.exchange.binance import wire
from binance_bot.exchange.binance.wire import BalanceDelta, RateLimit
from binance_bot.matching import AccountEvent, MatchingEngine
from binance_bot.model import AccountUpdate, ExecutionReport, ExecutionType, ListStatus, SymbolRules, Trade
from binance_bot.simulator.clock import MarketClock, ProtocolClock
from binance_bot.simulator.config import AccountSpec, SimulatorConfig
from binance_bot.simulator.faults import FaultInjector
from binance_bot.simulator.hub import StreamHub
from binance_bot.simulator.klines import servable
from binance_bot.simulator.limits import RateLimiter
from binance_bot.simulator.market import Market, SymbolFeed
from binance_bot.simulator.request import Verifier
from binance_bot.simulator.tape import load_market

_DEPTH_STREAMS = {"depth5": 5, "depth10": 10, "depth20": 20}


@dataclass(slots=True)
class Account:
    spec: AccountSpec
    uid: int
    created_ms: int
    verifier: Verifier

    @property
    def key(self) -> str:
        """The matching engine's account id: the API key itself."""
        return self.spec.api_key


def default_rules(symbol: str) -> SymbolRules:
    from binance_bot.data import default_symbol_rules

    try:
        return default_symbol_rules(symbol)
    except ValueError as exc:
        raise ConfigError(f"{symbol}: {exc}; give its rules explicitly", key="rules") from None


class SimulatorCore:
    """Everything a request can touch. Build with :meth:`create`."""

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        protocol_clock: ProtocolClock,
        market_clock: MarketClock,
        engine: MatchingEngine,
        hub: StreamHub,
        faults: FaultInjector,
    ) -> None:
        self.config = config
        self.protocol_clock = protocol_clock
        self.market_clock = market_clock
        self.engine = engine
        self.hub = hub
        self.faults = faults
        self.limiter = RateLimiter(config.limits, protocol_clock.now_ms())
        self.accounts: dict[str, Account] = {}
        self._execution_ids = itertools.count(1)
        self._cancel_all_ids = itertools.count(1)
        self.market: Market = None  # type: ignore[assignment]  # set by create()

    @classmethod
    def create(
        cls,
        config: SimulatorConfig,
        *,
        protocol_clock: ProtocolClock | None = None,
        market_clock_factory: type[MarketClock] = MarketClock,
    ) -> SimulatorCore:
        pclock = protocol_clock or ProtocolClock()
        spec = config.market
        loaded = load_market(
            symbols=spec.symbols,
            interval=spec.interval,
            data=spec.data,
            seed=spec.seed,
            start_ms=spec.start_ms,
            warmup_bars=spec.warmup_bars,
            running_clock_now_ms=None if config.stepped else pclock.now_ms() - config.faults.clock_skew_ms,
        )
        engine = MatchingEngine(config.matching)
        for symbol in sorted(loaded.tapes):
            rules = spec.rules.get(symbol) or default_rules(symbol)
            engine.add_symbol(rules)
        mclock = market_clock_factory(loaded.start_ms, config.speed)
        faults = FaultInjector(config.faults, pclock)
        core = cls(
            config, protocol_clock=pclock, market_clock=mclock, engine=engine, hub=StreamHub(), faults=faults
        )
        for uid, account in enumerate(config.accounts, start=1):
            core.add_account(account, uid=uid)
        core.market = Market(
            engine, loaded.tapes, loaded.start_ms, mclock, core, spread_bps=config.spread_bps
        )
        return core

    # ================================================================== accounts
    def add_account(self, spec: AccountSpec, *, uid: int | None = None) -> Account:
        if spec.api_key in self.accounts:
            raise ConfigError(f"account {spec.api_key[:6]}... already exists", key="api_key")
        account = Account(
            spec=spec,
            uid=uid if uid is not None else len(self.accounts) + 1,
            created_ms=self.protocol_clock.now_ms(),
            verifier=Verifier(spec.api_secret, spec.ed25519_public_key),
        )
        self.engine.open_account(spec.api_key, dict(spec.balances))
        self.accounts[spec.api_key] = account
        return account

    def deposit(self, api_key: str, asset: str, amount: Decimal) -> None:
        """Credit an account (a simulated transfer in): ``balanceUpdate`` then the new position."""
        now = self.market.now_ms
        events = self.engine.deposit(api_key, asset, amount, now)
        self.hub.publish_user(api_key, wire.write_balance_update(BalanceDelta(asset, amount, now, now)))
        self.dispatch(events)

    def next_cancel_all_id(self) -> str:
        """The client id of one cancel of ``DELETE /api/v3/openOrders`` (22 characters, like Binance's)."""
        return f"cancelall{next(self._cancel_all_ids):013d}"

    # ================================================================== rate limits
    def rate_limits(self) -> list[RateLimit]:
        s = self.config.limits
        return [
            RateLimit("REQUEST_WEIGHT", "MINUTE", 1, s.request_weight_per_minute),
            RateLimit("ORDERS", "SECOND", 10, s.orders_per_10s),
            RateLimit("ORDERS", "DAY", 1, s.orders_per_day),
            RateLimit("RAW_REQUESTS", "MINUTE", 5, s.raw_requests_per_5m),
        ]

    # ================================================================== user events
    def dispatch(
        self, events: Sequence[AccountEvent], cancel_ids: Mapping[tuple[str, int], str] | None = None
    ) -> None:
        """Write engine events to the owners' user-data subscriptions, in the engine's order."""
        now = self.protocol_clock.now_ms()
        for item in events:
            event = item.event
            if isinstance(event, ExecutionReport):
                order = event.order
                fill = event.fill
                if (
                    event.execution_type is ExecutionType.TRADE
                    and fill is not None
                    and order.executed_qty == fill.qty
                ):
                    self.limiter.order_filled(item.account, (order.symbol, order.order_id), now)
                if not self.hub.has_user(item.account):
                    continue
                cancel_id = None
                if event.execution_type is ExecutionType.CANCELED and cancel_ids:
                    cancel_id = cancel_ids.get((order.symbol, order.order_id))
                payload = wire.write_execution_report(
                    event, cancel_client_order_id=cancel_id, execution_id=next(self._execution_ids)
                )
            elif isinstance(event, ListStatus):
                if not self.hub.has_user(item.account):
                    continue
                payload = wire.write_list_status_event(event)
            elif isinstance(event, AccountUpdate):
                if not self.hub.has_user(item.account):
                    continue
                payload = wire.write_account_position(event)
            else:
                continue
            self.hub.publish_user(item.account, payload)

    # ================================================================== MarketSink
    def user_events(self, events: Sequence[AccountEvent]) -> None:
        self.dispatch(events)

    def price_tick(self, feed: SymbolFeed, corner: int | None) -> None:
        """Publish the symbol's subscribed market streams for the price event just processed."""
        names = self.hub.streams_of(feed.symbol.lower())
        if not names:
            return
        assert feed.last_price is not None
        t = feed.last_time
        trade = Trade(
            feed.symbol, feed.trade_id, feed.last_price, feed.last_trade_qty, t, feed.buyer_is_maker
        )
        book = None
        for name in sorted(names):
            kind = name.split("@", 1)[1]
            if kind == "trade":
                self.hub.publish(name, wire.write_trade_event(trade, t))
            elif kind == "aggTrade":
                self.hub.publish(
                    name, wire.write_agg_trade(trade, t, first_id=trade.trade_id, last_id=trade.trade_id)
                )
            elif kind == "bookTicker":
                book = book or self.market.book_ticker(feed.symbol)
                self.hub.publish(name, wire.write_book_ticker_event(book))
            elif kind.startswith("kline_"):
                bar = self.market.stream_kline(feed.symbol, kind[len("kline_") :])
                if bar is not None:
                    self.hub.publish(name, wire.write_kline_event(bar, t))
            else:
                levels = _DEPTH_STREAMS.get(kind.split("@", 1)[0])
                if levels is not None:
                    bids, asks = self.market.depth(feed.symbol, levels)
                    self.hub.publish(name, wire.write_depth(feed.update_id, bids, asks))

    def valid_stream(self, name: str) -> bool:
        """A stream this server can feed: ``<symbol>@trade|aggTrade|bookTicker|kline_<i>|depth<N>[@100ms]``."""
        symbol, sep, kind = name.partition("@")
        if not sep or symbol != symbol.lower() or symbol.upper() not in self.market.feeds:
            return False
        if kind in ("trade", "aggTrade", "bookTicker"):
            return True
        if kind.startswith("kline_"):
            return servable(self.market.interval, kind[len("kline_") :], 0)
        depth, _, speed = kind.partition("@")
        return depth in _DEPTH_STREAMS and speed in ("", "100ms", "1000ms")
