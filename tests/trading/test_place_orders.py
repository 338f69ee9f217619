"""``TradingSession.place_orders``: prepared orders placed in the venue's batch request (OKX
``batch-orders``, 20 a request) or each on ``place_order``'s path (Binance spot, which has no batch),
checked against the simulator's own order list and request log."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from session_cases import SimAccount, settle
from test_session_binance import BINANCE
from test_session_bybit import BYBIT
from test_session_okx import OKX
from test_session_usdm import USDM
from tickwire.errors import (
    InsufficientFunds,
    InvalidOrder,
    OrderRejected,
    RateLimitError,
    RiskLimitExceeded,
    TradingHalted,
    TransportError,
)
from tickwire.sim import Simulator
from tickwire.sim.venues.okx.trade import OkxOrders
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession

BATCH_OP = "POST /api/v5/trade/batch-orders"
USDM_BATCH_OP = "POST /fapi/v1/batchOrders"
BYBIT_BATCH_OP = "POST /v5/order/create-batch"


def ladder(
    a: SimAccount, sim: Simulator, tr: TradingSession, n: int, symbol: str | None = None
) -> list[Order]:
    """``n`` buys prepared one tick apart, from 30 ticks under the best bid down."""
    symbol = symbol or a.symbol
    r = tr.rules[symbol]
    bid = sim.book(a.venue, symbol).bids[0][0]
    out = []
    for i in range(n):
        price = bid - (30 + i) * r.tick_size
        out.append(tr.prepare(symbol, "buy", "limit", replace(a, symbol=symbol).size(tr, price, 2), price))
    return out


def unpaid_sell(a: SimAccount, sim: Simulator, tr: TradingSession) -> Order:
    """A sell of 140 BTC (the account holds 100) resting 40 ticks over the best ask: within the
    instrument's rules, refused by the venue for funds."""
    ask = sim.book(a.venue, a.symbol).asks[0][0] + 40 * tr.rules[a.symbol].tick_size
    return tr.prepare(a.symbol, "sell", "limit", Decimal(140), ask)


def requests(sim: Simulator, a: SimAccount) -> list[str]:
    return [op for _, op, _, _ in sim.endpoint(a.venue, 0).exchanges]


def at_venue(a: SimAccount, sim: Simulator, o: Order) -> Any:
    [theirs] = a.orders(sim, o.client_id)
    return theirs


def rest_but(
    a: SimAccount, sim: Simulator, tr: TradingSession, orders: list[Order], got: list[Any], refused: Order
) -> None:
    """Every order of the batch but ``refused`` rests at the venue with the id returned and is counted
    by the risk limits; ``refused`` is tracked rejected and absent at the venue."""
    assert tr.tracker.get(refused.client_id).status == "rejected"  # type: ignore[union-attr]
    assert a.orders(sim, refused.client_id) == []
    for o, r in zip(orders, got, strict=True):
        if o is not refused:
            assert isinstance(r, Order) and r.status == "new" and r.order_id == str(at_venue(a, sim, o).id)
    assert tr.risk.exposure(a.symbol)["open_orders"] == len(orders) - 1 == len(a.open(sim))


def test_twenty_five_okx_orders_go_in_two_batch_requests_and_rest_as_asked() -> None:
    """Two requests (20 + 5); every order rests at the venue with its client id, price and quantity,
    and each result is the tracked order with the venue's order id."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        orders = ladder(a, sim, tr, 25)
        got = await tr.place_orders(orders)
        assert requests(sim, a).count(BATCH_OP) == 2 and "POST /api/v5/trade/order" not in requests(sim, a)
        inst = sim.venue(a.venue).instruments[a.symbol]
        for o, r in zip(orders, got, strict=True):
            assert isinstance(r, Order) and r.client_id == o.client_id and r.status == "new"
            theirs = at_venue(a, sim, o)
            assert theirs.open and str(theirs.id) == r.order_id
            assert (inst.price(theirs.price), theirs.qty * inst.lot) == (o.price, o.qty)
        assert tr.risk.exposure(a.symbol)["open_orders"] == 25 == len(a.open(sim))

    a.run(body)


def test_an_entry_the_venue_refuses_is_that_orders_error_and_the_others_stand() -> None:
    """The middle of three is a sell of more BTC than the account holds: its result is
    ``InsufficientFunds`` and it is tracked rejected; the other two rest at the venue."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        (buy1, buy2), too_big = ladder(a, sim, tr, 2), unpaid_sell(a, sim, tr)
        got = await tr.place_orders([buy1, too_big, buy2])
        assert isinstance(got[1], InsufficientFunds)
        assert tr.tracker.get(too_big.client_id).status == "rejected"  # type: ignore[union-attr]
        assert a.orders(sim, too_big.client_id) == []
        for o, r in ((buy1, got[0]), (buy2, got[2])):
            assert isinstance(r, Order) and r.status == "new" and at_venue(a, sim, o).open
        assert tr.risk.exposure(a.symbol)["open_orders"] == 2

    a.run(body)


