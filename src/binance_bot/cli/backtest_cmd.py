"""``binance-bot backtest`` and ``binance-bot optimize``: research runs on recorded or synthetic candles.

Both use the bot's configuration (``--config``, ``--set``) for sizing, stops and risk limits,
and the fill model's fees and slippage, so a result says what this configuration would have
done. Heavy modules (torch, numba, plotly) are imported inside the commands: ``--help`` stays
instant.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from binance_bot.cli.state import state_of

if TYPE_CHECKING:
    from rich.console import Console

    from binance_bot.config import BotConfig

DEFAULT_TREND = {
    "1m": "5m",
    "3m": "15m",
    "5m": "30m",
    "15m": "1h",
    "30m": "2h",
    "1h": "4h",
    "2h": "8h",
    "4h": "1d",
    "6h": "1d",
    "8h": "1d",
    "12h": "3d",
    "1d": "1w",
}


def _command_line() -> str:
    return "binance-bot " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _symbols(text: str) -> list[str]:
    out = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not out:
        raise typer.BadParameter("no symbol given", param_hint="--symbols")
    return out


def _params(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected name=value, got {part!r}", param_hint="--params")
        out[key.strip()] = value.strip()
    return out


def _time(text: str | None, flag: str) -> int | None:
    if text is None:
        return None
    from binance_bot.data.synthetic import parse_start

    try:
        return parse_start(text)
    except ValueError:
        raise typer.BadParameter(
            f"not a date: {text!r} (use 2023-01-01 or 2023-01-01T12:00:00Z)", param_hint=flag
        ) from None


def _config(
    ctx: typer.Context,
    console: Console,
    *,
    strategy: str | None,
    params: dict[str, str] | None,
    interval: str | None,
    trend_interval: str | None,
) -> BotConfig:
    """The layered configuration with this command's flags on top; a trend interval that does
    not fit the trading interval is replaced by the usual one, and the console says so."""
    from binance_bot.config import load_config
    from binance_bot.model.intervals import interval_ms

    state = state_of(ctx)
    trading: dict[str, Any] = {}
    if strategy:
        trading["strategy"] = strategy
    if params:
        trading["strategy_params"] = params
    if interval:
        trading["interval"] = interval
    if trend_interval:
        trading["trend_interval"] = trend_interval
    elif interval:
        base = load_config(state.config_path, overrides=state.overrides()).config.trading
        fits = interval_ms(base.trend_interval) % interval_ms(interval) == 0 and interval_ms(
            base.trend_interval
        ) > interval_ms(interval)
        if not fits and interval in DEFAULT_TREND:
            trading["trend_interval"] = DEFAULT_TREND[interval]
            console.print(
                f"[dim]trend interval {base.trend_interval} does not fit {interval}: using "
                f"{DEFAULT_TREND[interval]} (set --trend-interval to choose)[/dim]"
            )
    return state.load({"trading": trading} if trading else None).config


def _out_dir(out: Path | None, kind: str, name: str) -> Path:
    folder = out or Path("reports") / f"{kind}-{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def backtest(
    ctx: typer.Context,
    strategy: Annotated[str | None, typer.Option(help="Strategy name (default: the config's).")] = None,
    params: Annotated[str | None, typer.Option(help="Strategy parameters, e.g. fast=10,slow=50.")] = None,
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols.")] = "BTCUSDT",
    interval: Annotated[str | None, typer.Option(help="Trading interval (default: the config's).")] = None,
    trend_interval: Annotated[str | None, typer.Option(help="Higher timeframe for trend strategies.")] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Folder of candle files (SYMBOL-INTERVAL.csv.gz); none: synthetic market."),
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="First bar to trade (UTC date or time).")
    ] = None,
    to: Annotated[str | None, typer.Option(help="End of the window (exclusive).")] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            help="fast (compiled) or replay (the engine kernel); local = fast; spark = fast, one Spark "
            "task per symbol (default: spark when performance.use_spark, else fast)."
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            help="Spark master for --engine spark, e.g. local[2] or spark://host:7077 "
            "(default: performance.spark_master)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for result.json and report.html.")] = None,
    capital: Annotated[str, typer.Option(help="Quote asset per symbol account.")] = "10000",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic market (without --data).")] = 0,
    warmup: Annotated[int | None, typer.Option(help="History bars before --from (default: as live).")] = None,
    html: Annotated[bool, typer.Option("--html/--no-html", help="Write the HTML report.")] = True,
) -> None:
    """Backtest a strategy: summary table, JSON result and an offline HTML report."""
    from decimal import Decimal

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from binance_bot.backtest.data import resolve, warmup_bars
    from binance_bot.backtest.run import backtest as run_backtest
    from binance_bot.backtest.spec import BacktestSpec
    from binance_bot.strategy import make_strategy

    console = Console()
    config = _config(
        ctx,
        console,
        strategy=strategy,
        params=_params(params),
        interval=interval,
        trend_interval=trend_interval,
    )
    trading = config.trading
    from binance_bot.distributed.engines import engine_name

    engine = engine_name(engine, config)
    if engine == "local":  # this machine: the fast engine
        engine = "fast"
    strat = make_strategy(trading.strategy, trading.strategy_params)
    spec = BacktestSpec(config, capital=Decimal(capital))
    bars = warmup if warmup is not None else warmup_bars(strat, config)
    start, end = _time(from_, "--from"), _time(to, "--to")
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        load = progress.add_task("loading candles", total=len(_symbols(symbols)))
        datas, refs = [], []
        for symbol in _symbols(symbols):
            ref = resolve(symbol, trading.interval, data, start_ms=start, end_ms=end, warmup=bars, seed=seed)
            datas.append(ref.load())
            refs.append(ref)
            progress.advance(load)
        task = progress.add_task(f"{engine} backtest", total=None)

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if engine == "spark":
            from binance_bot.distributed.engines import master_of, spark_backtest

            result = spark_backtest(refs, strat, spec, master=master_of(spark_master, config), datas=datas)
        else:
            result = run_backtest(datas, strat, spec, engine=engine, progress=report)
    _print_backtest(console, result)
    folder = _out_dir(out, "backtest", strat.name)
    payload = result.to_dict()
    payload["command"] = _command_line()
    (folder / "result.json").write_text(json.dumps(payload, indent=2))
    console.print(f"result: {folder / 'result.json'}")
    if html:
        from binance_bot.backtest.report import backtest_report

        (folder / "report.html").write_text(backtest_report(result, command=_command_line()))
        console.print(f"report: {folder / 'report.html'}")


def _print_backtest(console: Console, result: Any) -> None:
    from rich.table import Table

    from binance_bot.backtest.report import METRIC_ROWS, fmt_value

    metrics = result.metrics()
    table = Table(title=f"{result.strategy} {result.params} ({result.engine} engine, {result.interval})")
    table.add_column("metric")
    for name in metrics:
        table.add_column(name, justify="right")
    for key, kind in METRIC_ROWS:
        table.add_row(key, *(fmt_value(getattr(m, key), kind) for m in metrics.values()))
    console.print(table)
    for r in result.runs:
        for note in r.notes:
            console.print(f"[yellow]{r.symbol}: {note}[/yellow]")
        if r.kill is not None:
            console.print(f"[red]{r.symbol}: kill switch tripped: {r.kill.reason}[/red]")


def optimize(
    ctx: typer.Context,
    grid: Annotated[str, typer.Option(help="Ranges, e.g. fast=5:50:5,slow=20:200:20 (or fast=5|8|13).")],
    strategy: Annotated[str, typer.Option(help="Strategy name.")] = "sma_cross",
    method: Annotated[str, typer.Option(help="grid, random or optuna.")] = "grid",
    objective: Annotated[
        str, typer.Option(help="Metric to maximise in sample (sharpe, calmar, ...).")
    ] = "sharpe",
    engine: Annotated[
        str | None,
        typer.Option(
            help="local: a process pool on this machine; spark: a Spark job on --spark-master "
            "(default: spark when performance.use_spark, else local)."
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            help="Spark master for --engine spark, e.g. local[2] or spark://host:7077 "
            "(default: performance.spark_master)."
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: every core).")] = None,
    split: Annotated[
        str, typer.Option(help="Train/test cut: the in-sample fraction (0.7) or a date (2023-01-01).")
    ] = "0.7",
    walk_forward: Annotated[
        int | None, typer.Option(help="Anchored walk-forward with N folds (instead of --split).")
    ] = None,
    trials: Annotated[int, typer.Option(help="random/optuna: parameter sets to evaluate.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of random/optuna and of the synthetic market.")] = 0,
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols.")] = "BTCUSDT",
    interval: Annotated[str | None, typer.Option(help="Trading interval (default: the config's).")] = None,
    trend_interval: Annotated[str | None, typer.Option(help="Higher timeframe for trend strategies.")] = None,
    data: Annotated[Path | None, typer.Option(help="Folder of candle files; none: synthetic market.")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Start of the period (UTC).")] = None,
    to: Annotated[str | None, typer.Option(help="End of the period (exclusive).")] = None,
    capital: Annotated[str, typer.Option(help="Quote asset per symbol account.")] = "10000",
    top: Annotated[int, typer.Option(help="Rows of the ranked table.")] = 20,
    out: Annotated[Path | None, typer.Option(help="Folder for result.json and report.html.")] = None,
) -> None:
    """Optimise parameters in sample and report them out of sample: ranked table and heatmap."""
    from decimal import Decimal

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from binance_bot.backtest.data import resolve, warmup_bars
    from binance_bot.backtest.optimize import grid_points, parse_grid
    from binance_bot.backtest.optimize import optimize as run_optimize
    from binance_bot.backtest.run import json_safe
    from binance_bot.backtest.spec import BacktestSpec
    from binance_bot.errors import ConfigError
    from binance_bot.strategy import strategy_class

    console = Console()
    config = _config(
        ctx, console, strategy=strategy, params=None, interval=interval, trend_interval=trend_interval
    )
    from binance_bot.distributed.engines import SWEEP_ENGINES, engine_name, master_of, sweep_engine

    engine = engine_name(engine, config)
    if engine not in SWEEP_ENGINES:
        raise ConfigError(f"--engine must be local or spark, got {engine!r}", key="engine")
    parsed = parse_grid(grid)
    cls = strategy_class(strategy)
    # the longest warm-up any grid point needs: the largest value of every parameter
    widest = {k: max(v) for k, v in parsed.items()}
    try:
        probe = cls.from_dict(widest)
        bars = warmup_bars(probe, config)
    except ConfigError:
        bars = 1000
    start, end = _time(from_, "--from"), _time(to, "--to")
    split_at = _time(split, "--split") if "-" in split else None
    try:
        fraction = None if split_at is not None else float(split)
    except ValueError:
        raise typer.BadParameter(f"not a fraction or a date: {split!r}", param_hint="--split") from None
    refs = [
        resolve(s, config.trading.interval, data, start_ms=start, end_ms=end, warmup=bars, seed=seed)
        for s in _symbols(symbols)
    ]
    first, last = start, end
    if start is None or end is None:  # the period the files cover (with both given, no candle is read here)
        loaded = [r.load() for r in refs]
        first = max(int(d.open_time[d.trade_from]) for d in loaded)
        last = min(int(d.close_time[d.trade_to - 1]) + 1 for d in loaded)
    size = len(grid_points(parsed)) if method == "grid" else trials
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
        sweep_engine(engine, workers, master_of(spark_master, config)) as runner,
    ):
        task = progress.add_task(f"{method} search", total=size * len(refs))
        result = run_optimize(
            strategy,
            refs,
            parsed,
            start_ms=start if start is not None else first,
            end_ms=end if end is not None else last,
            spec=BacktestSpec(config, capital=Decimal(capital)),
            method=method,
            objective=objective,
            split=fraction,
            split_at=split_at,
            walk_forward=walk_forward,
            trials=trials,
            seed=seed,
            engine=runner,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    _print_optimize(console, result, top)
    folder = _out_dir(out, "optimize", strategy)
    payload = {
        "command": _command_line(),
        "strategy": result.strategy,
        "method": result.method,
        "objective": result.objective,
        "symbols": result.symbols,
        "grid": result.grid,
        "windows": [{"name": w.name, "start": w.start_ms, "end": w.end_ms} for w in result.windows],
        "evaluated": result.evaluated,
        "refused_by_strategy": result.invalid,
        "folds": [
            {
                "fold": f.name,
                "params": f.best.params,
                "in_sample": f.best.metrics.get(f.in_window.name),
                "out_of_sample": f.best.metrics.get(f.out_window.name),
            }
            for f in result.folds
        ],
        "chained_out_of_sample": result.chained_out_of_sample(),
        "ranked": [
            {"params": c.params, "metrics": c.metrics, "replayed": c.replayed} for c in result.ranked()
        ],
    }
    (folder / "result.json").write_text(json.dumps(json_safe(payload), indent=2, default=str))
    from binance_bot.backtest.report import optimize_report

    (folder / "report.html").write_text(optimize_report(result, top=max(top, 50), command=_command_line()))
    console.print(f"result: {folder / 'result.json'}\nreport: {folder / 'report.html'}")


def _short(window: str) -> str:
    if window == "in_sample":
        return "IS"
    if window == "out_of_sample":
        return "OOS"
    return window.replace(":in", " IS").replace(":out", " OOS")


def _print_optimize(console: Console, result: Any, top: int) -> None:
    from rich.table import Table

    from binance_bot.backtest.report import fmt_value

    names = list(result.grid)
    ranking = result.ranking_window
    others = [w.name for w in result.windows if w.name != ranking]
    beside = "out_of_sample" if "out_of_sample" in others else (others[-1] if others else None)
    pct = result.objective in ("total_return", "cagr", "win_rate")
    table = Table(title=f"{result.strategy}: top {top} by {result.objective} in {_short(ranking)}")
    for n in names:
        table.add_column(n, justify="right")
    cols = [(ranking, result.objective), (ranking, "total_return"), (ranking, "trades")]
    if beside is not None:
        cols += [
            (beside, result.objective),
            (beside, "total_return"),
            (beside, "win_rate"),
            (beside, "max_drawdown"),
            (beside, "trades"),
        ]
    labels = {"total_return": "ret", "win_rate": "win", "max_drawdown": "dd"}
    for w, key in cols:
        table.add_column(f"{_short(w)} {labels.get(key, key)}", justify="right")
    kinds = {"total_return": "pct", "win_rate": "pct", "max_drawdown": "pct", "trades": "int"}
    for c in result.ranked()[:top]:
        row = [str(c.params.get(n)) for n in names]
        for w, key in cols:
            kind = kinds.get(key, "pct" if (key == result.objective and pct) else "num")
            row.append(fmt_value(c.metrics.get(w, {}).get(key), kind))
        table.add_row(*row)
    console.print(table)
    console.print(
        f"{result.evaluated} parameter sets evaluated, {result.invalid} refused by the strategy; "
        f"chosen on {_short(ranking)} only"
    )
    if result.folds:
        folds = Table(title="walk-forward: chosen in sample, scored out of sample")
        for col in ("fold", "chosen", "IS", "OOS", "OOS return"):
            folds.add_column(col)
        for f in result.folds:
            folds.add_row(
                f.name,
                str(f.best.params),
                fmt_value(f.best.metrics.get(f.in_window.name, {}).get(result.objective), "num"),
                fmt_value(f.best.metrics.get(f.out_window.name, {}).get(result.objective), "num"),
                fmt_value(f.best.metrics.get(f.out_window.name, {}).get("total_return"), "pct"),
            )
        console.print(folds)
        chained = result.chained_out_of_sample().get("total_return")
        console.print(f"chained out-of-sample return: {fmt_value(chained, 'pct')}")
