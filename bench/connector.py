"""Benchmark: our Binance connector against python-binance's ``AsyncClient``, on loopback.

Both clients talk to the local exchange simulator, which runs in a child process so that
its CPU time is not charged to the clients. Measured, in one run:

* latency per request, sequential: a bare ``aiohttp`` request (JSON decoded, nothing else)
  is the floor; a client's *overhead* is its mean latency minus the floor's. Price reads
  (``GET /api/v3/ticker/price``) and signed order placement (``POST /api/v3/order``);
* throughput with 100 concurrent price reads and with 100 concurrent LIMIT orders;
* running at the full weight budget: a simulator whose limit is 600 weight per minute gets
  400 concurrent price reads (800 weight). Our client must draw no 429; python-binance,
  which does not pace itself, is shown for contrast.

Our price reads run with the TTL cache off (every call reaches the server); our orders run
with the default settings (the local filter pre-check reads the cached average price).

Run ``python bench/connector.py`` (about two minutes; ``--quick`` for a smoke run) and the
table lands in BENCHMARKS.md between the ``bench:connector`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import binance
from binance import AsyncClient
from binance.exceptions import BinanceAPIException
from multidict import CIMultiDict, CIMultiDictProxy

from binance_bot.data import default_symbol_rules
from binance_bot.exchange import BinanceConnector
from binance_bot.exchange.binance import RestSettings, wire
from binance_bot.model import Order, OrderStatus, OrderType, Side

REPO = Path(__file__).resolve().parents[1]
KEY = "bench-key-0123456789abcdef"
SECRET = "bench-secret-0123456789abcdef"
SYMBOL = "BTCUSDT"
BUDGET_WEIGHT = 600
BUDGET_REQUESTS = 400
UNLIMITED = 10**9

try:  # the shared section writer, when the benchmark helpers are present
    sys.path.insert(0, str(REPO))
    from bench.common import write_section
except ImportError:  # pragma: no cover - a checkout without bench/common.py

    def write_section(name: str, body: str, path: Path = REPO / "BENCHMARKS.md") -> None:
        """Replace only this benchmark's marked section of BENCHMARKS.md."""
        start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
        block = f"{start}\n{body.strip()}\n{end}"
        text = path.read_text() if path.exists() else "# Benchmarks\n"
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
        text = (
            pattern.sub(lambda _: block, text, count=1)
            if pattern.search(text)
            else f"{text.rstrip()}\n\n{block}\n"
        )
        path.write_text(text)


# ---------------------------------------------------------------------- the simulator process
def _serve(weight_per_minute: int, urls: Any, stop: Any) -> None:
    from binance_bot.simulator import AccountSpec, LimitSettings, MarketSpec, Simulator, SimulatorConfig

    async def run() -> None:
        config = SimulatorConfig(
            market=MarketSpec(symbols=(SYMBOL, "ETHUSDT"), interval="1m", warmup_bars=100),
            accounts=(AccountSpec(KEY, SECRET, {"USDT": Decimal(10_000_000), "BTC": Decimal(100)}),),
            limits=LimitSettings(
                request_weight_per_minute=weight_per_minute,
                orders_per_10s=1_000_000,
                orders_per_day=1_000_000_000,
            ),
        )
        sim = Simulator(config)
        found = await sim.start()
        urls.put(found.rest)
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        await sim.stop()

    asyncio.run(run())


@contextmanager
def simulator(weight_per_minute: int = 6000) -> Iterator[str]:
    ctx = mp.get_context("spawn")
    urls, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_serve, args=(weight_per_minute, urls, stop), daemon=True)
    proc.start()
    try:
        yield urls.get(timeout=60)
    finally:
        stop.set()
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


