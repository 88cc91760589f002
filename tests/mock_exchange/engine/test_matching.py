"""Matching, order types, statuses and funds: one behaviour per test, asserted on events."""

from __future__ import annotations

import pytest

from mock_exchange.engine import (
    AccountPosition,
    BadRequest,
    CancelRejected,
    CancelRestriction,
    DepthUpdate,
    EngineError,
    ExecutionReport,
    ExecutionType,
    ExpiryReason,
    OrderNotFound,
    OrderRejected,
    OrderStatus,
    OrderType,
    PlaceResult,
    Side,
    STPMode,
    TimeInForce,
    Trade,
    symbol_from_config,
)
from tests.mock_exchange.engine.world import BTCUSDT, World, make_world, reports, u


def test_resting_limit_locks_quote_and_reports_new(world: World) -> None:
    r = world.limit("alice", "BUY", "1", "50000")
    assert r.order.status is OrderStatus.NEW
    assert r.fills == []
    [new] = reports(r.events)
    assert new.execution_type is ExecutionType.NEW and new.is_working
    assert world.locked("alice", "USDT") == u("50000")
    assert world.free("alice", "USDT") == u("10000000") - u("50000")
    depth = [e for e in r.events if isinstance(e, DepthUpdate)]
    assert depth == [DepthUpdate("BTCUSDT", 1, 1, world.clock[0], [(u("50000"), u("1"))], [])]
    assert isinstance(r.events[-1], AccountPosition)
    assert r.events[-1].balances == [("USDT", u("9950000"), u("50000"))]


def test_price_time_priority(world: World) -> None:
    first = world.limit("alice", "SELL", "1", "50000")
    second = world.limit("bob", "SELL", "1", "50000")
    better = world.limit("carol", "SELL", "1", "49999")
    r = world.market("alice", "BUY", qty="2.5")
    makers = [e.order.order_id for e in reports(r.events) if e.is_maker]
    assert makers == [better.order.order_id, first.order.order_id, second.order.order_id]
    assert [f.price for f in r.fills] == [u("49999"), u("50000"), u("50000")]
    assert second.order.status is OrderStatus.PARTIALLY_FILLED
    assert second.order.executed_qty == u("0.5")


def test_taker_buy_below_limit_releases_price_improvement(world: World) -> None:
    world.limit("bob", "SELL", "1", "49000")
    r = world.limit("alice", "BUY", "2", "50000")
    assert r.order.status is OrderStatus.PARTIALLY_FILLED
    # 1 BTC bought at 49000; the remaining 1 BTC rests at 50000 and keeps exactly that locked.
    assert world.locked("alice", "USDT") == u("50000")
    assert world.free("alice", "USDT") == u("10000000") - u("49000") - u("50000")


def test_commission_is_charged_in_the_received_asset(world: World) -> None:
    world.limit("bob", "SELL", "1", "50000")  # maker, 0.1 %
    r = world.market("alice", "BUY", qty="1")  # taker, 0.2 %
    [fill] = r.fills
    assert (fill.commission, fill.commission_asset) == (u("0.002"), "BTC")
    assert world.free("alice", "BTC") == u("100") + u("1") - u("0.002")
    assert world.free("bob", "USDT") == u("10000000") + u("50000") - u("50")
    fees = world.ex.account(0)
    assert fees.free("BTC") == u("0.002") and fees.free("USDT") == u("50")
    [trade] = [e for e in r.events if isinstance(e, Trade)]
    assert (trade.buyer_commission, trade.seller_commission) == (u("0.002"), u("50"))
    maker, taker = [e for e in reports(r.events) if e.execution_type is ExecutionType.TRADE]
    assert maker.is_maker and maker.commission == u("50") and maker.commission_asset == "USDT"
    assert not taker.is_maker and taker.trade_id == trade.trade_id == fill.trade_id


def test_event_sequence_for_taker_that_expires(world: World) -> None:
    world.limit("bob", "SELL", "0.4", "50000")
    r = world.limit("alice", "BUY", "1", "50000", tif="IOC")
    kinds = [(e.execution_type, e.status) for e in reports(r.events, r.order.order_id)]
    assert kinds == [
        (ExecutionType.NEW, OrderStatus.NEW),
        (ExecutionType.TRADE, OrderStatus.PARTIALLY_FILLED),
        (ExecutionType.EXPIRED, OrderStatus.EXPIRED),
    ]
    assert r.order.expiry_reason is ExpiryReason.UNFILLED_IOC_QUANTITY_EXPIRED
    assert world.locked("alice", "USDT") == 0
    assert isinstance(r.events[-1], AccountPosition)


