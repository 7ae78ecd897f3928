"""What the root command line options hand to every command."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from binance_bot.config import LoadedConfig, load_config, parse_cli_overrides, set_current


@dataclass
class CliState:
    config_path: Path | None = None
    set_pairs: list[str] = field(default_factory=list)
    profile: str | None = None
    log_level: str | None = None
    debug: bool = False
    _loaded: LoadedConfig | None = None

    def overrides(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        values = parse_cli_overrides(self.set_pairs)
        if self.profile:
            values["profile"] = self.profile
        if self.log_level:
            values.setdefault("monitoring", {})["log_level"] = self.log_level.upper()
        for section, items in (extra or {}).items():
            if isinstance(items, dict):
                values.setdefault(section, {}).update(items)
            else:
                values[section] = items
        return values

    def load(self, extra: dict[str, Any] | None = None) -> LoadedConfig:
        """Load (once) the layered configuration; ``extra`` are command-specific CLI flags."""
        if self._loaded is None or extra:
            self._loaded = load_config(self.config_path, overrides=self.overrides(extra))
            set_current(self._loaded)
        return self._loaded


def state_of(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj
