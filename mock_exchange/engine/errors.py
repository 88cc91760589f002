"""Why the engine refused a command, as Binance words it.

The engine is a Binance Spot engine, so its refusals carry Binance's code and exact message
(``-2010``/``-1013``/``-2011``/``-2013``...). It knows nothing of HTTP: the protocol layer's
error table maps a code to a status. A refused command never changes state.
"""

from __future__ import annotations


class EngineError(Exception):
    """A command was refused. ``code`` and ``msg`` are Binance's."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg

    def __str__(self) -> str:
        return f"{self.code}: {self.msg}"


class OrderRejected(EngineError):
    """``-2010`` (the engine rejected the order) or ``-1013`` (a filter failed)."""


class CancelRejected(EngineError):
    """``-2011``: unknown order, or cancel restrictions not met."""


class OrderNotFound(EngineError):
    """``-2013``: a query for an order that does not exist."""


class BadRequest(EngineError):
    """A ``-11xx`` problem the engine is the first to see (e.g. a missing mandatory field)."""


# The exact messages. Named so the protocol layer and tests refer to one spelling.
INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
WOULD_MATCH = "Order would immediately match and take."
WOULD_TRIGGER = "Order would trigger immediately."
DUPLICATE_ORDER = "Duplicate order sent."
UNKNOWN_ORDER = "Unknown order sent."
NO_SUCH_ORDER = "Order does not exist."
MARKET_CLOSED = "Market is closed."
CANCEL_RESTRICTED = "Order was not canceled due to cancel restrictions."
STP_NOT_ALLOWED = "This symbol does not allow the specified self-trade prevention mode."
QUOTE_QTY_NOT_SUPPORTED = "Quote order qty market orders are not support for this symbol."
ORDER_TYPE_NOT_SUPPORTED = "Unsupported order combination"
LIQUIDITY_LOT_SIZE = "Order book liquidity is less than `LOT_SIZE` filter minimum quantity."
LIQUIDITY_MARKET_LOT_SIZE = "Order book liquidity is less than `MARKET_LOT_SIZE` filter minimum quantity."
LIQUIDITY_NO_ORDERS = "Order book liquidity is less than symbol minimum quantity."
CLIENT_ID_MISMATCH = "Client order ID is not correct for this order ID."
PRICE_QTY_ZERO = "Price * QTY is zero or less."


def filter_failure(name: str) -> OrderRejected:
    return OrderRejected(-1013, f"Filter failure: {name}")


def rejected(msg: str) -> OrderRejected:
    return OrderRejected(-2010, msg)
