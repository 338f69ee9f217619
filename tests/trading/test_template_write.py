"""A write that raises (the transport's ``write`` or ``send``): part or all of the order may have gone
out, so it is tracked and reconciled — found at the venue, or proved absent and settled as rejected —
and never written again. Checked against the simulator's own order list on every path an order is
written by: a template's one call (``fire``), ``send``'s slow path, and ``place_order``, over REST
and the order socket."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from session_cases import settle
from template_cases import SYMBOL, account, below_bid, mantissas
from tickwire.errors import TransportError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


class _Trap:
    """Makes the next write through any transport it wraps raise, after handing the bytes on
    (``out``) or before."""

    def __init__(self, out: bool) -> None:
        self.out, self.armed, self.raised = out, True, 0

    def go(self, write: Any) -> None:
        if not self.armed:
            write()
            return
        self.armed = False
        self.raised += 1
        if self.out:
            write()
        raise ConnectionResetError("reset mid-write")


class _Raising:
    """A transport (asyncio's or picows') whose writes go through ``trap``."""

    def __init__(self, inner: Any, trap: _Trap) -> None:
        self._inner, self._trap = inner, trap

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def write(self, data: bytes) -> None:
        self._trap.go(lambda: self._inner.write(data))

    def send(self, kind: Any, data: bytes) -> None:
        self._trap.go(lambda: self._inner.send(kind, data))


def _set(tr: TradingSession, trap: _Trap) -> None:
    """Every way out of ``tr`` for an order through ``trap``: its idle HTTP connections and its order
    socket."""
    http: Any = tr.wire.http
    for conn in http._idle:
        conn.transport = _Raising(conn.transport, trap)
    ws = tr.orders_ws
    if ws is not None and ws.transport is not None:
        ws.transport = _Raising(ws.transport, trap)  # type: ignore[assignment]


@pytest.mark.parametrize("out", [True, False], ids=["went-out", "never-left"])
@pytest.mark.parametrize("path", ["fire", "slow", "place"])
@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_a_write_that_raises_is_reconciled_never_resent(transport: str, path: str, out: bool) -> None:
    a = account(recv_window=1000)  # "not placed" once the request's window passed: 1 s, not 5

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert (tr.orders_ws is not None and tr.orders_ws.connected) == (transport == "ws")
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        await tr.wire.http.connect()  # type: ignore[union-attr]  # an idle connection to write on
        trap = _Trap(out)
        _set(tr, trap)
        if path == "place":
            sent: Any = tr.place_order(SYMBOL, "buy", "limit", qty, price)
        else:
            sent = tmpl.send(*mantissas(tmpl, price, qty)) if path == "fire" else tmpl.send(price, qty)
        if out:
            o = await sent
            [theirs] = a.orders(sim)
            assert theirs.client_id == o.client_id and o.order_id == str(theirs.id) and o.status == "new"
        else:
            with pytest.raises(TransportError, match="not placed"):
                await sent
            assert a.orders(sim) == []
            [o] = list(tr.tracker)
            assert o.status == "rejected"
        assert trap.raised == 1  # one write raised, and nothing wrote the order again
        assert len(a.orders(sim, o.client_id)) == (1 if out else 0)
        # The session goes on: the next order is placed once, under a new client id.
        o2 = await (tmpl.send(*mantissas(tmpl, price, qty)) if path == "fire" else tmpl.send(price, qty))
        assert o2.client_id != o.client_id and o2.status == "new"
        assert len(a.orders(sim)) == (2 if out else 1) and len(a.orders(sim, o2.client_id)) == 1

    a.run(body, transport="auto" if transport == "ws" else "rest", private_stream=transport == "ws")


@pytest.mark.parametrize("path", ["fire", "slow"])
def test_a_raised_writes_reconciliation_cancelled_by_its_caller_still_settles_the_order(path: str) -> None:
    """The write raised after its bytes went out, so the returned task reconciles the order; no private
    stream, and the venue slow to answer the first query. The task is cancelled mid-reconciliation:
    the order is still settled as the simulator has it (working, its order id), once, and is counted
    once by the risk limits (before: left ``unknown`` for the session's life, nothing asking again)."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        await tr.wire.http.connect()  # type: ignore[union-attr]  # an idle connection to write on
        trap = _Trap(True)
        _set(tr, trap)
        ep = sim.endpoint("binance", 0)
        ep.delay(0.3)  # the status query waits at the venue
        sent = tmpl.send(*mantissas(tmpl, price, qty)) if path == "fire" else tmpl.send(price, qty)
        [o] = list(tr.tracker)
        await settle(lambda: ep.handling() != [], "the reconciliation's query at the venue")
        ep.delay(0)
        assert tr.tracker.get(o.client_id).status == "unknown"  # type: ignore[union-attr]
        sent.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sent
        await settle(lambda: getattr(tr.tracker.get(o.client_id), "status", None) == "new", "settled", 5)
        [theirs] = a.orders(sim)
        assert theirs.client_id == o.client_id and tr.tracker.get(o.client_id).order_id == str(theirs.id)  # type: ignore[union-attr]
        assert tr.risk.exposure(SYMBOL)["open_orders"] == 1 and not tr.in_flight()

    a.run(body, private_stream=False)
