"""What a fired message fault (market streams, user data) does to one subscriber's traffic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .plan import Fault, Kind

T = TypeVar("T")


@dataclass(eq=False)
class MessageOutlet(Generic[T]):
    """One subscriber's messages: how to send one, and what else a fault may do to it.

    A control left as None makes its fault deliver the message as usual."""

    send: Callable[[T], None]
    disconnect: Callable[[], None] | None = None
    stall: Callable[[float], None] | None = None
    terminate: Callable[[], None] | None = None
    #: A message held back by a ``reorder`` fault until the next one is delivered.
    held: T | None = None

    def deliver(
        self, fault: Fault | None, item: T, later: Callable[[float, Callable[[], None]], None]
    ) -> None:
        """Deliver ``item`` as ``fault`` (None: no fault fired) says; ``later(seconds, fn)``
        runs ``fn`` after ``seconds`` of clock time."""
        kind = fault.action.kind if fault is not None else None
        if kind is Kind.DROP:
            return
        if kind is Kind.REORDER and self.held is None:
            self.held = item  # goes out after the next message
            return
        if kind is Kind.TERMINATE and self.terminate is not None:
            self.terminate()
            return
        if kind is Kind.DISCONNECT and self.disconnect is not None:
            self.disconnect()
            return
        if kind is Kind.STALL and self.stall is not None:
            assert fault is not None
            self.stall(fault.action.seconds)
        if kind is Kind.DELAY:
            assert fault is not None
            later(fault.action.seconds, lambda: self.send(item))
        else:
            self.send(item)
            if kind is Kind.DUPLICATE:
                self.send(item)
        if self.held is not None:
            # The held message goes out right after the next one, even when that one's own
            # ``reorder`` firing found something held: the two swap, nothing more is held.
            held, self.held = self.held, None
            self.send(held)
