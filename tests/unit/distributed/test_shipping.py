"""The code zip executors import the project from."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from binance_bot.distributed.shipping import package_dir, package_zip


def test_the_zip_holds_the_package_sources_and_data_but_no_bytecode(tmp_path: Path) -> None:
    path = package_zip(tmp_path)
    names = zipfile.ZipFile(path).namelist()
    assert "binance_bot/__init__.py" in names
    assert "binance_bot/backtest/sweep.py" in names
    assert "binance_bot/distributed/log4j2.properties" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".nbi", ".nbc"))]
    sources = {
        str(Path("binance_bot") / p.relative_to(package_dir()))
        for p in package_dir().rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert sources <= set(names)


def test_the_same_code_gives_the_same_file(tmp_path: Path) -> None:
    first = package_zip(tmp_path / "a")
    second = package_zip(tmp_path / "b")
    assert first.name == second.name
    assert first.read_bytes() == second.read_bytes()


def test_a_python_without_the_project_imports_it_from_the_zip(tmp_path: Path) -> None:
    path = package_zip(tmp_path)
    src = str(package_dir().parent)
    code = (
        "import sys\n"
        f"sys.path[:] = [p for p in sys.path if p.rstrip('/') != {src!r}]\n"
        f"sys.path.insert(0, {str(path)!r})\n"
        "import binance_bot.distributed.rows as rows\n"
        "print(rows.__file__)\n"
        "print(len(rows.METRICS))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path, check=True
    )
    where, metrics = out.stdout.split()
    assert where == str(path / "binance_bot" / "distributed" / "rows.py")
    assert int(metrics) > 10
