"""Typed errors for the connector, split by whose fault it was (as h11 splits them).

Hummingbot raised ``IOError("... HTTP status is 400. Error: {...}")`` and classified errors by
substring (``"-1021" in str(e)``). Here every failure is a class, and the facts a caller needs
to decide what to do are attributes:

* ``LocalError``: the caller misused the connector (an order that breaks the symbol's rules,
  a call before the connector is ready, a misconfigured rate limit). **Nothing was sent**, so
  nothing happened on the exchange.
* ``RemoteError``: the exchange or the network misbehaved or said no. ``ExchangeError``
  carries what the exchange answered (``http_status``, ``code``, ``msg``, ``retry_after``) and
  which request it answered (``request``). ``TransportError`` means no answer came at all.

The single most important attribute is ``outcome_unknown``. It is True exactly when a create
or cancel *may or may not* have taken effect: HTTP 5xx (Binance: "execution status is
UNKNOWN"), the ``-1006``/``-1007`` message-bus and backend timeouts, the ``-1000``/``-1001``
internal errors, a request timeout, a connection dropped after the request was sent, or an
answer of the wrong shape. Such an error must never be read as "the order failed" or "the
order does not exist" (the study's W1/W2): the order stays pending and is reconciled by
client order id.

Mapping Binance's ``{code, msg}`` to a class is the Binance layer's job; every
``ExchangeError`` subclass takes the same keyword arguments and offers ``from_payload`` so
that the mapping can be a plain table of classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Self

#: Binance codes after which the execution status is unknown, whatever the HTTP status:
#: -1006 "An unexpected response was received from the message bus. Execution status unknown."
#: -1007 "Timeout waiting for response from backend server. ... execution status unknown."
#: and the two server-side failures that say nothing of how far the request got:
#: -1000 "An unknown error occurred while processing the request."
#: -1001 "Internal error; unable to process your request. Please try again."
UNKNOWN_OUTCOME_CODES: frozenset[int] = frozenset({-1000, -1001, -1006, -1007})


class ConnectorError(Exception):
    """Base of every error the connector raises on purpose."""

    @property
    def outcome_unknown(self) -> bool:
        """True when the request may or may not have taken effect on the exchange."""
        return False

    @property
    def transient(self) -> bool:
        """True when the same request may succeed later without any change by the caller.

        Transient errors must only *delay* things (retry, poll again); they are never evidence
        that an order does not exist.
        """
        return False


# ---------------------------------------------------------------------------------------------
# Local: the caller's fault, nothing was sent.


class LocalError(ConnectorError):
    """The caller misused the connector. Nothing was sent to the exchange."""


class InvalidOrderReason(StrEnum):
    """Why an order was refused before sending. Values name the broken rule."""

    UNKNOWN_TRADING_PAIR = "UNKNOWN_TRADING_PAIR"
    UNSUPPORTED_ORDER_TYPE = "UNSUPPORTED_ORDER_TYPE"
    INVALID_AMOUNT = "INVALID_AMOUNT"  # zero, negative, NaN or infinite
    INVALID_PRICE = "INVALID_PRICE"  # missing for a priced type, zero, negative, NaN, infinite
    BELOW_MIN_SIZE = "BELOW_MIN_SIZE"
    ABOVE_MAX_SIZE = "ABOVE_MAX_SIZE"
    BELOW_MIN_PRICE = "BELOW_MIN_PRICE"
    ABOVE_MAX_PRICE = "ABOVE_MAX_PRICE"
    BELOW_MIN_NOTIONAL = "BELOW_MIN_NOTIONAL"
    ABOVE_MAX_NOTIONAL = "ABOVE_MAX_NOTIONAL"
    # The value has more precision than the symbol allows (not a multiple of the tick or step
    # size): quantise first. Binance would answer -1013 PRICE_FILTER/LOT_SIZE or -1111.
    INSUFFICIENT_PRECISION = "INSUFFICIENT_PRECISION"
    # The reference price given to ``validate_order`` for a market order's notional is NaN,
    # infinite or not positive (Hummingbot compared against NaN from an empty book and
    # raised outside its try). The connector itself leaves that notional to the exchange.
    NO_REFERENCE_PRICE = "NO_REFERENCE_PRICE"
    DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
    # This connector already has the pair's MAX_NUM_ORDERS open (or being placed): the
    # exchange would answer -1013 MAX_NUM_ORDERS. Orders placed by other sessions of the
    # account are not known here, so the exchange may still refuse with fewer.
    TOO_MANY_OPEN_ORDERS = "TOO_MANY_OPEN_ORDERS"


class InvalidOrder(LocalError):
    """An order breaks a rule of its symbol (or of this client) and was not sent.

    ``value`` is the offending value and ``limit`` the bound or increment it broke, when
    there is one, so a caller can fix the order without parsing the message.
    """

    def __init__(
        self,
        reason: InvalidOrderReason,
        message: str,
        *,
        trading_pair: str | None = None,
        value: Decimal | None = None,
        limit: Decimal | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.trading_pair = trading_pair
        self.value = value
        self.limit = limit

    def __str__(self) -> str:
        pair = f" [{self.trading_pair}]" if self.trading_pair else ""
        return f"{self.reason}{pair}: {self.message}"


class NotReady(LocalError):
    """The connector cannot do this yet (no trading rules, no time sync, stream down...)."""


class ConfigurationError(LocalError):
    """The connector was configured inconsistently, e.g. an unknown rate-limit id."""


class OrderNotTracked(LocalError):
    """The client order id is not one this connector tracks."""


class SubscriberOverflow(LocalError):
    """An event-stream subscriber fell further behind than its queue allows.

    Raised from the subscriber's own iteration (after the events it did buffer), never from
    the publisher: a slow consumer must not stall order processing.
    """


# ---------------------------------------------------------------------------------------------
# Remote: the exchange or the network.


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Which request an error answers, for messages and for retry decisions."""

    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class RemoteError(ConnectorError):
    """The exchange or the network misbehaved or refused. ``request`` names the request."""

    def __init__(self, message: str, *, request: RequestInfo | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request

    def __str__(self) -> str:
        where = f" ({self.request})" if self.request else ""
        return f"{self.message}{where}"


class ExchangeError(RemoteError):
    """The exchange answered with an error.

    ``code`` and ``msg`` are the exchange's (Binance: ``{"code": -2010, "msg": "..."}``),
    ``http_status`` the HTTP status (``None`` on the WebSocket API, which reports a status in
    its envelope instead), ``retry_after`` the ``Retry-After`` header in seconds, if any.
    """

    def __init__(
        self,
        msg: str = "",
        *,
        code: int | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        request: RequestInfo | None = None,
    ) -> None:
        super().__init__(msg, request=request)
        self.msg = msg
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after

    @classmethod
    def from_payload(
        cls,
        http_status: int | None,
        payload: object,
        *,
        request: RequestInfo | None = None,
        retry_after: float | None = None,
    ) -> Self:
        """Build from a decoded error body such as ``{"code": -1013, "msg": "..."}``.

        Tolerates bodies that are not the documented shape (an HTML error page from a proxy,
        a missing ``msg``): the error is still raised, with what could be read.
        """
        code: int | None = None
        msg = ""
        if isinstance(payload, Mapping):
            raw_code: Any = payload.get("code")
            if isinstance(raw_code, int) and not isinstance(raw_code, bool):
                code = raw_code
            raw_msg: Any = payload.get("msg")
            msg = raw_msg if isinstance(raw_msg, str) else ""
        elif isinstance(payload, str):
            msg = payload
        return cls(msg, code=code, http_status=http_status, retry_after=retry_after, request=request)

    @property
    def outcome_unknown(self) -> bool:
        status_unknown = self.http_status is not None and self.http_status >= 500
        return status_unknown or self.code in UNKNOWN_OUTCOME_CODES

    @property
    def transient(self) -> bool:
        return self.outcome_unknown

    def __str__(self) -> str:
        parts = []
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.code is not None:
            parts.append(str(self.code))
        head = " ".join(parts)
        text = f"{head}: {self.msg}" if head else self.msg
        where = f" ({self.request})" if self.request else ""
        return f"{type(self).__name__} {text}{where}"


class OrderNotFound(ExchangeError):
    """The exchange says the order does not exist (Binance -2013, or -2011 on a cancel).

    On its own this is one answer, not a verdict: the order tracker declares an order lost
    only after several consecutive authoritative answers and a minimum age.
    """


class OrderRejected(ExchangeError):
    """The exchange refused to create the order (Binance -2010 and friends)."""


class FilterFailure(OrderRejected):
    """The order broke a symbol filter (Binance -1013 "Filter failure: NAME")."""

    _PREFIX = "Filter failure: "

    @property
    def filter_name(self) -> str | None:
        """``"LOT_SIZE"`` for ``"Filter failure: LOT_SIZE"``; ``None`` if the text differs."""
        if self.msg.startswith(self._PREFIX):
            return self.msg[len(self._PREFIX) :].strip() or None
        return None


class InvalidTimestamp(ExchangeError):
    """The request's timestamp was outside ``recvWindow`` (Binance -1021): resync the clock.

    Nothing was executed, so it is safe to resync and retry once.
    """

    @property
    def transient(self) -> bool:
        return True


class AuthenticationError(ExchangeError):
    """Bad API key, signature or permissions (Binance -1022, -2014, -2015; HTTP 401)."""


class RateLimited(ExchangeError):
    """HTTP 429: a rate limit was broken. Back off until ``retry_after`` seconds have passed."""

    @property
    def transient(self) -> bool:
        return True


class IPBanned(RateLimited):
    """HTTP 418: the IP is banned for ignoring 429s. Send nothing until the ban ends.

    ``banned_until`` is the end of the ban in epoch seconds when the exchange said so (Binance
    puts it in the message); otherwise use ``retry_after``.
    """

    def __init__(
        self,
        msg: str = "",
        *,
        code: int | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        request: RequestInfo | None = None,
        banned_until: float | None = None,
    ) -> None:
        super().__init__(msg, code=code, http_status=http_status, retry_after=retry_after, request=request)
        self.banned_until = banned_until


class BadRequest(ExchangeError):
    """The exchange refused the request as malformed (Binance -11xx). A bug on our side."""


class ServerError(ExchangeError):
    """HTTP 5xx. The execution status is UNKNOWN: the request may have succeeded."""

    @property
    def outcome_unknown(self) -> bool:
        return True


class TransportError(RemoteError):
    """No usable answer arrived: connection refused, reset, closed, unparseable response.

    ``request_sent`` says whether the request may have reached the exchange. It defaults to
    True because that is the safe assumption: only a failure known to happen before sending
    (e.g. DNS or connection refused) may set it to False.
    """

    def __init__(
        self, message: str, *, request: RequestInfo | None = None, request_sent: bool = True
    ) -> None:
        super().__init__(message, request=request)
        self.request_sent = request_sent

    @property
    def outcome_unknown(self) -> bool:
        return self.request_sent

    @property
    def transient(self) -> bool:
        return True


class RequestTimeout(TransportError):
    """The request was sent and no answer came in time. The outcome is unknown."""

    def __init__(self, message: str, *, request: RequestInfo | None = None) -> None:
        super().__init__(message, request=request, request_sent=True)

    @property
    def outcome_unknown(self) -> bool:
        return True


class OrderLost(RemoteError):
    """The order tracker gave up on an order: repeated authoritative not-found answers.

    ``not_found_count`` is how many consecutive answers said so and ``last_reason`` the last
    of them (usually an ``OrderNotFound``).
    """

    def __init__(
        self,
        message: str,
        *,
        not_found_count: int = 0,
        last_reason: ConnectorError | None = None,
        request: RequestInfo | None = None,
    ) -> None:
        super().__init__(message, request=request)
        self.not_found_count = not_found_count
        self.last_reason = last_reason
