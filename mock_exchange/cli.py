"""``mock-exchange``: run the mock Binance Spot exchange (and, later, scenarios)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from .config import load_config
from .engine import ConfigError
from .server import MockExchangeServer


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="start the mock exchange and print the URLs to give a client")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8090, help="port (default 8090; 0 picks a free one)")
    p.add_argument("--config", help="YAML configuration replacing the embedded defaults")
    p.add_argument("--api-key", help="API key of the trader account (generated if omitted)")
    p.add_argument("--api-secret", help="API secret of the trader account (generated if omitted)")
    p.add_argument(
        "--legacy-listen-key",
        action="store_true",
        help="serve the removed /api/v3/userDataStream listenKey endpoints",
    )
    p.add_argument(
        "--no-activity",
        action="store_true",
        help="no synthetic market makers and takers (a static book); with --config, the file's"
        " activity.enabled decides unless this is given",
    )
    p.add_argument("--seed", type=int, help="seed for generated ids and synthetic activity")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mock-exchange",
        description="A local Binance Spot exchange for testing connectors and bots offline.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    return parser


async def serve(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except (ConfigError, OSError) as e:
        print(f"mock-exchange: {e}", file=sys.stderr)
        return 2
    if not config.accounts:
        print("mock-exchange: the configuration defines no accounts", file=sys.stderr)
        return 2
    trader = next((a for a in config.accounts if a.name == "trader"), config.accounts[0])
    if args.api_key:
        trader.api_key = args.api_key
    if args.api_secret:
        trader.api_secret = args.api_secret
    if args.legacy_listen_key:
        config.legacy_listen_key = True
    if args.seed is not None:
        config.seed = args.seed
        config.activity.seed = args.seed
    if args.no_activity:
        config.activity.enabled = False
    elif args.config is None:
        config.activity.enabled = True  # the embedded defaults come with a live market
    server = MockExchangeServer(config, host=args.host, port=args.port)
    try:
        await server.start()
    except OSError as e:
        print(f"mock-exchange: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 2
    print(f"Mock Binance Spot exchange listening on {server.rest_url}")
    print(f"  REST base URL          {server.rest_url}            (paths /api/v3/...)")
    print(f"  market streams         {server.stream_url}/ws  and  {server.stream_url}/stream")
    print(f"  WebSocket API          {server.ws_api_url}")
    print(f"  symbols                {', '.join(s.symbol for s in config.symbols)}")
    print(f"  account '{trader.name}'")
    print(f"    API key              {trader.api_key}")
    print(f"    API secret           {trader.api_secret}")
    print("Press Ctrl-C to stop.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        print("Stopping...", flush=True)
        await server.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        try:
            return asyncio.run(serve(args))
        except KeyboardInterrupt:
            return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
