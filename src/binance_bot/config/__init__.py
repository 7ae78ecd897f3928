"""Typed, validated configuration: defaults < profile < file < environment < CLI flags.

``get_config()`` returns the effective :class:`BotConfig`; ``to_dict()`` masks secrets.
"""

from binance_bot.config.loader import (
    DEFAULT_CONFIG_FILE,
    ENV_PREFIX,
    LEGACY_ENV,
    LoadedConfig,
    get_config,
    load_config,
    parse_cli_overrides,
    read_config_file,
    set_current,
)
from binance_bot.config.redaction import MASK, redact, register_secret
from binance_bot.config.schema import (
    ApiConfig,
    BotConfig,
    DataConfig,
    MonitoringConfig,
    PerformanceConfig,
    RiskConfig,
    StorageConfig,
    TradingConfig,
)

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "ENV_PREFIX",
    "LEGACY_ENV",
    "MASK",
    "ApiConfig",
    "BotConfig",
    "DataConfig",
    "LoadedConfig",
    "MonitoringConfig",
    "PerformanceConfig",
    "RiskConfig",
    "StorageConfig",
    "TradingConfig",
    "get_config",
    "load_config",
    "parse_cli_overrides",
    "read_config_file",
    "redact",
    "register_secret",
    "set_current",
]
