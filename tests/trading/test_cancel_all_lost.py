"""``cancel_all`` whose answer never comes: the venue cancelled (or not), and the session learns which
from each order's state at the venue — never by a second cancel — checked against the simulator's
own order list and request log, with no private stream to tell."""

from __future__ import annotations

import pytest
from session_cases import SimAccount, settle
from test_session_binance import BINANCE
from test_session_bybit import BYBIT
from test_session_clarofinlore import CLARO
from test_session_coinbase import COINBASE
from test_session_htx import HTX
from test_session_kraken import KRAKEN
from test_session_okx import OKX
from test_session_tradefence import TRADEFENCE
from test_session_usdm import USDM
from tickwire.errors import UnknownOutcome
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

# Each venue's cancel request the session's cancel-all sends for two orders of one symbol, and how
# many of it that takes (Kraken: one CancelOrder an order).
CANCELS: list[tuple[SimAccount, str, int]] = [
    (BINANCE, "DELETE /api/v3/openOrders", 1),
    (USDM, "DELETE /fapi/v1/batchOrders", 1),
    (OKX, "POST /api/v5/trade/cancel-batch-orders", 1),
    (BYBIT, "POST /v5/order/cancel-all", 1),
    (HTX, "POST /v1/order/orders/batchcancel", 1),
    (COINBASE, "POST /api/v3/brokerage/orders/batch_cancel", 1),
    (KRAKEN, "POST /0/private/CancelOrder", 2),
    (CLARO, "POST /v1/orders/cancel-all", 1),
    (TRADEFENCE, "POST /v1/batch", 1),
]


@pytest.mark.parametrize(("a", "op", "sends"), CANCELS, ids=[a.venue for a, _, _ in CANCELS])
def test_a_cancel_all_whose_answer_is_lost_settles_each_order_as_the_venue_has_it(
    a: SimAccount, op: str, sends: int
) -> None:
    """The venue cancels both orders, then the connection closes before (the first) answer: the
    call returns both as canceled, the tracker has none open — as the simulator — and no cancel was
    sent twice. Before, the call raised ``TransportError`` leaving both open here for the session's
    life (counted by the risk limits), and a second ``cancel_all`` returned ``[]`` as if done with
    the tracker still stating two open orders."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        placed = [await a.rest_below(sim, tr, 10 + i) for i in range(2)]
        ep = sim.endpoint(a.venue, 0)
        ep.lose_answer(op)
        done = await tr.cancel_all(a.symbol)
        cids = {o.client_id for o in placed}
        assert a.open(sim) == [] and {o.client_id for o in a.orders(sim)} == cids
        assert sorted(o.client_id for o in done) == sorted(cids)
        assert all(o.status == "canceled" for o in done)
        assert tr.tracker.open_orders() == [], tr.tracker.open_orders()
        assert [x[1] for x in ep.exchanges].count(op) == sends

    a.run(body, private_stream=False)


def test_a_cancel_all_lost_on_the_order_socket_is_settled_over_rest() -> None:
    """``transport="auto"``: the socket is cut after the venue ran ``openOrders.cancelAll``; the
    orders' states, asked over REST while the socket is down, end the call with both canceled, as the
    simulator has them. Before, the call raised ``TransportError`` with both left open here."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        placed = [await a.rest_below(sim, tr, 10 + i) for i in range(2)]
        sim.endpoint(a.venue, 0).lose_answer("openOrders.cancelAll")
        done = await tr.cancel_all(a.symbol)
        assert a.open(sim) == [] and sorted(o.client_id for o in done) == sorted(o.client_id for o in placed)
        assert all(o.status == "canceled" for o in done) and tr.tracker.open_orders() == []
        # Not closed mid-reconnect: a close then can hang in the socket's task (stream.py, not here).
        await settle(lambda: tr.orders_ws is not None and tr.orders_ws.connected, "the socket back")

    a.run(body, private_stream=False, transport="auto")


def test_a_cancel_all_the_venue_answered_with_a_5xx_before_acting_leaves_the_orders_open() -> None:
    """A 503 the venue sent without cancelling: the outcome is unknown to the caller, and the orders
    whose states say they are still open stay open here, as at the venue (nothing taken as done)."""
    a = BYBIT

    async def body(sim: Simulator, tr: TradingSession) -> None:
        placed = [await a.rest_below(sim, tr, 10 + i) for i in range(2)]
        sim.endpoint(a.venue, 0).fail(1, status=503)
        with pytest.raises(UnknownOutcome):
            await tr.cancel_all(a.symbol)
        assert sorted(o.client_id for o in a.open(sim)) == sorted(o.client_id for o in placed)
        assert sorted(o.client_id for o in tr.tracker.open_orders()) == sorted(o.client_id for o in placed)

    a.run(body, private_stream=False)
