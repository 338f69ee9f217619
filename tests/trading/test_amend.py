"""Amends whose answer never comes, against the simulator's own order (the cases every venue passes are
in ``session_cases.py``): one the venue takes only after the session concluded it did not, and one
never written at all."""

from __future__ import annotations

import pytest
from session_cases import settle
from test_session_binance import BINANCE
from tickwire.errors import TransportError, UnknownOutcome
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


def test_an_amend_the_venue_applies_after_the_session_gave_up_on_it_is_tracked() -> None:
    """Binance spot: an amend to two thirds of the quantity is lost on its way (it never reached the
    venue) and the venue's state, asked a few times, keeps the old terms: "did not take effect". Then
    the venue applies it after all (processed late): its private stream states the new quantity, and
    the tracker takes it (before: the amend was closed and the new terms ignored — the tracker would
    call the order filled a third of the way early, and the rest an overfill)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 3)
        lower = o.qty * 2 / 3
        sim.endpoint(a.venue, 0).fail(1, timeout=True)
        with pytest.raises(TransportError, match="did not take effect"):
            await tr.amend_order(a.symbol, client_id=o.client_id, qty=lower)
        [theirs] = a.orders(sim, o.client_id)
        inst = sim.venue(a.venue).instruments[a.symbol]
        assert theirs.qty * inst.lot == o.qty == tr._current(o.client_id).qty  # not taken, as said
        engine = sim.venue(a.venue).engine
        engine.amend(a.key, a.symbol, theirs.id, None, int(lower / inst.lot), None)  # taken late
        await settle(lambda: tr._current(o.client_id).qty == lower, "the venue's new terms")
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.qty * inst.lot == lower and theirs.open and tr._current(o.client_id).status == "new"

    a.run(body, timeout=0.5)


def test_an_amend_refused_before_it_was_written_leaves_the_order_as_it_was() -> None:
    """``transport="ws"`` and the order socket down (the venue refusing it back): the amend is refused
    before a byte of it is written — ``TransportError`` "socket is down", not ``UnknownOutcome``; the
    order's terms unchanged here and at the venue, the amend not left open (before: reconciled over
    the same dead socket, an unknown outcome, the amend open for good)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 3)
        sim.venue(a.venue).accept = lambda conn: (503, b"down")  # type: ignore[method-assign]
        sim.endpoint(a.venue, 0).drop()
        await settle(lambda: tr.orders_ws is not None and not tr.orders_ws.connected, "the socket down")
        with pytest.raises(TransportError, match="socket is down") as e:
            await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2 / 3)
        assert not isinstance(e.value, UnknownOutcome)
        [theirs] = a.orders(sim, o.client_id)
        inst = sim.venue(a.venue).instruments[a.symbol]
        assert theirs.qty * inst.lot == o.qty == tr._current(o.client_id).qty
        assert tr.tracker.get(o.client_id) == o

    a.run(body, transport="ws", private_stream=False, timeout=1.0)
