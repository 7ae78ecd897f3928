"""Balances per asset, free and locked, moved only by exact ``Decimal`` amounts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from binance_bot.model.numbers import ZERO


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    free: Decimal
    locked: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


class Ledger:
    """A mutable book of balances; every operation refuses to go negative.

    Used by the simulated account and, on the bot side, to mirror the exchange so that
    reconciliation can compare the two exactly.
    """

    def __init__(self, balances: Mapping[str, Decimal] | Iterable[Balance] = ()) -> None:
        self._free: dict[str, Decimal] = {}
        self._locked: dict[str, Decimal] = {}
        if isinstance(balances, Mapping):
            for asset, amount in balances.items():
                self._free[asset] = Decimal(amount)
        else:
            for b in balances:
                self._free[b.asset] = b.free
                self._locked[b.asset] = b.locked

    def free(self, asset: str) -> Decimal:
        return self._free.get(asset, ZERO)

    def locked(self, asset: str) -> Decimal:
        return self._locked.get(asset, ZERO)

    def total(self, asset: str) -> Decimal:
        return self.free(asset) + self.locked(asset)

    def assets(self) -> list[str]:
        return sorted(set(self._free) | set(self._locked))

    def balances(self) -> list[Balance]:
        return [Balance(a, self.free(a), self.locked(a)) for a in self.assets()]

    def credit(self, asset: str, amount: Decimal) -> None:
        if amount < 0:
            raise ValueError(f"credit of a negative amount {amount} {asset}")
        self._free[asset] = self.free(asset) + amount

    def debit(self, asset: str, amount: Decimal) -> None:
        if amount < 0:
            raise ValueError(f"debit of a negative amount {amount} {asset}")
        if amount > self.free(asset):
            raise ValueError(f"debit {amount} {asset} exceeds free {self.free(asset)}")
        self._free[asset] = self.free(asset) - amount

    def lock(self, asset: str, amount: Decimal) -> None:
        self.debit(asset, amount)
        self._locked[asset] = self.locked(asset) + amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        if amount > self.locked(asset):
            raise ValueError(f"unlock {amount} {asset} exceeds locked {self.locked(asset)}")
        self._locked[asset] = self.locked(asset) - amount
        self._free[asset] = self.free(asset) + amount

    def spend_locked(self, asset: str, amount: Decimal) -> None:
        """Take ``amount`` out of the locked part (a resting order was filled)."""
        if amount > self.locked(asset):
            raise ValueError(f"spend {amount} {asset} exceeds locked {self.locked(asset)}")
        self._locked[asset] = self.locked(asset) - amount

    def snapshot(self) -> dict[str, tuple[Decimal, Decimal]]:
        return {a: (self.free(a), self.locked(a)) for a in self.assets()}
