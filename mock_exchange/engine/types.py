"""Values that go into and come out of the engine: enums, orders, commands and events.

Events are slotted dataclasses but not ``frozen`` (a frozen dataclass costs about twice as
much to build, and the engine builds several per command); by convention nobody mutates an
event once the command that produced it has returned.

Everything here is plain data. Amounts are integers of 10**-8 units (see ``units``) and
times are integers of microseconds since the epoch; the protocol layer converts both for
the wire. Enum values are spelled exactly as Binance spells them, so ``str(member)`` is the
wire value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    LIMIT_MAKER = "LIMIT_MAKER"
    STOP_LOSS = "STOP_LOSS"
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"


#: Types that wait for a trigger price before they work.
CONDITIONAL_TYPES = frozenset(
    {OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT}
)
#: Types that carry a limit price.
PRICED_TYPES = frozenset(
    {OrderType.LIMIT, OrderType.LIMIT_MAKER, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT}
)
#: Types that run as a market order (immediately or once triggered).
MARKET_LIKE_TYPES = frozenset({OrderType.MARKET, OrderType.STOP_LOSS, OrderType.TAKE_PROFIT})


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"


OPEN_STATUSES = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})
# ``OrderStatus.NEW`` goes through ``EnumType.__getattr__`` (~100 ns on CPython 3.11, ten
# times a module global); ``Order.__init__`` runs for every order.
_NEW = OrderStatus.NEW


class ExecutionType(StrEnum):
    NEW = "NEW"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    TRADE = "TRADE"
    EXPIRED = "EXPIRED"
    TRADE_PREVENTION = "TRADE_PREVENTION"


class STPMode(StrEnum):
    NONE = "NONE"
    EXPIRE_TAKER = "EXPIRE_TAKER"
    EXPIRE_MAKER = "EXPIRE_MAKER"
    EXPIRE_BOTH = "EXPIRE_BOTH"
    DECREMENT = "DECREMENT"
    #: Between accounts of one trade group it also moves the prevented quantity's funds;
    #: the mock has no trade groups, and within one account it is DECREMENT.
    TRANSFER = "TRANSFER"


class ExpiryReason(StrEnum):
    NONE = "NONE"
    UNFILLED_IOC_QUANTITY_EXPIRED = "UNFILLED_IOC_QUANTITY_EXPIRED"
    UNFILLED_FOK_ORDER_EXPIRED = "UNFILLED_FOK_ORDER_EXPIRED"
    INSUFFICIENT_LIQUIDITY = "INSUFFICIENT_LIQUIDITY"
    EXCHANGE_CANCELED = "EXCHANGE_CANCELED"
    #: A triggered conditional order the engine could not place (e.g. lack of funds).
    REJECTED = "REJECTED"


class CancelRestriction(StrEnum):
    ONLY_NEW = "ONLY_NEW"
    ONLY_PARTIALLY_FILLED = "ONLY_PARTIALLY_FILLED"


class SymbolStatus(StrEnum):
    TRADING = "TRADING"
    END_OF_DAY = "END_OF_DAY"
    HALT = "HALT"
    BREAK = "BREAK"
    CANCEL_ONLY = "CANCEL_ONLY"


class Order:
    """One order, as the engine keeps it. Mutable; events copy what they need.

    ``available`` is what can still trade: ``orig_qty - executed_qty - prevented_qty``
    (Binance's STP invariant). For a MARKET order by ``quoteOrderQty`` the quantity is
    not known in advance: ``orig_qty`` is 0 until matching ends, then equals what executed.
    """

    __slots__ = (
        "account_id",
        "client_order_id",
        "cumulative_quote",
        "executed_qty",
        "expiry_reason",
        "is_working",
        "lock_asset",
        "locked",
        "order_id",
        "orig_qty",
        "orig_quote_qty",
        "prevented_match_id",
        "prevented_qty",
        "price",
        "self_trade_prevention_mode",
        "side",
        "status",
        "stop_price",
        "strategy_id",
        "strategy_type",
        "symbol",
        "time",
        "time_in_force",
        "type",
        "update_time",
        "working_time",
    )

    def __init__(
        self,
        symbol: str,
        order_id: int,
        client_order_id: str,
        account_id: int,
        side: Side,
        type: OrderType,
        time_in_force: TimeInForce,
        price: int,
        orig_qty: int,
        orig_quote_qty: int,
        stop_price: int,
        self_trade_prevention_mode: STPMode,
        time: int,
        strategy_id: int | None = None,
        strategy_type: int | None = None,
    ) -> None:
        self.symbol = symbol
        self.order_id = order_id
        self.client_order_id = client_order_id
        self.account_id = account_id
        self.side = side
        self.type = type
        self.time_in_force = time_in_force
        self.price = price
        self.orig_qty = orig_qty
        self.orig_quote_qty = orig_quote_qty
        self.stop_price = stop_price
        self.self_trade_prevention_mode = self_trade_prevention_mode
        self.time = time
        self.update_time = time
        self.working_time = -1
        self.is_working = False
        self.status = _NEW
        self.executed_qty = 0
        self.cumulative_quote = 0
        self.prevented_qty = 0
        self.prevented_match_id: int | None = None
        self.expiry_reason: ExpiryReason | None = None
        self.strategy_id = strategy_id
        self.strategy_type = strategy_type
        self.lock_asset = ""
        self.locked = 0

    @property
    def available(self) -> int:
        return self.orig_qty - self.executed_qty - self.prevented_qty

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def __repr__(self) -> str:
        return (
            f"Order({self.symbol} #{self.order_id} {self.client_order_id!r} acct={self.account_id} "
            f"{self.side} {self.type} {self.status} px={self.price} qty={self.orig_qty} "
            f"exec={self.executed_qty} prevented={self.prevented_qty})"
        )


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class NewOrder:
    """Place an order. Mandatory-by-type rules are checked by the engine.

    ``quantity`` or ``quote_order_qty`` is ``None`` when not sent; ``price`` and
    ``stop_price`` likewise. ``self_trade_prevention_mode`` ``None`` means the symbol's
    default.
    """

    account_id: int
    symbol: str
    side: Side
    type: OrderType
    quantity: int | None = None
    quote_order_qty: int | None = None
    price: int | None = None
    stop_price: int | None = None
    time_in_force: TimeInForce | None = None
    new_client_order_id: str | None = None
    self_trade_prevention_mode: STPMode | None = None
    strategy_id: int | None = None
    strategy_type: int | None = None


# --------------------------------------------------------------------------- events


@dataclass(slots=True)
class Fill:
    """One trade from the point of view of one order (a FULL response's ``fills[]``)."""

    price: int
    qty: int
    commission: int
    commission_asset: str
    trade_id: int


@dataclass(slots=True)
class Prevention:
    """What self-trade prevention did in one ``TRADE_PREVENTION`` report."""

    prevented_match_id: int
    #: Cumulative prevented quantity of the order (``A``) and this prevention's share (``B``).
    prevented_qty: int
    last_prevented_qty: int
    counter_order_id: int
    #: The trade that would have happened: quantity, price, quote (``pl``/``pL``/``pY``).
    exec_qty: int
    exec_price: int
    exec_quote: int
    trade_group_id: int = -1
    #: Whether the report is the taker's (``counter_order_id`` is then the maker's id).
    is_taker: bool = False


@dataclass(slots=True)
class ExecutionReport:
    """Everything an ``executionReport`` needs, as of the moment it happened.

    ``order`` supplies the fields that never change after placement (symbol, ids, side,
    type, prices, quantities, creation time); the rest is copied here because the order
    keeps changing after the event. Built for every order event, so it carries only what
    every report has; self-trade prevention details hang off ``prevention``.
    """

    order: Order
    execution_type: ExecutionType
    status: OrderStatus
    time: int
    executed_qty: int
    cumulative_quote: int
    is_working: bool
    working_time: int
    execution_id: int
    last_qty: int = 0
    last_price: int = 0
    last_quote: int = 0
    commission: int = 0
    commission_asset: str | None = None
    trade_id: int = -1
    is_maker: bool = False
    #: On a cancel, the cancel request's own client id (``c``); the order's id goes to ``C``.
    cancel_client_order_id: str | None = None
    expiry_reason: ExpiryReason | None = None
    prevention: Prevention | None = None

    @property
    def account_id(self) -> int:
        return self.order.account_id


@dataclass(slots=True)
class Trade:
    """A public trade, and the private details ``myTrades`` reports for both sides."""

    symbol: str
    trade_id: int
    agg_trade_id: int
    price: int
    qty: int
    quote_qty: int
    time: int
    is_buyer_maker: bool
    buyer_order_id: int
    seller_order_id: int
    buyer_account_id: int
    seller_account_id: int
    buyer_commission: int
    buyer_commission_asset: str
    seller_commission: int
    seller_commission_asset: str


@dataclass(slots=True)
class DepthUpdate:
    """Book levels changed by one command. Quantities are absolute; 0 removes the level.

    ``first_update_id``..``last_update_id`` is a contiguous range of the symbol's single
    update-id sequence; consecutive ``DepthUpdate``s for a symbol are contiguous.
    """

    symbol: str
    first_update_id: int
    last_update_id: int
    time: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


@dataclass(slots=True)
class AccountPosition:
    """Balances after a change (``outboundAccountPosition``): (asset, free, locked)."""

    account_id: int
    time: int
    balances: list[tuple[str, int, int]]


@dataclass(slots=True)
class BalanceUpdate:
    """A deposit (positive ``delta``) or withdrawal (negative) (``balanceUpdate``)."""

    account_id: int
    asset: str
    delta: int
    time: int


Event = ExecutionReport | Trade | DepthUpdate | AccountPosition | BalanceUpdate


@dataclass(slots=True)
class PlaceResult:
    """What placing an order produced: the order (final state) and its own fills.

    ``as_placed`` is set when the placement set off stop orders that went on to trade
    with this order in the same command: it is a copy of the order as its own matching
    left it, which is what the placement's answer reports (its ``fills`` are the
    order's own; the stops' trades reach the user stream as events).
    """

    order: Order
    fills: list[Fill]
    events: list[Event]
    as_placed: Order | None = None

    @property
    def answered(self) -> Order:
        """The order as the placement's answer shows it."""
        return self.as_placed if self.as_placed is not None else self.order


@dataclass(slots=True)
class CancelResult:
    order: Order
    cancel_client_order_id: str
    time: int
    events: list[Event]
