"""Per-symbol market state: the integer grid, the last price, the current bar and the average price.

The engine keeps prices as integer ticks and quantities as integer steps (R1) so that it can
call the integer rules exactly as the backtester does; this class owns the conversions in
both directions and the state the rules need between price events.
"""

from __future__ import annotations

from collections import deque
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_UP, Decimal

from binance_bot.errors import ConfigError
from binance_bot.model.instrument import SymbolRules
from binance_bot.model.market import Bar
from binance_bot.model.numbers import MONEY_CONTEXT, ONE, ZERO, from_ticks

_MINUTE_MS = 60_000
_AVG_PLACES = Decimal("0.00000001")


def grid_unit(step: Decimal, precision: int) -> Decimal:
    """The filter's step, or one unit of the asset's precision when the filter is disabled."""
    return step if step > 0 else ONE.scaleb(-precision)


class SymbolMarket:
    """Grid, prices and bar context of one symbol (mutable, owned by the engine)."""

    def __init__(self, rules: SymbolRules) -> None:
        self.rules = rules
        self.tick = grid_unit(rules.tick_size, rules.quote_asset_precision)
        self.step = grid_unit(rules.step_size, rules.base_asset_precision)
        if rules.min_price % self.tick != 0:
            raise ConfigError(
                f"{rules.symbol}: minPrice {rules.min_price} is not a multiple of tickSize {self.tick}",
                key="PRICE_FILTER",
            )
        if rules.min_qty % self.step != 0:
            raise ConfigError(
                f"{rules.symbol}: minQty {rules.min_qty} is not a multiple of stepSize {self.step}",
                key="LOT_SIZE",
            )
        self.last: int | None = None
        self.last_time: int = 0
        self.jump_pending = True
        self.bar: Bar | None = None
        self.bar_open = False
        self.volume_steps = 0
        self._history: deque[tuple[int, Decimal, Decimal]] = deque()
        self._next_order_id = 1
        self._next_trade_id = 1
        self._next_list_id = 1

    # ------------------------------------------------------------------ grid
    def ticks(self, price: Decimal) -> int:
        """R1: a price as integer ticks, rounded half-up onto the grid."""
        return int((price / self.tick).quantize(ONE, rounding=ROUND_HALF_UP, context=MONEY_CONTEXT))

    def price(self, ticks: int) -> Decimal:
        return from_ticks(ticks, self.tick)

    def steps(self, qty: Decimal) -> int:
        """R1: a quantity as integer steps, rounded down (never more than was asked or held)."""
        return int((qty / self.step).quantize(ONE, rounding=ROUND_DOWN, context=MONEY_CONTEXT))

    def qty(self, steps: int) -> Decimal:
        return from_ticks(steps, self.step)

    def market_steps(self, qty: Decimal) -> int:
        """Steps of a quantity computed from quote money, respecting MARKET_LOT_SIZE's step too."""
        return self.steps(self.rules.round_qty(qty, market=True))

    def min_steps(self, market: bool) -> int:
        """Smallest executable quantity in steps (at least one step)."""
        floor = self.rules.min_qty
        if market and self.rules.market_min_qty > floor:
            floor = self.rules.market_min_qty
        units = (floor / self.step).quantize(ONE, rounding=ROUND_CEILING, context=MONEY_CONTEXT)
        return max(1, int(units))

    def max_steps(self, market: bool) -> int | None:
        """Largest executable quantity in steps, or ``None`` when unbounded."""
        caps = [self.rules.max_qty] if self.rules.max_qty > 0 else []
        if market and self.rules.market_max_qty > 0:
            caps.append(self.rules.market_max_qty)
        return self.steps(min(caps)) if caps else None

    # ------------------------------------------------------------------ ids
    def next_order_id(self) -> int:
        value = self._next_order_id
        self._next_order_id += 1
        return value

    def next_trade_id(self) -> int:
        value = self._next_trade_id
        self._next_trade_id += 1
        return value

    def next_list_id(self) -> int:
        value = self._next_list_id
        self._next_list_id += 1
        return value

    # ------------------------------------------------------------------ bars
    def begin_bar(self, bar: Bar) -> None:
        """R13: a new bar starts: its first price event is a jump and the volume budget resets."""
        if self.bar_open:
            self.end_bar()
        self.bar = bar
        self.bar_open = True
        self.volume_steps = self.steps(bar.volume) if bar.volume > 0 else 0
        self.jump_pending = True

    def end_bar(self) -> None:
        """R18: a finished bar joins the average-price window."""
        if not self.bar_open or self.bar is None:
            return
        bar = self.bar
        quote = bar.quote_volume if bar.quote_volume > 0 else MONEY_CONTEXT.multiply(bar.close, bar.volume)
        self._history.append((bar.close_time, bar.volume, quote))
        self.bar_open = False
        horizon = bar.close_time - self.rules.avg_price_mins * _MINUTE_MS
        while self._history and self._history[0][0] < horizon:
            self._history.popleft()

    @property
    def bar_key(self) -> int | None:
        return self.bar.open_time if self.bar is not None else None

    def avg_price(self, now_ms: int) -> Decimal | None:
        """R18: volume-weighted price of the bars that closed in the last ``avgPriceMins`` minutes.

        Falls back to the last price when that window holds no volume; ``None`` before any
        price at all.
        """
        horizon = now_ms - self.rules.avg_price_mins * _MINUTE_MS
        volume = ZERO
        quote = ZERO
        for close_time, vol, qv in self._history:
            if horizon <= close_time <= now_ms:
                volume += vol
                quote += qv
        if volume > 0:
            return MONEY_CONTEXT.divide(quote, volume).quantize(_AVG_PLACES, rounding=ROUND_HALF_UP)
        return self.price(self.last) if self.last is not None else None
