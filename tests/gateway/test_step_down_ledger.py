"""What a gateway that stepped down leaves in the account's ledger (``EventPublisher.close``), written
after its successor read that ledger at its start: the successor never purges it, and a later
gateway's catch-up tells the clients again what the successor already told them. Found by a review
(2026-12, a helper session); checked by what the remote client hears and the simulator's orders."""

from __future__ import annotations

import asyncio
from typing import Any

import gateway_harness
import pytest
from gateway_harness import config, remote, rest_buy, run, service, venue
from session_cases import settle
from test_lease import partitioned, short_lease
from tickwire.gateway.run import Gateway

nats_urls = gateway_harness.nats_urls


@pytest.mark.parametrize("stream_back", [True, False], ids=["stream-back", "stream-still-away"])
def test_an_order_a_stepped_down_gateway_left_in_the_ledger_is_not_told_again_by_a_later_gateway(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch, stream_back: bool
) -> None:
    """Gateway A is cut off from JetStream (stream and store: the side of a partition without the
    quorum) just before a client's order goes through it: its write-ahead is not stored, its events
    stay queued, and its lease goes unrenewed. B takes the account over and adopts the order, and
    the client cancels it through B: the client hears the end. The partition heals; A finds its
    lease taken and steps down — and wrote the order in the ledger as heard open (noting its late
    published events, ``stream_back``, or leaving them to the next gateway, ``_leave_to_next``),
    after B had read the ledger and taken the order's entry out: B never takes it out again. The
    client restarts (its durable consumer resumes after the last event it handled) and B stops; C,
    started later (past JetStream's duplicate window, as a gateway started hours later is), catches
    up from that entry and tells the order's end a second time. Each order's end must reach the
    client once — A's late copy of it too, which the stream keeps apart from B's (its price written
    ``59996.7``, B's ``59996.70``: another message id) — and the ledger must name no ended order."""
    import nats.errors
    import tickwire.gateway.events as events

    short_lease(monkeypatch)

    async def away(*_: Any, **__: Any) -> Any:
        raise nats.errors.TimeoutError

    def ends(heard: list[Any], cid: str) -> list[str]:
        return [x.status for x in heard if x.client_id == cid and not x.is_open]

    async def body() -> None:
        async with venue() as v:
            acct = v.account("leftover")
            heard: list[Any] = []
            a = await Gateway(config(nats_urls, acct, name="gwla")).start()
            b: Gateway | None = None
            c: Gateway | None = None
            try:
                async with remote(nats_urls, "leftover", "lo", on_order=heard.append, timeout=2.0) as tr:
                    svc = service(a, "leftover")
                    assert svc.lease is not None
                    kv, js = svc.lease.kv, svc.events.js
                    put, update, publish = kv.put, kv.update, js.publish
                    kv.put = js.publish = away  # A's side of the partition: no stream, no store
                    o = await rest_buy(v, tr)
                    kv.update = away  # nor its lease's renewals
                    await asyncio.sleep(1.3)  # unrenewed for longer than STARTING_S
                    partitioned(monkeypatch)
                    b = await Gateway(config(nats_urls, acct, name="gwlb")).start()
                    await tr.cancel_order(o.symbol, client_id=o.client_id)  # through B
                    await settle(lambda: ends(heard, o.client_id), "the order's end heard", 5)
                    kv.put, kv.update = put, update  # the partition heals
                    if stream_back:
                        js.publish = publish
                    await settle(lambda: svc.stepped_down, "A to step down", 5)
                    await a.close()
                    await asyncio.sleep(0.3)  # A's late events handled
                    told = ends(heard, o.client_id)
                    assert told == ["canceled"], f"the end heard {len(told)} times from A and B: {told}"
                await b.close()
                b = None
                # The stream's duplicate window scaled down (from C's start), and passed: as for a
                # gateway started minutes or hours later.
                monkeypatch.setattr(events, "DUPLICATE_WINDOW_S", 1.0)
                await asyncio.sleep(1.2)
                c = await Gateway(config(nats_urls, acct, name="gwlc")).start()
                async with remote(nats_urls, "leftover", "lo", on_order=heard.append, timeout=2.0):
                    await asyncio.sleep(1.5)  # C's catch-up would have told it again by now
                    assert [x.client_id for x in v.orders("leftover")] == [o.client_id]
                    assert not v.open("leftover")
                    told = ends(heard, o.client_id)
                    assert told == ["canceled"], f"the end heard {len(told)} times (again from C): {told}"
                    left = await service(c, "leftover").events.ledger.opens()
                    assert left == {}, f"the ledger names ended orders: {left}"
            finally:
                for g in (a, b, c):
                    if g is not None:
                        await g.close()

    run(body)
