"""Layered configuration with provenance: defaults < profile < file < environment < CLI.

Each layer is read into a plain nested dict, the dicts are merged key by key while
remembering which layer set each key, and the result is validated once. A validation error
is then reported against the layer that supplied the bad value, e.g.::

    config.yaml: trading.stop_loss_margin: must be > 0 and < 1, got 1.5
    environment BINANCE_BOT__TRADING__MAX_WORKERS: trading.max_workers: expected an integer, got 'ten'

Environment variables: the design documents' ``BINANCE_API_KEY``, ``BINANCE_API_SECRET``,
``BINANCE_TESTNET`` and ``LOG_LEVEL``, plus ``BINANCE_BOT__SECTION__KEY`` for any key
(parsed by pydantic-settings, so lists and dicts may be given as JSON).
"""

from __future__ import annotations

import json
import os
import stat
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from binance_bot.config.redaction import redact, register_secret
from binance_bot.config.schema import SECTIONS, BotConfig
from binance_bot.errors import ConfigError

ENV_PREFIX = "BINANCE_BOT__"
DEFAULT_CONFIG_FILE = Path("config.yaml")

LEGACY_ENV: dict[str, tuple[str, ...]] = {
    "BINANCE_API_KEY": ("api", "api_key"),
    "BINANCE_API_SECRET": ("api", "api_secret"),
    "BINANCE_TESTNET": ("api", "testnet"),
    "LOG_LEVEL": ("monitoring", "log_level"),
    "BINANCE_BOT_PROFILE": ("profile",),
}
"""The design documents' variable names, mapped onto keys."""

PROFILE_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"monitoring": {"log_level": "DEBUG"}},
    "test": {
        "monitoring": {"log_level": "WARNING"},
        "storage": {"url": "sqlite:///data/state-test.db"},
    },
    "prod": {"monitoring": {"log_level": "INFO", "json_logs": True}},
}
"""What each profile changes from the schema defaults (the ``profile`` layer)."""

SECRET_KEYS = frozenset({"api.api_key", "api.api_secret", "monitoring.dashboard_token"})


