"""A close that meets a start or a key rotation still under way (``trading/lifecycle.py``): the start or
rotation is stopped, raises ``TransportError``, and nothing is left connected or running — checked
against the simulator's own connections (``ep.conns`` for sockets, ``ep.http.conns`` for REST) and
asyncio's tasks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from lost_cancel import swallowing
from test_rotation import _binance_key
from test_session_binance import BINANCE
from tickwire.errors import TransportError
from tickwire.sim import Simulator
from tickwire.trading import kept_socket
from tickwire.trading.session import TradingSession

A = BINANCE


async def _gone(check: Any, what: str) -> None:
    """Waits (1 s at most) for the venue to see connections close."""
    for _ in range(40):
        if check():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(what)


def _session(sim: Simulator, **kw: Any) -> TradingSession:
    return tickwire.trade(A.venue, credentials=A.signer, endpoints=sim.urls()[A.venue], timeout=2.0, **kw)


async def _nothing_open(ep: Any) -> None:
    """The venue's endpoint ends with no connection of the session left open (WebSocket or HTTP)."""
    await _gone(lambda: not ep.conns and not ep.http.conns, f"left open: {ep.conns} {ep.http.conns}")


def _others(before: set[asyncio.Task[Any]]) -> list[str]:
    return [t.get_name() for t in asyncio.all_tasks() if t not in before and t is not asyncio.current_task()]


async def _on_sim(body: Any) -> None:
    async with Simulator([A.venue], seed=31, rate=0, depth=20) as sim:
        A.register(sim.venue(A.venue))
        sim.fund(A.venue, A.key, A.funds)
        await body(sim)


@pytest.mark.parametrize("private_stream", [False, True])
def test_a_close_before_the_start_ran_leaves_the_start_refused(private_stream: bool) -> None:
    """``start()`` made a task, ``close()`` before it ran: the start raises ``TransportError`` at once,
    with no REST connection or socket opened at the venue. Before: it ran behind the close — the REST
    client opened again, the rules loaded — and returned the closed session as started (with the
    private stream, it waited its whole time-out on a stream the close had already ended)."""

    async def body(sim: Simulator) -> None:
        ep = sim.endpoint(A.venue, 0)
        tr = _session(sim, private_stream=private_stream)
        before = set(asyncio.all_tasks())
        starting = asyncio.create_task(tr.start())
        await tr.close()
        with pytest.raises(TransportError, match="closed"):
            await asyncio.wait_for(starting, 1.0)
        assert [x[1] for x in ep.exchanges] == []  # nothing reached the venue
        assert not ep.conns and not ep.http.conns and tr.wire.http is None
        assert _others(before) == []

    asyncio.run(_on_sim(body))


def test_a_close_while_the_start_adopts_stops_it_and_closes_what_it_opened() -> None:
    """The start's listing of an earlier run's orders (``adopt``) is held at the venue when ``close()``
    comes: the close ends at once, the start raises ``TransportError``, and the stream, the REST
    connection and every task of the session are gone. Before: the close returned, then the start
    returned the closed session as started."""

    async def body(sim: Simulator) -> None:
        ep = sim.endpoint(A.venue, 0)
        gate = asyncio.Event()
        ep.hold_answer("GET /api/v3/openOrders", gate.wait)
        tr = _session(sim, strategy="races")
        before = set(asyncio.all_tasks())
        starting = asyncio.create_task(tr.start())
        while "GET /api/v3/openOrders" not in ep.handling():
            await asyncio.sleep(0.005)
        assert len(ep.conns) == 1  # the private stream is up
        await asyncio.wait_for(tr.close(), 2.0)
        gate.set()
        with pytest.raises(TransportError, match="closed while it started"):
            await asyncio.wait_for(starting, 1.0)
        await _nothing_open(ep)
        assert _others(before) == []

    asyncio.run(_on_sim(body))


def test_a_close_while_the_start_connects_a_socket_that_swallows_its_cancel_still_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The order socket's connect completes as the close cancels the start (3.11's ``wait_for`` under
    ``open_ws`` swallows the cancel): the close still ends, the start raises ``TransportError`` and no
    socket is left at the venue."""

    async def body(sim: Simulator) -> None:
        ep = sim.endpoint(A.venue, 0)
        connecting = asyncio.Event()
        monkeypatch.setattr(kept_socket, "open_ws", swallowing(kept_socket.open_ws, connecting))
        tr = _session(sim, transport="ws", private_stream=False)
        starting = asyncio.create_task(tr.start())
        await asyncio.wait_for(connecting.wait(), 5)
        await asyncio.wait_for(tr.close(), 3.0)
        with pytest.raises(TransportError):
            await asyncio.wait_for(starting, 3.0)
        await _nothing_open(ep)

    asyncio.run(_on_sim(body))


@pytest.mark.parametrize(
    ("transport", "held"), [("rest", 1), ("ws", 1), ("ws", 2)], ids=["stream", "ws-stream", "ws-socket"]
)
def test_a_close_while_a_rotation_starts_the_new_sockets_leaves_none_open(transport: str, held: int) -> None:
    """``rotate()`` is starting the new key's sockets — held before the new stream's connect, or (with
    an order socket) before the new socket's, the new stream up — when ``close()`` comes, and let go
    once it returned: the rotation raises ``TransportError``, and neither the old nor the new sockets
    are connected at the venue afterwards, no task of theirs running. Before: the close returned,
    then the rotation connected the new stream (and order socket) and returned as done, leaving them
    connected and their tasks running after the close."""

    async def body(sim: Simulator) -> None:
        new = _binance_key()
        new.add(sim.venue(A.venue))
        ep = sim.endpoint(A.venue, 0)
        tr = await _session(sim, transport=transport).start()
        before = set(asyncio.all_tasks())
        connects: list[int] = []
        holding, closed = asyncio.Event(), asyncio.Event()

        async def connecting() -> None:  # each new socket's connect (the rotation's, in order)
            connects.append(1)
            if len(connects) == held:  # held until the close has returned
                holding.set()
                await closed.wait()

        tr.ws_connecting = connecting  # type: ignore[method-assign]
        rotating = asyncio.create_task(tr.rotate(new.signer))
        await asyncio.wait_for(holding.wait(), 3.0)
        await asyncio.wait_for(tr.close(), 3.0)
        closed.set()
        with pytest.raises(TransportError, match="rotated"):
            await asyncio.wait_for(rotating, 3.0)
        await _nothing_open(ep)
        assert _others(before) == []
        assert tr.stream is not None and not tr.stream.connected

    asyncio.run(_on_sim(body))


def test_two_sessions_started_and_closed_together_in_one_loop_leave_nothing_open() -> None:
    """Two sessions of the account (two strategies) started, used and closed concurrently in one loop:
    each places and cancels its own order at the venue, and both closes leave no connection or task."""

    async def body(sim: Simulator) -> None:
        ep = sim.endpoint(A.venue, 0)
        before = set(asyncio.all_tasks())
        one, two = _session(sim, strategy="one"), _session(sim, strategy="two")
        await asyncio.gather(one.start(), two.start())
        placed = await asyncio.gather(A.rest_below(sim, one, 20), A.rest_below(sim, two, 21))
        for o in placed:
            assert [x.open for x in A.orders(sim, o.client_id)] == [True]
        await asyncio.gather(one.close(), two.close())
        assert all(o.open for o in A.orders(sim))  # a clean close leaves the orders as they are
        await _nothing_open(ep)
        assert _others(before) == []

    asyncio.run(_on_sim(body))
