"""``binance-bot run``, ``stop``, ``kill``, ``reset-kill``: trade, and control a running bot.

``run`` with no keys paper-trades against the embedded simulator (synthetic market or
``--data``), accelerated by ``--speed``, until ``--duration`` passes or the data ends, then
prints and saves a summary. With testnet keys it trades the Binance testnet; live trading
needs ``mode: live`` and ``--i-understand-live-trading``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from binance_bot.cli.state import state_of
from binance_bot.config.redaction import redact
from binance_bot.monitoring.logs import setup_logging


def _split(text: str | None) -> list[str]:
    return [s.strip().upper() for s in text.split(",") if s.strip()] if text else []


def run(
    ctx: typer.Context,
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated symbols, e.g. BTCUSDT,ETHUSDT.")
    ] = None,
    data: Annotated[
        list[Path] | None, typer.Option(help="Candle files or folders to replay (paper mode).")
    ] = None,
    speed: Annotated[float, typer.Option(help="Paper mode: market seconds per wall second.")] = 60.0,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    strategy: Annotated[str | None, typer.Option(help="Strategy name (overrides the config).")] = None,
    interval: Annotated[str | None, typer.Option(help="Trading interval (overrides the config).")] = None,
    balances: Annotated[str, typer.Option(help="Paper mode starting balances.")] = "USDT=10000",
    seed: Annotated[int, typer.Option(help="Paper mode: seed of the synthetic market.")] = 0,
    force: Annotated[
        bool, typer.Option("--force", help="Start despite a state mismatch (trusts the exchange).")
    ] = False,
    i_understand_live_trading: Annotated[
        bool, typer.Option("--i-understand-live-trading", help="Required to trade real money (mode: live).")
    ] = False,
    dashboard: Annotated[
        bool, typer.Option("--dashboard", help="Serve the dashboard and print its URL.")
    ] = False,
    out: Annotated[Path, typer.Option(help="Folder for the run summary.")] = Path("reports"),
    live: Annotated[
        bool | None,
        typer.Option(
            "--live/--no-live", help="Live table of symbols and statistics (default: on a terminal)."
        ),
    ] = None,
) -> None:
    """Trade: paper on the embedded simulator without keys; testnet or live with keys."""
    extra: dict[str, dict[str, object]] = {"trading": {}}
    if strategy:
        extra["trading"]["strategy"] = strategy
    if interval:
        extra["trading"]["interval"] = interval
    if symbols:
        extra["trading"]["symbols"] = _split(symbols)
    from binance_bot.app import RunOptions, write_summary

    loaded = state_of(ctx).load(extra if extra["trading"] else None)
    config = loaded.config
    console = Console(stderr=True)
    show_live = console.is_terminal if live is None else live
    setup_logging(config.monitoring, rich_console=console)
    options = RunOptions(
        symbols=_split(symbols),
        data=list(data or []),
        speed=speed,
        duration_s=duration,
        balances=balances,
        seed=seed,
        force=force,
        live_confirmed=i_understand_live_trading,
    )
    summary = asyncio.run(_run(config, options, dashboard=dashboard, console=console if show_live else None))
    path = write_summary(summary, out)
    _print_summary(summary)
    Console().print(f"summary written to {path}")


async def _run(config: Any, options: Any, *, dashboard: bool, console: Console | None) -> dict[str, Any]:
    from binance_bot.app import Session, install_signal_handlers

    session = Session(config, options)
    async with session:
        install_signal_handlers(session)
        if dashboard:
            from binance_bot.monitoring.dashboard import start_dashboard

            await start_dashboard(session)
        if console is None:
            return await session.run()
        from rich.live import Live

        with Live(live_table(session), console=console, refresh_per_second=2, transient=True) as view:
            task = asyncio.create_task(session.run())
            while not task.done():
                await asyncio.wait({task}, timeout=0.5)
                view.update(live_table(session))
            return task.result()


def live_table(session: Any) -> Table:
    """Symbols with their last close, position and protection, under the run's statistics."""
    kernel = session.kernel
    stats = kernel.get_statistics() if kernel is not None else {}
    title = (
        f"{session.mode.value} | equity {stats.get('equity', '-')} | trades {stats.get('total_trades', 0)} "
        f"| win rate {stats.get('win_rate', '-')} | pnl {stats.get('total_pnl', '-')}"
    )
    table = Table(title=title, expand=False)
    for column in ("symbol", "bars", "close", "qty", "entry", "stop", "take profit", "uPnL", "signal"):
        table.add_column(column, justify="right" if column not in ("symbol", "signal") else "left")
    if kernel is None:
        return table
    for worker in kernel.workers.values():
        snap = worker.snapshot()
        pos = snap["position"] or {}
        signal = snap["signal"] or {}
        table.add_row(
            str(snap["symbol"]),
            str(snap["bars"]),
            str(snap["last_close"] or "-"),
            pos.get("qty", ""),
            pos.get("entry", ""),
            pos.get("stop", ""),
            pos.get("take_profit", ""),
            pos.get("unrealized_pnl", ""),
            "entry" if signal.get("entry") else ("exit" if signal.get("exit") else ""),
        )
    return table


