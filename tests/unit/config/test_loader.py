from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from binance_bot.config import load_config, parse_cli_overrides
from binance_bot.errors import ConfigError
from binance_bot.model import Mode


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def test_defaults_without_file() -> None:
    loaded = load_config(environ={}, use_default_file=False)
    assert loaded.config.trading.oper_equity == Decimal("10000")
    assert loaded.config.effective_mode is Mode.PAPER
    assert loaded.source_of("trading.oper_equity") == "default"


def test_layers_lowest_first(tmp_path: Path) -> None:
    path = write(tmp_path, "trading:\n  max_workers: 4\n  max_positions: 2\n  oper_equity: 100\n")
    env = {"BINANCE_BOT__TRADING__MAX_WORKERS": "6", "BINANCE_BOT__TRADING__MAX_POSITIONS": "3"}
    loaded = load_config(path, environ=env, overrides=parse_cli_overrides(["trading.max_positions=9"]))
    t = loaded.config.trading
    assert (t.oper_equity, t.max_workers, t.max_positions) == (Decimal("100"), 6, 9)
    assert loaded.source_of("trading.oper_equity") == str(path)
    assert loaded.source_of("trading.max_workers") == "environment BINANCE_BOT__TRADING__MAX_WORKERS"
    assert loaded.source_of("trading.max_positions") == "command line"


def test_json_file(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"trading": {"stop_loss_margin": "0.02"}}), "c.json")
    assert load_config(path, environ={}).config.trading.stop_loss_margin == Decimal("0.02")


def test_design_document_env_names() -> None:
    env = {
        "BINANCE_API_KEY": "key-abcdef",
        "BINANCE_API_SECRET": "secret-abcdef",
        "BINANCE_TESTNET": "true",
        "LOG_LEVEL": "WARNING",
    }
    config = load_config(environ=env, use_default_file=False).config
    assert config.api.api_key is not None and config.api.api_key.get_secret_value() == "key-abcdef"
    assert config.api.testnet is True
    assert config.monitoring.log_level == "WARNING"
    assert config.effective_mode is Mode.TESTNET


def test_comma_separated_list_in_env() -> None:
    env = {"BINANCE_BOT__TRADING__SYMBOLS": "btcusdt, ETHUSDT"}
    assert load_config(environ=env, use_default_file=False).config.trading.symbols == ["BTCUSDT", "ETHUSDT"]


def test_profile_defaults_and_override() -> None:
    prod = load_config(environ={"BINANCE_BOT_PROFILE": "prod"}, use_default_file=False)
    assert prod.config.monitoring.json_logs is True
    assert prod.source_of("monitoring.json_logs") == "profile prod"
    env = {"BINANCE_BOT_PROFILE": "prod", "LOG_LEVEL": "ERROR"}
    assert load_config(environ=env, use_default_file=False).config.monitoring.log_level == "ERROR"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "trading:\n  stop_loss_margin: 1.5\n",
            "config.yaml: trading.stop_loss_margin: must be > 0 and < 1, got 1.5",
        ),
        (
            "trading:\n  max_workers: ten\n",
            "config.yaml: trading.max_workers: expected an integer, got 'ten'",
        ),
        ("trading:\n  stop_los_margin: 0.1\n", "config.yaml: trading.stop_los_margin: unknown key"),
        ("tradin:\n  max_workers: 1\n", "config.yaml: tradin: unknown key"),
        ("api:\n  testnet: maybe\n", "config.yaml: api.testnet: expected true or false, got 'maybe'"),
        ("mode: moon\n", "config.yaml: mode: must be one of"),
        ("trading:\n  interval: 7m\n", "config.yaml: trading.interval: unknown interval '7m'"),
        ("trading:\n  oper_equity: -5\n", "config.yaml: trading.oper_equity: must be > 0, got -5"),
        (
            "risk:\n  max_fraction_of_free: 2\n",
            "config.yaml: risk.max_fraction_of_free: must be > 0 and <= 1",
        ),
        ("trading: [1, 2]\n", "config.yaml: trading: expected a mapping of keys"),
    ],
)
def test_validation_messages_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value).startswith(f"{tmp_path}/{message}") or message in str(info.value)
    assert str(path) in str(info.value)