@pytest.mark.parametrize("a", [OKX, USDM, BYBIT], ids=["okx", "usdm", "bybit"])
def test_a_lost_batch_answer_is_reconciled_order_by_order_never_resent(a: SimAccount) -> None:
    """The venue takes the batch (OKX ``batch-orders``, USDⓈ-M ``batchOrders``, Bybit
    ``create-batch``) and its answer is lost: each order is found by its client id and returned as
    the venue has it; the simulator got one batch request and holds each order once."""
    op = {"okx": BATCH_OP, "binance-usdm": USDM_BATCH_OP, "bybit": BYBIT_BATCH_OP}[a.venue]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.endpoint(a.venue, 0).lose_answer(op)
        orders = ladder(a, sim, tr, 3)
        got = await tr.place_orders(orders)
        assert requests(sim, a).count(op) == 1
        for o, r in zip(orders, got, strict=True):
            assert isinstance(r, Order) and r.status == "new" and r.order_id == str(at_venue(a, sim, o).id)

    a.run(body)


@pytest.mark.parametrize("a", [OKX, BINANCE], ids=["okx", "binance"])
def test_orders_that_together_cross_a_risk_limit_are_refused_whole_with_nothing_sent(a: SimAccount) -> None:
    """Four orders under ``max_open_orders=3``, in a batch (OKX) or each on its own path (Binance):
    ``RiskLimitExceeded``, no request, nothing tracked or counted; three go."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        orders = ladder(a, sim, tr, 4)
        with pytest.raises(RiskLimitExceeded):
            await tr.place_orders(orders)
        assert not {BATCH_OP, a.place_op} & set(requests(sim, a)) and a.orders(sim) == []
        assert tr.tracker.open_orders() == [] and tr.risk.exposure(a.symbol)["open_orders"] == 0
        got = await tr.place_orders(orders[:3])
        assert all(isinstance(r, Order) for r in got) and len(a.open(sim)) == 3

    a.run(body, risk={"max_open_orders": 3})


def test_orders_placed_each_on_its_own_path_keep_their_room_against_a_call_started_meanwhile() -> None:
    """Binance spot (no batch request) under ``max_open_orders=3``: three orders placed at once and a
    single ``place_order`` started in the same step. The three fit and all go; the single call finds
    no room (``RiskLimitExceeded``, nothing sent); the simulator holds the three (before: the joint
    check's room was given back before each order's own check, the single call took it and the
    third of the three was refused after ``place_orders`` had found room for all)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        three = ladder(a, sim, tr, 3)
        [one] = ladder(a, sim, tr, 1)
        r = tr.rules[a.symbol]
        got, single = await asyncio.gather(
            tr.place_orders(three),
            tr.place_order(a.symbol, "buy", "limit", one.qty, one.price - 10 * r.tick_size),
            return_exceptions=True,
        )
        assert isinstance(single, RiskLimitExceeded), single
        assert isinstance(got, list) and all(isinstance(x, Order) for x in got), got
        assert sorted(o.client_id for o in a.open(sim)) == sorted(o.client_id for o in three)

    a.run(body, risk={"max_open_orders": 3})


def test_an_order_given_twice_or_already_placed_is_refused_with_nothing_sent() -> None:
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o1, o2 = ladder(a, sim, tr, 2)
        with pytest.raises(InvalidOrder):
            await tr.place_orders([o1, o1])
        await tr.place_orders([o1])
        with pytest.raises(InvalidOrder, match="already placed"):
            await tr.place_orders([o2, o1])
        assert requests(sim, a).count(BATCH_OP) == 1 and len(a.orders(sim)) == 1

    a.run(body)


