"""The architecture's import rule, enforced on the source tree (see docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "binance_bot"

# layer -> project packages it may import (config and errors are allowed everywhere)
ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "indicators": {"model"},
    "strategy": {"model", "indicators"},
    "risk": {"model"},
    "matching": {"model"},
    "engine": {"model", "indicators", "strategy", "risk", "matching"},
    "exchange": {"model", "indicators", "strategy", "risk", "matching", "engine", "data"},
    "simulator": {"model", "matching", "engine", "exchange", "data"},
    "backtest": {"model", "indicators", "strategy", "risk", "matching", "engine", "exchange", "data"},
    "persistence": {"model", "engine"},
    "data": {"model"},
}
ALWAYS = {"config", "errors"}
PURE = {"model", "indicators", "strategy", "risk", "matching"}
IO_MODULES = {"asyncio", "aiohttp", "sqlalchemy", "pyspark", "socket", "requests", "urllib", "http"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _files() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) > 1 and rel.parts[0] in ALLOWED:
            out.append((rel.parts[0], path))
    return out


@pytest.mark.parametrize(("layer", "path"), _files(), ids=lambda v: str(v).split("binance_bot/")[-1])
def test_layer_imports(layer: str, path: Path) -> None:
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] == "binance_bot" and len(parts) > 1:
            target = parts[1]
            assert target == layer or target in ALLOWED[layer] | ALWAYS, (
                f"{path.relative_to(PACKAGE)} ({layer}) imports binance_bot.{target}"
            )
        if layer in PURE:
            assert parts[0] not in IO_MODULES, f"{path.relative_to(PACKAGE)} is pure but imports {name}"


def test_model_imports_nothing_from_the_project_but_itself() -> None:
    for path in (PACKAGE / "model").rglob("*.py"):
        for name in _imports(path):
            if name.startswith("binance_bot."):
                assert name.startswith("binance_bot.model"), f"{path.name} imports {name}"
