"""Request parameters, read the way Binance reads them, with Binance's ``-11xx`` errors.

REST parameters arrive in the query string and/or a form body (POST/PUT/DELETE); if a key
is in both, the query wins. A key repeated within one source is ``-1101``. WS API
parameters arrive as a JSON object and are normalised to strings the same way.

Every getter marks its parameter as read; ``check_all_read`` then refuses anything the
endpoint did not understand (``-1104``), as Binance does, so a typo in a parameter name is
an error instead of being silently ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from mock_exchange.engine.units import TooMuchPrecision, parse_units

from . import errors as err
from .errors import BinanceError

E = TypeVar("E", bound=StrEnum)

DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
LONG_RANGE = r"^[0-9]{1,20}$"
#: A client order id, as Binance accepts it (``CLIENT_ID_RANGE`` is how its errors quote it).
CLIENT_ID_CHARS = r"[a-zA-Z0-9-_]{1,36}"
CLIENT_ID_RANGE = f"^{CLIENT_ID_CHARS}$"
SYMBOLS_RANGE = r'^\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\]$'
_LONG = re.compile(r"^-?[0-9]{1,20}$")
_CLIENT_ID = re.compile(CLIENT_ID_RANGE)
_RECV_WINDOW = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,3})?$")

#: Parameters the authentication layer reads; never "unread" on a public endpoint either.
AUTH_PARAMS = frozenset({"timestamp", "recvWindow", "signature"})


def parse_form(raw: str) -> list[tuple[str, str]]:
    """Split ``a=1&b=2`` into pairs, percent-decoding, keeping blanks (``a=`` is empty)."""
    if not raw:
        return []
    return parse_qsl(raw, keep_blank_values=True, strict_parsing=False)


def check_time_span(start_us: int | None, end_us: int | None, hours: int) -> None:
    """``-1127`` if both ``startTime`` and ``endTime`` are given and over ``hours`` apart."""
    # Compared in whole milliseconds: an end time in ms stands for the end of its millisecond.
    if start_us is not None and end_us is not None and end_us // 1000 - start_us // 1000 > hours * 3_600_000:
        raise err.lookup_interval_too_big(hours)


class JsonFloat(float):
    """A JSON number with a fraction or exponent that remembers how the client wrote it.

    WebSocket API parameters are signed as ``name=value`` with the value as sent, so
    ``0.00005`` must stay ``0.00005`` (Python would write ``5e-05``) and ``0.0010`` must
    keep its zero.
    """

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> JsonFloat:
        number = super().__new__(cls, text)
        number.text = text
        return number


def loads_request(text: str) -> Any:
    """Decode a WebSocket request, keeping the literal text of non-integer numbers."""
    return json.loads(text, parse_float=JsonFloat)


def _json_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, JsonFloat):
        return v.text
    if v is None:
        return ""
    if isinstance(v, list | dict):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


class Params:
    """The parameters of one request. Getters raise ``BinanceError`` with Binance's codes."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values
        self._read: set[str] = set()

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_sources(cls, *sources: Iterable[tuple[str, str]]) -> Params:
        """Merge sources in priority order (first wins); a key repeated in one source is -1101."""
        values: dict[str, str] = {}
        for source in sources:
            seen: set[str] = set()
            for key, value in source:
                if key in seen:
                    raise err.duplicate_param()
                seen.add(key)
                values.setdefault(key, value)
        return cls(values)

    @classmethod
    def from_json(cls, params: dict[str, Any]) -> Params:
        return cls({str(k): _json_value(v) for k, v in params.items()})

    # ---------------------------------------------------------------- raw access

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._values))

    def peek(self, name: str) -> str | None:
        """The raw value without marking it read."""
        return self._values.get(name)

    def raw(self, name: str) -> str | None:
        """The raw value (``None`` if absent); empty strings are returned as-is."""
        self._read.add(name)
        return self._values.get(name)

    def optional(self, name: str) -> str | None:
        """An optional string: absent -> None; present but empty -> -1105."""
        v = self.raw(name)
        if v is None:
            return None
        if v == "":
            raise err.empty(name)
        return v

    def mandatory(self, name: str) -> str:
        v = self.raw(name)
        if v is None or v == "":
            raise err.mandatory(name)
        return v

    def mark_read(self, *names: str) -> None:
        self._read.update(names)

    def check_all_read(self, ignore: Iterable[str] = ()) -> None:
        """``-1104`` if the request carried parameters the endpoint does not take."""
        ignored = set(ignore)
        unread = [k for k in self._values if k not in self._read and k not in ignored]
        if unread:
            sent = len(self._values)
            raise err.unread(sent - len(unread), sent)

    # ---------------------------------------------------------------- typed getters

    def decimal(self, name: str, *, required: bool = False) -> int | None:
        """A decimal amount in engine units (``-1100`` malformed, ``-1111`` too precise)."""
        v = self.mandatory(name) if required else self.optional(name)
        if v is None:
            return None
        try:
            return parse_units(v)
        except TooMuchPrecision:
            raise err.too_much_precision(name) from None
        except ValueError:
            raise err.illegal_chars(name, DECIMAL_RANGE) from None

    def long(self, name: str, *, required: bool = False, signed: bool = False) -> int | None:
        v = self.mandatory(name) if required else self.optional(name)
        if v is None:
            return None
        if not _LONG.fullmatch(v) or (v.startswith("-") and not signed):
            raise err.illegal_chars(name, LONG_RANGE)
        n = int(v)
        if n > 2**63 - 1 or n < -(2**63):
            raise BinanceError(-1108, f"Parameter '{name}' overflowed.")
        return n

    def int_in(self, name: str, lo: int, hi: int, default: int) -> int:
        """An optional integer clamped to Binance's documented range (values above ``hi``
        are refused with ``-1102``'s "Cannot be greater than" message)."""
        n = self.long(name)
        if n is None:
            return default
        if n > hi:
            raise err.greater_than(name, str(hi))
        if n < lo:
            raise err.invalid_param(name)
        return n

    def enum(
        self, name: str, enum_cls: type[E], bad: BinanceError | None = None, *, required: bool = False
    ) -> E | None:
        v = self.mandatory(name) if required else self.optional(name)
        if v is None:
            return None
        try:
            return enum_cls(v)
        except ValueError:
            raise bad or err.invalid_param(name) from None

    def boolean(self, name: str, default: bool = False) -> bool:
        v = self.optional(name)
        if v is None:
            return default
        low = v.lower()
        if low == "true":
            return True
        if low == "false":
            return False
        raise err.invalid_param(name)

    def client_order_id(self, name: str) -> str | None:
        v = self.raw(name)
        if v is None:
            return None
        if v == "":
            if name == "newClientOrderId":
                raise err.empty_new_client_order_id()
            if name == "origClientOrderId":
                raise err.empty_orig_client_order_id()
            raise err.empty(name)
        if not _CLIENT_ID.fullmatch(v):
            raise err.illegal_chars(name, CLIENT_ID_RANGE)
        return v

    def json_list(self, name: str) -> list[str] | None:
        """A JSON array of strings in the query (``symbols=["A","B"]``)."""
        v = self.optional(name)
        if v is None:
            return None
        try:
            parsed = json.loads(v)
        except ValueError:
            raise err.illegal_chars(name, SYMBOLS_RANGE) from None
        if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
            raise err.illegal_chars(name, SYMBOLS_RANGE)
        return parsed

    def time_us(self, name: str) -> int | None:
        """A timestamp in ms or µs (Binance accepts both), returned in µs."""
        n = self.long(name)
        if n is None:
            return None
        return n if n >= 10**14 else n * 1000

    def end_time_us(self, name: str = "endTime") -> int | None:
        """An inclusive end time, returned in µs: a value in ms covers its whole millisecond
        (a trade at 12.345678 s is "at" 12345 ms, so ``endTime=12345`` includes it)."""
        n = self.long(name)
        if n is None:
            return None
        return n if n >= 10**14 else n * 1000 + 999

    def recv_window_us(self) -> int:
        """``recvWindow``: default 5000 ms, at most 60000, up to three decimals."""
        v = self.optional("recvWindow")
        if v is None:
            return 5_000_000
        if not _RECV_WINDOW.fullmatch(v):
            raise err.illegal_chars("recvWindow", r"^[0-9]{1,20}(\.[0-9]{1,3})?$")
        whole, _, frac = v.partition(".")
        us = int(whole) * 1000 + int(frac.ljust(3, "0")) if frac else int(whole) * 1000
        if us > 60_000_000:
            raise err.greater_than("recvWindow", "60000")
        return us
