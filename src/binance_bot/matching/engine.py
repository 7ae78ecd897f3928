"""The matching engine: simulated accounts trading against a replayed market.

One engine serves the exchange simulator (many accounts, prices fed in real time), the
in-process paper exchange and the event-replay backtest (whole bars). Orders never match
against each other; each one is matched against the market's price path by the integer
rules of :mod:`binance_bot.matching.rules`, as ``docs/fill-model.md`` describes (R1-R19).
Time is always an argument: the engine reads no clock, so a replay is reproducible to the
order and trade ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from binance_bot.errors import ConfigError, DataError
from binance_bot.matching import fees
from binance_bot.matching import rejections as rj
from binance_bot.matching import rules as rl
from binance_bot.matching.book import Batch, OcoList, Phase, Reserve, Working
from binance_bot.matching.market import SymbolMarket
from binance_bot.matching.rejections import Rejection
from binance_bot.matching.requests import NewOco, NewOrder, OcoLeg
from binance_bot.matching.results import (
    AccountEvent,
    AllCanceled,
    ListAccepted,
    ListCanceled,
    OrderAccepted,
    OrderCanceled,
)
from binance_bot.matching.settings import MatchingSettings
from binance_bot.matching.validation import check_new_oco, check_new_order
from binance_bot.model.enums import (
    ExecutionType,
    ListOrderStatus,
    ListStatusType,
    OrderStatus,
    OrderType,
    Side,
    SymbolStatus,
    TimeInForce,
)
from binance_bot.model.instrument import FilterViolation, SymbolRules
from binance_bot.model.ledger import Balance, Ledger
from binance_bot.model.market import Bar
from binance_bot.model.numbers import MONEY_CONTEXT, ZERO, to_decimal
from binance_bot.model.orders import (
    Fill,
    OcoRequest,
    Order,
    OrderList,
    OrderRequest,
    is_valid_client_order_id,
)

_MARKET_TYPES = frozenset({OrderType.MARKET, OrderType.STOP_LOSS, OrderType.TAKE_PROFIT})
_LIST_DONE = (ListStatusType.ALL_DONE, ListOrderStatus.ALL_DONE)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A new order that passed every check, with its levels on the grid and the funds to lock."""

    account: str
    request: NewOrder
    market: SymbolMarket
    limit: int
    stop: int
    qty_steps: int
    reserve_asset: str
    reserve_amount: Decimal


@dataclass(frozen=True, slots=True)
class _PreparedOco:
    account: str
    request: NewOco
    market: SymbolMarket
    qty_steps: int
    legs: tuple[tuple[OcoLeg, int, int], ...]  # (leg, limit ticks, stop ticks), below leg first
    reserve_asset: str
    reserve_amount: Decimal


