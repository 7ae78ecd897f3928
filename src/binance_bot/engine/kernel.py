"""The trading kernel: one assembly for replay, paper, testnet and live.

The kernel is handed its adapters (exchange, market stream, user stream, clock, store) and
never imports one, so backtest replay, paper trading against the simulator and live trading
run exactly this code. It owns:

* one :class:`~binance_bot.engine.worker.SymbolWorker` per symbol, fed closed bars through a
  per-symbol queue, with at most ``trading.max_workers`` handling a bar at the same time;
* the order manager, the portfolio and the risk manager shared by the workers;
* the user-event loop (fills, order changes, balances; reconciliation after stream gaps);
* the control surface used by :mod:`binance_bot.engine.control` (pause, stop, flatten, kill).

Events for one symbol are handled one at a time (a per-symbol lock), so a fill can never
race the bar decision that follows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from binance_bot.config import BotConfig
from binance_bot.engine.ids import new_run_id
from binance_bot.engine.metrics import EngineMetrics
from binance_bot.engine.orders import OrderManager
from binance_bot.engine.portfolio import Portfolio
from binance_bot.engine.ports import Clock, ExchangeClient, MarketStream, UserStream
from binance_bot.engine.statistics import trading_statistics
from binance_bot.engine.worker import SymbolWorker
from binance_bot.errors import BotError, ExchangeError, InsufficientFunds, StrategyError, UnknownOrder
from binance_bot.model import (
    AccountUpdate,
    Balance,
    Bar,
    BarEvent,
    ExecutionReport,
    Fill,
    ListStatus,
    Mode,
    Order,
    OrderIntent,
    Side,
    StreamGap,
    SymbolRules,
    SymbolStatus,
)
from binance_bot.model.intervals import interval_ms
from binance_bot.model.numbers import ZERO
from binance_bot.risk import RiskLimits, RiskManager
from binance_bot.strategy.base import Strategy
from binance_bot.strategy.features import StreamingFeatures

log = logging.getLogger(__name__)

KILL_SETTING = "kill_switch"
STOP_GRACE_S = 5.0
"""How long a stop waits for the work in flight (and missing protection) before cancelling."""

Notifier = Callable[[str, dict[str, Any]], None]


class TradingKernel:
    def __init__(
        self,
        *,
        config: BotConfig,
        exchange: ExchangeClient,
        market: MarketStream | None,
        user: UserStream | None,
        clock: Clock,
        store: Any,
        strategy: Strategy,
        symbols: Sequence[str],
        mode: Mode = Mode.PAPER,
        run_id: str | None = None,
        notifier: Notifier | None = None,
        warm_up: bool = True,
        periodic: bool = True,
        force: bool = False,
    ) -> None:
        self.config = config
        self.exchange = exchange
        self.market = market
        self.user = user
        self.clock = clock
        self.store = store
        self.strategy = strategy
        self.requested_symbols = [s.upper() for s in symbols]
        self.mode = mode
        self.run_id = run_id or new_run_id()
        self.quote = config.trading.quote_asset
        self._notifier = notifier
        self._warm_up = warm_up
        self._periodic = periodic
        self.force = force

        self.portfolio = Portfolio(quote_asset=self.quote)
        limits = RiskLimits(
            max_positions=config.trading.max_positions,
            daily_loss_limit_pct=config.risk.daily_loss_limit_pct,
            max_drawdown_pct=config.risk.max_drawdown_pct,
            cooldown_bars=config.risk.cooldown_bars,
            max_exposure_pct=config.risk.max_exposure_pct,
        )
        self.risk = RiskManager(limits=limits, interval_ms=interval_ms(config.trading.interval))
        self.metrics = EngineMetrics()
        self.orders = OrderManager(
            exchange=exchange,
            store=store,
            clock=clock,
            run_id=self.run_id,
            on_fill=self._route_fill,
            on_order=self._route_order,
            on_reject=self._on_reject,
        )
        self.workers: dict[str, SymbolWorker] = {}
        self.rules: dict[str, SymbolRules] = {}
        self.balances: dict[str, Balance] = {}
        self.marks: dict[str, Decimal] = {}
        self.equity_curve: deque[tuple[int, Decimal]] = deque(maxlen=100_000)
        self.rejections: deque[dict[str, Any]] = deque(maxlen=200)
        self.paused = False
        self.stopping = False
        self.killed = False
        self.started_at = 0
        self.start_capital = ZERO
        self.last_bar_time = 0
        self._queues: dict[str, asyncio.Queue[tuple[Bar, int]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._sem = asyncio.Semaphore(config.trading.max_workers)
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._done = asyncio.Event()
        self._failures: list[BaseException] = []

    # ================================================================== lifecycle
    async def start(self) -> None:
        """Load rules, open the run, reconcile with the exchange, warm up, subscribe."""
        from binance_bot.engine.reconcile import reconcile

        self.started_at = self.clock.now_ms()
        all_rules = await self.exchange.exchange_info(self.requested_symbols)
        for symbol in self.requested_symbols:
            rules = all_rules.get(symbol)
            if rules is None:
                log.warning("%s: not listed by the exchange: skipped", symbol)
            elif rules.status is not SymbolStatus.TRADING:
                log.warning("%s: status %s, not TRADING: skipped", symbol, rules.status.value)
            elif rules.quote_asset != self.quote:
                log.warning("%s: quoted in %s, not %s: skipped", symbol, rules.quote_asset, self.quote)
            else:
                self.rules[symbol] = rules
        if not self.rules:
            raise BotError("no tradable symbol left after checking the exchange's listing")
        self.portfolio.rules = dict(self.rules)
        self.store.start_run(
            self.run_id,
            started_at=self.started_at,
            mode=self.mode.value,
            strategy=self.strategy.name,
            config=self.config.to_dict(),
        )
        killed = self.store.get_setting(KILL_SETTING)
        if killed:
            self.paused = True
            self.risk.kill_switch.trip(f"kill switch from an earlier run: {killed}", self.started_at)
            log.error("the kill switch was tripped earlier (%s): entries stay off until it is reset", killed)
        trend = self.config.trading.trend_interval if self.strategy.uses_trend else None
        for symbol, rules in self.rules.items():
            features = StreamingFeatures(
                self.strategy, interval=self.config.trading.interval, trend_interval=trend
            )
            self.workers[symbol] = SymbolWorker(self, symbol, rules, features)
            self._queues[symbol] = asyncio.Queue()
            self._locks[symbol] = asyncio.Lock()
        if self.user is not None:
            # subscribed before the exchange is read: whatever changes after the snapshot
            # reconciliation takes arrives as an event (handled once the user loop starts;
            # fills and order snapshots already seen are dropped there)
            await self.user.start()
        await self.refresh_balances()
        await reconcile(self, force=self.force)
        quote = self.balances.get(self.quote)
        # capital at start: the quote we hold plus what the longs we adopted cost
        self.start_capital = (quote.total if quote else ZERO) + sum(
            (p.cost - p.proceeds for p in self.portfolio.longs.values()), ZERO
        )
        if self._warm_up:
            await self._warm_up_workers()
        for symbol in self.workers:
            self._tasks.append(asyncio.create_task(self._symbol_loop(symbol), name=f"worker-{symbol}"))
        if self.market is not None:
            await self.market.subscribe(list(self.workers), self.config.trading.interval)
            if self._warm_up:
                await self._catch_up_bars()
            self._tasks.append(asyncio.create_task(self._market_loop(), name="market"))
        if self.user is not None:
            self._tasks.append(asyncio.create_task(self._user_loop(), name="user"))
        if self._periodic:
            self._tasks.append(asyncio.create_task(self._periodic_loop(), name="periodic"))
        log.info(
            "run %s started: %s mode, strategy %s, %d symbol(s): %s",
            self.run_id,
            self.mode.value,
            self.strategy.name,
            len(self.workers),
            ", ".join(self.workers),
        )

    async def _warm_up_workers(self) -> None:
        interval = self.config.trading.interval
        step = interval_ms(interval)
        ratio = interval_ms(self.config.trading.trend_interval) // step if self.strategy.uses_trend else 1
        need = min(1000, max(200, self.strategy.warmup_bars(ratio) * 3))
        for symbol, worker in self.workers.items():
            try:
                bars = await self.exchange.klines(symbol, interval, limit=need)
            except ExchangeError as exc:
                log.warning("%s: no history for warm-up (%s): indicators start cold", symbol, exc)
                continue
            for bar in bars:
                # the bar still forming is not history; the exchange says which it is (our
                # clock cannot: a simulator's market may run ahead of it or replay the past)
                if bar.closed:
                    worker.warm_up(bar)
                    self.last_bar_time = max(self.last_bar_time, bar.close_time)
                    self.marks[symbol] = bar.close

    async def _catch_up_bars(self) -> None:
        """Queue the bars that closed between the history load and the subscription.

        The stream starts after the last bar closed when it subscribed, so a bar closing
        while the history of many symbols loads would be neither history nor live. Fetched
        once the stream is on, these are decided on like live bars; one the stream also
        delivers is handled once (the workers drop repeats).
        """
        interval = self.config.trading.interval
        for symbol, worker in self.workers.items():
            last = worker.state.last_bar
            if last is None:
                continue
            try:
                bars = await self.exchange.klines(symbol, interval, start_time=last.open_time + 1, limit=1000)
            except ExchangeError as exc:
                log.warning("%s: bars since the history load unavailable (%s)", symbol, exc)
                continue
            for bar in bars:
                if bar.closed and bar.open_time > last.open_time:
                    self.submit_bar(bar)

    async def run(self, *, duration_s: float | None = None) -> None:
        """Run until stopped (control, signal, KILL/STOP file) or for ``duration_s`` seconds."""
        waiter = asyncio.create_task(self._done.wait())
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout=duration_s)
        except TimeoutError:
            log.info("run duration reached")
        finally:
            waiter.cancel()
        if self._failures:
            raise self._failures[0]

    def request_stop(self) -> None:
        """Graceful stop: no new entries; protective orders stay on the exchange."""
        self.stopping = True
        self._done.set()

    async def shutdown(self, *, status: str = "stopped") -> None:
        """Stop every task, close the run in the store (adapters are closed by their owner).

        Before the tasks are cancelled, the work in flight on each symbol is let finish and
        every long left without protection gets it (within ``STOP_GRACE_S``): cancelling an
        OCO on the wire, or an exit between cancelling its protection and selling, would
        leave a position unprotected by a stop that promises to keep protection on.
        """
        self.stopping = True
        self._done.set()
        try:
            await asyncio.wait_for(self._protect_before_stop(), timeout=STOP_GRACE_S)
        except TimeoutError:
            log.warning("stopping: work in flight did not finish within %.0f s", STOP_GRACE_S)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        with contextlib.suppress(Exception):
            self.store.end_run(self.run_id, ended_at=self.clock.now_ms(), status=status)
        log.info("run %s %s", self.run_id, status)

    async def _protect_before_stop(self) -> None:
        for symbol, worker in self.workers.items():
            # held until the tasks are cancelled: nothing new starts on the symbol
            await self._locks[symbol].acquire()
            pos = self.portfolio.position(symbol)
            busy = worker.state.entry_client_id or worker.state.exit_client_id
            if pos is not None and pos.held > 0 and not busy and not worker.is_protected():
                try:
                    await worker.protect()
                except ExchangeError as exc:
                    log.error("%s: left without protection at the stop: %s", symbol, exc)

    # ================================================================== event loops
    async def _market_loop(self) -> None:
        assert self.market is not None
        try:
            async for event in self.market.events():
                if isinstance(event, BarEvent) and event.bar.closed and event.bar.symbol in self._queues:
                    self.submit_bar(event.bar)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the stream adapter reconnects; reaching here is fatal
            log.exception("market stream failed")
            self._failures.append(exc)
            self._done.set()

    def submit_bar(self, bar: Bar) -> None:
        """Queue a closed bar for its symbol's worker (the replay driver calls this too)."""
        self._pending += 1
        self._idle.clear()
        self._queues[bar.symbol].put_nowait((bar, time.perf_counter_ns()))

    async def _symbol_loop(self, symbol: str) -> None:
        queue = self._queues[symbol]
        worker = self.workers[symbol]
        while True:
            bar, received_ns = await queue.get()
            try:
                async with self._sem, self._locks[symbol]:
                    if bar.close_time <= (worker.state.last_bar.close_time if worker.state.last_bar else -1):
                        continue  # a bar delivered twice is handled once
                    start = time.perf_counter_ns()
                    worker.dequeued_ns = start
                    worker.dequeued_cpu_ns = time.thread_time_ns()
                    try:
                        await worker.on_bar(bar, received_ns)
                    except StrategyError:
                        log.exception("%s: strategy failed: worker stopped", symbol)
                        return
                    except ExchangeError as exc:
                        log.warning("%s: exchange error while handling a bar: %s", symbol, exc)
                    except Exception:
                        # a bug must not silently end this symbol's worker: log it loudly,
                        # count it, and go on with the next bar (the order path is idempotent)
                        self.metrics.worker_errors += 1
                        log.exception("%s: unexpected error while handling a bar", symbol)
                    self.metrics.bar(symbol, (time.perf_counter_ns() - start) / 1e6)
                    self.last_bar_time = max(self.last_bar_time, bar.close_time)
                    await self._after_bar(bar)
            finally:
                self._done_one()

    async def _user_loop(self) -> None:
        assert self.user is not None
        async for event in self.user.events():
            self._pending += 1
            self._idle.clear()
            try:
                await self.handle_user_event(event)
            except ExchangeError as exc:
                log.warning("exchange error while handling %s: %s", type(event).__name__, exc)
            except Exception:
                self.metrics.malformed_events += 1
                log.exception("user event %s could not be handled: skipped", type(event).__name__)
            finally:
                self._done_one()

    async def handle_user_event(self, event: object) -> None:
        if isinstance(event, ExecutionReport):
            symbol = event.order.symbol
            lock = self._locks.get(symbol)
            if lock is None or not self._is_ours(event.order.client_order_id):
                return  # a manual trade or another program's order: not ours to account or protect
            async with lock:
                if event.fill is not None:
                    await self.orders.fill(event.fill, event.order)
                await self.orders.track(event.order)
        elif isinstance(event, AccountUpdate):
            for b in event.balances:
                self.balances[b.asset] = b
        elif isinstance(event, ListStatus):
            for order in event.order_list.orders:
                if (
                    order.symbol in self._locks
                    and order.client_order_id not in self.orders.orders_by_client_id
                ):
                    continue
        elif isinstance(event, StreamGap):
            self.metrics.stream_gaps += 1
            log.warning("user stream gap (%s): reconciling orders and balances", event.reason)
            from binance_bot.engine.reconcile import catch_up

            await catch_up(self)

    def _is_ours(self, client_order_id: str) -> bool:
        """Whether we sent this order: every order of ours has its intent written first."""
        return (
            client_order_id in self.orders.orders_by_client_id
            or self.store.get_intent(client_order_id) is not None
        )

    def lock(self, symbol: str) -> asyncio.Lock:
        """The lock that serialises one symbol's bar and order handling."""
        return self._locks[symbol]

    def _done_one(self) -> None:
        self._pending -= 1
        if self._pending <= 0:
            self._pending = 0
            self._idle.set()

    async def idle(self) -> None:
        """Wait until every queued bar and user event has been handled (replay uses this)."""
        while True:
            await self._idle.wait()
            await asyncio.sleep(0)
            if self._pending == 0:
                return

    async def _periodic_loop(self) -> None:
        report_every = self.config.monitoring.report_interval_seconds
        next_report = time.monotonic() + report_every
        next_balances = time.monotonic() + 60
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            if now >= next_report:
                next_report = now + report_every
                log.info("statistics: %s", self.get_statistics())
            if now >= next_balances:
                next_balances = now + 60
                with contextlib.suppress(ExchangeError):
                    await self.refresh_balances()
                try:
                    await asyncio.to_thread(self.store.maintenance)
                except Exception:
                    log.exception("state store maintenance failed")

    # ================================================================== accounting
    async def refresh_balances(self) -> None:
        self.balances = {b.asset: b for b in await self.exchange.balances()}

    def free(self, asset: str) -> Decimal:
        b = self.balances.get(asset)
        return b.free if b else ZERO

    def equity(self) -> Decimal:
        """The run's equity from its own fills: starting capital plus every PnL since.

        ``start capital + realized PnL + Σ open (held x last close + proceeds - cost)``.
        It never mixes an exchange balance snapshot with fills that may not have arrived
        yet (a balance update can overtake an order's response), and other holdings of the
        account do not move it: the risk limits judge the bot's own trading.
        """
        realized = sum((t.pnl for t in self.portfolio.closed), ZERO)
        unrealized = ZERO
        for symbol, pos in self.portfolio.longs.items():
            mark = self.marks.get(symbol, pos.entry_price)
            unrealized += pos.held * mark + pos.proceeds - pos.cost
        return self.start_capital + realized + unrealized

    def pending_entries(self) -> int:
        return sum(1 for w in self.workers.values() if w.state.entry_client_id is not None)

    async def _after_bar(self, bar: Bar) -> None:
        equity = self.equity()
        t = bar.close_time + 1
        self.equity_curve.append((t, equity))
        with contextlib.suppress(Exception):
            free = self.free(self.quote)
            self.store.record_equity(
                self.run_id, time=t, equity=equity, free_quote=free, positions_value=equity - free
            )
        reason = self.risk.on_equity(t, equity)
        if reason is not None:
            log.error("risk limit breached: %s: kill switch", reason)
            self.spawn(self.kill(flatten=True, reason=reason))

    def spawn(self, coro: Any) -> None:
        """Run ``coro`` as its own task, counted as pending work so :meth:`idle` waits for it."""
        self._pending += 1
        self._idle.clear()

        async def _wrapped() -> None:
            try:
                await coro
            except Exception:
                log.exception("background task failed")
            finally:
                self._done_one()

        self._tasks.append(asyncio.create_task(_wrapped()))

    # ================================================================== routing
    async def _route_fill(self, fill: Fill, order: Order | None) -> None:
        worker = self.workers.get(fill.symbol)
        if worker is not None:
            await worker.on_fill(fill, order)
        else:
            self.store.commit_fill(fill)

    async def _route_order(self, order: Order) -> None:
        worker = self.workers.get(order.symbol)
        if worker is not None:
            await worker.on_order(order)

    async def _on_reject(self, intent: OrderIntent, exc: ExchangeError) -> None:
        self.rejections.append(
            {
                "time": self.clock.now_ms(),
                "client_order_id": intent.client_order_id,
                "symbol": intent.symbol,
                "purpose": intent.purpose,
                "code": exc.code,
                "message": exc.message,
            }
        )
        self.notify("rejected", symbol=intent.symbol, code=exc.code, message=exc.message)
        if intent.purpose == "entry":
            self.portfolio.abandon(intent.symbol)
        elif isinstance(exc, InsufficientFunds) and intent.side is Side.SELL:
            await self._resync_symbol(intent.symbol)

    async def _resync_symbol(self, symbol: str) -> None:
        """Learn what the exchange did with a symbol whose coins are not where we think.

        A sell refused for insufficient balance means a fill or an order of ours we have not
        heard of (a protective leg that sold, its report late; an order whose answer was
        lost). Retrying at every bar would only pile refusals up, and their request weight
        ends in a ban. Called with the symbol's lock held (from the refused order's path).
        """
        from binance_bot.engine.reconcile import replay_trades

        open_orders = {o.client_order_id: o for o in await self.exchange.open_orders(symbol)}
        for coid, order in list(self.orders.orders_by_client_id.items()):
            if order.symbol == symbol and order.is_open and coid not in open_orders:
                with contextlib.suppress(UnknownOrder):
                    await self.orders.track(await self.exchange.get_order(symbol, client_order_id=coid))
        for coid, order in open_orders.items():
            if self._is_ours(coid):
                await self.orders.track(order)
        await replay_trades(self, symbol)

    def notify(self, kind: str, **payload: Any) -> None:
        if self._notifier is not None:
            try:
                self._notifier(kind, {"run_id": self.run_id, "mode": self.mode.value, **payload})
            except Exception:  # notifications must never disturb trading
                log.exception("notifier failed")

    # ================================================================== control
    async def flatten(self, *, reason: str = "flatten") -> None:
        """Cancel every open order of ours and sell every position at market."""
        for symbol, worker in self.workers.items():
            async with self._locks[symbol]:
                await self._flatten_symbol(worker, reason)

    async def _flatten_symbol(self, worker: SymbolWorker, reason: str) -> None:
        symbol = worker.symbol
        for coid, order in list(self.orders.orders_by_client_id.items()):
            if order.symbol == symbol and order.is_open:
                await self.orders.cancel(symbol, coid)
        pos = self.portfolio.position(symbol)
        if pos is not None:
            pos.protection_list_client_id = ""
            worker.state.exit_client_id = None
            await worker.exit(reason)

    async def kill(self, *, flatten: bool, reason: str = "manual") -> None:
        """Trip the kill switch: no new entries; with ``flatten``, close everything now."""
        self.risk.kill_switch.trip(reason, self.clock.now_ms())
        if not self.killed:
            self.killed = True
            self.paused = True
            self.store.set_setting(KILL_SETTING, reason)
            self.notify("kill_switch", reason=reason, flatten=flatten)
            log.error("kill switch tripped: %s", reason)
        if flatten:
            await self.flatten(reason="kill")

    def reset_kill_switch(self) -> None:
        self.risk.kill_switch.reset()
        self.killed = False
        self.paused = False
        self.store.delete_settings([KILL_SETTING])
        log.warning("kill switch reset by a person")

    # ================================================================== statistics
    def get_statistics(self) -> dict[str, Any]:
        api: dict[str, Any] = {}
        with contextlib.suppress(Exception):
            api = dict(self.exchange.metrics())
        end = max(self.last_bar_time + 1, self.started_at)
        start = (
            self.started_at
            if self.mode is not Mode.BACKTEST
            else min((t for t, _ in self.equity_curve), default=0)
        )
        stats = trading_statistics(
            self.portfolio.closed,
            curve=list(self.equity_curve),
            start_ms=start,
            end_ms=end,
            open_since=[p.opened_at for p in self.portfolio.longs.values()],
            api=api,
        )
        stats["open_positions"] = self.portfolio.open_count
        stats["equity"] = f"{self.equity():.2f}"
        stats["orders"] = {
            "sent": self.orders.counters.sent,
            "rejected": self.orders.counters.rejected,
            "unknown_resolved": self.orders.counters.unknown_resolved,
            "resent": self.orders.counters.resent,
        }
        stats["engine"] = {
            "bars_processed": self.metrics.bars_processed,
            "stream_gaps": self.metrics.stream_gaps,
            **self.metrics.latency_summary(),
        }
        return stats