def test_fok_expires_without_fills_when_book_is_short(world: World) -> None:
    world.limit("bob", "SELL", "0.4", "50000")
    r = world.limit("alice", "BUY", "1", "50000", tif="FOK")
    assert r.order.status is OrderStatus.EXPIRED and r.order.executed_qty == 0
    assert r.order.expiry_reason is ExpiryReason.UNFILLED_FOK_ORDER_EXPIRED
    assert not [e for e in r.events if isinstance(e, Trade)]
    r2 = world.limit("alice", "BUY", "0.4", "50000", tif="FOK")
    assert r2.order.status is OrderStatus.FILLED


def test_market_without_enough_liquidity_expires(world: World) -> None:
    world.limit("bob", "SELL", "0.5", "50000")
    r = world.market("alice", "BUY", qty="1")
    assert r.order.status is OrderStatus.EXPIRED
    assert r.order.executed_qty == u("0.5")
    assert r.order.expiry_reason is ExpiryReason.INSUFFICIENT_LIQUIDITY
    assert world.locked("alice", "USDT") == 0


def test_market_on_empty_book_expires_unfilled(world: World) -> None:
    r = world.market("alice", "SELL", qty="1")
    assert r.order.status is OrderStatus.EXPIRED and r.order.executed_qty == 0


def test_market_buy_needs_funds_for_the_whole_walk(world: World) -> None:
    world.ex.add_account("poor", balances={"USDT": u("100")})
    world.accounts["poor"] = world.ex.account_by_name("poor")
    world.limit("bob", "SELL", "1", "50000")
    with pytest.raises(OrderRejected) as e:
        world.market("poor", "BUY", qty="0.01")
    assert (e.value.code, e.value.msg) == (-2010, "Account has insufficient balance for requested action.")


def test_quote_order_qty_buy_fills_to_the_step(world: World) -> None:
    world.limit("bob", "SELL", "1", "30000")
    r = world.market("alice", "BUY", quote="100")
    # 100 / 30000 = 0.00333333.. -> 0.00333 at step 0.00001
    assert r.order.executed_qty == u("0.00333")
    assert r.order.cumulative_quote == u("99.9")
    assert r.order.orig_quote_qty == u("100")
    assert r.order.status is OrderStatus.FILLED
    assert reports(r.events, r.order.order_id)[-1].status is OrderStatus.FILLED
    assert world.locked("alice", "USDT") == 0
    assert world.free("alice", "USDT") == u("10000000") - u("99.9")


def test_quote_order_qty_sell_and_thin_book(world: World) -> None:
    world.limit("bob", "BUY", "0.001", "30000")
    r = world.market("alice", "SELL", quote="100")
    assert r.order.status is OrderStatus.EXPIRED  # only 30 USDT of bids: book ran out
    assert r.order.executed_qty == u("0.001") and r.order.cumulative_quote == u("30")
    # The bids are gone now: errors.md's message for "no orders on the book".
    with pytest.raises(OrderRejected) as e:
        world.market("alice", "SELL", quote="100")
    assert (e.value.code, e.value.msg) == (
        -2010,
        "Order book liquidity is less than symbol minimum quantity.",
    )


def test_quote_order_qty_on_an_empty_book(world: World) -> None:
    for side in ("BUY", "SELL"):
        with pytest.raises(OrderRejected) as e:
            world.market("alice", side, quote="100")
        assert (e.value.code, e.value.msg) == (
            -2010,
            "Order book liquidity is less than symbol minimum quantity.",
        )


def test_quote_order_qty_below_the_lot_size_minimums(world: World) -> None:
    # Some liquidity, but less than a filter's minQty: that filter's message (errors.md).
    minimums = {"LOT_SIZE": "0.001", "MARKET_LOT_SIZE": "0.01"}
    filters = [
        {**f, "minQty": minimums[f["filterType"]]} if f["filterType"] in minimums else f
        for f in BTCUSDT["filters"]
    ]
    world.ex.add_symbol(symbol_from_config({**BTCUSDT, "symbol": "BTCUSDC", "filters": filters}))
    world.symbol = "BTCUSDC"
    world.limit("bob", "SELL", "0.002", "30000")
    with pytest.raises(OrderRejected) as e:
        world.market("alice", "BUY", quote="1000")  # 0.002 BTC on the book < 0.01
    assert (e.value.code, e.value.msg) == (
        -2010,
        "Order book liquidity is less than `MARKET_LOT_SIZE` filter minimum quantity.",
    )
    world.limit("carol", "BUY", "0.0015", "30000")  # leaves 0.0005 BTC on the book
    with pytest.raises(OrderRejected) as e:
        world.market("alice", "BUY", quote="1000")
    assert (e.value.code, e.value.msg) == (
        -2010,
        "Order book liquidity is less than `LOT_SIZE` filter minimum quantity.",
    )


