"""Root of the ``binance-bot`` command line.

Exit codes: 0 ok, 2 usage or configuration error, 1 runtime error, 130 interrupted. A
:class:`~binance_bot.errors.BotError` prints one clear (redacted) line; ``--debug`` adds the
traceback, redacted too.
"""

from __future__ import annotations

import sys
import traceback
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from binance_bot import __version__
from binance_bot.cli import backtest_cmd, config_cmd, data_cmd, doctor, run_cmd, simulator_cmd
from binance_bot.cli.state import CliState
from binance_bot.config.redaction import redact
from binance_bot.errors import BotError

app = typer.Typer(
    name="binance-bot",
    help="An async, fast and safe Binance spot trading bot.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(data_cmd.app, name="data")
app.command("doctor")(doctor.doctor)
app.command("simulator")(simulator_cmd.simulator)
app.command("run")(run_cmd.run)
app.command("stop")(run_cmd.stop)
app.command("kill")(run_cmd.kill)
app.command("reset-kill")(run_cmd.reset_kill)
app.command("status")(run_cmd.status)
app.command("backtest")(backtest_cmd.backtest)
app.command("optimize")(backtest_cmd.optimize)

_debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"binance-bot {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML or JSON config file (default ./config.yaml).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key, e.g. --set trading.max_workers=4 (repeatable)."),
    ] = None,
    profile: Annotated[str | None, typer.Option(help="dev, test or prod.")] = None,
    log_level: Annotated[str | None, typer.Option(help="Overrides LOG_LEVEL.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (secrets redacted).")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    global _debug
    _debug = debug
    ctx.obj = CliState(
        config_path=config, set_pairs=list(set_ or []), profile=profile, log_level=log_level, debug=debug
    )


def _print_error(exc: BaseException) -> None:
    err = Console(stderr=True, soft_wrap=True)
    if _debug:
        text = "".join(traceback.format_exception(exc))
        err.print(redact(text), markup=False, highlight=False)
    for line in redact(str(exc) or type(exc).__name__).splitlines() or [type(exc).__name__]:
        err.print(f"error: {line}", markup=False, highlight=False, style="red")


def run(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app and map outcomes to exit codes."""
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    # Usage errors are formatted by typer itself and exit with 2 (standalone mode); only
    # our own and unexpected exceptions come through to here.
    try:
        app(args=argv, prog_name="binance-bot")
        code = 0
    except KeyboardInterrupt:
        code = 130
    except BotError as exc:
        _print_error(exc)
        code = exc.exit_code
    except Exception as exc:
        _print_error(exc)
        code = 1
    sys.exit(code)
