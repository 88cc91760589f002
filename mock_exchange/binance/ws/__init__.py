"""The WebSocket surfaces, served on the REST port: market streams and the WS API.

- ``/ws``, ``/ws/<stream>[/<stream>...]``, ``/ws/<anything>`` (raw payloads) and
  ``/stream?streams=a/b/c``, bare ``/stream`` (``{"stream","data"}`` wrapper): ``streams``.
  In legacy listenKey mode, ``/ws/<listenKey>`` and ``/stream?streams=<listenKey>`` carry
  that account's user data.
- ``/ws-api/v3``: the WebSocket API, including the user data stream subscriptions:
  ``ws_api``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aiohttp import web

from ..service import ExchangeService

if TYPE_CHECKING:
    from .streams import StreamHub
    from .user_data import UserDataHub
    from .ws_api import WsApi

STREAMS: web.AppKey[StreamHub] = web.AppKey("streams")
USER_DATA: web.AppKey[UserDataHub] = web.AppKey("user_data")
WS_API: web.AppKey[WsApi] = web.AppKey("ws_api")


def install(app: web.Application, service: ExchangeService) -> None:
    from .streams import StreamHub
    from .user_data import UserDataHub
    from .ws_api import WsApi

    user_data = UserDataHub(service)
    streams = StreamHub(service, user_data)
    ws_api = WsApi(service, user_data)
    app[USER_DATA] = user_data
    app[STREAMS] = streams
    app[WS_API] = ws_api
    app.router.add_get("/ws", streams.handle)
    app.router.add_get("/ws/{tail:.*}", streams.handle)
    app.router.add_get("/stream", streams.handle)
    app.router.add_get("/stream/{tail:.*}", streams.handle)
    app.router.add_get("/ws-api/v3", ws_api.handle)

    async def background(app: web.Application) -> AsyncIterator[None]:
        await streams.start()
        yield
        await streams.stop()
        await ws_api.stop()

    async def notify_shutdown(app: web.Application) -> None:
        # on_shutdown runs before the server closes connections: tell clients first.
        streams.shutdown_notice()
        ws_api.shutdown_notice()
        streams.close_all()
        ws_api.close_all()

    app.cleanup_ctx.append(background)
    app.on_shutdown.append(notify_shutdown)
