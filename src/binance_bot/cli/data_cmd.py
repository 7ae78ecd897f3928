"""``binance-bot data validate|generate``: check candle files, write synthetic ones.

Exit codes follow the CLI's rule: 0 when every file passes, 2 when any file fails (or the
arguments are wrong), 1 when something unexpected breaks.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from binance_bot.data.frame import CandleFrame
from binance_bot.data.synthetic import SyntheticMarket, parse_start, split_symbol
from binance_bot.data.validation import ValidationReport, iso, validate_candles
from binance_bot.data.writers import normalized_name, write_candles_csv
from binance_bot.model.intervals import INTERVAL_MS

app = typer.Typer(help="Validate and generate candle files.", no_args_is_help=True)

CANDLE_SUFFIXES = (".csv", ".csv.gz", ".zip", ".json", ".parquet")
_DAY_MS = 86_400_000


def candle_files(paths: list[Path]) -> list[Path]:
    """The given files, plus every candle file under the given directories (recursively)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.name.lower().endswith(CANDLE_SUFFIXES)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ]
            out.extend(sorted(found))
        else:
            out.append(path)
    return out


def _span(report: ValidationReport) -> str:
    if report.first_open_time is None or report.last_open_time is None:
        return "-"
    return f"{iso(report.first_open_time)} .. {iso(report.last_open_time)}"


def _table(reports: list[ValidationReport]) -> Table:
    table = Table(title="candle files")
    table.add_column("file", overflow="fold")
    table.add_column("status")
    table.add_column("interval")
    table.add_column("rows", justify="right")
    table.add_column("span")
    table.add_column("gaps", justify="right")
    table.add_column("missing", justify="right")
    table.add_column("warnings", justify="right")
    table.add_column("errors", justify="right")
    for r in reports:
        table.add_row(
            Text(r.source),
            "[green]OK[/green]" if r.ok else "[red]FAIL[/red]",
            r.interval or "?",
            f"{r.rows:,}",
            _span(r),
            str(len(r.gaps)),
            f"{r.missing:,}",
            str(len(r.warnings)),
            str(r.error_count),
        )
    return table


@app.command("validate")
def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(exists=True, help="Candle files or directories (searched recursively)."),
    ],
    max_issues: Annotated[int, typer.Option(min=1, help="Examples shown per kind of error.")] = 5,
) -> None:
    """Check candle files: order, grid, OHLC, NaN, signs; report gaps and halted candles."""
    out = Console(soft_wrap=True)
    try:
        files = candle_files(paths)
        if not files:
            out.print("no candle files found", style="red", markup=False)
            raise typer.Exit(2)
        reports = [validate_candles(f, max_examples=max_issues) for f in files]
        out.print(_table(reports))
        for r in reports:
            for issue in r.errors:
                out.print(f"error: {issue}", style="red", markup=False, highlight=False)
            for issue in r.warnings:
                out.print(f"warning: {issue}", style="yellow", markup=False, highlight=False)
        failed = sum(not r.ok for r in reports)
        out.print(f"{len(reports)} file(s): {len(reports) - failed} passed, {failed} failed", markup=False)
        code = 2 if failed else 0
    except typer.Exit:
        raise
    except Exception as exc:
        err = Console(stderr=True, soft_wrap=True)
        err.print(f"error: {type(exc).__name__}: {exc}", style="red", markup=False, highlight=False)
        err.print(traceback.format_exc(), markup=False, highlight=False, style="dim")
        raise typer.Exit(1) from exc
    raise typer.Exit(code)


def _symbols(text: str) -> list[str]:
    symbols = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not symbols:
        raise typer.BadParameter("give at least one symbol, e.g. BTCUSDT,ETHUSDT", param_hint="--symbols")
    for s in symbols:
        try:
            split_symbol(s)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--symbols") from exc
    return symbols


