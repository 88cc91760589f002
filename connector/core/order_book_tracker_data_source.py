"""Where an ``OrderBookTracker`` gets its market data: the transport-agnostic contract.

An exchange adapter subclasses ``OrderBookTrackerDataSource`` (the name is Hummingbot's)
and supplies three things: REST snapshots, one stream of parsed messages, and runtime
(un)subscription. How it talks to the exchange (aiohttp, websockets, an in-memory fake) is
its own business; nothing here imports a transport.

The stream contract matters for correctness, because the sync machine resynchronises on
the connection notices:

* ``listen_for_subscriptions()`` runs until cancelled. It connects, subscribes every pair
  in ``trading_pairs`` and then yields, in stream order, ``OrderBookDiffMessage`` and
  ``OrderBookTradeMessage`` values plus connection notices.
* ``StreamConnected(pairs)`` is yielded once diffs for those pairs flow (after connecting
  and after each subscription is acknowledged), before the first diff it covers. The
  tracker asks for snapshots only after it.
* ``StreamDisconnected(pairs)`` is yielded as soon as the connection is known to be lost,
  before reconnecting. The adapter reconnects by itself, with its own backoff, and yields
  ``StreamConnected`` again.
* ``pairs`` of ``None`` means every pair of this data source.
* If the iterator raises or ends, the tracker treats that as a disconnect of every pair
  and calls ``listen_for_subscriptions()`` again after a backoff.
* ``get_snapshot`` raises on any failure (any ``Exception``); the tracker retries with
  backoff, for that pair only.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from typing import TypeAlias

from connector.core.order_book_message import (
    OrderBookDiffMessage,
    OrderBookSnapshotMessage,
    OrderBookTradeMessage,
)

__all__ = [
    "DataSourceEvent",
    "OrderBookTrackerDataSource",
    "StreamConnected",
    "StreamDisconnected",
]


@dataclass(frozen=True, slots=True)
class StreamConnected:
    """Diffs for ``trading_pairs`` (``None``: all) now flow; earlier ones may be missing."""

    trading_pairs: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class StreamDisconnected:
    """Diffs for ``trading_pairs`` (``None``: all) stopped; books cannot stay in sync."""

    trading_pairs: frozenset[str] | None = None
    reason: str = ""


#: What ``listen_for_subscriptions`` yields.
DataSourceEvent: TypeAlias = (
    OrderBookDiffMessage | OrderBookTradeMessage | StreamConnected | StreamDisconnected
)


class OrderBookTrackerDataSource(abc.ABC):
    """Snapshots, a message stream and subscriptions for a set of trading pairs."""

    def __init__(self, trading_pairs: Iterable[str]) -> None:
        self._trading_pairs: list[str] = list(dict.fromkeys(trading_pairs))

    @property
    def trading_pairs(self) -> tuple[str, ...]:
        """The pairs currently subscribed (or to subscribe on connect), in order."""
        return tuple(self._trading_pairs)

    @abc.abstractmethod
    async def get_snapshot(self, trading_pair: str) -> OrderBookSnapshotMessage:
        """Fetch a full book (REST) whose update id shares the diff stream's id space."""

    @abc.abstractmethod
    def listen_for_subscriptions(self) -> AsyncGenerator[DataSourceEvent, None]:
        """Yield diffs, trades and connection notices until cancelled (module docstring).

        An async generator, so the tracker can close it (and its connection) promptly.
        """

    @abc.abstractmethod
    async def subscribe_to_trading_pair(self, trading_pair: str) -> None:
        """Add ``trading_pair``: subscribe now if connected, and on every reconnect.

        Implementations must add the pair to ``_trading_pairs`` and yield
        ``StreamConnected(frozenset({trading_pair}))`` once its diffs flow.
        """

    @abc.abstractmethod
    async def unsubscribe_from_trading_pair(self, trading_pair: str) -> None:
        """Remove ``trading_pair`` (from ``_trading_pairs`` too); its messages stop."""
