"""A quiet trading session's sockets kept by the venue's own heartbeat: OKX cuts a connection that
pushed nothing for 30 s (a client idle that long sends the text ``ping``), Bybit a private or trade
connection that sent no ``{"op":"ping"}`` or request for 10 minutes — a WebSocket ping frame is
neither. Here the simulator's cut comes after 1 s (``idle_cut``) and the sockets ping after 0.3 s."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from session_cases import SimAccount
from test_session_bybit import BYBIT
from test_session_okx import OKX
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession
from tickwire.venues.bybit.orders import Orders as BybitOrders
from tickwire.venues.okx.orders import Orders as OkxOrders

CASES = [(OKX, OkxOrders, "/ws/v5/private"), (BYBIT, BybitOrders, "/v5/")]


def _sockets(sim: Simulator, a: SimAccount, path: str) -> set[int]:
    """The simulator's open private and trade connections (ids)."""
    ep = sim.endpoint(a.venue, 0)
    return {c.id for c in ep.conns.values() if c.path.startswith(path) and "public" not in c.path}


@pytest.mark.parametrize(("a", "grammar", "path"), CASES, ids=["okx", "bybit"])
def test_quiet_trading_sockets_are_kept_by_the_venues_heartbeat(
    a: SimAccount, grammar: Any, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three of the venue's idle cuts pass with nothing to say: the private stream and the order
    socket are the connections they were (the simulator cut none), and an order then goes over the
    socket at once. Before, each was cut at every idle cut and reconnected (reconciling each time,
    orders under ``transport="ws"`` refused meanwhile)."""
    monkeypatch.setattr(grammar, "socket_ping_s", 0.3, raising=False)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None and tr.orders_ws is not None
        first = _sockets(sim, a, path)
        assert len(first) == 2, first
        await asyncio.sleep(3.2)
        now = _sockets(sim, a, path)
        assert now == first, f"cut and opened again: {sorted(first)} -> {sorted(now)}"
        assert (tr.stream.connects, tr.orders_ws.connects) == (1, 1)
        o = await a.rest_below(sim, tr, 30)
        assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1

    a.run(body, transport="ws", sim_timeouts={"idle_cut": 1.0})


def test_a_busy_bybit_private_stream_still_sends_the_venues_ping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bybit cuts a private connection after its ``idle_cut`` without a message *from the client*
    (venues.md §3: send the op ping every 20 s; pushes it receives do not count). A private stream
    that hears a push every 0.1 s is never idle, so an idle-only ping never went out and the
    simulator cut the stream at each ``idle_cut`` (1 s here; 10 minutes at Bybit)."""
    monkeypatch.setattr(BybitOrders, "socket_ping_s", 0.3, raising=False)
    a: SimAccount = BYBIT

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None
        venue: Any = sim.venue("bybit")

        def push(c: Any) -> bytes:  # a topic the grammar skips: traffic, nothing else
            return orjson.dumps({"id": "x", "topic": "wallet", "creationTime": 0, "data": []})

        for _ in range(25):  # 2.5 s of pushes: two and a half idle cuts
            venue.trade.streams.push(push, account=a.key)
            await asyncio.sleep(0.1)
        assert tr.stream.connects == 1, f"the private stream was cut: {tr.stream.connects} connects"

    a.run(body, sim_timeouts={"idle_cut": 1.0})
