"""Market data schemas: exchangeInfo, klines, tickers, average price and the order book.

Parsers turn Binance JSON into model types; writers produce the exact JSON Binance sends
(strings for decimals, integers for times), which the local simulator serves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from binance_bot.exchange.binance.wire._fields import (
    WireFormatError,
    dec,
    dec_value,
    get,
    int_,
    int_value,
    opt_int,
    require_mapping,
    str_,
    wnum,
)
from binance_bot.model import Bar, BookTicker, SymbolRules, Ticker24h
from binance_bot.model.numbers import MONEY_CONTEXT, ZERO

_INTERVAL_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
_INTERVAL_LETTER = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One ``exchangeInfo.rateLimits`` entry (REQUEST_WEIGHT, ORDERS, RAW_REQUESTS...)."""

    rate_limit_type: str
    interval: str
    interval_num: int
    limit: int

    @property
    def window_seconds(self) -> int:
        return _INTERVAL_SECONDS[self.interval] * self.interval_num

    @property
    def header_suffix(self) -> str:
        """The ``(intervalNum)(letter)`` suffix of the matching ``X-MBX-*`` header, e.g. ``1M``."""
        return f"{self.interval_num}{_INTERVAL_LETTER[self.interval]}"


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    server_time: int
    rate_limits: tuple[RateLimit, ...]
    symbols: dict[str, SymbolRules] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderBook:
    """A ``GET /api/v3/depth`` snapshot: (price, quantity) levels, best first."""

    symbol: str
    last_update_id: int
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0][0] if self.asks else None


# ---------------------------------------------------------------- exchangeInfo
def parse_rate_limit(row: object) -> RateLimit:
    obj = require_mapping(row, "rateLimits[]")
    rl = RateLimit(
        rate_limit_type=str_(obj, "rateLimitType"),
        interval=str_(obj, "interval"),
        interval_num=int_(obj, "intervalNum"),
        limit=int_(obj, "limit"),
    )
    if rl.interval not in _INTERVAL_SECONDS:
        raise WireFormatError("interval", f"unknown rate-limit interval {rl.interval!r}", payload=row)
    return rl


def write_rate_limit(rl: RateLimit) -> dict[str, Any]:
    return {
        "rateLimitType": rl.rate_limit_type,
        "interval": rl.interval,
        "intervalNum": rl.interval_num,
        "limit": rl.limit,
    }


def parse_symbol_rules(row: object) -> SymbolRules:
    obj = require_mapping(row, "symbols[]")
    try:
        return SymbolRules.from_exchange_info(obj)
    except KeyError as exc:
        raise WireFormatError(str(exc.args[0]), "missing", payload=row) from exc
    except (ValueError, TypeError, AttributeError) as exc:  # e.g. a filter that is not an object
        raise WireFormatError(f"symbols[{obj.get('symbol')!r}]", str(exc), payload=row) from exc


def parse_exchange_info(payload: object) -> ExchangeInfo:
    obj = require_mapping(payload, "exchangeInfo")
    rows = get(obj, "symbols")
    limits = obj.get("rateLimits", [])
    if not isinstance(rows, list) or not isinstance(limits, list):
        raise WireFormatError("symbols", "expected arrays for symbols and rateLimits", payload=payload)
    rules = {r.symbol: r for r in (parse_symbol_rules(row) for row in rows)}
    return ExchangeInfo(
        server_time=opt_int(obj, "serverTime", 0),
        rate_limits=tuple(parse_rate_limit(x) for x in limits),
        symbols=rules,
    )


def write_exchange_info(
    symbols: Iterable[SymbolRules], rate_limits: Iterable[RateLimit], server_time: int
) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": [write_rate_limit(r) for r in rate_limits],
        "exchangeFilters": [],
        "symbols": [s.to_exchange_info() for s in symbols],
    }


# ---------------------------------------------------------------- klines
def parse_kline(row: object, symbol: str, interval: str) -> Bar:
    """One ``GET /api/v3/klines`` row: a 12-element array (the last element is ignored)."""
    if not isinstance(row, list | tuple) or len(row) < 11:
        raise WireFormatError("kline", "expected an array of at least 11 elements", payload=row)
    return Bar(
        symbol=symbol,
        interval=interval,
        open_time=int_value(row[0], "kline[0] openTime"),
        open=dec_value(row[1], "kline[1] open"),
        high=dec_value(row[2], "kline[2] high"),
        low=dec_value(row[3], "kline[3] low"),
        close=dec_value(row[4], "kline[4] close"),
        volume=dec_value(row[5], "kline[5] volume"),
        close_time=int_value(row[6], "kline[6] closeTime"),
        quote_volume=dec_value(row[7], "kline[7] quoteAssetVolume"),
        trades=int_value(row[8], "kline[8] numberOfTrades"),
        taker_buy_base=dec_value(row[9], "kline[9] takerBuyBaseVolume"),
        taker_buy_quote=dec_value(row[10], "kline[10] takerBuyQuoteVolume"),
        closed=True,
    )


def parse_klines(rows: object, symbol: str, interval: str) -> list[Bar]:
    if not isinstance(rows, list):
        raise WireFormatError("klines", "expected an array", payload=rows)
    return [parse_kline(r, symbol, interval) for r in rows]


def write_kline(bar: Bar) -> list[Any]:
    return [
        bar.open_time,
        wnum(bar.open),
        wnum(bar.high),
        wnum(bar.low),
        wnum(bar.close),
        wnum(bar.volume),
        bar.close_time,
        wnum(bar.quote_volume),
        bar.trades,
        wnum(bar.taker_buy_base),
        wnum(bar.taker_buy_quote),
        "0",
    ]


