"""What a simulator run is made of: market source, clock, accounts, limits and faults.

Frozen dataclasses, so that a running server's behaviour can only change through the
documented runtime knobs (the fault settings and the clock speed, both replaced whole).
Files and CLI flags are converted here, and every problem is a
:class:`~binance_bot.errors.ConfigError` naming the key, because a simulator that starts
with a silently ignored typo wastes an afternoon of "why did nothing fail?".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from binance_bot.errors import ConfigError
from binance_bot.matching import MatchingSettings
from binance_bot.model import SymbolRules
from binance_bot.model.intervals import INTERVAL_MS
from binance_bot.model.numbers import to_decimal

LATENCY_KINDS = ("fixed", "uniform", "normal", "exponential")
SERVER_ERROR_PHASES = ("before", "after", "mixed")


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """One simulated account, reached through its API key.

    ``api_secret`` enables HMAC signatures, ``ed25519_public_key`` (PEM) Ed25519 ones; at
    least one is needed. ``enable_withdrawals`` is what ``GET /sapi/v1/account/apiRestrictions``
    reports, so the bot's refusal to trade with a withdrawal-enabled key can be exercised.
    """

    api_key: str
    api_secret: str | None = None
    balances: Mapping[str, Decimal] = field(default_factory=dict)
    ed25519_public_key: str | None = None
    enable_withdrawals: bool = False
    can_trade: bool = True

    def __post_init__(self) -> None:
        if not self.api_key or not self.api_key.isprintable() or " " in self.api_key:
            raise ConfigError("account api_key must be a non-empty printable string without spaces")
        if not self.api_secret and not self.ed25519_public_key:
            raise ConfigError(
                f"account {self.api_key[:6]}...: needs api_secret (HMAC) or ed25519_public_key",
                key="api_secret",
            )
        clean: dict[str, Decimal] = {}
        for asset, amount in self.balances.items():
            try:
                value = to_decimal(amount, field=f"balance {asset}")
            except ValueError as exc:
                raise ConfigError(str(exc), key="balances") from None
            if value < 0:
                raise ConfigError(f"balance of {asset} must be >= 0, got {value}", key="balances")
            clean[asset.upper()] = value
        object.__setattr__(self, "balances", clean)


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """Binance's live limits by default; tests lower them to reach 429 and 418 quickly."""

    request_weight_per_minute: int = 6000
    sapi_weight_per_minute: int = 12000
    orders_per_10s: int = 100
    orders_per_day: int = 200_000
    raw_requests_per_5m: int = 300_000
    ban_after_ignored_429: int = 5
    """Requests an IP may send while it was told to wait (after a 429) before it is banned."""
    ban_seconds: float = 120.0
    """First ban; each repeat doubles it, up to three days (Binance: "2 minutes to 3 days")."""

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise ConfigError(f"limits.{f.name} must be > 0", key=f"limits.{f.name}")


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """Failures to inject, each off by default; replaced whole at run time by the admin API.

    Every random decision comes from one generator seeded with ``seed``, so a scripted client
    meets the same faults in the same places on every run.
    """

    seed: int = 0
    latency_kind: str = "fixed"
    latency_ms: float = 0.0
    """fixed: the delay; uniform: the upper bound; normal and exponential: the mean."""
    latency_min_ms: float = 0.0
    latency_stddev_ms: float = 0.0
    server_error_rate: float = 0.0
    server_error_statuses: tuple[int, ...] = (500, 502, 503)
    server_error_phase: str = "mixed"
    """Whether a failed request was processed first: ``after`` models a lost response
    (the order *was* placed), ``before`` a request that never arrived, ``mixed`` either."""
    too_many_requests_rate: float = 0.0
    """Random -1003 "Too many requests queued." answers (HTTP 429, short Retry-After)."""
    burst_429_every_s: float = 0.0
    burst_429_duration_s: float = 0.0
    ws_drop_every_s: float = 0.0
    stream_duplicate_rate: float = 0.0
    stream_delay_rate: float = 0.0
    stream_delay_ms: float = 0.0
    clock_skew_ms: int = 0

    def __post_init__(self) -> None:
        if self.latency_kind not in LATENCY_KINDS:
            raise ConfigError(
                f"faults.latency_kind must be one of {', '.join(LATENCY_KINDS)}, got {self.latency_kind!r}",
                key="faults.latency_kind",
            )
        if self.server_error_phase not in SERVER_ERROR_PHASES:
            raise ConfigError(
                f"faults.server_error_phase must be one of {', '.join(SERVER_ERROR_PHASES)}",
                key="faults.server_error_phase",
            )
        for name in (
            "server_error_rate",
            "too_many_requests_rate",
            "stream_duplicate_rate",
            "stream_delay_rate",
        ):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigError(f"faults.{name} must be within [0, 1], got {value}", key=f"faults.{name}")
        for name in (
            "latency_ms",
            "latency_min_ms",
            "latency_stddev_ms",
            "burst_429_every_s",
            "burst_429_duration_s",
            "ws_drop_every_s",
            "stream_delay_ms",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"faults.{name} must be >= 0", key=f"faults.{name}")
        if self.burst_429_duration_s and self.burst_429_duration_s >= self.burst_429_every_s > 0:
            raise ConfigError(
                "faults.burst_429_duration_s must be shorter than burst_429_every_s",
                key="faults.burst_429_duration_s",
            )
        for status in self.server_error_statuses:
            if not 500 <= status <= 599:
                raise ConfigError(f"faults.server_error_statuses: {status} is not a 5xx status")
        object.__setattr__(self, "server_error_statuses", tuple(self.server_error_statuses))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base: FaultSettings | None = None) -> FaultSettings:
        """Settings from a file or an admin request; keys not given keep ``base``'s values."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown fault setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                key=f"faults.{unknown[0]}",
            )
        start = base or cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            raw = data[f.name]
            current = getattr(start, f.name)
            try:
                if isinstance(current, bool):
                    values[f.name] = bool(raw)
                elif isinstance(current, int) and f.name in ("seed", "clock_skew_ms"):
                    values[f.name] = int(raw)
                elif isinstance(current, float):
                    values[f.name] = float(raw)
                elif isinstance(current, tuple):
                    values[f.name] = tuple(int(x) for x in raw)
                else:
                    values[f.name] = str(raw)
            except (TypeError, ValueError):
                raise ConfigError(f"faults.{f.name}: cannot use {raw!r}", key=f"faults.{f.name}") from None
        return replace(start, **values)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def load_faults(path: Path) -> FaultSettings:
    """Fault settings from a YAML or JSON file (a mapping, optionally under a ``faults:`` key)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the fault file: {exc.strerror}", source=str(path)) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid YAML/JSON: {exc}", source=str(path)) from None
    if data is None:
        return FaultSettings()
    if isinstance(data, Mapping) and set(data) == {"faults"}:
        data = data["faults"]
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping of fault settings", source=str(path))
    try:
        return FaultSettings.from_mapping(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}", source=str(path), key=exc.key) from None


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """Where prices come from: candle files (a folder, files or a Parquet store) or the generator.

    ``data`` empty means the seeded synthetic market (endless), for ``symbols`` (BTCUSDT and
    ETHUSDT when none are named); with ``data``, no ``symbols`` means every symbol found in it
    at ``interval``. ``start_ms`` defaults to the
    first time that leaves ``warmup_bars`` candles of history for every symbol, so a bot can
    load its indicators' look-back from ``GET /api/v3/klines`` at once.
    """

    symbols: tuple[str, ...] = ()
    interval: str = "1m"
    data: tuple[Path, ...] = ()
    seed: int = 0
    start_ms: int | None = None
    warmup_bars: int = 1000
    rules: Mapping[str, SymbolRules] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.interval not in INTERVAL_MS:
            raise ConfigError(
                f"market interval must be a fixed Binance interval ({', '.join(INTERVAL_MS)}), got "
                f"{self.interval!r}",
                key="interval",
            )
        symbols = tuple(s.strip().upper() for s in self.symbols if s.strip())
        for s in symbols:
            if not s.isalnum():
                raise ConfigError(f"symbol {s!r} must be letters and digits only", key="symbols")
        object.__setattr__(self, "symbols", symbols)
        object.__setattr__(self, "data", tuple(Path(p) for p in self.data))
        if self.warmup_bars < 0:
            raise ConfigError("warmup_bars must be >= 0", key="warmup_bars")


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """A whole simulator. ``speed`` ``None`` is the stepped clock (time moves only on request)."""

    market: MarketSpec = field(default_factory=MarketSpec)
    accounts: tuple[AccountSpec, ...] = ()
    speed: float | None = None
    host: str = "127.0.0.1"
    port: int = 0
    matching: MatchingSettings = field(default_factory=MatchingSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    faults: FaultSettings = field(default_factory=FaultSettings)
    ping_interval_s: float = 20.0
    pong_timeout_s: float = 60.0
    ws_incoming_per_second: int = 5
    """Messages a stream client may send per second (pongs and control messages count);
    more disconnects it, as Binance does."""
    spread_bps: Decimal = Decimal("2")
    tick_interval_s: float = 1.0
    """In a running clock, how often (wall seconds) streams get an interpolated price between
    the path's corners; 0 publishes only the corners."""

    def __post_init__(self) -> None:
        if self.speed is not None and not self.speed > 0:
            raise ConfigError(
                f"speed must be > 0 (or empty for the stepped clock), got {self.speed}", key="speed"
            )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be within 0..65535, got {self.port}", key="port")
        keys = [a.api_key for a in self.accounts]
        if len(set(keys)) != len(keys):
            raise ConfigError("two accounts share one api_key", key="accounts")
        if self.ping_interval_s <= 0 or self.pong_timeout_s <= 0:
            raise ConfigError("ping_interval_s and pong_timeout_s must be > 0", key="ping_interval_s")
        if self.ws_incoming_per_second < 1:
            raise ConfigError("ws_incoming_per_second must be >= 1", key="ws_incoming_per_second")
        object.__setattr__(self, "spread_bps", to_decimal(self.spread_bps, field="spread_bps"))
        if not 0 <= self.spread_bps < 10_000:
            raise ConfigError("spread_bps must be within [0, 10000)", key="spread_bps")
        if self.tick_interval_s < 0:
            raise ConfigError("tick_interval_s must be >= 0", key="tick_interval_s")

    @property
    def stepped(self) -> bool:
        return self.speed is None


def parse_balances(text: str | Sequence[str]) -> dict[str, Decimal]:
    """``USDT=10000,BTC=0.5`` (or several such strings) into exact amounts."""
    items = [text] if isinstance(text, str) else list(text)
    out: dict[str, Decimal] = {}
    for item in items:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            asset, sep, amount = part.partition("=")
            if not sep or not asset.strip().isalnum():
                raise ConfigError(f"balance {part!r}: expected ASSET=AMOUNT, e.g. USDT=10000", key="balances")
            try:
                value = to_decimal(amount.strip(), field=asset)
            except ValueError as exc:
                raise ConfigError(f"balance {part!r}: {exc}", key="balances") from None
            if value < 0:
                raise ConfigError(f"balance {part!r}: must be >= 0", key="balances")
            out[asset.strip().upper()] = value
    return out