def test_limit_maker_that_would_take_is_rejected_and_changes_nothing(world: World) -> None:
    world.limit("bob", "SELL", "1", "50000")
    before = dict(world.accounts["alice"].balances)
    update_id = world.ex.engine("BTCUSDT").update_id
    with pytest.raises(OrderRejected) as e:
        world.place("alice", side=Side.BUY, type=OrderType.LIMIT_MAKER, quantity=u("1"), price=u("50000"))
    assert (e.value.code, e.value.msg) == (-2010, "Order would immediately match and take.")
    assert world.accounts["alice"].balances == before
    assert world.ex.engine("BTCUSDT").update_id == update_id
    ok = world.place("alice", side=Side.BUY, type=OrderType.LIMIT_MAKER, quantity=u("1"), price=u("49999"))
    assert ok.order.status is OrderStatus.NEW


def test_filters_reject_with_binance_messages(world: World) -> None:
    cases = [
        (dict(quantity=u("1"), price=u("50000.001")), "Filter failure: PRICE_FILTER"),
        (dict(quantity=u("0.000001"), price=u("50000")), "Filter failure: LOT_SIZE"),
        (dict(quantity=u("0.0001"), price=u("1")), "Filter failure: NOTIONAL"),
    ]
    for kw, msg in cases:
        with pytest.raises(OrderRejected) as e:
            world.place("alice", side=Side.BUY, type=OrderType.LIMIT, time_in_force=TimeInForce.GTC, **kw)
        assert (e.value.code, e.value.msg) == (-1013, msg)
    with pytest.raises(OrderRejected) as e:
        world.market("alice", "BUY", qty="101")
    assert e.value.msg == "Filter failure: MARKET_LOT_SIZE"


def test_mandatory_parameters_by_type(world: World) -> None:
    with pytest.raises(BadRequest) as e:
        world.place("alice", side=Side.BUY, type=OrderType.LIMIT, quantity=u("1"), price=u("1"))
    assert (e.value.code, e.value.msg) == (
        -1102,
        "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
    )
    with pytest.raises(BadRequest) as e:
        world.place("alice", side=Side.BUY, type=OrderType.MARKET)
    assert e.value.msg == "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
    with pytest.raises(BadRequest) as e:
        world.place(
            "alice", side=Side.BUY, type=OrderType.MARKET, quantity=u("1"), time_in_force=TimeInForce.GTC
        )
    assert e.value.code == -1114
    with pytest.raises(BadRequest) as e:
        world.place(
            "alice",
            side=Side.BUY,
            type=OrderType.STOP_LOSS_LIMIT,
            quantity=u("1"),
            price=u("1"),
            time_in_force=TimeInForce.GTC,
        )
    assert "'stopPrice'" in e.value.msg


def test_duplicate_client_order_id_among_open_orders(world: World) -> None:
    world.limit("alice", "BUY", "1", "40000", cid="my-order_1")
    with pytest.raises(OrderRejected) as e:
        world.limit("alice", "BUY", "1", "40000", cid="my-order_1")
    assert e.value.msg == "Duplicate order sent."
    # Another account may use the same id, and the id is free again once the order closes.
    world.limit("bob", "BUY", "1", "40000", cid="my-order_1")
    world.ex.cancel_order(world.acct("alice"), "BTCUSDT", orig_client_order_id="my-order_1")
    assert world.limit("alice", "BUY", "1", "40000", cid="my-order_1").order.status is OrderStatus.NEW


def test_cancel_reports_cancel_id_and_releases_funds(world: World) -> None:
    r = world.limit("alice", "SELL", "2", "60000", cid="orig-1")
    c = world.ex.cancel_order(
        world.acct("alice"), "BTCUSDT", orig_client_order_id="orig-1", new_client_order_id="cancel-1"
    )
    [rep] = reports(c.events)
    assert rep.execution_type is ExecutionType.CANCELED and rep.status is OrderStatus.CANCELED
    assert rep.cancel_client_order_id == "cancel-1" and rep.order.client_order_id == "orig-1"
    assert not rep.is_working
    assert world.locked("alice", "BTC") == 0
    depth = [e for e in c.events if isinstance(e, DepthUpdate)]
    assert depth[0].asks == [(u("60000"), 0)]
    with pytest.raises(CancelRejected) as e:
        world.ex.cancel_order(world.acct("alice"), "BTCUSDT", order_id=r.order.order_id)
    assert (e.value.code, e.value.msg) == (-2011, "Unknown order sent.")


