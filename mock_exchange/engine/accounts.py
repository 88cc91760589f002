"""Accounts, API keys and the ledger that moves funds between free, locked and fees.

Every movement goes through ``Ledger``, which refuses to take a balance below zero and
records which (account, asset) pairs a command touched, so the engine can emit one
``outboundAccountPosition`` per affected account after the command.

Supply is conserved: funds only move between accounts (commissions go to the fee
account); deposits and withdrawals are the only way in or out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .errors import INSUFFICIENT_BALANCE, rejected
from .types import AccountPosition

FEE_ACCOUNT_ID = 0


class KeyType(StrEnum):
    HMAC = "HMAC"
    ED25519 = "ED25519"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key. ``secret`` is the HMAC secret, or the Ed25519 public key in PEM."""

    key: str
    account_id: int
    type: KeyType
    secret: str
    can_trade: bool = True


class Account:
    __slots__ = (
        "account_id",
        "balances",
        "buyer_rate",
        "can_deposit",
        "can_trade",
        "can_withdraw",
        "maker_rate",
        "name",
        "seller_rate",
        "taker_rate",
        "update_time",
    )

    def __init__(
        self,
        account_id: int,
        name: str,
        *,
        maker_rate: int = 0,
        taker_rate: int = 0,
    ) -> None:
        self.account_id = account_id
        self.name = name
        # Commission rates in units: 0.001 (0.1 %) is 100_000.
        self.maker_rate = maker_rate
        self.taker_rate = taker_rate
        self.buyer_rate = 0
        self.seller_rate = 0
        self.can_trade = True
        self.can_withdraw = True
        self.can_deposit = True
        #: asset -> [free, locked], in units. Insertion order is the order assets appeared.
        self.balances: dict[str, list[int]] = {}
        self.update_time = 0

    def free(self, asset: str) -> int:
        b = self.balances.get(asset)
        return b[0] if b else 0

    def locked(self, asset: str) -> int:
        b = self.balances.get(asset)
        return b[1] if b else 0

    def __repr__(self) -> str:
        return f"Account({self.account_id} {self.name!r} {self.balances})"


class Ledger:
    """All accounts, and the only code that changes a balance.

    The matching engine's trade loop moves funds with the same arithmetic inline (see
    ``MatchingEngine._trade``) rather than through these methods, for speed; it records
    touches in ``_touched`` exactly as ``_balance`` does.
    """

    def __init__(self) -> None:
        self.accounts: dict[int, Account] = {FEE_ACCOUNT_ID: Account(FEE_ACCOUNT_ID, "fees")}
        # (account_id, asset) -> that balance's [free, locked] list: what the current
        # command touched, in touch order (re-touching keeps the first position).
        self._touched: dict[tuple[int, str], list[int]] = {}

    def _balance(self, account_id: int, asset: str) -> list[int]:
        b = self.accounts[account_id].balances.get(asset)
        if b is None:
            b = self.accounts[account_id].balances[asset] = [0, 0]
        self._touched[(account_id, asset)] = b
        return b

    def lock(self, account_id: int, asset: str, amount: int) -> None:
        """Move ``amount`` from free to locked, or refuse with ``-2010`` insufficient balance."""
        b = self._balance(account_id, asset)
        if b[0] < amount:
            raise rejected(INSUFFICIENT_BALANCE)
        b[0] -= amount
        b[1] += amount

    def unlock(self, account_id: int, asset: str, amount: int) -> None:
        b = self._balance(account_id, asset)
        assert b[1] >= amount, (account_id, asset, b, amount)
        b[1] -= amount
        b[0] += amount

    def spend_locked(self, account_id: int, asset: str, amount: int) -> None:
        b = self._balance(account_id, asset)
        assert b[1] >= amount, (account_id, asset, b, amount)
        b[1] -= amount

    def credit(self, account_id: int, asset: str, amount: int) -> None:
        self._balance(account_id, asset)[0] += amount

    def debit_free(self, account_id: int, asset: str, amount: int) -> None:
        if self.accounts[account_id].free(asset) < amount:
            raise rejected(INSUFFICIENT_BALANCE)  # before touching: no empty balance appears
        self._balance(account_id, asset)[0] -= amount

    def has_free(self, account_id: int, asset: str, amount: int) -> bool:
        return self.accounts[account_id].free(asset) >= amount

    def take_positions(self, now: int) -> list[AccountPosition]:
        """One ``AccountPosition`` per account touched since the last call, fee account excluded.

        Accounts come in the order they were first touched, and each lists its touched
        assets in the order they were first touched.
        """
        touched = self._touched
        if not touched:
            return []
        rows_by_account: dict[int, list[tuple[str, int, int]]] = {}
        for (account_id, asset), b in touched.items():
            rows = rows_by_account.get(account_id)
            if rows is None:
                rows_by_account[account_id] = [(asset, b[0], b[1])]
            else:
                rows.append((asset, b[0], b[1]))
        touched.clear()
        rows_by_account.pop(FEE_ACCOUNT_ID, None)
        accounts = self.accounts
        out = []
        for account_id, rows in rows_by_account.items():
            accounts[account_id].update_time = now
            out.append(AccountPosition(account_id, now, rows))
        return out

    def discard_touches(self) -> None:
        self._touched.clear()

    def totals(self) -> dict[str, int]:
        """Total supply per asset across all accounts (free + locked), fee account included."""
        out: dict[str, int] = {}
        for acct in self.accounts.values():
            for asset, (free, locked) in acct.balances.items():
                out[asset] = out.get(asset, 0) + free + locked
        return out
