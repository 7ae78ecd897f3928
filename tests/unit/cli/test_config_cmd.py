from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MARKER = "MARKER-a1b2c3d4e5f6"


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
    full_env["COLUMNS"] = "200"
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "binance_bot", *args], cwd=cwd, env=full_env, capture_output=True, text=True
    )


def test_config_show_never_prints_the_secret(tmp_path: Path) -> None:
    result = run_cli("config", "show", cwd=tmp_path, env={"BINANCE_API_SECRET": MARKER})
    assert result.returncode == 0, result.stderr
    assert "api.api_secret" in result.stdout and "environment BINANCE_API_SECRET" in result.stdout
    assert MARKER not in result.stdout + result.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert MARKER not in path.read_text(errors="ignore")


def test_config_show_json(tmp_path: Path) -> None:
    result = run_cli("config", "show", "--json", cwd=tmp_path, env={"BINANCE_API_SECRET": MARKER})
    assert result.returncode == 0
    assert '"mode": "paper"' in result.stdout and MARKER not in result.stdout


@pytest.mark.parametrize(
    ("text", "needle"),
    [("trading:\n  max_workers: ten\n", "trading.max_workers"), ("trading:\n  nope: 1\n", "trading.nope")],
)
def test_bad_config_exits_2_with_one_line(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = run_cli("config", "validate", str(path), cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert str(path) in lines[0] and needle in lines[0]
    assert "Traceback" not in result.stderr


def test_validate_ok(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text("trading:\n  max_workers: 3\n")
    result = run_cli("config", "validate", str(path), cwd=tmp_path)
    assert result.returncode == 0 and "OK" in result.stdout


def test_debug_adds_redacted_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("trading:\n  max_workers: ten\n")
    result = run_cli(
        "--debug", "config", "validate", str(path), cwd=tmp_path, env={"BINANCE_API_SECRET": MARKER}
    )
    assert result.returncode == 2
    assert "Traceback" in result.stderr and MARKER not in result.stderr


def test_usage_error_exits_2(tmp_path: Path) -> None:
    assert run_cli("--no-such-flag", cwd=tmp_path).returncode == 2


def test_version(tmp_path: Path) -> None:
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("binance-bot ")
