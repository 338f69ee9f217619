"""The kill switch against orders a venue's own calls place — Tradefence's ``batch`` (a ``CREATE_ORDER``)
and Clarofinlore's TWAP parent — written before the halt and reaching the venue's engine after the
kill's last listing: the kill waits for them as it does for ``place_order``'s call in flight, and
nothing is left working at the venue (checked against the simulator's order list and TWAPs)."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

from test_session_clarofinlore import CLARO
from test_session_clarofinlore import _run as claro_run
from test_session_tradefence import TRADEFENCE as tf
from tickwire.errors import TickwireError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession
from tickwire.venues import clarofinlore, tradefence


def test_an_order_of_a_tradefence_batch_in_flight_when_the_kill_is_thrown_is_not_left_open() -> None:
    """The batch's request takes 0.5 s to reach the engine; the kill is thrown meanwhile. Before: the
    kill neither waited for the batch (its orders pending, not in flight) nor aimed at them, finished
    first with a complete report, and the batch's order then rested at the venue after the kill."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = tf.touch(sim)
        price = bid - 20 * tr.rules[tf.symbol].tick_size
        o = tr.prepare(tf.symbol, "buy", "limit", tf.size(tr, price), price)
        ep = sim.endpoint(tf.venue, 0)
        ep.delay(0.5)  # this one request takes 0.5 s to reach the matching engine
        sending = asyncio.create_task(tradefence.batch(tr, [tradefence.CreateOrder(o)]))
        await asyncio.sleep(0.05)  # written, not yet processed by the venue
        ep.delay(0)
        report = await tr.kill("risk limit")
        with contextlib.suppress(TickwireError):
            await sending
        await asyncio.sleep(0.1)
        assert tf.orders(sim, o.client_id), "the batch reached the venue"
        assert tf.open(sim) == [], (
            f"left open at the venue after a kill reported complete={report.complete}: "
            f"{[(x.client_id, x.qty) for x in tf.open(sim)]}"
        )

    tf.run(body)


def test_a_twap_in_flight_when_the_kill_is_thrown_does_not_trade_after_it() -> None:
    """The TWAP request takes 0.5 s to reach the venue; the kill is thrown meanwhile. Before: the kill
    did not wait for it, its cancel-all and close-all ran first, and the TWAP then started at the
    venue, sending its market slices after the kill — a position opened after a complete report."""

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        venue = sim.venue(CLARO.venue)
        lot = tr.rules[CLARO.symbol].lot_size
        ep = sim.endpoint(CLARO.venue, 0)
        ep.delay(0.5)
        starting = asyncio.create_task(tr.twap(CLARO.symbol, "buy", 4 * lot, duration_s=0.2, slices=2))
        await asyncio.sleep(0.05)
        ep.delay(0)
        report = await tr.kill("risk limit")
        with contextlib.suppress(TickwireError):
            await starting
        await asyncio.sleep(0.5)  # the TWAP's duration, were it running
        assert venue.twap.twaps, "the TWAP reached the venue"  # type: ignore[attr-defined]
        running = [t.id for t in venue.twap.twaps.values() if t.status != "cancelled"]  # type: ignore[attr-defined]
        assert venue.engine.position(CLARO.key, CLARO.symbol) == 0, (
            f"position {venue.engine.position(CLARO.key, CLARO.symbol)} lots after a kill reported "
            f"complete={report.complete}; TWAPs not stopped: {running}"
        )

    claro_run(body)


def test_a_position_update_of_a_tradefence_batch_in_flight_is_in_the_kills_report() -> None:
    """An ``UPDATE_POSITION`` (its market order the venue's) reaches the engine 0.5 s after it was
    written, the kill thrown meanwhile. Tradefence has no means to close positions, so the kill can
    only report it — before: the kill read the positions before the update landed and said
    ``complete`` with no position, while the account then held one."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        engine = sim.venue(tf.venue).engine
        assert engine.position(tf.key, tf.symbol) == 0
        ep = sim.endpoint(tf.venue, 0)
        ep.delay(0.5)
        sending = asyncio.create_task(
            tradefence.batch(tr, [tradefence.UpdatePosition(tf.symbol, Decimal(1))])
        )
        await asyncio.sleep(0.05)
        ep.delay(0)
        report = await tr.kill("risk limit")
        with contextlib.suppress(TickwireError):
            await sending
        held = engine.position(tf.key, tf.symbol)
        assert held != 0, "the update reached the venue"
        assert not report.complete and [p.symbol for p in report.positions] == [tf.symbol], (
            f"the venue holds {held} {tf.symbol}; the kill reported complete={report.complete}, "
            f"positions={report.positions}"
        )

    tf.run(body)


def test_a_clarofinlore_resend_in_flight_when_the_kill_is_thrown_is_not_left_open() -> None:
    """An order left unknown is resent (``Session.resend``: same client id, the venue's idempotency);
    the resend takes 0.5 s to reach the venue and the kill is thrown meanwhile. Before: the kill did
    not wait for the resend (no call of the order's in flight), cancelled nothing of it, and the order
    then rested at the venue after the kill."""

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        bid, _ = CLARO.touch(sim)
        price = bid - 20 * tr.rules[CLARO.symbol].tick_size
        o = tr.prepare(CLARO.symbol, "buy", "limit", CLARO.size(tr, price), price)
        tr.tracker.track(o)
        tr.tracker.mark_unknown(o.client_id, "answer lost")  # its queries failed too: still unknown
        ep = sim.endpoint(CLARO.venue, 0)
        ep.delay(0.5)
        resending = asyncio.create_task(tr.resend(o.client_id))
        await asyncio.sleep(0.05)
        ep.delay(0)
        report = await tr.kill("risk limit")
        with contextlib.suppress(TickwireError):
            await resending
        await asyncio.sleep(0.1)
        assert CLARO.orders(sim, o.client_id), "the resend reached the venue"
        assert CLARO.open(sim) == [], (
            f"left open at the venue after the kill (complete={report.complete}, unconfirmed="
            f"{[x.client_id for x in report.unconfirmed]}): {[x.client_id for x in CLARO.open(sim)]}"
        )

    claro_run(body)
