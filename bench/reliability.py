"""Reliability campaigns at full length, with their figures written to RELIABILITY.md.

    python bench/reliability.py soak --minutes 8        # 24 symbols under every fault
    python bench/reliability.py kill9 --kills 100       # random SIGKILLs, each restarted
    python bench/reliability.py crash                   # every crash point, and repeats
    python bench/reliability.py all                     # the three, one after the other

Each campaign is the one the CI tests run in short form (``tests/integration/reliability``):
the simulator in this process (it outlives every kill), the bot as ``python -m binance_bot
run`` in a child process, the invariants judged against the simulator's own books. Each
rewrites only its own section of RELIABILITY.md. Every run is bounded: it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import CpuWatch, machine, write_section  # noqa: E402
from tests.integration.reliability.campaign import MARKER_KEY, MARKER_SECRET, SYMBOLS_24, issue_faults  # noqa: E402
from tests.integration.reliability.runs import crash_campaign, kill9_campaign, soak  # noqa: E402
from tests.integration.reliability.scan import leaks, written_files  # noqa: E402

RELIABILITY_MD = REPO / "RELIABILITY.md"
KILL_SYMBOLS = SYMBOLS_24[:6]
CRASH_POINTS = (
    "acknowledged",
    "filled",
    "intent_written",
    "order_in_flight",
    "protection_sent",
    "intent_written:3",
    "order_in_flight:4",
    "acknowledged:5",
    "filled:3",
    "protection_sent:2",
    "protection_sent:4",
)

HEADER = """# Reliability

