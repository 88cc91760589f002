"""HMAC-SHA256 request signing for Binance's REST API and WebSocket API.

Two payload rules, one key (``binance-spot-api.md`` §1.4, §7.2):

* **REST**: the signature covers the exact percent-encoded query string (or form body) that is
  sent, in the order it is sent. So this module *builds* that string, signs it and hands back
  the finished text with ``&signature=...`` appended; the caller sends it byte for byte and
  never re-encodes (a re-encoded or re-ordered string would fail with -1022).
* **WebSocket API**: every parameter except ``signature``, sorted by name, joined as
  ``k=v&...`` without percent-encoding.

The timestamp comes from an injected provider (the ``TimeSynchronizer``'s server-time
estimate), so a signed request always carries server time, and tests can pin it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from urllib.parse import urlencode

from .binance_constants import DEFAULT_RECV_WINDOW_MS, MAX_RECV_WINDOW_MS

#: A parameter value as this module accepts it; ``Decimal`` is written without exponent.
ParamValue = str | int | Decimal | bool

API_KEY_HEADER = "X-MBX-APIKEY"


def format_param(value: ParamValue) -> str:
    """The wire text of one parameter: ``Decimal('1E-5')`` is ``0.00001``, booleans are
    ``true``/``false`` (Python's ``str`` would give ``1E-5`` and ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def encode_params(params: Mapping[str, ParamValue] | Sequence[tuple[str, ParamValue]]) -> str:
    """Percent-encode parameters in the given order, as they will be sent and signed."""
    items = params.items() if isinstance(params, Mapping) else params
    return urlencode([(key, format_param(value)) for key, value in items])


class BinanceAuth:
    """Signs requests with one API key and HMAC secret.

    ``time_provider`` returns the timestamp to sign, in integer milliseconds of server time.
    ``recv_window_ms`` is sent with every signed REST request (Binance's default is 5000,
    maximum 60000): how long after ``timestamp`` the server may still execute it.
    """

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        time_provider: Callable[[], int],
        *,
        recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
    ) -> None:
        if not api_key or not api_secret:
            raise ValueError("an API key and secret are required to sign requests")
        if not 0 < recv_window_ms <= MAX_RECV_WINDOW_MS:
            raise ValueError(f"recv_window_ms must be in (0, {MAX_RECV_WINDOW_MS}], got {recv_window_ms}")
        self.api_key = api_key
        self._secret = api_secret.encode()
        self._time_provider = time_provider
        self.recv_window_ms = recv_window_ms

    def __repr__(self) -> str:  # never show the secret
        return f"BinanceAuth(api_key={self.api_key[:4]}..., recv_window_ms={self.recv_window_ms})"

    def sign(self, payload: str) -> str:
        """Lower-case hex HMAC-SHA256 of ``payload``."""
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()

    def headers(self) -> dict[str, str]:
        """The header that identifies the key on REST requests."""
        return {API_KEY_HEADER: self.api_key}

    def signed_query(self, params: Mapping[str, ParamValue]) -> str:
        """``params`` plus ``recvWindow`` and ``timestamp``, encoded and signed.

        Returns the complete query string (or form body) to send, ending in ``&signature=``.
        """
        items: list[tuple[str, ParamValue]] = list(params.items())
        names = {name for name, _ in items}
        if "recvWindow" not in names:
            items.append(("recvWindow", self.recv_window_ms))
        if "timestamp" not in names:
            items.append(("timestamp", self._time_provider()))
        payload = encode_params(items)
        return f"{payload}&signature={self.sign(payload)}"

    def ws_signed_params(self, params: Mapping[str, ParamValue] | None = None) -> dict[str, ParamValue]:
        """WebSocket API parameters with ``apiKey``, ``timestamp`` and ``signature``."""
        out: dict[str, ParamValue] = dict(params or {})
        out["apiKey"] = self.api_key
        out.setdefault("timestamp", self._time_provider())
        out["signature"] = self.sign(ws_payload(out))
        return out


def ws_payload(params: Mapping[str, ParamValue]) -> str:
    """The WebSocket API signature payload: sorted ``k=v`` pairs, ``signature`` excluded."""
    return "&".join(f"{key}={format_param(params[key])}" for key in sorted(params) if key != "signature")
