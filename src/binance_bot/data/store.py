"""The Parquet candle cache: one file per (symbol, interval), safe to read from other processes.

Layout under the cache root (Hive-style, so ``spark.read.parquet(root)`` or
``pyarrow.dataset.dataset(root, partitioning="hive")`` adds ``interval`` and ``symbol``
columns from the directory names)::

    <root>/interval=<interval>/symbol=<SYMBOL>/candles.parquet

Each file holds the columns of :data:`binance_bot.data.frame.COLUMNS` in that order -
``open_time``/``close_time`` int64 epoch ms (UTC), the rest float64, optional Binance fields
NaN (null) when the source lacked them - sorted by ``open_time`` with no duplicates, zstd
compressed, no pandas index. The symbol and interval are also in the file's key-value
metadata (``binance_bot:symbol``, ``binance_bot:interval``, ``binance_bot:schema`` =
``candles/1``) and deliberately not columns, because Spark refuses a column that is also
a partition directory.

Writers replace a file atomically (write a temporary file beside it, then rename), so a
reader in another process sees the old or the new file, never half of one. One writer per
(symbol, interval) at a time is assumed; the downloader is that writer.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from binance_bot.data.frame import COLUMNS, DTYPES, REQUIRED, CandleFrame, conform, from_frame
from binance_bot.data.readers import read_candles
from binance_bot.data.slots import check_interval
from binance_bot.data.validation import validate_frame
from binance_bot.errors import DataError

SCHEMA_VERSION = "candles/1"
FILE_NAME = "candles.parquet"
_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,30}$")

ARROW_SCHEMA = pa.schema(
    [
        pa.field(c, pa.int64() if DTYPES[c] == np.int64 else pa.float64(), nullable=c not in REQUIRED)
        for c in COLUMNS
    ]
)


def _table(frame: pd.DataFrame, symbol: str, interval: str) -> pa.Table:
    arrays = []
    for c in COLUMNS:
        values = frame[c].to_numpy(dtype=DTYPES[c])
        mask = np.isnan(values) if DTYPES[c] == np.float64 else None
        arrays.append(pa.array(values, type=ARROW_SCHEMA.field(c).type, mask=mask))
    meta = {
        b"binance_bot:symbol": symbol.encode(),
        b"binance_bot:interval": interval.encode(),
        b"binance_bot:schema": SCHEMA_VERSION.encode(),
    }
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA.with_metadata(meta))


class CandleStore:
    """A directory of cached candles; see the module notes for the layout and guarantees."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------ layout
    def path_for(self, symbol: str, interval: str) -> Path:
        """Where the candles of ``symbol``/``interval`` live (whether or not they exist yet)."""
        if not _SYMBOL_RE.match(symbol):
            raise ValueError(f"symbol must be 2-30 upper-case letters or digits, got {symbol!r}")
        check_interval(interval)
        return self.root / f"interval={interval}" / f"symbol={symbol}" / FILE_NAME

    def has(self, symbol: str, interval: str) -> bool:
        return self.path_for(symbol, interval).is_file()

    def entries(self) -> list[tuple[str, str]]:
        """Every cached (symbol, interval), sorted."""
        out = []
        for path in self.root.glob(f"interval=*/symbol=*/{FILE_NAME}"):
            interval = path.parent.parent.name.split("=", 1)[1]
            symbol = path.parent.name.split("=", 1)[1]
            out.append((symbol, interval))
        return sorted(out)

    # ------------------------------------------------------------------ reads
    def read(
        self, symbol: str, interval: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> CandleFrame:
        """Cached candles with ``start_ms <= open_time < end_ms``; raises DataError if none are cached."""
        path = self.path_for(symbol, interval)
        if not path.is_file():
            raise DataError(f"{path}: no cached candles for {symbol} {interval}", path=str(path))
        filters = []
        if start_ms is not None:
            filters.append(("open_time", ">=", int(start_ms)))
        if end_ms is not None:
            filters.append(("open_time", "<", int(end_ms)))
        try:
            table = pq.read_table(path, columns=list(COLUMNS), filters=filters or None)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{path}: cannot read Parquet: {exc}", path=str(path)) from exc
        frame = conform(table.to_pandas())
        return from_frame(frame, symbol=symbol, interval=interval, source=str(path), format="parquet")

    def last_open_time(self, symbol: str, interval: str) -> int | None:
        """Open time of the newest cached candle (from the Parquet statistics), or ``None``."""
        return self._bound(symbol, interval, last=True)

    def first_open_time(self, symbol: str, interval: str) -> int | None:
        return self._bound(symbol, interval, last=False)

    def _bound(self, symbol: str, interval: str, *, last: bool) -> int | None:
        path = self.path_for(symbol, interval)
        if not path.is_file():
            return None
        try:
            meta = pq.ParquetFile(path).metadata
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{path}: cannot read Parquet: {exc}", path=str(path)) from exc
        idx = COLUMNS.index("open_time")
        values = []
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(idx).statistics
            if stats is not None and stats.has_min_max:
                values.append(stats.max if last else stats.min)
        if not values:
            ot = pq.read_table(path, columns=["open_time"]).column(0).to_numpy()
            return (int(ot.max()) if last else int(ot.min())) if len(ot) else None
        return int(max(values) if last else min(values))

    # ------------------------------------------------------------------ writes
    def write(self, candles: CandleFrame, *, symbol: str | None = None, interval: str | None = None) -> Path:
        """Replace the cached candles of one symbol/interval with ``candles`` (validated)."""
        sym, ivl = self._names(candles, symbol, interval)
        self._check(candles, sym, ivl)
        return self._atomic_write(conform(candles.frame), sym, ivl)

    def append(self, candles: CandleFrame, *, symbol: str | None = None, interval: str | None = None) -> int:
        """Merge ``candles`` into the cache; returns how many new open times were added.

        A candle whose open time is already cached replaces the cached one (the newer
        download wins, e.g. a candle that was still open when first fetched).
        """
        sym, ivl = self._names(candles, symbol, interval)
        if not len(candles):
            return 0
        self._check(candles, sym, ivl)
        new = conform(candles.frame)
        path = self.path_for(sym, ivl)
        if path.is_file():
            old = self.read(sym, ivl).frame
            before = len(old)
            merged = pd.concat([old, new], ignore_index=True)
            merged = merged.drop_duplicates("open_time", keep="last").sort_values("open_time", kind="stable")
            merged = merged.reset_index(drop=True)
        else:
            before = 0
            merged = new.drop_duplicates("open_time", keep="last").sort_values("open_time", kind="stable")
            merged = merged.reset_index(drop=True)
        self._atomic_write(merged, sym, ivl)
        return len(merged) - before

    def import_file(
        self, path: str | os.PathLike[str], *, symbol: str | None = None, interval: str | None = None
    ) -> int:
        """Read a candle file (any supported format) and :meth:`append` it."""
        return self.append(
            read_candles(path, symbol=symbol, interval=interval), symbol=symbol, interval=interval
        )

    def delete(self, symbol: str, interval: str) -> bool:
        path = self.path_for(symbol, interval)
        if path.is_file():
            path.unlink()
            return True
        return False

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _names(candles: CandleFrame, symbol: str | None, interval: str | None) -> tuple[str, str]:
        sym = symbol or candles.symbol
        ivl = interval or candles.interval
        if not sym or not ivl:
            raise ValueError(f"{candles.source}: symbol and interval are needed to cache candles")
        return sym, ivl

    @staticmethod
    def _check(candles: CandleFrame, symbol: str, interval: str) -> None:
        # Valid parts make a valid whole (sorting and de-duplicating cannot break a row or
        # the grid), so checking the incoming rows names errors by their own source lines.
        validate_frame(replace(candles, symbol=symbol, interval=interval)).raise_for_errors()

    def _atomic_write(self, frame: pd.DataFrame, symbol: str, interval: str) -> Path:
        path = self.path_for(symbol, interval)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".candles-", suffix=".parquet.tmp", dir=path.parent)
        os.close(fd)
        try:
            pq.write_table(_table(frame, symbol, interval), tmp, compression="zstd")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path
