"""Diff-depth ids continue exactly the sequence behind GET /depth, for snapshots taken at
random moments, so the documented local-book procedure (and python-binance's strict check)
rebuilds the engine's book exactly."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal
from typing import Any

import aiohttp

from mock_exchange.clock import VirtualClock
from mock_exchange.engine import EngineError, NewOrder, OrderType, Side, TimeInForce
from mock_exchange.engine.units import parse_units
from mock_exchange.server import MockExchangeServer
from tests.mock_exchange.streams.conftest import StreamClient


def random_command(rng: random.Random, server: MockExchangeServer) -> None:
    ex = server.service.exchange
    acct = ex.account_by_name(rng.choice(["trader", "market-maker"])).account_id
    eng = ex.engine("BTCUSDT")
    mine = list(eng.open_by_account.get(acct, {}).values())
    r = rng.random()
    try:
        if r < 0.25 and mine:
            server.service.cancel_order(acct, "BTCUSDT", rng.choice(mine).order_id)
        elif r < 0.35:
            side = rng.choice([Side.BUY, Side.SELL])
            qty = parse_units(f"0.0{rng.randint(1, 9)}")
            server.service.place_order(NewOrder(acct, "BTCUSDT", side, OrderType.MARKET, quantity=qty))
        else:
            side = rng.choice([Side.BUY, Side.SELL])
            price = parse_units(str(rng.randint(59_950, 60_050)))
            qty = parse_units(f"0.0{rng.randint(1, 9)}")
            server.service.place_order(
                NewOrder(
                    acct,
                    "BTCUSDT",
                    side,
                    OrderType.LIMIT,
                    quantity=qty,
                    price=price,
                    time_in_force=TimeInForce.GTC,
                )
            )
    except EngineError:
        pass  # e.g. insufficient balance: refused commands change nothing


async def snapshot(session: aiohttp.ClientSession, server: MockExchangeServer) -> dict[str, Any]:
    async with session.get(f"{server.rest_url}/api/v3/depth?symbol=BTCUSDT&limit=5000") as r:
        assert r.status == 200
        body: dict[str, Any] = await r.json()
        return body


class LocalBook:
    """The documented procedure, with both the classic and the strict first-event check."""

    def __init__(self, snap: dict[str, Any], strict: bool) -> None:
        self.last = snap["lastUpdateId"]
        self.bids = {Decimal(p): Decimal(q) for p, q in snap["bids"]}
        self.asks = {Decimal(p): Decimal(q) for p, q in snap["asks"]}
        self.strict = strict
        self.first_applied = False

    def apply(self, ev: dict[str, Any]) -> None:
        if ev["u"] <= self.last:
            return  # older than the snapshot: dropped
        if not self.first_applied:
            if self.strict:
                assert ev["U"] == self.last + 1, (ev["U"], self.last)
            else:
                assert ev["U"] <= self.last + 1 <= ev["u"], (ev["U"], self.last, ev["u"])
            self.first_applied = True
        else:
            assert ev["U"] == self.last + 1, f"gap: expected U={self.last + 1}, got {ev['U']}"
        for side, levels in ((self.bids, ev["b"]), (self.asks, ev["a"])):
            for p, q in levels:
                if Decimal(q) == 0:
                    side.pop(Decimal(p), None)
                else:
                    side[Decimal(p)] = Decimal(q)
        self.last = ev["u"]

    def as_snapshot(self) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        return (sorted(self.bids.items(), reverse=True), sorted(self.asks.items()))


def book_of(snap: dict[str, Any]) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    return (
        [(Decimal(p), Decimal(q)) for p, q in snap["bids"]],
        [(Decimal(p), Decimal(q)) for p, q in snap["asks"]],
    )


async def test_snapshots_at_random_moments_bridge_exactly(
    connect: Any, server: MockExchangeServer, session: aiohttp.ClientSession, clock: VirtualClock
) -> None:
    rng = random.Random(20261129)
    fast: StreamClient = await connect("/ws/btcusdt@depth@100ms")
    slow: StreamClient = await connect("/stream?streams=btcusdt@depth")
    streams = {"fast": fast, "slow": slow}
    received: dict[str, list[dict[str, Any]]] = {"fast": [], "slow": []}
    # (stream, index into received at snapshot time, snapshot)
    snapshots: list[tuple[str, int, dict[str, Any]]] = []
    for _step in range(300):
        random_command(rng, server)
        if rng.random() < 0.3:
            await clock.advance(0.1)  # the @100ms stream flushes; every 10th tick the 1s one
        if rng.random() < 0.08:
            name = rng.choice(["fast", "slow"])
            snap = await snapshot(session, server)
            # Everything published before the snapshot is on the wire before its reply's
            # effects: drain the connection up to now, then remember where we were.
            for n, c in streams.items():
                received[n].extend(m if n == "fast" else m["data"] for m in await c.sync())
            snapshots.append((name, len(received[name]), snap))
    await clock.advance(1.0)
    for n, c in streams.items():
        received[n].extend(m if n == "fast" else m["data"] for m in await c.sync())
    final = book_of(await snapshot(session, server))

    for n, events in received.items():
        assert events, f"{n}: no depth events at all"
        for prev, ev in itertools.pairwise(events):
            assert ev["U"] == prev["u"] + 1, f"{n}: {prev['u']} -> {ev['U']}"
            assert ev["e"] == "depthUpdate" and ev["s"] == "BTCUSDT"
    assert len(snapshots) >= 10
    for name, index, snap in snapshots:
        for strict in (False, True):
            book = LocalBook(snap, strict)
            # The client buffered everything since connecting; only events from the
            # snapshot on matter, and the first one must start right after it.
            for ev in received[name]:
                book.apply(ev)
            assert book.first_applied or snap["lastUpdateId"] == received[name][-1]["u"]
            assert book.as_snapshot() == final, f"{name} strict={strict} from {snap['lastUpdateId']}"
        # The snapshot's lastUpdateId is the last u published before it.
        if index:
            assert received[name][index - 1]["u"] <= snap["lastUpdateId"]
            later = [e for e in received[name][index:]]
            if later:
                assert later[0]["U"] == snap["lastUpdateId"] + 1


async def test_partial_depth_streams(connect: Any, server: MockExchangeServer, clock: VirtualClock) -> None:
    c: StreamClient = await connect("/stream?streams=btcusdt@depth5@100ms/ethbtc@depth10")
    await clock.advance(1.0)
    msgs = await c.sync()
    fast = [m for m in msgs if m["stream"] == "btcusdt@depth5@100ms"]
    slow = [m for m in msgs if m["stream"] == "ethbtc@depth10"]
    assert len(fast) == 10 and len(slow) == 1
    data = fast[-1]["data"]
    assert set(data) == {"lastUpdateId", "bids", "asks"}
    assert len(data["bids"]) == 5 and data["asks"][0] == ["60005.00000000", "0.25000000"]
    assert len(slow[0]["data"]["bids"]) == 10


async def test_the_1000ms_diff_stream_answers_to_its_speed_spelled_out(
    connect: Any, server: MockExchangeServer, clock: VirtualClock
) -> None:
    """``@depth@1000ms`` (what Binance's own Python connector subscribes to by default) is
    the ``@depth`` stream: same messages, same cadence. It used to be accepted and silent."""
    c: StreamClient = await connect("/stream?streams=btcusdt@depth/btcusdt@depth@1000ms")
    rng = random.Random(7)
    for _ in range(20):
        random_command(rng, server)
    await clock.advance(1.0)
    got: dict[str, list[Any]] = {"btcusdt@depth": [], "btcusdt@depth@1000ms": []}
    for m in await c.sync():
        got[m["stream"]].append(m["data"])
    assert got["btcusdt@depth@1000ms"] and got["btcusdt@depth@1000ms"] == got["btcusdt@depth"]


async def test_klines_take_only_the_documented_time_zone(connect: Any) -> None:
    c: StreamClient = await connect("/ws")
    reply = await c.request("SUBSCRIBE", ["btcusdt@kline_1m@+05:30"], 1)
    assert reply == {
        "error": {"code": 2, "msg": "Invalid request: invalid stream"},
        "id": 1,
    }
    assert (await c.request("SUBSCRIBE", ["btcusdt@kline_1m@+08:00"], 2)) == {"result": None, "id": 2}
