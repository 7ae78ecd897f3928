from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from binance_bot.cli.main import app


def test_doctor_reports_each_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["--set", "api.base_url=http://127.0.0.1:9", "doctor", "--timeout", "0.5"]
    )
    assert result.exit_code == 0, result.output
    for name in ("python", "torch", "cuda", "java", "pyspark", "logs", "data", "candles", "exchange"):
        assert name in result.output
    assert "127.0.0.1:9" in result.output and "unreachable" in result.output
    assert (tmp_path / "logs").is_dir()
