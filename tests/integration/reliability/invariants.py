"""The invariants a trading run must keep, judged against the exchange's own records.

Every check compares what the bot wrote in its state store with what the simulator's
matching engine holds for the bot's account (orders, trades, balances). The engine is the
truth: a crash, a lost answer or a doubled message can make the bot's belief wrong, and
that is exactly what these checks are there to catch.

* **unique client order ids**: no client order id was ever used by two exchange orders
  (a retry or a restart that re-sends under a new id shows up in the next check);
* **one entry per signal**: no BUY was placed while the symbol still held the long of an
  earlier entry (a second entry for the same signal would do exactly that);
* **protection**: every long the exchange says we hold has an open SELL on the exchange
  (the OCO legs, or the stop-limit leg left after a gap) covering it;
* **ledger = exchange**: the stored fills are the exchange's trades, field by field; the
  balances they imply (starting balances plus every fill) are the exchange's balances to
  the last unit; the stored positions and closed trades are what the stored fills imply.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from binance_bot.engine.portfolio import Portfolio
from binance_bot.matching import MatchingEngine
from binance_bot.model import Fill, Order, Side, SymbolRules

ZERO = Decimal(0)
ALL = 10**9
"""A ``limit`` larger than any history a campaign makes: the engine's queries return all."""


# ---------------------------------------------------------------------- the exchange side
@dataclass(frozen=True)
class ExchangeView:
    """The simulator's records of one account, read synchronously from its matching engine."""

    engine: MatchingEngine
    account: str
    quote: str = "USDT"

    @property
    def symbols(self) -> list[str]:
        return self.engine.symbols()

    def rules(self, symbol: str) -> SymbolRules:
        return self.engine.rules(symbol)

    def orders(self, symbol: str) -> list[Order]:
        return self.engine.all_orders(self.account, symbol, limit=ALL)

    def all_orders(self) -> list[Order]:
        return [o for s in self.symbols for o in self.orders(s)]

    def trades(self, symbol: str) -> list[Fill]:
        return self.engine.my_trades(self.account, symbol, limit=ALL)

    def all_trades(self) -> list[Fill]:
        return [t for s in self.symbols for t in self.trades(s)]

    def balances(self) -> dict[str, Decimal]:
        return {b.asset: b.total for b in self.engine.balances(self.account)}

    def open_sell_cover(self, symbol: str) -> Decimal:
        """The largest quantity one open SELL of ours could still sell (OCO legs share one
        quantity, so they are not added up)."""
        return max(
            (
                o.orig_qty - o.executed_qty
                for o in self.engine.open_orders(self.account, symbol)
                if o.side is Side.SELL
            ),
            default=ZERO,
        )


def replay(fills: Iterable[Fill], rules: Mapping[str, SymbolRules], quote: str) -> Portfolio:
    """Account fills (oldest first per symbol) the way the bot does: open longs and round trips."""
    portfolio = Portfolio(quote_asset=quote, rules=dict(rules))
    for fill in sorted(fills, key=lambda f: (f.symbol, f.trade_id)):
        if fill.side is Side.BUY:
            portfolio.apply_buy(fill)
        else:
            portfolio.apply_sell(fill)
    return portfolio


def implied_balances(
    fills: Iterable[Fill], initial: Mapping[str, Decimal], rules: Mapping[str, SymbolRules]
) -> dict[str, Decimal]:
    """Starting balances moved by every fill: what the account must hold if the fills are all."""
    out: dict[str, Decimal] = {k: Decimal(v) for k, v in initial.items()}
    for f in fills:
        r = rules[f.symbol]
        base, quote = r.base_asset, r.quote_asset
        value = f.price * f.qty
        sign = 1 if f.side is Side.BUY else -1
        out[base] = out.get(base, ZERO) + sign * f.qty
        out[quote] = out.get(quote, ZERO) - sign * value
        out[f.commission_asset] = out.get(f.commission_asset, ZERO) - f.commission
    return out


# ---------------------------------------------------------------------- the bot's side
def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


@dataclass(frozen=True)
class StoredPosition:
    symbol: str
    qty: Decimal
    opened_at: int


