"""A vectorbt-compatible fill timing, for cross-checking against vectorbt only.

**Not the bot's semantics.** The bot decides at a bar's close and fills at the next price
event, with slippage, exchange filters and a protective OCO working inside the bar (the
fast backtester and the event replay model exactly that). vectorbt's
``Portfolio.from_signals`` by default fills at the signal bar's own close, in floats, all
cash in, and checks stops from the next bar on: the stop-loss first, at the open when the
bar opens beyond it, else at the stop price when the bar's range reaches it, then the
take-profit the same way; a bar that stops out ignores its signals, and an entry and an exit
on the same bar cancel out. :func:`simulate_close_fills` reproduces that, batched over rows
like the exact loop, so the benchmark can show that both engines agree trade for trade when
they are asked the same question.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange


@numba.njit(cache=True)
def _row(
    opens: np.ndarray,
    highs: np.ndarray,
    lows: np.ndarray,
    closes: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    sl_stop: float,
    tp_stop: float,
    fees: float,
    cash0: float,
) -> tuple[int, float]:
    cash = cash0
    position = 0.0
    entry = 0.0
    trades = 0
    n = closes.shape[0]
    for i in range(n):
        o, h, lo, c = opens[i], highs[i], lows[i], closes[i]
        if position > 0:
            price = np.nan
            stop = entry * (1 - sl_stop)
            if o <= stop:
                price = o
            elif lo <= stop <= h:
                price = stop
            else:
                take = entry * (1 + tp_stop)
                if take <= o:
                    price = o
                elif lo <= take <= h:
                    price = take
            if not np.isnan(price):
                value = position * price
                cash += value - value * fees
                position = 0.0
                trades += 1
                continue
        go_in = entries[i]
        go_out = exits[i]
        if go_in and go_out:
            continue
        if position == 0 and go_in:
            size = cash / (c * (1 + fees))
            value = size * c
            cash -= value + value * fees
            position = size
            entry = c
        elif position > 0 and go_out:
            value = position * c
            cash += value - value * fees
            position = 0.0
            trades += 1
    if position > 0:
        trades += 1  # an open trade counts, as in vectorbt's trade records
    return trades, cash + position * closes[n - 1]


@numba.njit(cache=True, parallel=True)
def simulate_close_fills(
    opens: np.ndarray,
    highs: np.ndarray,
    lows: np.ndarray,
    closes: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    sl_stop: float,
    tp_stop: float,
    fees: float,
    cash: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Trade counts and final values of ``[rows, bars]`` signal arrays on one price series."""
    rows = entries.shape[0]
    trades = np.zeros(rows, dtype=np.int64)
    value = np.zeros(rows, dtype=np.float64)
    for r in prange(rows):
        t, v = _row(opens, highs, lows, closes, entries[r], exits[r], sl_stop, tp_stop, fees, cash)
        trades[r] = t
        value[r] = v
    return trades, value
