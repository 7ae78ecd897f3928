"""Secret hygiene: the API key and secret never appear in an exception, an error line or a
warning, whatever goes wrong; a configuration file holding a secret that others can read is
warned about.

The campaigns (``test_kill9``, ``test_soak``) run the bot with marker credentials and search
every file it wrote (logs, output, reports, the SQLite database and its WAL, the
dashboard's pages); here the exceptions themselves are provoked one by one against the
simulator: a bad signature, an unknown key, timeouts, 5xx, 429, a refused order, broken
configuration files, and the command line with ``--debug`` tracebacks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration.conftest import SimulatorFactory
from tests.integration.reliability.campaign import MARKER_KEY, MARKER_SECRET, REPO

from binance_bot.config import load_config
from binance_bot.errors import BotError, ConfigError
from binance_bot.exchange import BinanceConnector
from binance_bot.exchange.binance import RestSettings
from binance_bot.model import OrderRequest, OrderType, Side, TimeInForce
from binance_bot.simulator import AccountSpec

MARKERS = (MARKER_KEY, MARKER_SECRET)
FAST = RestSettings(
    timeout_seconds=0.5,
    backoff_base=0.01,
    backoff_max=0.05,
    max_retries=1,
    cache_enabled=False,
    max_retry_after=1.0,
)


def texts_of(exc: BaseException) -> list[str]:
    """Everything an exception shows: str, repr, args, attributes, the traceback, and the
    exceptions chained to it the way Python prints them (``raise ... from None`` hides the
    context from every traceback, so it is not followed)."""
    out = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    out += [repr(a) for a in exc.args]
    out += [repr(v) for v in vars(exc).values()] if hasattr(exc, "__dict__") else []
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return out + (texts_of(cause) if cause is not None and cause is not exc else [])


def assert_clean(texts: list[str]) -> None:
    for text in texts:
        for marker in MARKERS:
            assert marker not in text, f"{marker!r} leaked into: {text[:300]}"


async def provoke(coro: Any) -> BaseException:
    try:
        await coro
    except Exception as exc:
        return exc
    raise AssertionError("the call succeeded; it was meant to fail")


async def test_exchange_errors_never_carry_the_key_or_the_secret(simulator_factory: SimulatorFactory) -> None:
    sim = await simulator_factory(accounts=(AccountSpec(MARKER_KEY, MARKER_SECRET, {"USDT": Decimal(1000)}),))
    caught: list[BaseException] = []

    def connect(key: str, secret: str) -> BinanceConnector:
        return BinanceConnector(
            key,
            secret,
            base_url=sim.rest_url,
            stream_url=sim.stream_url,
            ws_api_url=sim.ws_api_url,
            settings=FAST,
        )

    # a signature made with another secret (which contains the real one), and an unknown key
    for key, secret in ((MARKER_KEY, MARKER_SECRET + "-other"), (MARKER_KEY + "-other", MARKER_SECRET)):
        async with connect(key, secret) as wrong:
            caught.append(await provoke(wrong.exchange.balances()))
    async with connect(MARKER_KEY, MARKER_SECRET) as good:
        exchange = good.exchange
        order = OrderRequest(
            "BTCUSDT",
            Side.BUY,
            OrderType.LIMIT,
            "secrets-1",
            Decimal("0.00000001"),
            Decimal(1),
            None,
            TimeInForce.GTC,
        )
        caught.append(await provoke(exchange.place_order(order)))  # refused by a filter
        sim.set_faults(latency_ms=2000.0)  # past the client's timeout
        caught.append(await provoke(exchange.balances()))
        sim.set_faults(latency_ms=0.0, server_error_rate=1.0, server_error_phase="before")
        caught.append(await provoke(exchange.balances()))
        caught.append(await provoke(exchange.place_order(order)))
        sim.clear_faults()
        sim.core.faults.force_burst(5.0)
        caught.append(await provoke(exchange.balances()))
        sim.clear_faults()
    assert all(isinstance(e, BotError) for e in caught), [type(e).__name__ for e in caught]
    for exc in caught:
        assert_clean(texts_of(exc))


def _config(tmp: Path, name: str, data: dict[str, Any], mode: int = 0o600) -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(data))
    path.chmod(mode)
    return path


BROKEN_CONFIGS: list[dict[str, Any]] = [
    {"api": {"api_key": MARKER_KEY, "api_secret": MARKER_SECRET}, "trading": {"max_workers": "ten"}},
    {"api": {"api_key": MARKER_KEY, "api_secret": [MARKER_SECRET]}},
    {"api": {"api_key": {"k": MARKER_KEY}, "api_secret": MARKER_SECRET}},
    {"api": {"api_key": MARKER_KEY, "api_secrte": MARKER_SECRET}},
    {"api": {"api_key": MARKER_KEY, "api_secret": MARKER_SECRET}, MARKER_SECRET: 1},
    {"api": {"api_key": MARKER_KEY, "api_secret": MARKER_SECRET, "recv_window_ms": MARKER_SECRET}},
    {"api": {"api_key": MARKER_KEY, "api_secret": MARKER_SECRET, "testnet": False}},
]


@pytest.mark.parametrize("data", BROKEN_CONFIGS, ids=range(len(BROKEN_CONFIGS)))
def test_configuration_errors_never_carry_the_secret(tmp_path: Path, data: dict[str, Any]) -> None:
    path = _config(tmp_path, "config.yaml", data)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={}, use_default_file=False)
    assert_clean(texts_of(caught.value))


def test_a_secret_in_a_file_others_can_read_is_warned_about(tmp_path: Path) -> None:
    data = {"mode": "paper", "api": {"api_key": MARKER_KEY, "api_secret": MARKER_SECRET}}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        load_config(_config(tmp_path, "private.yaml", data, 0o600), environ={}, use_default_file=False)
        load_config(_config(tmp_path, "shared.yaml", data, 0o644), environ={}, use_default_file=False)
    messages = [str(w.message) for w in seen]
    assert len(messages) == 1 and "shared.yaml" in messages[0] and "chmod 600" in messages[0], messages
    assert_clean(messages)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
    env["PYTHONPATH"] = str(REPO / "src")
    return subprocess.run(
        [sys.executable, "-m", "binance_bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_line_never_prints_the_secret(tmp_path: Path) -> None:
    shared = _config(
        tmp_path,
        "shared.yaml",
        {"mode": "paper", "api": {"api_key": MARKER_KEY, "api_secret": MARKER_SECRET}},
        0o644,
    )
    broken = _config(tmp_path, "broken.yaml", BROKEN_CONFIGS[0])
    shown = _cli("--config", str(shared), "config", "show", cwd=tmp_path)
    failed = _cli("--config", str(broken), "--debug", "config", "show", cwd=tmp_path)
    assert shown.returncode == 0 and "chmod 600" in shown.stderr, shown.stderr
    assert failed.returncode == 2 and "max_workers" in failed.stderr, failed.stderr
    assert_clean([shown.stdout, shown.stderr, failed.stdout, failed.stderr])