# ---------------------------------------------------------------- tickers
def parse_ticker_price(payload: object) -> tuple[str, Decimal]:
    obj = require_mapping(payload, "ticker/price")
    return str_(obj, "symbol"), dec(obj, "price")


def write_ticker_price(symbol: str, price: Decimal) -> dict[str, Any]:
    return {"symbol": symbol, "price": wnum(price)}


def parse_book_ticker(payload: object) -> BookTicker:
    """The REST form (``bidPrice``...) or the ``@bookTicker`` stream form (``b``/``B``/``a``/``A``)."""
    obj = require_mapping(payload, "bookTicker")
    if "bidPrice" in obj:
        return BookTicker(
            symbol=str_(obj, "symbol"),
            bid_price=dec(obj, "bidPrice"),
            bid_qty=dec(obj, "bidQty"),
            ask_price=dec(obj, "askPrice"),
            ask_qty=dec(obj, "askQty"),
        )
    return BookTicker(
        symbol=str_(obj, "s"),
        bid_price=dec(obj, "b"),
        bid_qty=dec(obj, "B"),
        ask_price=dec(obj, "a"),
        ask_qty=dec(obj, "A"),
        update_id=opt_int(obj, "u", 0),
    )


def write_book_ticker(ticker: BookTicker) -> dict[str, Any]:
    """REST ``GET /api/v3/ticker/bookTicker`` shape."""
    return {
        "symbol": ticker.symbol,
        "bidPrice": wnum(ticker.bid_price),
        "bidQty": wnum(ticker.bid_qty),
        "askPrice": wnum(ticker.ask_price),
        "askQty": wnum(ticker.ask_qty),
    }


def parse_ticker_24h(payload: object) -> Ticker24h:
    """FULL or MINI ``ticker/24hr``; MINI has no ``priceChangePercent``, so it is derived."""
    obj = require_mapping(payload, "ticker/24hr")
    last = dec(obj, "lastPrice")
    if "priceChangePercent" in obj:
        pct = dec(obj, "priceChangePercent")
    else:
        open_ = dec(obj, "openPrice")
        pct = (
            ((last - open_) / open_ * 100).quantize(Decimal("0.001"), context=MONEY_CONTEXT)
            if open_
            else ZERO
        )
    return Ticker24h(
        symbol=str_(obj, "symbol"),
        last_price=last,
        price_change_percent=pct,
        volume=dec(obj, "volume"),
        quote_volume=dec(obj, "quoteVolume"),
        open_time=opt_int(obj, "openTime", 0),
        close_time=opt_int(obj, "closeTime", 0),
    )


def write_ticker_24h(ticker: Ticker24h, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """FULL shape. Fields the model does not hold (open/high/low, bid/ask, trade ids) come
    from ``extra`` (Binance field names) and default to zero; the derived open price keeps
    ``priceChange`` and ``priceChangePercent`` consistent with ``lastPrice``."""
    pct = ticker.price_change_percent
    open_price = (ticker.last_price / (1 + pct / 100)) if pct > -100 else ZERO
    out: dict[str, Any] = {
        "symbol": ticker.symbol,
        "priceChange": wnum(ticker.last_price - open_price),
        "priceChangePercent": f"{pct:f}",
        "weightedAvgPrice": wnum(ticker.quote_volume / ticker.volume if ticker.volume else ZERO),
        "prevClosePrice": wnum(open_price),
        "lastPrice": wnum(ticker.last_price),
        "lastQty": wnum(ZERO),
        "bidPrice": wnum(ZERO),
        "bidQty": wnum(ZERO),
        "askPrice": wnum(ZERO),
        "askQty": wnum(ZERO),
        "openPrice": wnum(open_price),
        "highPrice": wnum(ticker.last_price),
        "lowPrice": wnum(ticker.last_price),
        "volume": wnum(ticker.volume),
        "quoteVolume": wnum(ticker.quote_volume),
        "openTime": ticker.open_time,
        "closeTime": ticker.close_time,
        "firstId": 0,
        "lastId": 0,
        "count": 0,
    }
    if extra:
        out.update(extra)
    return out


def parse_avg_price(payload: object) -> Decimal:
    return dec(require_mapping(payload, "avgPrice"), "price")


def write_avg_price(price: Decimal, mins: int, close_time: int) -> dict[str, Any]:
    return {"mins": mins, "price": wnum(price), "closeTime": close_time}


def parse_server_time(payload: object) -> int:
    return int_(require_mapping(payload, "time"), "serverTime")


# ---------------------------------------------------------------- depth
def _levels(raw: object, name: str) -> tuple[tuple[Decimal, Decimal], ...]:
    if not isinstance(raw, list):
        raise WireFormatError(name, "expected an array of [price, qty]", payload=raw)
    out = []
    for lvl in raw:
        if not isinstance(lvl, list | tuple) or len(lvl) < 2:
            raise WireFormatError(name, f"bad level {lvl!r}")
        out.append((dec_value(lvl[0], f"{name} price"), dec_value(lvl[1], f"{name} qty")))
    return tuple(out)


def parse_depth(payload: object, symbol: str) -> OrderBook:
    obj = require_mapping(payload, "depth")
    return OrderBook(
        symbol=symbol,
        last_update_id=int_(obj, "lastUpdateId"),
        bids=_levels(get(obj, "bids"), "bids"),
        asks=_levels(get(obj, "asks"), "asks"),
    )


def write_depth(
    last_update_id: int,
    bids: Sequence[tuple[Decimal, Decimal]],
    asks: Sequence[tuple[Decimal, Decimal]],
) -> dict[str, Any]:
    return {
        "lastUpdateId": last_update_id,
        "bids": [[wnum(p), wnum(q)] for p, q in bids],
        "asks": [[wnum(p), wnum(q)] for p, q in asks],
    }