def test_after_a_kill_place_orders_is_refused_with_nothing_sent() -> None:
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        orders = ladder(a, sim, tr, 2)
        await tr.kill("test")
        with pytest.raises(TradingHalted):
            await tr.place_orders(orders)
        assert BATCH_OP not in requests(sim, a) and a.orders(sim) == []

    a.run(body)


def test_a_venue_without_a_batch_request_places_each_on_its_own_path() -> None:
    """Binance spot: one ``POST /api/v3/order`` per order, sent together; a refused one is its own
    error, the others rest."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        (buy1, buy2), too_big = ladder(a, sim, tr, 2), unpaid_sell(a, sim, tr)
        got = await tr.place_orders([buy1, too_big, buy2])
        assert isinstance(got[1], InsufficientFunds) and a.orders(sim, too_big.client_id) == []
        assert isinstance(got[0], Order) and isinstance(got[2], Order)
        assert at_venue(a, sim, buy1).open and at_venue(a, sim, buy2).open
        assert requests(sim, a).count("POST /api/v3/order") == 3

    a.run(body)


async def cancelled_once_out(a: SimAccount, sim: Simulator, tr: TradingSession, n: int) -> list[Order]:
    """``n`` orders of ``ladder`` placed at once, the private stream stalled and the venue slow to
    take the (first) batch; the call cancelled once that request is at the venue. The orders."""
    ep = sim.endpoint(a.venue, 0)
    ep.stall()
    orders = ladder(a, sim, tr, n)
    ep.delay(0.4)
    call = asyncio.ensure_future(tr.place_orders(orders))
    await settle(lambda: BATCH_OP in ep.handling(), "the batch at the venue")
    ep.delay(0)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    return orders


def test_a_batch_call_its_caller_cancelled_once_it_went_out_has_each_order_settled() -> None:
    """The venue is slow to take the batch and the caller gives up meanwhile (the private stream
    stalled, so only reconciliation can tell): each order is settled as the venue has it — resting,
    its venue id — and the simulator got one batch request and holds each order once."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        orders = await cancelled_once_out(a, sim, tr, 3)
        for o in orders:
            await settle(
                lambda o=o: getattr(tr.tracker.get(o.client_id), "status", None) == "new", "settled", 5
            )
            assert tr.tracker.get(o.client_id).order_id == str(at_venue(a, sim, o).id)  # type: ignore[union-attr]
        assert requests(sim, a).count(BATCH_OP) == 1 and len(a.open(sim)) == 3

    a.run(body)


def test_a_call_cancelled_during_its_first_batch_leaves_no_order_of_a_later_one_tracked() -> None:
    """25 orders (two batch requests); the caller gives up while the first is at the venue: its 20
    are settled as the venue has them, and the 5 of the second request, never sent, are neither
    tracked nor counted by the risk limits — the session counts what the simulator holds (before:
    the 5 stayed tracked pending, never sent nor reconciled, and ``exposure`` counted 25 open orders
    with 20 at the venue)."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        orders = await cancelled_once_out(a, sim, tr, 25)
        await settle(lambda: not tr.in_flight(), "every order settled", 5)
        assert requests(sim, a).count(BATCH_OP) == 1 and len(a.open(sim)) == 20
        later = [getattr(tr.tracker.get(o.client_id), "status", None) for o in orders[20:]]
        assert later == [None] * 5, later
        counted = tr.risk.exposure(a.symbol)["open_orders"]
        assert counted == 20 == len(tr.tracker.open_orders()), counted

    a.run(body)


def test_a_batch_answer_listing_its_entries_in_another_order_is_applied_by_client_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The venue lists the entries of its answer in reverse (each names its ``clOrdId``): a buy it
    placed and a sell it refused for funds. The buy is returned and tracked as the order resting at
    the venue, the sell as ``InsufficientFunds``, rejected; the risk limits count the one open order
    (before: the answer was paired with the orders by position — the resting buy was recorded
    rejected with the sell's ``InsufficientFunds``, the refused sell left pending and counted)."""
    a = OKX
    batch = OkxOrders.batch

    def reversed_batch(self: OkxOrders, *args: Any) -> Any:
        code, text, data = batch(self, *args)
        return code, text, data[::-1]

    monkeypatch.setattr(OkxOrders, "batch", reversed_batch)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        [buy], too_big = ladder(a, sim, tr, 1), unpaid_sell(a, sim, tr)
        got = await tr.place_orders([buy, too_big])
        assert isinstance(got[0], Order) and got[0].order_id == str(at_venue(a, sim, buy).id), got[0]
        assert at_venue(a, sim, buy).open and a.orders(sim, too_big.client_id) == []
        assert isinstance(got[1], InsufficientFunds), got[1]
        statuses = [getattr(tr.tracker.get(o.client_id), "status", None) for o in (buy, too_big)]
        assert statuses == ["new", "rejected"], statuses
        assert tr.risk.exposure(a.symbol)["open_orders"] == 1 == len(a.open(sim))

    a.run(body)