def test_cancel_of_partly_filled_order_reports_every_change(world: World) -> None:
    # Two bids share a level; the first is partly filled, then cancelled. The cancel's
    # events: its report, one depth change (the level keeps the other order), and the
    # account's released balance, with the next update id of the symbol's sequence.
    a = world.limit("alice", "BUY", "2", "50000")
    world.limit("bob", "BUY", "1", "50000")
    sold = world.market("carol", "SELL", qty="0.5")
    [last_depth] = [e for e in sold.events if isinstance(e, DepthUpdate)]
    world.clock[0] += 1_000
    c = world.ex.cancel_order(world.acct("alice"), "BTCUSDT", order_id=a.order.order_id)
    rep, depth, position = c.events
    assert isinstance(rep, ExecutionReport)
    assert (rep.execution_type, rep.status, rep.executed_qty, rep.time) == (
        ExecutionType.CANCELED,
        OrderStatus.CANCELED,
        u("0.5"),
        world.clock[0],
    )
    assert rep.cumulative_quote == u("25000") and not rep.is_working
    uid = last_depth.last_update_id + 1
    assert depth == DepthUpdate("BTCUSDT", uid, uid, world.clock[0], [(u("50000"), u("1"))], [])
    assert position == AccountPosition(
        world.acct("alice"), world.clock[0], [("USDT", u("10000000") - u("25000"), 0)]
    )
    assert world.ex.account(world.acct("alice")).update_time == world.clock[0]


def test_working_flag_says_whether_the_order_is_on_the_book(world: World) -> None:
    # Binance's market-order FAQ sample: NEW says working, the taker's fills do not.
    for price in ("50000", "50001", "50002"):
        world.limit("bob", "SELL", "0.2", price)

    def flags(r: PlaceResult) -> list[tuple[str, bool]]:
        return [(e.execution_type.value, e.is_working) for e in reports(r.events, r.order.order_id)]

    m = world.market("alice", "BUY", qty="0.3")
    assert flags(m) == [("NEW", True), ("TRADE", False), ("TRADE", False)]
    ioc = world.limit("alice", "BUY", "0.3", "50001", tif="IOC")  # 0.1 left at 50001
    assert flags(ioc) == [("NEW", True), ("TRADE", False), ("EXPIRED", False)]
    # A GTC taker rests once it stops matching: its partial fill already says so.
    gtc = world.limit("alice", "BUY", "0.3", "50002")
    assert flags(gtc) == [("NEW", True), ("TRADE", True)]
    assert gtc.order.status is OrderStatus.PARTIALLY_FILLED


def test_cancel_restrictions(world: World) -> None:
    r = world.limit("alice", "SELL", "2", "60000")
    with pytest.raises(CancelRejected) as e:
        world.ex.cancel_order(
            world.acct("alice"),
            "BTCUSDT",
            order_id=r.order.order_id,
            restriction=CancelRestriction.ONLY_PARTIALLY_FILLED,
        )
    assert e.value.msg == "Order was not canceled due to cancel restrictions."
    world.market("bob", "BUY", qty="1")
    c = world.ex.cancel_order(
        world.acct("alice"),
        "BTCUSDT",
        order_id=r.order.order_id,
        restriction=CancelRestriction.ONLY_PARTIALLY_FILLED,
    )
    assert c.order.status is OrderStatus.CANCELED


def test_queries_find_only_own_orders(world: World) -> None:
    r = world.limit("alice", "BUY", "1", "40000", cid="abc")
    with pytest.raises(OrderNotFound) as e:
        world.ex.find_order(world.acct("bob"), "BTCUSDT", order_id=r.order.order_id)
    assert (e.value.code, e.value.msg) == (-2013, "Order does not exist.")
    with pytest.raises(EngineError) as e2:
        world.ex.find_order(
            world.acct("alice"), "BTCUSDT", order_id=r.order.order_id, orig_client_order_id="other"
        )
    assert e2.value.code == -2039
    assert world.ex.find_order(world.acct("alice"), "BTCUSDT", orig_client_order_id="abc") is r.order
    with pytest.raises(BadRequest) as e3:
        world.ex.engine("NOPE")
    assert (e3.value.code, e3.value.msg) == (-1121, "Invalid symbol.")


def test_cancel_open_orders(world: World) -> None:
    ids = [world.limit("alice", "BUY", "0.1", p).order.order_id for p in ("100", "101", "102")]
    results = world.ex.cancel_open_orders(world.acct("alice"), "BTCUSDT")
    assert [c.order.order_id for c in results] == ids
    assert world.locked("alice", "USDT") == 0
    with pytest.raises(CancelRejected):
        world.ex.cancel_open_orders(world.acct("alice"), "BTCUSDT")


