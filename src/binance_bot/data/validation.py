"""Candle validation: what is wrong (errors), what is merely unusual (warnings), and gaps.

Gaps are reported, never filled: Binance publishes no candle while trading is halted, and a
forward-filled candle would invent trades that never happened. Candles cut short by a halt
(``close_time`` earlier than ``open_time + interval - 1``, Binance's time of the last trade)
are real and only warned about. Every issue carries the source line, so a person can open
the file at the right place.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from binance_bot.data.frame import OPTIONAL, PRICE_COLUMNS, CandleFrame
from binance_bot.data.slots import slot_end, slot_index, slot_start
from binance_bot.errors import DataError


def iso(ms: int) -> str:
    """UTC ISO-8601 text of an epoch-ms time, e.g. ``2023-03-24T12:30:00Z``."""
    text = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
    return text.replace(".000Z", "Z")


def _num(x: float) -> str:
    return repr(float(x))


@dataclass(frozen=True)
class Issue:
    """One finding; ``str()`` gives ``<file>: line <n>: <message>``."""

    code: str
    message: str
    source: str
    line: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.source}: {self.message}"
        return f"{self.source}: line {self.line}: {self.message}"


@dataclass(frozen=True)
class Gap:
    """Missing candles between two present ones (open times of the candles either side)."""

    before_open_time: int
    after_open_time: int
    missing: int
    line: int  # source line of the first candle after the gap
    interval: str

    @property
    def first_missing(self) -> int:
        return int(
            slot_start(slot_index(np.array([self.before_open_time]), self.interval) + 1, self.interval)[0]
        )

    @property
    def last_missing(self) -> int:
        return int(
            slot_start(slot_index(np.array([self.after_open_time]), self.interval) - 1, self.interval)[0]
        )

    def __str__(self) -> str:
        return f"{iso(self.before_open_time)} -> {iso(self.after_open_time)} ({self.missing})"


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one candle source. ``ok`` means no errors (warnings allowed)."""

    source: str
    symbol: str | None
    interval: str | None
    format: str | None
    rows: int
    first_open_time: int | None = None
    last_open_time: int | None = None
    gaps: tuple[Gap, ...] = ()
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    error_count: int = 0
    short_candles: int = 0
    optional: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def missing(self) -> int:
        return sum(g.missing for g in self.gaps)

    def raise_for_errors(self) -> None:
        """Raise :class:`DataError` for the first error (by line), if there is one."""
        if self.errors:
            first = self.errors[0]
            raise DataError(str(first), path=first.source, line=first.line)

    def summary(self) -> str:
        """One line: status, interval, rows, span, gaps, missing candles."""
        span = (
            f"{iso(self.first_open_time)} .. {iso(self.last_open_time)}"
            if self.first_open_time is not None and self.last_open_time is not None
            else "-"
        )
        status = "OK  " if self.ok else "FAIL"
        return (
            f"{status} {self.source} interval={self.interval or '?'} rows={self.rows} span={span} "
            f"gaps={len(self.gaps)} missing={self.missing}"
        )


class _Collector:
    """Keeps the first few examples of each error kind, and counts all of them."""

    def __init__(self, candles: CandleFrame, max_examples: int) -> None:
        self.c = candles
        self.max = max_examples
        self.errors: list[tuple[int, int, Issue]] = []
        self.count = 0
        self._order = 0

    def add(self, code: str, rows: np.ndarray, message: Callable[[int], str]) -> None:
        """Record rows (positions) failing check ``code``; ``message(i)`` words one of them."""
        rows = np.flatnonzero(rows) if rows.dtype == bool else rows
        if not len(rows):
            return
        self._order += 1
        self.count += len(rows)
        for i in rows[: self.max]:
            line = self.c.line_of(int(i))
            self.errors.append((line, self._order, Issue(code, message(int(i)), self.c.source, line)))
        if len(rows) > self.max:
            more = len(rows) - self.max
            line = self.c.line_of(int(rows[self.max]))
            self.errors.append(
                (
                    line,
                    self._order,
                    Issue(
                        code,
                        f"... and {more} more like line {self.c.line_of(int(rows[0]))}",
                        self.c.source,
                        line,
                    ),
                )
            )

    def sorted(self) -> tuple[Issue, ...]:
        return tuple(i for _, _, i in sorted(self.errors, key=lambda e: (e[0], e[1])))


