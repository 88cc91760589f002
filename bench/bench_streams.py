"""Depth-diff messages per second delivered to 1 and to 10 subscribers, beside bare servers.

Three servers, each in its own process, push to subscribers in a client process:

- the mock exchange's stream layer: a pump publishes synthetic ``DepthUpdate`` events
  (5 bid + 5 ask levels each) into the service's event hub as fast as the connections
  drain, with ``depth_fast_interval = 0`` so every update becomes one
  ``btcusdt@depth@100ms`` message (encoded once, queued on every subscriber);
- a bare aiohttp WebSocket server sending a pre-encoded message of the same size in a loop;
- a bare ``websockets`` server doing the same.

The client counts messages received over a fixed window after a warm-up. Target
(issue #3): >= 50,000 messages/s to one subscriber and >= 0.5x the bare aiohttp server.

    python bench/bench_streams.py [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent

MOCK_SERVER = r"""
import asyncio, sys
from mock_exchange.config import load_config
from mock_exchange.server import MockExchangeServer
from mock_exchange.engine import DepthUpdate

async def main(port):
    cfg = load_config()
    cfg.books = []
    cfg.timers.depth_fast_interval = 0
    server = MockExchangeServer(cfg, port=port)
    await server.start()
    service = server.service
    from mock_exchange.binance.ws import STREAMS
    streams = server.app[STREAMS]
    uid = 0
    base = 6_000_000_000_000
    while True:
        conns = [sc.conn for sc in streams.conns]
        if not conns or max(c.pending for c in conns) > 2000:
            await asyncio.sleep(0.0005)
            continue
        for _ in range(200):
            uid += 1
            off = (uid % 50) * 1_000_000
            bids = [(base - off - i * 1_000_000, 100_000_000 + i) for i in range(5)]
            asks = [(base + off + i * 1_000_000, 100_000_000 + i) for i in range(5)]
            service.publish([DepthUpdate("BTCUSDT", uid, uid, 1_780_000_000_000_000, bids, asks)])
        await asyncio.sleep(0)

asyncio.run(main(int(sys.argv[1])))
"""

BARE_AIOHTTP = r"""
import sys
from aiohttp import web, WSMsgType
MSG = sys.argv[2]

async def handler(request):
    ws = web.WebSocketResponse(compress=False)
    await ws.prepare(request)
    try:
        while not ws.closed:
            await ws.send_str(MSG)
    except (ConnectionError, RuntimeError):
        pass
    return ws

app = web.Application()
app.router.add_get("/ws", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

BARE_WEBSOCKETS = r"""
import asyncio, sys
from websockets.asyncio.server import serve
MSG = sys.argv[2]

async def handler(ws):
    try:
        while True:
            await ws.send(MSG)
    except Exception:
        pass

async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None):
        await asyncio.Future()

asyncio.run(main())
"""

SAMPLE = (
    '{"e":"depthUpdate","E":1780000000000,"s":"BTCUSDT","U":123456,"u":123456,'
    '"b":[["59999.00000000","1.00000000"],["59998.00000000","1.00000001"],'
    '["59997.00000000","1.00000002"],["59996.00000000","1.00000003"],["59995.00000000","1.00000004"]],'
    '"a":[["60001.00000000","1.00000000"],["60002.00000000","1.00000001"],'
    '["60003.00000000","1.00000002"],["60004.00000000","1.00000003"],["60005.00000000","1.00000004"]]}'
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def count(url: str, subscribers: int, warmup: float, seconds: float) -> float:
    """Messages/s received in total by ``subscribers`` connections."""
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                socks = [await session.ws_connect(url, max_msg_size=0) for _ in range(subscribers)]
                break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"cannot connect to {url}")
        counts = [0] * subscribers
        stop = asyncio.Event()

        async def reader(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            while not stop.is_set():
                msg = await ws.receive()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    return
                counts[i] += 1

        tasks = [asyncio.ensure_future(reader(i, ws)) for i, ws in enumerate(socks)]
        await asyncio.sleep(warmup)
        start, t0 = sum(counts), time.perf_counter()
        await asyncio.sleep(seconds)
        total, elapsed = sum(counts) - start, time.perf_counter() - t0
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for ws in socks:
            # The bare servers never read, so a close handshake would wait for its timeout.
            ws._response.close()  # drop the TCP connection
        return total / elapsed


def launch(code: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.DEVNULL)


async def run(seconds: float) -> None:
    results: dict[tuple[str, int], float] = {}
    servers = [
        ("mock exchange", MOCK_SERVER, "/ws/btcusdt@depth@100ms", ()),
        ("bare aiohttp", BARE_AIOHTTP, "/ws", (SAMPLE,)),
        ("bare websockets", BARE_WEBSOCKETS, "/", (SAMPLE,)),
    ]
    for name, code, path, extra in servers:
        port = free_port()
        proc = launch(code, str(port), *extra)
        try:
            for subs in (1, 10):
                results[(name, subs)] = await count(f"http://127.0.0.1:{port}{path}", subs, 1.0, seconds)
                print(f"  {name}, {subs} subscriber(s): {results[(name, subs)]:,.0f}/s", file=sys.stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"depth-diff messages delivered per second ({len(SAMPLE)}-byte messages, {seconds:.0f} s windows)")
    print(f"{'server':<18}{'1 subscriber':>16}{'10 subscribers':>18}")
    for name, *_ in servers:
        print(f"{name:<18}{results[(name, 1)]:>16,.0f}{results[(name, 10)]:>18,.0f}")
    one = results[("mock exchange", 1)]
    ratio = one / results[("bare aiohttp", 1)]
    ratio10 = results[("mock exchange", 10)] / results[("bare aiohttp", 10)]
    print(f"mock, 1 subscriber: {one:,.0f}/s (target >= 50,000: {'met' if one >= 50_000 else 'NOT met'})")
    print(
        f"mock / bare aiohttp: {ratio:.2f}x with 1 subscriber, {ratio10:.2f}x with 10 "
        f"(target >= 0.5x: {'met' if min(ratio, ratio10) >= 0.5 else 'NOT met'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    asyncio.run(run(args.seconds))


if __name__ == "__main__":
    main()