@dataclass(frozen=True)
class StoreSnapshot:
    """One consistent read of the bot's SQLite state (a single read transaction).

    It is read with ``sqlite3`` inside ``BEGIN``, so a bot process committing at the same
    time can never show us a fill without the position it changed.
    """

    fills: list[Fill] = field(default_factory=list)
    positions: dict[str, StoredPosition] = field(default_factory=dict)
    trades: int = 0
    intents: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """client order id -> (symbol, purpose, state)."""
    runs: list[tuple[str, str]] = field(default_factory=list)
    """(run id, status) in start order."""

    @classmethod
    def read(cls, path: Path) -> StoreSnapshot:
        if not path.exists():
            return cls()
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=10)
        try:
            con.execute("BEGIN")
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "fills" not in names:
                return cls()
            fills = [
                Fill(
                    symbol=r[0],
                    order_id=int(r[1]),
                    client_order_id=r[2],
                    trade_id=int(r[3]),
                    side=Side(r[4]),
                    price=_dec(r[5]),
                    qty=_dec(r[6]),
                    commission=_dec(r[7]),
                    commission_asset=r[8],
                    time=int(r[9]),
                    is_maker=bool(r[10]),
                )
                for r in con.execute(
                    "SELECT symbol, order_id, client_order_id, trade_id, side, price, qty, commission,"
                    " commission_asset, time, is_maker FROM fills"
                )
            ]
            positions = {
                r[0]: StoredPosition(r[0], _dec(r[1]), int(r[2]))
                for r in con.execute("SELECT symbol, qty, opened_at FROM positions")
            }
            trades = int(con.execute("SELECT count(*) FROM trades").fetchone()[0])
            intents = {
                r[0]: (r[1], r[2], r[3])
                for r in con.execute("SELECT client_order_id, symbol, purpose, state FROM order_intents")
            }
            runs = [(r[0], r[1]) for r in con.execute("SELECT run_id, status FROM runs ORDER BY started_at")]
            con.execute("COMMIT")
        finally:
            con.close()
        return cls(fills=fills, positions=positions, trades=trades, intents=intents, runs=runs)


# ---------------------------------------------------------------------- the invariants
def duplicate_client_order_ids(view: ExchangeView) -> list[str]:
    counts = Counter(o.client_order_id for o in view.all_orders())
    return [f"client order id {coid} used by {n} exchange orders" for coid, n in counts.items() if n > 1]


def entries_while_long(view: ExchangeView) -> list[str]:
    """BUY orders placed while the exchange's fills already made the symbol long.

    Fills of earlier orders in the same millisecond count as earlier, so a position closed
    by a fill and re-entered in the same instant is not mistaken for a doubled entry.
    """
    problems: list[str] = []
    for symbol in view.symbols:
        portfolio = Portfolio(quote_asset=view.quote, rules={symbol: view.rules(symbol)})
        fills = sorted(view.trades(symbol), key=lambda f: (f.time, f.order_id, f.trade_id))
        buys = sorted(
            (o for o in view.orders(symbol) if o.side is Side.BUY), key=lambda o: (o.time, o.order_id)
        )
        i = 0
        for order in buys:
            # earlier fills, and fills of earlier orders in the same millisecond; never its own
            while i < len(fills) and (fills[i].time, fills[i].order_id) < (order.time, order.order_id):
                fill = fills[i]
                i += 1
                if fill.side is Side.BUY:
                    portfolio.apply_buy(fill)
                else:
                    portfolio.apply_sell(fill)
            long = portfolio.position(symbol)
            if long is not None and long.held > 0:
                problems.append(
                    f"{symbol}: BUY {order.client_order_id} placed at {order.time} while holding {long.held} "
                    f"from {long.entry_client_order_id}"
                )
    return problems


def exchange_longs(view: ExchangeView) -> dict[str, Decimal]:
    """Longs the exchange's trades say the account holds (symbol -> quantity held)."""
    rules = {s: view.rules(s) for s in view.symbols}
    portfolio = replay(view.all_trades(), rules, view.quote)
    return {s: p.held for s, p in portfolio.longs.items() if p.held > 0}


def unprotected_longs(view: ExchangeView) -> dict[str, Decimal]:
    """Longs without an open SELL on the exchange that covers at least half of them."""
    out = {}
    for symbol, held in exchange_longs(view).items():
        if view.open_sell_cover(symbol) * 2 < held:
            out[symbol] = held
    return out