def test_update_ids_are_contiguous_across_commands(world: World) -> None:
    events = []
    events += world.limit("alice", "SELL", "1", "50000").events
    events += world.limit("alice", "SELL", "1", "50001").events
    events += world.limit("bob", "BUY", "3", "50002").events  # takes two levels, rests one
    depth = [e for e in events if isinstance(e, DepthUpdate)]
    assert [(d.first_update_id, d.last_update_id) for d in depth] == [(1, 1), (2, 2), (3, 5)]
    snap = world.ex.depth("BTCUSDT", 10)
    assert snap.last_update_id == 5
    assert snap.bids == [(u("50002"), u("1"))] and snap.asks == []


def test_stop_loss_rejected_when_it_would_trigger_immediately(world: World) -> None:
    world.limit("bob", "SELL", "1", "50000")
    world.market("alice", "BUY", qty="0.5")  # last price 50000
    with pytest.raises(OrderRejected) as e:
        world.place(
            "alice", side=Side.SELL, type=OrderType.STOP_LOSS, quantity=u("0.1"), stop_price=u("51000")
        )
    assert e.value.msg == "Order would trigger immediately."


def test_stop_loss_limit_triggers_on_last_price_and_rests(world: World) -> None:
    world.limit("bob", "SELL", "1", "50000")
    world.market("alice", "BUY", qty="0.1")  # last 50000
    stop = world.place(
        "alice",
        side=Side.BUY,
        type=OrderType.STOP_LOSS_LIMIT,
        quantity=u("1"),
        price=u("51000"),
        stop_price=u("50500"),
        time_in_force=TimeInForce.GTC,
    )
    assert stop.order.status is OrderStatus.NEW and not stop.order.is_working
    assert world.locked("alice", "USDT") == u("51000")
    assert world.ex.depth("BTCUSDT", 5).bids == []
    world.limit("carol", "SELL", "0.1", "50600")
    r = world.market("carol", "BUY", qty="1.0")  # walks to 50600 -> last price 50600 >= 50500
    triggered = reports(r.events, stop.order.order_id)
    assert [e.execution_type for e in triggered] == [ExecutionType.NEW]
    assert triggered[0].is_working
    assert stop.order.is_working and stop.order.status is OrderStatus.NEW
    assert world.ex.depth("BTCUSDT", 5).bids == [(u("51000"), u("1"))]
    world.ex._check()


def test_take_profit_market_sell_triggers_and_fills(world: World) -> None:
    world.limit("bob", "BUY", "1", "49000")
    world.limit("bob", "SELL", "1", "50000")
    world.market("carol", "BUY", qty="0.1")  # last 50000
    tp = world.place(
        "alice", side=Side.SELL, type=OrderType.TAKE_PROFIT, quantity=u("0.5"), stop_price=u("50100")
    )
    world.limit("bob", "SELL", "0.1", "50200")
    world.market("carol", "BUY", qty="1.0")  # reaches 50200
    assert tp.order.status is OrderStatus.FILLED
    assert tp.order.cumulative_quote == u("0.5") * 49000
    world.ex._check()


@pytest.mark.parametrize(
    ("mode", "taker_status", "maker_status"),
    [
        ("EXPIRE_TAKER", OrderStatus.EXPIRED_IN_MATCH, OrderStatus.NEW),
        ("EXPIRE_MAKER", OrderStatus.FILLED, OrderStatus.EXPIRED_IN_MATCH),
        ("EXPIRE_BOTH", OrderStatus.EXPIRED_IN_MATCH, OrderStatus.EXPIRED_IN_MATCH),
        ("DECREMENT", OrderStatus.EXPIRED_IN_MATCH, OrderStatus.EXPIRED_IN_MATCH),
        # Within one account TRANSFER is DECREMENT (Binance's STP FAQ).
        ("TRANSFER", OrderStatus.EXPIRED_IN_MATCH, OrderStatus.EXPIRED_IN_MATCH),
    ],
)
def test_self_trade_prevention(
    world: World, mode: str, taker_status: OrderStatus, maker_status: OrderStatus
) -> None:
    own = world.limit("alice", "SELL", "1", "50000")
    other = world.limit("bob", "SELL", "1", "50001")
    r = world.limit("alice", "BUY", "1", "50001", stp=mode)
    assert r.order.status is taker_status, r.order
    assert own.order.status is maker_status, own.order
    prevented = [e for e in reports(r.events) if e.execution_type is ExecutionType.TRADE_PREVENTION]
    assert prevented and all(
        e.prevention and e.prevention.prevented_match_id == prevented[0].prevention.prevented_match_id  # type: ignore[union-attr]
        for e in prevented
    )
    if taker_status is OrderStatus.FILLED:
        assert [f.price for f in r.fills] == [u("50001")]
        assert other.order.status is OrderStatus.FILLED
    world.ex._check()


