"""``binance-bot config show|validate``: what the bot will run with, and where it came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from binance_bot.cli.state import state_of
from binance_bot.config import load_config
from binance_bot.config.redaction import redact

app = typer.Typer(help="Show and validate the configuration.", no_args_is_help=True)


def _rows(values: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and not prefix and value and key != "strategy_params":
            rows.extend(_rows(value, dotted + "."))
        else:
            rows.append((dotted, value))
    return rows


@app.command("show")
def show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Effective values (secrets masked) with the layer each one came from."""
    loaded = state_of(ctx).load()
    values = loaded.config.to_dict()
    values["mode"] = loaded.config.effective_mode.value
    out = Console(soft_wrap=True)
    if as_json:
        out.print_json(redact(json.dumps(values, default=str)))
        return
    table = Table(title=f"binance-bot configuration (mode: {loaded.config.effective_mode.value})")
    table.add_column("key", style="cyan")
    table.add_column("value")
    table.add_column("from", style="dim")
    for key, value in _rows(values):
        source = loaded.source_of(key)
        if key == "mode" and loaded.config.mode is None:
            source = "derived (no mode set)"
        shown = json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value)
        table.add_row(key, redact(shown), source)
    out.print(table)


@app.command("validate")
def validate(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="YAML or JSON config file to check.")],
) -> None:
    """Check one file (with the environment and flags layered on top); exit 2 when invalid."""
    state = state_of(ctx)
    loaded = load_config(file, overrides=state.overrides())
    Console().print(f"{file}: OK (mode: {loaded.config.effective_mode.value})", markup=False)