# ---------------------------------------------------------------------- the three clients
class Raw:
    """The floor: one pooled aiohttp session, a hand-signed query, the JSON decoded."""

    def __init__(self, rest: str) -> None:
        self.rest = rest
        self.session = aiohttp.ClientSession()

    async def price(self) -> Any:
        async with self.session.get(f"{self.rest}/api/v3/ticker/price?symbol={SYMBOL}") as r:
            return await r.json()

    async def order(self, qty: str, price: str, cid: str) -> Any:
        params = {
            "symbol": SYMBOL,
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": qty,
            "price": price,
            "newClientOrderId": cid,
            "timestamp": int(time.time() * 1000),
        }
        query = urlencode(params)
        sig = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
        url = f"{self.rest}/api/v3/order?{query}&signature={sig}"
        async with self.session.post(url, headers={"X-MBX-APIKEY": KEY}) as r:
            return await r.json()

    async def close(self) -> None:
        await self.session.close()


def python_binance(rest: str) -> AsyncClient:
    """AsyncClient 1.0.37 takes no base URL; its URL attributes are public."""
    client = AsyncClient(KEY, SECRET)
    client.API_URL = f"{rest}/api"
    return client


async def cancel_all(rest: str) -> None:
    async with BinanceConnector(KEY, SECRET, base_url=rest) as c:
        await c.exchange.cancel_open_orders(SYMBOL)


# ---------------------------------------------------------------------- measurements
@dataclass
class Series:
    latencies: list[float]

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000


async def sequential(call: Callable[[int], Awaitable[Any]], n: int, offset: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        await call(offset + i)
        out.append(time.perf_counter() - t0)
    return out


async def concurrent(call: Callable[[int], Awaitable[Any]], n: int, offset: int) -> float:
    t0 = time.perf_counter()
    await asyncio.gather(*(call(offset + i) for i in range(n)))
    return n / (time.perf_counter() - t0)


async def latency_and_throughput(rest: str, rounds: int, per_round: int) -> dict[str, Any]:
    raw = Raw(rest)
    pyb = python_binance(rest)
    # 100 pooled connections, as the peers' aiohttp sessions have by default
    reads = BinanceConnector(
        KEY, SECRET, base_url=rest, settings=RestSettings(cache_enabled=False, pool_size=100)
    )
    orders = BinanceConnector(KEY, SECRET, base_url=rest, pool_size=100)
    await reads.start()
    await orders.start()
    price = await reads.get_price(SYMBOL)
    limit = (price * Decimal("0.9")).quantize(Decimal("0.01"))
    qty = "0.00020"
    seq = 0

    def next_ids() -> int:
        nonlocal seq
        seq += 10_000
        return seq

    clients_read: dict[str, Callable[[int], Awaitable[Any]]] = {
        "aiohttp (floor)": lambda i: raw.price(),
        "binance-bot": lambda i: reads.get_price(SYMBOL),
        f"python-binance {binance.__version__}": lambda i: pyb.get_symbol_ticker(symbol=SYMBOL),
    }
    clients_order: dict[str, Callable[[int], Awaitable[Any]]] = {
        "aiohttp (floor)": lambda i: raw.order(qty, str(limit), f"raw-{i}"),
        "binance-bot": lambda i: orders.place_limit_order(
            SYMBOL, "BUY", qty, limit, client_order_id=f"bb-{i}"
        ),
        f"python-binance {binance.__version__}": lambda i: pyb.create_order(
            symbol=SYMBOL,
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity=qty,
            price=str(limit),
            newClientOrderId=f"pb-{i}",
        ),
    }
    names = list(clients_read)
    for call in (*clients_read.values(),):  # warm-up: connections, caches, imports
        for _ in range(20):
            await call(0)
    read_lat: dict[str, list[float]] = {n: [] for n in names}
    order_lat: dict[str, list[float]] = {n: [] for n in names}
    read_tp: dict[str, list[float]] = {n: [] for n in names}
    order_tp: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % 3 :] + names[: r % 3]  # rotate who goes first
        for name in order:
            read_lat[name] += await sequential(clients_read[name], per_round, next_ids())
        for name in order:
            order_lat[name] += await sequential(clients_order[name], min(per_round, 90), next_ids())
            await cancel_all(rest)  # stay under MAX_NUM_ORDERS
        for name in order:
            read_tp[name].append(await concurrent(clients_read[name], 100, next_ids()))
        for name in order:
            order_tp[name].append(await concurrent(clients_order[name], 100, next_ids()))
            await cancel_all(rest)
    metrics = reads.metrics()
    await pyb.close_connection()
    await raw.close()
    await reads.close()
    await orders.close()
    return {
        "names": names,
        "read": {n: Series(v) for n, v in read_lat.items()},
        "order": {n: Series(v) for n, v in order_lat.items()},
        "read_tp": {n: statistics.median(v) for n, v in read_tp.items()},
        "order_tp": {n: statistics.median(v) for n, v in order_tp.items()},
        "our_429": metrics["rate_limited_429"],
    }