def test_fok_with_expire_maker_does_not_count_its_own_orders_as_fillable(world: World) -> None:
    """Only 1 of the 2 is really fillable (the own order at 50000 will expire, not trade):
    the FOK expires with nothing executed, instead of filling 1 and calling it unfilled."""
    world.limit("alice", "SELL", "1", "50000")
    world.limit("bob", "SELL", "1", "50001")
    r = world.place(
        "alice",
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=u("2"),
        price=u("50001"),
        time_in_force=TimeInForce.FOK,
        self_trade_prevention_mode=STPMode.EXPIRE_MAKER,
    )
    assert r.order.status is OrderStatus.EXPIRED and r.order.executed_qty == 0 and r.fills == []
    world.ex._check()


def test_expire_maker_market_buy_prices_its_lock_past_its_own_orders(world: World) -> None:
    """A MARKET BUY by quantity locks what a dry run over the book costs. With EXPIRE_MAKER
    its own best ask will expire, not trade, so the dry run prices the order past it: the
    whole quantity fills at the next level instead of stopping short for want of funds."""
    own = world.limit("alice", "SELL", "0.01", "50000")
    world.limit("bob", "SELL", "0.05", "50010")
    r = world.market("alice", "BUY", qty="0.01", stp="EXPIRE_MAKER")
    assert own.order.status is OrderStatus.EXPIRED_IN_MATCH
    assert r.order.status is OrderStatus.FILLED, r.order
    assert [(f.price, f.qty) for f in r.fills] == [(u("50010"), u("0.01"))]
    world.ex._check()


@pytest.mark.parametrize("mode", ["DECREMENT", "TRANSFER"])
def test_stp_decrement_partial(world: World, mode: str) -> None:
    own = world.limit("alice", "SELL", "0.3", "50000")
    r = world.limit("alice", "BUY", "1", "50000", stp=mode)
    assert own.order.status is OrderStatus.EXPIRED_IN_MATCH and own.order.prevented_qty == u("0.3")
    assert r.order.status is OrderStatus.NEW and r.order.prevented_qty == u("0.3")
    assert r.order.available == u("0.7")
    assert world.ex.depth("BTCUSDT", 5).bids == [(u("50000"), u("0.7"))]
    assert world.locked("alice", "USDT") == u("35000")
    world.ex._check()


def test_stp_none_allows_self_trade(world: World) -> None:
    world.limit("alice", "SELL", "1", "50000")
    r = world.limit("alice", "BUY", "1", "50000")
    assert r.order.status is OrderStatus.FILLED
    mine = world.ex.my_trades(world.acct("alice"), "BTCUSDT")
    assert [(t.trade_id, is_buyer) for t, is_buyer in mine] == [(1, True), (1, False)]
    world.ex._check()


def test_stp_mode_must_be_allowed(world: World) -> None:
    world.ex.engine("BTCUSDT").cfg.allowed_stp_modes = ()
    with pytest.raises(OrderRejected) as e:
        world.limit("alice", "BUY", "1", "40000", stp="EXPIRE_TAKER")
    assert (e.value.code, e.value.msg) == (
        -1013,
        "This symbol does not allow the specified self-trade prevention mode.",
    )


def test_my_trades_and_all_orders(world: World) -> None:
    s = world.limit("bob", "SELL", "2", "50000")
    world.tick()
    b1 = world.market("alice", "BUY", qty="0.5")
    world.tick()
    b2 = world.market("alice", "BUY", qty="0.5")
    trades = world.ex.my_trades(world.acct("alice"), "BTCUSDT")
    assert [(t.trade_id, is_buyer) for t, is_buyer in trades] == [(1, True), (2, True)]
    assert world.ex.my_trades(world.acct("alice"), "BTCUSDT", order_id=b2.order.order_id)[0][0].trade_id == 2
    assert [t.trade_id for t, _ in world.ex.my_trades(world.acct("bob"), "BTCUSDT", from_id=2)] == [2]
    orders = world.ex.all_orders(world.acct("alice"), "BTCUSDT")
    assert [o.order_id for o in orders] == [b1.order.order_id, b2.order.order_id]
    assert [o.order_id for o in world.ex.open_orders(world.acct("bob"))] == [s.order.order_id]


