"""A template send's answer (``trading/template_answer.py``) on Binance spot against the simulator: a
lost answer, over REST or the order socket, reconciled into exactly one order at the venue (the
one-call path and the slow one); a scheduled resend dropped when the private stream brings the ack;
the order registered — tracked, audited, its send time kept — as ``place_order`` registers its own."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import orjson
import pytest
from template_cases import (
    SYMBOL,
    account,
    below_bid,
    mantissas,
)
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


@pytest.mark.parametrize("ints", [False, True])  # True: the one-call path
def test_a_lost_answer_is_reconciled_into_exactly_one_order(ints: bool) -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.endpoint("binance", 0).lose_answer(a.place_op)
        price, qty = below_bid(a, sim, tr, 10)
        tmpl = tr.template(SYMBOL, "buy")
        o = await (tmpl.send(*mantissas(tmpl, price, qty)) if ints else tmpl.send(price, qty))
        assert len(a.orders(sim, o.client_id)) == 1 and len(a.orders(sim)) == 1
        assert o.status == "new" and o.order_id == str(a.orders(sim)[0].id)
        assert sim.endpoint("binance", 0).lost == [a.place_op]

    a.run(body, timeout=1.0)


def test_a_retry_pending_when_the_private_stream_brings_the_ack_is_dropped() -> None:
    """The answer to a template's order is lost and a resend is scheduled for it; the private stream
    then reports the order: the scheduled resend is dropped, reconciliation ends in the venue's one
    order, and the simulator has exactly that one."""
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None  # the private stream is on
        sim.endpoint("binance", 0).lose_answer(a.place_op)
        tmpl = tr.template(SYMBOL, "buy")
        price, qty = below_bid(a, sim, tr, 10)
        task = tmpl.send(*mantissas(tmpl, price, qty))
        [pending] = tr.tracker.in_flight()
        cid = pending.client_id
        tr.tracker.schedule_retry(cid)
        for _ in range(200):  # the stream's executionReport arrives long before the answer's time-out
            got = tr.tracker.get(cid)
            if got is not None and got.status not in ("pending", "unknown"):
                break
            await asyncio.sleep(0.01)
        assert not tr.tracker.retry_due(cid)  # the event dropped the scheduled resend
        o = await task
        assert o.client_id == cid and o.status == "new"
        [theirs] = a.orders(sim)
        assert theirs.client_id == cid and o.order_id == str(theirs.id)
        assert sim.endpoint("binance", 0).lost == [a.place_op]

    a.run(body, timeout=1.0)


@pytest.mark.parametrize("ints", [False, True])  # True: the one-call path
def test_a_lost_answer_on_the_order_socket_is_reconciled_into_exactly_one_order(ints: bool) -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.orders_ws is not None and tr.orders_ws.connected
        sim.endpoint("binance", 0).lose_answer(a.ws_place_op)
        price, qty = below_bid(a, sim, tr, 30)
        tmpl = tr.template(SYMBOL, "buy")
        o = await (tmpl.send(*mantissas(tmpl, price, qty)) if ints else tmpl.send(price, qty))
        assert sim.endpoint("binance", 0).lost == [a.ws_place_op]
        assert len(a.orders(sim)) == 1 and a.orders(sim, o.client_id)[0].open and o.status == "new"

    a.run(body, transport="auto", timeout=1.0)


@pytest.mark.parametrize("transport", ["rest", "ws"])
@pytest.mark.parametrize("numbers", ["ints", "decimals"])
def test_a_template_send_registers_its_order_as_place_order_does(
    tmp_path: Any, transport: str, numbers: str
) -> None:
    """The same order by ``place_order`` and by a template (the one-call path with ints, ``send``'s
    own with Decimals): the same order registered with the tracker, a send time kept for each, and
    the same audit lines (but for the client id and the times)."""
    a = account()
    path = tmp_path / "audit.jsonl"

    async def body(sim: Simulator, tr: TradingSession) -> None:
        price, qty = below_bid(a, sim, tr, 10)
        tmpl = tr.template(SYMBOL, "buy")
        registered: list[Any] = []
        track = tr.tracker.track

        def spy(order: Any) -> None:
            registered.append(replace(order))  # as it was registered, not as it is later
            track(order)

        tr.tracker.track = spy  # type: ignore[method-assign]
        since = tr.clock.now_ms()
        slow = await tr.place_order(SYMBOL, "buy", "limit", qty, price)
        if numbers == "ints":
            fast = await tmpl.send(int(price.scaleb(tmpl.price_scale)), int(qty.scaleb(tmpl.qty_scale)))
        else:
            fast = await tmpl.send(price, qty)
        until = tr.clock.now_ms()
        cids = [slow.client_id, fast.client_id]
        assert [o.client_id for o in registered] == cids
        assert replace(registered[0], client_id="c") == replace(registered[1], client_id="c")
        sent = [tr.clock.sync.venue_ms_at(tr.sent_at[c]) for c in cids]
        assert all(since - 1 <= t <= until for t in sent)  # the venue's clock: when sent
        tr.audit.flush()
        lines = path.read_text().splitlines()
        starts = [i for i, x in enumerate(lines) if orjson.loads(x)["kind"] == "order_request"]
        assert len(starts) == 2

        def block(lines: list[str], cid: str, order_id: str | None) -> list[dict[str, Any]]:
            out = []
            for x in lines:
                ev = orjson.loads(x.replace(cid, "CID").replace(f'"{order_id}"', '"OID"'))
                out.append({k: v for k, v in ev.items() if k not in ("ts_ns", "mono_ns", "elapsed_ms")})
            return out

        first = block(lines[starts[0] : starts[1]], slow.client_id, slow.order_id)
        second = block(lines[starts[1] :], fast.client_id, fast.order_id)
        assert [e["kind"] for e in first][:2] == ["order_request", "request"]
        assert first == second

    a.run(body, audit=str(path), transport=transport, private_stream=False)
