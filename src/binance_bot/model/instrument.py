"""A tradable symbol and its exchange filters, with quantization and pre-trade checks.

The filter semantics follow Binance's ``filters.md``: a part set to zero is disabled;
PRICE_FILTER applies to ``price`` and ``stopPrice``; LOT_SIZE to every quantity, and
MARKET_LOT_SIZE additionally to MARKET orders; NOTIONAL compares ``price * quantity`` with
``minNotional``/``maxNotional`` (MARKET orders use the average price, and only when
``applyMinToMarket``/``applyMaxToMarket``); PERCENT_PRICE_BY_SIDE bounds a limit price by
the average price times the side's multipliers.

:meth:`SymbolRules.violations` is the single implementation of those checks. The exchange
simulator turns a violation into ``-1013 Filter failure: <FILTER>``; the client uses the
same function to refuse an order locally with a message saying by how much it missed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from binance_bot.model.enums import OrderType, Side, SymbolStatus
from binance_bot.model.numbers import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ZERO,
    decimal_places,
    fmt,
    is_multiple,
    quantize_step,
    to_decimal,
)


@dataclass(frozen=True, slots=True)
class FilterViolation:
    """One failed filter: the Binance filter name and a human explanation with the miss."""

    filter_name: str
    detail: str

    @property
    def binance_message(self) -> str:
        return f"Filter failure: {self.filter_name}"


ALL_ORDER_TYPES: tuple[str, ...] = tuple(t.value for t in OrderType)


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """Everything needed to quantize and pre-check an order for one symbol."""

    symbol: str
    base_asset: str
    quote_asset: str
    status: SymbolStatus = SymbolStatus.TRADING
    base_asset_precision: int = 8
    quote_asset_precision: int = 8
    # PRICE_FILTER
    min_price: Decimal = ZERO
    max_price: Decimal = ZERO
    tick_size: Decimal = ZERO
    # LOT_SIZE
    min_qty: Decimal = ZERO
    max_qty: Decimal = ZERO
    step_size: Decimal = ZERO
    # MARKET_LOT_SIZE
    market_min_qty: Decimal = ZERO
    market_max_qty: Decimal = ZERO
    market_step_size: Decimal = ZERO
    # NOTIONAL (or legacy MIN_NOTIONAL, mapped onto the same fields)
    min_notional: Decimal = ZERO
    max_notional: Decimal = ZERO
    apply_min_to_market: bool = True
    apply_max_to_market: bool = False
    avg_price_mins: int = 5
    notional_filter_name: str = "NOTIONAL"
    # PERCENT_PRICE_BY_SIDE (zero = filter absent)
    bid_multiplier_up: Decimal = ZERO
    bid_multiplier_down: Decimal = ZERO
    ask_multiplier_up: Decimal = ZERO
    ask_multiplier_down: Decimal = ZERO
    # MAX_NUM_ORDERS / MAX_NUM_ALGO_ORDERS (zero = absent)
    max_num_orders: int = 0
    max_num_algo_orders: int = 0
    order_types: tuple[str, ...] = ALL_ORDER_TYPES
    oco_allowed: bool = True
    quote_order_qty_market_allowed: bool = True
    is_spot_trading_allowed: bool = True
    extra_filters: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)

    # ------------------------------------------------------------------ quantization
    @property
    def price_places(self) -> int:
        return decimal_places(self.tick_size) if self.tick_size else self.quote_asset_precision

    @property
    def qty_places(self) -> int:
        return decimal_places(self.step_size) if self.step_size else self.base_asset_precision

    def round_price(self, price: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
        """Price on the tick grid. Choose ``rounding`` toward safety for the order's purpose."""
        return quantize_step(price, self.tick_size, rounding)

    def round_price_for(self, price: Decimal, side: Side) -> Decimal:
        """Limit price rounded toward safety: a buy never pays more, a sell never gets less."""
        return self.round_price(price, ROUND_FLOOR if side is Side.BUY else ROUND_CEILING)

    def round_qty(self, qty: Decimal, *, market: bool = False) -> Decimal:
        """Quantity rounded *down* to the step (never more than we can pay for or hold)."""
        step = self.step_size
        if market and self.market_step_size > step:
            step = self.market_step_size
        return quantize_step(qty, step, ROUND_DOWN)

    # ------------------------------------------------------------------ checks
    def violations(
        self,
        *,
        side: Side,
        order_type: OrderType,
        quantity: Decimal | None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        avg_price: Decimal | None = None,
        quote_order_qty: Decimal | None = None,
        open_orders: int | None = None,
        open_algo_orders: int | None = None,
    ) -> list[FilterViolation]:
        """Every filter the order breaks, in Binance's evaluation order (first is reported).

        ``avg_price`` is the symbol's recent average price; MARKET notional and
        PERCENT_PRICE_BY_SIDE need it and are skipped without it. ``open_orders`` and
        ``open_algo_orders`` are the account's open orders on the symbol *before* this one
        (all of them, and the untriggered stop/take-profit ones); MAX_NUM_ORDERS and
        MAX_NUM_ALGO_ORDERS need them and are skipped without them.
        """
        out: list[FilterViolation] = []
        for label, value in (("price", price), ("stopPrice", stop_price)):
            if value is not None and order_type is not OrderType.MARKET:
                out.extend(self._price_filter(label, value))
        if quantity is not None:
            out.extend(self._lot("LOT_SIZE", quantity, self.min_qty, self.max_qty, self.step_size))
            if order_type is OrderType.MARKET:
                out.extend(
                    self._lot(
                        "MARKET_LOT_SIZE",
                        quantity,
                        self.market_min_qty,
                        self.market_max_qty,
                        self.market_step_size,
                    )
                )
        out.extend(self._notional(order_type, quantity, price, avg_price, quote_order_qty))
        if (
            price is not None
            and avg_price is not None
            and order_type is not OrderType.MARKET
            and self.bid_multiplier_up > 0
        ):
            out.extend(self._percent_price_by_side(side, price, avg_price))
        if open_orders is not None and self.max_num_orders > 0 and open_orders >= self.max_num_orders:
            out.append(
                FilterViolation(
                    "MAX_NUM_ORDERS",
                    f"{open_orders} open orders already; maxNumOrders is {self.max_num_orders}",
                )
            )
        if (
            open_algo_orders is not None
            and order_type.is_conditional
            and self.max_num_algo_orders > 0
            and open_algo_orders >= self.max_num_algo_orders
        ):
            out.append(
                FilterViolation(
                    "MAX_NUM_ALGO_ORDERS",
                    f"{open_algo_orders} open stop orders already; maxNumAlgoOrders is "
                    f"{self.max_num_algo_orders}",
                )
            )
        return out

    def _price_filter(self, label: str, value: Decimal) -> list[FilterViolation]:
        out = []
        if value <= 0:
            out.append(FilterViolation("PRICE_FILTER", f"{label} {fmt(value)} must be > 0"))
            return out
        if self.min_price > 0 and value < self.min_price:
            out.append(
                FilterViolation(
                    "PRICE_FILTER", f"{label} {fmt(value)} is below minPrice {fmt(self.min_price)}"
                )
            )
        if self.max_price > 0 and value > self.max_price:
            out.append(
                FilterViolation(
                    "PRICE_FILTER", f"{label} {fmt(value)} is above maxPrice {fmt(self.max_price)}"
                )
            )
        if self.tick_size > 0 and not is_multiple(value - self.min_price, self.tick_size):
            out.append(
                FilterViolation(
                    "PRICE_FILTER",
                    f"{label} {fmt(value)} is not a multiple of tickSize {fmt(self.tick_size)} "
                    f"(nearest below {fmt(self.round_price(value))})",
                )
            )
        return out

    @staticmethod
    def _lot(
        name: str, qty: Decimal, min_qty: Decimal, max_qty: Decimal, step: Decimal
    ) -> list[FilterViolation]:
        out = []
        if qty <= 0:
            return [FilterViolation(name, f"quantity {fmt(qty)} must be > 0")]
        if min_qty > 0 and qty < min_qty:
            out.append(
                FilterViolation(
                    name, f"quantity {fmt(qty)} is below minQty {fmt(min_qty)} by {fmt(min_qty - qty)}"
                )
            )
        if max_qty > 0 and qty > max_qty:
            out.append(
                FilterViolation(
                    name, f"quantity {fmt(qty)} is above maxQty {fmt(max_qty)} by {fmt(qty - max_qty)}"
                )
            )
        if step > 0 and not is_multiple(qty - min_qty, step):
            out.append(
                FilterViolation(
                    name,
                    f"quantity {fmt(qty)} is not a multiple of stepSize {fmt(step)} "
                    f"(nearest below {fmt(quantize_step(qty, step))})",
                )
            )
        return out

    def _notional(
        self,
        order_type: OrderType,
        quantity: Decimal | None,
        price: Decimal | None,
        avg_price: Decimal | None,
        quote_order_qty: Decimal | None,
    ) -> list[FilterViolation]:
        is_market = order_type in (OrderType.MARKET, OrderType.STOP_LOSS, OrderType.TAKE_PROFIT)
        if is_market:
            if quote_order_qty is not None:
                notional = quote_order_qty
            elif quantity is not None and avg_price is not None:
                notional = quantity * avg_price
            else:
                return []
            check_min = self.apply_min_to_market
            check_max = self.apply_max_to_market
        else:
            if quantity is None or price is None:
                return []
            notional = quantity * price
            check_min = check_max = True
        out = []
        name = self.notional_filter_name
        if check_min and self.min_notional > 0 and notional < self.min_notional:
            out.append(
                FilterViolation(
                    name,
                    f"notional {fmt(notional)} is below minNotional {fmt(self.min_notional)} "
                    f"by {fmt(self.min_notional - notional)}",
                )
            )
        if check_max and self.max_notional > 0 and notional > self.max_notional:
            out.append(
                FilterViolation(
                    name,
                    f"notional {fmt(notional)} is above maxNotional {fmt(self.max_notional)} "
                    f"by {fmt(notional - self.max_notional)}",
                )
            )
        return out

    def _percent_price_by_side(self, side: Side, price: Decimal, avg: Decimal) -> list[FilterViolation]:
        if side is Side.BUY:
            lo, hi = avg * self.bid_multiplier_down, avg * self.bid_multiplier_up
        else:
            lo, hi = avg * self.ask_multiplier_down, avg * self.ask_multiplier_up
        if price < lo or price > hi:
            return [
                FilterViolation(
                    "PERCENT_PRICE_BY_SIDE",
                    f"price {fmt(price)} is outside [{fmt(lo)}, {fmt(hi)}] around average {fmt(avg)}",
                )
            ]
        return []

    # ------------------------------------------------------------------ wire form
    @classmethod
    def from_exchange_info(cls, row: Mapping[str, Any]) -> SymbolRules:
        """Build from one ``exchangeInfo.symbols[]`` entry (Binance field names)."""
        kwargs: dict[str, Any] = {
            "symbol": str(row["symbol"]),
            "base_asset": str(row["baseAsset"]),
            "quote_asset": str(row["quoteAsset"]),
            "status": SymbolStatus(row.get("status", "TRADING")),
            "base_asset_precision": int(row.get("baseAssetPrecision", 8)),
            "quote_asset_precision": int(row.get("quoteAssetPrecision", row.get("quotePrecision", 8))),
            "order_types": tuple(row.get("orderTypes", ALL_ORDER_TYPES)),
            "oco_allowed": bool(row.get("ocoAllowed", True)),
            "quote_order_qty_market_allowed": bool(row.get("quoteOrderQtyMarketAllowed", True)),
            "is_spot_trading_allowed": bool(row.get("isSpotTradingAllowed", True)),
        }
        extra: list[Mapping[str, Any]] = []
        for f in row.get("filters", ()):
            kind = f.get("filterType")
            if kind == "PRICE_FILTER":
                kwargs.update(
                    min_price=to_decimal(f["minPrice"], field="minPrice"),
                    max_price=to_decimal(f["maxPrice"], field="maxPrice"),
                    tick_size=to_decimal(f["tickSize"], field="tickSize"),
                )
            elif kind == "LOT_SIZE":
                kwargs.update(
                    min_qty=to_decimal(f["minQty"], field="minQty"),
                    max_qty=to_decimal(f["maxQty"], field="maxQty"),
                    step_size=to_decimal(f["stepSize"], field="stepSize"),
                )
            elif kind == "MARKET_LOT_SIZE":
                kwargs.update(
                    market_min_qty=to_decimal(f["minQty"], field="minQty"),
                    market_max_qty=to_decimal(f["maxQty"], field="maxQty"),
                    market_step_size=to_decimal(f["stepSize"], field="stepSize"),
                )
            elif kind == "NOTIONAL":
                kwargs.update(
                    min_notional=to_decimal(f.get("minNotional", "0"), field="minNotional"),
                    max_notional=to_decimal(f.get("maxNotional", "0"), field="maxNotional"),
                    apply_min_to_market=bool(f.get("applyMinToMarket", True)),
                    apply_max_to_market=bool(f.get("applyMaxToMarket", False)),
                    avg_price_mins=int(f.get("avgPriceMins", 5)),
                    notional_filter_name="NOTIONAL",
                )
            elif kind == "MIN_NOTIONAL" and "min_notional" not in kwargs:
                kwargs.update(
                    min_notional=to_decimal(f.get("minNotional", "0"), field="minNotional"),
                    apply_min_to_market=bool(f.get("applyToMarket", True)),
                    avg_price_mins=int(f.get("avgPriceMins", 5)),
                    notional_filter_name="MIN_NOTIONAL",
                )
            elif kind == "PERCENT_PRICE_BY_SIDE":
                kwargs.update(
                    bid_multiplier_up=to_decimal(f["bidMultiplierUp"], field="bidMultiplierUp"),
                    bid_multiplier_down=to_decimal(f["bidMultiplierDown"], field="bidMultiplierDown"),
                    ask_multiplier_up=to_decimal(f["askMultiplierUp"], field="askMultiplierUp"),
                    ask_multiplier_down=to_decimal(f["askMultiplierDown"], field="askMultiplierDown"),
                )
            elif kind == "MAX_NUM_ORDERS":
                kwargs["max_num_orders"] = int(f["maxNumOrders"])
            elif kind == "MAX_NUM_ALGO_ORDERS":
                kwargs["max_num_algo_orders"] = int(f["maxNumAlgoOrders"])
            else:
                extra.append(dict(f))
        kwargs["extra_filters"] = tuple(extra)
        return cls(**kwargs)

    def to_exchange_info(self) -> dict[str, Any]:
        """The ``exchangeInfo.symbols[]`` entry for this symbol, as Binance writes it."""

        def s(v: Decimal, places: int = 8) -> str:
            return fmt(v, places)

        filters: list[dict[str, Any]] = [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": s(self.min_price),
                "maxPrice": s(self.max_price),
                "tickSize": s(self.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": s(self.min_qty),
                "maxQty": s(self.max_qty),
                "stepSize": s(self.step_size),
            },
        ]
        if self.bid_multiplier_up > 0:
            filters.append(
                {
                    "filterType": "PERCENT_PRICE_BY_SIDE",
                    "bidMultiplierUp": fmt(self.bid_multiplier_up),
                    "bidMultiplierDown": fmt(self.bid_multiplier_down),
                    "askMultiplierUp": fmt(self.ask_multiplier_up),
                    "askMultiplierDown": fmt(self.ask_multiplier_down),
                    "avgPriceMins": self.avg_price_mins,
                }
            )
        if self.notional_filter_name == "MIN_NOTIONAL":
            filters.append(
                {
                    "filterType": "MIN_NOTIONAL",
                    "minNotional": s(self.min_notional),
                    "applyToMarket": self.apply_min_to_market,
                    "avgPriceMins": self.avg_price_mins,
                }
            )
        else:
            filters.append(
                {
                    "filterType": "NOTIONAL",
                    "minNotional": s(self.min_notional),
                    "applyMinToMarket": self.apply_min_to_market,
                    "maxNotional": s(self.max_notional),
                    "applyMaxToMarket": self.apply_max_to_market,
                    "avgPriceMins": self.avg_price_mins,
                }
            )
        filters.append(
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": s(self.market_min_qty),
                "maxQty": s(self.market_max_qty),
                "stepSize": s(self.market_step_size),
            }
        )
        if self.max_num_orders:
            filters.append({"filterType": "MAX_NUM_ORDERS", "maxNumOrders": self.max_num_orders})
        if self.max_num_algo_orders:
            filters.append(
                {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": self.max_num_algo_orders}
            )
        filters.extend(dict(f) for f in self.extra_filters)
        return {
            "symbol": self.symbol,
            "status": self.status.value,
            "baseAsset": self.base_asset,
            "baseAssetPrecision": self.base_asset_precision,
            "quoteAsset": self.quote_asset,
            "quotePrecision": self.quote_asset_precision,
            "quoteAssetPrecision": self.quote_asset_precision,
            "baseCommissionPrecision": self.base_asset_precision,
            "quoteCommissionPrecision": self.quote_asset_precision,
            "orderTypes": list(self.order_types),
            "icebergAllowed": True,
            "ocoAllowed": self.oco_allowed,
            "otoAllowed": True,
            "opoAllowed": False,
            "quoteOrderQtyMarketAllowed": self.quote_order_qty_market_allowed,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": False,
            "amendAllowed": False,
            "pegInstructionsAllowed": False,
            "isSpotTradingAllowed": self.is_spot_trading_allowed,
            "isMarginTradingAllowed": False,
            "filters": filters,
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }
