"""The campaigns themselves: crash points, random SIGKILLs, and a soak under faults.

Each returns a plain report (counts and violation lists) that the CI tests assert on and
``bench/reliability.py`` turns into RELIABILITY.md. The three share one discipline: after
every restart the bot must, within a bound, bring its ledger back to the exchange's records
and protect every long, without ever having doubled an order.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from tests.integration.reliability.campaign import (
    DASHBOARD_TOKEN,
    BotSettings,
    Campaign,
    CampaignExchange,
    FaultPlan,
)
from tests.integration.reliability.invariants import (
    StoreSnapshot,
    Verdict,
    duplicate_client_order_ids,
    entries_while_long,
    fills_not_on_exchange,
    trades_not_stored,
    unprotected_longs,
)

from binance_bot.model import Side

READY_BOUND_S = 60.0
"""Start-up (imports, reconciliation, history) of one run under faults, at most."""
SETTLE_BOUND_S = 15.0
"""After a restart, the ledger equals the exchange and every long is protected within this."""

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def market_start_ms(hours_back: float) -> int:
    """A market start far enough in the past that market time stays behind the wall clock for
    the whole campaign, as it always is on a real exchange."""
    return int((time.time() - hours_back * 3600) // 60 * 60_000)


def _merge(into: dict[str, list[str]], verdict: Verdict, tag: str) -> None:
    for name, problems in verdict.as_dict().items():
        into.setdefault(name, []).extend(f"{tag}: {p}" for p in problems)


def _order_stats(campaign: Campaign) -> dict[str, int]:
    orders = campaign.exchange.view().all_orders()
    return {
        "orders": len(orders),
        "entries_filled": sum(1 for o in orders if o.side is Side.BUY and o.executed_qty > 0),
        "oco_legs": sum(1 for o in orders if o.order_list_id >= 0),
        "trades": len(campaign.exchange.view().all_trades()),
        "round_trips": StoreSnapshot.read(campaign.store_path).trades,
    }


# ---------------------------------------------------------------------- crash points
@dataclass
class CrashReport:
    points: list[dict[str, Any]] = field(default_factory=list)
    violations: dict[str, list[str]] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def total_violations(self) -> int:
        return sum(len(v) for v in self.violations.values())


async def crash_campaign(
    workdir: Path,
    points: Sequence[str],
    *,
    symbols: Sequence[str],
    speed: float = 60.0,
    reach_bound_s: float = 60.0,
    progress: Progress = _quiet,
) -> CrashReport:
    """For each ``point[:n]``: a run that SIGKILLs itself there, then a normal restart on the
    same state, which must settle (ledger = exchange, longs protected) within the bound."""
    report = CrashReport()
    started = time.monotonic()
    exchange = CampaignExchange(symbols, speed=speed, start_ms=market_start_ms(48))
    await exchange.start()
    campaign = Campaign(workdir, exchange)
    campaign.write_config()
    try:
        for point in points:
            crashing = await campaign.spawn(crash_at=point)
            rc = await crashing.wait(reach_bound_s)
            if rc is None:
                await crashing.ensure_dead()
            restart = await campaign.spawn()
            ready = await restart.wait_ready(READY_BOUND_S)
            verdict, took = await campaign.settle(SETTLE_BOUND_S)
            outcome = {
                "point": point,
                "killed_itself": rc == -9,
                "exit_code": rc,
                "restart_ready": ready,
                "settle_s": round(took, 2),
                "violations": verdict.violations,
            }
            report.points.append(outcome)
            _merge(report.violations, verdict, f"after {point}")
            if rc != -9:
                report.violations.setdefault("crash_point_not_reached", []).append(f"{point}: rc {rc}")
            if not ready:
                report.violations.setdefault("restart_failed", []).append(f"after {point}")
            progress(f"crash at {point}: {outcome}")
            restart.kill()  # the market is frozen and the run settled: nothing is in flight
            await restart.wait(10.0)
            await exchange.resume()
        report.stats = _order_stats(campaign)
    finally:
        await campaign.close()
        await exchange.stop()
    report.wall_s = time.monotonic() - started
    return report


# ---------------------------------------------------------------------- kill -9
@dataclass
class KillReport:
    kills: int = 0
    kills_during_startup: int = 0
    restarts_checked: int = 0
    restarts_settled: int = 0
    violations: dict[str, list[str]] = field(default_factory=dict)
    settle_s: list[float] = field(default_factory=list)
    startup_s: list[float] = field(default_factory=list)
    """From spawn to started (imports, history, reconciliation) for each checked restart."""
    stats: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    final_exit_code: int | None = None

    @property
    def total_violations(self) -> int:
        return sum(len(v) for v in self.violations.values())


async def kill9_campaign(
    workdir: Path,
    kills: int,
    *,
    symbols: Sequence[str],
    speed: float = 60.0,
    trading_window_s: tuple[float, float] = (0.0, 8.0),
    startup_share: float = 0.3,
    seed: int = 1,
    faults: FaultPlan | None = None,
    progress: Progress = _quiet,
) -> KillReport:
    """``kills`` SIGKILLs at random moments of a paper session, each followed by a restart.

    A share of the kills (``startup_share``) strike a run while it starts (loading history,
    reconciling, re-placing protection): a moment drawn from spawn to a little past its usual
    start-up time. The others strike a run that has started and passed its check, at a moment
    drawn from ``trading_window_s`` while it trades. Every run that starts is checked before it
    trades (market frozen, every invariant exactly, within the bound): that is the check of
    the restart after the previous kill. Right after each kill, the invariants that hold at
    any instant (unique ids, one entry per signal, stored fills are exchange trades) are
    checked too. The session ends with a graceful stop and a last exact check.
    """
    rng = random.Random(seed)
    report = KillReport()
    started = time.monotonic()
    exchange = CampaignExchange(symbols, speed=speed, faults=faults, start_ms=market_start_ms(48))
    await exchange.start()
    campaign = Campaign(workdir, exchange)
    campaign.write_config()
    startup_s = 4.0  # learnt from the runs that start, below
    try:
        for i in range(1, kills + 1):
            run = await campaign.spawn()
            during_startup = rng.random() < startup_share
            if during_startup:
                await asyncio.sleep(rng.uniform(0.2, startup_s * 1.2))
                was_ready = run.ready.is_set()
            else:
                if not await run.wait_ready(READY_BOUND_S):
                    report.violations.setdefault("restart_failed", []).append(f"run {run.index}")
                    was_ready = False
                else:
                    startup_s = run.ready_at - run.spawned_at
                    report.startup_s.append(startup_s)
                    verdict, took = await campaign.settle(SETTLE_BOUND_S)
                    report.settle_s.append(took)
                    _merge(report.violations, verdict, f"restart before kill {i}")
                    report.restarts_checked += 1
                    report.restarts_settled += 0 if verdict.violations else 1
                    await exchange.resume()
                    await asyncio.sleep(rng.uniform(*trading_window_s))
                    was_ready = True
            run.kill()
            await run.wait(10.0)
            report.kills += 1
            report.kills_during_startup += 0 if was_ready else 1
            view = exchange.view()
            store = StoreSnapshot.read(campaign.store_path)
            instant = Verdict(
                duplicate_client_ids=duplicate_client_order_ids(view),
                double_entries=entries_while_long(view),
                ledger=fills_not_on_exchange(view, store),
            )
            _merge(report.violations, instant, f"kill {i}")
            progress(
                f"kill {i}/{kills} {'while starting' if not was_ready else 'while trading'}: "
                f"instant violations {instant.violations}, total {report.total_violations}"
            )
        # the last restart: checked like every other, then a graceful stop and a last check
        run = await campaign.spawn()
        if await run.wait_ready(READY_BOUND_S):
            verdict, took = await campaign.settle(SETTLE_BOUND_S)
            report.settle_s.append(took)
            _merge(report.violations, verdict, "the last restart")
            report.restarts_checked += 1
            report.restarts_settled += 0 if verdict.violations else 1
            await exchange.resume()
            await asyncio.sleep(2.0)  # trading again, with its signal handlers installed
            run.terminate()
            report.final_exit_code = await run.wait(30.0)
            verdict, _ = await campaign.settle(SETTLE_BOUND_S)
            _merge(report.violations, verdict, "after the final graceful stop")
        else:
            report.violations.setdefault("restart_failed", []).append("the last restart")
        report.stats = _order_stats(campaign)
    finally:
        await campaign.close()
        await exchange.stop()
    report.wall_s = time.monotonic() - started
    return report


# ---------------------------------------------------------------------- soak
@dataclass
class SoakReport:
    duration_s: float = 0.0
    symbols: int = 0
    checks: int = 0
    violations: dict[str, list[str]] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    fault_plan: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    bars_processed: dict[str, int] = field(default_factory=dict)
    bars_closed: dict[str, int] = field(default_factory=dict)
    worst_unprotected_s: float = 0.0
    worst_unstored_s: float = 0.0
    rss_kib: list[tuple[float, int]] = field(default_factory=list)
    rss_slope_kib_per_min: float = 0.0
    exit_code: int | None = None
    dashboard: dict[str, Any] = field(default_factory=dict)

    @property
    def total_violations(self) -> int:
        return sum(len(v) for v in self.violations.values())


def slope_per_minute(samples: Sequence[tuple[float, int]]) -> float:
    """Least-squares slope of (seconds, KiB) samples, in KiB per minute."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mx = sum(t for t, _ in samples) / n
    my = sum(v for _, v in samples) / n
    var = sum((t - mx) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    return sum((t - mx) * (v - my) for t, v in samples) / var * 60


async def _scrape(session: aiohttp.ClientSession, base: str) -> dict[str, dict[str, float]]:
    """``/metrics`` of the bot's dashboard as {metric: {labels: value}}."""
    headers = {"Authorization": f"Bearer {DASHBOARD_TOKEN}"}
    async with session.get(f"{base}/metrics", headers=headers) as resp:
        resp.raise_for_status()
        text = await resp.text()
    out: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        name, _, labels = name_labels.partition("{")
        out.setdefault(name, {})[labels.rstrip("}")] = float(value)
    return out


async def soak(
    workdir: Path,
    duration_s: float,
    *,
    symbols: Sequence[str],
    speed: float = 60.0,
    faults: FaultPlan | None = None,
    protection_bound_s: float = 30.0,
    store_lag_bound_s: float = 30.0,
    check_every_s: float = 1.0,
    rss_every_s: float = 5.0,
    drain_s: float = 5.0,
    progress: Progress = _quiet,
) -> SoakReport:
    """A paper session under faults for ``duration_s``, checked continuously.

    While it runs: client order ids unique and one entry per signal (every check), stored
    fills are exchange trades (every check), an exchange trade missing from the store for
    longer than ``store_lag_bound_s`` and a long unprotected for longer than
    ``protection_bound_s`` are violations, RSS sampled. At the end (market frozen): bars
    processed per symbol (the bot's own metrics) equal to the bars the simulator closed after
    the bot's history; the dashboard probed; a graceful stop that leaves every long protected;
    and a restart after which every invariant holds exactly.
    """
    report = SoakReport(symbols=len(symbols))
    plan = faults or FaultPlan()
    report.fault_plan = plan.describe()
    exchange = CampaignExchange(symbols, speed=speed, faults=plan, start_ms=market_start_ms(48))
    await exchange.start()
    campaign = Campaign(workdir, exchange, BotSettings(dashboard=True))
    campaign.write_config()
    unprotected_since: dict[str, float] = {}
    first_seen: dict[tuple[str, int], float] = {}
    try:
        # start on a frozen market, so the history the bot loads ends exactly where the bars
        # it must process begin: the bar in progress now is the first one it decides on
        await exchange.freeze()
        first_live = {s: _bar_in_progress(exchange, s) for s in symbols}
        run = await campaign.spawn()
        if not await run.wait_ready(READY_BOUND_S):
            report.violations["start_failed"] = [f"the bot did not start (see {run.output})"]
            return report
        await exchange.resume()
        t0 = time.monotonic()
        next_rss = t0
        while time.monotonic() - t0 < duration_s:
            await asyncio.sleep(check_every_s)
            now = time.monotonic()
            if not run.running:
                report.violations.setdefault("bot_exited", []).append(
                    f"exit code {run.proc and run.proc.returncode}"
                )
                break
            view = exchange.view()
            store = StoreSnapshot.read(campaign.store_path)
            instant = Verdict(
                duplicate_client_ids=duplicate_client_order_ids(view),
                double_entries=entries_while_long(view),
                ledger=fills_not_on_exchange(view, store),
            )
            _merge(report.violations, instant, f"t={now - t0:.0f}s")
            for t in trades_not_stored(view, store):
                key = (t.symbol, t.trade_id)
                lag = now - first_seen.setdefault(key, now)
                report.worst_unstored_s = max(report.worst_unstored_s, lag)
                if lag > store_lag_bound_s:
                    report.violations.setdefault("ledger", []).append(
                        f"t={now - t0:.0f}s: exchange trade {t.symbol}#{t.trade_id} unstored for {lag:.0f} s"
                    )
                    first_seen[key] = now  # report each stuck trade once per bound
            exposed = unprotected_longs(view)
            for symbol in list(unprotected_since):
                if symbol not in exposed:
                    del unprotected_since[symbol]
            for symbol in exposed:
                since = unprotected_since.setdefault(symbol, now)
                report.worst_unprotected_s = max(report.worst_unprotected_s, now - since)
                if now - since > protection_bound_s:
                    report.violations.setdefault("unprotected", []).append(
                        f"t={now - t0:.0f}s: {symbol} unprotected for {now - since:.0f} s"
                    )
                    unprotected_since[symbol] = now
            report.checks += 1
            if now >= next_rss:
                rss = run.rss_kib()
                if rss is not None:
                    report.rss_kib.append((round(now - t0, 1), rss))
                next_rss = now + rss_every_s
                progress(
                    f"t={now - t0:.0f}s checks {report.checks} violations {report.total_violations} "
                    f"rss {rss} KiB orders {len(view.all_orders())} faults {exchange.fault_counts()}"
                )
        report.duration_s = time.monotonic() - t0
        # the end: faults off, a few more bars (a gap is repaired when a later bar reveals
        # it), then the market frozen and the bot's own count of bars read until it caught up
        exchange.clear_faults()
        await asyncio.sleep(drain_s)
        await exchange.freeze()
        if run.dashboard_url is None:
            report.violations.setdefault("bars", []).append("the dashboard's metrics were not reachable")
        else:
            report.dashboard = await probe_dashboard(run.dashboard_url, workdir / "pages")
            expected = {s: (_bar_in_progress(exchange, s) - first_live[s]) // 60_000 for s in symbols}
            processed = await _bars_caught_up(run.dashboard_url, expected)
            for symbol in symbols:
                report.bars_processed[symbol] = processed.get(symbol, -1)
                report.bars_closed[symbol] = expected[symbol]
                if report.bars_processed[symbol] != report.bars_closed[symbol]:
                    report.violations.setdefault("bars", []).append(
                        f"{symbol}: {report.bars_processed[symbol]} bars processed, the simulator closed "
                        f"{report.bars_closed[symbol]} after the history"
                    )
        run.terminate()
        report.exit_code = await run.wait(30.0)
        if report.exit_code != 0:
            report.violations.setdefault("shutdown", []).append(f"exit code {report.exit_code} on SIGTERM")
        # a graceful stop keeps every long protected; what it left in flight (a fill not yet
        # heard of) the next start reconciles: one more run, checked exactly, then stopped
        view = exchange.view()
        stopped = Verdict(
            duplicate_client_ids=duplicate_client_order_ids(view),
            double_entries=entries_while_long(view),
            unprotected=[
                f"{s}: {q} held with no open SELL covering it" for s, q in unprotected_longs(view).items()
            ],
            ledger=fills_not_on_exchange(view, StoreSnapshot.read(campaign.store_path)),
        )
        _merge(report.violations, stopped, "right after the graceful stop")
        restart = await campaign.spawn()
        if await restart.wait_ready(READY_BOUND_S):
            verdict, _ = await campaign.settle(SETTLE_BOUND_S)
            _merge(report.violations, verdict, "after the restart that follows")
            restart.terminate()
            await restart.wait(30.0)
        else:
            report.violations.setdefault("restart_failed", []).append("the restart after the soak")
        report.faults = exchange.fault_counts()
        if exchange.bans_418:
            report.violations.setdefault("418", []).append(f"{exchange.bans_418} requests answered 418")
        report.stats = _order_stats(campaign)
        report.rss_slope_kib_per_min = slope_per_minute(report.rss_kib[len(report.rss_kib) // 4 :])
    finally:
        await campaign.close()
        await exchange.stop()
    return report


DASHBOARD_PAGES = (
    "/",
    "/metrics",
    "/api/snapshot",
    "/api/status",
    "/api/positions",
    "/api/orders",
    "/api/trades",
    "/api/equity",
    "/api/statistics",
    "/api/rejections",
    "/api/logs",
)


async def probe_dashboard(base: str, pages_dir: Path) -> dict[str, Any]:
    """The running bot's dashboard, from outside: every page without the token (401), with
    it (saved under ``pages_dir`` to be searched for secrets), and an action from a browser
    session that lacks its CSRF token (403). Nothing is changed: the action is refused."""
    out: dict[str, Any] = {"loopback": base.startswith("http://127.0.0.1:")}
    bearer = {"Authorization": f"Bearer {DASHBOARD_TOKEN}"}
    pages: dict[str, bytes] = {}
    async with aiohttp.ClientSession() as http:
        refused = 0
        for path in (*DASHBOARD_PAGES, "/api/pause"):
            method = http.post if path == "/api/pause" else http.get
            async with method(base + path) as resp:
                refused += resp.status == 401
        out["without_token_401"] = f"{refused}/{len(DASHBOARD_PAGES) + 1}"
        for path in DASHBOARD_PAGES:
            async with http.get(base + path, headers=bearer) as resp:
                pages[path] = await resp.read()
                out.setdefault("with_token_200", 0)
                out["with_token_200"] += resp.status == 200
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(f"{base}/?token={DASHBOARD_TOKEN}") as resp:
            out["login"] = resp.status
        async with browser.post(base + "/api/pause") as resp:
            out["action_without_csrf"] = resp.status
    out["pages_saved"] = _save_pages(pages_dir, pages)
    return out


def _save_pages(folder: Path, pages: dict[str, bytes]) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for path, body in pages.items():
        (folder / (path.strip("/").replace("/", "_") or "index")).write_bytes(body)
    return len(pages)


async def _bars_caught_up(base: str, expected: dict[str, int], *, bound_s: float = 30.0) -> dict[str, int]:
    """Bars processed per symbol (the bot's own count), read until it reaches ``expected``
    (the market is stopped, so nothing more is coming) or the bound passes."""
    counts: dict[str, int] = {}
    deadline = time.monotonic() + bound_s
    async with aiohttp.ClientSession() as http:
        while True:
            metrics = await _scrape(http, base)
            family = metrics.get("binance_bot_bars_processed_total") or metrics.get(
                "binance_bot_bars_processed", {}
            )
            counts = {k.split('"')[1]: int(v) for k, v in family.items() if '"' in k}
            if all(counts.get(s, -1) >= n for s, n in expected.items()) or time.monotonic() > deadline:
                return counts
            await asyncio.sleep(0.5)


def _bar_in_progress(exchange: CampaignExchange, symbol: str) -> int:
    """Open time of the bar the simulator is building for ``symbol`` (every earlier one closed)."""
    return int(exchange.sim.core.market.status()["symbols"][symbol]["barOpenTime"])