async def full_budget_ours(rest: str) -> dict[str, Any]:
    c = BinanceConnector(KEY, SECRET, base_url=rest, settings=RestSettings(cache_enabled=False))
    await c.start()
    t0 = time.perf_counter()
    results = await asyncio.gather(
        *(c.get_price(SYMBOL) for _ in range(BUDGET_REQUESTS)), return_exceptions=True
    )
    elapsed = time.perf_counter() - t0
    m = c.metrics()
    await c.close()
    failures = [r for r in results if isinstance(r, BaseException)]
    return {
        "ok": len(results) - len(failures),
        "failed": len(failures),
        "429": m["rate_limited_429"],
        "418": 1 if m["banned_until_ms"] else 0,
        "elapsed": elapsed,
        "max_server_weight": m["rate_limits"]["REQUEST_WEIGHT_1M"]["server_peak"],
    }


async def full_budget_python_binance(rest: str) -> dict[str, Any]:
    client = python_binance(rest)
    t0 = time.perf_counter()
    results = await asyncio.gather(
        *(client.get_symbol_ticker(symbol=SYMBOL) for _ in range(BUDGET_REQUESTS)), return_exceptions=True
    )
    elapsed = time.perf_counter() - t0
    await client.close_connection()
    statuses = [r.status_code for r in results if isinstance(r, BinanceAPIException)]
    return {
        "ok": sum(1 for r in results if not isinstance(r, BaseException)),
        "failed": sum(1 for r in results if isinstance(r, BaseException)),
        "429": statuses.count(429),
        "418": statuses.count(418),
        "elapsed": elapsed,
    }


# ---------------------------------------------------------------------- client cost, transport stubbed
class _StubResponse:
    """What both clients read from an aiohttp response, served from memory."""

    def __init__(self, body: bytes, headers: Any) -> None:
        self.body, self.status, self.headers = body, 200, headers

    async def read(self) -> bytes:
        return self.body

    async def text(self) -> str:
        return self.body.decode()

    async def json(self, **_: Any) -> Any:
        return json.loads(self.body)

    async def __aenter__(self) -> _StubResponse:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


class _StubSession:
    """Stands in for the aiohttp session of either client: the same canned answers, so the
    time left is what each client does around a request, in Python, per call."""

    def __init__(self) -> None:
        order = Order(
            SYMBOL, 7, "x", Side.BUY, OrderType.LIMIT, OrderStatus.NEW, Decimal("0.0002"),
            price=Decimal("54106.80"), time=1, update_time=1, working_time=1,
        )  # fmt: skip
        self.price = json.dumps(wire.write_ticker_price(SYMBOL, Decimal("60118.67"))).encode()
        self.avg = json.dumps(wire.write_avg_price(Decimal("60100"), 5, 1)).encode()
        self.order = json.dumps(wire.write_order_response(order, "FULL")).encode()
        self.headers = CIMultiDictProxy(
            CIMultiDict(
                {
                    "Content-Type": "application/json",
                    "X-MBX-USED-WEIGHT-1M": "10",
                    "X-MBX-ORDER-COUNT-10S": "1",
                }
            )
        )

    def _answer(self, url: Any) -> _StubResponse:
        path = str(url).split("?", 1)[0]
        body = (
            self.price
            if path.endswith("ticker/price")
            else self.avg
            if path.endswith("avgPrice")
            else self.order
        )
        return _StubResponse(body, self.headers)

    def request(self, method: str, url: Any, **_: Any) -> _StubResponse:
        return self._answer(url)

    def get(self, url: Any, **_: Any) -> _StubResponse:
        return self._answer(url)

    def post(self, url: Any, **_: Any) -> _StubResponse:
        return self._answer(url)

    async def close(self) -> None:
        return None


