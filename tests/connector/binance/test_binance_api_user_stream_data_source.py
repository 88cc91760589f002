"""The user-stream data source against the mock's WebSocket API: subscription, unwrapping,
typed refusals, ``-1021`` handling and exponential reconnect backoff."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from connector.binance.binance_api_user_stream_data_source import (
    BinanceAPIUserStreamDataSource,
    UserStreamConnected,
    UserStreamDisconnected,
    _retry_after,
)
from connector.binance.binance_auth import BinanceAuth
from connector.core.order_book_tracker import Backoff
from tests.connector.binance.conftest import Wiring
from tests.connector.e2e.support import API_KEY, SAFETY, Harness

BACKOFF = Backoff(initial=0.5, factor=2.0, maximum=4.0)


class Stop(Exception):
    pass


#: Backoff delays are below this; the subscription's reply timeout (10 s) is above.
TIMEOUT_FLOOR = 5.0


class RecordingSleep:
    """Records the backoff delays asked for; stops the generator after ``limit`` of them.
    A sleep of ``TIMEOUT_FLOOR`` or more is the reply timeout: it does not end (the mock
    answers long before any real timeout would matter)."""

    def __init__(self, limit: int) -> None:
        self.delays: list[float] = []
        self.limit = limit

    async def __call__(self, delay: float) -> None:
        if delay >= TIMEOUT_FLOOR:
            await asyncio.Event().wait()
        self.delays.append(delay)
        if len(self.delays) >= self.limit:
            raise Stop
        await asyncio.sleep(0)


def source(harness: Harness, wiring: Wiring, **overrides: Any) -> BinanceAPIUserStreamDataSource:
    kwargs: dict[str, Any] = {
        "session": wiring.session,
        "ws_api_url": harness.server.ws_api_url,
        "auth": wiring.auth,
        "resync_time": wiring.rest.sync_time,
        "backoff": BACKOFF,
    }
    kwargs.update(overrides)
    return BinanceAPIUserStreamDataSource(**kwargs)


async def test_subscribes_and_yields_unwrapped_events(harness: Harness, wiring: Wiring) -> None:
    ds = source(harness, wiring)
    async with contextlib.aclosing(ds.listen_for_user_stream()) as stream:
        first = await asyncio.wait_for(anext(stream), SAFETY)
        assert isinstance(first, UserStreamConnected) and ds.connected
        harness.deposit("BTC", "0.5")
        events = [await asyncio.wait_for(anext(stream), SAFETY) for _ in range(2)]
    assert [e["e"] for e in events] == ["balanceUpdate", "outboundAccountPosition"]  # type: ignore[index]
    assert not ds.connected


async def test_terminated_stream_reconnects_with_backoff_reset(harness: Harness, wiring: Wiring) -> None:
    sleep = RecordingSleep(limit=10)
    ds = source(harness, wiring, sleep=sleep)
    async with contextlib.aclosing(ds.listen_for_user_stream()) as stream:
        assert isinstance(await asyncio.wait_for(anext(stream), SAFETY), UserStreamConnected)
        harness.inject_user({"id": "x", "status": 400, "error": {"code": -1, "msg": "a stray reply"}})
        harness.inject_user({"subscriptionId": 0, "event": {"e": "eventStreamTerminated", "E": 1}})
        down = await asyncio.wait_for(anext(stream), SAFETY)
        assert isinstance(down, UserStreamDisconnected) and "terminated" in down.reason
        assert isinstance(await asyncio.wait_for(anext(stream), SAFETY), UserStreamConnected)
    assert sleep.delays == [0.5]  # the first reconnect after a good connection: the initial delay
    assert ds.connections == 2


async def test_subscriptions_that_end_at_once_keep_backing_off(harness: Harness, wiring: Wiring) -> None:
    """A stream terminated right after each subscription is no healthy connection: the
    backoff keeps growing instead of restarting at the initial delay (no reconnect storm)."""
    sleep = RecordingSleep(limit=4)
    ds = source(harness, wiring, sleep=sleep, clock=lambda: 0.0)  # no time passes up there
    with pytest.raises(Stop):
        async with contextlib.aclosing(ds.listen_for_user_stream()) as stream:
            while True:
                item = await asyncio.wait_for(anext(stream), SAFETY)
                if isinstance(item, UserStreamConnected):
                    harness.inject_user(
                        {"subscriptionId": 0, "event": {"e": "eventStreamTerminated", "E": 1}}
                    )
    assert sleep.delays == [0.5, 1.0, 2.0, 4.0]
    assert ds.connections == 4


async def test_connect_failures_back_off_exponentially(harness: Harness, wiring: Wiring) -> None:
    sleep = RecordingSleep(limit=6)
    ds = source(harness, wiring, ws_api_url=harness.server.rest_url + "/not-a-websocket", sleep=sleep)
    with pytest.raises(Stop):
        async with contextlib.aclosing(ds.listen_for_user_stream()) as stream:
            await anext(stream)
    assert sleep.delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert ds.last_error is not None and "connect failed" in ds.last_error


async def test_refused_subscription_is_typed_and_retried(harness: Harness, wiring: Wiring) -> None:
    bad = BinanceAuth(API_KEY, "wrong-secret", wiring.time_synchronizer.time_ms)
    sleep = RecordingSleep(limit=3)
    ds = source(harness, wiring, auth=bad, sleep=sleep)
    with pytest.raises(Stop):
        async with contextlib.aclosing(ds.listen_for_user_stream()) as stream:
            await anext(stream)
    assert ds.last_error is not None and "AuthenticationError" in ds.last_error and "-1022" in ds.last_error
    assert len(sleep.delays) == 3


async def test_invalid_timestamp_on_subscribe_resyncs_the_clock(harness: Harness, wiring: Wiring) -> None:
    resyncs: list[int] = []

    async def resync() -> None:
        resyncs.append(1)

    stale = BinanceAuth(API_KEY, "e2e-trader-secret", lambda: wiring.time_synchronizer.time_ms() - 3_600_000)
    sleep = RecordingSleep(limit=2)
    ds = source(harness, wiring, auth=stale, resync_time=resync, sleep=sleep)
    with pytest.raises(Stop):
        async with contextlib.aclosing(ds.listen_for_user_stream()) as stream:
            await anext(stream)
    assert resyncs == [1, 1] and "InvalidTimestamp" in (ds.last_error or "")


def test_retry_after_from_a_ws_api_error_is_in_server_time() -> None:
    error = {
        "code": -1003,
        "msg": "Way too much request weight used; IP banned until 1659146400000.",
        "data": {"serverTime": 1659142907531, "retryAfter": 1659146400000},
    }
    assert _retry_after(error) == 3492.469
    assert _retry_after({"code": -1003, "msg": "x"}) is None
    assert _retry_after({"data": {"retryAfter": "soon", "serverTime": 1}}) is None
    assert _retry_after({"data": {"retryAfter": 1, "serverTime": 5}}) == 0.0  # never negative
