"""The WebSocket API (``/ws-api/v3``): Binance's request/response protocol over one socket.

A request is one text frame ``{"id", "method", "params"}``; the reply is
``{"id", "status", "result" | "error", "rateLimits"}``. Every method backed by a REST
endpoint is dispatched through the same ``Endpoint`` table and the same ``Request`` the
REST surface builds, so parameters, errors, weights and results are identical on both
surfaces (a result is the byte-identical JSON REST would send). Weight is charged to the
same per-IP counter REST uses: a client cannot dodge the limit by switching surface.

On top of the endpoint table the WS API has its own methods:

- ``session.logon`` / ``session.status`` / ``session.logout``: an Ed25519 key logged on
  to the connection authorises later signed requests that omit ``apiKey`` and
  ``signature`` (``timestamp`` is still required).
- ``userDataStream.subscribe`` (logged-on account), ``userDataStream.subscribe.signature``
  (any key type, signed per request), ``userDataStream.unsubscribe`` and
  ``session.subscriptions``. Events arrive as ``{"subscriptionId": N, "event": {...}}``;
  a subscription that ends sends ``eventStreamTerminated``.

Ordering: engine events reach subscriptions synchronously, in engine order. Events caused
by a request on the *same* connection (an ``order.place`` while subscribed) are held
until that request's reply is queued, so a client always sees the reply first and then
the events it caused; Binance does not document the order, and reply-first lets a client
correlate events with an order id it already knows.

Decisions where Binance's documentation is silent (observed responses where available):

- Invalid JSON, a non-object request, or an ``id`` that is not an integer, a string
  matching ``^[a-zA-Z0-9-_]{1,36}$`` or null: ``-1135`` with ``"id": null``; a ``params``
  that is not an object: ``-1135`` echoing the id. The ``id`` and ``params`` messages are
  the ones real servers send; such envelope errors carry no ``rateLimits`` (as observed)
  and cost no weight.
- A missing or non-string ``method``: ``-1135``; an unknown method: ``-1020``
  ("This operation is not supported."), weight 0, with ``rateLimits``.
- ``session.logon`` with a non-Ed25519 key: ``-1022`` (observed: Binance verifies logon
  signatures as Ed25519 only, so an HMAC-signed logon fails as a bad signature).
- ``userDataStream.subscribe`` without a logged-on session: ``-1002`` with status 401.
- ``userDataStream.unsubscribe`` for an id that is not active, or with no id while
  nothing is subscribed: ``-2036``.
- The per-request ``returnRateLimits`` parameter is part of the signed parameters (the
  payload is every parameter but ``signature``) and never counts as unread.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mock_exchange.clock import call_later
from mock_exchange.engine import ApiKey, EngineError, Event, KeyType
from mock_exchange.faults.plan import Kind, Surface

from .. import errors as err
from .. import formatting as F
from ..auth import authenticate_ws, lookup_key
from ..endpoints import Endpoint, all_endpoints
from ..errors import BinanceError
from ..formatting import MS, US
from ..params import AUTH_PARAMS, Params, loads_request
from ..rest import dumps, error_response
from ..service import ExchangeService, Request
from .connection import GOING_AWAY, POLICY, WsConnection, prepare_response, valid_request_id
from .user_data import UserControls, UserDataHub, render_user_event

log = logging.getLogger(__name__)

#: Weight of opening a connection, and of every session / user-data-stream method.
CONNECT_WEIGHT = 2
SESSION_WEIGHT = 2

#: Signed requests read apiKey/signature/timestamp/recvWindow while authenticating;
#: ``returnRateLimits`` is the envelope's business, never the method's.
_LENIENT_SIGNED = frozenset({"apiKey", "signature", "returnRateLimits"})
#: Public methods ignore authentication parameters rather than refusing them.
_LENIENT_PUBLIC = AUTH_PARAMS | _LENIENT_SIGNED


def _invalid_id() -> BinanceError:
    return BinanceError(
        -1135,
        "Invalid 'id' in JSON request; expected an integer, a string matching "
        "'^[a-zA-Z0-9-_]{1,36}$', or null.",
    )


def _invalid_params() -> BinanceError:
    return BinanceError(-1135, "Invalid 'params' in JSON request; expected an object.")


def _invalid_method() -> BinanceError:
    return BinanceError(-1135, "Invalid 'method' in JSON request; expected a string.")


def _not_logged_on() -> BinanceError:
    return BinanceError(-1002, "You are not authorized to execute this request.", 401)


def _error_reply(rid: Any, error: BinanceError, body: dict[str, Any] | None = None) -> str:
    """A reply refusing request ``rid``: ``body`` defaults to the error's ``{code, msg}``."""
    return dumps(
        {"id": rid, "status": error.http_status, "error": body if body is not None else error.body()}
    )


