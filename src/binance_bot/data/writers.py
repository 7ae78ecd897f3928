"""Writing candles in the normalized CSV layout of the shared data folder.

``SYMBOL-INTERVAL.csv.gz``: the header ``open_time,open,...,taker_buy_quote``, epoch-ms
times, decimal text without exponent or trailing zeros, empty optional fields when absent.
Output is byte-for-byte reproducible (gzip header without a timestamp), so two runs of a
seeded generator can be compared by checksum.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from binance_bot.data.frame import COLUMNS, INT_COLUMNS, CandleFrame, conform


def _float_text(values: np.ndarray) -> list[str]:
    out: list[str] = []
    for v in values.tolist():
        if v != v:
            out.append("")
            continue
        text = repr(v)
        if "e" in text:
            text = np.format_float_positional(v, trim="-")
        elif text.endswith(".0"):
            text = text[:-2]
        out.append(text)
    return out


def candles_csv_text(candles: CandleFrame) -> str:
    """The normalized CSV text (header included) of a candle frame."""
    frame = conform(candles.frame)
    cols: list[list[str]] = []
    for c in COLUMNS:
        values = frame[c].to_numpy()
        if c in INT_COLUMNS:
            cols.append([str(v) for v in values.tolist()])
        elif c == "trades":
            cols.append(["" if v != v else str(int(v)) for v in values.tolist()])
        else:
            cols.append(_float_text(values))
    lines = [",".join(COLUMNS), *(",".join(row) for row in zip(*cols, strict=True))]
    return "\n".join(lines) + "\n"


def write_candles_csv(candles: CandleFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``candles`` as normalized CSV, gzip-compressed when the name ends in ``.gz``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = candles_csv_text(candles).encode()
    tmp = target.with_name(f".{target.name}.tmp")
    if target.name.endswith(".gz"):
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            gz.write(data)
    else:
        tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def normalized_name(symbol: str, interval: str) -> str:
    """``SYMBOL-INTERVAL.csv.gz``, the shared folder's file name."""
    return f"{symbol}-{interval}.csv.gz"
