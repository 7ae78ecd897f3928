"""What a client asks the engine for, with Binance's optional parameters left optional.

The model's :class:`~binance_bot.model.orders.OrderRequest` is the bot's own, already
complete intent; a Binance client may omit ``newClientOrderId`` or send parameters that do
not belong together, and the engine must answer those with Binance's parameter errors. So
the engine takes these looser shapes, and converts the model's requests into them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from binance_bot.model.enums import OrderRespType, OrderType, Side, TimeInForce
from binance_bot.model.orders import OcoRequest, OrderRequest


@dataclass(frozen=True, slots=True)
class NewOrder:
    """``POST /api/v3/order`` parameters, typed; ``None`` means *not sent*."""

    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal | None = None
    quote_order_qty: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    new_client_order_id: str | None = None
    new_order_resp_type: OrderRespType | None = None

    @classmethod
    def from_request(cls, request: OrderRequest, resp_type: OrderRespType | None = None) -> NewOrder:
        return cls(
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            quantity=request.quantity,
            quote_order_qty=request.quote_order_qty,
            price=request.price,
            stop_price=request.stop_price,
            time_in_force=request.time_in_force,
            new_client_order_id=request.client_order_id,
            new_order_resp_type=resp_type,
        )

    @property
    def resp_type(self) -> OrderRespType:
        """Binance's default: FULL for MARKET and LIMIT, ACK for every other type."""
        if self.new_order_resp_type is not None:
            return self.new_order_resp_type
        if self.type in (OrderType.MARKET, OrderType.LIMIT):
            return OrderRespType.FULL
        return OrderRespType.ACK


@dataclass(frozen=True, slots=True)
class OcoLeg:
    """One leg of ``POST /api/v3/orderList/oco`` (the ``above*`` or ``below*`` parameters)."""

    type: OrderType
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewOco:
    """``POST /api/v3/orderList/oco`` parameters: both legs share side and quantity."""

    symbol: str
    side: Side
    quantity: Decimal | None
    above: OcoLeg
    below: OcoLeg
    list_client_order_id: str | None = None
    new_order_resp_type: OrderRespType | None = None

    @classmethod
    def from_request(cls, request: OcoRequest, resp_type: OrderRespType | None = None) -> NewOco:
        """The bot's OCO: the take-profit leg is LIMIT_MAKER, the stop leg STOP_LOSS(_LIMIT)."""
        take_profit = OcoLeg(
            OrderType.LIMIT_MAKER,
            price=request.take_profit_price,
            client_order_id=request.take_profit_client_order_id,
        )
        if request.stop_limit_price is None:
            stop = OcoLeg(
                OrderType.STOP_LOSS,
                stop_price=request.stop_price,
                client_order_id=request.stop_client_order_id,
            )
        else:
            stop = OcoLeg(
                OrderType.STOP_LOSS_LIMIT,
                price=request.stop_limit_price,
                stop_price=request.stop_price,
                time_in_force=request.stop_limit_time_in_force,
                client_order_id=request.stop_client_order_id,
            )
        above, below = (take_profit, stop) if request.side is Side.SELL else (stop, take_profit)
        return cls(
            symbol=request.symbol,
            side=request.side,
            quantity=request.quantity,
            above=above,
            below=below,
            list_client_order_id=request.list_client_order_id,
            new_order_resp_type=resp_type,
        )

    @property
    def resp_type(self) -> OrderRespType:
        """Order-list responses carry the legs' reports, so FULL unless asked otherwise."""
        return self.new_order_resp_type or OrderRespType.FULL