def test_agg_trade_ids_group_one_taker_at_one_price(world: World) -> None:
    world.limit("bob", "SELL", "1", "50000")
    world.limit("carol", "SELL", "1", "50000")
    world.limit("carol", "SELL", "1", "50001")
    r = world.market("alice", "BUY", qty="3")
    trades = [e for e in r.events if isinstance(e, Trade)]
    assert [(t.trade_id, t.agg_trade_id) for t in trades] == [(1, 1), (2, 1), (3, 2)]
    agg = world.ex.engine("BTCUSDT").data.agg_trades(from_id=None, start_time=None, end_time=None, limit=10)
    assert [(a.agg_id, a.qty, a.first_trade_id, a.last_trade_id) for a in agg] == [
        (1, u("2"), 1, 2),
        (2, u("1"), 3, 3),
    ]


def test_deposit_and_withdraw(world: World) -> None:
    events = world.ex.deposit(world.acct("alice"), "ETH", u("5"))
    assert events[0].delta == u("5")  # type: ignore[union-attr]
    assert world.free("alice", "ETH") == u("5")
    with pytest.raises(OrderRejected):
        world.ex.withdraw(world.acct("alice"), "ETH", u("6"))
    world.ex.withdraw(world.acct("alice"), "ETH", u("5"))
    assert world.free("alice", "ETH") == 0


def test_max_num_orders(world: World) -> None:
    world.ex.engine("BTCUSDT").cfg.filters[4] = type(world.ex.engine("BTCUSDT").cfg.filters[4])(2)
    world.limit("alice", "BUY", "0.1", "100")
    world.limit("alice", "BUY", "0.1", "100")
    with pytest.raises(OrderRejected) as e:
        world.limit("alice", "BUY", "0.1", "100")
    assert e.value.msg == "Filter failure: MAX_NUM_ORDERS"


def test_a_refused_command_does_not_use_up_a_generated_client_id(world: World) -> None:
    """ "A refused command leaves no trace": not even a generated client order id, so the
    ids later orders get do not depend on refusals before them."""
    twin = make_world()
    accepted = twin.limit("alice", "BUY", "0.1", "49000")
    cancelled = twin.ex.cancel_order(twin.acct("alice"), "BTCUSDT", accepted.order.order_id)
    with pytest.raises(EngineError):
        world.limit("alice", "BUY", "0.1", "49000.001")  # off the tick size: refused
    order = world.limit("alice", "BUY", "0.1", "49000")
    with pytest.raises(EngineError):
        world.ex.cancel_order(
            world.acct("alice"),
            "BTCUSDT",
            order.order.order_id,
            restriction=CancelRestriction.ONLY_PARTIALLY_FILLED,
        )
    cancel = world.ex.cancel_order(world.acct("alice"), "BTCUSDT", order.order.order_id)
    assert order.order.client_order_id == accepted.order.client_order_id
    assert cancel.cancel_client_order_id == cancelled.cancel_client_order_id


# ---------------------------------------------------------------- found by a semantics audit


def fine_tick_world() -> World:
    """ETHBTC-like: tick 0.00001 x step 0.0001, so a price x quantity has 9 decimals and
    the engine's 8-decimal cost of an order is truncated."""
    world = make_world()
    world.ex.add_symbol(
        symbol_from_config(
            {
                "symbol": "ETHBTC",
                "baseAsset": "ETH",
                "quoteAsset": "BTC",
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": "0.00001",
                        "maxPrice": "1000",
                        "tickSize": "0.00001",
                    },
                    {"filterType": "LOT_SIZE", "minQty": "0.0001", "maxQty": "100000", "stepSize": "0.0001"},
                ],
            }
        )
    )
    world.symbol = "ETHBTC"
    world.ex.deposit(world.acct("bob"), "ETH", u("10"))
    return world


def test_a_market_buy_fills_whole_when_its_cost_is_truncated() -> None:
    """It stopped one step short (EXPIRED, INSUFFICIENT_LIQUIDITY) with the ask still
    there: its trade cap divided the truncated lock back into a quantity."""
    world = fine_tick_world()
    world.limit("bob", "SELL", "2", "0.05005")
    r = world.market("alice", "BUY", qty="1.0003")
    assert (r.order.status, r.order.executed_qty) == (OrderStatus.FILLED, u("1.0003"))
    assert world.locked("alice", "BTC") == 0


