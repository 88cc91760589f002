"""The pure, synchronous, deterministic core of the mock exchange.

Commands go in (``Exchange.place_order(NewOrder(...))``, ``cancel_order``, ...), typed
events come out as return values; time comes from an injected clock. No asyncio, no JSON,
no I/O: the protocol adapter in ``mock_exchange.binance`` does all of that.
"""

from .accounts import FEE_ACCOUNT_ID, Account, ApiKey, KeyType, Ledger
from .errors import (
    BadRequest,
    CancelRejected,
    EngineError,
    OrderNotFound,
    OrderRejected,
)
from .exchange import DepthSnapshot, Exchange
from .filters import ConfigError, SymbolConfig, symbol_from_config
from .matching import MatchingEngine
from .types import (
    AccountPosition,
    BalanceUpdate,
    CancelRestriction,
    CancelResult,
    DepthUpdate,
    Event,
    ExecutionReport,
    ExecutionType,
    ExpiryReason,
    Fill,
    NewOrder,
    Order,
    OrderStatus,
    OrderType,
    PlaceResult,
    Prevention,
    Side,
    STPMode,
    SymbolStatus,
    TimeInForce,
    Trade,
)
from .units import SCALE, format_units, parse_units, to_decimal, to_units

__all__ = [
    "FEE_ACCOUNT_ID",
    "SCALE",
    "Account",
    "AccountPosition",
    "ApiKey",
    "BadRequest",
    "BalanceUpdate",
    "CancelRejected",
    "CancelRestriction",
    "CancelResult",
    "ConfigError",
    "DepthSnapshot",
    "DepthUpdate",
    "EngineError",
    "Event",
    "Exchange",
    "ExecutionReport",
    "ExecutionType",
    "ExpiryReason",
    "Fill",
    "KeyType",
    "Ledger",
    "MatchingEngine",
    "NewOrder",
    "Order",
    "OrderNotFound",
    "OrderRejected",
    "OrderStatus",
    "OrderType",
    "PlaceResult",
    "Prevention",
    "STPMode",
    "Side",
    "SymbolConfig",
    "SymbolStatus",
    "TimeInForce",
    "Trade",
    "format_units",
    "parse_units",
    "symbol_from_config",
    "to_decimal",
    "to_units",
]
