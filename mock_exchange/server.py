"""Run the mock exchange in-process: ``async with MockExchangeServer(config) as server``.

Binds ``host`` on ``port`` (0 by default: an ephemeral port chosen by the OS, read back
after binding, so tests never race for a port) and exposes the base URLs a client needs.
"""

from __future__ import annotations

import socket
from types import TracebackType

from aiohttp import web

from .activity import Activity
from .binance.app import create_app
from .binance.service import ExchangeService
from .clock import Clock, WallClock
from .config import MockConfig, load_config
from .control.http import CONTROL
from .control.operations import Control


class MockExchangeServer:
    def __init__(
        self,
        config: MockConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.config = config if config is not None else load_config()
        self.host = host
        self.port = port
        self.clock = clock if clock is not None else WallClock()
        self.service = ExchangeService(self.config, self.clock)
        self.app = create_app(self.service)
        self._runner: web.AppRunner | None = None
        self.activity: Activity | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        if self.config.activity.enabled:
            self.activity = Activity(self.service, self.config.activity, self.config.books)
            self.activity.start()

    async def stop(self) -> None:
        if self.activity is not None:
            await self.activity.stop()
            self.activity = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> MockExchangeServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def control(self) -> Control:
        """Faults, deposits, other participants' orders, books, time, traffic."""
        return self.app[CONTROL]

    @property
    def _authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def rest_url(self) -> str:
        """Base URL for REST clients (paths start with /api/v3)."""
        return f"http://{self._authority}"

    @property
    def stream_url(self) -> str:
        """Base URL for market streams (``/ws``, ``/ws/<stream>``, ``/stream?streams=``)."""
        return f"ws://{self._authority}"

    @property
    def ws_api_url(self) -> str:
        return f"ws://{self._authority}/ws-api/v3"