def test_a_quote_order_that_spends_its_budget_on_the_last_liquidity_is_filled(world: World) -> None:
    """CHANGELOG: EXPIRED when low liquidity left it short, FILLED only when completely
    filled. The budget was spent exactly as the book ran out: that is complete."""
    world.limit("bob", "SELL", "0.001", "30000")
    world.limit("bob", "SELL", "0.001", "40000")
    r = world.market("alice", "BUY", quote="70")
    assert (r.order.status, r.order.cumulative_quote) == (OrderStatus.FILLED, u("70"))
    assert reports(r.events, r.order.order_id)[-1].status is OrderStatus.FILLED
    world.limit("bob", "BUY", "0.001", "20000")
    world.limit("bob", "BUY", "0.001", "10000")
    r = world.market("alice", "SELL", quote="30")
    assert (r.order.status, r.order.executed_qty) == (OrderStatus.FILLED, u("0.002"))
    # With budget left over when the book runs out, it stays EXPIRED.
    world.limit("bob", "SELL", "0.001", "30000")
    r = world.market("alice", "BUY", quote="31")
    assert (r.order.status, r.order.expiry_reason) == (
        OrderStatus.EXPIRED,
        ExpiryReason.INSUFFICIENT_LIQUIDITY,
    )


def test_a_quote_order_over_market_lot_size_max_is_refused(world: World) -> None:
    """CHANGELOG 2023-07-11: MARKET_LOT_SIZE "now correctly rejects reverse market orders
    that go over the symbol's maxQty" (100 here); nothing changes."""
    world.limit("bob", "SELL", "90", "60000")
    world.limit("carol", "SELL", "20", "60000")
    with pytest.raises(OrderRejected) as e:
        world.market("alice", "BUY", quote="6600000")  # 110 BTC
    assert (e.value.code, e.value.msg) == (-1013, "Filter failure: MARKET_LOT_SIZE")
    assert world.locked("alice", "USDT") == 0
    r = world.market("alice", "BUY", quote="5400000")  # 90 BTC: within the maximum
    assert (r.order.status, r.order.executed_qty) == (OrderStatus.FILLED, u("90"))


def test_a_triggered_stop_the_account_cannot_pay_expires_as_rejected(world: World) -> None:
    """user-data-stream.md: a contingent order the engine cannot place for lack of funds
    expires with reason REJECTED (not INSUFFICIENT_LIQUIDITY: the book has the asks)."""
    world.limit("bob", "SELL", "0.001", "50000")
    world.market("carol", "BUY", qty="0.001")  # last price 50000
    stop = world.place(
        "alice", side=Side.BUY, type=OrderType.STOP_LOSS, quantity=u("1"), stop_price=u("51000")
    )
    world.ex.withdraw(world.acct("alice"), "USDT", world.free("alice", "USDT"))  # nothing left free
    world.limit("bob", "SELL", "5", "70000")
    world.limit("bob", "SELL", "0.001", "51000")
    r = world.market("carol", "BUY", qty="0.001")  # trades at 51000: the stop triggers
    [expired] = [
        x for x in reports(r.events, stop.order.order_id) if x.execution_type is ExecutionType.EXPIRED
    ]
    assert (expired.status, expired.expiry_reason) == (OrderStatus.EXPIRED, ExpiryReason.REJECTED)


def test_percent_price_is_enforced(world: World) -> None:
    cfg = symbol_from_config(
        {
            **BTCUSDT,
            "symbol": "PPUSDT",
            "filters": [
                *BTCUSDT["filters"],
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": "1.3",
                    "multiplierDown": "0.7",
                    "avgPriceMins": 0,
                },
            ],
        }
    )
    world.ex.add_symbol(cfg)
    world.symbol = "PPUSDT"
    world.limit("bob", "SELL", "0.001", "100000")
    world.market("alice", "BUY", qty="0.001")  # last price 100000 (avgPriceMins 0)
    for side, price in (("BUY", "69999"), ("SELL", "130001")):
        with pytest.raises(OrderRejected) as e:
            world.limit("alice", side, "0.001", price)
        assert (e.value.code, e.value.msg) == (-1013, "Filter failure: PERCENT_PRICE")
    assert world.limit("alice", "BUY", "0.001", "70000").order.status is OrderStatus.NEW
    assert world.limit("alice", "SELL", "0.001", "130000").order.status is OrderStatus.NEW


def test_cancel_open_orders_reports_one_client_id_for_the_request(world: World) -> None:
    """rest-api.md's DELETE openOrders sample: every cancel in the answer carries the one
    ``clientOrderId`` of the request."""
    for price in ("50000", "50001", "50002"):
        world.limit("alice", "BUY", "0.001", price)
    results = world.ex.cancel_open_orders(world.acct("alice"), "BTCUSDT")
    assert len({r.cancel_client_order_id for r in results}) == 1
