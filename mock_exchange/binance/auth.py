"""Who is asking, and may they: API keys, signatures, timestamps, security types.

REST signatures are verified over the bytes the client actually sent: the raw query
string concatenated with the raw body, with the ``signature=...`` pair taken out. Clients
sign exactly what they send (python-binance sorts, Hummingbot and ccxt keep their own
order, values may be percent-encoded), so re-serialising the parsed parameters would break
real clients. HMAC hex digests compare case-insensitively; Ed25519 signatures are base64.

WS API signatures are over the parameters sorted by name, joined as ``k=v&...`` without
percent-encoding (Binance's documented payload for ``/ws-api/v3``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from enum import Enum
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from mock_exchange.engine import ApiKey, Exchange, KeyType

from . import errors as err
from .errors import BinanceError
from .params import Params

#: Binance rejects timestamps before 2017-01-01 (and clamps startTime/endTime instead).
MIN_TIMESTAMP_US = 1_483_228_800_000_000


class Security(Enum):
    """Binance's security types. Everything but NONE and USER_STREAM is SIGNED."""

    NONE = "NONE"
    TRADE = "TRADE"
    USER_DATA = "USER_DATA"
    USER_STREAM = "USER_STREAM"

    @property
    def signed(self) -> bool:
        return self in (Security.TRADE, Security.USER_DATA)

    @property
    def needs_key(self) -> bool:
        return self is not Security.NONE


def split_signature(raw_query: str, raw_body: str) -> tuple[str, str | None]:
    """Return (payload without the signature pair, the raw signature value or None).

    Raises ``-1101`` if ``signature`` appears more than once.
    """
    found: list[str] = []

    def strip(raw: str) -> str:
        if not raw:
            return raw
        kept = []
        for part in raw.split("&"):
            if part.startswith("signature="):
                found.append(part[len("signature=") :])
            else:
                kept.append(part)
        return "&".join(kept)

    payload = strip(raw_query) + strip(raw_body)
    if len(found) > 1:
        raise err.duplicate_param()
    return payload, (found[0] if found else None)


def ws_payload(params: dict[str, str]) -> str:
    """The WS API signature payload: params except ``signature``, sorted, ``k=v&...``."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")


def hmac_hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _ed25519_key(pem: str) -> Ed25519PublicKey:
    key = load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def verify(api_key: ApiKey, payload: str, signature: str) -> bool:
    """Check ``signature`` (as sent, possibly percent-encoded) over ``payload``."""
    if api_key.type is KeyType.HMAC:
        expected = hmac_hex(api_key.secret, payload)
        return hmac.compare_digest(expected, unquote(signature).lower())
    try:
        raw = base64.b64decode(unquote(signature), validate=True)
        _ed25519_key(api_key.secret).verify(raw, payload.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


def lookup_key(exchange: Exchange, key: str | None) -> ApiKey:
    """``-2014`` for a missing or malformed key, ``-2015`` for an unknown one."""
    if not key or len(key) > 256 or not key.isprintable() or " " in key:
        raise err.bad_api_key_format()
    api_key = exchange.keys.get(key)
    if api_key is None:
        raise err.rejected_api_key()
    return api_key


def check_timestamp(params: Params, now_us: int) -> None:
    """Binance's timing security: ``-1021`` outside ``recvWindow`` or 1 s ahead."""
    if not params.raw("timestamp"):  # absent or empty: both are "mandatory" (-1102)
        raise err.mandatory("timestamp")
    ts = params.time_us("timestamp")
    assert ts is not None
    recv_window = params.recv_window_us()
    if ts < MIN_TIMESTAMP_US:
        raise err.outside_recv_window()
    if ts >= now_us + 1_000_000:
        raise err.ahead_of_server()
    if now_us - ts > recv_window:
        raise err.outside_recv_window()


def authenticate_rest(
    exchange: Exchange,
    security: Security,
    header_key: str | None,
    params: Params,
    raw_query: str,
    raw_body: str,
    now_us: int,
) -> ApiKey | None:
    """Authenticate one REST request; return the key (None for public endpoints)."""
    if not security.needs_key:
        return None
    api_key = lookup_key(exchange, header_key)
    if not security.signed:
        return api_key
    payload, signature = split_signature(raw_query, raw_body)
    params.mark_read("signature")
    if signature is None or signature == "":
        raise err.mandatory("signature")
    check_timestamp(params, now_us)
    if not verify(api_key, payload, signature):
        raise err.bad_signature()
    return api_key


def authenticate_ws(
    exchange: Exchange,
    params: Params,
    now_us: int,
    session_key: ApiKey | None,
) -> ApiKey:
    """Authenticate a signed WS API request (``apiKey`` + ``signature`` in params), or use
    the session's logged-on key when both are omitted."""
    key = params.raw("apiKey")
    signature = params.raw("signature")
    if key is None and signature is None and session_key is not None:
        check_timestamp(params, now_us)
        return session_key
    api_key = lookup_key(exchange, key)
    if signature is None or signature == "":
        raise err.mandatory("signature")
    check_timestamp(params, now_us)
    values = {k: v for k in params if (v := params.peek(k)) is not None}
    if not verify(api_key, ws_payload(values), signature):
        raise err.bad_signature()
    return api_key


def require_trading(api_key: ApiKey) -> None:
    if not api_key.can_trade:
        raise BinanceError(-2010, "This account may not place or cancel orders.")
