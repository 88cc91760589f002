"""The legacy listenKey endpoints (``/api/v3/userDataStream``), removed from production.

Production answers them with HTTP 410 since 2026-02-20; that is what these endpoints do
unless ``legacy_listen_key`` is on in the configuration, for clients pinned to old
versions. In legacy mode: POST returns the account's active key (extending it) or a new
one, PUT extends a key, DELETE closes it; keys live ``timers.listen_key_validity`` seconds.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import errors as err
from ..auth import Security
from ..errors import BinanceError
from ..service import Request
from . import Endpoint


@dataclass
class ListenKey:
    key: str
    account_id: int
    expires_us: int


@dataclass
class ListenKeys:
    """Active listen keys. ``on_close`` callbacks run when a key is deleted or expires."""

    by_key: dict[str, ListenKey] = field(default_factory=dict)
    on_close: list[Callable[[ListenKey, bool], None]] = field(default_factory=list)
    on_create: list[Callable[[ListenKey], None]] = field(default_factory=list)

    def add(self, lk: ListenKey) -> None:
        self.by_key[lk.key] = lk
        for cb in list(self.on_create):
            cb(lk)

    def for_account(self, account_id: int, now_us: int) -> ListenKey | None:
        for lk in self.by_key.values():
            if lk.account_id == account_id and lk.expires_us > now_us:
                return lk
        return None

    def get(self, key: str, now_us: int) -> ListenKey | None:
        lk = self.by_key.get(key)
        if lk is None or lk.expires_us <= now_us:
            return None
        return lk

    def close(self, lk: ListenKey, expired: bool) -> None:
        self.by_key.pop(lk.key, None)
        for cb in list(self.on_close):
            cb(lk, expired)

    def expire_due(self, now_us: int) -> list[ListenKey]:
        due = [lk for lk in self.by_key.values() if lk.expires_us <= now_us]
        for lk in due:
            self.close(lk, True)
        return due


def _gone() -> BinanceError:
    return BinanceError(-1020, "This operation is not supported.", 410)


def _validity_us(req: Request) -> int:
    return int(req.service.config.timers.listen_key_validity * 1_000_000)


def create(req: Request) -> Any:
    req.done()
    if not req.service.config.legacy_listen_key:
        raise _gone()
    assert req.api_key is not None
    keys = req.service.listen_keys
    lk = keys.for_account(req.api_key.account_id, req.now_us)
    if lk is None:
        lk = ListenKey(secrets.token_urlsafe(48)[:64], req.api_key.account_id, req.now_us + _validity_us(req))
        keys.add(lk)
    lk.expires_us = req.now_us + _validity_us(req)
    return {"listenKey": lk.key}


def _existing(req: Request) -> ListenKey:
    key = req.params.mandatory("listenKey")
    req.done()
    if not req.service.config.legacy_listen_key:
        raise _gone()
    lk = req.service.listen_keys.get(key, req.now_us)
    assert req.api_key is not None
    if lk is None or lk.account_id != req.api_key.account_id:
        raise err.invalid_listen_key()
    return lk


def keepalive(req: Request) -> Any:
    lk = _existing(req)
    lk.expires_us = req.now_us + _validity_us(req)
    return {}


def close(req: Request) -> Any:
    lk = _existing(req)
    req.service.listen_keys.close(lk, False)
    return {}


USER_STREAM = Security.USER_STREAM
ENDPOINTS = [
    Endpoint("POST", "/api/v3/userDataStream", None, USER_STREAM, 2, create, legacy=True),
    Endpoint("PUT", "/api/v3/userDataStream", None, USER_STREAM, 2, keepalive, legacy=True),
    Endpoint("DELETE", "/api/v3/userDataStream", None, USER_STREAM, 2, close, legacy=True),
]
