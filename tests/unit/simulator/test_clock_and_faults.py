"""The two clocks and the seeded fault injector."""

from __future__ import annotations

import pytest
from tests.unit.simulator.conftest import FakeMonotonic

from binance_bot.simulator.clock import MarketClock, ProtocolClock
from binance_bot.simulator.config import FaultSettings
from binance_bot.simulator.faults import FaultInjector


def test_protocol_clock_is_wall_plus_skew() -> None:
    clock = ProtocolClock(lambda: 1_000, skew_ms=250)
    assert clock.now_ms() == 1_250
    clock.skew_ms = -500
    assert clock.now_ms() == 500


def test_market_clock_stepped_running_and_switching() -> None:
    mono = FakeMonotonic()
    clock = MarketClock(60_000, None, monotonic=mono)
    assert clock.stepped and clock.now_ms() == 60_000
    mono.now += 10
    assert clock.now_ms() == 60_000  # stepped: the wall does not move it
    clock.set(120_000)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(100_000)
    clock.set_speed(60.0)
    mono.now += 2
    assert clock.now_ms() == 120_000 + 120_000
    assert clock.wall_seconds_until(clock.now_ms() + 60_000) == pytest.approx(1.0)
    with pytest.raises(RuntimeError):
        clock.set(10**12)
    clock.set_speed(None)
    frozen = clock.now_ms()
    mono.now += 5
    assert clock.now_ms() == frozen
    with pytest.raises(ValueError):
        clock.set_speed(0)


def _injector(**settings: object) -> tuple[FaultInjector, ProtocolClock, FakeMonotonic]:
    pclock = ProtocolClock(lambda: 0)
    mono = FakeMonotonic()
    return FaultInjector(FaultSettings.from_mapping(settings), pclock, monotonic=mono), pclock, mono


def test_faults_are_off_by_default() -> None:
    faults, pclock, _ = _injector()
    assert faults.latency_s() == 0
    assert faults.server_error() is None
    assert not faults.too_many_requests()
    assert faults.burst_remaining_s() == 0
    fault = faults.stream_fault()
    assert (fault.duplicate, fault.delay_s) == (False, 0.0)
    assert pclock.skew_ms == 0


def test_latency_distributions_stay_in_their_bounds() -> None:
    fixed, _, _ = _injector(latency_ms=40)
    assert fixed.latency_s() == pytest.approx(0.04)
    uniform, _, _ = _injector(latency_kind="uniform", latency_min_ms=10, latency_ms=30)
    samples = [uniform.latency_s() for _ in range(200)]
    assert all(0.01 <= s <= 0.03 for s in samples) and len(set(samples)) > 100
    normal, _, _ = _injector(latency_kind="normal", latency_ms=20, latency_stddev_ms=50, latency_min_ms=5)
    assert min(normal.latency_s() for _ in range(200)) >= 0.005
    expo, _, _ = _injector(latency_kind="exponential", latency_ms=20, latency_min_ms=3)
    draws = [expo.latency_s() for _ in range(2000)]
    assert min(draws) >= 0.003
    assert sum(draws) / len(draws) == pytest.approx(0.023, rel=0.15)


def test_same_seed_same_faults() -> None:
    settings = {
        "seed": 42,
        "server_error_rate": 0.3,
        "too_many_requests_rate": 0.2,
        "stream_duplicate_rate": 0.5,
    }
    a, _, _ = _injector(**settings)
    b, _, _ = _injector(**settings)
    run_a = [(a.server_error(), a.too_many_requests(), a.stream_fault()) for _ in range(100)]
    run_b = [(b.server_error(), b.too_many_requests(), b.stream_fault()) for _ in range(100)]
    assert run_a == run_b
    errors = [e for e, _, _ in run_a if e is not None]
    assert 10 < len(errors) < 50
    assert {e.after for e in errors} == {True, False}  # "mixed" phase
    assert {e.status for e in errors} <= {500, 502, 503}
    a.apply(a.settings)  # re-applying reseeds
    assert [(a.server_error(), a.too_many_requests(), a.stream_fault()) for _ in range(100)] == run_a


def test_burst_schedule_and_forced_bursts() -> None:
    faults, _, mono = _injector(burst_429_every_s=10, burst_429_duration_s=2)
    assert faults.burst_remaining_s() == 0
    mono.now += 8.5
    assert faults.burst_remaining_s() == pytest.approx(1.5)
    mono.now += 2
    assert faults.burst_remaining_s() == 0
    faults.force_burst(3)
    assert faults.burst_remaining_s() == pytest.approx(3)
    faults.clear_burst()
    assert faults.burst_remaining_s() == 0


def test_skew_applies_at_once() -> None:
    faults, pclock, _ = _injector(clock_skew_ms=-1500)
    assert pclock.now_ms() == -1500
    faults.apply(FaultSettings())
    assert pclock.now_ms() == 0