def test_an_entry_whose_outcome_the_venue_does_not_tell_is_reconciled_not_taken_as_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The venue places both orders of a batch but answers the second's entry with 50026 "System
    error" (an outcome unknown): that order is reconciled — found resting, returned and tracked as
    the venue has it, counted by the risk limits (before: recorded rejected while it rested at the
    venue, and counted by nothing)."""
    a = OKX
    batch = OkxOrders.batch

    def second_unknown(self: OkxOrders, *args: Any) -> Any:
        _, text, data = batch(self, *args)
        data[1] = {"clOrdId": data[1]["clOrdId"], "ordId": "", "sCode": "50026", "sMsg": "System error"}
        return "2", text, data

    monkeypatch.setattr(OkxOrders, "batch", second_unknown)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        orders = ladder(a, sim, tr, 2)
        got = await tr.place_orders(orders)
        for o, r in zip(orders, got, strict=True):
            assert isinstance(r, Order) and r.status == "new" and r.order_id == str(at_venue(a, sim, o).id), r
        assert tr.risk.exposure(a.symbol)["open_orders"] == 2 == len(a.open(sim))

    a.run(body)


def test_a_batch_refused_whole_for_different_causes_gives_each_order_its_own_error() -> None:
    """The venue takes 21 batch orders per 2 s on the instrument (fewer than the 300 the budget
    knows). After 20, a batch of a sell the account cannot pay and a buy: the sell is refused for
    funds (51008), the buy for rate (50011) — code "1", all failed. Each order gets its own error
    (``InsufficientFunds``, ``RateLimitError``), both tracked rejected, and the budget learns the
    block: the next order waits it out and goes in one request (before: both got the first entry's
    ``InsufficientFunds``, the budget learnt nothing and the next batch was refused for rate and
    sent again)."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        *first, buy, later = ladder(a, sim, tr, 22)
        assert all(isinstance(r, Order) for r in await tr.place_orders(first))
        too_big = unpaid_sell(a, sim, tr)
        got = await tr.place_orders([too_big, buy])
        assert isinstance(got[0], InsufficientFunds) and isinstance(got[1], RateLimitError), got
        assert a.orders(sim, too_big.client_id) == [] == a.orders(sim, buy.client_id)
        statuses = {getattr(tr.tracker.get(o.client_id), "status", None) for o in (too_big, buy)}
        assert statuses == {"rejected"}, statuses
        [placed] = await tr.place_orders([later])
        assert isinstance(placed, Order) and at_venue(a, sim, later).open, placed
        assert requests(sim, a).count(BATCH_OP) == 3, requests(sim, a).count(BATCH_OP)

    a.run(body, before=lambda sim: sim.venue("okx").config.profile.update(batch_rate_limit=21))