def test_env_error_names_the_variable() -> None:
    with pytest.raises(
        ConfigError, match="environment BINANCE_BOT__TRADING__MAX_WORKERS: trading.max_workers"
    ):
        load_config(environ={"BINANCE_BOT__TRADING__MAX_WORKERS": "many"}, use_default_file=False)


def test_unknown_env_section() -> None:
    with pytest.raises(ConfigError, match="environment BINANCE_BOT__TRADNG__X: unknown key 'tradng'"):
        load_config(environ={"BINANCE_BOT__TRADNG__X": "1"}, use_default_file=False)


def test_bad_json_in_env_names_variable() -> None:
    with pytest.raises(ConfigError, match="BINANCE_BOT__TRADING__STRATEGY_PARAMS: not valid JSON"):
        load_config(environ={"BINANCE_BOT__TRADING__STRATEGY_PARAMS": "{bad"}, use_default_file=False)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "trading:\n  max_workers: 4\n bad: [\n")
    with pytest.raises(ConfigError, match=r"config.yaml: line \d+: invalid YAML"):
        load_config(path, environ={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", environ={})


class TestCrossFieldRules:
    def test_live_needs_keys(self) -> None:
        with pytest.raises(ConfigError, match="mode: live needs api.api_key"):
            load_config(environ={"BINANCE_BOT__MODE": "live"}, use_default_file=False)

    def test_live_conflicts_with_testnet(self) -> None:
        env = {
            "BINANCE_BOT__MODE": "live",
            "BINANCE_API_KEY": "k" * 10,
            "BINANCE_API_SECRET": "s" * 10,
            "BINANCE_TESTNET": "true",
        }
        with pytest.raises(ConfigError, match="mode: live conflicts with api.testnet"):
            load_config(environ=env, use_default_file=False)

    def test_keys_without_testnet_need_explicit_live(self) -> None:
        env = {"BINANCE_API_KEY": "k" * 10, "BINANCE_API_SECRET": "s" * 10}
        with pytest.raises(ConfigError, match="set mode: live to trade real money"):
            load_config(environ=env, use_default_file=False)

    def test_trend_interval_not_finer(self) -> None:
        env = {"BINANCE_BOT__TRADING__INTERVAL": "1h", "BINANCE_BOT__TRADING__TREND_INTERVAL": "5m"}
        with pytest.raises(ConfigError, match="trend_interval 5m is finer"):
            load_config(environ=env, use_default_file=False)


def test_to_dict_masks_secrets() -> None:
    env = {
        "BINANCE_API_KEY": "visible-key-123",
        "BINANCE_API_SECRET": "hidden-secret-456",
        "BINANCE_TESTNET": "1",
    }
    text = json.dumps(load_config(environ=env, use_default_file=False).config.to_dict())
    assert "hidden-secret-456" not in text and "visible-key-123" not in text
    assert "**********" in text


def test_cli_overrides_keep_decimal_text() -> None:
    assert parse_cli_overrides(["trading.oper_equity=100.10"]) == {"trading": {"oper_equity": "100.10"}}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_cli_overrides(["trading.oper_equity"])


def test_world_readable_secret_file_warns(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("api:\n  api_secret: abcdefgh\n")
    os.chmod(path, 0o644)
    with pytest.warns(UserWarning, match="chmod 600"):
        load_config(path, environ={})


def test_get_config_reads_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from binance_bot.config import get_config

    monkeypatch.chdir(tmp_path)
    write(tmp_path, "trading:\n  max_positions: 7\n")
    assert get_config(reload=True).trading.max_positions == 7
    assert get_config().to_dict()["trading"]["max_positions"] == 7


def test_example_file_documents_every_key() -> None:
    import yaml

    from binance_bot.config.schema import BotConfig

    example = Path(__file__).resolve().parents[3] / "config.yaml.example"
    data = yaml.safe_load(example.read_text())
    for name, field in BotConfig.model_fields.items():
        assert name in data, f"config.yaml.example lacks {name}"
        section = field.annotation
        if hasattr(section, "model_fields"):
            for key in section.model_fields:
                assert key in (data[name] or {}), f"config.yaml.example lacks {name}.{key}"
    load_config(example, environ={})  # and it is valid as shipped
