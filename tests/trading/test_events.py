"""``tr.events()``: queued from its first call on. A session whose events nobody asks for keeps none
(a bot on callbacks alone, or a gateway's sessions, would otherwise grow a queue for as long as they
run); one that asks sees every change from then on, in order; closing ends the iteration."""

from __future__ import annotations

import asyncio
from typing import Any

from template_cases import SYMBOL, account, below_bid
from tickwire.sim import Simulator
from tickwire.trading.delivery import EventFeed
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession


def test_events_are_kept_only_once_asked_for_and_end_with_the_session() -> None:
    a = account()
    seen: list[Order] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr._user_on_order = seen.append
        price, qty = below_bid(a, sim, tr, 10)
        before = [await tr.place_order(SYMBOL, "buy", "limit", qty, price) for _ in range(3)]
        await tr.cancel_order(SYMBOL, client_id=before[0].client_id)
        # The callbacks heard every change; nothing was queued for an events() nobody began.
        assert [o.client_id for o in seen].count(before[0].client_id) >= 2
        assert tr._events.live() == []
        it = tr.events()
        after = await tr.place_order(SYMBOL, "buy", "limit", qty, price)
        got: list[tuple[str, Any]] = []
        while not any(k == "order" and v.client_id == after.client_id and v.status == "new" for k, v in got):
            got.append(await asyncio.wait_for(anext(it), 1.0))
        # From the call on, and only from it: the first event is the new order's.
        assert got[0][1].client_id == after.client_id
        assert {v.client_id for _, v in got} == {after.client_id}
        await tr.close()
        assert [x async for x in it] == []  # the close ends it
        assert [x async for x in tr.events()] == []  # as does one begun after it

    a.run(body)


def test_a_feed_closed_before_anyone_asked_ends_at_once_and_kept_nothing() -> None:
    async def go() -> None:
        feed = EventFeed()
        feed.put("order", "x")
        feed.close()
        assert feed.live() == []
        assert [x async for x in feed.events()] == []

    asyncio.run(go())


def test_two_consumers_each_get_every_event() -> None:
    """Two ``events()`` iterations (a P&L task and a strategy loop) each get every order change of
    three orders placed and one cancelled, in the order the ``on_order`` callback heard them —
    against the simulator's order list (before: one shared queue, each consumer got some); one
    dropped unread keeps nothing queued."""
    a = account()
    heard: list[Order] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr._user_on_order = heard.append
        first, second = tr.events(), tr.events()
        tr.events()  # dropped at once: nothing kept for it
        assert len(tr._events.live()) == 2
        price, qty = below_bid(a, sim, tr, 10)
        placed = [await tr.place_order(SYMBOL, "buy", "limit", qty, price) for _ in range(3)]
        await tr.cancel_order(SYMBOL, client_id=placed[0].client_id)
        at_venue = {o.client_id: o for o in sim.venue(a.venue).engine.orders.values()}
        assert [at_venue[o.client_id].open for o in placed] == [False, True, True]
        want = [("order", o.client_id, o.status) for o in heard]
        for it in (first, second):
            got = [await asyncio.wait_for(anext(it), 1.0) for _ in want]
            assert [(k, v.client_id, v.status) for k, v in got] == want
        assert len(tr._events.live()) == 2

    a.run(body)
