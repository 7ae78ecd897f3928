"""The core package and the distributed package import without loading pyspark."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(out.stdout.split())


def test_importing_the_bot_does_not_load_pyspark() -> None:
    loaded = _modules_after("import binance_bot, binance_bot.distributed")
    assert "binance_bot.distributed" in loaded
    assert not any(m == "pyspark" or m.startswith("pyspark.") for m in loaded)


def test_the_processor_module_loads_pyspark_only_when_a_session_is_built() -> None:
    loaded = _modules_after(
        "from binance_bot.distributed import SparkProcessor, SparkEngine, StandaloneCluster, plan_chunks"
    )
    assert "binance_bot.distributed.processor" in loaded
    assert "binance_bot.backtest.sweep" in loaded
    assert not any(m == "pyspark" or m.startswith("pyspark.") for m in loaded)


def test_unknown_names_are_attribute_errors() -> None:
    import binance_bot.distributed as dist

    with pytest.raises(AttributeError, match="NoSuchThing"):
        dist.NoSuchThing  # noqa: B018