class _EnvShape(BaseSettings, BotConfig):
    """Lets pydantic-settings parse ``BINANCE_BOT__*`` against the real schema's shape."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' parser, reading a given mapping instead of ``os.environ``."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(_EnvShape, env_prefix=ENV_PREFIX, env_nested_delimiter="__", case_sensitive=False)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._environ.items()}


def _is_list_field(path: Sequence[str]) -> bool:
    model: Any = BotConfig
    annotation: Any = None
    for part in path:
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return False
        annotation = fields[part].annotation
        model = annotation
    return getattr(annotation, "__origin__", None) is list


def _comma_lists_as_json(var: str, value: str) -> str:
    """Let ``BINANCE_BOT__TRADING__SYMBOLS=BTCUSDT,ETHUSDT`` mean a list, as users expect."""
    path = [p.lower() for p in var[len(ENV_PREFIX) :].split("__")]
    if _is_list_field(path) and not value.lstrip().startswith("["):
        return json.dumps([item.strip() for item in value.split(",") if item.strip()])
    return value


@dataclass(frozen=True)
class LoadedConfig:
    """The validated configuration plus, for each dotted key, the layer that set it."""

    config: BotConfig
    sources: Mapping[str, str] = field(default_factory=dict)
    file: Path | None = None

    def source_of(self, key: str) -> str:
        return self.sources.get(key, "default")


# --------------------------------------------------------------------------- layers
def read_config_file(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON file into a dict; syntax errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found", source=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}", source=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded)", source=str(path)
        ) from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text) if text.strip() else {}
        else:
            data = yaml.safe_load(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}", source=str(path)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: {where}invalid YAML: {problem}", source=str(path)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of sections, got {type(data).__name__}",
            source=str(path),
        )
    _warn_if_secret_readable_by_others(path, data)
    return data


def _warn_if_secret_readable_by_others(path: Path, data: Mapping[str, Any]) -> None:
    api = data.get("api")
    if not isinstance(api, Mapping) or not api.get("api_secret"):
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.warn(
            f"{path} holds api.api_secret and can be read by other users; run: chmod 600 {path}",
            stacklevel=2,
        )


def read_environment(environ: Mapping[str, str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The environment layer and, per dotted key, the variable that set it."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for var, path in LEGACY_ENV.items():
        if env.get(var, "") != "":
            _set(values, path, env[var])
            origin[".".join(path)] = f"environment {var}"
    prefixed = {k: v for k, v in env.items() if k.upper().startswith(ENV_PREFIX)}
    for var in prefixed:
        head = var[len(ENV_PREFIX) :].split("__")[0].lower()
        if head not in BotConfig.model_fields:
            raise ConfigError(
                f"environment {var}: unknown key {head!r} (allowed: {', '.join(BotConfig.model_fields)})",
                source=f"environment {var}",
                key=head,
            )
    if prefixed:
        normalized = {k: _comma_lists_as_json(k.upper(), v) for k, v in prefixed.items()}
        try:
            parsed = _MappingEnvSource(normalized)()
        except SettingsError as exc:
            for var, value in normalized.items():  # name the variable that broke the parse
                try:
                    _MappingEnvSource({var: value})()
                except SettingsError:
                    raise ConfigError(
                        f"environment {var.upper()}: not valid JSON for a list or mapping: {value!r}",
                        source=f"environment {var.upper()}",
                    ) from exc
            raise ConfigError(f"environment: {exc}", source="environment") from exc
        for key, value in _flatten(parsed).items():
            values_path = tuple(key.split("."))
            _set(values, values_path, value)
            origin[key] = f"environment {ENV_PREFIX}{'__'.join(p.upper() for p in values_path)}"
    return values, origin


def parse_cli_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``--set trading.oper_equity=100`` style overrides; values are YAML scalars or lists."""
    values: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(
                f"--set {pair!r}: expected KEY=VALUE, e.g. trading.max_workers=4", source="--set"
            )
        key, raw = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"--set {pair!r}: empty key", source="--set")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = raw.strip()  # keep the text so Decimal fields stay exact
        _set(values, tuple(key.split(".")), value)
    return values


