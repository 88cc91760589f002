"""A minimal signed Binance REST client for tests: real HTTP, real HMAC, nothing mocked."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def code(self) -> int | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def msg(self) -> str | None:
        return self.body.get("msg") if isinstance(self.body, dict) else None

    def header(self, name: str) -> str | None:
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None


class RestClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str,
        secret: str,
        now_ms: Callable[[], int],
    ) -> None:
        self.session = session
        self.base_url = base_url
        self.api_key = api_key
        self.secret = secret
        self.now_ms = now_ms

    def sign(self, payload: str) -> str:
        return hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()

    async def raw(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: str = "",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        url = self.base_url + path + (f"?{query}" if query else "")
        h = {"X-MBX-APIKEY": self.api_key, **(headers or {})}
        if body:
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        async with self.session.request(
            method, aiohttp.client.URL(url, encoded=True), data=body.encode() if body else None, headers=h
        ) as r:
            text = await r.text()
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = text
            return Reply(r.status, dict(r.headers), parsed)

    async def public(self, method: str, path: str, **params: Any) -> Reply:
        return await self.raw(method, path, query=urlencode(params))

    async def signed(
        self,
        method: str,
        path: str,
        *,
        in_body: bool | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> Reply:
        params.setdefault("timestamp", self.now_ms())
        payload = urlencode(params)
        signed = f"{payload}&signature={self.sign(payload)}"
        if in_body is None:
            in_body = method in ("POST", "PUT")
        if in_body:
            return await self.raw(method, path, body=signed, headers=headers)
        return await self.raw(method, path, query=signed, headers=headers)
