"""Where each environment lives: REST, market streams and the WebSocket API."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from binance_bot.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Base URLs. ``rest`` has no trailing ``/api``; paths are ``/api/v3/...``."""

    name: str
    rest: str
    stream: str
    ws_api: str

    @property
    def is_live(self) -> bool:
        return self.name == "live"

    @property
    def has_sapi(self) -> bool:
        """The testnet serves only ``/api`` (no ``/sapi``, so no apiRestrictions)."""
        return self.name != "testnet"


LIVE = Endpoints(
    name="live",
    rest="https://api.binance.com",
    stream="wss://stream.binance.com:9443",
    ws_api="wss://ws-api.binance.com:443/ws-api/v3",
)

TESTNET = Endpoints(
    name="testnet",
    rest="https://testnet.binance.vision",
    stream="wss://stream.testnet.binance.vision",
    ws_api="wss://ws-api.testnet.binance.vision/ws-api/v3",
)


def local(base_url: str, *, stream_url: str | None = None, ws_api_url: str | None = None) -> Endpoints:
    """A Binance-compatible server (the local simulator) serving REST and WebSockets on one
    origin: streams under ``/ws`` and ``/stream``, the WebSocket API under ``/ws-api/v3``."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"api.base_url: expected http(s)://host:port, got {base_url!r}", key="api.base_url")
    rest = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    if rest.endswith("/api"):
        rest = rest[: -len("/api")]
    ws_scheme = "wss" if parts.scheme == "https" else "ws"
    origin = f"{ws_scheme}://{parts.netloc}"
    return Endpoints(
        name="local",
        rest=rest,
        stream=(stream_url or origin).rstrip("/"),
        ws_api=ws_api_url or f"{origin}/ws-api/v3",
    )


def resolve(
    *,
    testnet: bool = False,
    base_url: str | None = None,
    stream_url: str | None = None,
    ws_api_url: str | None = None,
) -> Endpoints:
    """The environment a configuration names: a base URL wins, then testnet, else live."""
    if base_url:
        return local(base_url, stream_url=stream_url, ws_api_url=ws_api_url)
    env = TESTNET if testnet else LIVE
    if stream_url or ws_api_url:
        return Endpoints(env.name, env.rest, stream_url or env.stream, ws_api_url or env.ws_api)
    return env