# --------------------------------------------------------------------------- merge
def _set(target: dict[str, Any], path: Sequence[str], value: Any) -> None:
    node = target
    for part in path[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[path[-1]] = value


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and (not prefix and key in SECTIONS):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _merge(layers: Sequence[tuple[str, Mapping[str, Any], Mapping[str, str] | None]]) -> tuple[dict, dict]:
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, values, per_key in layers:
        for key, value in _flatten(values).items():
            _set(merged, tuple(key.split(".")), value)
            sources[key] = (per_key or {}).get(key, name)
    return merged, sources


# --------------------------------------------------------------------------- errors
def _constraint_text(loc: tuple[Any, ...]) -> str | None:
    """'must be > 0 and < 1' from the schema's own bounds for the field at ``loc``."""
    model: Any = BotConfig
    info = None
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        info = fields[part]
        model = info.annotation
    if info is None:
        return None
    parts = []
    for meta in info.metadata:
        for attr, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            bound = getattr(meta, attr, None)
            if bound is not None:
                parts.append(f"{sym} {bound}")
    return "must be " + " and ".join(parts) if parts else None


_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _describe(error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        parent: Any = BotConfig
        for part in loc[:-1]:
            parent = parent.model_fields[part].annotation if hasattr(parent, "model_fields") else None
        allowed = ", ".join(parent.model_fields) if hasattr(parent, "model_fields") else ""
        return f"unknown key (allowed: {allowed})" if allowed else "unknown key"
    if kind in _BOUND_ERRORS or (kind.startswith("decimal_") and "max" not in kind):
        text = _constraint_text(loc)
        if text:
            return f"{text}, got {value}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"expected an integer, got {value!r}"
    if kind in ("decimal_parsing", "decimal_type", "float_parsing", "float_type"):
        return f"expected a number, got {value!r}"
    if kind in ("bool_parsing", "bool_type"):
        return f"expected true or false, got {value!r}"
    if kind in ("literal_error", "enum"):
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}, got {value!r}"
    if kind in ("dict_type", "model_type"):
        return f"expected a mapping of keys, got {type(value).__name__}"
    if kind in ("list_type",):
        return f"expected a list, got {type(value).__name__}"
    msg = str(error.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def _format_errors(exc: ValidationError, sources: Mapping[str, str]) -> ConfigError:
    lines = []
    first_key = None
    first_source = None
    for error in exc.errors():
        loc = tuple(str(p) for p in error["loc"])
        key = ".".join(loc) if loc else "(config)"
        source = sources.get(key)
        if source is None:
            for i in range(len(loc) - 1, 0, -1):
                source = sources.get(".".join(loc[:i]))
                if source:
                    break
        if not loc:
            source = "config"
            line = f"config: {_describe(error)}"
        else:
            line = f"{source or 'default'}: {key}: {_describe(error)}"
        if first_key is None:
            first_key, first_source = key, source
        lines.append(line)
    return ConfigError(
        redact("\n".join(lines)), source=first_source, key=redact(first_key) if first_key else first_key
    )


# --------------------------------------------------------------------------- entry points
def load_config(
    path: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    use_default_file: bool = True,
) -> LoadedConfig:
    """Build the validated configuration from every layer.

    ``path`` is ``--config``; without it ``./config.yaml`` is used when present.
    ``overrides`` is the CLI layer (already nested, see :func:`parse_cli_overrides`).
    """
    file_path: Path | None = Path(path) if path is not None else None
    if file_path is None and use_default_file and DEFAULT_CONFIG_FILE.is_file():
        file_path = DEFAULT_CONFIG_FILE
    file_values = read_config_file(file_path) if file_path is not None else {}
    env_values, env_origin = read_environment(environ)
    cli_values = dict(overrides or {})

    profile = "dev"
    for layer in (file_values, env_values, cli_values):
        if isinstance(layer.get("profile"), str):
            profile = layer["profile"]
    profile_values = PROFILE_DEFAULTS.get(profile, {})

    merged, sources = _merge(
        [
            (f"profile {profile}", profile_values, None),
            (str(file_path) if file_path else "file", file_values, None),
            ("environment", env_values, env_origin),
            ("command line", cli_values, None),
        ]
    )
    # secrets are secrets even when something else in the configuration is wrong: registered
    # first, so that no error message (a value quoted back, a key named) can show them
    for section, key in (("api", "api_key"), ("api", "api_secret"), ("monitoring", "dashboard_token")):
        value = merged.get(section, {}).get(key) if isinstance(merged.get(section), dict) else None
        if isinstance(value, str):
            register_secret(value)
    try:
        config = BotConfig.model_validate(merged)
    except ValidationError as exc:
        raise _format_errors(exc, sources) from None
    for secret in (config.api.api_key, config.api.api_secret, config.monitoring.dashboard_token):
        if secret is not None:
            register_secret(secret.get_secret_value())
    return LoadedConfig(config=config, sources=sources, file=file_path)


_current: LoadedConfig | None = None


def set_current(loaded: LoadedConfig) -> None:
    """Make ``loaded`` what :func:`get_config` returns (the CLI calls this once)."""
    global _current
    _current = loaded


def get_config(path: str | Path | None = None, *, reload: bool = False) -> BotConfig:
    """The design documents' entry point: the effective settings (``.to_dict()`` masks secrets)."""
    global _current
    if _current is None or reload or path is not None:
        _current = load_config(path)
    return _current.config
