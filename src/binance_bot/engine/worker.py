"""One symbol's trading logic: decide on bar close, enter, protect, exit.

The lifecycle of a long:

1. **Entry.** At a bar close where the strategy's entry rule holds, the risk checks pass and
   sizing gives a tradable quantity, a BUY goes out (MARKET, or LIMIT IOC at the ask plus
   ``max_slippage_bps``).
2. **Protection.** As soon as the entry is complete (filled, or expired with a partial
   fill), an OCO goes to the exchange: take-profit LIMIT_MAKER above, STOP_LOSS_LIMIT below.
   From then on the position is protected even if the bot dies.
3. **Exit.** The OCO closes it (take profit or stop loss), or the strategy's exit rule does:
   the OCO is cancelled, then what we hold is sold at market. If the price falls through the
   stop *and* below the stop-limit's limit price (a gap), the stop-limit cannot fill: at the
   next bar close below that limit the position is sold at market.

Every step is idempotent and re-checked at each bar, so a rejected or lost order is retried
on the next bar rather than forgotten.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from binance_bot.engine.crashpoints import crash_point
from binance_bot.engine.ids import parse_client_order_id
from binance_bot.model import (
    Bar,
    Fill,
    OcoRequest,
    Order,
    OrderRequest,
    OrderType,
    Side,
    SymbolRules,
    TimeInForce,
)
from binance_bot.model.numbers import ROUND_FLOOR, ZERO
from binance_bot.risk import protection_levels, size_entry
from binance_bot.strategy.features import BarDecision, StreamingFeatures

if TYPE_CHECKING:
    from binance_bot.engine.kernel import TradingKernel

log = logging.getLogger(__name__)


@dataclass(slots=True)
class WorkerState:
    entry_client_id: str | None = None
    exit_client_id: str | None = None
    protection_pending: bool = False
    last_bar: Bar | None = None
    last_decision: BarDecision | None = None
    bars_seen: int = 0
    notes: list[str] = field(default_factory=list)


class SymbolWorker:
    def __init__(
        self, kernel: TradingKernel, symbol: str, rules: SymbolRules, features: StreamingFeatures
    ) -> None:
        self.k = kernel
        self.symbol = symbol
        self.rules = rules
        self.features = features
        self.state = WorkerState()
        self.dequeued_ns = 0
        self.dequeued_cpu_ns = 0

    # ------------------------------------------------------------------ market
    def warm_up(self, bar: Bar) -> None:
        """Feed history to the indicators without trading on it."""
        self.state.last_decision = self.features.update(
            bar.open_time,
            float(bar.open),
            float(bar.high),
            float(bar.low),
            float(bar.close),
            float(bar.volume),
        )
        self.state.last_bar = bar
        self.state.bars_seen += 1

    async def on_bar(self, bar: Bar, received_ns: int | None = None) -> None:
        """A closed bar: update features, then manage the position or look for an entry."""
        received_ns = received_ns or time.perf_counter_ns()
        decision = self.features.update(
            bar.open_time,
            float(bar.open),
            float(bar.high),
            float(bar.low),
            float(bar.close),
            float(bar.volume),
        )
        self.state.last_bar, self.state.last_decision = bar, decision
        self.state.bars_seen += 1
        self.k.marks[self.symbol] = bar.close
        pos = self.k.portfolio.position(self.symbol)
        if pos is not None and pos.bought > 0:
            await self._manage(bar, decision, received_ns)
        elif pos is None and self.state.entry_client_id is None and decision.entry:
            await self._enter(bar, received_ns)

    async def _manage(self, bar: Bar, decision: BarDecision, received_ns: int) -> None:
        pos = self.k.portfolio.position(self.symbol)
        assert pos is not None
        if self.state.exit_client_id is not None or self.state.entry_client_id is not None:
            return  # an order is in flight; its outcome decides the next step
        if pos.stop_limit_price > 0 and bar.close < pos.stop_limit_price:
            await self.exit("stop_loss", received_ns)
        elif decision.exit:
            await self.exit("signal", received_ns)
        elif not self.is_protected():
            await self.protect()

    # ------------------------------------------------------------------ entry
    async def enter_now(self, price: Decimal | None = None) -> Order | None:
        """A manual entry (the ``AsyncTrader.enter_position`` facade): same checks as a signal."""
        mark = price if price is not None else await self.k.exchange.ticker_price(self.symbol)
        now = self.k.clock.now_ms()
        bar = self.state.last_bar
        ref = Bar(self.symbol, "manual", now, now, mark, mark, mark, mark, ZERO) if bar is None else bar
        if price is not None:
            ref = Bar(self.symbol, "manual", now, now, price, price, price, price, ZERO)
        async with self.k.lock(self.symbol):
            return await self._enter(ref, time.perf_counter_ns())

    async def _enter(self, bar: Bar, received_ns: int) -> Order | None:
        k = self.k
        cfg = k.config.trading
        if k.portfolio.position(self.symbol) is not None or self.state.entry_client_id is not None:
            return None
        decision = k.risk.check_entry(
            symbol=self.symbol,
            now_ms=bar.close_time + 1,
            open_positions=k.portfolio.open_count + k.pending_entries(),
            exposure=k.portfolio.market_value(k.marks),
            equity=k.equity(),
            entry_value=cfg.oper_equity,
            paused=k.paused or k.stopping,
        )
        if not decision:
            log.debug("%s: entry signal refused: %s", self.symbol, decision.reason)
            k.metrics.entry_refused(decision.reason)
            return None
        order_type = OrderType.LIMIT if cfg.entry_order_type == "LIMIT" else OrderType.MARKET
        price = bar.close
        limit_price: Decimal | None = None
        if order_type is OrderType.LIMIT:
            ask = (await k.exchange.book_ticker(self.symbol)).ask_price
            limit_price = self.rules.round_price(
                ask * (1 + cfg.max_slippage_bps / Decimal(10_000)), ROUND_FLOOR
            )
            price = limit_price
        size = size_entry(
            rules=self.rules,
            price=price,
            oper_equity=cfg.oper_equity,
            free_quote=k.free(self.rules.quote_asset),
            max_fraction_of_free=k.config.risk.max_fraction_of_free,
            order_type=order_type,
        )
        if not size.ok:
            log.info("%s: entry signal skipped: %s", self.symbol, size.reason)
            k.metrics.entry_refused(size.reason)
            return None
        _, coid = k.orders.next_id(self.symbol)
        request = OrderRequest(
            symbol=self.symbol,
            side=Side.BUY,
            type=order_type,
            client_order_id=coid,
            quantity=size.qty,
            price=limit_price,
            time_in_force=TimeInForce.IOC if order_type is OrderType.LIMIT else None,
        )
        self.state.entry_client_id = coid
        order = await k.orders.place(
            request, purpose="entry", on_wire=lambda: self._record_latency(received_ns, "entry")
        )
        log.info("%s: entry %s %s at ~%s (%s)", self.symbol, order_type.value, size.qty, price, coid)
        if order is None and self.state.entry_client_id == coid:
            self.state.entry_client_id = None
        return order

    def _record_latency(self, received_ns: int, purpose: str) -> None:
        now = time.perf_counter_ns()
        self.k.metrics.bar_to_order((now - received_ns) / 1e6)
        if self.dequeued_ns:
            cpu = (time.thread_time_ns() - self.dequeued_cpu_ns) / 1e6
            self.k.metrics.order_processing((now - self.dequeued_ns) / 1e6, purpose, cpu_ms=cpu)

    # ------------------------------------------------------------------ protection
    def protection_legs(self) -> list[Order]:
        """Our open protective orders on this symbol (the OCO legs, ``-tp`` and ``-sl``)."""
        legs = []
        for coid, order in self.k.orders.orders_by_client_id.items():
            if order.symbol == self.symbol and order.is_open and order.side is Side.SELL:
                parsed = parse_client_order_id(coid)
                if parsed is not None and parsed[3] in ("tp", "sl"):
                    legs.append(order)
        return legs

    def is_protected(self) -> bool:
        return bool(self.protection_legs())

    def adopt_protection(self) -> None:
        """After a restart: recognise the OCO still working on the exchange as ours."""
        pos = self.k.portfolio.position(self.symbol)
        legs = self.protection_legs()
        if pos is None or not legs:
            return
        coid = legs[0].client_order_id
        pos.protection_list_client_id = coid.rsplit("-", 1)[0] + "-oco"
        pos.protection_list_id = legs[0].order_list_id
        for leg in legs:
            if leg.type is OrderType.STOP_LOSS_LIMIT:
                pos.stop_limit_price = leg.price
                pos.stop_price = leg.stop_price
            elif leg.type is OrderType.LIMIT_MAKER:
                pos.take_profit_price = leg.price

    async def protect(self) -> None:
        """Place the OCO that guards the position on the exchange."""
        k = self.k
        pos = k.portfolio.position(self.symbol)
        if pos is None or self.state.protection_pending:
            return
        qty = k.portfolio.sellable(self.symbol)
        if qty <= 0:
            return
        cfg = k.config.trading
        levels = protection_levels(
            pos.entry_price,
            self.rules,
            stop_loss_margin=cfg.stop_loss_margin,
            take_profit_ratio=cfg.take_profit_ratio,
            stop_limit_buffer=cfg.stop_limit_buffer,
        )
        pos.stop_price, pos.stop_limit_price, pos.take_profit_price = (
            levels.stop,
            levels.stop_limit,
            levels.take_profit,
        )
        _seq, list_id = k.orders.next_id(self.symbol, "oco")
        base = list_id.removesuffix("-oco")
        request = OcoRequest(
            symbol=self.symbol,
            side=Side.SELL,
            quantity=qty,
            list_client_order_id=list_id,
            take_profit_price=levels.take_profit,
            stop_price=levels.stop,
            stop_limit_price=levels.stop_limit,
            take_profit_client_order_id=f"{base}-tp",
            stop_client_order_id=f"{base}-sl",
        )
        pos.protection_list_client_id = list_id
        self.state.protection_pending = True
        try:
            result = await k.orders.place_oco(request)
        finally:
            self.state.protection_pending = False
        if result is None:
            pos.protection_list_client_id = ""
            if k.portfolio.position(self.symbol) is not None:
                log.warning("%s: protection could not be placed: selling at market", self.symbol)
                await self.exit("protection_failed")
            return
        pos.protection_list_id = result.order_list_id
        k.store.save_position(pos.to_position())
        k.notify("protected", symbol=self.symbol, stop=str(levels.stop), take_profit=str(levels.take_profit))

    # ------------------------------------------------------------------ exit
    async def exit(self, reason: str, received_ns: int | None = None) -> None:
        """Cancel the protection, then sell what we hold at market."""
        k = self.k
        pos = k.portfolio.position(self.symbol)
        if pos is None or self.state.exit_client_id is not None:
            return
        pos.exit_reason = reason
        if pos.protection_list_client_id:
            if not await k.orders.cancel_list(self.symbol, pos.protection_list_client_id):
                return  # try again at the next bar
            pos.protection_list_client_id = ""
        # A leg can outlive its list: once a stop triggers, the list is done but the
        # stop-limit may still rest unfilled, holding the base asset. Cancel what is left.
        if not await self._cancel_open_sells():
            return
        pos = k.portfolio.position(self.symbol)
        if pos is None:
            return  # a protective leg filled meanwhile: the position is already closed
        qty = k.portfolio.sellable(self.symbol)
        if qty <= 0:
            return
        _, coid = k.orders.next_id(self.symbol)
        request = OrderRequest(
            symbol=self.symbol, side=Side.SELL, type=OrderType.MARKET, client_order_id=coid, quantity=qty
        )
        self.state.exit_client_id = coid
        order = await k.orders.place(
            request,
            purpose="exit" if reason != "kill" else "flatten",
            on_wire=None if received_ns is None else lambda: self._record_latency(received_ns, "exit"),
        )
        log.info("%s: exit (%s) SELL %s (%s)", self.symbol, reason, qty, coid)
        if order is None and self.state.exit_client_id == coid:
            self.state.exit_client_id = None

    # ------------------------------------------------------------------ events
    async def on_fill(self, fill: Fill, order: Order | None) -> None:
        k = self.k
        if fill.side is Side.BUY:
            pos = k.portfolio.apply_buy(fill)
            crash_point("filled")
            k.store.commit_fill(fill, position=pos.to_position())
            k.notify("fill", symbol=fill.symbol, side="BUY", qty=str(fill.qty), price=str(fill.price))
            return
        pos = k.portfolio.position(self.symbol)
        if pos is not None and not pos.exit_reason:
            suffix = (parse_client_order_id(fill.client_order_id) or ("", "", 0, ""))[3]
            pos.exit_reason = {"tp": "take_profit", "sl": "stop_loss"}.get(suffix, "external")
        trade = k.portfolio.apply_sell(fill)
        if trade is None:
            k.store.commit_fill(fill, position=pos.to_position() if pos is not None else None)
            k.notify("fill", symbol=fill.symbol, side="SELL", qty=str(fill.qty), price=str(fill.price))
            return
        k.store.commit_fill(fill, closed=(k.run_id, trade))
        k.notify("fill", symbol=fill.symbol, side="SELL", qty=str(fill.qty), price=str(fill.price))
        k.risk.on_exit(self.symbol, stopped_out=trade.exit_reason == "stop_loss", bar_close_ms=fill.time)
        self.state.exit_client_id = None
        k.metrics.trade_closed(trade)
        log.info(
            "%s: closed (%s) pnl %s %s",
            self.symbol,
            trade.exit_reason,
            trade.pnl.quantize(Decimal("0.01")),
            k.quote,
        )
        k.notify("exit", symbol=self.symbol, reason=trade.exit_reason, pnl=str(trade.pnl))
        # leftover protection legs (a partial exit closed it): make sure nothing is left working
        await self._cancel_open_sells()

    async def _cancel_open_sells(self) -> bool:
        """Cancel every open SELL of ours on this symbol; False if one could not be cancelled."""
        ok = True
        for coid, order in list(self.k.orders.orders_by_client_id.items()):
            if order.symbol == self.symbol and order.is_open and order.side is Side.SELL:
                ok = await self.k.orders.cancel(self.symbol, coid) and ok
        return ok

    async def on_order(self, order: Order) -> None:
        """An order of ours changed status."""
        k = self.k
        if order.client_order_id == self.state.entry_client_id and order.status.is_final:
            self.state.entry_client_id = None
            pos = k.portfolio.position(self.symbol)
            if pos is not None and pos.bought > 0:
                if k.stopping or k.killed:
                    await self.exit("kill" if k.killed else "stop")
                else:
                    await self.protect()
        elif order.client_order_id == self.state.exit_client_id and order.status.is_final:
            self.state.exit_client_id = None

    def snapshot(self) -> dict[str, object]:
        pos = self.k.portfolio.position(self.symbol)
        mark = self.k.marks.get(self.symbol)
        return {
            "symbol": self.symbol,
            "bars": self.state.bars_seen,
            "last_close": str(mark) if mark is not None else None,
            "position": None
            if pos is None
            else {
                "qty": str(pos.held),
                "entry": str(pos.entry_price.quantize(self.rules.tick_size or Decimal("0.00000001"))),
                "stop": str(pos.stop_price),
                "take_profit": str(pos.take_profit_price),
                "unrealized_pnl": str(
                    (pos.held * mark + pos.proceeds - pos.cost).quantize(Decimal("0.01")) if mark else ZERO
                ),
                "opened_at": pos.opened_at,
            },
            "signal": None
            if self.state.last_decision is None
            else {"entry": self.state.last_decision.entry, "exit": self.state.last_decision.exit},
        }
