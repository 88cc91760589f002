"""``mock-exchange serve`` as a user runs it: a separate process on a free port, the URLs
and credentials it prints, the embedded defaults it serves, ``--config``, and Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.support.rest_client import RestClient

pytestmark = pytest.mark.skipif(os.name == "nt", reason="stopped with SIGINT, as Ctrl-C does on POSIX")

START_TIMEOUT = 30.0
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "mock_exchange" / "default_config.yaml"


@dataclass
class Served:
    process: asyncio.subprocess.Process
    printed: list[str]

    @property
    def rest_url(self) -> str:
        match = re.search(r"listening on (http://\S+)", self.printed[0])
        assert match, self.printed
        return match.group(1)

    def printed_value(self, label: str) -> str:
        for line in self.printed:
            if line.strip().startswith(label):
                return line.split()[-1]
        raise AssertionError(f"{label!r} not printed: {self.printed}")

    async def interrupt(self) -> tuple[int, str]:
        """Ctrl-C: the exit status and the rest of its output."""
        self.process.send_signal(signal.SIGINT)
        try:
            out, _ = await asyncio.wait_for(self.process.communicate(), START_TIMEOUT)
        finally:
            if self.process.returncode is None:  # never leave a server behind
                self.process.kill()
                await self.process.wait()
        assert self.process.returncode is not None
        return self.process.returncode, out.decode()


async def spawn(*args: str, stderr: int = asyncio.subprocess.STDOUT) -> asyncio.subprocess.Process:
    """``python -m mock_exchange serve --port 0 ARGS`` (stderr: into stdout, or a pipe)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mock_exchange",
        "serve",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )


async def serve(*args: str) -> Served:
    """Start ``mock_exchange serve`` with ``args`` and read its banner."""
    process = await spawn(*args)
    assert process.stdout is not None
    printed: list[str] = []
    try:
        while not printed or not printed[-1].startswith("Press Ctrl-C"):
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
            if not line:
                raise AssertionError(f"serve exited ({await process.wait()}) after printing {printed}")
            printed.append(line.decode().rstrip())
    except BaseException:
        if process.returncode is None:  # never leave a server behind
            process.kill()
            await process.wait()
        raise
    return Served(process, printed)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def client(session: aiohttp.ClientSession, served: Served, key: str, secret: str) -> RestClient:
    return RestClient(session, served.rest_url, key, secret, lambda: int(time.time() * 1000))


async def test_serve_prints_its_urls_serves_the_defaults_and_stops_on_ctrl_c(
    session: aiohttp.ClientSession,
) -> None:
    served = await serve("--api-key", "cli-key", "--api-secret", "cli-secret", "--no-activity")
    try:
        url = served.rest_url
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        ws_url = url.replace("http://", "ws://")
        assert f"REST base URL          {url}" in "\n".join(served.printed)
        assert f"{ws_url}/ws  and  {ws_url}/stream" in served.printed[2]
        assert served.printed_value("WebSocket API") == f"{ws_url}/ws-api/v3"
        assert served.printed_value("API key") == "cli-key"
        assert served.printed_value("API secret") == "cli-secret"
        rest = client(session, served, "cli-key", "cli-secret")
        info = await rest.public("GET", "/api/v3/exchangeInfo")
        assert [s["symbol"] for s in info.body["symbols"]] == ["BTCUSDT", "ETHUSDT", "ETHBTC"]
        account = await rest.signed("GET", "/api/v3/account")
        assert account.status == 200, account.body
        free = {b["asset"]: b["free"] for b in account.body["balances"]}
        assert free["BTC"] == "1.00000000" and free["USDT"] == "100000.00000000"
        for symbol in ("BTCUSDT", "ETHUSDT", "ETHBTC"):  # two-sided books: market orders fill
            depth = await rest.public("GET", "/api/v3/depth", symbol=symbol, limit=100)
            assert len(depth.body["bids"]) == len(depth.body["asks"]) == 20, symbol
        order = await rest.signed(
            "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001"
        )
        assert (order.status, order.body["status"]) == (200, "FILLED"), order.body
    finally:
        status, rest_of_output = await served.interrupt()
    assert status == 0 and "Stopping..." in rest_of_output and "Traceback" not in rest_of_output


async def test_serve_generates_credentials_and_prints_them(session: aiohttp.ClientSession) -> None:
    served = await serve("--no-activity")
    try:
        key, secret = served.printed_value("API key"), served.printed_value("API secret")
        assert key and secret and key != secret
        account = await client(session, served, key, secret).signed("GET", "/api/v3/account")
        assert account.status == 200, account.body
    finally:
        await served.interrupt()


@pytest.mark.parametrize("enabled", [False, True])
async def test_a_config_file_decides_the_synthetic_activity(
    session: aiohttp.ClientSession, tmp_path: Path, enabled: bool
) -> None:
    """The file's ``activity.enabled`` holds (``serve`` forced it on, whatever the file said)."""
    config = tmp_path / "config.yaml"
    config.write_text(DEFAULT_CONFIG.read_text() + f"\nactivity: {{enabled: {str(enabled).lower()}}}\n")
    served = await serve("--config", str(config))
    try:
        async with session.get(served.rest_url + "/mock/state") as r:
            accounts = (await r.json())["accounts"]
        assert ("activity-taker" in accounts) is enabled, accounts
    finally:
        await served.interrupt()


async def test_a_bad_config_file_is_refused_with_its_path(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("accounts: [{name: trader, balances: {BTC: '1.0.0'}}]\n")
    process = await spawn("--config", str(config), stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    assert process.returncode == 2 and not out
    assert err.decode() == (
        f"mock-exchange: {config}: accounts[0].balances.BTC: '1.0.0' is not a non-negative"
        " decimal with <= 8 places\n"
    )
