"""Candle file readers: Binance public-data CSV (plain or zipped), klines JSON, normalized
``.csv.gz`` and the Parquet cache, all into one :class:`~binance_bot.data.frame.CandleFrame`.

A good file takes the fast path (pandas' C parser). Anything odd - a short line, text in a
number column, ``NaN``, a half-filled optional column - sends the file through a strict
line-by-line parser whose only job is to name the first bad line, because "could not
convert string to float" without a line number costs a person an afternoon.

Timestamps: Binance's spot files switched to microseconds in 2025. A file whose
``open_time`` values are all >= 10^14 (year 5138 in milliseconds, so never ambiguous) is read
as microseconds and converted to milliseconds; a file mixing both is rejected.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import io
import json
import math
import os
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from binance_bot.data.frame import (
    COLUMNS,
    DTYPES,
    INT_COLUMNS,
    OPTIONAL,
    REQUIRED,
    CandleFrame,
    conform,
)
from binance_bot.data.slots import slot_end, slot_index
from binance_bot.errors import DataError
from binance_bot.model.intervals import INTERVAL_MS, is_valid_interval
from binance_bot.model.market import Bar
from binance_bot.model.numbers import ZERO

PathLike = str | os.PathLike[str]

BINANCE_LAYOUT: tuple[str | None, ...] = (*COLUMNS, None)
"""The 12 kline fields in Binance's order (the 12th, ``ignore``, is dropped)."""

NORMALIZED_HEADER = ",".join(COLUMNS)

# Header names seen in Binance files and common exports, mapped to our column names.
_HEADER_ALIASES: dict[str, str | None] = {
    **{c: c for c in COLUMNS},
    "count": "trades",
    "number_of_trades": "trades",
    "quote_asset_volume": "quote_volume",
    "taker_buy_volume": "taker_buy_base",
    "taker_buy_base_asset_volume": "taker_buy_base",
    "taker_buy_base_volume": "taker_buy_base",
    "taker_buy_quote_volume": "taker_buy_quote",
    "taker_buy_quote_asset_volume": "taker_buy_quote",
    "ignore": None,
}

_NAME_RE = re.compile(r"^(?P<symbol>[A-Z0-9]+(?:_[A-Z0-9]+)?)[-_](?P<interval>\d+[smhdwM])(?:[-_.].*)?$")
_SUFFIXES = (".csv.gz", ".csv", ".zip", ".json", ".parquet", ".gz", ".txt")
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_MICROS_THRESHOLD = 10**14


def infer_symbol_interval(path: PathLike) -> tuple[str | None, str | None]:
    """Symbol and interval from names like ``BTCUSDT-1h.csv.gz`` or ``BTCUSDT-1m-2024-01.zip``.

    ``BTC_USDT-5m.json`` (freqtrade style) gives ``BTCUSDT``. Unknown parts are ``None``.
    """
    name = Path(path).name
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    m = _NAME_RE.match(name)
    if not m:
        return None, None
    interval = m.group("interval")
    return m.group("symbol").replace("_", ""), interval if is_valid_interval(interval) else None


def _fail(source: str, line: int | None, detail: str) -> DataError:
    where = f"{source}: line {line}: " if line is not None else f"{source}: "
    return DataError(where + detail, path=source, line=line)


# --------------------------------------------------------------------------- raw text access
@dataclass(frozen=True)
class _Text:
    """Decoded text of a CSV or JSON source, with the name to show in messages."""

    source: str
    text: str


