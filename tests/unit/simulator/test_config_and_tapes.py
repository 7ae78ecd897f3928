"""Configuration errors that name the key, and tapes from files, folders and the candle store."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from binance_bot.data import CandleStore, generate_candles, write_candles_csv
from binance_bot.data.synthetic import DEFAULT_START_MS
from binance_bot.errors import ConfigError
from binance_bot.simulator.config import (
    AccountSpec,
    FaultSettings,
    LimitSettings,
    MarketSpec,
    SimulatorConfig,
    load_faults,
    parse_balances,
)
from binance_bot.simulator.tape import FrameTape, SyntheticTape, load_file_tapes, load_market, replay_start

MINUTE = 60_000


def test_fault_settings_validate_and_merge() -> None:
    with pytest.raises(ConfigError, match="unknown fault setting\\(s\\): latncy_ms") as exc:
        FaultSettings.from_mapping({"latncy_ms": 5})
    assert exc.value.key == "faults.latncy_ms"
    with pytest.raises(ConfigError, match="within \\[0, 1\\]"):
        FaultSettings(server_error_rate=1.5)
    with pytest.raises(ConfigError, match="latency_kind"):
        FaultSettings(latency_kind="gamma")
    with pytest.raises(ConfigError, match="5xx"):
        FaultSettings(server_error_statuses=(404,))
    with pytest.raises(ConfigError, match="shorter"):
        FaultSettings(burst_429_every_s=2, burst_429_duration_s=3)
    base = FaultSettings.from_mapping({"latency_ms": 7, "server_error_statuses": [503]})
    merged = FaultSettings.from_mapping({"seed": "9"}, base=base)
    assert (merged.latency_ms, merged.seed, merged.server_error_statuses) == (7.0, 9, (503,))
    assert FaultSettings.from_mapping(merged.to_dict()) == merged


def test_fault_files(tmp_path: Path) -> None:
    yaml_file = tmp_path / "faults.yaml"
    yaml_file.write_text("faults:\n  ws_drop_every_s: 30\n  clock_skew_ms: -2000\n")
    assert load_faults(yaml_file) == FaultSettings(ws_drop_every_s=30, clock_skew_ms=-2000)
    json_file = tmp_path / "faults.json"
    json_file.write_text(json.dumps({"stream_delay_rate": 0.1, "stream_delay_ms": 250}))
    assert load_faults(json_file).stream_delay_ms == 250
    (tmp_path / "empty.yaml").write_text("")
    assert load_faults(tmp_path / "empty.yaml") == FaultSettings()
    (tmp_path / "bad.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_faults(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_faults(tmp_path / "missing.yaml")


def test_accounts_balances_and_the_whole_config() -> None:
    assert parse_balances("USDT=10000, btc=0.5") == {"USDT": Decimal(10000), "BTC": Decimal("0.5")}
    assert parse_balances(["USDT=1", "ETH=2"]) == {"USDT": Decimal(1), "ETH": Decimal(2)}
    for bad in ("USDT", "USDT=-1", "USDT=abc", "US DT=1"):
        with pytest.raises(ConfigError):
            parse_balances(bad)
    with pytest.raises(ConfigError, match="api_secret"):
        AccountSpec("key")
    with pytest.raises(ConfigError, match=">= 0"):
        AccountSpec("key", "secret", {"USDT": Decimal(-1)})
    account = AccountSpec("key", "secret", {"usdt": "5"})  # type: ignore[dict-item]
    assert account.balances == {"USDT": Decimal(5)}
    with pytest.raises(ConfigError, match="share one api_key"):
        SimulatorConfig(accounts=(account, account))
    with pytest.raises(ConfigError, match="speed"):
        SimulatorConfig(speed=0)
    with pytest.raises(ConfigError, match="fixed Binance interval"):
        MarketSpec(interval="1M")
    with pytest.raises(ConfigError, match="letters and digits"):
        MarketSpec(symbols=("BTC-USDT",))
    with pytest.raises(ConfigError, match="limits.orders_per_10s"):
        LimitSettings(orders_per_10s=0)
    assert MarketSpec(symbols=(" btcusdt ",)).symbols == ("BTCUSDT",)


def _write(folder: Path, symbol: str, interval: str, count: int, start: int = DEFAULT_START_MS) -> Path:
    return write_candles_csv(
        generate_candles(symbol, interval, start_ms=start, count=count),
        folder / f"{symbol}-{interval}.csv.gz",
    )


def test_folder_tapes_pick_the_interval_and_name_what_else_exists(tmp_path: Path) -> None:
    _write(tmp_path, "BTCUSDT", "1m", 120)
    _write(tmp_path, "ETHUSDT", "1m", 100, start=DEFAULT_START_MS + 10 * MINUTE)
    _write(tmp_path, "ETHUSDT", "5m", 30)
    tapes = load_file_tapes([tmp_path], [], "1m")
    assert sorted(tapes) == ["BTCUSDT", "ETHUSDT"]
    btc = tapes["BTCUSDT"]
    assert isinstance(btc, FrameTape) and len(btc) == 120
    assert btc.bar(3).open_time == DEFAULT_START_MS + 3 * MINUTE
    assert btc.last_index_at_or_before(DEFAULT_START_MS + 3 * MINUTE + 5) == 3
    assert btc.first_index_at_or_after(DEFAULT_START_MS + 3 * MINUTE + 5) == 4
    assert replay_start(tapes, 20, None) == DEFAULT_START_MS + 30 * MINUTE  # ETH starts 10 minutes later
    assert replay_start(tapes, 20, DEFAULT_START_MS + 50 * MINUTE + 7) == DEFAULT_START_MS + 50 * MINUTE
    with pytest.raises(ConfigError, match="do not overlap"):
        replay_start(tapes, 0, DEFAULT_START_MS + 200 * MINUTE)
    with pytest.raises(ConfigError, match=r"no 15m candles found for ETHUSDT \(has 1m, 5m\)"):
        load_file_tapes([tmp_path], ["ETHUSDT"], "15m")
    with pytest.raises(ConfigError, match="no such file"):
        load_file_tapes([tmp_path / "nope"], [], "1m")


def test_monthly_files_are_joined_and_the_store_is_read(tmp_path: Path) -> None:
    whole = generate_candles("BTCUSDT", "1h", start_ms=DEFAULT_START_MS, count=48)
    write_candles_csv(whole.take(np.arange(0, 24)), tmp_path / "BTCUSDT-1h-2024-01-01.csv")
    write_candles_csv(whole.take(np.arange(20, 48)), tmp_path / "BTCUSDT-1h-2024-01-02.csv")
    joined = load_file_tapes([tmp_path], ["BTCUSDT"], "1h")["BTCUSDT"]
    assert len(joined) == 48  # overlapping rows kept once
    store = CandleStore(tmp_path / "store")
    store.write(whole)
    from_store = load_file_tapes([tmp_path / "store"], [], "1h")["BTCUSDT"]
    assert [from_store.bar(i) for i in range(48)] == [joined.bar(i) for i in range(48)]


def test_synthetic_tapes_grow_and_start_where_asked() -> None:
    loaded = load_market(
        symbols=(), interval="1m", data=(), seed=3, start_ms=None, warmup_bars=50, running_clock_now_ms=None
    )
    assert sorted(loaded.tapes) == ["BTCUSDT", "ETHUSDT"]
    assert loaded.start_ms == DEFAULT_START_MS + 50 * MINUTE
    tape = loaded.tapes["BTCUSDT"]
    assert isinstance(tape, SyntheticTape) and tape.endless
    tape.ensure(loaded.start_ms + 5000 * MINUTE)
    assert tape.bar(5050).open_time == loaded.start_ms + 5000 * MINUTE
    live = load_market(
        symbols=("BTCUSDT",),
        interval="1m",
        data=(),
        seed=0,
        start_ms=None,
        warmup_bars=10,
        running_clock_now_ms=1_800_000_123_456,
    )
    assert live.start_ms == 1_800_000_120_000
    with pytest.raises(ConfigError, match="XYZ"):
        load_market(
            symbols=("XYZ",),
            interval="1m",
            data=(),
            seed=0,
            start_ms=None,
            warmup_bars=1,
            running_clock_now_ms=None,
        )