async def client_cost(rounds: int, per_round: int) -> dict[str, dict[str, float]]:
    """Median microseconds per call of each client's own work (the transport stubbed)."""
    no_limits = [
        wire.RateLimit("REQUEST_WEIGHT", "MINUTE", 1, 10**12),
        wire.RateLimit("ORDERS", "SECOND", 10, 10**12),
        wire.RateLimit("RAW_REQUESTS", "MINUTE", 5, 10**12),
    ]
    reads = BinanceConnector(
        KEY, SECRET, base_url="http://127.0.0.1:1", settings=RestSettings(cache_enabled=False)
    )
    orders = BinanceConnector(KEY, SECRET, base_url="http://127.0.0.1:1")
    for c in (reads, orders):
        c.rest._session = _StubSession()  # type: ignore[assignment]
        c.rest.limiter.configure(no_limits)  # budgets are counted, never waited for
        c.exchange._rules[SYMBOL] = default_symbol_rules(SYMBOL)
        c.exchange._rules_at[SYMBOL] = float("inf")
    peer = AsyncClient(KEY, SECRET)
    await peer.session.close()
    peer.session = _StubSession()  # type: ignore[assignment]
    limit = Decimal("54106.80")
    calls: dict[str, dict[str, Callable[[int], Awaitable[Any]]]] = {
        "binance-bot": {
            "read": lambda i: reads.get_price(SYMBOL),
            "order": lambda i: orders.place_limit_order(
                SYMBOL, "BUY", "0.0002", limit, client_order_id=f"c{i}"
            ),
        },
        f"python-binance {binance.__version__}": {
            "read": lambda i: peer.get_symbol_ticker(symbol=SYMBOL),
            "order": lambda i: peer.create_order(
                symbol=SYMBOL,
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.0002",
                price="54106.80",
                newClientOrderId=f"p{i}",
            ),
        },
    }
    samples: dict[str, dict[str, list[float]]] = {n: {"read": [], "order": []} for n in calls}
    for r in range(rounds + 1):
        for name, kinds in calls.items():
            for kind, call in kinds.items():
                t0 = time.perf_counter()
                for i in range(per_round):
                    await call(r * per_round + i)
                if r:  # the first round warms up
                    samples[name][kind].append((time.perf_counter() - t0) / per_round * 1e6)
    return {n: {k: statistics.median(v) for k, v in kinds.items()} for n, kinds in samples.items()}