def _load_text(path: Path, source: str) -> _Text:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(source, None, f"cannot read: {exc.strerror or exc}") from exc
    name = path.name.lower()
    if name.endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                members = [i for i in zf.infolist() if not i.is_dir()]
                csvs = [i for i in members if i.filename.lower().endswith(".csv")] or members
                if len(csvs) != 1:
                    names = ", ".join(i.filename for i in members) or "nothing"
                    raise _fail(source, None, f"expected one CSV file in the zip, found {names}")
                member = csvs[0]
                raw = zf.read(member)
                source = f"{source}:{member.filename}"
        except zipfile.BadZipFile as exc:
            raise _fail(source, None, f"not a valid zip file: {exc}") from exc
    elif name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise _fail(source, None, f"not a valid gzip file: {exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _fail(source, line, "not UTF-8 text") from exc
    return _Text(source, text)


# --------------------------------------------------------------------------- CSV layout
@dataclass(frozen=True)
class _Layout:
    fields: tuple[str | None, ...]  # column name per field position, None = ignored
    header_lines: int
    format: str


def _csv_layout(t: _Text) -> _Layout:
    first = t.text.split("\n", 1)[0].strip("\r")
    if not first.strip():
        if not t.text.strip():
            return _Layout(BINANCE_LAYOUT, 0, "binance-csv")
        raise _fail(t.source, 1, "empty first line")
    cells = [c.strip() for c in first.split(",")]
    if _INT_RE.match(cells[0]):
        if len(cells) == len(BINANCE_LAYOUT):
            return _Layout(BINANCE_LAYOUT, 0, "binance-csv")
        if len(cells) == len(COLUMNS):
            return _Layout(COLUMNS, 0, "normalized-csv")
        raise _fail(
            t.source, 1, f"expected 12 fields (Binance kline CSV) or 11 (normalized), got {len(cells)}"
        )
    fields: list[str | None] = []
    for cell in cells:
        key = cell.lower().replace(" ", "_")
        if key not in _HEADER_ALIASES:
            raise _fail(t.source, 1, f"unknown column {cell!r} in header; expected {NORMALIZED_HEADER}")
        col = _HEADER_ALIASES[key]
        if col is not None and col in fields:
            raise _fail(t.source, 1, f"column {col!r} appears twice in the header")
        fields.append(col)
    missing = [c for c in REQUIRED if c not in fields and c != "close_time"]
    if missing:
        raise _fail(t.source, 1, f"header lacks required column(s): {', '.join(missing)}")
    fmt = "normalized-csv" if tuple(fields) == COLUMNS else "binance-csv"
    return _Layout(tuple(fields), 1, fmt)


def _csv_rows(t: _Text, layout: _Layout) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every data line; trailing blank lines end the file quietly."""
    reader = csv.reader(io.StringIO(t.text))
    blank: int | None = None
    width = len(layout.fields)
    try:
        for row in reader:
            line = reader.line_num
            if line <= layout.header_lines:
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                blank = blank or line
                continue
            if blank is not None:
                raise _fail(t.source, blank, "empty line inside the data")
            if len(row) != width:
                what = "truncated line" if len(row) < width else "too many fields"
                raise _fail(t.source, line, f"{what}: expected {width} fields, got {len(row)}")
            yield line, row
    except csv.Error as exc:  # e.g. a stray carriage return inside a field
        raise _fail(t.source, reader.line_num, f"not valid CSV: {exc}") from None


# --------------------------------------------------------------------------- JSON layout
def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _json_rows(t: _Text) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every kline array in a ``/api/v3/klines`` response file."""
    text = t.text
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_at(pos: int) -> int:
        return bisect.bisect_right(newlines, pos - 1) + 1 if newlines else 1

    decoder = json.JSONDecoder(parse_float=str)
    pos = _skip_ws(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise _fail(t.source, line_at(pos), "expected a JSON array of kline arrays")
    pos = _skip_ws(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        return
    while True:
        line = line_at(pos)
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _fail(t.source, exc.lineno, f"invalid JSON: {exc.msg}") from exc
        if not isinstance(item, list) or len(item) not in (11, 12):
            size = f"{len(item)} values" if isinstance(item, list) else type(item).__name__
            raise _fail(t.source, line, f"expected a kline array of 12 values, got {size}")
        cells = ["" if v is None else str(v) for v in item]
        yield line, cells if len(cells) == 12 else [*cells, ""]
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            rest = _skip_ws(text, pos + 1)
            if rest != len(text):
                raise _fail(t.source, line_at(rest), "unexpected text after the JSON array")
            return
        raise _fail(t.source, line_at(pos), "expected ',' or ']' after a kline array")


# --------------------------------------------------------------------------- strict parser
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _strict_parse(
    source: str, fields: Sequence[str | None], rows: Iterator[tuple[int, list[str]]]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Parse every cell, raising at the first bad one; the authority on what is valid."""
    used = [(i, c) for i, c in enumerate(fields) if c is not None]
    values: dict[str, list[float | int]] = {c: [] for _, c in used}
    lines: list[int] = []
    presence: dict[str, tuple[bool, int]] = {}
    for line, cells in rows:
        for i, col in used:
            text = cells[i].strip()
            if col in INT_COLUMNS:
                if not _INT_RE.match(text):
                    what = "missing value" if not text else f"not an integer: {text!r}"
                    raise _fail(source, line, f"{col}: {what}")
                value = int(text)
                if not _INT64_MIN <= value <= _INT64_MAX:
                    raise _fail(source, line, f"{col}: out of range: {text!r}")
                values[col].append(value)
                continue
            if not text:
                if col not in OPTIONAL:
                    raise _fail(source, line, f"{col}: missing value")
                number = float("nan")
            elif not _NUMBER_RE.match(text):
                raise _fail(source, line, f"{col}: not a number: {text!r}")
            else:
                number = float(text)
                if col == "trades" and (not math.isfinite(number) or number != int(number)):
                    raise _fail(source, line, f"trades: not an integer: {text!r}")
            if col in OPTIONAL:
                filled = bool(text)
                first = presence.setdefault(col, (filled, line))
                if first[0] != filled:
                    state = "empty here but filled" if first[0] else "filled here but empty"
                    raise _fail(source, line, f"{col}: {state} on line {first[1]} (a column is all or none)")
            values[col].append(number)
        lines.append(line)
    n = len(lines)
    data = {
        c: np.asarray(values[c], dtype=DTYPES[c]) if c in values else np.full(n, np.nan)
        for c in COLUMNS
        if c in values or c in OPTIONAL
    }
    return data, np.asarray(lines, dtype=np.int64)


def _fast_parse(t: _Text, layout: _Layout) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
    """pandas' C parser; ``None`` whenever the strict parser must look at the file."""
    names = [c if c is not None else f"_ignore{i}" for i, c in enumerate(layout.fields)]
    dtypes: dict[str, object] = {n: DTYPES.get(n, object) for n in names}
    try:
        df = pd.read_csv(
            io.StringIO(t.text),
            header=None,
            names=names,
            skiprows=layout.header_lines,
            dtype=dtypes,  # type: ignore[arg-type]
            skip_blank_lines=False,
            keep_default_na=False,  # only an empty field is missing; "NaN" text is an error
            na_values=[""],
            engine="c",
        )
    except (ValueError, pd.errors.ParserError, OverflowError):
        return None
    if df.isna().to_numpy().any():
        cols = [c for c in df.columns if df[c].isna().any()]
        if any(c not in OPTIONAL for c in cols) or any(not df[c].isna().all() for c in cols):
            return None
    data: dict[str, np.ndarray] = {}
    for c in COLUMNS:
        if c in df.columns:
            arr = df[c].to_numpy(dtype=DTYPES[c])
            if c not in INT_COLUMNS and np.isinf(arr).any():
                return None
            data[c] = arr
        elif c in OPTIONAL:
            data[c] = np.full(len(df), np.nan)
    trades = data["trades"]
    if np.any(trades[~np.isnan(trades)] % 1):
        return None
    lines = np.arange(layout.header_lines + 1, layout.header_lines + 1 + len(df), dtype=np.int64)
    return data, lines


def _to_millis(source: str, data: dict[str, np.ndarray], lines: np.ndarray) -> None:
    ot = data["open_time"]
    if not len(ot):
        return
    micros = ot >= _MICROS_THRESHOLD
    if micros.all():
        data["open_time"] = ot // 1000
        if "close_time" in data:
            data["close_time"] = data["close_time"] // 1000
    elif micros.any():
        row = int(np.flatnonzero(micros != micros[0])[0])
        unit, other = ("milliseconds", "microseconds") if micros[0] else ("microseconds", "milliseconds")
        raise _fail(
            source,
            int(lines[row]),
            f"open_time {int(ot[row])} is in {unit} but line {int(lines[0])} is in {other}",
        )


def _infer_interval(open_time: np.ndarray) -> str | None:
    if len(open_time) < 2:
        return None
    diffs = np.diff(open_time)
    diffs = diffs[diffs > 0]
    if not len(diffs):
        return None
    values, counts = np.unique(diffs, return_counts=True)
    step = int(values[np.argmax(counts)])
    for code, ms in INTERVAL_MS.items():
        if ms == step:
            return code
    if 28 * 86_400_000 <= step <= 31 * 86_400_000:
        return "1M"
    return None


def _finish(
    data: dict[str, np.ndarray],
    lines: np.ndarray,
    *,
    source: str,
    fmt: str,
    symbol: str | None,
    interval: str | None,
) -> CandleFrame:
    _to_millis(source, data, lines)
    ivl = interval or _infer_interval(data["open_time"])
    if "close_time" not in data:
        if ivl is None:
            raise _fail(source, None, "no close_time column and the interval cannot be determined")
        data["close_time"] = slot_end(slot_index(data["open_time"], ivl), ivl)
    frame = pd.DataFrame({c: data[c] for c in COLUMNS})
    optional = tuple(c for c in OPTIONAL if len(frame) and not np.isnan(data[c]).all())
    return CandleFrame(
        frame=frame, symbol=symbol, interval=ivl, source=source, format=fmt, lines=lines, optional=optional
    )


def _read_parquet(path: Path, source: str, symbol: str | None, interval: str | None) -> CandleFrame:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise _fail(source, None, f"cannot read Parquet: {exc}") from exc
    meta = table.schema.metadata or {}
    symbol = symbol or (meta.get(b"binance_bot:symbol") or b"").decode() or None
    interval = interval or (meta.get(b"binance_bot:interval") or b"").decode() or None
    try:
        frame = conform(table.to_pandas())
    except (ValueError, TypeError) as exc:
        raise _fail(source, None, str(exc)) from exc
    data = {c: frame[c].to_numpy() for c in COLUMNS}
    lines = np.arange(1, len(frame) + 1, dtype=np.int64)
    return _finish(data, lines, source=source, fmt="parquet", symbol=symbol, interval=interval)


def _text_rows(t: _Text) -> tuple[Sequence[str | None], Iterator[tuple[int, list[str]]], str, _Layout | None]:
    if t.text.lstrip()[:1] == "[":
        return BINANCE_LAYOUT, _json_rows(t), "klines-json", None
    layout = _csv_layout(t)
    return layout.fields, _csv_rows(t, layout), layout.format, layout


def read_candles(
    path: PathLike, *, symbol: str | None = None, interval: str | None = None, check: bool = True
) -> CandleFrame:
    """Read any supported candle file into a :class:`CandleFrame`.

    Formats are told apart by suffix (``.parquet``, ``.json``, ``.zip``, ``.gz``, else CSV)
    and, for CSV, by the first line (header or not, 12 or 11 fields). ``symbol`` and
    ``interval`` default to what the file name says (then the Parquet metadata, then the
    most common spacing of ``open_time``). With ``check`` the candles are validated and the
    first error is raised; either way malformed input raises
    :class:`~binance_bot.errors.DataError` naming the file and line.
    """
    p = Path(path)
    source = str(path)
    if interval is not None and not is_valid_interval(interval):
        raise ValueError(f"unknown interval {interval!r}")
    name_symbol, name_interval = infer_symbol_interval(p)
    symbol = symbol or name_symbol
    interval = interval or name_interval
    if p.name.lower().endswith(".parquet"):
        result = _read_parquet(p, source, symbol, interval)
    else:
        t = _load_text(p, source)
        fields, rows, fmt, layout = _text_rows(t)
        parsed = _fast_parse(t, layout) if layout is not None else None
        if parsed is None:
            parsed = _strict_parse(t.source, fields, rows)
        data, lines = parsed
        result = _finish(data, lines, source=t.source, fmt=fmt, symbol=symbol, interval=interval)
    if check:
        from binance_bot.data.validation import validate_frame

        validate_frame(result).raise_for_errors()
    return result


def read_bars(path: PathLike, *, symbol: str | None = None, interval: str | None = None) -> list[Bar]:
    """Validated bars whose every field is the exact ``Decimal`` of the file's text.

    The float frame already gives exact prices and base volumes (see
    :mod:`binance_bot.data.frame`); this path also keeps 16-19 digit quote volumes exact.
    """
    candles = read_candles(path, symbol=symbol, interval=interval, check=True)
    if not candles.symbol or not candles.interval:
        raise _fail(candles.source, None, "symbol and interval are unknown; pass them explicitly")
    if candles.format == "parquet":
        return candles.to_bars()
    t = _load_text(Path(path), str(path))
    fields, rows, _, _ = _text_rows(t)
    pos = {c: i for i, c in enumerate(fields) if c is not None}
    open_time = candles.frame["open_time"].tolist()
    close_time = candles.frame["close_time"].tolist()

    def dec(cells: list[str], col: str) -> Decimal:
        i = pos.get(col)
        text = cells[i].strip() if i is not None else ""
        return Decimal(text) if text else ZERO

    out: list[Bar] = []
    for k, (_, cells) in enumerate(rows):
        trades = cells[pos["trades"]].strip() if "trades" in pos else ""
        out.append(
            Bar(
                symbol=candles.symbol,
                interval=candles.interval,
                open_time=open_time[k],
                close_time=close_time[k],
                open=dec(cells, "open"),
                high=dec(cells, "high"),
                low=dec(cells, "low"),
                close=dec(cells, "close"),
                volume=dec(cells, "volume"),
                quote_volume=dec(cells, "quote_volume"),
                trades=int(Decimal(trades)) if trades else 0,
                taker_buy_base=dec(cells, "taker_buy_base"),
                taker_buy_quote=dec(cells, "taker_buy_quote"),
            )
        )
    return out
