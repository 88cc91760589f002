"""The aiohttp application: REST, market streams and the WS API on one port.

State lives under typed ``AppKey``s (no globals); background tasks start and stop with
the app through ``cleanup_ctx``.
"""

from __future__ import annotations

from aiohttp import web

from .endpoints import all_endpoints
from .rest import RestSurface
from .service import ExchangeService
from .ws import install as install_ws

SERVICE = web.AppKey("service", ExchangeService)
REST = web.AppKey("rest", RestSurface)


def create_app(service: ExchangeService) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    rest = RestSurface(service, all_endpoints())
    app[SERVICE] = service
    app[REST] = rest
    install_ws(app, service)  # before the REST catch-all route
    app.router.add_route("*", "/{tail:.*}", rest.handle)
    return app
