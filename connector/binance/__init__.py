"""Binance Spot connector: ``BinanceExchange`` and the pieces it is built from.

The connector speaks the real Binance protocol only; point ``endpoints`` at production,
the testnet or any compatible server (``BinanceEndpoints.local(host, port)`` for a mock).
"""

from connector.core.data_types import OrderState, OrderType, TradeFee, TradeType
from connector.core.errors import (
    AuthenticationError,
    ConnectorError,
    ExchangeError,
    FilterFailure,
    InvalidOrder,
    InvalidOrderReason,
    InvalidTimestamp,
    IPBanned,
    NotReady,
    OrderLost,
    OrderNotFound,
    OrderNotTracked,
    OrderRejected,
    RateLimited,
    RequestTimeout,
    ServerError,
    TransportError,
)
from connector.core.events import (
    BalanceUpdated,
    BuyOrderCompleted,
    BuyOrderCreated,
    EventBus,
    OrderAnomaly,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderExpired,
    OrderFailed,
    OrderFilled,
    OrderResolved,
    SellOrderCompleted,
    SellOrderCreated,
)
from connector.core.order_book_tracker import Backoff

from .binance_auth import BinanceAuth
from .binance_constants import BinanceEndpoints
from .binance_exchange import (
    BinanceExchange,
    CancellationResult,
    NetworkStatus,
    ReconciliationCompleted,
    StreamStatusChanged,
)
from .binance_utils import ClientOrderIdFactory, parse_exchange_info, trading_rule_from_symbol
from .binance_web_utils import BinanceRestClient, error_from_response

__all__ = [
    "AuthenticationError",
    "Backoff",
    "BalanceUpdated",
    "BinanceAuth",
    "BinanceEndpoints",
    "BinanceExchange",
    "BinanceRestClient",
    "BuyOrderCompleted",
    "BuyOrderCreated",
    "CancellationResult",
    "ClientOrderIdFactory",
    "ConnectorError",
    "EventBus",
    "ExchangeError",
    "FilterFailure",
    "IPBanned",
    "InvalidOrder",
    "InvalidOrderReason",
    "InvalidTimestamp",
    "NetworkStatus",
    "NotReady",
    "OrderAnomaly",
    "OrderCancelled",
    "OrderCompleted",
    "OrderCreated",
    "OrderExpired",
    "OrderFailed",
    "OrderFilled",
    "OrderLost",
    "OrderNotFound",
    "OrderNotTracked",
    "OrderRejected",
    "OrderResolved",
    "OrderState",
    "OrderType",
    "RateLimited",
    "ReconciliationCompleted",
    "RequestTimeout",
    "SellOrderCompleted",
    "SellOrderCreated",
    "ServerError",
    "StreamStatusChanged",
    "TradeFee",
    "TradeType",
    "TransportError",
    "error_from_response",
    "parse_exchange_info",
    "trading_rule_from_symbol",
]