Figures from the campaigns of `bench/reliability.py`, each rerun with the command shown in
its section. The CI runs the same campaigns in short form (`tests/integration/reliability`,
`tests/integration/engine`).
"""


def _command(argv: list[str]) -> str:
    return "python bench/reliability.py " + " ".join(shlex.quote(a) for a in argv)


def _ensure_file() -> None:
    if not RELIABILITY_MD.exists():
        RELIABILITY_MD.write_text(HEADER)


def _machine_line(watch: CpuWatch) -> str:
    m = machine()
    return (
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}; other processes used "
        f"{watch.others_cores():.2f} cores on average during the run."
    )


def _violations_table(violations: dict[str, list[str]]) -> str:
    rows = ["| invariant | violations |", "|---|---:|"]
    names = {
        "duplicate_client_ids": "client order id used twice",
        "double_entries": "second entry while a long was held",
        "unprotected": "long without protection past the bound",
        "ledger": "ledger (fills, balances, positions) != exchange",
        "bars": "bar lost or doubled",
        "418": "418 (IP ban) answers",
        "restart_failed": "restart that did not start",
        "crash_point_not_reached": "crash point not reached",
        "shutdown": "SIGTERM not graceful",
        "bot_exited": "bot exited by itself",
        "start_failed": "bot did not start",
    }
    for key, label in names.items():
        if key in violations or key in ("duplicate_client_ids", "double_entries", "unprotected", "ledger"):
            rows.append(f"| {label} | {len(violations.get(key, []))} |")
    for key in sorted(set(violations) - set(names)):
        rows.append(f"| {key} | {len(violations[key])} |")
    return "\n".join(rows)


def _examples(violations: dict[str, list[str]]) -> str:
    shown = [f"- {p}" for problems in violations.values() for p in problems[:5]]
    return "\n\nFirst violations:\n\n" + "\n".join(shown[:20]) if shown else ""


def _secret_scan(workdir: Path) -> tuple[int, list[str]]:
    files = written_files(workdir)
    return len(files), leaks(files, [MARKER_KEY, MARKER_SECRET])


def _finish(workdir: Path, violations: int) -> int:
    """Keep the campaign's files (logs, outputs, database) only when something went wrong."""
    if violations:
        print(f"violations: the campaign's files are kept in {workdir}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


async def run_soak(args: argparse.Namespace, argv: list[str]) -> int:
    watch = CpuWatch()
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report = await soak(
        workdir,
        args.minutes * 60,
        symbols=SYMBOLS_24[: args.symbols],
        speed=args.speed,
        faults=issue_faults(2.0, seed=args.seed),
        progress=print,
    )
    scanned, found = _secret_scan(workdir)
    if found:
        report.violations.setdefault("secret_leak", []).extend(found)
    rss = report.rss_kib
    body = f"""## Soak under faults

`{_command(argv)}`, started {started}.

{len(report.bars_closed) or args.symbols} symbols (synthetic 1-minute market at {args.speed:g}x:
one bar per symbol per second), strategy `sma_cross` 3/8 with OCO protection, for
{report.duration_s / 60:.1f} minutes under faults: {json.dumps(report.fault_plan)}.
Invariants checked every second ({report.checks} checks), exactly again after the graceful
stop (SIGTERM, exit code {report.exit_code}).

| figure | value |
|---|---:|
| orders placed | {report.stats.get("orders", 0)} |
| entries filled | {report.stats.get("entries_filled", 0)} |
| OCO legs placed | {report.stats.get("oco_legs", 0)} |
| exchange trades (= stored fills) | {report.stats.get("trades", 0)} |
| round trips closed | {report.stats.get("round_trips", 0)} |
| bars processed (all symbols) | {sum(report.bars_processed.values())} |
| bars the simulator closed | {sum(report.bars_closed.values())} |
| longest time a long was unprotected | {report.worst_unprotected_s:.1f} s (bound 30 s) |
| longest time an exchange trade was not yet stored | {report.worst_unstored_s:.1f} s (bound 30 s) |
| RSS first / last sample | {rss[0][1] / 1024 if rss else 0:.0f} / {rss[-1][1] / 1024 if rss else 0:.0f} MiB |
| RSS slope (last three quarters of the run) | {report.rss_slope_kib_per_min:+.0f} KiB/min |
| files searched for the API key and secret (logs, output, report, database, dashboard pages) | {scanned} ({len(found)} hits) |
| dashboard: requests without the token refused (401) | {report.dashboard.get("without_token_401", "n/a")} |
| dashboard: action from a browser session without its CSRF token | HTTP {report.dashboard.get("action_without_csrf", "n/a")} |
| dashboard: bound to loopback | {report.dashboard.get("loopback", "n/a")} |

Faults injected, by kind:

| fault | count |
|---|---:|
""" + "\n".join(f"| {k} | {v} |" for k, v in sorted(report.faults.items()))
    body += f"\n\nViolations (all kinds):\n\n{_violations_table(report.violations)}"
    body += _examples(report.violations)
    body += f"\n\n{_machine_line(watch)}"
    _ensure_file()
    write_section("soak", body, RELIABILITY_MD)
    print(body)
    return _finish(workdir, report.total_violations)


async def run_kill9(args: argparse.Namespace, argv: list[str]) -> int:
    watch = CpuWatch()
    workdir = Path(tempfile.mkdtemp(prefix="kill9-"))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report = await kill9_campaign(
        workdir,
        args.kills,
        symbols=KILL_SYMBOLS,
        speed=args.speed,
        seed=args.seed,
        faults=issue_faults(2.0, seed=args.seed) if args.faults else None,
        progress=print,
    )
    scanned, found = _secret_scan(workdir)
    if found:
        report.violations.setdefault("secret_leak", []).extend(found)
    settle = sorted(report.settle_s)
    startup = sorted(report.startup_s)
    body = f"""## Kill -9 campaign

`{_command(argv)}`, started {started}.

A paper session ({len(KILL_SYMBOLS)} symbols, synthetic 1-minute market at {args.speed:g}x,
`sma_cross` 3/8 with OCO protection{", under the soak's faults" if args.faults else ""}) killed
with SIGKILL {report.kills} times at random moments: {report.kills_during_startup} while a run
was starting (history, reconciliation, re-placing protection), the others while it traded.
Each kill is followed by a restart on the same state database; every restart that starts is
checked with the market frozen (every invariant, exactly) before it trades, within a 15 s
bound. Right after each kill the instant invariants are checked too. The last run stops on
SIGTERM (exit code {report.final_exit_code}).

| figure | value |
|---|---:|
| SIGKILLs | {report.kills} |
| restarts checked (every invariant, exactly) / clean | {report.restarts_checked} / {report.restarts_settled} |
| restart start-up (spawn to started, reconciliation included), median / max | {startup[len(startup) // 2] if startup else 0:.1f} / {startup[-1] if startup else 0:.1f} s |
| then until every invariant held exactly, median / max | {settle[len(settle) // 2] if settle else 0:.2f} / {settle[-1] if settle else 0:.2f} s |
| orders placed | {report.stats.get("orders", 0)} |
| entries filled | {report.stats.get("entries_filled", 0)} |
| OCO legs placed | {report.stats.get("oco_legs", 0)} |
| exchange trades (= stored fills) | {report.stats.get("trades", 0)} |
| round trips closed | {report.stats.get("round_trips", 0)} |
| campaign wall time | {report.wall_s / 60:.1f} min |
| files searched for the API key and secret | {scanned} ({len(found)} hits) |

{_violations_table(report.violations)}{_examples(report.violations)}

{_machine_line(watch)}"""
    _ensure_file()
    write_section("kill9", body, RELIABILITY_MD)
    print(body)
    return _finish(workdir, report.total_violations)


async def run_crash(args: argparse.Namespace, argv: list[str]) -> int:
    watch = CpuWatch()
    workdir = Path(tempfile.mkdtemp(prefix="crash-"))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report = await crash_campaign(
        workdir, CRASH_POINTS, symbols=KILL_SYMBOLS, speed=args.speed, progress=print
    )
    rows = ["| crash point | killed itself | restart settled in | violations |", "|---|---|---:|---:|"]
    for p in report.points:
        rows.append(
            f"| `{p['point']}` | {'yes' if p['killed_itself'] else 'no'} | {p['settle_s']:.2f} s | {p['violations']} |"
        )
    table = "\n".join(rows)
    body = f"""## Crash campaign (order lifecycle)

`{_command(argv)}`, started {started}.

`BINANCE_BOT_CRASH_AT=<point>[:<n>]` makes a run SIGKILL itself the n-th time it reaches the
point (intent written, order on the wire, answer received, fill accounted, OCO
acknowledged); a normal run then restarts on the same state and must settle within 15 s.
The first crashes hit a fresh state, where a first entry's fill is known only to the exchange.

{table}

| figure | value |
|---|---:|
| orders placed | {report.stats.get("orders", 0)} |
| entries filled | {report.stats.get("entries_filled", 0)} |
| exchange trades (= stored fills) | {report.stats.get("trades", 0)} |
| campaign wall time | {report.wall_s / 60:.1f} min |

{_violations_table(report.violations)}{_examples(report.violations)}

{_machine_line(watch)}"""
    _ensure_file()
    write_section("crash", body, RELIABILITY_MD)
    print(body)
    return _finish(workdir, report.total_violations)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="campaign", required=True)
    p_soak = sub.add_parser("soak", help="a paper session under every fault, checked continuously")
    p_soak.add_argument("--minutes", type=float, default=8.0)
    p_soak.add_argument("--symbols", type=int, default=24, choices=range(1, len(SYMBOLS_24) + 1))
    p_kill = sub.add_parser("kill9", help="random SIGKILLs of a paper session, each restarted")
    p_kill.add_argument("--kills", type=int, default=100)
    p_kill.add_argument("--faults", action="store_true", help="also inject the soak's faults")
    sub.add_parser("crash", help="SIGKILL at every step of an order's life, then restart")
    sub.add_parser("all", help="crash, kill9 (100) and soak (8 minutes)")
    for p in sub.choices.values():
        p.add_argument("--speed", type=float, default=60.0, help="market seconds per wall second")
        p.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    runs: list[tuple[Any, list[str]]] = []
    if args.campaign == "all":
        common = ["--speed", str(args.speed), "--seed", str(args.seed)]
        for name, extra in (("crash", []), ("kill9", ["--kills", "100"]), ("soak", ["--minutes", "8"])):
            sub_argv = [name, *extra, *common]
            runs.append((parser.parse_args(sub_argv), sub_argv))
    else:
        runs.append((args, argv))
    code = 0
    for run_args, run_argv in runs:
        fn = {"soak": run_soak, "kill9": run_kill9, "crash": run_crash}[run_args.campaign]
        code |= asyncio.run(fn(run_args, run_argv))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
