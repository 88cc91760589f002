"""A bounded log of what crossed the wire, for failure reports and the control API.

Off unless turned on (the scenario harness turns it on): REST requests and responses,
and every WebSocket frame in and out, each with a sequence number and exchange time, so a
failing expectation can be shown next to the traffic around it.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TrafficEntry:
    seq: int
    time_us: int
    #: "rest", "stream", "ws_api", or "fault" for injected behaviour.
    surface: str
    #: Connection id for WebSockets; None for REST.
    conn: int | None
    #: "in" (client to exchange) or "out".
    direction: str
    text: str
    #: Process-local monotonic time, to interleave with other in-process records (reports).
    mono_ns: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time_us": self.time_us,
            "surface": self.surface,
            "conn": self.conn,
            "direction": self.direction,
            "text": self.text,
        }

    def __str__(self) -> str:
        arrow = "->" if self.direction == "in" else "<-"
        conn = f"#{self.conn}" if self.conn is not None else ""
        return f"[{self.seq:>5}] {self.time_us // 1000} {self.surface}{conn} {arrow} {self.text}"


class TrafficLog:
    def __init__(self, enabled: bool = False, maxlen: int = 20_000, max_text: int = 600) -> None:
        self.enabled = enabled
        self.entries: deque[TrafficEntry] = deque(maxlen=maxlen)
        self.max_text = max_text
        self._seq = itertools.count(1)

    def record(self, time_us: int, surface: str, conn: int | None, direction: str, text: str | bytes) -> None:
        if not self.enabled:
            return
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        if len(text) > self.max_text:
            text = text[: self.max_text] + f"...(+{len(text) - self.max_text} chars)"
        self.entries.append(
            TrafficEntry(next(self._seq), time_us, surface, conn, direction, text, time.monotonic_ns())
        )

    def since(self, seq: int = 0) -> list[TrafficEntry]:
        return [e for e in self.entries if e.seq > seq]

    @property
    def last_seq(self) -> int:
        return self.entries[-1].seq if self.entries else 0