@dataclass
class _Subscription:
    id: int
    account_id: int
    #: Created by ``userDataStream.subscribe`` on the logged-on key: ends at logout.
    logon: bool
    unsubscribe: Callable[[], None]


@dataclass(eq=False)
class _Session:
    """One WS API connection: its settings, logged-on key and subscriptions."""

    conn: WsConnection
    div: int
    return_rate_limits: bool
    connected_us: int
    api_key: ApiKey | None = None
    authorized_us: int | None = None
    subs: dict[int, _Subscription] = field(default_factory=dict)
    next_sub_id: int = 0
    #: While a request of this connection runs, user events wait here for its reply.
    held: list[str] | None = None
    #: Replies a ``delay`` fault is holding back (cancelled when the connection closes).
    delayed: set[asyncio.Task[None]] = field(default_factory=set)

    def emit(self, text: str) -> None:
        """Queue a user-data message, after the current reply if a request is running."""
        if self.held is not None:
            self.held.append(text)
        else:
            self.conn.send(text)


class _Reply(Exception):
    """An envelope-level refusal: answered before any method runs (no weight, no limits)."""

    def __init__(self, error: BinanceError, rid: Any) -> None:
        super().__init__(error.msg)
        self.error = error
        self.rid = rid


SessionHandler = Callable[[_Session, Params, int], Any]


def _send_all(conn: WsConnection, texts: list[str]) -> None:
    for text in texts:
        conn.send(text)


#: The WS API methods that act on the session rather than an endpoint, and their handlers.
SESSION_METHODS: dict[str, str] = {
    "session.logon": "_logon",
    "session.status": "_status",
    "session.logout": "_logout",
    "session.subscriptions": "_subscriptions",
    "userDataStream.subscribe": "_subscribe",
    "userDataStream.subscribe.signature": "_subscribe_signature",
    "userDataStream.unsubscribe": "_unsubscribe",
}


