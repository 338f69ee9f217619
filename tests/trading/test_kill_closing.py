"""The kill switch's closing orders whose answer is lost (Binance USDⓈ-M, reduce-only market orders),
checked against the simulator's own positions, order list and request log, with no private stream to
tell the session what happened: such an order is reconciled before the positions are read for the
report — found as the venue has it, or proved absent and only then followed by another — and never
sent again while its fate is unknown. USDⓈ-M names no request window (``request_window_s()`` None):
"absent" is concluded after the reconciler's queries, as for any of its orders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from kill_cases import reduce_only_at_venue, requests, run
from session_cases import settle
from tickwire.errors import TransportError
from tickwire.sim import Simulator
from tickwire.sim.market import BID
from tickwire.trading.session import TradingSession
from tickwire.trading.wire import unsent

VENUE, KEY, SYMBOL, PLACE = "binance-usdm", "kill-usdm", "BTCUSDT", "POST /fapi/v1/order"
STATUS = "GET /fapi/v1/order"


async def long_position(sim: Simulator, tr: TradingSession) -> int:
    """Long 0.01 BTCUSDT at the simulator (in lots), no private stream, no request window."""
    await tr.place_order(SYMBOL, "buy", "market", "0.01")
    lots = sim.venue(VENUE).engine.position(KEY, SYMBOL)
    assert lots > 0 and tr.stream is None and tr.request_window_s() is None
    return lots


def on_first_close(tr: TradingSession, fault: Callable[[Any], Awaitable[Any]]) -> list[str]:
    """The kill's first closing order goes out through ``fault(send)`` (its client id kept in the list
    returned); every other request as usual."""
    send_lane, first = tr.send_lane, []

    async def faulty(call: Any, lane: Any) -> Any:
        if (call.method, call.path) != ("POST", "/fapi/v1/order") or first:
            return await send_lane(call, lane)
        first.append(call.params["newClientOrderId"])
        return await fault(lambda: send_lane(call, lane))

    tr.send_lane = faulty  # type: ignore[method-assign]
    return first


def test_a_closing_order_whose_answer_is_lost_but_applied_is_found_filled_and_the_report_says_flat() -> None:
    """The venue fills the reduce-only order and its answer is lost. The kill reconciles it (a status
    query by client id): ``filled`` in the tracker and in the report, the report's positions read
    after that flat and the report complete — as the simulator has it: one reduce-only order, filled,
    the position flat, no second one sent (before: left ``unknown``, the report not complete and no
    way to learn the outcome from the session)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        engine, ep = sim.venue(VENUE).engine, sim.endpoint(VENUE, 0)
        lots = await long_position(sim, tr)
        ep.lose_answer(PLACE)
        report = await tr.kill("flatten")
        assert ep.lost == [PLACE]
        assert [(o.side, o.reduce_only, o.status, o.filled) for o in report.closing] == [
            ("sell", True, "filled", Decimal("0.01"))
        ], report
        cid = report.closing[0].client_id
        got = tr.tracker.get(cid)
        assert got is not None and got.status == "filled" and got.filled == Decimal("0.01")
        assert report.positions == () and report.complete, report
        assert engine.position(KEY, SYMBOL) == 0
        at_venue = reduce_only_at_venue(sim)
        assert [(o.client_id, o.side, o.qty, o.filled, o.open) for o in at_venue] == [
            (cid, 1 - BID, lots, lots, False)
        ], at_venue
        assert requests(sim, VENUE).count(PLACE) == 2  # the opening order and one closing order
        assert STATUS in requests(sim, VENUE)  # found by asking, not by resending

    run(VENUE, body, private_stream=False, timeout=0.5)


def test_a_closing_order_that_never_reached_the_venue_is_proved_absent_then_sent_once_more() -> None:
    """The reduce-only order's request never reaches the venue (held unanswered: a time-out). The kill
    reconciles it — no trace by client id nor among the open orders — calls it ``rejected`` (not
    placed), and only then, against the position listed again, sends one more, which fills: the
    report says flat and complete, as the simulator has it — exactly one filled reduce-only order (the
    second), the first unknown to it, the position flat, and the status query between the two sends
    (before: left ``unknown``, the position reported open, nothing to settle it)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        engine, ep = sim.venue(VENUE).engine, sim.endpoint(VENUE, 0)
        lots = await long_position(sim, tr)

        async def never_arrives(send: Callable[[], Awaitable[Any]]) -> Any:
            ep.fail(1, timeout=True)  # the next REST request is this one: held, never processed
            return await send()

        first = on_first_close(tr, never_arrives)
        before = len(requests(sim, VENUE))
        report = await tr.kill("flatten")
        statuses = [(o.client_id, o.reduce_only, o.status) for o in report.closing]
        assert len(statuses) == 2 and statuses[0] == (first[0], True, "rejected"), report
        second = statuses[1][0]
        assert statuses[1] == (second, True, "filled") and second != first[0], report
        assert report.positions == () and report.complete, report
        assert engine.position(KEY, SYMBOL) == 0
        at_venue = reduce_only_at_venue(sim)
        assert [(o.client_id, o.qty, o.filled, o.open) for o in at_venue] == [(second, lots, lots, False)]
        assert engine.by_client.get((KEY, first[0])) is None
        ops = requests(sim, VENUE)[before:]
        # Two closing requests (the first held unanswered, never processed), the status query between.
        sends = [i for i, op in enumerate(ops) if op == PLACE]
        assert len(sends) == 2 and STATUS in ops[sends[0] : sends[1]], ops

    run(VENUE, body, private_stream=False, timeout=0.5)


def test_a_closing_order_refused_before_a_byte_was_written_is_withdrawn_and_named_in_the_errors() -> None:
    """The wire refuses the reduce-only order's request before writing any of it (``unsent``: the
    session's request path, as for a budget it cannot wait for). It takes the same route as a
    ``place_order`` refused there (``place.send_order``): withdrawn — not tracked, not among the
    report's closing orders, which lists what was sent — its refusal in the report's errors, the
    report not complete, and the simulator saw no closing request and still holds the position
    (before, the kill's own send path kept it in the tracker and the report as ``rejected``)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        engine = sim.venue(VENUE).engine
        lots = await long_position(sim, tr)

        async def refused_unsent(_send: Callable[[], Awaitable[Any]]) -> Any:
            raise unsent(TransportError("binance-usdm: refused before it was written"))

        first = on_first_close(tr, refused_unsent)
        before = len(requests(sim, VENUE))
        report = await tr.kill("flatten")
        assert len(first) == 1 and tr.tracker.get(first[0]) is None
        assert report.closing == () and not report.complete, report
        assert [e for e in report.errors if e.startswith(f"close {SYMBOL}:")], report.errors
        assert [(p.symbol, p.qty) for p in report.positions] == [(SYMBOL, Decimal("0.01"))], report
        assert engine.position(KEY, SYMBOL) == lots and reduce_only_at_venue(sim) == []
        assert PLACE not in requests(sim, VENUE)[before:]

    run(VENUE, body, private_stream=False, timeout=0.5)


# How long the first closing order waits at the venue: well past its time-out (0.5 s) and the
# reconciliation's queries (~0.6 s on an idle machine), with room for a loaded one.
QUEUED_S = 4.0


def test_a_closing_order_queued_past_its_reconciliation_never_flips_the_position() -> None:
    """The first reduce-only order is queued at the venue ``QUEUED_S`` before its engine takes it; its answer
    times out and the reconciliation finds no trace of it in that time (USDⓈ-M names no request
    window, and the kill's orders do not wait the session's ``lost_order_wait_s``: "not placed" is
    concluded after the queries), so the kill sends one more against the
    position listed again, which fills. Then the first reaches the engine and is refused (-2022: it
    would not reduce). The report says flat and complete, and so does the simulator: one filled
    reduce-only order, the position never flipped, the first ``rejected`` in the tracker and unknown
    to the venue (the review's replacement for ``test_kill.py::test_a_second_kill_while_the_first_
    ones_closing_order_is_still_queued_…``, whose first kill now settles what its second did)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        engine, ep = sim.venue(VENUE).engine, sim.endpoint(VENUE, 0)
        lots = await long_position(sim, tr)

        async def queued(send: Callable[[], Awaitable[Any]]) -> Any:
            ep.delay(QUEUED_S)
            sent = asyncio.ensure_future(send())
            await settle(lambda: PLACE in ep.handling(), "the closing order at the venue")
            ep.delay(0)
            return await sent

        first = on_first_close(tr, queued)
        report = await tr.kill("flatten")
        assert PLACE in ep.handling(), "the first was taken before the reconciliation ended"
        statuses = [(o.client_id, o.status) for o in report.closing]
        assert len(statuses) == 2 and statuses[0] == (first[0], "rejected"), report
        assert statuses[1][1] == "filled", report
        assert report.positions == () and report.complete, report
        await settle(lambda: PLACE not in ep.handling(), "the first to reach the engine")
        assert [st for _, op, st, _ in ep.exchanges if op == PLACE][-1] == 400  # -2022
        assert engine.position(KEY, SYMBOL) == 0
        at_venue = reduce_only_at_venue(sim)
        assert [(o.client_id, o.filled) for o in at_venue] == [(report.closing[1].client_id, lots)]
        got = tr.tracker.get(first[0])
        assert got is not None and got.status == "rejected"

    # At the library's own lost-order wait (5 s, past QUEUED_S): the kill's closing orders do not wait
    # it (``Reconciler.unwaited``); before they did, and the first was found at 4 s, not closed again.
    run(VENUE, body, private_stream=False, timeout=0.5, lost_order_wait_s=5.0)


def test_a_second_kill_reconciles_the_first_ones_unknown_closing_order_before_sending_another() -> None:
    """The first kill's closing order never reaches the venue and the status query of its
    reconciliation loses its answer too: left ``unknown``, the position reported open, the report not
    complete. A second kill reconciles it before anything else is sent there — no trace: ``rejected``
    — and only then sends one more reduce-only order, which fills: its report complete and flat, as
    the simulator has it (one filled reduce-only order, the position flat, the status query about the
    first between the second kill's start and its order). Before: the first kill's order stayed
    ``unknown``, and the second kill sent another without asking about it, then reported the first
    unconfirmed."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        engine, ep = sim.venue(VENUE).engine, sim.endpoint(VENUE, 0)
        lots = await long_position(sim, tr)

        async def lost_twice(send: Callable[[], Awaitable[Any]]) -> Any:
            ep.fail(1, timeout=True)  # never processed
            ep.lose_answer(STATUS)  # and the reconciliation's first query answered to no one
            return await send()

        first = on_first_close(tr, lost_twice)
        one = await tr.kill("flatten")
        assert [(o.client_id, o.status) for o in one.closing] == [(first[0], "unknown")], one
        assert one.positions and not one.complete and engine.position(KEY, SYMBOL) == lots
        before = len(requests(sim, VENUE))
        two = await tr.kill("flatten again")
        ops = requests(sim, VENUE)[before:]
        assert ops.count(PLACE) == 1 and STATUS in ops[: ops.index(PLACE)], ops
        got = tr.tracker.get(first[0])
        assert got is not None and got.status == "rejected", got
        assert [(o.reduce_only, o.status) for o in two.closing] == [(True, "filled")], two
        assert two.positions == () and two.complete, two
        assert engine.position(KEY, SYMBOL) == 0
        at_venue = reduce_only_at_venue(sim)
        assert [(o.client_id, o.filled) for o in at_venue] == [(two.closing[0].client_id, lots)]
        assert ep.lost == [STATUS]  # the first kill's reconciliation was the one that lost its answer

    run(VENUE, body, private_stream=False, timeout=0.5)
