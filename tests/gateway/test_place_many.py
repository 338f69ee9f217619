"""Several orders in one request through the gateway (``tickwire.remote`` ``place_orders``, the
gateway's ``place_many``): across a real nats-server, checked against the simulator's own order list."""

from __future__ import annotations

import asyncio
from typing import Any

import gateway_harness
import pytest
from gateway_harness import VENUE, config, lose_next, remote, resting_qty, run, service, slow_replies, venue
from tickwire.errors import InvalidOrder, MarketClosed, OrderRejected, TransportError
from tickwire.gateway.run import Gateway
from tickwire.trading.orders import Order

nats_urls = gateway_harness.nats_urls  # the nats-server fixture, one for the session


def entries(v: Any, tr: Any, n: int, ticks: int = 30) -> list[dict[str, Any]]:
    """``n`` BTCUSDT buys a tick apart, ``ticks`` under the best bid down."""
    tick = tr.rules["BTCUSDT"].tick_size
    bid = v.sim.book(VENUE, "BTCUSDT").bids[0][0]
    out = []
    for i in range(n):
        price = bid - (ticks + i) * tick
        out.append(
            {
                "symbol": "BTCUSDT",
                "side": "buy",
                "type": "limit",
                "qty": resting_qty(tr, "BTCUSDT", price),
                "price": price,
            }
        )
    return out


def test_orders_placed_in_one_request_rest_as_asked_and_a_refused_one_is_its_own_error(
    nats_urls: list[str],
) -> None:
    """Two buys and a reduce-only sell with no position (USDⓈ-M refuses it, -2022): the results are
    the two orders as the simulator has them and the sell's ``OrderRejected``, in the order asked."""

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("many"))), \
                remote(nats_urls, "many", "b1") as tr:  # fmt: skip
            buy1, buy2 = entries(v, tr, 2)
            ask = v.sim.book(VENUE, "BTCUSDT").asks[0][0] + 30 * tr.rules["BTCUSDT"].tick_size
            sell = {**buy1, "side": "sell", "price": ask, "reduce_only": True}
            got = await tr.place_orders([buy1, sell, buy2])
            assert isinstance(got[1], OrderRejected)
            theirs = {o.client_id: o for o in v.orders("many")}
            assert len(theirs) == 2
            for r in (got[0], got[2]):
                assert (
                    isinstance(r, Order) and r.status == "new" and r.order_id == str(theirs[r.client_id].id)
                )
            with pytest.raises(InvalidOrder):  # another strategy's client id: refused whole, nothing placed
                await tr.place_orders([{**buy1, "client_id": "zz-1"}])
            assert len(v.orders("many")) == 2

    run(body)


def test_a_lost_answer_to_several_orders_is_settled_through_the_gateway(nats_urls: list[str]) -> None:
    """The gateway's reply is held past the client's time-out: the client asks the request's outcome
    and gets each order as placed, once. Then a request that never reaches the gateway: each order
    is ``TransportError`` "never reached the gateway", and when the request turns up late the gateway
    refuses it unrun. The simulator holds the first request's orders only."""

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("manylost"))) as gw, \
                remote(nats_urls, "manylost", "m1", timeout=0.4) as tr:  # fmt: skip
            svc = service(gw, "manylost")
            restore = slow_replies(svc, "place_many", 1.0)
            got = await tr.place_orders(entries(v, tr, 2))
            assert tr.timeouts == 1 and all(isinstance(r, Order) and r.status == "new" for r in got)
            placed = sorted(r.client_id for r in got)  # type: ignore[union-attr]
            assert sorted(o.client_id for o in v.orders("manylost")) == placed

            restore()
            held = lose_next(svc, "place_many")
            lost = await tr.place_orders(entries(v, tr, 2, ticks=40))
            assert all(isinstance(r, TransportError) and "never reached the gateway" in str(r) for r in lost)
            await svc._on_request(held[0])  # the request turns up after its client gave up on it
            await asyncio.sleep(0.2)
            assert sorted(o.client_id for o in v.orders("manylost")) == placed

    run(body)


def test_an_entry_on_a_market_the_venue_closed_is_its_own_error_and_the_others_are_placed(
    nats_urls: list[str],
) -> None:
    """The venue closes ETHUSDT (the gateway's rules read again say so): a request with a BTCUSDT and
    an ETHUSDT order places the first and answers the second ``MarketClosed``, nothing of it sent —
    as the session's ``place_orders`` does. Before, the whole request was refused ``MarketClosed``
    and the BTCUSDT order not placed."""

    async def body() -> None:
        async with venue() as v, Gateway(config(nats_urls, v.account("shut"))) as gw, \
                remote(nats_urls, "shut", "s1") as tr:  # fmt: skip
            v.sim.set_status(VENUE, "ETHUSDT", "closed")
            await service(gw, "shut").session.load_rules()
            [btc] = entries(v, tr, 1)
            price = v.sim.book(VENUE, "ETHUSDT").bids[0][0] - 30 * tr.rules["ETHUSDT"].tick_size
            eth = {**btc, "symbol": "ETHUSDT", "price": price, "qty": resting_qty(tr, "ETHUSDT", price)}
            got = await tr.place_orders([btc, eth])
            assert isinstance(got[0], Order) and got[0].status == "new"
            assert isinstance(got[1], MarketClosed)
            assert [o.symbol for o in v.orders("shut")] == ["BTCUSDT"]

    run(body)
