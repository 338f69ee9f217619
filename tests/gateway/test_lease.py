"""Which gateway serves an account (``tickwire.gateway.lease_watch``) against the simulator and a real
nats-server: one gateway per account however many start, a gateway back from a lost link steps down
when another took the account, and a closing gateway keeps it until its orders in flight are settled
(a request reaching it then is refused as not run); checked against the simulator's own order list."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import gateway_harness
import pytest
from gateway_harness import (
    VENUE,
    config,
    proxied,
    remote,
    rest_buy,
    resting_qty,
    run,
    service,
    venue,
)
from session_cases import settle
from tickwire.errors import (
    TransportError,
    UnknownOutcome,
)
from tickwire.gateway.run import Gateway

nats_urls = gateway_harness.nats_urls  # the nats-server fixture, one for the session


def test_a_second_gateway_for_an_account_does_not_start(nats_urls: list[str]) -> None:
    async def body() -> None:
        async with venue() as v:
            acct = v.account("twice")
            async with Gateway(config(nats_urls, acct)):
                with pytest.raises(ValueError, match="already served by gateway gw1"):
                    await Gateway(config(nats_urls, acct, name="gw2")).start()

    run(body)


def test_two_gateways_started_at_once_for_an_account_serve_it_once(nats_urls: list[str]) -> None:
    """Two gateways started together for one account both heard no one serving it, and both served:
    every request ran on both sessions, a taker became two filled orders. Now the first to take the
    account's lease (JetStream KV, created atomically) serves and the other does not start; a taker
    is one order at the simulator. After a clean stop the lease is free again."""

    async def body() -> None:
        async with venue() as v:
            acct = v.account("race")
            gws = [Gateway(config(nats_urls, acct, name=n)) for n in ("gwa", "gwb")]
            got = await asyncio.gather(*(g.start() for g in gws), return_exceptions=True)
            try:
                errors = [g for g in got if isinstance(g, BaseException)]
                assert len(errors) == 1 and isinstance(errors[0], ValueError), got
                async with remote(nats_urls, "race", "mm1") as tr:
                    price = v.sim.book(VENUE, "BTCUSDT").asks[0][0]
                    o = await tr.place_order(
                        "BTCUSDT", "buy", "limit", resting_qty(tr, "BTCUSDT", price), price
                    )
                    await asyncio.sleep(0.3)
                    assert [x.client_id for x in v.orders("race")] == [o.client_id] and o.status == "filled"
            finally:
                for g in gws:
                    await g.close()
            async with Gateway(config(nats_urls, acct, name="gwc")), remote(nats_urls, "race", "mm1") as tr:
                assert (await rest_buy(v, tr)).status == "new"

    run(body)


def test_a_gateway_back_from_a_lost_link_steps_down_when_another_took_its_account(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gateway A loses its NATS link; B starts meanwhile, hears no one serving the account and takes
    over A's lease (old enough to be a dead gateway's). When A's link returns, nats-py restores its
    subscription — before, both served, and one place ran on both sessions. Now A re-checks its lease
    first, finds it B's and steps down: one order at the venue, B's answer."""
    import tickwire.gateway.state as state

    monkeypatch.setattr(state, "STARTING_S", 0.5)  # a lease this old without an answer is a dead one's

    async def body() -> None:
        proxy, url = await proxied(nats_urls)
        async with venue() as v:
            acct = v.account("partition")
            a = await Gateway(config([url], acct, name="gwa")).start()
            try:
                await asyncio.sleep(1.0)
                proxy.refuse = True
                proxy.cut()  # A's link drops; it keeps trying to reconnect
                await asyncio.sleep(0.5)
                async with Gateway(config(nats_urls, acct, name="gwb")):
                    proxy.refuse = False
                    await settle(lambda: a.nc.is_connected, "A's link back", 10)
                    await asyncio.sleep(0.5)
                    async with remote(nats_urls, "partition", "mm1") as tr:
                        o = await rest_buy(v, tr)
                        await asyncio.sleep(0.5)
                        places = [
                            x for x in v.sim.endpoint(VENUE, 0).exchanges if x[1] == "POST /fapi/v1/order"
                        ]
                        assert len(places) == 1  # one session placed it (before: both, one refused -4116)
                        assert [x.client_id for x in v.orders("partition")] == [o.client_id]
                        assert o.status == "new" and service(a, "partition").stepped_down
            finally:
                await a.close()

    run(body)


