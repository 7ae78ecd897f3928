"""Deterministic client order ids: (run, symbol, sequence) -> one id, never reused.

The sequence is persisted before the order is sent, so a restart continues from where the
last run stopped and a retry re-sends under the *same* id: the exchange then reports the
order it already has instead of taking a second one. Binance allows ``[a-zA-Z0-9-_]{1,36}``.
"""

from __future__ import annotations

import hashlib
import secrets
import string

from binance_bot.model.orders import is_valid_client_order_id

_ALPHABET = string.ascii_lowercase + string.digits
MAX_LEN = 36


def new_run_id() -> str:
    """Six random base-36 characters: short enough to leave room in the 36-character id."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(6))


def _symbol_tag(symbol: str) -> str:
    if len(symbol) <= 14:
        return symbol
    return hashlib.blake2s(symbol.encode(), digest_size=5).hexdigest()


def client_order_id(run_id: str, symbol: str, seq: int, suffix: str = "") -> str:
    """``<run>-<symbol>-<seq>[-<suffix>]``, e.g. ``k3x9a0-BTCUSDT-12-sl``."""
    coid = f"{run_id}-{_symbol_tag(symbol)}-{seq}"
    if suffix:
        coid = f"{coid}-{suffix}"
    if len(coid) > MAX_LEN or not is_valid_client_order_id(coid):
        raise ValueError(f"client order id {coid!r} breaks Binance's rule")
    return coid


def parse_client_order_id(coid: str) -> tuple[str, str, int, str] | None:
    """``(run, symbol tag, seq, suffix)`` of one of our ids, or ``None`` for a foreign id."""
    parts = coid.split("-")
    if len(parts) not in (3, 4) or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2]), parts[3] if len(parts) == 4 else ""