@pytest.mark.parametrize("a", [OKX, BINANCE], ids=["okx", "binance"])
def test_an_order_changed_after_prepare_to_break_the_rules_is_refused_with_nothing_sent(
    a: SimAccount,
) -> None:
    """A prepared order given a price half a tick off (``dataclasses.replace``) beside a good one:
    ``InvalidOrder`` naming the rule, as ``prepare`` raises it, with no request, nothing tracked or
    counted (before: the orders went to the venue, which refused the bad one, tracked rejected)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        good, bad = ladder(a, sim, tr, 2)
        bad = replace(bad, price=bad.price + tr.rules[a.symbol].tick_size / 2)  # type: ignore[operator]
        with pytest.raises(InvalidOrder):
            await tr.place_orders([good, bad])
        assert not {BATCH_OP, a.place_op} & set(requests(sim, a)) and a.orders(sim) == []
        assert tr.tracker.get(good.client_id) is None is tr.tracker.get(bad.client_id)
        assert tr.risk.exposure(a.symbol)["open_orders"] == 0

    a.run(body)


@pytest.mark.parametrize("whole", [False, True], ids=["partly", "whole"])
def test_an_entry_refused_for_rate_blocks_its_own_instrument_only(whole: bool) -> None:
    """The venue takes 5 batch orders per 2 s per instrument (fewer than the 300 the budget knows;
    OKX counts each instrument on its own). ETH-USDT's 5 taken, a batch with an ETH-USDT buy the venue
    refuses for rate (50011): beside a BTC-USDT buy that rests (code "2"), or first, before a BTC-USDT
    sell refused for funds (code "1", the request's error the first entry's). The next BTC-USDT order
    goes at once — the block is learnt for ETH-USDT, where the venue refused (before: the budget
    blocked every instrument of the batch's request, and the BTC order waited 2 s; a batch refused
    whole was also sent again once the window passed, and the rate-refused order came back placed)."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        *eth, eth_refused = ladder(a, sim, tr, 6, "ETH-USDT")
        assert all(isinstance(r, Order) for r in await tr.place_orders(eth))
        btc1, btc2 = ladder(a, sim, tr, 2)
        if whole:
            got = await tr.place_orders([eth_refused, unpaid_sell(a, sim, tr)])
            assert isinstance(got[0], RateLimitError) and isinstance(got[1], InsufficientFunds), got
        else:
            got = await tr.place_orders([btc1, eth_refused])
            assert isinstance(got[0], Order) and isinstance(got[1], RateLimitError), got
        assert a.orders(sim, eth_refused.client_id) == []
        t0 = asyncio.get_running_loop().time()
        [placed] = await tr.place_orders([btc2])
        waited = asyncio.get_running_loop().time() - t0
        assert isinstance(placed, Order) and at_venue(a, sim, btc2).open, placed
        assert waited < 1.0, waited

    a.run(body, before=lambda sim: sim.venue("okx").config.profile.update(batch_rate_limit=5))


def test_seven_usdm_orders_go_in_two_batch_requests_and_a_refused_entry_is_its_own_error() -> None:
    """Binance USDⓈ-M (``batchOrders``, 5 a request, the answer in the request's order, a refused
    entry naming no client id): six buys and, fourth, a reduce-only sell with no position to reduce
    (-2022). Two requests; the sell is ``OrderRejected`` and tracked rejected, the six rest at the
    venue as returned, and the risk limits count the six."""
    a = USDM

    async def body(sim: Simulator, tr: TradingSession) -> None:
        buys = ladder(a, sim, tr, 6)
        ask = sim.book(a.venue, a.symbol).asks[0][0] + 40 * tr.rules[a.symbol].tick_size
        sell = tr.prepare(a.symbol, "sell", "limit", buys[0].qty, ask, reduce_only=True)
        orders = [*buys[:3], sell, *buys[3:]]
        got = await tr.place_orders(orders)
        assert requests(sim, a).count(USDM_BATCH_OP) == 2 and a.place_op not in requests(sim, a)
        assert isinstance(got[3], OrderRejected) and "-2022" in str(got[3]), got[3]
        rest_but(a, sim, tr, orders, got, sell)

    a.run(body)


def test_twelve_bybit_orders_go_in_two_batch_requests_and_a_refused_entry_is_its_own_error() -> None:
    """Bybit spot (``create-batch``, 10 a request, each entry's outcome in ``retExtInfo`` beside it):
    eleven buys and, sixth, a sell of more BTC than the account holds (110007). Two requests and no
    single create; the sell is ``InsufficientFunds`` and tracked rejected, the eleven rest at the
    venue with the ids returned (before 2026-12-06: Bybit had no batch here, twelve creates)."""
    a = BYBIT

    async def body(sim: Simulator, tr: TradingSession) -> None:
        buys = ladder(a, sim, tr, 11)
        ask = sim.book(a.venue, a.symbol).asks[0][0] + 40 * tr.rules[a.symbol].tick_size
        sell = tr.prepare(a.symbol, "sell", "limit", Decimal(60), ask)  # the account holds 50 BTC
        orders = [*buys[:5], sell, *buys[5:]]
        got = await tr.place_orders(orders)
        assert requests(sim, a).count(BYBIT_BATCH_OP) == 2 and a.place_op not in requests(sim, a)
        assert isinstance(got[5], InsufficientFunds) and "110007" in str(got[5]), got[5]
        rest_but(a, sim, tr, orders, got, sell)

    a.run(body)


