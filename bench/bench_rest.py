"""Signed REST place+cancel round trips per second over loopback, beside a bare handler.

The mock exchange runs in its own process (default config, static book); so does a bare
aiohttp server whose two handlers read the body and return a small JSON object without
doing anything else. One client in this process, keep-alive, sends the same signed
requests to both, sequentially: POST /api/v3/order (LIMIT GTC, resting) then
DELETE /api/v3/order for it. Both servers are measured in the same run, warm-up first,
then 5 repeats; the median and best are printed. Target (issue #2): mock >= 0.6x bare.

    python bench/bench_rest.py [--pairs N]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
KEY, SECRET = "bench-key", "bench-secret"

BARE_SERVER = r"""
import sys
from aiohttp import web

async def place(request):
    await request.read()
    return web.json_response({"symbol": "BTCUSDT", "orderId": 1, "status": "NEW"})

async def cancel(request):
    await request.read()
    return web.json_response({"symbol": "BTCUSDT", "orderId": 1, "status": "CANCELED"})

app = web.Application()
app.router.add_post("/api/v3/order", place)
app.router.add_delete("/api/v3/order", cancel)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_up(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(200):
        try:
            async with session.get(url) as r:
                await r.read()
                return
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"server at {url} did not come up")


def sign(payload: str) -> str:
    return hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()


async def round_trips(session: aiohttp.ClientSession, base: str, pairs: int) -> float:
    headers = {"X-MBX-APIKEY": KEY, "Content-Type": "application/x-www-form-urlencoded"}
    t0 = time.perf_counter()
    for i in range(pairs):
        ts = int(time.time() * 1000)
        body = urlencode(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.001",
                "price": f"{50000 + i % 100}",
                "newOrderRespType": "ACK",
                "timestamp": ts,
            }
        )
        async with session.post(
            base + "/api/v3/order", data=f"{body}&signature={sign(body)}", headers=headers
        ) as r:
            placed = json.loads(await r.read())
        query = urlencode({"symbol": "BTCUSDT", "orderId": placed["orderId"], "timestamp": ts})
        async with session.delete(
            f"{base}/api/v3/order?{query}&signature={sign(query)}", headers={"X-MBX-APIKEY": KEY}
        ) as r:
            await r.read()
            if r.status != 200:
                raise RuntimeError(f"cancel failed: {r.status}")
    return time.perf_counter() - t0


async def run(pairs: int) -> None:
    mock_port, bare_port = free_port(), free_port()
    cfg = ROOT / "bench" / ".bench_rest_config.yaml"
    cfg.write_text(
        (ROOT / "mock_exchange" / "default_config.yaml").read_text()
        + "\nrate_limits: {orders_per_10s: 100000000, orders_per_day: 100000000,"
        " request_weight_per_minute: 100000000}\n"
    )
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mock_exchange",
                "serve",
                "--port",
                str(mock_port),
                "--config",
                str(cfg),
                "--api-key",
                KEY,
                "--api-secret",
                SECRET,
                "--no-activity",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        ),
        subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(bare_port)], stdout=subprocess.DEVNULL),
    ]
    try:
        async with aiohttp.ClientSession() as session:
            mock = f"http://127.0.0.1:{mock_port}"
            bare = f"http://127.0.0.1:{bare_port}"
            await wait_up(session, mock + "/api/v3/ping")
            await wait_up(session, bare + "/api/v3/order")
            results: dict[str, list[float]] = {"mock": [], "bare": []}
            for base in (mock, bare):
                await round_trips(session, base, pairs // 4)  # warm-up
            for _ in range(5):
                for name, base in (("mock", mock), ("bare", bare)):
                    results[name].append(await round_trips(session, base, pairs))
        med = {k: pairs / statistics.median(v) for k, v in results.items()}
        best = {k: pairs / min(v) for k, v in results.items()}
        print(f"REST place+cancel, {pairs} pairs x5, sequential keep-alive client")
        print(f"bare aiohttp handler : {med['bare']:>8,.0f} round trips/s median  {best['bare']:>8,.0f} best")
        print(f"mock exchange        : {med['mock']:>8,.0f} round trips/s median  {best['mock']:>8,.0f} best")
        ratio = med["mock"] / med["bare"]
        print(
            f"mock / bare          : {ratio:.2f}x (target >= 0.60x: {'met' if ratio >= 0.6 else 'NOT met'})"
        )
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        cfg.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(run(args.pairs))


if __name__ == "__main__":
    main()
