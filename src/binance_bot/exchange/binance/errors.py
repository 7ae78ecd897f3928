"""Translation of Binance's answers into the bot's error tree, by what the caller must do.

Every translated error is raised ``from`` a :class:`BinanceAPIError` that keeps the raw HTTP
status, Binance code and message, so nothing of the original is lost.
"""

from __future__ import annotations

import re

from binance_bot.errors import (
    AuthenticationError,
    ClockSkewError,
    ExchangeError,
    InsufficientFunds,
    OrderRejected,
    RateLimited,
    TemporaryExchangeError,
    UnknownOrder,
)

_FILTER = re.compile(r"Filter failure: ([A-Z_]+)")
_BANNED_UNTIL = re.compile(r"banned until (\d{10,})")

TEMPORARY_CODES = frozenset({-1000, -1001, -1006, -1007, -1008})
"""UNKNOWN, DISCONNECTED, UNEXPECTED_RESP, TIMEOUT, SERVER_BUSY: the outcome is unknown."""
AUTH_CODES = frozenset({-1002, -1022, -2014, -2015})


class BinanceAPIError(Exception):
    """The raw error as Binance sent it (the ``__cause__`` of every translated error)."""

    def __init__(self, http_status: int, code: int | None, msg: str, endpoint: str) -> None:
        super().__init__(f"HTTP {http_status} {endpoint}: code={code} msg={msg!r}")
        self.http_status = http_status
        self.code = code
        self.msg = msg
        self.endpoint = endpoint


def banned_until_ms(msg: str, retry_after: float | None, now_ms: int) -> int:
    """When a 418 ban ends: the time in Binance's message, else now + ``Retry-After``."""
    m = _BANNED_UNTIL.search(msg)
    if m:
        return int(m.group(1))
    return now_ms + int((retry_after or 120) * 1000)


def translate(
    raw: BinanceAPIError, *, retry_after: float | None = None, trading: bool = False
) -> ExchangeError:
    """The error class the caller acts on. ``trading``: the request placed or changed an order,
    so parameter errors are rejections of that order."""
    code, msg, status, endpoint = raw.code, raw.msg, raw.http_status, raw.endpoint
    text = f"{endpoint}: Binance {code if code is not None else 'HTTP ' + str(status)} {msg}".rstrip()
    kw = {"code": code, "http_status": status, "endpoint": endpoint}
    if status == 429 or code in (-1003, -1015):
        return RateLimited(text, retry_after=retry_after if retry_after is not None else 1.0, **kw)
    if status >= 500 or code in TEMPORARY_CODES:
        return TemporaryExchangeError(text, **kw)
    if code == -1021:
        return ClockSkewError(text, **kw)
    if code in AUTH_CODES or status in (401, 403):
        return AuthenticationError(text, **kw)
    if code in (-2011, -2013, -2026) and "cancel restrictions" not in msg:
        return UnknownOrder(text, **kw)
    if code == -2010 and "insufficient balance" in msg.lower():
        return InsufficientFunds(text, **kw)
    if code == -1013:
        m = _FILTER.search(msg)
        return OrderRejected(text, filter_name=m.group(1) if m else None, **kw)
    if code in (-2010, -2011) or (trading and code is not None and -1199 <= code <= -1100):
        return OrderRejected(text, **kw)
    return ExchangeError(text, **kw)