@app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory for SYMBOL-INTERVAL.csv.gz files.")],
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols.")] = "BTCUSDT,ETHUSDT",
    interval: Annotated[str, typer.Option(help="Candle interval, 1m or longer (fixed length).")] = "1m",
    days: Annotated[float, typer.Option(min=0.0, help="Length of the history in days.")] = 30.0,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same candles.")] = 0,
    start: Annotated[str, typer.Option(help="First open time (UTC), e.g. 2024-01-01.")] = "2024-01-01",
) -> None:
    """Write seeded synthetic candles in the shared folder's normalized .csv.gz layout."""
    names = _symbols(symbols)
    if interval not in INTERVAL_MS or interval == "1s":
        raise typer.BadParameter(
            f"expected a fixed interval of 1m or longer, got {interval!r}", param_hint="--interval"
        )
    try:
        start_ms = parse_start(start)
    except ValueError as exc:
        raise typer.BadParameter(f"not a date or ISO time: {start!r}", param_hint="--start") from exc
    step = INTERVAL_MS[interval]
    count = int(days * _DAY_MS) // step
    if count < 1:
        raise typer.BadParameter(f"{days} day(s) hold no {interval} candle", param_hint="--days")
    try:
        markets = [SyntheticMarket(s, interval, seed=seed, origin_ms=start_ms) for s in names]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--start") from exc
    console = Console(soft_wrap=True)
    chunk = max(1, _DAY_MS // step)
    written: list[tuple[Path, int]] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        for market in markets:
            task = progress.add_task(f"{market.symbol} {interval}", total=count)
            parts: list[CandleFrame] = []
            while market.position < count:
                part = market.next_frame(min(chunk, count - market.position))
                parts.append(part)
                progress.advance(task, len(part))
            frame = pd.concat([p.frame for p in parts], ignore_index=True)
            candles = CandleFrame(
                frame=frame,
                symbol=market.symbol,
                interval=interval,
                source=parts[0].source,
                format="synthetic",
                lines=np.arange(1, len(frame) + 1, dtype=np.int64),
                optional=parts[0].optional,
            )
            path = write_candles_csv(candles, out / normalized_name(market.symbol, interval))
            written.append((path, len(frame)))
    for path, rows in written:
        console.print(f"wrote {path} ({rows:,} candles)", markup=False, highlight=False)


@app.command("download")
def download(
    ctx: typer.Context,
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols, e.g. BTCUSDT,ETHUSDT.")],
    interval: Annotated[str, typer.Option(help="Kline interval, e.g. 1m, 1h, 1d.")] = "1h",
    start: Annotated[str, typer.Option(help="First open time (UTC), e.g. 2024-01-01.")] = "2024-01-01",
    end: Annotated[str | None, typer.Option(help="Stop before this time (UTC); default: now.")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Parquet cache; default data.cache_dir.")] = None,
) -> None:
    """Download klines into the Parquet cache, resuming where it ends (live, testnet or simulator)."""
    import asyncio

    from binance_bot.cli.state import state_of
    from binance_bot.exchange.binance.download import run_download
    from binance_bot.model.intervals import is_valid_interval

    names = _symbols(symbols)
    if not is_valid_interval(interval):
        raise typer.BadParameter(f"unknown interval {interval!r}", param_hint="--interval")
    try:
        start_ms = parse_start(start)
        end_ms = parse_start(end) if end else None
    except ValueError as exc:
        raise typer.BadParameter(f"not a date or ISO time: {exc}", param_hint="--start/--end") from exc
    config = state_of(ctx).load().config
    console = Console(soft_wrap=True)
    results = asyncio.run(
        run_download(config, names, interval, start_ms, end_ms, cache_dir=cache_dir, console=console)
    )
    for r in results:
        span = f"{iso(r.first_open_time)} .. {iso(r.last_open_time)}" if r.last_open_time is not None else "-"
        console.print(
            f"{r.symbol} {r.interval}: {r.added:,} new candles in {r.requests} requests; cache {span}"
            + (f" ({r.path})" if r.path else ""),
            markup=False,
            highlight=False,
        )