class WsApi:
    """Serves ``/ws-api/v3``: one ``_Session`` per connection, all sharing the service."""

    #: Subscription ids a connection may ever allocate (ids 0 .. 65534), and how many may
    #: be active at once (Binance's documented limits). Read at use time, so tests can
    #: lower them on the class.
    max_subscription_ids = 65_535
    max_active_subscriptions = 1_000

    def __init__(self, service: ExchangeService, user_data: UserDataHub) -> None:
        self.service = service
        self.user_data = user_data
        self.endpoints: dict[str, Endpoint] = {
            e.ws_method: e for e in all_endpoints() if e.ws_method is not None and not e.legacy
        }
        self.session_methods: dict[str, SessionHandler] = {
            name: getattr(self, handler) for name, handler in SESSION_METHODS.items()
        }
        self.sessions: set[_Session] = set()
        service.limiter.on_ban.append(self._disconnect_banned)

    # ================================================================== lifecycle

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Accept a connection: URL options first, then the 2-weight connection charge."""
        service = self.service
        ip = request.remote or "127.0.0.1"
        now = service.wall_us()  # the gateway's clock, as the limiter checks it
        ws = prepare_response()
        if not ws.can_prepare(request).ok:
            raise web.HTTPBadRequest(text="Expected a WebSocket upgrade")
        try:
            div = self._time_unit(request.query.get("timeUnit"))
            return_rate_limits = self._url_flag(request.query.get("returnRateLimits"))
            service.limiter.admit(ip, CONNECT_WEIGHT, now, raw=False)
            service.limiter.admit_connection(ip, now)
        except BinanceError as e:
            return error_response(e)
        service.limiter.charge(ip, CONNECT_WEIGHT, now, raw=False)
        await ws.prepare(request)
        conn = WsConnection(ws, service, ip=ip, max_incoming_per_second=None, surface="ws_api")
        session = _Session(conn, div, return_rate_limits, conn.connected_us)
        self.sessions.add(session)
        conn.on_close.append(lambda: self._drop(session))

        async def on_text(text: str) -> None:
            if Surface.WS_API in service.faults.active:
                await self._serve_with_faults(session, text)
            else:
                self._serve(session, text)

        await conn.run(on_text)
        return ws

    def shutdown_notice(self) -> None:
        """Tell every connection the server is going away (Binance's ``serverShutdown``)."""
        now = self.service.now_us()
        for s in list(self.sessions):
            s.conn.send(dumps({"event": {"e": "serverShutdown", "E": now // s.div}}))

    def close_all(self) -> None:
        """Close every connection once what is queued (the shutdown notice) has been sent.

        Called from the app's shutdown hook, so clients are disconnected promptly instead of
        after the server's handler-shutdown timeout."""
        for s in list(self.sessions):
            s.conn.close_soon(GOING_AWAY, "Server shutting down")

    async def stop(self) -> None:
        self.close_all()

    def _disconnect_banned(self, ip: str) -> None:
        """An IP ban, however earned (REST, another connection, a fault), disconnects every
        WS API connection of that IP, as on Binance. The close waits one turn of the loop,
        so that an answer being written now (the 418 of the request that earned the ban,
        also from a fault) is sent first."""
        for s in list(self.sessions):
            if s.conn.ip == ip:
                # "... will result in an automated IP ban and you will be disconnected."
                asyncio.get_running_loop().call_soon(s.conn.close_soon, POLICY, "IP banned")

    def _drop(self, s: _Session) -> None:
        for task in s.delayed:
            task.cancel()
        for sub in s.subs.values():
            sub.unsubscribe()
        s.subs.clear()
        self.sessions.discard(s)

    @staticmethod
    def _time_unit(unit: str | None) -> int:
        if unit is None or unit in ("MILLISECOND", "millisecond"):
            return MS
        if unit in ("MICROSECOND", "microsecond"):
            return US
        raise err.invalid_time_unit()

    @staticmethod
    def _url_flag(value: str | None) -> bool:
        if value is None or value.lower() == "true":
            return True
        if value.lower() == "false":
            return False
        raise err.invalid_param("returnRateLimits")

    # ================================================================== requests

    def _serve(
        self,
        s: _Session,
        text: str,
        *,
        reply: bool = True,
        replace: str | None = None,
        capture: list[str] | None = None,
    ) -> None:
        """Answer one frame. Synchronous: the engine call and the fan-out of its events
        happen without yielding, so held events belong to this request only.

        Fault injection may execute the request but swallow its reply (``reply=False``) or
        send ``replace`` instead."""
        s.held = []
        try:
            try:
                answer = self._dispatch(s, text)
            except _Reply as r:
                answer = _error_reply(r.rid, r.error)
            if capture is not None:
                capture.append(answer)
            elif reply:
                s.conn.send(replace if replace is not None else answer)
        finally:
            held, s.held = s.held, None
            for msg in held or ():
                s.conn.send(msg)

    async def _serve_with_faults(self, s: _Session, text: str) -> None:
        """Serve one request through the fault plan (see ``mock_exchange.faults``)."""
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self._serve(s, text)
            return
        method = str(msg.get("method", "")).removeprefix("v3/")
        params = msg.get("params") if isinstance(msg.get("params"), dict) else {}
        assert isinstance(params, dict)
        key = s.api_key or self.service.exchange.keys.get(str(params.get("apiKey", "")))
        account = self.service.exchange.account(key.account_id).name if key is not None else None
        symbol = params.get("symbol")
        fault = self.service.faults.take(
            Surface.WS_API,
            method,
            method=method,
            account=account,
            symbol=symbol if isinstance(symbol, str) else None,
        )
        if fault is None:
            self._serve(s, text)
            return
        action, kind, rid = fault.action, fault.action.kind, msg.get("id")
        now = self.service.wall_us()  # the gateway's clock, as the limiter checks it
        # A delay holds this request's answer only: the connection's later requests are
        # served meanwhile.
        if kind is Kind.DELAY:
            call_later(self.service.clock, action.seconds, functools.partial(self._serve, s, text), s.delayed)
        elif kind is Kind.EXECUTE_THEN_DELAY:
            answer: list[str] = []
            self._serve(s, text, reply=False, capture=answer)
            call_later(
                self.service.clock, action.seconds, functools.partial(_send_all, s.conn, answer), s.delayed
            )
        elif kind is Kind.STALE_SNAPSHOT and fault.captured is not None:
            limit = params.get("limit", 100)
            limit = min(max(limit, 1), 5000) if type(limit) is int else 100
            result = F.depth_snapshot(*fault.captured, limit)
            s.conn.send(dumps({"id": rid, "status": 200, "result": result}))
        elif kind is Kind.RESPOND:  # a canned answer: the body is the ``result``
            s.conn.send(dumps({"id": rid, "status": action.status, "result": action.body}))
        elif kind in (Kind.ERROR, Kind.EXECUTE_THEN_ERROR):
            error = BinanceError(action.code, action.msg or err.default_message(action.code), action.status)
            if kind is Kind.EXECUTE_THEN_ERROR:
                self._serve(s, text, replace=_error_reply(rid, error))
            else:
                s.conn.send(_error_reply(rid, error))
        elif kind is Kind.EXECUTE_THEN_HANG:
            self._serve(s, text, reply=False)
        elif kind in (Kind.CLOSE, Kind.EXECUTE_THEN_CLOSE):
            if kind is Kind.EXECUTE_THEN_CLOSE:
                self._serve(s, text, reply=False)
            s.conn.abort()
        elif kind is Kind.RATE_LIMIT:
            error = self.service.limiter.violation(s.conn.ip, now)
            s.conn.send(_error_reply(rid, error, self._error_body(error, now, s.div)))
        elif kind is Kind.BAN:
            self.service.limiter.ban(s.conn.ip, max(1, int(action.seconds)), now)
            self._serve(s, text)
        elif kind is not Kind.HANG:
            self._serve(s, text)

    def _dispatch(self, s: _Session, text: str) -> str:
        try:
            msg = loads_request(text)
        except ValueError:
            raise _Reply(err.invalid_json(), None) from None
        if not isinstance(msg, dict):
            raise _Reply(err.invalid_json(), None)
        if "id" not in msg or not valid_request_id(msg["id"]):
            raise _Reply(_invalid_id(), None)
        rid = msg["id"]
        raw_params = msg.get("params")
        if raw_params is None:
            raw_params = {}
        if not isinstance(raw_params, dict):
            raise _Reply(_invalid_params(), rid)
        method = msg.get("method")
        if not isinstance(method, str) or not method:
            raise _Reply(_invalid_method(), rid)
        if method.startswith("v3/"):
            method = method[3:]
        return self._call(s, rid, method, raw_params)

    def _call(self, s: _Session, rid: Any, method: str, raw_params: dict[str, Any]) -> str:
        service = self.service
        limiter = service.limiter
        ip = s.conn.ip
        now = service.wall_us()
        endpoint = self.endpoints.get(method)
        session_method = self.session_methods.get(method)
        show_limits = s.return_rate_limits
        account_id: int | None = None
        weight = 0
        charged = False
        result: Any = None
        error: BinanceError | None = None
        try:
            show_limits = self._request_flag(raw_params, s.return_rate_limits)
            params = Params.from_json(raw_params)
            if endpoint is None and session_method is None:
                raise err.unsupported_operation()
            weight = endpoint.weight_for(params) if endpoint is not None else SESSION_WEIGHT
            limiter.admit(ip, weight, now, raw=False)
            charged = True
            if endpoint is not None:
                api_key = self._authenticate(s, endpoint, params, now)
                account_id = api_key.account_id if api_key is not None else None
                result = endpoint.handler(self._request(s, endpoint, params, now, api_key))
                if endpoint.free_on_success:
                    weight = 0
            else:
                assert session_method is not None
                result = session_method(s, params, now)
        except BinanceError as e:
            error = e
        except EngineError as e:
            error = BinanceError.from_engine(e)
        except Exception:  # a bug must not kill the connection; answer as Binance would
            log.exception("WS API method %s failed", method)
            error = err.unknown()
        if charged:
            limiter.charge(ip, weight, now, raw=False)
        out: dict[str, Any] = {"id": rid}
        if error is None:
            out["status"] = 200
            out["result"] = result
        else:
            out["status"] = error.http_status
            out["error"] = self._error_body(error, now, s.div)
        if show_limits:
            orders = endpoint is not None and endpoint.places_order
            out["rateLimits"] = self._rate_limits(ip, account_id if orders else None, now)
        return dumps(out)

    def _authenticate(self, s: _Session, endpoint: Endpoint, params: Params, now: int) -> ApiKey | None:
        """The key a table endpoint runs as: explicit ``apiKey``/``signature`` in the
        params, else the logged-on key (``timestamp`` is required either way)."""
        security = endpoint.security
        if security.signed:
            return authenticate_ws(self.service.exchange, params, now, s.api_key)
        if security.needs_key:
            explicit = params.raw("apiKey")
            if explicit is None and s.api_key is not None:
                return s.api_key
            return lookup_key(self.service.exchange, explicit)
        return None

    def _request(
        self, s: _Session, endpoint: Endpoint, params: Params, now: int, api_key: ApiKey | None
    ) -> Request:
        """The same ``Request`` REST builds, so the handler cannot tell the surfaces apart."""
        return Request(
            service=self.service,
            params=params,
            ip=s.conn.ip,
            div=s.div,
            now_us=now,
            api_key=api_key,
            surface="ws",
            lenient=_LENIENT_SIGNED if endpoint.security.signed else _LENIENT_PUBLIC,
        )

    @staticmethod
    def _request_flag(raw_params: dict[str, Any], default: bool) -> bool:
        value = raw_params.get("returnRateLimits")
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise err.invalid_param("returnRateLimits")

    def _error_body(self, e: BinanceError, now: int, div: int) -> dict[str, Any]:
        """``{code, msg[, data]}``; 429/418 carry ``serverTime`` and ``retryAfter`` (epoch)."""
        body = e.body()
        if e.http_status in (418, 429) and "data" not in body:
            retry_us = (e.retry_after or 0) * 1_000_000
            body["data"] = {"serverTime": now // div, "retryAfter": (now + retry_us) // div}
        return body

    def _rate_limits(self, ip: str, account_id: int | None, now: int) -> list[dict[str, Any]]:
        limiter = self.service.limiter
        cfg = limiter.cfg
        out: list[dict[str, Any]] = []
        if account_id is not None:
            out.extend(limiter.order_limits_used(account_id, now))
        out.append(
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": cfg.request_weight_per_minute,
                "count": limiter.used_weight(ip, now),
            }
        )
        return out

    # ================================================================== session methods

    def _session_info(self, s: _Session, now: int) -> dict[str, Any]:
        div = s.div
        return {
            "apiKey": s.api_key.key if s.api_key is not None else None,
            "authorizedSince": s.authorized_us // div if s.authorized_us is not None else None,
            "connectedSince": s.connected_us // div,
            "returnRateLimits": s.return_rate_limits,
            "serverTime": now // div,
            "userDataStream": bool(s.subs),
        }

    def _logon(self, s: _Session, params: Params, now: int) -> Any:
        api_key = authenticate_ws(self.service.exchange, params, now, None)
        params.check_all_read(_LENIENT_SIGNED)
        if api_key.type is not KeyType.ED25519:
            raise err.bad_signature()
        s.api_key, s.authorized_us = api_key, now
        return self._session_info(s, now)

    def _status(self, s: _Session, params: Params, now: int) -> Any:
        params.check_all_read(_LENIENT_PUBLIC)
        return self._session_info(s, now)

    def _logout(self, s: _Session, params: Params, now: int) -> Any:
        params.check_all_read(_LENIENT_PUBLIC)
        for sub in [sub for sub in s.subs.values() if sub.logon]:
            self._end(s, sub, now)
        s.api_key = s.authorized_us = None
        return self._session_info(s, now)

    def _subscriptions(self, s: _Session, params: Params, now: int) -> Any:
        params.check_all_read(_LENIENT_PUBLIC)
        return [{"subscriptionId": sid} for sid in sorted(s.subs)]

    def _subscribe(self, s: _Session, params: Params, now: int) -> Any:
        params.check_all_read(_LENIENT_PUBLIC)
        if s.api_key is None:
            raise _not_logged_on()
        return {"subscriptionId": self._start(s, s.api_key.account_id, logon=True)}

    def _subscribe_signature(self, s: _Session, params: Params, now: int) -> Any:
        api_key = authenticate_ws(self.service.exchange, params, now, None)
        params.check_all_read(_LENIENT_SIGNED)
        return {"subscriptionId": self._start(s, api_key.account_id, logon=False)}

    def _unsubscribe(self, s: _Session, params: Params, now: int) -> Any:
        sid = params.long("subscriptionId")
        params.check_all_read(_LENIENT_PUBLIC)
        if sid is None:
            if not s.subs:
                raise err.subscription_inactive()
            for sub in list(s.subs.values()):
                self._end(s, sub, now)
            return {}
        target = s.subs.get(sid)
        if target is None:
            raise err.subscription_inactive()
        self._end(s, target, now)
        return {}

    # ================================================================== subscriptions

    def _start(self, s: _Session, account_id: int, *, logon: bool) -> int:
        """Open a subscription: one per account per connection, ids never reused."""
        if any(sub.account_id == account_id for sub in s.subs.values()):
            raise err.subscription_active()
        if s.next_sub_id >= self.max_subscription_ids or len(s.subs) >= self.max_active_subscriptions:
            raise err.max_subscription_ids()
        sid = s.next_sub_id
        s.next_sub_id += 1
        prefix = f'{{"subscriptionId":{sid},"event":'

        def raw(payload: dict[str, Any]) -> None:
            s.emit(prefix + dumps(payload) + "}")

        def sink(event: Event) -> None:
            payload = render_user_event(event, s.div)
            if payload is not None:
                raw(payload)

        def terminate() -> None:
            sub = s.subs.get(sid)
            if sub is not None:
                self._end(s, sub, self.service.now_us())

        controls = UserControls(terminate=terminate, disconnect=s.conn.abort, stall=s.conn.stall, raw=raw)
        s.subs[sid] = _Subscription(
            sid, account_id, logon, self.user_data.subscribe(account_id, sink, controls)
        )
        return sid

    def _end(self, s: _Session, sub: _Subscription, now: int) -> None:
        sub.unsubscribe()
        del s.subs[sub.id]
        s.emit(dumps({"subscriptionId": sub.id, "event": {"e": "eventStreamTerminated", "E": now // s.div}}))
