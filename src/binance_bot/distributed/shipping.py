"""Shipping the project's code to executors that do not have it installed.

On a cluster the executors run the backtest functions by importing ``binance_bot``. Either the
project is installed on every node (a wheel, see ``docs/distributed.md``), or the driver ships
it with each application: :func:`package_zip` builds a zip of the package that Spark adds to the
executors' ``sys.path`` (``SparkContext.addPyFile`` or ``spark-submit --py-files``). The zip
holds the package as it is imported on the driver, so driver and executors run the same code.
Third-party dependencies (numpy, pandas, pyarrow, torch, numba) are not shipped: they contain
compiled extensions and must be installed in the executors' Python.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from pathlib import Path

import binance_bot

_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo", ".nbi", ".nbc"}


def package_dir() -> Path:
    """The directory ``binance_bot`` is imported from on this machine."""
    return Path(binance_bot.__file__).resolve().parent


def _members(root: Path) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_dir() or _SKIP_DIRS & set(rel.parts) or path.suffix in _SKIP_SUFFIXES:
            continue
        out.append(path)
    return out


def package_zip(dest_dir: Path | None = None) -> Path:
    """A zip of the ``binance_bot`` package (sources and package data), named by a hash of its
    content: the same code gives the same file, so executors caching by name never run stale
    code. Entries carry a fixed timestamp, which keeps the hash a function of the code alone."""
    root = package_dir()
    members = _members(root)
    digest = hashlib.sha256()
    for path in members:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    folder = dest_dir or Path(tempfile.gettempdir()) / "binance-bot-spark"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"binance_bot-{digest.hexdigest()[:16]}.zip"
    if target.is_file():
        return target
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in members:
            info = zipfile.ZipInfo(
                str(Path("binance_bot") / path.relative_to(root)), date_time=(2020, 1, 1, 0, 0, 0)
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    tmp.replace(target)
    return target


__all__ = ["package_dir", "package_zip"]
