"""The control API: ``Control`` over HTTP + JSON under the reserved ``/mock/`` prefix.

Binance has no ``/mock`` paths, so nothing a real client sends can reach these routes.
Requests and answers are JSON; a refusal is ``400 {"error": "<field>: <why>"}``. See
README ("Control API") for curl examples.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .operations import Control, ControlError

CONTROL = web.AppKey("control", Control)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise ControlError("body: not valid JSON") from None
    if not isinstance(data, dict):
        raise ControlError("body: expected a JSON object")
    return data


def _wrap(fn: Callable[[Control, web.Request], Awaitable[Any]]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        control = request.app[CONTROL]
        try:
            result = await fn(control, request)
        except ControlError as e:
            return _ok({"error": str(e)}, 400)
        except (KeyError, TypeError, ValueError, ArithmeticError) as e:
            return _ok({"error": f"bad request: {e}"}, 400)
        return result if isinstance(result, web.StreamResponse) else _ok(result)

    return handler


def _number(value: Any, name: str, *, integer: bool = False) -> Any:
    """``value`` as a float (or an int, with ``integer``), or a 400 naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "an integer" if integer else "a number"
        raise ControlError(f"{name}: expected {kind}, got {value!r}")
    if not math.isfinite(value):
        raise ControlError(f"{name}: expected a finite number, got {value!r}")
    if integer:
        if isinstance(value, float) and not value.is_integer():
            raise ControlError(f"{name}: expected an integer, got {value!r}")
        return int(value)
    return float(value)  # float ok: seconds


def _need(body: dict[str, Any], *names: str) -> list[Any]:
    missing = [n for n in names if n not in body]
    if missing:
        raise ControlError(f"{missing[0]}: required")
    return [body[n] for n in names]


async def state(c: Control, r: web.Request) -> Any:
    ex = c.exchange
    return {
        "clock": c.clock(),
        "symbols": list(ex.engines),
        "accounts": [a.name for a in ex.ledger.accounts.values() if a.account_id],
        "faults": c.faults(),
    }


async def list_faults(c: Control, r: web.Request) -> Any:
    return c.faults()


async def add_fault(c: Control, r: web.Request) -> Any:
    fault = c.add_fault(await _body(r))
    return fault.describe()


async def delete_fault(c: Control, r: web.Request) -> Any:
    try:
        fid = int(r.match_info["id"])
    except ValueError:
        raise ControlError("id: expected an integer") from None
    if not c.remove_fault(fid):
        raise ControlError(f"id: no fault {fid}")
    return {"removed": fid}


async def clear_faults(c: Control, r: web.Request) -> Any:
    c.clear_faults()
    return {"removed": "all"}


async def disconnect(c: Control, r: web.Request) -> Any:
    body = await _body(r)
    return {"disconnected": c.disconnect(body.get("surface", "all"), body.get("stream"))}


async def shutdown_notice(c: Control, r: web.Request) -> Any:
    body = await _body(r)
    surface = body.get("surface", "all")
    c.shutdown_notice(surface)
    return {"notified": surface}


async def stall(c: Control, r: web.Request) -> Any:
    body = await _body(r)
    (seconds,) = _need(body, "seconds")
    return {"stalled": c.stall(_number(seconds, "seconds"), body.get("surface", "all"), body.get("stream"))}


async def terminate(c: Control, r: web.Request) -> Any:
    (account,) = _need(await _body(r), "account")
    return {"terminated": c.terminate_user_data(account)}


async def inject_user(c: Control, r: web.Request) -> Any:
    account, payload = _need(await _body(r), "account", "payload")
    return {"delivered": c.inject_user_event(account, payload)}


async def inject_stream(c: Control, r: web.Request) -> Any:
    stream, payload = _need(await _body(r), "stream", "payload")
    return {"delivered": c.inject_stream_message(stream, payload)}


async def deposit(c: Control, r: web.Request) -> Any:
    asset, amount = _need(await _body(r), "asset", "amount")
    c.deposit(r.match_info["name"], asset, amount)
    return c.balances(r.match_info["name"])


async def withdraw(c: Control, r: web.Request) -> Any:
    asset, amount = _need(await _body(r), "asset", "amount")
    c.withdraw(r.match_info["name"], asset, amount)
    return c.balances(r.match_info["name"])


async def balances(c: Control, r: web.Request) -> Any:
    return c.balances(r.match_info["name"])


