"""Reading a request the way Binance does: parameters, their errors, signatures and timing.

Two signing rules exist. REST signs the raw bytes as received, query string then body with
no separator, minus the ``signature`` parameter: re-encoding a parsed dictionary would
accept requests Binance refuses (and refuse some it accepts). The WebSocket API signs its
``params`` sorted by name, ``k=v`` joined with ``&``, unencoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from binance_bot.errors import ConfigError
from binance_bot.matching import Rejection
from binance_bot.matching import rejections as rj

E = TypeVar("E", bound=StrEnum)

NUMBER_PATTERN = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
INTEGER_PATTERN = r"^[0-9]{1,20}$"
_NUMBER_RE = re.compile(NUMBER_PATTERN)
_INTEGER_RE = re.compile(INTEGER_PATTERN)
_SIGNED_INTEGER_RE = re.compile(r"^-?[0-9]{1,20}$")
MAX_RECV_WINDOW_MS = 60_000
_MICROS_THRESHOLD = 10**14


class ApiError(Exception):
    """A refusal on its way to the client: Binance's code, message and HTTP status."""

    def __init__(self, rejection: Rejection, *, retry_after_ms: int | None = None) -> None:
        super().__init__(f"{rejection.code} {rejection.msg}")
        self.rejection = rejection
        self.retry_after_ms = retry_after_ms


def fail(code: int, msg: str, status: int = 400) -> ApiError:
    return ApiError(Rejection(code, msg, http_status=status))


def illegal(param: str, legal: str) -> ApiError:
    return fail(-1100, f"Illegal characters found in parameter '{param}'; legal range is '{legal}'.")


def invalid_value(param: str) -> ApiError:
    return fail(-1130, f"Data sent for parameter '{param}' is not valid.")


