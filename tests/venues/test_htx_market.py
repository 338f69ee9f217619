"""HTX market-data sessions against the simulator: trades on the ``/ws`` socket, each delivered once
and exactly as the simulator's own market process made it; a session asked for books and trades
together (two sockets at HTX) refused with a clear error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from simclient import published_trades
from tickwire.sim import Simulator

SYMBOL = "btcusdt"


def test_a_trades_session_delivers_every_trade_the_simulator_published_once() -> None:
    async def go() -> None:
        async with Simulator(["htx"], seed=29, rate=0, depth=20) as sim:
            v = sim.venue("htx")
            published = published_trades(v, SYMBOL)
            heard: list[Any] = []
            async with tickwire.connect(
                "htx", [SYMBOL], channels=("trades",), endpoints=sim.urls()["htx"],
                on_trade=heard.append, probe_interval=None, ready_timeout=5.0,
            ) as md:  # fmt: skip
                await asyncio.sleep(0.2)  # the subscription acknowledged
                assert published == [], "trades before the session listened: the count proves less"
                for _ in range(10):
                    sim.advance(80, "htx", SYMBOL)
                    await asyncio.sleep(0.05)
                for _ in range(100):
                    if len(heard) >= len(published):
                        break
                    await asyncio.sleep(0.02)
                assert md.health()["decode_errors"] == 0
            inst = v.instruments[SYMBOL]
            assert len(published) > 40, len(published)
            assert [t.trade_id for t in heard] == [p.id for p in published]
            for p, t in zip(published, heard, strict=True):
                assert t.symbol == SYMBOL
                assert t.exact() == (inst.price(p.price), inst.qty(p.qty))
                assert t.buyer_maker == p.buyer_maker
            assert sim.errors == []

    asyncio.run(go())


def test_books_and_trades_in_one_session_are_refused_naming_the_two_sockets() -> None:
    with pytest.raises(ValueError, match=r"/feed socket and trades on /ws"):
        tickwire.connect("htx", [SYMBOL], channels=("book", "trades"))


@pytest.mark.parametrize(("opened", "added"), [(("trades",), ("book",)), (("book",), ("trades",))])
def test_a_channel_the_sessions_socket_does_not_serve_is_refused_when_subscribed_later(
    opened: tuple[Any, ...], added: tuple[Any, ...]
) -> None:
    async def go() -> None:
        async with Simulator(["htx"], seed=3, rate=100, depth=20) as sim:
            async with tickwire.connect(
                "htx", [SYMBOL], channels=opened, endpoints=sim.urls()["htx"], probe_interval=None,
                ready_timeout=5.0,
            ) as md:  # fmt: skip
                before = md.registry.live()
                with pytest.raises(ValueError, match="one session for books and one for trades"):
                    await md.subscribe([SYMBOL], added)
                assert md.registry.live() == before
                assert md.health()["decode_errors"] == 0

    asyncio.run(go())