async def place(c: Control, r: web.Request) -> Any:
    b = await _body(r)
    account, symbol, side = _need(b, "account", "symbol", "side")
    return c.place_order(
        account,
        symbol,
        side,
        b.get("type", "LIMIT"),
        quantity=b.get("quantity"),
        price=b.get("price"),
        quote_order_qty=b.get("quoteOrderQty"),
        stop_price=b.get("stopPrice"),
        time_in_force=b.get("timeInForce"),
        client_order_id=b.get("clientOrderId"),
        stp=b.get("selfTradePreventionMode"),
    )


async def cancel(c: Control, r: web.Request) -> Any:
    b = await _body(r)
    account, symbol = _need(b, "account", "symbol")
    if "orderId" not in b and "clientOrderId" not in b:
        raise ControlError("orderId: orderId or clientOrderId required")
    return c.cancel_order(account, symbol, b.get("orderId"), b.get("clientOrderId"))


async def list_orders(c: Control, r: web.Request) -> Any:
    account, symbol = r.query.get("account"), r.query.get("symbol")
    if not account or not symbol:
        raise ControlError("account, symbol: query parameters required")
    return c.orders(account, symbol)


async def list_trades(c: Control, r: web.Request) -> Any:
    account, symbol = r.query.get("account"), r.query.get("symbol")
    if not account or not symbol:
        raise ControlError("account, symbol: query parameters required")
    return c.trades(account, symbol)


async def get_book(c: Control, r: web.Request) -> Any:
    try:
        limit = int(r.query.get("limit", "100"))
    except ValueError:
        raise ControlError("limit: expected an integer") from None
    return c.book(r.match_info["symbol"], limit)


async def seed(c: Control, r: web.Request) -> Any:
    b = await _body(r)
    account, mid, levels, spacing, quantity = _need(b, "account", "mid", "levels", "spacing", "quantity")
    c.seed_book(
        r.match_info["symbol"], account, mid, _number(levels, "levels", integer=True), spacing, quantity
    )
    return c.book(r.match_info["symbol"])


async def clear_book(c: Control, r: web.Request) -> Any:
    return {"cancelled": c.clear_book(r.match_info["symbol"])}


async def get_clock(c: Control, r: web.Request) -> Any:
    return c.clock()


async def advance(c: Control, r: web.Request) -> Any:
    (seconds,) = _need(await _body(r), "seconds")
    await c.advance(_number(seconds, "seconds"))
    return c.clock()


async def skew(c: Control, r: web.Request) -> Any:
    (ms,) = _need(await _body(r), "ms")
    c.skew(_number(ms, "ms", integer=True))
    return c.clock()


async def traffic(c: Control, r: web.Request) -> Any:
    try:
        since = int(r.query.get("since", "0"))
    except ValueError:
        raise ControlError("since: expected an integer") from None
    return c.traffic(since)


async def set_traffic(c: Control, r: web.Request) -> Any:
    body = await _body(r)
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ControlError(f"enabled: expected true or false, got {enabled!r}")
    c.record_traffic(enabled)
    return {"enabled": c.service.traffic.enabled}


ROUTES: list[tuple[str, str, Callable[[Control, web.Request], Awaitable[Any]]]] = [
    ("GET", "/mock/state", state),
    ("GET", "/mock/faults", list_faults),
    ("POST", "/mock/faults", add_fault),
    ("DELETE", "/mock/faults", clear_faults),
    ("DELETE", "/mock/faults/{id}", delete_fault),
    ("POST", "/mock/connections/disconnect", disconnect),
    ("POST", "/mock/connections/stall", stall),
    ("POST", "/mock/connections/shutdown-notice", shutdown_notice),
    ("POST", "/mock/user-data/terminate", terminate),
    ("POST", "/mock/user-data/inject", inject_user),
    ("POST", "/mock/streams/inject", inject_stream),
    ("GET", "/mock/accounts/{name}", balances),
    ("POST", "/mock/accounts/{name}/deposit", deposit),
    ("POST", "/mock/accounts/{name}/withdraw", withdraw),
    ("POST", "/mock/orders", place),
    ("DELETE", "/mock/orders", cancel),
    ("GET", "/mock/orders", list_orders),
    ("GET", "/mock/trades", list_trades),
    ("GET", "/mock/books/{symbol}", get_book),
    ("POST", "/mock/books/{symbol}/seed", seed),
    ("DELETE", "/mock/books/{symbol}", clear_book),
    ("GET", "/mock/clock", get_clock),
    ("POST", "/mock/clock/advance", advance),
    ("POST", "/mock/clock/skew", skew),
    ("GET", "/mock/traffic", traffic),
    ("POST", "/mock/traffic", set_traffic),
]


def install(app: web.Application, control: Control) -> None:
    app[CONTROL] = control
    for method, path, fn in ROUTES:
        app.router.add_route(method, path, _wrap(fn))