def merge_params(*sources: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Query first, then body: a name repeated within one source is -1101; across sources the
    query wins (Binance's rule for parameters sent in both)."""
    out: dict[str, str] = {}
    for source in sources:
        seen: set[str] = set()
        for name, value in source:
            if name in seen:
                raise fail(-1101, "Duplicate values for a parameter detected.")
            seen.add(name)
            out.setdefault(name, value)
    return out


def parse_pairs(raw: str) -> list[tuple[str, str]]:
    return parse_qsl(raw, keep_blank_values=True) if raw else []


class Params:
    """Typed access to a request's parameters, raising Binance's parameter errors."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    def names(self) -> set[str]:
        return set(self.values)

    def has(self, name: str) -> bool:
        return name in self.values

    def check_known(self, allowed: Iterable[str]) -> None:
        """-1104 for parameters the endpoint does not take: a typo must not pass silently."""
        allowed_set = set(allowed) | {"signature", "timestamp", "recvWindow", "apiKey"}
        sent = self.names()
        read = sent & allowed_set
        if read != sent:
            raise fail(
                -1104,
                f"Not all sent parameters were read; read '{len(read)}' parameter(s) but was sent '{len(sent)}'.",
            )

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise ApiError(rj.mandatory(name))
            return None
        if value == "":
            if required:
                raise ApiError(rj.mandatory(name))
            raise fail(-1105, f"Parameter '{name}' was empty.")
        return value

    def require(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if not _NUMBER_RE.match(value):
            if value.startswith("-") and _NUMBER_RE.match(value[1:]):
                return Decimal(value)  # negative numbers are the engine's -1100, with its wording
            raise illegal(name, NUMBER_PATTERN)
        return Decimal(value)

    def integer(self, name: str, *, required: bool = False, signed: bool = False) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if not (_SIGNED_INTEGER_RE if signed else _INTEGER_RE).match(value):
            raise illegal(name, INTEGER_PATTERN)
        return int(value)

    def limit(self, name: str, default: int, maximum: int, *, cap: bool = False) -> int:
        """``limit``-style parameters: default when absent, -1130 (or capped) beyond the range."""
        value = self.integer(name)
        if value is None:
            return default
        if value < 1:
            raise invalid_value(name)
        if value > maximum:
            if cap:
                return maximum
            raise invalid_value(name)
        return value

    def enum(
        self, name: str, kind: type[E], *, required: bool = False, invalid: ApiError | None = None
    ) -> E | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            return kind(value)
        except ValueError:
            if invalid is not None:
                raise invalid from None
            raise illegal(name, ", ".join(m.value for m in kind)) from None

    def boolean(self, name: str) -> bool | None:
        value = self.text(name)
        if value is None:
            return None
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise illegal(name, "true, false")
        return lowered == "true"


# ---------------------------------------------------------------------------- signatures
def split_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` without its ``signature=`` part (kept byte for byte otherwise), and the value."""
    if not raw:
        return raw, None
    kept: list[str] = []
    signature: str | None = None
    for part in raw.split("&"):
        if part.startswith("signature="):
            signature = unquote(part[len("signature=") :])
        else:
            kept.append(part)
    return "&".join(kept), signature


def rest_signature_payload(raw_query: str, raw_body: str) -> tuple[str, str | None]:
    """The signed text of a REST request and the signature it carries (query wins)."""
    query, sig_q = split_signature(raw_query)
    body, sig_b = split_signature(raw_body)
    return query + body, sig_q if sig_q is not None else sig_b


def ws_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ws_signature_payload(params: Mapping[str, Any]) -> str:
    """WebSocket API: every param except ``signature``, sorted by name, unencoded."""
    return "&".join(f"{k}={ws_text(params[k])}" for k in sorted(params) if k != "signature")


class Verifier:
    """An account's key material: HMAC secret and/or Ed25519 public key."""

    def __init__(self, secret: str | None, ed25519_pem: str | None) -> None:
        self._secret = secret.encode() if secret else None
        self._ed: Ed25519PublicKey | None = None
        if ed25519_pem:
            try:
                key = load_pem_public_key(ed25519_pem.encode())
            except ValueError as exc:
                raise ConfigError(
                    f"ed25519_public_key: not a PEM public key ({exc})", key="ed25519_public_key"
                ) from None
            if not isinstance(key, Ed25519PublicKey):
                raise ConfigError("ed25519_public_key: not an Ed25519 key", key="ed25519_public_key")
            self._ed = key

    @property
    def is_ed25519(self) -> bool:
        return self._ed is not None

    def verify(self, payload: str, signature: str) -> bool:
        data = payload.encode()
        if self._secret is not None:
            expected = hmac.new(self._secret, data, hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, signature.lower()):
                return True
        if self._ed is not None:
            try:
                raw = base64.b64decode(signature, validate=True)
                self._ed.verify(raw, data)
                return True
            except (ValueError, InvalidSignature):
                return False
        return False


# ---------------------------------------------------------------------------- timing
OUTSIDE_WINDOW = "Timestamp for this request is outside of the recvWindow."
AHEAD = "Timestamp for this request was 1000ms ahead of the server's time."


def check_timing(timestamp: str | None, recv_window: str | None, server_ms: int) -> None:
    """Binance's timing security: ``timestamp`` (ms or µs) within ``recvWindow`` (default 5000)."""
    if timestamp is None or timestamp == "":
        raise ApiError(rj.mandatory("timestamp"))
    if not _INTEGER_RE.match(timestamp):
        raise ApiError(rj.mandatory("timestamp"))
    ts = Decimal(int(timestamp))
    if ts >= _MICROS_THRESHOLD:
        ts /= 1000
    window = Decimal(5000)
    if recv_window is not None:
        if recv_window == "":
            raise fail(-1105, "Parameter 'recvWindow' was empty.")
        try:
            window = Decimal(recv_window)
        except InvalidOperation:
            raise illegal("recvWindow", NUMBER_PATTERN) from None
        if not window.is_finite() or not _NUMBER_RE.match(recv_window) or window.as_tuple().exponent < -3:  # type: ignore[operator]
            raise illegal("recvWindow", NUMBER_PATTERN)
        if window > MAX_RECV_WINDOW_MS:
            raise fail(-1131, f"'recvWindow' must be less than {MAX_RECV_WINDOW_MS}.")
    if ts >= server_ms + 1000:
        raise fail(-1021, AHEAD)
    if server_ms - ts > window:
        raise fail(-1021, OUTSIDE_WINDOW)