def test_a_bybit_batch_past_the_venues_limit_has_its_later_entries_refused_for_rate() -> None:
    """The venue's create-batch limit has room for three orders this second (profile
    ``order_rate_limit``): of five, the first three rest and the last two are ``RateLimitError``,
    tracked rejected and absent at the venue; the budget learnt the block, so the next batch waits
    for the venue's window instead of being refused again."""
    a = BYBIT

    async def body(sim: Simulator, tr: TradingSession) -> None:
        orders = ladder(a, sim, tr, 5)
        got = await tr.place_orders(orders)
        for o, r in zip(orders[:3], got[:3], strict=True):
            assert isinstance(r, Order) and r.order_id == str(at_venue(a, sim, o).id)
        for o, r in zip(orders[3:], got[3:], strict=True):
            assert isinstance(r, RateLimitError), r
            assert tr.tracker.get(o.client_id).status == "rejected"  # type: ignore[union-attr]
            assert a.orders(sim, o.client_id) == []
        later = await tr.place_orders(ladder(a, sim, tr, 2))
        assert all(isinstance(r, Order) for r in later), later
        refused = [x for x in sim.endpoint(a.venue, 0).exchanges if x[1] == BYBIT_BATCH_OP]
        assert len(refused) == 2 and len(a.open(sim)) == 5

    a.run(body, before=lambda sim: sim.venue("bybit").config.profile.update(order_rate_limit=3))


def test_an_order_on_a_market_the_rules_say_closed_is_that_orders_error_and_the_others_go() -> None:
    """Review: one of two orders is on a pair the venue's instrument list says is suspended (read
    after ``prepare``): its result is ``MarketClosed``, nothing of it sent, and the list is read
    again; the order on the open pair goes as asked. Before: ``place_orders`` raised
    ``MarketClosed`` for the whole call, the open pair's order never sent and no re-read asked."""
    from tickwire.errors import MarketClosed

    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        [btc] = ladder(a, sim, tr, 1)
        [eth] = ladder(a, sim, tr, 1, symbol="ETH-USDT")
        sim.set_status(a.venue, a.symbol, "closed")
        await tr.load_rules()
        reads = tr.rules_recheck.reads
        got = await tr.place_orders([btc, eth])
        assert isinstance(got[0], MarketClosed), got
        assert isinstance(got[1], Order) and got[1].status == "new" and at_venue(a, sim, eth).open
        assert a.orders(sim, btc.client_id) == []
        assert tr.rules_recheck.reads == reads + 1

    a.run(body)


@pytest.mark.usefixtures("okx_without_exptime")  # OKX bounding no request's life
def test_a_lost_batch_of_orders_the_venue_never_got_waits_once_not_once_per_order() -> None:
    """OKX sending no ``expTime`` bounds no request's life: a lost batch's orders are called "not placed"
    only once the session's ``lost_order_wait_s`` (3 s here) has passed since the loss — the one loss of
    them all, so three orders the venue never got (the request failed before reaching it) take one wait
    and their queries, not three waits (before: each waited from its own turn, 8.5 s for five at 1 s;
    through a gateway, past the client's outcome question). Nothing reached the venue, nothing is resent."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        orders = ladder(a, sim, tr, 3)
        sim.endpoint(a.venue, 0).fail(1, timeout=True)  # the batch never reaches the venue
        started = asyncio.get_running_loop().time()
        got = await tr.place_orders(orders)
        took = asyncio.get_running_loop().time() - started
        assert all(isinstance(r, TransportError) and "not placed" in str(r) for r in got), got
        assert a.orders(sim) == [] and requests(sim, a).count(BATCH_OP) == 1  # never resent
        assert took < 8.0, took  # one wait (3 s) and each order's queries (~0.7 s); three waits: > 9 s

    a.run(body, timeout=0.5, private_stream=False, lost_order_wait_s=3.0)
