"""REST faults, applied around a request by the REST surface's interceptor chain."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from aiohttp import web

from mock_exchange.binance import errors as err
from mock_exchange.binance import formatting as F
from mock_exchange.binance.errors import BinanceError
from mock_exchange.binance.params import parse_form
from mock_exchange.binance.rest import (
    JSON_TYPE,
    Proceed,
    RestCall,
    dumps,
    error_response,
    weight_headers,
)

from .plan import Fault, Kind, Surface

if TYPE_CHECKING:
    from mock_exchange.binance.service import ExchangeService


async def wait_until_client_gone(request: web.Request) -> None:
    """Hold a request open until the client disconnects (or the server stops)."""
    transport = request.transport
    while transport is not None and not transport.is_closing():
        await asyncio.sleep(0.05)  # real time: this only notices the peer going away


def drop_connection(request: web.Request) -> web.StreamResponse:
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError  # aiohttp ends the handler without writing a response


class FaultInterceptor:
    def __init__(self, service: ExchangeService) -> None:
        self.service = service

    async def __call__(self, call: RestCall, proceed: Proceed) -> web.StreamResponse:
        service = self.service
        plan = service.faults
        request = call.request
        if Surface.REST not in plan.active or request.path.startswith("/mock/"):
            return await proceed()  # the control API is never faulted: it is how faults go away
        symbol = request.query.get("symbol")
        if symbol is None and request.method in ("POST", "PUT", "DELETE") and request.body_exists:
            body = (await request.read()).decode("utf-8", errors="replace")
            symbol = dict(parse_form(body)).get("symbol")
        key = service.exchange.keys.get(request.headers.get("X-MBX-APIKEY", ""))
        account = service.exchange.account(key.account_id).name if key else None
        fault = plan.take(
            Surface.REST,
            f"{request.method} {request.path}",
            method=request.method,
            path=request.path,
            symbol=symbol,
            account=account,
        )
        if fault is None:
            return await proceed()
        return await self._apply(fault, call, proceed)

    async def _apply(self, fault: Fault, call: RestCall, proceed: Proceed) -> web.StreamResponse:
        action = fault.action
        kind = action.kind
        request = call.request
        service = self.service
        if kind is Kind.DELAY:
            with service.held():
                await service.clock.sleep(action.seconds)
            return await proceed()
        if kind is Kind.EXECUTE_THEN_DELAY:
            response = await proceed()
            with service.held():
                await service.clock.sleep(action.seconds)
            return response
        if kind is Kind.RESPOND:  # a canned answer (e.g. a payload from a bug report)
            return web.Response(
                status=action.status, text=dumps(action.body), headers={"Content-Type": JSON_TYPE}
            )
        if kind in (Kind.ERROR, Kind.EXECUTE_THEN_ERROR):
            if kind is Kind.EXECUTE_THEN_ERROR:
                await proceed()
            # Through Binance's gateway, which reports the used weight on every answer.
            return error_response(
                BinanceError(action.code, action.msg or err.default_message(action.code), action.status),
                weight_headers(service.limiter, call.ip, service.wall_us()),
            )
        if kind in (Kind.HANG, Kind.EXECUTE_THEN_HANG):
            if kind is Kind.EXECUTE_THEN_HANG:
                await proceed()
            with service.held():
                await wait_until_client_gone(request)
            return drop_connection(request)
        if kind in (Kind.CLOSE, Kind.EXECUTE_THEN_CLOSE):
            if kind is Kind.EXECUTE_THEN_CLOSE:
                await proceed()
            return drop_connection(request)
        now = service.wall_us()  # the gateway's clock, as the limiter checks it
        if kind is Kind.RATE_LIMIT:
            return error_response(
                service.limiter.violation(call.ip, now),
                weight_headers(service.limiter, call.ip, now),
            )
        if kind is Kind.BAN:
            service.limiter.ban(call.ip, max(1, int(action.seconds)), now)
            return await proceed()  # the limiter answers 418 from now on
        if kind is Kind.STALE_SNAPSHOT and fault.captured is not None:
            with contextlib.suppress(ValueError):
                limit = min(max(int(request.query.get("limit", "100")), 1), 5000)
                body = F.depth_snapshot(*fault.captured, limit)
                return web.Response(text=dumps(body), headers={"Content-Type": JSON_TYPE})
        return await proceed()
