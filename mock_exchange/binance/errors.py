"""The one table of Binance errors: ``{code, msg}`` and the HTTP status each travels with.

Every error the protocol layer returns is a ``BinanceError`` built here, so a code always
goes out with the same status, and messages are spelled once. Messages are byte-exact
(clients match on them: Hummingbot on -1021/-2011/-2013, ccxt on many engine messages).
"""

from __future__ import annotations

from typing import Any

from mock_exchange.engine import EngineError

#: HTTP status per code. Anything not listed is a client error (400).
HTTP_STATUS: dict[int, int] = {
    -1000: 500,
    -1001: 500,
    -1003: 429,
    -1006: 500,
    -1007: 503,
    -1008: 503,
    -1015: 429,
    -1016: 503,
    -2014: 401,
    -2015: 401,
}


#: Binance's messages for the codes fault injection answers with when no ``msg`` is given.
DEFAULT_MESSAGES: dict[int, str] = {
    -1000: "An unknown error occurred while processing the request.",
    -1001: "Internal error; unable to process your request. Please try again.",
    -1003: "Too many requests queued.",
    -1006: "An unexpected response was received from the message bus. Execution status unknown.",
    -1007: "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
    -1008: "Server is currently overloaded with other requests. Please try again in a few minutes.",
    -1016: "This service is no longer available.",
    -1015: "Too many new orders.",
    -1021: "Timestamp for this request is outside of the recvWindow.",
    -1022: "Signature for this request is not valid.",
    -2010: "Account has insufficient balance for requested action.",
    -2011: "Unknown order sent.",
    -2013: "Order does not exist.",
    -2014: "API-key format invalid.",
    -2015: "Invalid API-key, IP, or permissions for action.",
}
#: What Binance's gateway answers with HTTP 503 when it timed out waiting for the engine.
UNKNOWN_503 = "Unknown error, please check your request or try again later."


def default_message(code: int) -> str:
    return DEFAULT_MESSAGES.get(code, UNKNOWN_503)


