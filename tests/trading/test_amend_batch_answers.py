"""A batch or amend answered in a form not the venue's, and an amend refused after a late word,
checked against the simulator's own order list."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from test_place_orders import USDM_BATCH_OP, at_venue, ladder, requests
from test_session_usdm import USDM
from tickwire.sim import Simulator
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession


def _first_entry_mangled(tr: TradingSession, key: str, value: object) -> None:
    send = tr.send

    async def mangled(call: Any, lane: Any = "query", **kw: Any) -> Any:
        body = await send(call, lane, **kw)
        if call.path == "/fapi/v1/batchOrders" and isinstance(body, list):
            body = copy.deepcopy(body)
            if value is KeyError:
                del body[0][key]
            else:
                body[0][key] = value
        return body

    tr.send = mangled  # type: ignore[method-assign]


@pytest.mark.parametrize(
    ("key", "value"), [("executedQty", KeyError), ("executedQty", "x")], ids=["missing", "nan"]
)
def test_an_unreadable_batch_entry_is_reconciled_not_recorded_rejected(key: str, value: object) -> None:
    """The venue places both orders of a USDⓈ-M batch and answers the first's entry in a form not its
    own (a key missing; a number that is none): that order rests at the venue, so it must be asked
    about — as ``place_order`` does with an unreadable answer — and returned as the venue has it, not
    recorded rejected (its fills then counted on a rejected order) nor left pending."""
    a = USDM

    async def body(sim: Simulator, tr: TradingSession) -> None:
        orders = ladder(a, sim, tr, 2)
        _first_entry_mangled(tr, key, value)
        got = await tr.place_orders(orders)
        assert requests(sim, a).count(USDM_BATCH_OP) == 1
        for o, r in zip(orders, got, strict=True):
            theirs = at_venue(a, sim, o)
            assert theirs.open
            assert isinstance(r, Order) and r.status == "new" and r.order_id == str(theirs.id), r
            assert tr.tracker.get(o.client_id).status == "new"  # type: ignore[union-attr]
        assert tr.risk.exposure(a.symbol)["open_orders"] == 2 == len(a.open(sim))

    a.run(body, private_stream=False)


def test_an_amend_answered_in_a_form_not_the_venues_leaves_the_venues_new_terms_to_be_taken() -> None:
    """USDⓈ-M applies an amend to twice the quantity and answers it in a form not its own (a key
    missing): the amend went out and the venue may have applied it — here it did — so the amend is
    not closed as if refused: the next statement of the venue's terms (a reconciliation) is taken
    and the tracker holds the simulator's quantity (before: closed on the ``DecodeError`` as a
    refusal, the venue's new quantity ignored from then on as a stale word — the order called
    filled at half its size, the rest of its fills an overfill)."""
    a = USDM

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 1)
        send = tr.send

        async def mangled(call: Any, lane: Any = "query", **kw: Any) -> Any:
            got = await send(call, lane, **kw)
            if call.method == "PUT" and isinstance(got, dict):
                got = {k: v for k, v in got.items() if k != "executedQty"}
            return got

        tr.send = mangled  # type: ignore[method-assign]
        try:
            await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2)
        except Exception:
            pass
        tr.send = send  # type: ignore[method-assign]
        [theirs] = a.orders(sim, o.client_id)
        inst = sim.venue(a.venue).instruments[a.symbol]
        assert theirs.open and theirs.qty * inst.lot == o.qty * 2  # the venue applied it
        await tr.reconcile(o.client_id)
        got = tr._current(o.client_id)
        assert got.qty == o.qty * 2, (got.qty, o.qty * 2)
        assert tr.risk.exposure(a.symbol)["open_buy_qty"] == o.qty * 2

    a.run(body, private_stream=False)


def test_a_refused_amend_leaves_the_order_as_the_venue_has_it_though_a_late_word_came_meanwhile() -> None:
    """USDⓈ-M. A first amend doubles the order (applied, answered). A second, to three times, is
    refused by the venue for margin. While it was out, a late word from before the first amend (the
    order at its first quantity: a reordered or repeated stream message, a reconciliation's query
    answered late) arrived; with an amend open, its terms were taken. The refusal closes the amend:
    the tracker must then hold the venue's terms (twice), not the late word's, and take them when the
    venue states them (before: it kept the first quantity, and every later statement of the venue's
    was ignored as a word from before an amend — the order called filled at half its size)."""
    from tickwire.sim.engine import EngineError
    from tickwire.trading.orders import OrderEvent

    a = USDM

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 1)
        await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2)
        stale = OrderEvent(
            source="stream", client_id=o.client_id, order_id=tr._current(o.client_id).order_id,
            status="new", symbol=o.symbol, side=o.side, qty=o.qty, price=o.price,
        )  # fmt: skip
        engine = sim.venue(a.venue).engine
        amend = engine.amend

        def refused(*args: Any, **kw: Any) -> Any:
            tr.tracker.apply(stale)  # the late word arrives while the amend is out
            raise EngineError("funds", "insufficient balance for the amended order")

        engine.amend = refused  # type: ignore[method-assign]
        try:
            await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 3)
        except Exception:
            pass
        engine.amend = amend  # type: ignore[method-assign]
        inst = sim.venue(a.venue).instruments[a.symbol]
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.qty * inst.lot == o.qty * 2
        await tr.reconcile(o.client_id)
        assert tr._current(o.client_id).qty == o.qty * 2, (tr._current(o.client_id).qty, o.qty * 2)

    a.run(body, private_stream=False)
