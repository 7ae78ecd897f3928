"""``binance-bot simulator``: run the local Binance-compatible exchange until stopped.

It prints the REST, stream and WebSocket API base URLs to point a client at, then serves
until SIGINT or SIGTERM, closing connections cleanly. Without ``--api-key`` a key and
secret are generated for this run and printed, since they exist nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from binance_bot.data.synthetic import parse_start
from binance_bot.errors import ConfigError
from binance_bot.matching import MatchingSettings
from binance_bot.model import SymbolRules
from binance_bot.model.numbers import to_decimal
from binance_bot.simulator import (
    AccountSpec,
    FaultSettings,
    MarketSpec,
    Simulator,
    SimulatorConfig,
    load_faults,
    parse_balances,
)


def _rules_file(path: Path) -> dict[str, SymbolRules]:
    """Symbol rules from a saved ``exchangeInfo`` response (Binance's own filters)."""
    from binance_bot.exchange.binance import wire

    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read exchangeInfo JSON: {exc}", source=str(path)) from None
    try:
        return dict(wire.parse_exchange_info(payload).symbols)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}", source=str(path)) from None


def _number(text: str, option: str) -> Decimal:
    try:
        return to_decimal(text, field=option)
    except ValueError as exc:
        raise ConfigError(str(exc), key=option) from None


def build_config(
    *,
    data: list[Path] | None,
    synthetic: bool,
    symbols: str | None,
    interval: str,
    speed: float | None,
    host: str,
    port: int,
    api_key: str,
    api_secret: str,
    balances: str,
    faults: Path | None,
    seed: int,
    start: str | None,
    warmup_bars: int,
    enable_withdrawals: bool,
    slippage_bps: str,
    maker_fee: str,
    taker_fee: str,
    rules: Path | None,
    ed25519_public_key: Path | None = None,
) -> SimulatorConfig:
    if synthetic and data:
        raise ConfigError("--data and --synthetic exclude each other", key="data")
    names = tuple(s.strip().upper() for s in symbols.split(",")) if symbols else ()
    market = MarketSpec(
        symbols=names,
        interval=interval,
        data=tuple(data or ()),
        seed=seed,
        start_ms=parse_start(start) if start else None,
        warmup_bars=warmup_bars,
        rules=_rules_file(rules) if rules else {},
    )
    pem = None
    if ed25519_public_key is not None:
        try:
            pem = ed25519_public_key.read_text()
        except OSError as exc:
            raise ConfigError(
                f"{ed25519_public_key}: cannot read: {exc.strerror}", key="--ed25519-public-key"
            ) from None
    account = AccountSpec(
        api_key=api_key,
        api_secret=api_secret,
        balances=parse_balances(balances),
        ed25519_public_key=pem,
        enable_withdrawals=enable_withdrawals,
    )
    return SimulatorConfig(
        market=market,
        accounts=(account,),
        speed=speed,
        host=host,
        port=port,
        matching=MatchingSettings(
            slippage_bps=_number(slippage_bps, "--slippage-bps"),
            maker_fee=_number(maker_fee, "--maker-fee"),
            taker_fee=_number(taker_fee, "--taker-fee"),
        ),
        faults=load_faults(faults) if faults else FaultSettings(),
    )


async def _run(config: SimulatorConfig, *, show_secret: bool) -> None:
    sim = Simulator(config)
    urls = await sim.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, lambda: loop.create_task(sim.stop()))
    market = sim.core.market
    source = (
        ", ".join(str(p) for p in config.market.data)
        if config.market.data
        else f"synthetic, seed {config.market.seed}"
    )
    clock = "stepped (POST /admin/advance)" if config.stepped else f"{config.speed:g}x"
    account = config.accounts[0]
    lines = [
        f"binance-bot simulator: {', '.join(market.symbols)} at {market.interval} from {source}; clock {clock}",
        f"REST     {urls.rest}",
        f"streams  {urls.stream}/ws/<stream>  {urls.stream}/stream?streams=<a>/<b>",
        f"WS API   {urls.ws_api}",
        f"admin    {urls.admin}/status",
        f"API key  {account.api_key}",
    ]
    if show_secret:
        lines.append(f"secret   {account.api_secret}")
    lines.append("Ctrl-C stops it.")
    typer.echo("\n".join(lines))
    try:
        await sim.serve_forever()
    finally:
        await sim.stop()
        typer.echo("simulator stopped")


def simulator(
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data", help="Candle files or folders (Binance CSV/zip, JSON, Parquet, a candle store)."
        ),
    ] = None,
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="The seeded synthetic market (the default).")
    ] = False,
    symbols: Annotated[
        str | None,
        typer.Option(help="Comma-separated symbols; default every symbol in --data, or BTCUSDT,ETHUSDT."),
    ] = None,
    interval: Annotated[str, typer.Option(help="Base candle interval replayed.")] = "1m",
    speed: Annotated[
        float, typer.Option(min=0.0, help="Market seconds per wall second (1 = real time).")
    ] = 1.0,
    stepped: Annotated[
        bool, typer.Option("--stepped", help="Time moves only through POST /admin/advance.")
    ] = False,
    host: Annotated[str, typer.Option(help="Bind address; keep it on loopback.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="0 picks a free port.")] = 8900,
    api_key: Annotated[str | None, typer.Option(help="Account API key (generated when absent).")] = None,
    api_secret: Annotated[
        str | None, typer.Option(help="Account HMAC secret (generated when absent).")
    ] = None,
    balances: Annotated[str, typer.Option(help="Starting balances, e.g. USDT=10000,BTC=0.5.")] = "USDT=10000",
    faults: Annotated[
        Path | None, typer.Option(help="YAML/JSON fault settings (see docs/simulator.md).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic market.")] = 0,
    start: Annotated[str | None, typer.Option(help="Market start (UTC date or ISO time).")] = None,
    warmup_bars: Annotated[int, typer.Option(min=0, help="History served before the start.")] = 1000,
    enable_withdrawals: Annotated[
        bool,
        typer.Option("--enable-withdrawals", help="Report the key as withdrawal-enabled (apiRestrictions)."),
    ] = False,
    slippage_bps: Annotated[str, typer.Option(help="Taker slippage of the fill model.")] = "5",
    maker_fee: Annotated[str, typer.Option(help="Maker commission rate.")] = "0.001",
    taker_fee: Annotated[str, typer.Option(help="Taker commission rate.")] = "0.001",
    rules: Annotated[Path | None, typer.Option(help="Symbol filters from a saved exchangeInfo JSON.")] = None,
    ed25519_public_key: Annotated[
        Path | None, typer.Option(help="PEM public key: the account also accepts Ed25519 signatures.")
    ] = None,
) -> None:
    """Run the local Binance-compatible exchange (REST, streams, WebSocket API) until stopped."""
    generated = api_secret is None
    config = build_config(
        data=data,
        synthetic=synthetic,
        symbols=symbols,
        interval=interval,
        speed=None if stepped or speed == 0 else speed,
        host=host,
        port=port,
        api_key=api_key or secrets.token_hex(32),
        api_secret=api_secret or secrets.token_hex(32),
        balances=balances,
        faults=faults,
        seed=seed,
        start=start,
        warmup_bars=warmup_bars,
        enable_withdrawals=enable_withdrawals,
        slippage_bps=slippage_bps,
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        rules=rules,
        ed25519_public_key=ed25519_public_key,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(config, show_secret=generated))