def _print_summary(summary: dict[str, Any]) -> None:
    stats = summary["statistics"]
    table = Table(title=f"run {summary['run_id']} ({summary['mode']}, {summary['strategy']['name']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in (
        "total_trades",
        "wins",
        "losses",
        "win_rate",
        "total_pnl",
        "profit_factor",
        "max_drawdown",
        "exposure",
        "fees_paid",
        "equity",
        "open_positions",
    ):
        table.add_row(key, str(stats.get(key)))
    api = stats.get("api_metrics", {})
    table.add_row("cache_hit_rate", str(api.get("cache_hit_rate")))
    table.add_row("avg_request_time", str(api.get("avg_request_time")))
    Console().print(table)


def stop(ctx: typer.Context) -> None:
    """Ask the running bot to stop gracefully (no new entries; protection stays on the exchange)."""
    from binance_bot.app import STOP_FILE, write_control_file

    config = state_of(ctx).load().config
    path = write_control_file(config, STOP_FILE)
    Console().print(f"stop requested ({path})")


def kill(
    ctx: typer.Context,
    flatten: Annotated[
        bool, typer.Option("--flatten", help="Also cancel everything and sell all positions.")
    ] = False,
) -> None:
    """Trip the running bot's kill switch (no new entries until reset)."""
    from binance_bot.app import KILL_FILE, write_control_file

    config = state_of(ctx).load().config
    path = write_control_file(config, KILL_FILE, "flatten" if flatten else "kill")
    Console().print(f"kill switch requested{' with flatten' if flatten else ''} ({path})")


def reset_kill(ctx: typer.Context) -> None:
    """Clear a tripped kill switch recorded in the state store (a person's decision)."""
    from binance_bot.engine.kernel import KILL_SETTING
    from binance_bot.persistence import SqlStateStore

    config = state_of(ctx).load().config
    with SqlStateStore(config.storage.url) as store:
        reason = store.get_setting(KILL_SETTING)
        store.delete_settings([KILL_SETTING])
    Console().print(f"kill switch reset (was: {redact(reason) if reason else 'not tripped'})")


def status(ctx: typer.Context) -> None:
    """The last run recorded in the state store, with its open positions."""
    from binance_bot.persistence import SqlStateStore

    config = state_of(ctx).load().config
    with SqlStateStore(config.storage.url) as store:
        last = store.last_run()
        positions = {
            s: {"qty": str(p.qty), "entry": str(p.entry_price), "stop": str(p.stop_price)}
            for s, p in store.positions().items()
        }
    Console().print_json(
        json.dumps(
            {
                "last_run": last and {k: v for k, v in last.items() if k != "config_json"},
                "positions": positions,
            },
            default=str,
        )
    )
