"""The vectorbt-compatible close-fill loop (benchmark cross-checks), by hand."""

from __future__ import annotations

import numpy as np
import pytest

from binance_bot.backtest.compat import simulate_close_fills


def run(
    rows: list[tuple[float, float, float, float]], entries: list[int], exits: list[int]
) -> tuple[int, float]:
    a = np.asarray(rows, dtype=np.float64)
    trades, value = simulate_close_fills(
        a[:, 0].copy(),
        a[:, 1].copy(),
        a[:, 2].copy(),
        a[:, 3].copy(),
        np.asarray([entries], dtype=bool),
        np.asarray([exits], dtype=bool),
        0.05,
        0.075,
        0.001,
        100.0,
    )
    return int(trades[0]), float(value[0])


def test_entry_at_the_close_and_a_stop_at_its_price() -> None:
    # enter at 100 (bar 0 close); bar 1 trades down to 94: the 95 stop fills at 95
    trades, value = run([(100, 100, 100, 100), (99, 99.5, 94, 96)], [1, 0], [0, 0])
    size = 100 / (100 * 1.001)
    assert trades == 1
    assert value == pytest.approx(size * 95 * 0.999)


def test_a_gap_through_the_stop_fills_at_the_open_and_the_stop_comes_first() -> None:
    # bar 1 opens at 90, under the 95 stop; its high would also reach the 107.5 take profit
    trades, value = run([(100, 100, 100, 100), (90, 110, 89, 108)], [1, 0], [0, 0])
    assert trades == 1
    assert value == pytest.approx(100 / 100.1 * 90 * 0.999)


def test_take_profit_then_the_exit_signal_of_that_bar_is_ignored() -> None:
    rows = [(100, 100, 100, 100), (101, 108, 100.5, 107), (107, 107, 107, 107)]
    trades, value = run(rows, [1, 0, 0], [0, 1, 0])
    assert trades == 1
    assert value == pytest.approx(100 / 100.1 * 107.5 * 0.999)


def test_signal_exit_at_the_close_and_conflicting_signals_cancel() -> None:
    rows = [(100, 100, 100, 100), (100, 101, 99, 101), (101, 101, 101, 101), (101, 102, 100, 102)]
    # bar 1 exits at 101; bar 2 has entry and exit together: ignored; bar 3 enters at 102 (open trade)
    trades, value = run(rows, [1, 0, 1, 1], [0, 1, 1, 0])
    cash = 100 / 100.1 * 101 * 0.999
    assert trades == 2
    assert value == pytest.approx(cash / (102 * 1.001) * 102)