def entries_without_protection(view: ExchangeView) -> list[str]:
    """Filled entries whose next order on the symbol was not a SELL (an OCO leg or an exit).

    Right after an entry fills the bot places the OCO (or, while stopping, sells): a BUY or
    nothing at all after a filled entry means a position was left to the market.
    """
    problems = []
    for symbol in view.symbols:
        orders = sorted(view.orders(symbol), key=lambda o: o.order_id)
        for i, order in enumerate(orders):
            if order.side is not Side.BUY or order.executed_qty <= 0:
                continue
            nxt = orders[i + 1] if i + 1 < len(orders) else None
            if nxt is None or nxt.side is not Side.SELL:
                problems.append(
                    f"{symbol}: entry {order.client_order_id} filled {order.executed_qty} and the next order "
                    f"was {'none' if nxt is None else nxt.client_order_id}"
                )
    return problems


def _fill_key(f: Fill) -> tuple[Any, ...]:
    """What must match: the money. (A FULL order response dates its fills by the order's
    transact time, which a running simulator stamps a moment before the trade itself.)"""
    return (f.order_id, f.side, f.price, f.qty, f.commission, f.commission_asset)


def fills_not_on_exchange(view: ExchangeView, store: StoreSnapshot) -> list[str]:
    """Stored fills the exchange does not have, or has with other values (never allowed)."""
    exchange = {(t.symbol, t.trade_id): t for t in view.all_trades()}
    problems = []
    for f in store.fills:
        theirs = exchange.get((f.symbol, f.trade_id))
        if theirs is None:
            problems.append(f"stored fill {f.symbol}#{f.trade_id} is not an exchange trade")
        elif _fill_key(theirs) != _fill_key(f):
            problems.append(
                f"stored fill {f.symbol}#{f.trade_id} differs from the exchange's: "
                f"{_fill_key(f)} != {_fill_key(theirs)}"
            )
    return problems


def trades_not_stored(view: ExchangeView, store: StoreSnapshot) -> list[Fill]:
    stored = {(f.symbol, f.trade_id) for f in store.fills}
    return [t for t in view.all_trades() if (t.symbol, t.trade_id) not in stored]


def ledger_mismatches(view: ExchangeView, store: StoreSnapshot, initial: Mapping[str, Decimal]) -> list[str]:
    """Ledger = exchange, exactly; only meaningful while the bot is not trading (see module)."""
    problems = fills_not_on_exchange(view, store)
    missing = trades_not_stored(view, store)
    problems += [
        f"exchange trade {t.symbol}#{t.trade_id} ({t.side.value} {t.qty}) not stored" for t in missing
    ]
    rules = {s: view.rules(s) for s in view.symbols}
    implied = implied_balances(store.fills, initial, rules)
    actual = view.balances()
    for asset in sorted(set(implied) | set(actual)):
        if implied.get(asset, ZERO) != actual.get(asset, ZERO):
            problems.append(
                f"{asset}: the stored fills imply {implied.get(asset, ZERO)}, the exchange holds "
                f"{actual.get(asset, ZERO)}"
            )
    portfolio = replay(store.fills, rules, view.quote)
    for symbol in sorted(set(portfolio.longs) | set(store.positions)):
        want = portfolio.longs.get(symbol)
        have = store.positions.get(symbol)
        if (want.held if want else None) != (have.qty if have else None):
            problems.append(
                f"{symbol}: stored position {have.qty if have else 'none'}, the stored fills imply "
                f"{want.held if want else 'none'}"
            )
    if len(portfolio.closed) != store.trades:
        problems.append(f"{store.trades} stored round trips, the stored fills close {len(portfolio.closed)}")
    return problems


@dataclass
class Verdict:
    """Violations by invariant; empty lists everywhere is a pass."""

    duplicate_client_ids: list[str] = field(default_factory=list)
    double_entries: list[str] = field(default_factory=list)
    unprotected: list[str] = field(default_factory=list)
    ledger: list[str] = field(default_factory=list)

    @property
    def violations(self) -> int:
        return sum(len(v) for v in self.as_dict().values())

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "duplicate_client_ids": self.duplicate_client_ids,
            "double_entries": self.double_entries,
            "unprotected": self.unprotected,
            "ledger": self.ledger,
        }


def settled_verdict(view: ExchangeView, store_path: Path, initial: Mapping[str, Decimal]) -> Verdict:
    """Every invariant, exactly, for a moment when the bot is not trading (stopped or killed
    and recovered)."""
    store = StoreSnapshot.read(store_path)
    return Verdict(
        duplicate_client_ids=duplicate_client_order_ids(view),
        double_entries=entries_while_long(view),
        unprotected=[
            f"{s}: {q} held with no open SELL covering it" for s, q in unprotected_longs(view).items()
        ],
        ledger=ledger_mismatches(view, store, initial),
    )