def validate_frame(candles: CandleFrame, *, max_examples: int = 5) -> ValidationReport:
    """Check one candle table: timestamps, grid, OHLC, signs, NaN, taker volumes, gaps."""
    f = candles.frame
    n = len(f)
    col = {c: f[c].to_numpy() for c in f.columns}
    errs = _Collector(candles, max_examples)
    warnings: list[Issue] = []

    def report(**fields: object) -> ValidationReport:
        return ValidationReport(
            source=candles.source,
            symbol=candles.symbol,
            interval=candles.interval,
            format=candles.format,
            rows=n,
            optional=candles.optional,
            **fields,  # type: ignore[arg-type]
        )

    if n == 0:
        issue = Issue("empty", "no candles", candles.source)
        return report(errors=(issue,), error_count=1)

    # values: NaN, signs, OHLC, taker volumes
    for c in (*PRICE_COLUMNS, "volume"):
        errs.add("nan", np.isnan(col[c]), lambda i, c=c: f"{c} is NaN")
    for c in candles.optional:
        errs.add("nan", np.isnan(col[c]), lambda i, c=c: f"{c} is NaN (other rows carry it)")
    for c in PRICE_COLUMNS:
        errs.add("negative", col[c] <= 0, lambda i, c=c: f"{c} must be > 0, got {_num(col[c][i])}")
    for c in ("volume", *OPTIONAL):
        errs.add("negative", col[c] < 0, lambda i, c=c: f"{c} must be >= 0, got {_num(col[c][i])}")
    errs.add("negative", col["open_time"] < 0, lambda i: f"open_time must be >= 0, got {col['open_time'][i]}")
    o, h, lo, cl = col["open"], col["high"], col["low"], col["close"]
    errs.add("ohlc", h < lo, lambda i: f"high {_num(h[i])} < low {_num(lo[i])}")
    for name, v in (("open", o), ("close", cl)):
        errs.add(
            "ohlc", (h >= lo) & (h < v), lambda i, name=name, v=v: f"high {_num(h[i])} < {name} {_num(v[i])}"
        )
        errs.add(
            "ohlc", (h >= lo) & (lo > v), lambda i, name=name, v=v: f"low {_num(lo[i])} > {name} {_num(v[i])}"
        )
    errs.add(
        "taker",
        col["taker_buy_base"] > col["volume"],
        lambda i: f"taker_buy_base {_num(col['taker_buy_base'][i])} > volume {_num(col['volume'][i])}",
    )
    errs.add(
        "taker",
        col["taker_buy_quote"] > col["quote_volume"],
        lambda i: (
            f"taker_buy_quote {_num(col['taker_buy_quote'][i])} > quote_volume {_num(col['quote_volume'][i])}"
        ),
    )

    # time order
    ot, ct = col["open_time"], col["close_time"]
    d = np.diff(ot)
    dup = np.flatnonzero(d == 0) + 1
    back = np.flatnonzero(d < 0) + 1
    errs.add(
        "duplicate",
        dup,
        lambda i: f"duplicate open_time {ot[i]} ({iso(int(ot[i]))}), also on line {candles.line_of(i - 1)}",
    )
    errs.add(
        "order",
        back,
        lambda i: (
            f"open_time {ot[i]} ({iso(int(ot[i]))}) is before the previous candle's {ot[i - 1]} (line {candles.line_of(i - 1)})"
        ),
    )
    errs.add("close_time", ct < ot, lambda i: f"close_time {ct[i]} is before open_time {ot[i]}")

    gaps: list[Gap] = []
    short = 0
    interval = candles.interval
    if interval is None:
        issue = Issue("interval", "cannot determine the interval; pass it explicitly", candles.source)
        errs.errors.append((0, 0, issue))
        errs.count += 1
    else:
        slots = slot_index(ot, interval)
        starts = slot_start(slots, interval)
        errs.add(
            "alignment",
            starts != ot,
            lambda i: f"open_time {ot[i]} ({iso(int(ot[i]))}) is not on the {interval} grid",
        )
        ends = slot_end(slots, interval)
        errs.add(
            "close_time",
            ct > ends,
            lambda i: f"close_time {ct[i]} is after the {interval} candle's end {ends[i]}",
        )
        short_rows = np.flatnonzero((ct >= ot) & (ct < ends))
        short = len(short_rows)
        if short:
            firsts = ", ".join(iso(int(ot[i])) for i in short_rows[:3])
            warnings.append(
                Issue(
                    "short_candle",
                    f"{short} candle(s) with close_time before open_time + interval - 1 (Binance reports "
                    f"the last trade time for candles cut short by a trading halt), first at {firsts}",
                    candles.source,
                    candles.line_of(int(short_rows[0])),
                )
            )
        step = np.diff(slots)
        for i in np.flatnonzero(step > 1):
            gaps.append(
                Gap(int(ot[i]), int(ot[i + 1]), int(step[i] - 1), candles.line_of(int(i + 1)), interval)
            )
        if gaps:
            largest = sorted(gaps, key=lambda g: -g.missing)[:5]
            warnings.append(
                Issue(
                    "gap",
                    f"{len(gaps)} gap(s), {sum(g.missing for g in gaps)} missing candle(s); largest "
                    f"(last candle before -> first after, missing): {', '.join(str(g) for g in largest)}",
                    candles.source,
                    gaps[0].line,
                )
            )
    prices = np.concatenate([lo, h])
    finite = prices[np.isfinite(prices)]
    return report(
        first_open_time=int(ot[0]),
        last_open_time=int(ot[-1]),
        gaps=tuple(gaps),
        errors=errs.sorted(),
        warnings=tuple(warnings),
        error_count=errs.count,
        short_candles=short,
        price_min=float(finite.min()) if len(finite) else None,
        price_max=float(finite.max()) if len(finite) else None,
    )


def validate_candles(
    source: str | os.PathLike[str] | CandleFrame,
    *,
    symbol: str | None = None,
    interval: str | None = None,
    max_examples: int = 5,
) -> ValidationReport:
    """Validate a file (any format :func:`~binance_bot.data.read_candles` reads) or a frame.

    A file that cannot even be parsed gives a failed report whose one error is the parse
    error, so a batch run over many files can report them all.
    """
    if isinstance(source, CandleFrame):
        return validate_frame(source, max_examples=max_examples)
    from binance_bot.data.readers import infer_symbol_interval, read_candles

    try:
        candles = read_candles(source, symbol=symbol, interval=interval, check=False)
    except DataError as exc:
        where = exc.path or str(source)
        message = exc.message
        prefix = f"{where}: line {exc.line}: " if exc.line is not None else f"{where}: "
        if message.startswith(prefix):
            message = message[len(prefix) :]
        issue = Issue("parse", message, where, exc.line)
        name_symbol, name_interval = infer_symbol_interval(source)
        return ValidationReport(
            source=where,
            symbol=symbol or name_symbol,
            interval=interval or name_interval,
            format=None,
            rows=0,
            errors=(issue,),
            error_count=1,
        )
    return validate_frame(candles, max_examples=max_examples)
