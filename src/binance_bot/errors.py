"""One exception tree, named by what the caller must do.

Every error the bot raises on purpose derives from :class:`BotError`. The subclasses are
grouped by the *action* they demand, not by where they come from, so a caller can decide
what to do from the class alone:

===========================  ================================================================
class                        what the caller must do
===========================  ================================================================
``ConfigError``              stop at start-up; the message names the file and the field
``TemporaryExchangeError``   back off and retry (only where a retry is safe)
``RateLimited``              wait ``retry_after`` seconds, then retry
``IpBanned``                 halt every request until ``until_ms`` and alert a person
``OrderRejected``            record the rejection, do not retry the same order
``InsufficientFunds``        record, do not retry; size down or skip the trade
``AuthenticationError``      stop: the key, its permissions or the signature is wrong
``ClockSkewError``           resynchronise the clock, then retry once
``RiskLimitBreached``        trip the kill switch
``StrategyError``            stop that symbol's worker, keep the bot running
``DataError``                reject the input file; the message names the file and line
``StateMismatch``            refuse to start until a person reconciles (or ``--force``)
===========================  ================================================================

Exchange codes are translated into these classes at the adapter, with exception chaining
(``raise OrderRejected(...) from exc``), so the original wire error is never lost.
"""

from __future__ import annotations


class BotError(Exception):
    """Root of every error the bot raises on purpose; the CLI catches it once."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(BotError):
    """Invalid configuration: stop at start-up. The message names the file and the key."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.key = key


class DataError(BotError):
    """A candle, asset or other input file is malformed: reject it, naming file and line."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class ExchangeError(BotError):
    """Base of errors that come from the exchange; carries Binance's code and message."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.endpoint = endpoint


class TemporaryExchangeError(ExchangeError):
    """Network failure, timeout or 5xx: back off and retry where retrying is safe.

    A 5xx or a timeout on an order means *execution status unknown*: the caller must look
    the order up by its client order id before it sends it again.
    """


class RateLimited(TemporaryExchangeError):
    """HTTP 429 or -1003/-1015: wait ``retry_after`` seconds, then retry."""

    def __init__(self, message: str, *, retry_after: float, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class IpBanned(ExchangeError):
    """HTTP 418: every request must stop until ``until_ms`` (epoch ms); a person is alerted."""

    def __init__(self, message: str, *, until_ms: int, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.until_ms = until_ms


class ClockSkewError(ExchangeError):
    """-1021: the request timestamp is outside recvWindow. Resync the clock and retry once."""


class AuthenticationError(ExchangeError):
    """-1022/-2014/-2015: bad signature, key or permission. Stop: retrying cannot help."""


class OrderRejected(ExchangeError):
    """The exchange (or a local pre-check) refused the order: record it, never retry blindly."""

    def __init__(self, message: str, *, filter_name: str | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.filter_name = filter_name


class InsufficientFunds(OrderRejected):
    """-2010 with an insufficient-balance message: record, size down or skip the trade."""


class UnknownOrder(ExchangeError):
    """-2011/-2013: the order does not exist (or is already closed)."""


class RiskLimitBreached(BotError):
    """A daily-loss, drawdown or exposure limit was hit: trip the kill switch."""


class StrategyError(BotError):
    """A strategy's own code failed: stop that symbol's worker, not the bot."""


class StateMismatch(BotError):
    """Local state and the exchange disagree in a way reconciliation cannot explain.

    Refuse to start; ``--force`` overrides it loudly.
    """


__all__ = [
    "AuthenticationError",
    "BotError",
    "ClockSkewError",
    "ConfigError",
    "DataError",
    "ExchangeError",
    "InsufficientFunds",
    "IpBanned",
    "OrderRejected",
    "RateLimited",
    "RiskLimitBreached",
    "StateMismatch",
    "StrategyError",
    "TemporaryExchangeError",
    "UnknownOrder",
]
