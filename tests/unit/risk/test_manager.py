from __future__ import annotations

from decimal import Decimal as D

from binance_bot.risk import RiskLimits, RiskManager

HOUR = 3_600_000


def manager(**kw) -> RiskManager:
    return RiskManager(limits=RiskLimits(**kw), interval_ms=HOUR)


def test_max_positions() -> None:
    rm = manager(max_positions=2)
    assert rm.check_entry(symbol="A", now_ms=0, open_positions=1)
    d = rm.check_entry(symbol="A", now_ms=0, open_positions=2)
    assert not d
    assert d.reason == "max_positions 2 reached"


def test_daily_loss_trips_kill_switch_once() -> None:
    rm = manager(daily_loss_limit_pct=D("5"), max_drawdown_pct=D("50"))
    assert rm.on_equity(1_000, D("1000")) is None
    assert rm.on_equity(2_000, D("960")) is None
    reason = rm.on_equity(3_000, D("950"))
    assert reason is not None and reason.startswith("daily loss 5.00% reached the 5% limit")
    assert rm.on_equity(4_000, D("900")) is None  # already tripped: no second transition
    refused = rm.check_entry(symbol="A", now_ms=5_000, open_positions=0)
    assert not refused and refused.reason.startswith("kill switch tripped: daily loss")


def test_new_day_resets_the_daily_base() -> None:
    rm = manager(daily_loss_limit_pct=D("5"), max_drawdown_pct=D("50"))
    rm.on_equity(0, D("1000"))
    rm.on_equity(86_400_000 - 1, D("960"))
    assert rm.on_equity(86_400_000, D("930")) is None  # new day starts at 930
    assert rm.on_equity(86_400_000 + 1, D("900")) is None  # 3.2% down today, 10% drawdown
    assert not rm.kill_switch.tripped


def test_drawdown_from_peak() -> None:
    rm = manager(daily_loss_limit_pct=D("100"), max_drawdown_pct=D("10"))
    rm.on_equity(0, D("1000"))
    rm.on_equity(86_400_000, D("1200"))
    assert rm.on_equity(2 * 86_400_000, D("1081")) is None
    assert rm.on_equity(3 * 86_400_000, D("1080")).startswith("drawdown 10.00%")


def test_cooldown_after_stop_out_only() -> None:
    rm = manager(cooldown_bars=3)
    rm.on_exit("A", stopped_out=False, bar_close_ms=HOUR)
    assert rm.check_entry(symbol="A", now_ms=HOUR + 1, open_positions=0)
    rm.on_exit("A", stopped_out=True, bar_close_ms=HOUR)
    assert not rm.check_entry(symbol="A", now_ms=HOUR * 4 - 1, open_positions=0)
    assert rm.check_entry(symbol="A", now_ms=HOUR * 4, open_positions=0)
    assert rm.check_entry(symbol="B", now_ms=HOUR + 1, open_positions=0)


def test_pause_and_exposure() -> None:
    rm = manager(max_exposure_pct=D("50"))
    assert rm.check_entry(symbol="A", now_ms=0, open_positions=0, paused=True).reason == "entries are paused"
    d = rm.check_entry(
        symbol="A", now_ms=0, open_positions=0, exposure=D("400"), equity=D("1000"), entry_value=D("200")
    )
    assert not d and "exposure 60.00% would exceed 50%" in d.reason


def test_reset_kill_switch() -> None:
    rm = manager()
    rm.kill_switch.trip("manual", 1)
    assert not rm.check_entry(symbol="A", now_ms=2, open_positions=0)
    rm.kill_switch.reset()
    assert rm.check_entry(symbol="A", now_ms=2, open_positions=0)
