"""``TradingSession.place_orders``: prepared orders placed in the venue's batch request (OKX
``batch-orders``, 20 a request) or each on ``place_order``'s path (Binance spot, which has no batch),
checked against the simulator's own order list and request log."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from session_cases import SimAccount, settle
from test_session_binance import BINANCE
from test_session_okx import OKX
from tickwire.errors import InsufficientFunds, InvalidOrder, RiskLimitExceeded, TradingHalted
from tickwire.sim import Simulator
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession

BATCH_OP = "POST /api/v5/trade/batch-orders"


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
        out.append(tr.prepare(symbol, "buy", "limit", a.size(tr, price, 2), price))
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


def test_a_lost_batch_answer_is_reconciled_order_by_order_never_resent() -> None:
    """The venue takes the batch and its answer is lost: each order is found by its client id and
    returned as the venue has it; the simulator got one batch request and holds each order once."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.endpoint(a.venue, 0).lose_answer(BATCH_OP)
        orders = ladder(a, sim, tr, 3)
        got = await tr.place_orders(orders)
        assert requests(sim, a).count(BATCH_OP) == 1
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


def test_a_batch_call_its_caller_cancelled_once_it_went_out_has_each_order_settled() -> None:
    """The venue is slow to take the batch and the caller gives up meanwhile (the private stream
    stalled, so only reconciliation can tell): each order is settled as the venue has it — resting,
    its venue id — and the simulator got one batch request and holds each order once."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(a.venue, 0)
        ep.stall()
        orders = ladder(a, sim, tr, 3)
        ep.delay(0.4)
        call = asyncio.ensure_future(tr.place_orders(orders))
        await settle(lambda: BATCH_OP in ep.handling(), "the batch at the venue")
        ep.delay(0)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        for o in orders:
            await settle(
                lambda o=o: getattr(tr.tracker.get(o.client_id), "status", None) == "new", "settled", 5
            )
            assert tr.tracker.get(o.client_id).order_id == str(at_venue(a, sim, o).id)  # type: ignore[union-attr]
        assert requests(sim, a).count(BATCH_OP) == 1 and len(a.open(sim)) == 3

    a.run(body)
