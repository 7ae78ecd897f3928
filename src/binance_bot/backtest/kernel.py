"""The compiled position loop of the fast backtester, exact to the last unit.

One call simulates many independent accounts ("rows": a symbol and a parameter set each) in
parallel (``prange`` over rows). Each row follows the engine's lifecycle bar by bar
(:mod:`binance_bot.engine.worker`, :mod:`binance_bot.engine.kernel`) over the four price
events of every bar, with the fill model's own integer rules compiled by numba: the functions
of :mod:`binance_bot.matching.rules` and :mod:`binance_bot.risk.levels` are jitted here
unchanged, so a rule fixed there is fixed here.

Everything is an integer: prices in ticks, quantities in steps, the base asset in units of
``V`` (``10^-max(step decimals, commission places)``), the quote asset in units of ``U`` (fine
enough for ``price x qty`` and for commissions) and equity in units of ``W`` (fine enough for
``held x close``). Commissions are rounded half up to the commission places exactly as
:func:`binance_bot.matching.fees.commission` rounds them. Ratios (fees, sizing fraction,
limits) are ``numerator / denominator`` pairs from ``Decimal.as_integer_ratio``.

A row that reaches a state the loop does not model exactly (an exchange rejection that would
make the engine retry forever, a filter that depends on the average price and cannot be
decided from the bars, a number too large for 64 bits) stops with ``STATUS_UNSUPPORTED`` and
the bar where it happened; the caller reruns that row through the event replay.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from binance_bot.matching import rules as fill_rules
from binance_bot.risk import levels

_jit = numba.njit(cache=True)

bar_path = _jit(fill_rules.bar_path)
move_hit = _jit(fill_rules.move_hit)
slipped_price = _jit(fill_rules.slipped_price)
stop_limit_on_trigger = _jit(fill_rules.stop_limit_on_trigger)
resting_limit_condition = _jit(fill_rules.resting_limit_condition)
stop_condition = _jit(fill_rules.stop_condition)
stop_ticks = _jit(levels.stop_ticks)
take_profit_ticks = _jit(levels.take_profit_ticks)
stop_limit_ticks = _jit(levels.stop_limit_ticks)

# ---------------------------------------------------------------------------------- layouts
# per-symbol integer parameters  (sym_par[s, SP_*])
SP_QUOTE0 = 0  # starting quote balance (U)
SP_OPER = 1  # trading.oper_equity (U)
SP_MPQ = 2  # price ticks x qty steps -> U
SP_SV = 3  # qty steps -> V
SP_UW = 4  # U -> W
SP_VTW = 5  # V x close marks -> W
SP_GQ = 6  # U per unit of the commission's last place (quote side)
SP_GB = 7  # V per unit of the commission's last place (base side)
SP_MIN_Q = 8  # LOT_SIZE minQty (steps)
SP_MAX_Q = 9  # LOT_SIZE maxQty (steps, 0 = none)
SP_MKT_MIN_Q = 10  # MARKET_LOT_SIZE minQty (steps)
SP_MKT_MAX_Q = 11  # MARKET_LOT_SIZE maxQty (steps, 0 = none)
SP_MKT_STEP = 12  # MARKET_LOT_SIZE stepSize in steps when coarser than LOT_SIZE's, else 1
SP_MIN_N = 13  # NOTIONAL minNotional (U, 0 = none)
SP_MAX_N = 14  # NOTIONAL maxNotional (U, 0 = none)
SP_MIN_N_MKT = 15  # 1 when minNotional applies to market orders
SP_MAX_N_MKT = 16  # 1 when maxNotional applies to market orders
SP_MIN_P = 17  # PRICE_FILTER minPrice (ticks)
SP_MAX_P = 18  # PRICE_FILTER maxPrice (ticks, 0 = none)
SP_PP = 19  # 1 when PERCENT_PRICE_BY_SIDE is checked
SP_ASK_DN_N = 20  # askMultiplierDown as num / den
SP_ASK_DN_D = 21
SP_ASK_UP_N = 22  # askMultiplierUp as num / den
SP_ASK_UP_D = 23
SP_AVG_MS = 24  # avgPriceMins in ms
SP_INTERVAL = 25  # bar interval (ms), for the cool-down
SP_SAFE_Q = 26  # quote balance above which 64-bit products could overflow (U)
SP_MKT_STEP_EXTRA = 27  # 1 when MARKET_LOT_SIZE's step is not a whole number of LOT_SIZE steps
SP_MARK_TICK = 28  # close marks per tick
SP_MARK_POW = 29  # close marks per unit of the quote asset (10^mark places)
SP_SMU = 30  # one step of quantity x one unit of price -> U
SP_COUNT = 31

# global parameters (glob[G_*])
G_TAKER_N = 0
G_TAKER_D = 1
G_MAKER_N = 2
G_MAKER_D = 3
G_SLIP = 4  # slippage in hundredths of a basis point
G_TOUCH = 5  # touch_fills
G_FRAC_N = 6  # risk.max_fraction_of_free
G_FRAC_D = 7
G_DAILY_N = 8  # risk.daily_loss_limit_pct
G_DAILY_D = 9
G_DD_N = 10  # risk.max_drawdown_pct
G_DD_D = 11
G_EXPO_N = 12  # risk.max_exposure_pct
G_EXPO_D = 13
G_COOLDOWN = 14  # risk.cooldown_bars
G_COUNT = 15

# per-row parameters (row_par[r, R_*])
R_SYM = 0
R_START = 1  # first trading bar
R_END = 2  # one past the last trading bar
R_MARGIN_N = 3  # trading.stop_loss_margin
R_MARGIN_D = 4
R_RATIO_N = 5  # trading.take_profit_ratio
R_RATIO_D = 6
R_BUFFER_N = 7  # trading.stop_limit_buffer
R_BUFFER_D = 8
R_COUNT = 9

# trade records (trades[r, j, T_*])
T_ENTRY_TIME = 0
T_ENTRY_PRICE = 1  # ticks
T_BOUGHT = 2  # steps
T_BUY_COMM = 3  # V
T_EXIT_TIME = 4
T_EXIT_PRICE = 5  # ticks
T_SOLD = 6  # steps
T_SELL_COMM = 7  # U
T_EXIT_MAKER = 8
T_REASON = 9
T_ENTRY_BAR = 10
T_EXIT_BAR = 11
T_COST = 12  # U
T_PROCEEDS = 13  # U
T_FIELDS = 14

# row summaries (summary[r, S_*])
S_STATUS = 0
S_AT_BAR = 1  # where an unsupported state or a full trade buffer stopped the row
S_TRADES = 2
S_QUOTE = 3  # final quote balance (U)
S_HELD = 4  # held base of the open long (V), 0 when flat
S_OPEN = 5  # 1 when a long is open at the end
S_OPEN_TIME = 6
S_OPEN_PRICE = 7
S_OPEN_BOUGHT = 8
S_OPEN_COMM = 9
S_OPEN_BAR = 10
S_KILL_TIME = 11
S_KILL_KIND = 12  # 0 none, 1 daily loss, 2 drawdown
S_KILL_EQUITY = 13  # equity at the trip (W)
S_KILL_REF = 14  # start-of-day or peak equity it was compared with (W)
S_EXPOSURE = 15  # bars whose close found a long open
S_BARS = 16  # trading bars simulated
S_FINAL_EQ = 17  # equity after the last bar (W)
S_UNSUPPORTED = 18  # which unsupported state (see U_*)
S_FIELDS = 19

STATUS_OK = 0
STATUS_FULL = 1  # the trade buffer filled up: rerun with a larger one
STATUS_UNSUPPORTED = 2

# exit reasons, as the engine names them
REASON_TAKE_PROFIT = 1
REASON_STOP_LOSS = 2
REASON_SIGNAL = 3
REASON_KILL = 4
REASON_PROTECTION_FAILED = 5
REASONS = {
    REASON_TAKE_PROFIT: "take_profit",
    REASON_STOP_LOSS: "stop_loss",
    REASON_SIGNAL: "signal",
    REASON_KILL: "kill",
    REASON_PROTECTION_FAILED: "protection_failed",
}

# why a row is unsupported
U_OVERFLOW = 1
U_UNSELLABLE = 2  # a long whose sellable quantity breaks LOT_SIZE: the engine would retry forever
U_MARKET_FILTER = 3  # a market order's notional needs the average price to decide
U_EXIT_REJECTED = 4  # a market exit the exchange refuses: the engine would retry every bar
U_PERCENT_PRICE = 5  # the OCO's PERCENT_PRICE_BY_SIDE check needs the average price
U_MARKET_STEP = 6  # MARKET_LOT_SIZE step that is not a multiple of LOT_SIZE's
UNSUPPORTED = {
    U_OVERFLOW: "a quote balance too large for exact 64-bit arithmetic",
    U_UNSELLABLE: "a long whose sellable quantity breaks LOT_SIZE",
    U_MARKET_FILTER: "a market order whose NOTIONAL check depends on the exchange's average price",
    U_EXIT_REJECTED: "a market exit the exchange would refuse",
    U_PERCENT_PRICE: "an OCO whose PERCENT_PRICE_BY_SIDE check depends on the exchange's average price",
    U_MARKET_STEP: "a MARKET_LOT_SIZE step that is not a multiple of the LOT_SIZE step",
}

# position states
_FLAT = 0
_ENTRY_QUEUED = 1  # MARKET BUY waiting for the next price event
_PROTECTED = 2  # long with its OCO working
_STOP_RESTING = 3  # long whose stop triggered into a resting STOP_LOSS_LIMIT
_UNPROTECTED = 4  # long with nothing working
_EXIT_QUEUED = 5  # MARKET SELL waiting for the next price event

_DAY_MS = 86_400_000
_MASK31 = (1 << 31) - 1


@_jit
def _ge_products(a: int, m: int, b: int, n: int) -> bool:
    """``a * m >= b * n`` exactly for ``0 <= a, b < 2**62`` and ``0 <= m, n < 2**31``."""
    lo_a = (a & _MASK31) * m
    hi_a = (a >> 31) * m + (lo_a >> 31)
    lo_b = (b & _MASK31) * n
    hi_b = (b >> 31) * n + (lo_b >> 31)
    if hi_a != hi_b:
        return hi_a > hi_b
    return (lo_a & _MASK31) >= (lo_b & _MASK31)


@_jit
def _mul_div(a: int, b: int, c: int) -> int:
    """``floor(a * b / c)`` for non-negative ints without forming ``a * b``."""
    q = a // c
    r = a - q * c
    return q * b + (r * b) // c


@_jit
def _half_up(a: int, b: int, c: int) -> int:
    """``a * b / c`` rounded half up (``a, b >= 0``, ``c > 0``), as ``Decimal`` ROUND_HALF_UP."""
    # floor(x + 1/2) only depends on floor(2x): floor((floor(2x) + 1) / 2)
    return (_mul_div(2 * a, b, c) + 1) // 2


@_jit
def _commission(amount: int, rate_n: int, rate_d: int, grain: int) -> int:
    """R16: ``amount x rate`` rounded half up to the commission places, in ``amount``'s unit.

    ``grain`` is how many units of ``amount`` one unit of the last commission place is.
    """
    return _half_up(amount, rate_n, rate_d * grain) * grain


@_jit
def _window_range(
    highs: np.ndarray,
    lows: np.ndarray,
    t3: np.ndarray,
    s: int,
    last: int,
    now: int,
    span: int,
    last_price: int,
) -> tuple[int, int]:
    """Bounds of the exchange's average price (R18) at ``now``: it is a volume-weighted price of
    the bars that closed in the last ``span`` ms (so within their lows and highs), or the last
    price when they traded nothing."""
    lo = last_price
    hi = last_price
    j = last
    while j >= 0 and t3[s, j] >= now - span:
        if t3[s, j] <= now:
            lo = min(lo, lows[s, j])
            hi = max(hi, highs[s, j])
        j -= 1
    return lo, hi


@_jit
def _market_order_check(sp: np.ndarray, qty: int, lo: int, hi: int) -> int:
    """A MARKET order's filters: 0 accepted, 1 refused, -1 undecidable from the bars.

    LOT_SIZE and MARKET_LOT_SIZE are exact; NOTIONAL (when it applies to market orders) is
    judged at the average price, known only to lie within ``[lo, hi]``.
    """
    if qty <= 0 or qty < sp[SP_MIN_Q] or (sp[SP_MAX_Q] > 0 and qty > sp[SP_MAX_Q]):
        return 1
    if qty < sp[SP_MKT_MIN_Q] or (sp[SP_MKT_MAX_Q] > 0 and qty > sp[SP_MKT_MAX_Q]):
        return 1
    if qty % sp[SP_MKT_STEP] != 0:
        return 1
    verdict = 0
    if sp[SP_MIN_N_MKT] == 1 and sp[SP_MIN_N] > 0:
        if qty * hi * sp[SP_MPQ] < sp[SP_MIN_N]:
            return 1
        if qty * lo * sp[SP_MPQ] < sp[SP_MIN_N]:
            verdict = -1
    if sp[SP_MAX_N_MKT] == 1 and sp[SP_MAX_N] > 0:
        if qty * lo * sp[SP_MPQ] > sp[SP_MAX_N]:
            return 1
        if qty * hi * sp[SP_MPQ] > sp[SP_MAX_N]:
            verdict = -1
    return verdict


@_jit
def _oco_check(
    sp: np.ndarray, qty: int, stop: int, limit: int, take: int, last: int, lo: int, hi: int
) -> int:
    """The protective SELL OCO's checks (R14, R17): 0 accepted, 1 refused, -1 undecidable.

    Legs: STOP_LOSS_LIMIT (stop price ``stop``, limit ``limit``) below, LIMIT_MAKER ``take``
    above; both need ``take > last > stop``. PERCENT_PRICE_BY_SIDE compares the limit prices
    with the average price, known only to lie within ``[lo, hi]``.
    """
    if qty <= 0 or qty < sp[SP_MIN_Q] or (sp[SP_MAX_Q] > 0 and qty > sp[SP_MAX_Q]):
        return 1
    for price in (limit, stop, take):
        if price < sp[SP_MIN_P] or price < 1 or (sp[SP_MAX_P] > 0 and price > sp[SP_MAX_P]):
            return 1
    for price in (limit, take):
        notional = qty * price * sp[SP_MPQ]
        if sp[SP_MIN_N] > 0 and notional < sp[SP_MIN_N]:
            return 1
        if sp[SP_MAX_N] > 0 and notional > sp[SP_MAX_N]:
            return 1
    if not (take > last > stop):
        return 1
    verdict = 0
    if sp[SP_PP] == 1:
        dn_n, dn_d, up_n, up_d = sp[SP_ASK_DN_N], sp[SP_ASK_DN_D], sp[SP_ASK_UP_N], sp[SP_ASK_UP_D]
        for price in (limit, take):
            # price must lie in [avg x down, avg x up] for the unknown avg in [lo, hi]
            if price * dn_d < lo * dn_n or price * up_d > hi * up_n:
                return 1
            if price * dn_d < hi * dn_n or price * up_d > lo * up_n:
                verdict = -1
    return verdict


@_jit
def _row(
    r: int,
    opens: np.ndarray,
    highs: np.ndarray,
    lows: np.ndarray,
    closes: np.ndarray,
    marks: np.ndarray,
    times: np.ndarray,
    sym_par: np.ndarray,
    glob: np.ndarray,
    row_par: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    trades: np.ndarray,
    summary: np.ndarray,
    equity: np.ndarray,
) -> None:
    s = row_par[r, R_SYM]
    sp = sym_par[s]
    start = row_par[r, R_START]
    end = row_par[r, R_END]
    t0 = times[0]
    t1 = times[1]
    t2 = times[2]
    t3 = times[3]
    mpq = sp[SP_MPQ]
    sv = sp[SP_SV]
    taker_n, taker_d = glob[G_TAKER_N], glob[G_TAKER_D]
    maker_n, maker_d = glob[G_MAKER_N], glob[G_MAKER_D]
    slip = glob[G_SLIP]
    rest_up, rest_strict = resting_limit_condition(False, glob[G_TOUCH] == 1)
    stop_up, stop_strict = stop_condition(False, False)
    keep_equity = equity.shape[1] > 0
    capacity = trades.shape[1]

    quote = sp[SP_QUOTE0]
    state = _FLAT
    held = 0  # V
    bought = 0  # steps
    entry_price = 0
    buy_comm = 0
    cost = 0
    entry_time = 0
    entry_bar = 0
    queued_qty = 0
    oco_qty = 0
    stop = 0
    stop_limit = 0
    take = 0
    exit_reason = 0
    cooldown_until = np.int64(-(2**62))
    killed = False
    day_start = np.int64(-1)
    day_equity = 0
    peak = 0
    n_trades = 0
    exposure = 0
    last = -1
    status = STATUS_OK
    why = 0
    at_bar = -1
    equity_w = quote * sp[SP_UW]

    for i in range(start, end):
        o, h, lo_, c = opens[s, i], highs[s, i], lows[s, i], closes[s, i]
        path = bar_path(o, h, lo_, c)
        # Nothing can happen inside a bar without a working order, or when the bar's range
        # reaches neither protective level (a jump at the open lies within the range too).
        quiet = state == _FLAT
        if state == _PROTECTED:
            quiet = lo_ > stop and not (h > take if rest_strict else h >= take)
        elif state == _STOP_RESTING:
            quiet = not (h > stop_limit if rest_strict else h >= stop_limit)
        for k in range(0 if not quiet else 4, 4):
            cur = path[k]
            now = t0[s, i] if k == 0 else (t1[s, i] if k == 1 else (t2[s, i] if k == 2 else t3[s, i]))
            jump = k == 0
            prev = cur if last < 0 else last
            sold_at = -1
            sold_maker = False
            # R4/R5/R10-R14: the working protective orders meet the move first
            if state == _PROTECTED:
                hit_tp, at_tp = move_hit(prev, cur, take, rest_up, rest_strict, jump)
                hit_sl, at_sl = move_hit(prev, cur, stop, stop_up, stop_strict, jump)
                # nearest to the move's start first; ties go to the stop leg (the lower order id)
                if hit_sl and (not hit_tp or abs(at_sl - prev) <= abs(at_tp - prev)):
                    takes, price = stop_limit_on_trigger(at_sl, stop_limit, slip, False)
                    if takes:
                        sold_at = price
                        exit_reason = REASON_STOP_LOSS
                    else:
                        state = _STOP_RESTING
                        # the resting limit can still be met later in the same move
                        start_at = prev if jump else at_sl
                        hit, _ = move_hit(start_at, cur, stop_limit, rest_up, rest_strict, jump)
                        if hit:
                            sold_at = stop_limit
                            sold_maker = True
                            exit_reason = REASON_STOP_LOSS
                elif hit_tp:
                    sold_at = take
                    sold_maker = True
                    exit_reason = REASON_TAKE_PROFIT
            elif state == _STOP_RESTING:
                hit, _ = move_hit(prev, cur, stop_limit, rest_up, rest_strict, jump)
                if hit:
                    sold_at = stop_limit
                    sold_maker = True
                    exit_reason = REASON_STOP_LOSS
            # R9: then the queued market orders fill at this event's price
            if state == _ENTRY_QUEUED:
                price = slipped_price(cur, slip, True)
                steps = min(queued_qty, quote // (price * mpq))
                state = _FLAT
                if steps > 0:
                    cost = price * steps * mpq
                    quote -= cost
                    buy_comm = _commission(steps * sv, taker_n, taker_d, sp[SP_GB])
                    held = steps * sv - buy_comm
                    bought = steps
                    entry_price = price
                    entry_time = now
                    entry_bar = i
                    # the engine protects the long as soon as the entry is done (R14)
                    stop = stop_ticks(price, row_par[r, R_MARGIN_N], row_par[r, R_MARGIN_D])
                    take = take_profit_ticks(price, stop, row_par[r, R_RATIO_N], row_par[r, R_RATIO_D])
                    stop_limit = stop_limit_ticks(stop, row_par[r, R_BUFFER_N], row_par[r, R_BUFFER_D])
                    oco_qty = held // sv
                    lo, hi = _window_range(highs, lows, t3, s, i - 1, now, sp[SP_AVG_MS], cur)
                    verdict = _oco_check(sp, oco_qty, stop, stop_limit, take, cur, lo, hi)
                    if verdict < 0:
                        status, why, at_bar = STATUS_UNSUPPORTED, U_PERCENT_PRICE, i
                        break
                    if verdict == 0:
                        state = _PROTECTED
                    else:
                        # protection refused: the engine sells at market (next price event)
                        verdict = _market_order_check(sp, oco_qty, lo, hi)
                        if verdict != 0:
                            status = STATUS_UNSUPPORTED
                            why, at_bar = (U_MARKET_FILTER if verdict < 0 else U_EXIT_REJECTED), i
                            break
                        state = _EXIT_QUEUED
                        queued_qty = oco_qty
                        exit_reason = REASON_PROTECTION_FAILED
            elif state == _EXIT_QUEUED:
                sold_at = slipped_price(cur, slip, False)
                oco_qty = queued_qty
            if sold_at >= 0:
                if n_trades >= capacity:
                    status, at_bar = STATUS_FULL, i
                    break
                value = sold_at * oco_qty * mpq
                if sold_maker:
                    comm = _commission(value, maker_n, maker_d, sp[SP_GQ])
                else:
                    comm = _commission(value, taker_n, taker_d, sp[SP_GQ])
                quote += value - comm
                rec = trades[r, n_trades]
                rec[T_ENTRY_TIME] = entry_time
                rec[T_ENTRY_PRICE] = entry_price
                rec[T_BOUGHT] = bought
                rec[T_BUY_COMM] = buy_comm
                rec[T_EXIT_TIME] = now
                rec[T_EXIT_PRICE] = sold_at
                rec[T_SOLD] = oco_qty
                rec[T_SELL_COMM] = comm
                rec[T_EXIT_MAKER] = 1 if sold_maker else 0
                rec[T_REASON] = exit_reason
                rec[T_ENTRY_BAR] = entry_bar
                rec[T_EXIT_BAR] = i
                rec[T_COST] = cost
                rec[T_PROCEEDS] = value - comm
                n_trades += 1
                if exit_reason == REASON_STOP_LOSS and glob[G_COOLDOWN] > 0:
                    cooldown_until = now + glob[G_COOLDOWN] * sp[SP_INTERVAL]
                state = _FLAT
                held = 0
            last = cur
        if quiet:
            last = c
        if status != STATUS_OK:
            break
        # ---------------------------------------------------------- the bar has closed
        now = t3[s, i] + 1
        mark = marks[s, i]  # the close as published, maybe finer than the tick
        if quote > sp[SP_SAFE_Q]:
            status, why, at_bar = STATUS_UNSUPPORTED, U_OVERFLOW, i
            break
        exit_now = 0
        if state in (_PROTECTED, _STOP_RESTING, _UNPROTECTED):
            if stop_limit > 0 and mark < stop_limit * sp[SP_MARK_TICK]:
                exit_now = REASON_STOP_LOSS
            elif exits[r, i]:
                exit_now = REASON_SIGNAL
            elif state == _UNPROTECTED:
                lo, hi = _window_range(highs, lows, t3, s, i, now, sp[SP_AVG_MS], c)
                oco_qty = held // sv
                verdict = _oco_check(sp, oco_qty, stop, stop_limit, take, c, lo, hi)
                if verdict < 0:
                    status, why, at_bar = STATUS_UNSUPPORTED, U_PERCENT_PRICE, i
                    break
                if verdict == 0:
                    state = _PROTECTED
                else:
                    exit_now = REASON_PROTECTION_FAILED
        elif state == _FLAT and entries[r, i] and not killed and now >= cooldown_until:
            if sp[SP_MKT_STEP_EXTRA] == 1:
                status, why, at_bar = STATUS_UNSUPPORTED, U_MARKET_STEP, i
                break
            oper = sp[SP_OPER]
            expo_ok = True
            if glob[G_EXPO_N] < 100 * glob[G_EXPO_D] and quote > 0:
                # refused when (exposure + oper_equity) / equity x 100 > max_exposure_pct;
                # flat, so no exposure and the equity is the quote balance
                expo_ok = _ge_products(quote, glob[G_EXPO_N], oper, 100 * glob[G_EXPO_D])
            if expo_ok and quote > 0:
                # risk.size_entry: min(oper_equity, free x fraction) / close, down to the step;
                # the notional is checked at the close rounded down to the tick
                if _ge_products(quote, glob[G_FRAC_N], oper, glob[G_FRAC_D]):
                    qty = _mul_div(oper, sp[SP_MARK_POW], mark * sp[SP_SMU])
                else:
                    qty = _mul_div(
                        quote, glob[G_FRAC_N] * sp[SP_MARK_POW], glob[G_FRAC_D] * mark * sp[SP_SMU]
                    )
                qty -= qty % sp[SP_MKT_STEP]
                notional = qty * (mark // sp[SP_MARK_TICK]) * mpq
                sized = (
                    qty > 0
                    and qty >= sp[SP_MIN_Q]
                    and not (sp[SP_MAX_Q] > 0 and qty > sp[SP_MAX_Q])
                    and not (sp[SP_MIN_N] > 0 and notional < sp[SP_MIN_N])
                    and not (sp[SP_MAX_N] > 0 and notional > sp[SP_MAX_N])
                )
                if sized:
                    lo, hi = _window_range(highs, lows, t3, s, i, now, sp[SP_AVG_MS], c)
                    verdict = _market_order_check(sp, qty, lo, hi)
                    if verdict < 0:
                        status, why, at_bar = STATUS_UNSUPPORTED, U_MARKET_FILTER, i
                        break
                    # R15: the MARKET BUY locks qty x slipped(last) of the free quote
                    if verdict == 0 and qty * slipped_price(c, slip, True) * mpq <= quote:
                        state = _ENTRY_QUEUED
                        queued_qty = qty
        if exit_now != 0:
            qty = held // sv
            lo, hi = _window_range(highs, lows, t3, s, i, now, sp[SP_AVG_MS], c)
            verdict = _market_order_check(sp, qty, lo, hi)
            if verdict != 0:
                status = STATUS_UNSUPPORTED
                why, at_bar = (U_MARKET_FILTER if verdict < 0 else U_EXIT_REJECTED), i
                break
            state = _EXIT_QUEUED
            queued_qty = qty
            exit_reason = exit_now
        # equity and the hard limits (engine kernel _after_bar, risk.on_equity)
        equity_w = quote * sp[SP_UW] + held * mark * sp[SP_VTW]
        if keep_equity:
            equity[r, i] = equity_w  # W units: the caller converts them to floats exactly
        if held > 0:
            exposure += 1
        day = now - now % _DAY_MS
        if day != day_start:
            day_start = day
            day_equity = equity_w
        if equity_w > peak:
            peak = equity_w
        if not killed:
            kind = 0
            ref = 0
            loss = day_equity - equity_w
            if (
                day_equity > 0
                and loss >= 0
                and _ge_products(loss, 100 * glob[G_DAILY_D], day_equity, glob[G_DAILY_N])
            ):
                kind, ref = 1, day_equity
            drop = peak - equity_w
            if (
                kind == 0
                and peak > 0
                and drop >= 0
                and _ge_products(drop, 100 * glob[G_DD_D], peak, glob[G_DD_N])
            ):
                kind, ref = 2, peak
            if kind != 0:
                killed = True
                summary[r, S_KILL_TIME] = now
                summary[r, S_KILL_KIND] = kind
                summary[r, S_KILL_EQUITY] = equity_w
                summary[r, S_KILL_REF] = ref
                # flatten: cancel what is working; a long is sold at market
                if state == _ENTRY_QUEUED:
                    state = _FLAT
                elif state != _FLAT:
                    qty = held // sv
                    lo, hi = _window_range(highs, lows, t3, s, i, now, sp[SP_AVG_MS], c)
                    verdict = _market_order_check(sp, qty, lo, hi)
                    if verdict != 0:
                        status = STATUS_UNSUPPORTED
                        why, at_bar = (U_MARKET_FILTER if verdict < 0 else U_EXIT_REJECTED), i
                        break
                    state = _EXIT_QUEUED
                    queued_qty = qty
                    exit_reason = REASON_KILL
        summary[r, S_BARS] += 1

    summary[r, S_STATUS] = status
    summary[r, S_AT_BAR] = at_bar
    summary[r, S_UNSUPPORTED] = why
    summary[r, S_TRADES] = n_trades
    summary[r, S_QUOTE] = quote
    summary[r, S_HELD] = held
    summary[r, S_EXPOSURE] = exposure
    summary[r, S_FINAL_EQ] = equity_w
    if held > 0:
        summary[r, S_OPEN] = 1
        summary[r, S_OPEN_TIME] = entry_time
        summary[r, S_OPEN_PRICE] = entry_price
        summary[r, S_OPEN_BOUGHT] = bought
        summary[r, S_OPEN_COMM] = buy_comm
        summary[r, S_OPEN_BAR] = entry_bar


@numba.njit(cache=True, parallel=True)
def simulate(
    opens: np.ndarray,
    highs: np.ndarray,
    lows: np.ndarray,
    closes: np.ndarray,
    marks: np.ndarray,
    times: np.ndarray,
    sym_par: np.ndarray,
    glob: np.ndarray,
    row_par: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    trades: np.ndarray,
    summary: np.ndarray,
    equity: np.ndarray,
) -> None:
    """Run every row (see the module doc); results go into ``trades``, ``summary`` and
    ``equity`` (``[rows, bars]`` int64 in W units, or ``[rows, 0]`` to skip the curves)."""
    for r in prange(row_par.shape[0]):
        _row(
            r,
            opens,
            highs,
            lows,
            closes,
            marks,
            times,
            sym_par,
            glob,
            row_par,
            entries,
            exits,
            trades,
            summary,
            equity,
        )
