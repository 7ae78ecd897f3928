"""The configuration schema: every key, its default, its bounds and why it exists.

Keys named by the design documents keep their names (``trading.oper_equity``,
``performance.cache_ttl_seconds``...). Unknown keys are errors everywhere (``extra =
"forbid"``): a typo such as ``stop_los_margin`` must stop start-up, not silently fall back
to a default that risks money.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from binance_bot.model.enums import Mode
from binance_bot.model.intervals import is_valid_interval

Profile = Literal["dev", "test", "prod"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

_STRICT = ConfigDict(extra="forbid", validate_assignment=True, frozen=True)


class ApiConfig(BaseModel):
    """Exchange credentials and endpoints."""

    model_config = _STRICT

    api_key: SecretStr | None = Field(None, description="Binance API key (env BINANCE_API_KEY).")
    api_secret: SecretStr | None = Field(
        None, description="HMAC secret of the key (env BINANCE_API_SECRET). Never logged."
    )
    private_key_path: Path | None = Field(
        None, description="Ed25519 private key (PEM, PKCS#8) to sign with instead of HMAC."
    )
    testnet: bool = Field(False, description="Use Binance Spot testnet endpoints (env BINANCE_TESTNET).")
    base_url: str | None = Field(
        None, description="REST base URL override (e.g. a local simulator); default by mode."
    )
    stream_url: str | None = Field(None, description="Market stream base URL override.")
    ws_api_url: str | None = Field(None, description="WebSocket API URL override (user data).")
    recv_window_ms: Annotated[int, Field(ge=1, le=60000)] = Field(
        5000, description="recvWindow for signed requests; keep small, resync the clock instead."
    )
    request_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    allow_withdraw_enabled_key: bool = Field(
        False, description="Trade live even if the key can withdraw (strongly discouraged)."
    )

    @property
    def has_keys(self) -> bool:
        return bool(self.api_key and self.api_key.get_secret_value()) and bool(
            (self.api_secret and self.api_secret.get_secret_value()) or self.private_key_path
        )


class TradingConfig(BaseModel):
    """What to trade and how much."""

    model_config = _STRICT

    strategy: str = Field("ema_trend", description="Strategy name from the registry.")
    strategy_params: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the strategy's parameters."
    )
    symbols: list[str] = Field(
        default_factory=list, description="Symbols to trade; empty = assets_file or top_n."
    )
    assets_file: Path = Field(Path("_raw_assets.csv"), description="CSV with a `symbol` column.")
    quote_asset: str = Field("USDT", description="Quote asset for top-N selection and sizing.")
    top_n: Annotated[int, Field(ge=1, le=500)] = Field(
        10, description="Symbols by 24h quote volume when no list is given."
    )
    interval: str = Field("5m", description="Trading timeframe (decisions on its bar close).")
    trend_interval: str = Field("30m", description="Higher timeframe for the general trend.")
    max_workers: Annotated[int, Field(ge=1, le=1000)] = Field(
        10, description="Symbol workers running concurrently."
    )
    oper_equity: Annotated[Decimal, Field(gt=0)] = Field(
        Decimal("10000"), description="Quote amount committed per trade (before the free-balance cap)."
    )
    stop_loss_margin: Annotated[Decimal, Field(gt=0, lt=1)] = Field(
        Decimal("0.05"), description="Stop distance as a fraction of the entry price."
    )
    take_profit_ratio: Annotated[Decimal, Field(gt=0, le=100)] = Field(
        Decimal("1.5"), description="Take-profit distance as a multiple of the stop distance."
    )
    max_positions: Annotated[int, Field(ge=1, le=1000)] = Field(5, description="Open positions at most.")
    entry_order_type: Literal["MARKET", "LIMIT"] = Field(
        "MARKET", description="MARKET, or LIMIT at the book with max_slippage_bps."
    )
    max_slippage_bps: Annotated[Decimal, Field(ge=0, le=1000)] = Field(
        Decimal("10"), description="Worst price a LIMIT entry accepts, beyond the best ask."
    )
    stop_limit_buffer: Annotated[Decimal, Field(ge=0, lt=Decimal("0.5"))] = Field(
        Decimal("0.005"),
        description="STOP_LOSS_LIMIT limit price below the stop, as a fraction of the stop.",
    )

    @field_validator("interval", "trend_interval")
    @classmethod
    def _known_interval(cls, value: str) -> str:
        if not is_valid_interval(value):
            raise ValueError(f"unknown interval {value!r}")
        return value

    @field_validator("symbols")
    @classmethod
    def _upper_symbols(cls, value: list[str]) -> list[str]:
        out = [s.strip().upper() for s in value if s.strip()]
        for s in out:
            if not s.isalnum():
                raise ValueError(f"symbol {s!r} must be letters and digits only")
        return out


class RiskConfig(BaseModel):
    """Limits that protect the account; breaching a hard limit trips the kill switch."""

    model_config = _STRICT

    max_fraction_of_free: Annotated[Decimal, Field(gt=0, le=1)] = Field(
        Decimal("0.25"), description="A trade uses at most this fraction of the free quote balance."
    )
    daily_loss_limit_pct: Annotated[Decimal, Field(gt=0, le=100)] = Field(
        Decimal("5"), description="Kill switch when today's loss exceeds this % of start-of-day equity."
    )
    max_drawdown_pct: Annotated[Decimal, Field(gt=0, le=100)] = Field(
        Decimal("20"), description="Kill switch when equity falls this % below its peak."
    )
    cooldown_bars: Annotated[int, Field(ge=0, le=10000)] = Field(
        3, description="Bars to wait before re-entering a symbol after a stop-out."
    )
    max_exposure_pct: Annotated[Decimal, Field(gt=0, le=100)] = Field(
        Decimal("100"), description="Total open position value as % of equity, at most."
    )


class PerformanceConfig(BaseModel):
    """Compute and network tuning."""

    model_config = _STRICT

    use_pytorch: bool = Field(True, description="Compute indicators with the PyTorch kernels.")
    use_gpu: bool = Field(False, description="Use CUDA when available (falls back to CPU).")
    use_spark: bool = Field(False, description="Run backtests and sweeps on Spark.")
    spark_master: str = Field("local[*]", description="Spark master URL when use_spark is on.")
    cache_enabled: bool = Field(True, description="TTL cache for prices, book tickers, exchangeInfo.")
    cache_ttl_seconds: Annotated[float, Field(gt=0, le=86400)] = Field(
        1.0, description="Cache lifetime of prices and book tickers."
    )
    connection_pool_size: Annotated[int, Field(ge=1, le=1000)] = Field(
        20, description="HTTP connections kept open to the exchange."
    )
    torch_threads: Annotated[int, Field(ge=0, le=256)] = Field(
        0, description="PyTorch intra-op threads; 0 keeps PyTorch's default."
    )


class DataConfig(BaseModel):
    """Where candles live."""

    model_config = _STRICT

    data_dir: Path = Field(Path("data"), description="Working data folder (state, KILL file, caches).")
    cache_dir: Path = Field(Path("data/candles"), description="Parquet candle cache.")
    candles_dir: Path | None = Field(None, description="Candle files to replay in paper mode.")


class StorageConfig(BaseModel):
    """Crash-safe state."""

    model_config = _STRICT

    url: str = Field(
        "sqlite:///data/state.db", description="SQLAlchemy URL (SQLite default, PostgreSQL supported)."
    )


class MonitoringConfig(BaseModel):
    """Logs, metrics, dashboard, notifications."""

    model_config = _STRICT

    log_level: LogLevel = Field("INFO", description="Console and file log level (env LOG_LEVEL).")
    log_dir: Path = Field(Path("logs"), description="Rotating log files.")
    json_logs: bool = Field(False, description="Also write JSON-lines logs.")
    log_max_bytes: Annotated[int, Field(ge=10_000)] = 10_000_000
    log_backup_count: Annotated[int, Field(ge=0, le=1000)] = 5
    report_interval_seconds: Annotated[float, Field(gt=0)] = Field(
        60.0, description="Period of the statistics report in the log."
    )
    dashboard_host: str = Field("127.0.0.1", description="Dashboard bind address (loopback by default).")
    dashboard_port: Annotated[int, Field(ge=0, le=65535)] = Field(8765, description="0 = any free port.")
    dashboard_token: SecretStr | None = Field(
        None, description="Token required by the dashboard; generated at start when empty."
    )
    webhook_url: str | None = Field(None, description="POST JSON notifications here (fills, exits, errors).")


class BotConfig(BaseModel):
    """The whole configuration. Build it with :func:`binance_bot.config.load_config`."""

    model_config = _STRICT

    profile: Profile = Field("dev", description="dev, test or prod: selects a set of defaults.")
    mode: Mode | None = Field(
        None, description="paper, testnet or live; empty = paper without keys, testnet with testnet keys."
    )
    api: ApiConfig = Field(default_factory=ApiConfig)
    trading: TradingConfig = Field(default_factory=TradingConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    performance: PerformanceConfig = Field(default_factory=PerformanceConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)

    # -- cross-field rules: each one small and named, so its message says what to change --
    @model_validator(mode="after")
    def _live_mode_needs_keys(self) -> BotConfig:
        if self.mode in (Mode.LIVE, Mode.TESTNET) and not self.api.has_keys:
            raise ValueError(
                f"mode: {self.mode.value} needs api.api_key and api.api_secret "
                "(env BINANCE_API_KEY / BINANCE_API_SECRET)"
            )
        return self

    @model_validator(mode="after")
    def _live_mode_conflicts_with_testnet(self) -> BotConfig:
        if self.mode is Mode.LIVE and self.api.testnet:
            raise ValueError("mode: live conflicts with api.testnet: true; choose one")
        return self

    @model_validator(mode="after")
    def _keys_without_testnet_need_explicit_live(self) -> BotConfig:
        if self.mode is None and self.api.has_keys and not self.api.testnet and self.api.base_url is None:
            raise ValueError(
                "API keys are set with api.testnet: false; set mode: live to trade real money, "
                "or api.testnet: true (env BINANCE_TESTNET=true) for the testnet"
            )
        return self

    @model_validator(mode="after")
    def _trend_interval_not_finer(self) -> BotConfig:
        from binance_bot.model.intervals import INTERVAL_MS

        t, h = self.trading.interval, self.trading.trend_interval
        if t in INTERVAL_MS and h in INTERVAL_MS and INTERVAL_MS[h] < INTERVAL_MS[t]:
            raise ValueError(f"trading.trend_interval {h} is finer than trading.interval {t}")
        return self

    @property
    def effective_mode(self) -> Mode:
        """The mode after the empty-mode rule: paper without keys, testnet with testnet keys."""
        if self.mode is not None:
            return self.mode
        if self.api.has_keys and self.api.testnet:
            return Mode.TESTNET
        return Mode.PAPER

    def to_dict(self) -> dict[str, Any]:
        """Plain values for display and JSON; secrets are masked, never revealed."""
        return self.model_dump(mode="json")


SECTIONS: tuple[str, ...] = ("api", "trading", "risk", "performance", "data", "storage", "monitoring")
