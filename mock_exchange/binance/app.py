"""The aiohttp application: REST, market streams and the WS API on one port.

State lives under typed ``AppKey``s (no globals); background tasks start and stop with
the app through ``cleanup_ctx``.
"""

from __future__ import annotations

from aiohttp import web

from mock_exchange.control.http import install as install_control
from mock_exchange.control.operations import Control
from mock_exchange.faults.rest import FaultInterceptor

from .endpoints import all_endpoints
from .rest import RestSurface
from .service import ExchangeService
from .ws import STREAMS, USER_DATA, WS_API
from .ws import install as install_ws

SERVICE = web.AppKey("service", ExchangeService)
REST = web.AppKey("rest", RestSurface)


def create_app(service: ExchangeService) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    rest = RestSurface(service, all_endpoints())
    rest.interceptors.append(FaultInterceptor(service))
    app[SERVICE] = service
    app[REST] = rest
    install_ws(app, service)  # before the REST catch-all route
    install_control(app, Control(service, app[STREAMS], app[WS_API], app[USER_DATA]))
    app.router.add_route("*", "/{tail:.*}", rest.handle)
    return app