class BinanceError(Exception):
    """An error answer: ``{"code": code, "msg": msg}`` with ``http_status``.

    ``retry_after`` (seconds) is sent as the ``Retry-After`` header on 429/418; ``data``
    is the extra object some errors carry (cancelReplace, WS API rate limits).
    """

    def __init__(
        self,
        code: int,
        msg: str,
        http_status: int | None = None,
        *,
        retry_after: int | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg
        self.http_status = http_status if http_status is not None else HTTP_STATUS.get(code, 400)
        self.retry_after = retry_after
        self.data = data

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.data is not None:
            out["data"] = self.data
        return out

    def __str__(self) -> str:
        return f"HTTP {self.http_status} {self.code}: {self.msg}"

    @classmethod
    def from_engine(cls, e: EngineError) -> BinanceError:
        return cls(e.code, e.msg)


# ------------------------------------------------------------------ constructors, by code


def unknown(msg: str = "An unknown error occurred while processing the request.") -> BinanceError:
    return BinanceError(-1000, msg)


def too_much_weight(limit: int, interval: str, retry_after: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per {interval}. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        429,
        retry_after=retry_after,
    )


def banned(until_ms: int, retry_after: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        418,
        retry_after=retry_after,
    )


def too_many_orders(limit: int, interval: str, retry_after: int) -> BinanceError:
    return BinanceError(
        -1015,
        f"Too many new orders; current limit is {limit} orders per {interval}.",
        429,
        retry_after=retry_after,
    )


def outside_recv_window() -> BinanceError:
    return BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def ahead_of_server() -> BinanceError:
    return BinanceError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def bad_signature() -> BinanceError:
    return BinanceError(-1022, "Signature for this request is not valid.")


def illegal_chars(name: str, legal: str) -> BinanceError:
    return BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def duplicate_param() -> BinanceError:
    return BinanceError(-1101, "Duplicate values for a parameter detected.")


def too_many_params(expected: str, received: str) -> BinanceError:
    return BinanceError(-1101, f"Too many parameters; expected '{expected}' and received '{received}'.")


def mandatory(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def one_of(a: str, b: str) -> BinanceError:
    return BinanceError(-1102, f"Param '{a}' or '{b}' must be sent, but both were empty/null!")


def greater_than(name: str, limit: str) -> BinanceError:
    return BinanceError(-1102, f"'{name}' contains unexpected value. Cannot be greater than {limit}.")


def unread(read: int, sent: int) -> BinanceError:
    return BinanceError(
        -1104, f"Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'."
    )


def empty(name: str) -> BinanceError:
    return BinanceError(-1105, f"Parameter '{name}' was empty.")


def not_required(name: str) -> BinanceError:
    return BinanceError(-1106, f"Parameter '{name}' sent when not required.")


def too_much_precision(name: str) -> BinanceError:
    return BinanceError(-1111, f"Parameter '{name}' has too much precision.")


def invalid_tif() -> BinanceError:
    return BinanceError(-1115, "Invalid timeInForce.")


def invalid_order_type() -> BinanceError:
    return BinanceError(-1116, "Invalid orderType.")


def invalid_side() -> BinanceError:
    return BinanceError(-1117, "Invalid side.")


def empty_new_client_order_id() -> BinanceError:
    return BinanceError(-1118, "New client order ID was empty.")


def empty_orig_client_order_id() -> BinanceError:
    return BinanceError(-1119, "Original client order ID was empty.")


def bad_interval() -> BinanceError:
    return BinanceError(-1120, "Invalid interval.")


def bad_symbol() -> BinanceError:
    return BinanceError(-1121, "Invalid symbol.")


def invalid_symbol_status() -> BinanceError:
    return BinanceError(-1122, "Invalid symbolStatus.")


def invalid_listen_key() -> BinanceError:
    return BinanceError(-1125, "This listenKey does not exist.")


def lookup_interval_too_big(hours: int) -> BinanceError:
    return BinanceError(-1127, f"More than {hours} hours between startTime and endTime.")


def bad_combination() -> BinanceError:
    return BinanceError(-1128, "Combination of optional parameters invalid.")


def invalid_param(name: str) -> BinanceError:
    return BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")


def bad_strategy_type() -> BinanceError:
    return BinanceError(-1134, "`strategyType` was less than 1000000.")


def invalid_json(name: str | None = None) -> BinanceError:
    if name is None:
        return BinanceError(-1135, "Invalid JSON Request")
    return BinanceError(-1135, f"JSON sent for parameter '{name}' is not valid")


def invalid_ticker_type() -> BinanceError:
    return BinanceError(-1139, "Invalid ticker type.")


def invalid_cancel_restrictions() -> BinanceError:
    return BinanceError(-1145, "Invalid cancelRestrictions")


def duplicate_symbols() -> BinanceError:
    return BinanceError(-1151, "Symbol is present multiple times in the list.")


def invalid_time_unit() -> BinanceError:
    return BinanceError(-1194, "Invalid value for time unit; expected either MICROSECOND or MILLISECOND.")


def invalid_peg_price_type() -> BinanceError:
    return BinanceError(-1210, "Invalid pegPriceType.")


def invalid_peg_offset_type() -> BinanceError:
    return BinanceError(-1211, "Invalid pegOffsetType.")


def symbol_status_mismatch() -> BinanceError:
    return BinanceError(-1220, "The symbol's status does not match the requested symbolStatus.")


def bad_api_key_format() -> BinanceError:
    return BinanceError(-2014, "API-key format invalid.")


def rejected_api_key() -> BinanceError:
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.")


def unknown_order() -> BinanceError:
    return BinanceError(-2011, "Unknown order sent.")


def subscription_active() -> BinanceError:
    return BinanceError(-2035, "User Data Stream subscription already active.")


def subscription_inactive() -> BinanceError:
    return BinanceError(-2036, "User Data Stream subscription not active.")


def max_subscription_ids() -> BinanceError:
    return BinanceError(-2042, "Maximum subscription ID reached for this connection.")


def no_reference_price() -> BinanceError:
    return BinanceError(-2043, "This symbol doesn't have a reference price.")


def unsupported_operation() -> BinanceError:
    return BinanceError(-1020, "This operation is not supported.")


def cancel_replace_not_supported() -> BinanceError:
    return BinanceError(-2010, "Order cancel-replace is not supported for this symbol.")


def pegged_not_supported() -> BinanceError:
    """The answer to a pegged order on a symbol whose ``pegInstructionsAllowed`` is false
    (every symbol of the mock: pegged orders are not modelled)."""
    return BinanceError(-2010, "Pegged orders are not supported for this symbol.")