async def close_in_flight(v: Any, gw: Gateway, tr: Any, slow_s: float) -> tuple[Any, Any]:
    """``tr``'s buy at the venue, which is ``slow_s`` slow to answer it, and ``gw`` closing meanwhile:
    (the place, the close), both running."""
    ep = v.sim.endpoint(VENUE, 0)
    ep.delay(slow_s)
    placing = asyncio.ensure_future(rest_buy(v, tr))
    await settle(lambda: "POST /fapi/v1/order" in ep.handling(), "the order at the venue")
    ep.delay(0)
    return placing, asyncio.ensure_future(gw.close())


def test_a_closing_gateway_keeps_its_account_until_its_orders_in_flight_are_settled(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gateway A closes while an order it placed waits for the venue's slow answer; its close waits
    for that order. Gateway B, started meanwhile, hears A still answering for the account and does
    not start (before: A stopped answering as its close began, and B took A's lease over as a dead
    gateway's while A's session still ran — two sessions on one account). Once A closed, B starts;
    the order is at the venue once and reached the client."""
    import tickwire.gateway.state as state

    monkeypatch.setattr(state, "STARTING_S", 0.5)  # a lease this old without an answer is a dead one's

    async def body() -> None:
        async with venue() as v:
            acct = v.account("closing")
            a = await Gateway(config(nats_urls, acct, name="gwa")).start()
            try:
                await asyncio.sleep(1.0)  # A's lease is older than STARTING_S
                async with remote(nats_urls, "closing", "mm1") as tr:
                    placing, closing = await close_in_flight(v, a, tr, 1.0)
                    await asyncio.sleep(0.3)
                    with pytest.raises(ValueError, match="already served by gateway gwa"):
                        await Gateway(config(nats_urls, acct, name="gwb")).start()
                    o = await placing
                    await closing
                    async with Gateway(config(nats_urls, acct, name="gwb")):
                        assert [x.client_id for x in v.orders("closing")] == [o.client_id]
                        assert o.status == "new"
            finally:
                await a.close()

    run(body)


def test_a_request_reaching_a_closing_gateway_is_refused_at_once_as_not_run(nats_urls: list[str]) -> None:
    """The gateway closes while an order it placed waits for the venue's slow answer. Another client's
    place reaching it meanwhile is refused at once with ``TransportError`` (it never ran), and the venue
    never gets it (before: left unanswered, the client waited its time-out, found no gateway to ask
    and raised ``UnknownOutcome`` for an order that was never sent)."""

    async def body() -> None:
        async with venue() as v:
            acct = v.account("closing-new")
            a = await Gateway(config(nats_urls, acct, name="gwa")).start()
            try:
                async with remote(nats_urls, "closing-new", "mm1") as tr, \
                        remote(nats_urls, "closing-new", "mm2", timeout=1.0) as late:  # fmt: skip
                    placing, closing = await close_in_flight(v, a, tr, 1.0)
                    await asyncio.sleep(0.1)
                    started = time.monotonic()
                    with pytest.raises(TransportError) as e:
                        await asyncio.wait_for(rest_buy(v, late, ticks=40), 4.0)
                    assert not isinstance(e.value, UnknownOutcome)
                    assert time.monotonic() - started < late.timeout, "refused only after the time-out"
                    o = await placing
                    await closing
                    assert [x.client_id for x in v.orders("closing-new")] == [o.client_id]
            finally:
                await a.close()

    run(body)


def test_a_lost_answer_is_settled_by_a_closing_gateway(nats_urls: list[str]) -> None:
    """The venue is slower than the client's time-out and the gateway closes meanwhile: the client's
    question about its request's outcome is answered by the closing gateway, which is still settling
    that order, so the place returns the order the venue holds (before: the question went unanswered
    — the closing gateway took only ``health`` and had stopped its heartbeat — and the place ended in
    ``UnknownOutcome``, or waited out the settle time)."""

    async def body() -> None:
        async with venue() as v:
            acct = v.account("closing-lost")
            a = await Gateway(config(nats_urls, acct, name="gwa")).start()
            try:
                # Its time-out longer than three heartbeats (what a client waits before it calls a
                # gateway gone), as with the defaults (5 s, 3 x 0.5 s).
                async with remote(nats_urls, "closing-lost", "mm1", timeout=1.0) as tr:
                    placing, closing = await close_in_flight(v, a, tr, 1.6)
                    o = await asyncio.wait_for(placing, 4.0)
                    await closing
                    theirs = v.orders("closing-lost")
                    assert [x.client_id for x in theirs] == [o.client_id]
                    assert (o.status, o.order_id) == ("new", str(theirs[0].id))
            finally:
                await a.close()

    run(body)


def partitioned(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gateway starting from now hears no one answering for any account: the side of a NATS
    partition the account's gateway is not on (its clients on the other side still reach it)."""
    import tickwire.gateway.orders as orders

    async def no_one(*_: Any) -> None:
        return None

    monkeypatch.setattr(orders, "answering", no_one)


def short_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lease times scaled down (renewed every 0.1 s, served on 0.5 s, taken over at 1 s)."""
    import tickwire.gateway.lease_watch as lease_watch
    import tickwire.gateway.state as state

    monkeypatch.setattr(lease_watch, "RENEW_S", 0.1)
    monkeypatch.setattr(lease_watch, "VALID_S", 0.5)
    monkeypatch.setattr(state, "STARTING_S", 1.0)


def places(v: Any) -> int:
    """How many places the simulator's endpoint was asked for (a refused duplicate included)."""
    return sum(1 for x in v.sim.endpoint(VENUE, 0).exchanges if x[1] == "POST /fapi/v1/order")


def test_a_gateway_cut_off_from_a_starting_one_but_renewing_its_lease_keeps_the_account(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gateway A serves the account, its link up, but B starts on the other side of a partition and
    hears no one answer for it. A's lease is older than ``STARTING_S`` but renewed since: B does not
    start, and a place runs once. Before, the lease was stamped once, when taken, and re-checked
    only when A's own link dropped: B took it over as a dead gateway's and both served — the place
    went to the venue from both sessions."""
    short_lease(monkeypatch)

    async def body() -> None:
        async with venue() as v:
            acct = v.account("split")
            a = await Gateway(config(nats_urls, acct, name="gwa")).start()
            b: Gateway | None = None
            try:
                await asyncio.sleep(1.5)  # A's lease taken longer than STARTING_S ago
                partitioned(monkeypatch)
                with pytest.raises(ValueError, match="held by gateway gwa"):
                    b = await Gateway(config(nats_urls, acct, name="gwb")).start()
                async with remote(nats_urls, "split", "mm1") as tr:
                    o = await rest_buy(v, tr)
                    await asyncio.sleep(0.3)
                    assert places(v) == 1
                    assert [x.client_id for x in v.orders("split")] == [o.client_id]
            finally:
                await a.close()
                if b is not None:
                    await b.close()

    run(body)


def test_a_gateway_whose_lease_renewals_fail_stops_serving_before_another_takes_the_account(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gateway A's link stays up but the store no longer takes its lease's renewals (the side of a
    partition without the JetStream quorum); B, on the other side, takes the account over once the
    lease has gone unrenewed for ``STARTING_S``. By then A has stopped answering (``VALID_S`` after
    its last renewal): a place runs once, on B, and A steps down once its store is back. Before, A
    served on: the place went to the venue from both sessions."""
    import nats.errors

    short_lease(monkeypatch)

    async def body() -> None:
        async with venue() as v:
            acct = v.account("quorum")
            a = await Gateway(config(nats_urls, acct, name="gwa")).start()
            b: Gateway | None = None
            try:
                lease = service(a, "quorum").lease
                assert lease is not None
                update = lease.kv.update

                async def no_quorum(*_: Any, **__: Any) -> Any:
                    raise nats.errors.TimeoutError

                lease.kv.update = no_quorum
                await asyncio.sleep(1.3)  # unrenewed for longer than STARTING_S
                partitioned(monkeypatch)
                b = await Gateway(config(nats_urls, acct, name="gwb")).start()
                async with remote(nats_urls, "quorum", "mm1") as tr:
                    o = await rest_buy(v, tr)
                    await asyncio.sleep(0.3)
                    assert places(v) == 1
                    assert [x.client_id for x in v.orders("quorum")] == [o.client_id]
                    assert service(b, "quorum").requests > 0 and not service(a, "quorum").stepped_down
                lease.kv.update = update
                await settle(lambda: service(a, "quorum").stepped_down, "A to step down", 5)
            finally:
                await a.close()
                if b is not None:
                    await b.close()

    run(body)


def test_a_kill_reaching_a_gateway_unsure_of_its_lease_is_run(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store stops taking the gateway's lease renewals, so it stops answering requests (another
    gateway may be serving the account). A client's kill still runs: the orders are cancelled at the
    venue and the client gets the report. Before, the kill went unanswered like any request and the
    order stayed open — a kill switch waiting on a lease check."""
    import nats.errors

    short_lease(monkeypatch)

    async def body() -> None:
        async with venue() as v:
            acct = v.account("unsure-kill")
            async with Gateway(config(nats_urls, acct, name="gwk")) as a, \
                    remote(nats_urls, "unsure-kill", "mm1", timeout=1.0) as tr:  # fmt: skip
                await rest_buy(v, tr)
                svc = service(a, "unsure-kill")
                assert svc.lease is not None

                async def no_quorum(*_: Any, **__: Any) -> Any:
                    raise nats.errors.TimeoutError

                svc.lease.kv.update = no_quorum
                await settle(lambda: not svc.watch.serving, "the gateway to stop serving", 5)
                report = await tr.kill("drawdown")
                assert report.complete and v.open("unsure-kill") == []

    run(body)


def test_a_gateway_closing_for_longer_than_valid_s_still_refuses_a_new_request_at_once(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway closes while an order it placed waits for the venue's answer for longer than
    ``VALID_S`` (scaled down here: served on 0.5 s after a renewal; as 10 s against a close that
    waits 5 s for its requests and then its session's orders in flight). A place from another client
    reaching it then must still be refused at once as not run, as before the lease was renewed: the
    close stopped the renewals as it began, so ``VALID_S`` into it the gateway answered nothing — the
    place and its outcome question went unanswered and the client raised ``UnknownOutcome`` for an
    order never sent."""
    short_lease(monkeypatch)

    async def body() -> None:
        async with venue() as v:
            acct = v.account("closing-long")
            a = await Gateway(config(nats_urls, acct, name="gwa")).start()
            try:
                async with remote(nats_urls, "closing-long", "mm1") as tr, \
                        remote(nats_urls, "closing-long", "mm2", timeout=1.0) as late:  # fmt: skip
                    placing, closing = await close_in_flight(v, a, tr, 2.5)
                    await asyncio.sleep(1.0)  # longer than VALID_S into the close
                    started = time.monotonic()
                    with pytest.raises(TransportError) as e:
                        await asyncio.wait_for(rest_buy(v, late, ticks=40), 4.0)
                    assert not isinstance(e.value, UnknownOutcome), e.value
                    assert time.monotonic() - started < late.timeout, "refused only after the time-out"
                    o = await placing
                    await closing
                    assert [x.client_id for x in v.orders("closing-long")] == [o.client_id]
            finally:
                await a.close()

    run(body)


def test_a_gateway_closing_for_longer_than_starting_s_keeps_its_account_across_a_partition(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gateway A closes while an order it placed waits for the venue's slow answer, for longer than
    ``STARTING_S`` (scaled down: 1 s). Gateway B starts meanwhile on the other side of a partition
    (it hears no one answer for the account). A's session still runs — its order in flight — so its
    lease must still be renewed and B must not start; the close stopped the renewals as it began, so
    B took the lease over as a dead gateway's: two sessions on one account."""
    short_lease(monkeypatch)

    async def body() -> None:
        async with venue() as v:
            acct = v.account("closing-split")
            a = await Gateway(config(nats_urls, acct, name="gwa")).start()
            b: Gateway | None = None
            try:
                async with remote(nats_urls, "closing-split", "mm1") as tr:
                    placing, closing = await close_in_flight(v, a, tr, 2.5)
                    await asyncio.sleep(1.3)  # longer than STARTING_S into the close
                    assert not closing.done()
                    partitioned(monkeypatch)
                    with pytest.raises(ValueError, match="held by gateway gwa"):
                        b = await Gateway(config(nats_urls, acct, name="gwb")).start()
                    o = await placing
                    await closing
                    assert [x.client_id for x in v.orders("closing-split")] == [o.client_id]
            finally:
                await a.close()
                if b is not None:
                    await b.close()

    run(body)


def test_a_gateway_whose_own_late_renewal_lands_between_its_read_and_write_keeps_the_account(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two renewals whose answers the store kept too long (a JetStream leader busy, past the 2 s
    time-out): the first stored, its answer lost; the second's compare-and-set (after reading the
    lease back, its own) held up in the store and stored later, while the third renewal has read the
    lease back — still this gateway's — and writes on the revision read. The third's write is refused
    because the lease moved on, by this gateway's own late renewal; ``renew`` took that for a taker's
    and the gateway stepped down from an account no other gateway holds: the account unserved, the
    lease this gateway's still and never released. The lease still its own, it must serve on."""
    import nats.errors

    short_lease(monkeypatch)

    async def body() -> None:
        async with venue() as v:
            acct = v.account("late-renewal")
            a = await Gateway(config(nats_urls, acct, name="gwa")).start()
            try:
                lease = service(a, "late-renewal").lease
                assert lease is not None
                kv = lease.kv
                update, get = kv.update, kv.get
                step = {"n": 0}
                held_up: list[Any] = []

                async def lossy_update(key: str, value: bytes, last: int | None = None, **kw: Any) -> Any:
                    step["n"] += 1
                    if step["n"] == 1:  # stored, its answer lost
                        await update(key, value, last=last, **kw)
                        raise nats.errors.TimeoutError
                    if step["n"] == 3:  # the second renewal's write after its read: held up in the store
                        held_up.append((key, value, last))
                        raise nats.errors.TimeoutError
                    return await update(key, value, last=last, **kw)

                async def read(key: str, **kw: Any) -> Any:
                    entry = await get(key, **kw)
                    if held_up:  # the held-up write stored now, after this read
                        k, val, last = held_up.pop()
                        await update(k, val, last=last)
                    return entry

                kv.update, kv.get = lossy_update, read
                await settle(lambda: step["n"] >= 5, "the third renewal's write", 5)
                await asyncio.sleep(0.3)  # a few renewals more
                kv.update, kv.get = update, get
                assert await lease.held()
                assert not service(a, "late-renewal").stepped_down, "stepped down from its own lease"
                async with remote(nats_urls, "late-renewal", "mm1") as tr:
                    o = await rest_buy(v, tr)
                    assert o.status == "new"
            finally:
                await a.close()

    run(body)
