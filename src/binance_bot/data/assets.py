"""``_raw_assets.csv``: the symbols to trade, one per row under a ``symbol`` header."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from binance_bot.errors import DataError


def read_assets_file(path: Path) -> list[str]:
    """Symbols from a CSV with a ``symbol`` column; a bad row is an error naming its line."""
    try:
        handle = io.StringIO(path.read_text(encoding="utf-8"), newline="")
    except FileNotFoundError:
        raise DataError(f"{path}: assets file not found", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded)", path=str(path)
        ) from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(
                f"{path}: empty assets file (expected a `symbol` header)", path=str(path)
            ) from None
        names = [h.strip().lower() for h in header]
        if "symbol" not in names:
            raise DataError(f"{path}: line 1: no `symbol` column in header {header}", path=str(path), line=1)
        col = names.index("symbol")
        symbols: list[str] = []
        for lineno, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) <= col:
                raise DataError(
                    f"{path}: line {lineno}: missing the symbol field", path=str(path), line=lineno
                )
            value = row[col].strip().upper()
            if not value.isalnum():
                raise DataError(
                    f"{path}: line {lineno}: {row[col]!r} is not a symbol (letters and digits only)",
                    path=str(path),
                    line=lineno,
                )
            if value not in symbols:
                symbols.append(value)
    if not symbols:
        raise DataError(f"{path}: no symbols listed", path=str(path))
    return symbols