class MatchingEngine:
    """Simulated Binance spot matching for any number of accounts and symbols."""

    def __init__(self, settings: MatchingSettings | None = None) -> None:
        self._settings = settings or MatchingSettings()
        self._markets: dict[str, SymbolMarket] = {}
        self._ledgers: dict[str, Ledger] = {}
        self._open: dict[str, dict[int, Working]] = {}
        self._orders: dict[tuple[str, str], list[Working]] = {}
        self._by_id: dict[tuple[str, int], Working] = {}
        self._trades: dict[tuple[str, str], list[Fill]] = {}
        self._lists: dict[int, OcoList] = {}
        self._next_list_id = 1
        self._next_cancel_id = 1

    # ================================================================== setup
    @property
    def settings(self) -> MatchingSettings:
        return self._settings

    def add_symbol(self, rules: SymbolRules) -> None:
        """Make a symbol tradable; its market opens with the first price event."""
        if rules.symbol in self._markets:
            raise ConfigError(f"symbol {rules.symbol} is already listed", key="symbol")
        self._markets[rules.symbol] = SymbolMarket(rules)
        self._open[rules.symbol] = {}

    def symbols(self) -> list[str]:
        return sorted(self._markets)

    def rules(self, symbol: str) -> SymbolRules:
        return self._market(symbol).rules

    def open_account(self, account: str, balances: Mapping[str, object] | None = None) -> None:
        """Create an account (an API key in the simulator) with free starting balances."""
        if account in self._ledgers:
            raise ConfigError(f"account {account!r} already exists", key="account")
        amounts = {
            asset: to_decimal(value, field=f"balance {asset}") for asset, value in (balances or {}).items()
        }
        for asset, amount in amounts.items():
            if amount < 0:
                raise ConfigError(f"starting balance of {asset} must be >= 0, got {amount}", key=asset)
        self._ledgers[account] = Ledger(amounts)

    def has_account(self, account: str) -> bool:
        return account in self._ledgers

    def deposit(self, account: str, asset: str, amount: Decimal, now_ms: int) -> list[AccountEvent]:
        """Credit free funds (a simulated transfer in); returns the balance update."""
        if amount <= 0:
            raise ValueError(f"deposit must be > 0, got {amount}")
        self._ledgers[account].credit(asset, amount)
        batch = Batch(now_ms)
        batch.touch(account, asset)
        return batch.release(self._ledgers)

    # ================================================================== market data
    def last_price(self, symbol: str) -> Decimal | None:
        market = self._market(symbol)
        return market.price(market.last) if market.last is not None else None

    def avg_price(self, symbol: str, now_ms: int) -> Decimal | None:
        """R18: the average price the filters use (``GET /api/v3/avgPrice``)."""
        return self._market(symbol).avg_price(now_ms)

    def path(self, bar: Bar) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """R2: the bar's four price events on the tick grid, for a feed that interpolates them."""
        market = self._market(bar.symbol)
        o, h, low, c = (market.ticks(p) for p in (bar.open, bar.high, bar.low, bar.close))
        p0, p1, p2, p3 = rl.bar_path(o, h, low, c)
        return (market.price(p0), market.price(p1), market.price(p2), market.price(p3))

    # ================================================================== market progression
    def begin_bar(self, bar: Bar) -> None:
        """R13: start a bar for price-event feeding: its volume budget, and a jump to its open."""
        problem = bar.ohlc_problem()
        if problem is not None:
            raise DataError(f"{bar.symbol} bar at {bar.open_time}: {problem}")
        self._market(bar.symbol).begin_bar(bar)

    def end_bar(self, symbol: str) -> None:
        """R18: the current bar is complete and joins the average-price window."""
        self._market(symbol).end_bar()

    def price_event(self, symbol: str, price: Decimal, now_ms: int) -> list[AccountEvent]:
        """R4/R9: the market trades at ``price``: resting, waiting and queued orders react.

        The first event after :meth:`begin_bar` (or ever) is a jump; later ones continue
        the path continuously from the previous price.
        """
        market = self._market(symbol)
        ticks = market.ticks(price)
        if ticks <= 0:
            raise DataError(
                f"{symbol} price event at {now_ms}: price {price} is not above zero on the tick grid"
            )
        return self._advance(market, ticks, now_ms)

    def on_bar(self, bar: Bar, now_ms: int | None = None) -> list[AccountEvent]:
        """R2/R3: replay a whole bar along its path; events are stamped ``now_ms`` (its close)."""
        now = bar.close_time if now_ms is None else now_ms
        self.begin_bar(bar)
        market = self._market(bar.symbol)
        o, h, low, c = (market.ticks(p) for p in (bar.open, bar.high, bar.low, bar.close))
        events: list[AccountEvent] = []
        if not self._settings.worst_case_path:
            for point in rl.bar_path(o, h, low, c):
                events.extend(self._advance(market, point, now))
        else:
            events.extend(self._advance(market, o, now))
            sell = rl.order_path(o, h, low, c, True, False)
            buy = rl.order_path(o, h, low, c, True, True)
            for k in (1, 2, 3):
                self._move(market, sell[k - 1], sell[k], False, now, events, Side.SELL)
                self._move(market, buy[k - 1], buy[k], False, now, events, Side.BUY)
            market.last = c
            market.last_time = now
        market.end_bar()
        return events

    def _advance(self, market: SymbolMarket, target: int, now_ms: int) -> list[AccountEvent]:
        jump = market.jump_pending or market.last is None
        start = target if market.last is None else market.last
        market.jump_pending = False
        events: list[AccountEvent] = []
        self._move(market, start, target, jump, now_ms, events, None)
        market.last = target
        market.last_time = now_ms
        self._fill_queued(market, target, now_ms, events)
        return events

    def _move(
        self,
        market: SymbolMarket,
        start: int,
        end: int,
        jump: bool,
        now_ms: int,
        events: list[AccountEvent],
        side: Side | None,
    ) -> None:
        """R4: process every order whose condition the move meets, in the order the path meets them."""
        book = self._open[market.rules.symbol]
        current = start
        while True:
            best: Working | None = None
            best_key = (0, 0)
            best_at = 0
            for working in book.values():
                if side is not None and working.order.side is not side:
                    continue
                condition = self._condition(working, market)
                if condition is None:
                    continue
                level, up, strict = condition
                hit, at = rl.move_hit(current, end, level, up, strict, jump)
                if not hit:
                    continue
                key = (abs(at - current), working.order.order_id)
                if best is None or key < best_key:
                    best, best_key, best_at = working, key, at
            if best is None:
                return
            batch = Batch(now_ms)
            if best.phase is Phase.WAITING:
                self._trigger(best, market, best_at, batch)
            else:
                self._fill_resting(best, market, batch)
            events.extend(batch.release(self._ledgers))
            if not jump:
                current = best_at

    def _condition(self, working: Working, market: SymbolMarket) -> tuple[int, bool, bool] | None:
        if working.phase is Phase.WAITING:
            up, strict = rl.stop_condition(working.is_buy, working.is_take_profit)
            return (working.stop, up, strict)
        if working.phase is Phase.RESTING:
            allowance = self._allowance(working, market)
            if allowance == 0:
                return None
            up, strict = rl.resting_limit_condition(working.is_buy, self._settings.touch_fills)
            return (working.limit, up, strict)
        return None

    def _fill_queued(self, market: SymbolMarket, price: int, now_ms: int, events: list[AccountEvent]) -> None:
        """R9: MARKET orders waiting for a price event fill at it, after the resting orders."""
        queued = [w for w in self._open[market.rules.symbol].values() if w.phase is Phase.QUEUED]
        for working in queued:
            batch = Batch(now_ms)
            slipped = rl.slipped_price(price, self._settings.slippage_units, working.is_buy)
            self._take_market(working, market, slipped, batch)
            events.extend(batch.release(self._ledgers))

    # ================================================================== executions
    def _allowance(self, working: Working, market: SymbolMarket) -> int | None:
        """R13: steps the order may still take in the current bar, ``None`` when uncapped."""
        cap = self._settings.participation_ppm
        key = market.bar_key
        if cap is None or key is None:
            return None
        if working.used_key != key:
            working.used_key = key
            working.used_steps = 0
        return rl.participation_allowance(market.volume_steps, cap, working.used_steps)

    def _trigger(self, working: Working, market: SymbolMarket, at: int, batch: Batch) -> None:
        """R10-R12: a stop reached its trigger at price ``at``."""
        self._resolve_list(working, batch)
        working.order = replace(working.order, working_time=batch.now_ms, update_time=batch.now_ms)
        if working.order.type in _MARKET_TYPES:
            slipped = rl.slipped_price(at, self._settings.slippage_units, working.is_buy)
            self._take_market(working, market, slipped, batch)
            return
        takes, price = rl.stop_limit_on_trigger(
            at, working.limit, self._settings.slippage_units, working.is_buy
        )
        tif = working.order.time_in_force
        if takes:
            before = working.executed_steps
            self._take_limit(working, market, price, batch)
            if working.is_open and working.executed_steps == before:
                batch.report(working, ExecutionType.NEW)
        elif tif in (TimeInForce.IOC, TimeInForce.FOK):
            self._finish(working, OrderStatus.EXPIRED, ExecutionType.EXPIRED, batch)
        else:
            working.phase = Phase.RESTING
            batch.report(working, ExecutionType.NEW)

    def _fill_resting(self, working: Working, market: SymbolMarket, batch: Batch) -> None:
        """R5: a resting limit the path traded through fills at its own price, as maker."""
        self._resolve_list(working, batch)
        allowance = self._allowance(working, market)
        steps = working.remaining_steps if allowance is None else min(working.remaining_steps, allowance)
        self._fill(working, market, working.limit, steps, True, batch)

    def _take_limit(self, working: Working, market: SymbolMarket, price: int, batch: Batch) -> None:
        """R6/R12: a limit order taking at ``price``; what is left rests (GTC) or expires."""
        allowance = self._allowance(working, market)
        remaining = working.remaining_steps
        steps = remaining if allowance is None else min(remaining, allowance)
        tif = working.order.time_in_force
        if tif is TimeInForce.FOK and steps < remaining:
            self._finish(working, OrderStatus.EXPIRED, ExecutionType.EXPIRED, batch)
            return
        if steps > 0:
            self._fill(working, market, price, steps, False, batch)
        if working.is_open:
            if tif in (TimeInForce.IOC, TimeInForce.FOK):
                self._finish(working, OrderStatus.EXPIRED, ExecutionType.EXPIRED, batch)
            else:
                working.phase = Phase.RESTING

    def _take_market(self, working: Working, market: SymbolMarket, price: int, batch: Batch) -> None:
        """R9/R11/R13/R15: a market execution at ``price``; whatever cannot fill now expires."""
        if working.quote_left is not None:
            total = market.market_steps(working.quote_left / market.price(price))
            cap = market.max_steps(True)
            if cap is not None:
                total = min(total, cap)
            if total < market.min_steps(True):
                total = 0
            working.qty_steps = working.executed_steps + total
            if working.executed_steps == 0:
                working.order = replace(working.order, orig_qty=market.qty(total))
        steps = working.remaining_steps
        allowance = self._allowance(working, market)
        if allowance is not None:
            steps = min(steps, allowance)
        steps = min(steps, self._affordable_steps(working, market, price))
        if steps > 0:
            self._fill(working, market, price, steps, False, batch)
        if working.is_open:
            self._finish(working, OrderStatus.EXPIRED, ExecutionType.EXPIRED, batch)

    def _affordable_steps(self, working: Working, market: SymbolMarket, price: int) -> int:
        """R15: a market execution may use its locked funds plus the account's free balance."""
        ledger = self._ledgers[working.account]
        available = working.reserve.amount + ledger.free(working.reserve.asset)
        unit = MONEY_CONTEXT.multiply(market.price(price), market.step) if working.is_buy else market.step
        return int(MONEY_CONTEXT.divide(available, unit).to_integral_value(rounding=ROUND_FLOOR))

    def _fill(
        self, working: Working, market: SymbolMarket, price_ticks: int, steps: int, maker: bool, batch: Batch
    ) -> None:
        """R15/R16: one trade: move the money, charge commission, report it."""
        rules = market.rules
        order = working.order
        price = market.price(price_ticks)
        qty = market.qty(steps)
        quote = MONEY_CONTEXT.multiply(price, qty)
        rate = self._settings.maker_fee if maker else self._settings.taker_fee
        commission = fees.commission(order.side, price, qty, rate, self._settings.commission_places)
        ledger = self._ledgers[working.account]
        if working.is_buy:
            self._pay(working, ledger, quote)
            ledger.credit(rules.base_asset, qty - commission)
        else:
            self._pay(working, ledger, qty)
            ledger.credit(rules.quote_asset, quote - commission)
        batch.touch(working.account, rules.base_asset, rules.quote_asset)
        fill = Fill(
            symbol=rules.symbol,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            trade_id=market.next_trade_id(),
            side=order.side,
            price=price,
            qty=qty,
            commission=commission,
            commission_asset=fees.commission_asset(order.side, rules.base_asset, rules.quote_asset),
            time=batch.now_ms,
            is_maker=maker,
        )
        self._allowance(working, market)
        working.used_steps += steps
        working.executed_steps += steps
        if working.quote_left is not None:
            working.quote_left -= quote
        status = OrderStatus.FILLED if working.remaining_steps <= 0 else OrderStatus.PARTIALLY_FILLED
        working.order = order.with_status(
            status,
            executed_qty=order.executed_qty + qty,
            cummulative_quote_qty=order.cummulative_quote_qty + quote,
            update_time=batch.now_ms,
            fills=(*order.fills, fill),
        )
        self._trades[(working.account, rules.symbol)].append(fill)
        batch.report(working, ExecutionType.TRADE, fill)
        if status is OrderStatus.FILLED:
            self._close(working, batch)

    @staticmethod
    def _pay(working: Working, ledger: Ledger, amount: Decimal) -> None:
        reserve = working.reserve
        from_locked = min(amount, reserve.amount)
        if from_locked > 0:
            ledger.spend_locked(reserve.asset, from_locked)
            reserve.amount -= from_locked
        if amount > from_locked:
            ledger.debit(reserve.asset, amount - from_locked)

    def _finish(self, working: Working, status: OrderStatus, kind: ExecutionType, batch: Batch) -> None:
        working.order = working.order.with_status(status, update_time=batch.now_ms)
        batch.report(working, kind)
        self._close(working, batch)

    def _close(self, working: Working, batch: Batch) -> None:
        """The order is final: off the book, and its funds unlocked once no leg needs them."""
        working.phase = Phase.DONE
        self._open[working.order.symbol].pop(working.order.order_id, None)
        reserve = working.reserve
        if reserve.amount > 0 and all(not holder.is_open for holder in reserve.holders):
            self._ledgers[reserve.account].unlock(reserve.asset, reserve.amount)
            reserve.amount = ZERO
            batch.touch(reserve.account, reserve.asset)

    def _resolve_list(self, working: Working, batch: Batch) -> None:
        """R14: the first trigger or fill of an OCO leg expires the other leg; the list is done."""
        oco = working.order_list
        if oco is None or not oco.is_open:
            return
        for leg in oco.legs:
            if leg is not working and leg.is_open:
                self._finish(leg, OrderStatus.EXPIRED, ExecutionType.EXPIRED, batch)
        oco.status_type, oco.order_status = _LIST_DONE
        oco.transaction_time = batch.now_ms
        batch.list_changed(oco)

    # ================================================================== new orders
    def submit(self, account: str, request: NewOrder, now_ms: int) -> OrderAccepted | Rejection:
        """``POST /api/v3/order``: place an order, or refuse it with Binance's code and message.

        A marketable LIMIT executes at once (R6); a MARKET order waits for the next price
        event (R9), so feed one (the price at ``now_ms``) for an immediate fill.
        """
        prepared = self._prepare(account, request, now_ms)
        if isinstance(prepared, Rejection):
            return prepared
        return self._place(prepared, now_ms)

    def submit_request(self, account: str, request: OrderRequest, now_ms: int) -> OrderAccepted | Rejection:
        """:meth:`submit` for the bot's own :class:`~binance_bot.model.orders.OrderRequest`."""
        return self.submit(account, NewOrder.from_request(request), now_ms)

    def test_order(self, account: str, request: NewOrder, now_ms: int) -> Rejection | None:
        """``POST /api/v3/order/test``: every check of :meth:`submit`, nothing placed."""
        prepared = self._prepare(account, request, now_ms)
        return prepared if isinstance(prepared, Rejection) else None

    def _prepare(self, account: str, request: NewOrder, now_ms: int) -> _Prepared | Rejection:
        """R17: the checks in Binance's order; the first failure is the answer."""
        ledger = self._ledgers.get(account)
        if ledger is None:
            return rj.invalid_api_key()
        market = self._markets.get(request.symbol)
        if market is None:
            return rj.invalid_symbol()
        rules = market.rules
        problem = check_new_order(request, rules)
        if problem is not None:
            return problem
        if not self._is_trading(market):
            return rj.market_closed()
        kind = request.type
        if kind.value not in rules.order_types:
            return rj.order_type_not_supported(kind.value)
        if request.quote_order_qty is not None and not rules.quote_order_qty_market_allowed:
            return rj.quote_qty_not_supported()
        open_orders = self.open_orders(account, request.symbol)
        violations = rules.violations(
            side=request.side,
            order_type=kind,
            quantity=request.quantity,
            price=request.price,
            stop_price=request.stop_price,
            avg_price=market.avg_price(now_ms),
            quote_order_qty=request.quote_order_qty,
            open_orders=len(open_orders),
            open_algo_orders=self._open_algo_count(account, request.symbol),
        )
        if violations:
            return rj.filter_failure(violations[0])
        current = market.last
        assert current is not None  # _is_trading checked it
        is_buy = request.side is Side.BUY
        slippage = self._settings.slippage_units
        if request.quote_order_qty is not None:
            estimate = market.market_steps(request.quote_order_qty / market.price(current))
            if estimate < market.min_steps(True):
                name = "LOT_SIZE" if estimate < market.min_steps(False) else "MARKET_LOT_SIZE"
                return rj.filter_failure(
                    FilterViolation(name, f"quoteOrderQty buys {market.qty(estimate)} at the last price")
                )
        if request.new_client_order_id is not None and any(
            o.client_order_id == request.new_client_order_id for o in open_orders
        ):
            return rj.duplicate_order()
        limit = market.ticks(request.price) if request.price is not None else 0
        stop = market.ticks(request.stop_price) if request.stop_price is not None else 0
        if kind is OrderType.LIMIT_MAKER and rl.marketable(is_buy, limit, current):
            return rj.would_match()
        if kind.is_conditional:
            is_tp = kind in (OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT)
            up, strict = rl.stop_condition(is_buy, is_tp)
            if rl.meets(current, stop, up, strict):
                return rj.would_trigger()
        qty_steps = market.steps(request.quantity) if request.quantity is not None else 0
        if is_buy:
            asset = rules.quote_asset
            if request.quote_order_qty is not None:
                amount = request.quote_order_qty
            elif kind.has_limit_price:
                amount = MONEY_CONTEXT.multiply(market.price(limit), market.qty(qty_steps))
            else:
                reference = current if kind is OrderType.MARKET else stop
                expected = market.price(rl.slipped_price(reference, slippage, True))
                amount = MONEY_CONTEXT.multiply(expected, market.qty(qty_steps))
        else:
            asset = rules.base_asset
            if request.quote_order_qty is not None:
                expected = market.price(rl.slipped_price(current, slippage, False))
                units = MONEY_CONTEXT.divide(
                    request.quote_order_qty, MONEY_CONTEXT.multiply(expected, market.step)
                )
                amount = market.qty(int(units.to_integral_value(rounding=ROUND_CEILING)))
            else:
                amount = market.qty(qty_steps)
        if ledger.free(asset) < amount:
            return rj.insufficient_balance(f"needs {amount} {asset}, free {ledger.free(asset)}")
        return _Prepared(account, request, market, limit, stop, qty_steps, asset, amount)

    def _place(self, prepared: _Prepared, now_ms: int) -> OrderAccepted:
        request = prepared.request
        market = prepared.market
        kind = request.type
        order_id = market.next_order_id()
        order = Order(
            symbol=request.symbol,
            order_id=order_id,
            client_order_id=request.new_client_order_id or _generated_id("sim", order_id),
            side=request.side,
            type=kind,
            status=OrderStatus.NEW,
            orig_qty=request.quantity if request.quantity is not None else ZERO,
            price=request.price if request.price is not None else ZERO,
            stop_price=request.stop_price if request.stop_price is not None else ZERO,
            time_in_force=request.time_in_force or TimeInForce.GTC,
            time=now_ms,
            update_time=now_ms,
            orig_quote_order_qty=request.quote_order_qty if request.quote_order_qty is not None else ZERO,
            working_time=-1 if kind.is_conditional else now_ms,
        )
        if kind is OrderType.MARKET:
            phase = Phase.QUEUED
        elif kind.is_conditional:
            phase = Phase.WAITING
        else:
            phase = Phase.RESTING
        reserve = Reserve(prepared.account, prepared.reserve_asset, prepared.reserve_amount)
        working = Working(
            account=prepared.account,
            order=order,
            phase=phase,
            is_buy=request.side is Side.BUY,
            qty_steps=prepared.qty_steps,
            limit=prepared.limit,
            stop=prepared.stop,
            reserve=reserve,
            quote_left=request.quote_order_qty,
        )
        batch = Batch(now_ms)
        self._register(working, batch)
        if kind is OrderType.LIMIT:
            current = market.last
            assert current is not None
            if rl.marketable(working.is_buy, working.limit, current):
                price = rl.taker_limit_price(
                    current, working.limit, self._settings.slippage_units, working.is_buy
                )
                self._take_limit(working, market, price, batch)
            elif order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
                self._finish(working, OrderStatus.EXPIRED, ExecutionType.EXPIRED, batch)
        events = batch.release(self._ledgers)
        return OrderAccepted(working.order, now_ms, request.resp_type, tuple(events))

    def _register(self, working: Working, batch: Batch) -> None:
        """Lock the order's funds, put it on the book and report it NEW."""
        reserve = working.reserve
        if not reserve.holders:
            self._ledgers[reserve.account].lock(reserve.asset, reserve.amount)
            batch.touch(reserve.account, reserve.asset)
        reserve.holders.append(working)
        symbol = working.order.symbol
        self._open[symbol][working.order.order_id] = working
        self._orders.setdefault((working.account, symbol), []).append(working)
        self._trades.setdefault((working.account, symbol), [])
        self._by_id[(symbol, working.order.order_id)] = working
        batch.report(working, ExecutionType.NEW)

    # ================================================================== OCO
    def submit_oco(self, account: str, request: NewOco, now_ms: int) -> ListAccepted | Rejection:
        """``POST /api/v3/orderList/oco``: two legs that share quantity and funds (R14)."""
        prepared = self._prepare_oco(account, request, now_ms)
        if isinstance(prepared, Rejection):
            return prepared
        return self._place_oco(prepared, now_ms)

    def submit_oco_request(self, account: str, request: OcoRequest, now_ms: int) -> ListAccepted | Rejection:
        """:meth:`submit_oco` for the bot's own :class:`~binance_bot.model.orders.OcoRequest`."""
        return self.submit_oco(account, NewOco.from_request(request), now_ms)

    def _prepare_oco(self, account: str, request: NewOco, now_ms: int) -> _PreparedOco | Rejection:
        ledger = self._ledgers.get(account)
        if ledger is None:
            return rj.invalid_api_key()
        market = self._markets.get(request.symbol)
        if market is None:
            return rj.invalid_symbol()
        rules = market.rules
        problem = check_new_oco(request, rules)
        if problem is not None:
            return problem
        if not self._is_trading(market):
            return rj.market_closed()
        if not rules.oco_allowed:
            return rj.oco_not_supported()
        for leg in (request.above, request.below):
            if leg.type.value not in rules.order_types:
                return rj.order_type_not_supported(leg.type.value)
        assert request.quantity is not None  # check_new_oco checked it
        open_orders = self.open_orders(account, request.symbol)
        open_algo = self._open_algo_count(account, request.symbol)
        avg = market.avg_price(now_ms)
        for index, leg in enumerate((request.below, request.above)):
            violations = rules.violations(
                side=request.side,
                order_type=leg.type,
                quantity=request.quantity,
                price=leg.price,
                stop_price=leg.stop_price,
                avg_price=avg,
                open_orders=len(open_orders) + index,
                open_algo_orders=open_algo + (1 if index and request.below.type.is_conditional else 0),
            )
            if violations:
                return rj.filter_failure(violations[0])
        current = market.last
        assert current is not None
        above_level = _leg_level(market, request.above)
        below_level = _leg_level(market, request.below)
        if request.side is Side.SELL:
            if above_level <= current:
                if request.above.type is OrderType.LIMIT_MAKER:
                    return rj.sell_oco_limit_above()
                return rj.sell_oco_take_profit_above()
            if below_level >= current:
                return rj.sell_oco_stop_below()
        else:
            if above_level <= current:
                return rj.buy_oco_stop_above()
            if below_level >= current:
                if request.below.type is OrderType.LIMIT_MAKER:
                    return rj.buy_oco_limit_below()
                return rj.buy_oco_take_profit_below()
        ids = [leg.client_order_id for leg in (request.above, request.below) if leg.client_order_id]
        open_ids = {o.client_order_id for o in open_orders}
        if len(set(ids)) < len(ids) or any(i in open_ids for i in ids):
            return rj.duplicate_order()
        if request.list_client_order_id is not None and any(
            lst.list_client_order_id == request.list_client_order_id
            for lst in self._lists.values()
            if lst.account == account and lst.symbol == request.symbol and lst.is_open
        ):
            return rj.duplicate_order()
        qty_steps = market.steps(request.quantity)
        slippage = self._settings.slippage_units
        legs: list[tuple[OcoLeg, int, int]] = []
        costs: list[Decimal] = []
        for leg in (request.below, request.above):
            limit = market.ticks(leg.price) if leg.price is not None else 0
            stop = market.ticks(leg.stop_price) if leg.stop_price is not None else 0
            legs.append((leg, limit, stop))
            unit = limit if leg.type.has_limit_price else rl.slipped_price(stop, slippage, True)
            costs.append(MONEY_CONTEXT.multiply(market.price(unit), request.quantity))
        if request.side is Side.BUY:
            asset, amount = rules.quote_asset, max(costs)
        else:
            asset, amount = rules.base_asset, request.quantity
        if ledger.free(asset) < amount:
            return rj.insufficient_balance(f"needs {amount} {asset}, free {ledger.free(asset)}")
        return _PreparedOco(account, request, market, qty_steps, tuple(legs), asset, amount)

    def _place_oco(self, prepared: _PreparedOco, now_ms: int) -> ListAccepted:
        request = prepared.request
        market = prepared.market
        assert request.quantity is not None
        list_id = self._next_list_id
        self._next_list_id += 1
        oco = OcoList(
            account=prepared.account,
            symbol=request.symbol,
            order_list_id=list_id,
            list_client_order_id=request.list_client_order_id or _generated_id("simlist", list_id),
            legs=[],
            status_type=ListStatusType.EXEC_STARTED,
            order_status=ListOrderStatus.EXECUTING,
            transaction_time=now_ms,
        )
        reserve = Reserve(prepared.account, prepared.reserve_asset, prepared.reserve_amount)
        batch = Batch(now_ms)
        for leg, limit, stop in prepared.legs:
            order_id = market.next_order_id()
            kind = leg.type
            order = Order(
                symbol=request.symbol,
                order_id=order_id,
                client_order_id=leg.client_order_id or _generated_id("sim", order_id),
                side=request.side,
                type=kind,
                status=OrderStatus.NEW,
                orig_qty=request.quantity,
                price=leg.price if leg.price is not None else ZERO,
                stop_price=leg.stop_price if leg.stop_price is not None else ZERO,
                time_in_force=leg.time_in_force or TimeInForce.GTC,
                order_list_id=list_id,
                time=now_ms,
                update_time=now_ms,
                working_time=-1 if kind.is_conditional else now_ms,
            )
            working = Working(
                account=prepared.account,
                order=order,
                phase=Phase.WAITING if kind.is_conditional else Phase.RESTING,
                is_buy=request.side is Side.BUY,
                qty_steps=prepared.qty_steps,
                limit=limit,
                stop=stop,
                reserve=reserve,
                order_list=oco,
            )
            oco.legs.append(working)
            self._register(working, batch)
        self._lists[list_id] = oco
        batch.list_changed(oco)
        events = batch.release(self._ledgers)
        return ListAccepted(oco.snapshot(), now_ms, request.resp_type, tuple(events))

    # ================================================================== cancels
    def cancel(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        orig_client_order_id: str | None = None,
        new_client_order_id: str | None = None,
        now_ms: int,
    ) -> OrderCanceled | Rejection:
        """``DELETE /api/v3/order``; cancelling an OCO leg cancels the whole list (R14)."""
        found = self._lookup(account, symbol, order_id, orig_client_order_id, open_only=True)
        if isinstance(found, Rejection):
            return rj.unknown_order() if found.code == -2013 else found
        cancel_id = self._cancel_client_id(new_client_order_id)
        if isinstance(cancel_id, Rejection):
            return cancel_id
        batch = Batch(now_ms)
        oco = found.order_list if found.order_list is not None and found.order_list.is_open else None
        self._cancel_working(found, batch)
        events = batch.release(self._ledgers)
        return OrderCanceled(
            found.order, cancel_id, now_ms, oco.snapshot() if oco is not None else None, tuple(events)
        )

    def cancel_order_list(
        self,
        account: str,
        symbol: str,
        *,
        order_list_id: int | None = None,
        list_client_order_id: str | None = None,
        new_client_order_id: str | None = None,
        now_ms: int,
    ) -> ListCanceled | Rejection:
        """``DELETE /api/v3/orderList``: cancel both legs of an open OCO."""
        if not self.has_account(account):
            return rj.invalid_api_key()
        if symbol not in self._markets:
            return rj.invalid_symbol()
        if order_list_id is None and list_client_order_id is None:
            return rj.one_of("orderListId", "listClientOrderId")
        oco = self._find_list(account, symbol, order_list_id, list_client_order_id, open_only=True)
        if oco is None:
            return rj.unknown_order_list()
        cancel_id = self._cancel_client_id(new_client_order_id)
        if isinstance(cancel_id, Rejection):
            return cancel_id
        batch = Batch(now_ms)
        self._cancel_working(oco.legs[0], batch)
        events = batch.release(self._ledgers)
        return ListCanceled(oco.snapshot(), cancel_id, now_ms, tuple(events))

    def cancel_all(self, account: str, symbol: str, now_ms: int) -> AllCanceled | Rejection:
        """``DELETE /api/v3/openOrders``: every open order and list of the symbol, or -2011."""
        if not self.has_account(account):
            return rj.invalid_api_key()
        if symbol not in self._markets:
            return rj.invalid_symbol()
        open_working = [w for w in self._open[symbol].values() if w.account == account]
        if not open_working:
            return rj.unknown_order()
        batch = Batch(now_ms)
        orders: list[Order] = []
        lists: list[OcoList] = []
        for working in sorted(open_working, key=lambda w: w.order.order_id):
            if not working.is_open:
                continue
            oco = working.order_list
            if oco is not None and oco.is_open:
                lists.append(oco)
                self._cancel_working(working, batch)
            else:
                self._cancel_working(working, batch)
                orders.append(working.order)
        events = batch.release(self._ledgers)
        return AllCanceled(tuple(orders), tuple(lst.snapshot() for lst in lists), now_ms, tuple(events))

    def _cancel_working(self, working: Working, batch: Batch) -> None:
        oco = working.order_list
        if oco is not None and oco.is_open:
            for leg in oco.legs:
                if leg.is_open:
                    self._finish(leg, OrderStatus.CANCELED, ExecutionType.CANCELED, batch)
            oco.status_type, oco.order_status = _LIST_DONE
            oco.transaction_time = batch.now_ms
            batch.list_changed(oco)
        else:
            self._finish(working, OrderStatus.CANCELED, ExecutionType.CANCELED, batch)

    def _cancel_client_id(self, requested: str | None) -> str | Rejection:
        if requested is not None:
            if not is_valid_client_order_id(requested):
                return rj.illegal_client_order_id("newClientOrderId")
            return requested
        value = _generated_id("simcancel", self._next_cancel_id)
        self._next_cancel_id += 1
        return value

    # ================================================================== queries
    def get_order(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        orig_client_order_id: str | None = None,
    ) -> Order | Rejection:
        """``GET /api/v3/order``: -2013 when unknown, -2039 when the two ids disagree."""
        found = self._lookup(account, symbol, order_id, orig_client_order_id, open_only=False)
        return found if isinstance(found, Rejection) else found.order

    def open_orders(self, account: str, symbol: str | None = None) -> list[Order]:
        """Open orders of the account (one symbol, or all), by symbol then order id."""
        symbols = [symbol] if symbol is not None else sorted(self._open)
        out: list[Order] = []
        for name in symbols:
            book = self._open.get(name, {})
            out.extend(w.order for _, w in sorted(book.items()) if w.account == account)
        return out

    def all_orders(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 500,
    ) -> list[Order]:
        """``GET /api/v3/allOrders``: from ``order_id`` on, from ``start_time`` on, else the latest."""
        orders = [w.order for w in self._orders.get((account, symbol), [])]
        if order_id is not None:
            return [o for o in orders if o.order_id >= order_id][:limit]
        if start_time is not None:
            orders = [o for o in orders if o.time >= start_time]
        if end_time is not None:
            orders = [o for o in orders if o.time <= end_time]
        return orders[:limit] if start_time is not None else orders[-limit:]

    def my_trades(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> list[Fill]:
        """``GET /api/v3/myTrades``: the account's fills on a symbol, oldest first."""
        trades = list(self._trades.get((account, symbol), []))
        if order_id is not None:
            trades = [t for t in trades if t.order_id == order_id]
        if from_id is not None:
            return [t for t in trades if t.trade_id >= from_id][:limit]
        if start_time is not None:
            trades = [t for t in trades if t.time >= start_time]
        if end_time is not None:
            trades = [t for t in trades if t.time <= end_time]
        return trades[:limit] if start_time is not None else trades[-limit:]

    def get_order_list(
        self,
        account: str,
        *,
        order_list_id: int | None = None,
        list_client_order_id: str | None = None,
    ) -> OrderList | Rejection:
        if not self.has_account(account):
            return rj.invalid_api_key()
        if order_list_id is None and list_client_order_id is None:
            return rj.one_of("orderListId", "listClientOrderId")
        oco = self._find_list(account, None, order_list_id, list_client_order_id, open_only=False)
        return rj.no_such_order_list() if oco is None else oco.snapshot()

    def open_order_lists(self, account: str) -> list[OrderList]:
        return [
            lst.snapshot() for _, lst in sorted(self._lists.items()) if lst.account == account and lst.is_open
        ]

    def all_order_lists(self, account: str) -> list[OrderList]:
        return [lst.snapshot() for _, lst in sorted(self._lists.items()) if lst.account == account]

    def balances(self, account: str) -> list[Balance]:
        """Every asset the account ever held, with free and locked parts."""
        return self._ledgers[account].balances()

    def balance(self, account: str, asset: str) -> Balance:
        ledger = self._ledgers[account]
        return Balance(asset, ledger.free(asset), ledger.locked(asset))

    # ================================================================== helpers
    def _market(self, symbol: str) -> SymbolMarket:
        market = self._markets.get(symbol)
        if market is None:
            raise DataError(f"unknown symbol {symbol!r}; add it with add_symbol first")
        return market

    @staticmethod
    def _is_trading(market: SymbolMarket) -> bool:
        rules = market.rules
        return (
            rules.status is SymbolStatus.TRADING and rules.is_spot_trading_allowed and market.last is not None
        )

    def _open_algo_count(self, account: str, symbol: str) -> int:
        return sum(
            1 for w in self._open[symbol].values() if w.account == account and w.phase is Phase.WAITING
        )

    def _lookup(
        self,
        account: str,
        symbol: str,
        order_id: int | None,
        client_order_id: str | None,
        *,
        open_only: bool,
    ) -> Working | Rejection:
        if account not in self._ledgers:
            return rj.invalid_api_key()
        if symbol not in self._markets:
            return rj.invalid_symbol()
        if order_id is None and client_order_id is None:
            return rj.one_of("origClientOrderId", "orderId")
        if order_id is not None:
            working = self._by_id.get((symbol, order_id))
            if working is None or working.account != account:
                return rj.no_such_order()
            if client_order_id is not None and working.order.client_order_id != client_order_id:
                return rj.client_order_id_mismatch()
        else:
            candidates = [
                w
                for w in self._orders.get((account, symbol), [])
                if w.order.client_order_id == client_order_id
            ]
            open_candidates = [w for w in candidates if w.is_open]
            pool = open_candidates or candidates
            if not pool:
                return rj.no_such_order()
            working = pool[-1]
        if open_only and not working.is_open:
            return rj.no_such_order()
        return working

    def _find_list(
        self,
        account: str,
        symbol: str | None,
        order_list_id: int | None,
        list_client_order_id: str | None,
        *,
        open_only: bool,
    ) -> OcoList | None:
        matches = [
            lst
            for lst in self._lists.values()
            if lst.account == account
            and (symbol is None or lst.symbol == symbol)
            and (order_list_id is None or lst.order_list_id == order_list_id)
            and (list_client_order_id is None or lst.list_client_order_id == list_client_order_id)
            and (lst.is_open or not open_only)
        ]
        return matches[-1] if matches else None


def _leg_level(market: SymbolMarket, leg: OcoLeg) -> int:
    """The price an OCO leg is compared with the market at: stop price, or the limit for LIMIT_MAKER."""
    value = leg.stop_price if leg.type.is_conditional else leg.price
    assert value is not None
    return market.ticks(value)


def _generated_id(prefix: str, number: int) -> str:
    """A deterministic 22-character id, unique per prefix and number (Binance ids are 22 long)."""
    return f"{prefix}{number:0{22 - len(prefix)}d}"