# ---------------------------------------------------------------------- report
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def report(
    lat: dict[str, Any],
    cost: dict[str, dict[str, float]],
    ours_budget: dict[str, Any],
    pyb_budget: dict[str, Any],
    rounds: int,
    n: int,
) -> str:
    names = lat["names"]
    floor, ours, peer = names
    lines = [
        "## Binance connector (`bench/connector.py`)",
        "",
        f"Against the local simulator in a child process on loopback; {rounds} interleaved rounds of "
        f"{n} sequential requests per client (orders: up to 90 per round), then 100 concurrent "
        f"requests per client per round (median of {rounds}); every client pools 100 connections. "
        f"Machine: {cpu_model()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, aiohttp {aiohttp.__version__}; "
        f"load average {os.getloadavg()[0]:.2f} at the end (the machine is shared: the numbers are noisy).",
        "",
        "| client | price read mean / p50 (ms) | p50 overhead vs floor (ms) | order mean / p50 (ms) | p50 overhead vs floor (ms) | 100 concurrent reads (req/s) | 100 concurrent orders (req/s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        r, o = lat["read"][name], lat["order"][name]
        ro = "-" if name == floor else f"{r.p50_ms - lat['read'][floor].p50_ms:+.3f}"
        oo = "-" if name == floor else f"{o.p50_ms - lat['order'][floor].p50_ms:+.3f}"
        lines.append(
            f"| {name} | {r.mean_ms:.3f} / {r.p50_ms:.3f} | {ro} | {o.mean_ms:.3f} / {o.p50_ms:.3f} | {oo} "
            f"| {lat['read_tp'][name]:,.0f} | {lat['order_tp'][name]:,.0f} |"
        )
    ours_read = lat["read"][ours].p50_ms - lat["read"][floor].p50_ms
    peer_read = lat["read"][peer].p50_ms - lat["read"][floor].p50_ms
    ours_order = lat["order"][ours].p50_ms - lat["order"][floor].p50_ms
    peer_order = lat["order"][peer].p50_ms - lat["order"][floor].p50_ms

    def ratio(a: float, b: float) -> str:
        if a > 0 and b > 0:
            return f"{a / b:.2f}x"
        return f"not a ratio (ours {a * 1000:+.0f} µs, peer {b * 1000:+.0f} µs: within noise)"

    ours_cost, peer_cost = cost["binance-bot"], cost[peer]
    lines += [
        "",
        f"Median latency overhead over the floor, ours / python-binance: price reads {ratio(ours_read, peer_read)}, "
        f"orders {ratio(ours_order, peer_order)} (target: at most 0.5x).",
        "",
        "Each client's own work per call, measured apart from the network: both clients' aiohttp "
        "sessions replaced by one that answers from memory with the same bytes (rate limits "
        "counted but never waited for; median of "
        f"{rounds} rounds):",
        "",
        "| client | price read (µs) | LIMIT order (µs) |",
        "|---|---|---|",
        f"| binance-bot | {ours_cost['read']:.1f} | {ours_cost['order']:.1f} |",
        f"| {peer} | {peer_cost['read']:.1f} | {peer_cost['order']:.1f} |",
        f"| ratio | {ours_cost['read'] / peer_cost['read']:.2f}x | {ours_cost['order'] / peer_cost['order']:.2f}x |",
        "",
        "Per call, ours also checks the rate-limit budgets and the circuit breaker, records "
        "metrics, and returns model types with exact `Decimal` money; per order it quantizes to "
        "the symbol's filters, pre-checks them (with the cached average price), and parses the "
        "FULL response into an `Order`. python-binance sends what it is given and returns the "
        "decoded JSON.",
        "",
        f"Full weight budget: a simulator limited to {BUDGET_WEIGHT} weight per minute, "
        f"{BUDGET_REQUESTS} concurrent price reads (weight 2 each, {2 * BUDGET_REQUESTS} in all).",
        "",
        "| client | succeeded | failed | HTTP 429 | HTTP 418 | elapsed (s) |",
        "|---|---|---|---|---|---|",
        f"| binance-bot | {ours_budget['ok']} | {ours_budget['failed']} | {ours_budget['429']} | "
        f"{ours_budget['418']} | {ours_budget['elapsed']:.1f} |",
        f"| {peer} | {pyb_budget['ok']} | {pyb_budget['failed']} | {pyb_budget['429']} | "
        f"{pyb_budget['418']} | {pyb_budget['elapsed']:.1f} |",
        "",
        "Ours waits for the sliding window (plus a 1 s margin) instead of drawing 429s; the highest "
        f"`X-MBX-USED-WEIGHT-1M` it saw was {ours_budget['max_server_weight']} of {BUDGET_WEIGHT}.",
    ]
    return "\n".join(lines)


async def amain(quick: bool) -> str:
    rounds, n = (2, 50) if quick else (5, 200)
    cost = await client_cost(rounds + 2, 2000 if not quick else 500)
    with simulator(UNLIMITED) as rest:  # latency and throughput: no limit in the way
        lat = await latency_and_throughput(rest, rounds, n)
    with simulator(BUDGET_WEIGHT) as rest:
        ours_budget = await full_budget_ours(rest)
    with simulator(BUDGET_WEIGHT) as rest:
        pyb_budget = await full_budget_python_binance(rest)
    return report(lat, cost, ours_budget, pyb_budget, rounds, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds; do not write BENCHMARKS.md")
    args = parser.parse_args()
    body = asyncio.run(amain(args.quick))
    print(body)
    if not args.quick:
        write_section("connector", body)


if __name__ == "__main__":
    main()
