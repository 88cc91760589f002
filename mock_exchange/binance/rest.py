"""The REST surface: HTTP in, an endpoint call, Binance JSON and headers out.

Order of checks for a request (what a client sees when several things are wrong): an
IP ban (418, before anything else, whatever the request), parameters parse (``-1101``),
time unit header (``-1194``), rate limits (429/418), API key (``-2014``/``-2015``),
signature presence, timestamp (``-1021``), signature (``-1022``), then the endpoint's own
parameters and business rules. A path Binance does not have (404), or a modelled path with
another method (405), is answered before all of these; a Binance path the mock does not
model answers ``-1020`` after the ban check. Every answer of an endpoint carries
``X-MBX-USED-WEIGHT-1M`` and the legacy ``X-MBX-USED-WEIGHT`` (the same count, still sent
by Binance); order placements also carry the ORDERS counters.

Faults are injected around ``RestCall`` by the interceptor chain (``interceptors``), so
the engine and the handlers never know about them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from mock_exchange.engine import EngineError

from . import errors as err
from .auth import authenticate_rest
from .endpoints import UNMODELLED, Endpoint
from .errors import BinanceError
from .formatting import MS, US
from .params import AUTH_PARAMS, Params, parse_form
from .rate_limits import RateLimiter
from .service import ExchangeService, Request

JSON_TYPE = "application/json;charset=UTF-8"
NOT_FOUND_HTML = "<html><body><h2>404 Not found</h2></body></html>"


#: Compact JSON, as Binance sends it. One encoder built once: ``json.dumps`` with
#: non-default options builds a new encoder per call, and streams encode every message.
dumps: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass
class RestCall:
    """One REST request as the interceptors see it."""

    request: web.Request
    endpoint: Endpoint | None
    ip: str
    #: Filled in once the call is authenticated (None for public endpoints).
    account_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Proceed = Callable[[], Awaitable[web.StreamResponse]]


class RestInterceptor(Protocol):
    async def __call__(self, call: RestCall, proceed: Proceed) -> web.StreamResponse: ...


def weight_headers(limiter: RateLimiter, ip: str, now_us: int) -> dict[str, str]:
    """``ip``'s used weight now, as ``X-MBX-USED-WEIGHT-1M`` and its legacy twin."""
    text = str(limiter.used_weight(ip, now_us))
    return {"X-MBX-USED-WEIGHT": text, "X-MBX-USED-WEIGHT-1M": text}


def error_response(e: BinanceError, headers: dict[str, str] | None = None) -> web.Response:
    h = dict(headers or {})
    if e.retry_after is not None:
        h["Retry-After"] = str(e.retry_after)
    return web.Response(
        status=e.http_status,
        text=dumps(e.body()),
        content_type=None,
        headers={"Content-Type": JSON_TYPE, **h},
    )


class RestSurface:
    def __init__(self, service: ExchangeService, endpoints: list[Endpoint]) -> None:
        self.service = service
        self.routes: dict[tuple[str, str], Endpoint] = {(e.method, e.path): e for e in endpoints}
        self.paths = {e.path for e in endpoints}
        self.interceptors: list[RestInterceptor] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        endpoint = self.routes.get((request.method, request.path))
        call = RestCall(request, endpoint, request.remote or "127.0.0.1")
        traffic = self.service.traffic
        if traffic.enabled:
            body = (await request.read()).decode("utf-8", errors="replace") if request.body_exists else ""
            traffic.record(
                self.service.now_us(),
                "rest",
                None,
                "in",
                f"{request.method} {request.raw_path}" + (f" body={body}" if body else ""),
            )

        async def run(i: int) -> web.StreamResponse:
            if i < len(self.interceptors):
                return await self.interceptors[i](call, lambda: run(i + 1))
            return await self._serve(call)

        self.service.rest_busy += 1
        try:
            response = await run(0)
        finally:
            self.service.rest_busy -= 1
        if traffic.enabled:
            text = response.text if isinstance(response, web.Response) and response.body is not None else ""
            traffic.record(
                self.service.now_us(),
                "rest",
                None,
                "out",
                f"{response.status} {request.method} {request.path} {text}",
            )
        return response

    async def _serve(self, call: RestCall) -> web.StreamResponse:
        request, endpoint = call.request, call.endpoint
        service = self.service
        limiter = service.limiter
        now = service.wall_us()
        if endpoint is not None or (request.method, request.path) in UNMODELLED:
            try:
                limiter.check_ban(call.ip, now)
            except BinanceError as e:
                return error_response(e, weight_headers(limiter, call.ip, now))
        if endpoint is None:
            if (request.method, request.path) in UNMODELLED:
                return error_response(err.unsupported_operation(), weight_headers(limiter, call.ip, now))
            if request.path in self.paths:
                return web.Response(
                    status=405,
                    text="",
                    headers={"Allow": ", ".join(sorted(m for (m, p) in self.routes if p == request.path))},
                )
            return web.Response(status=404, text=NOT_FOUND_HTML, content_type="text/html")
        weight = 0
        charged = False
        headers: dict[str, str] = {}
        try:
            raw_query = request.raw_path.partition("?")[2]
            raw_body = ""
            if request.method in ("POST", "PUT", "DELETE") and request.body_exists:
                raw_body = (await request.read()).decode("utf-8", errors="replace")
            params = Params.from_sources(parse_form(raw_query), parse_form(raw_body))
            div = self._time_unit(request)
            weight = endpoint.weight_for(params)
            limiter.admit(call.ip, weight, now)
            charged = True
            api_key = authenticate_rest(
                service.exchange,
                endpoint.security,
                request.headers.get("X-MBX-APIKEY"),
                params,
                raw_query,
                raw_body,
                now,
            )
            if api_key is not None:
                call.account_id = api_key.account_id
            req = Request(
                service=service,
                params=params,
                ip=call.ip,
                div=div,
                now_us=now,
                api_key=api_key,
                surface="rest",
                lenient=AUTH_PARAMS if not endpoint.security.signed else frozenset(),
            )
            result = endpoint.handler(req)
            if endpoint.free_on_success:
                weight = 0
            status, body = 200, dumps(result)
        except BinanceError as e:
            status, body = e.http_status, dumps(e.body())
            if e.retry_after is not None:
                headers["Retry-After"] = str(e.retry_after)
        except EngineError as e:
            be = BinanceError.from_engine(e)
            status, body = be.http_status, dumps(be.body())
        if charged:
            limiter.charge(call.ip, weight, now)
        headers.update(weight_headers(limiter, call.ip, now))
        if endpoint.places_order and call.account_id is not None:
            n10s, n1d = limiter.order_counts(call.account_id, now)
            headers["X-MBX-ORDER-COUNT-10S"] = str(n10s)
            headers["X-MBX-ORDER-COUNT-1D"] = str(n1d)
        headers["Content-Type"] = JSON_TYPE
        return web.Response(status=status, text=body, headers=headers)

    @staticmethod
    def _time_unit(request: web.Request) -> int:
        unit = request.headers.get("X-MBX-TIME-UNIT")
        if unit is None or unit in ("MILLISECOND", "millisecond"):
            return MS
        if unit in ("MICROSECOND", "microsecond"):
            return US
        raise err.invalid_time_unit()
