"""What a remote client is told across the process boundary when answers are lost, gateways restart
or hand over, and the account's event stream holds an event it cannot read: never "not done" for
what may have been done, never stopped by one bad event, and following the account to the gateway
that serves it now. Each failed on the code before 2026-12-05 (found by a review)."""

from __future__ import annotations

import asyncio
from typing import Any

import gateway_harness
import orjson
import pytest
from gateway_harness import VENUE, config, outcome, remote, rest_buy, resting_qty, run, service, venue
from session_cases import settle
from tickwire.bus import subjects
from tickwire.errors import UnknownOutcome
from tickwire.gateway.run import Gateway
from tickwire.trading.orders import Fill

nats_urls = gateway_harness.nats_urls


async def take(v: Any, tr: Any, symbol: str = "BTCUSDT") -> Any:
    """A buy at the best ask: filled at once."""
    price = v.sim.book(VENUE, symbol).asks[0][0]
    return await tr.place_order(symbol, "buy", "limit", resting_qty(tr, symbol, price), price)


def lose_answers(svc: Any, op: str) -> None:
    """The gateway ``svc`` does ``op`` requests but their answers never leave it."""
    respond = svc._respond

    async def lost(msg: Any, reply: dict[str, Any]) -> None:
        if not msg.subject.endswith("." + op):
            await respond(msg, reply)

    svc._respond = lost


BAD_FILL = {"venue": VENUE, "symbol": "BTCUSDT", "client_id": "mm1-x", "order_id": "1",
            "trade_id": "x1", "side": "buy", "price": "1", "qty": "1"}  # fmt: skip


@pytest.mark.parametrize("bad", [{"client_id": None}, {"price": "abc"}], ids=["no-client-id", "bad-price"])
def test_one_malformed_event_on_the_stream_does_not_stop_a_clients_fills(
    nats_urls: list[str], bad: dict[str, Any]
) -> None:
    """One malformed event on the account's stream (a fill with ``client_id: null``, or a price that
    is not a number) is logged, counted and skipped; the client's later fills arrive. Before, the first
    made the client call ``None.startswith`` and the second raised ``decimal.InvalidOperation`` (an
    ArithmeticError the read loop did not skip): the loop died silently, every later fill was lost,
    and — the event never acked — a restarted client died on it again."""

    async def body() -> None:
        acct = "poison-cid" if "client_id" in bad else "poison-price"
        async with venue() as v, Gateway(config(nats_urls, v.account(acct))) as gw:
            fills: list[Fill] = []
            async with remote(nats_urls, acct, "mm1", on_fill=fills.append) as tr:
                event = {"kind": "fill", "fill": {**BAD_FILL, **bad}}
                await gw.nc.jetstream().publish(subjects.events(VENUE, acct, "fill"), orjson.dumps(event))
                await asyncio.sleep(0.5)
                await take(v, tr)
                made = sorted(str(f.trade_id) for x in v.orders(acct) for f in x.fills)
                assert made
                await settle(lambda: sorted(f.trade_id for f in fills) == made, "the taker's fills", 5)

    run(body)


def test_a_cancel_done_before_a_gateway_restart_is_not_reported_as_never_run(nats_urls: list[str]) -> None:
    """The gateway cancels at the venue, its answer is lost, and it is restarted before the client's
    time-out; the new gateway never saw the request, and finds the order ended at the venue: the
    client gets that order. Before: TransportError "cancel never reached the gateway; not done"."""

    async def body() -> None:
        async with venue() as v:
            acct = v.account("unseen")
            a = await Gateway(config(nats_urls, acct, name="gwu")).start()
            b: Gateway | None = None
            try:
                async with remote(nats_urls, "unseen", "u1", timeout=8.0) as tr:
                    o = await rest_buy(v, tr)
                    lose_answers(service(a, "unseen"), "cancel")
                    cancel = asyncio.ensure_future(tr.cancel_order(o.symbol, client_id=o.client_id))
                    await settle(lambda: v.open("unseen") == [], "cancelled at the venue", 5)
                    await a.close()
                    b = await Gateway(config(nats_urls, acct, name="gwu")).start()
                    got = await outcome(cancel)
                    assert v.open("unseen") == []
                    assert getattr(got, "status", None) == "canceled", repr(got)
            finally:
                await a.close()
                if b is not None:
                    await b.close()

    run(body)


def test_a_placed_order_whose_outcome_query_meets_a_venue_error_is_not_reported_as_that_error(
    nats_urls: list[str],
) -> None:
    """A place reaches the venue, its answer is lost and the gateway restarts; the new gateway's query
    about the client id meets a rate-limit error: the client raises UnknownOutcome. Before, it raised
    the RateLimitError — for a place, "refused, not placed": a strategy that waited and placed again
    would have had two orders."""
    from tickwire.errors import RateLimitError

    async def body() -> None:
        async with venue() as v:
            acct = v.account("unseenplace")
            a = await Gateway(config(nats_urls, acct, name="gwp")).start()
            b: Gateway | None = None
            try:
                async with remote(nats_urls, "unseenplace", "p1", timeout=8.0) as tr:
                    lose_answers(service(a, "unseenplace"), "place")
                    placing = asyncio.ensure_future(take(v, tr))
                    await settle(lambda: len(v.orders("unseenplace")) == 1, "placed at the venue", 5)
                    await a.close()
                    b = await Gateway(config(nats_urls, acct, name="gwp")).start()
                    session = service(b, "unseenplace").session

                    async def busy(*args: Any, **kw: Any) -> Any:
                        e = RateLimitError("binance-usdm: -1003 Too many requests; retry later")
                        e.__dict__.update(venue=VENUE, code=-1003, retry_after=1.0, status=429)
                        raise e

                    session.order_status = busy  # type: ignore[method-assign]  # the venue's 429
                    got = await outcome(placing)
                    [theirs] = v.orders("unseenplace")
                    ok = (
                        isinstance(got, UnknownOutcome) or getattr(got, "client_id", None) == theirs.client_id
                    )
                    assert ok, repr(got)
            finally:
                await a.close()
                if b is not None:
                    await b.close()

    run(body)


def test_a_client_follows_its_account_to_the_gateway_that_took_it_over(nats_urls: list[str]) -> None:
    """The account's gateway stops and one of another name serves it (a standby taking the lease):
    the client follows the account to it. Before, it stayed bound to the first gateway's name and
    every request failed at once with "gateway gwfa is gone (no heartbeat): not sent"."""

    async def body() -> None:
        async with venue() as v:
            acct = v.account("failover")
            a = await Gateway(config(nats_urls, acct, name="gwfa")).start()
            async with remote(nats_urls, "failover", "f1", timeout=2.0) as tr:
                await a.close()
                async with Gateway(config(nats_urls, acct, name="gwfb")):
                    await asyncio.sleep(1.0)  # gwfb's beats, naming the account, heard meanwhile
                    assert (await rest_buy(v, tr)).status == "new"

    run(body)


def test_a_stepped_down_gateways_late_events_do_not_undo_what_the_client_heard_since(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gateway A loses its NATS link while its session amends an order twice; B takes the account
    over (adopting the order) and the client cancels it through B. A's link returns: nats-py sends
    what A published meanwhile, and A its queue, before A finds the lease gone — so the stream holds
    A's older states of the order after B's cancel. The client ends on the cancel, as the venue has
    it. Before, its last word was A's "new": an order it would take for working, long cancelled."""
    import tickwire.gateway.state as state
    from gateway_harness import proxied

    monkeypatch.setattr(state, "STARTING_S", 0.5)

    async def body() -> None:
        proxy, url = await proxied(nats_urls)
        async with venue() as v:
            acct = v.account("latestale")
            a = await Gateway(config([url], acct, name="gwla")).start()
            b: Gateway | None = None
            heard: list[Any] = []
            try:
                async with remote(nats_urls, "latestale", "ls", on_order=heard.append, timeout=3.0) as tr:
                    o = await rest_buy(v, tr)
                    await settle(lambda: any(x.client_id == o.client_id for x in heard), "the order heard", 5)
                    proxy.refuse = True
                    proxy.cut()
                    session, tick = service(a, "latestale").session, tr.rules[o.symbol].tick_size
                    for price in (o.price - tick, o.price - 2 * tick):
                        await session.amend_order(o.symbol, client_id=o.client_id, price=price)
                    await asyncio.sleep(0.6)  # A's lease is older than STARTING_S
                    b = await Gateway(config(nats_urls, acct, name="gwlb")).start()
                    await asyncio.sleep(0.8)  # A's beats missed, B's heard: the client follows B
                    assert (await tr.cancel_order(o.symbol, client_id=o.client_id)).status == "canceled"
                    seq = (await b.nc.jetstream().stream_info("TW_EVENTS")).state.last_seq
                    proxy.refuse = False
                    a_events = service(a, "latestale").events
                    await settle(lambda: a_events.muted, "A to step down, its queue sent", 10)
                    js = b.nc.jetstream()
                    last = (await js.stream_info("TW_EVENTS")).state.last_seq
                    late = [
                        orjson.loads((await js.get_msg("TW_EVENTS", n)).data)
                        for n in range(seq + 1, last + 1)
                    ]
                    stale = [e for e in late if e.get("order", {}).get("client_id") == o.client_id]
                    assert any(e["gateway"] == "gwla" for e in stale), "A sent nothing of it after the cancel"
                    assert tr.consumer is not None
                    await settle(lambda: tr.consumer.last_seq >= last, "the client to read the stream", 5)
                    [truth] = [x for x in v.orders("latestale") if x.client_id == o.client_id]
                    mine = [(x.status, x.price) for x in heard if x.client_id == o.client_id]
                    assert not truth.open and mine[-1][0] == "canceled", mine
            finally:
                await a.close()
                if b is not None:
                    await b.close()

    run(body)


def test_a_place_still_running_on_a_cut_off_gateway_is_not_reported_not_done_by_its_successor(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gateway A takes a place and is held up before sending it (its rate budget's wait), and its NATS
    link drops; B takes the account over. The client's time-out asks B, which never saw the request
    and whose venue has no trace of it yet — while A, cut off but alive, still sends it. The client
    gets the order the venue has (or UnknownOutcome). Before, B's "unseen, no trace" made it raise
    "place never reached the gateway; not done": a strategy placing again would have had two orders."""
    import tickwire.gateway.state as state
    from gateway_harness import proxied

    monkeypatch.setattr(state, "STARTING_S", 0.5)

    async def body() -> None:
        proxy, url = await proxied(nats_urls)
        async with venue() as v:
            acct = v.account("cutplace")
            acct["options"]["timeout"] = 0.5  # the outcome's settling window: 4.25 s (0.5 s lost-order wait)
            a = await Gateway(config([url], acct, name="gwca")).start()
            b: Gateway | None = None
            try:
                async with remote(nats_urls, "cutplace", "cp", timeout=2.5) as tr:
                    await asyncio.sleep(0.6)  # A's lease is older than STARTING_S
                    svc = service(a, "cutplace")
                    place = svc._s.place_order

                    async def held_up(*args: Any, **kw: Any) -> Any:
                        await asyncio.sleep(3.0)  # within the window the gateway's hello announced
                        return await place(*args, **kw)

                    svc._s.place_order = held_up  # type: ignore[method-assign]
                    seen = svc.requests
                    placing = asyncio.ensure_future(rest_buy(v, tr))
                    await settle(lambda: svc.requests > seen, "A to take the place", 2)
                    proxy.refuse = True
                    proxy.cut()
                    b = await Gateway(config(nats_urls, acct, name="gwcb")).start()
                    got = await outcome(placing)
                    await settle(lambda: len(v.orders("cutplace")) == 1, "A's place at the venue", 5)
                    [theirs] = v.orders("cutplace")
                    ok = (
                        isinstance(got, UnknownOutcome) or getattr(got, "client_id", None) == theirs.client_id
                    )
                    assert ok, repr(got)
            finally:
                proxy.refuse = False
                await a.close()
                if b is not None:
                    await b.close()

    run(body)


def test_a_place_held_by_a_lost_link_and_sent_after_the_client_gave_up_is_not_run(
    nats_urls: list[str],
) -> None:
    """The client's link drops as it places: nats-py holds the request, the answer and the outcome
    question time out and the client raises ``UnknownOutcome``. The link comes back and nats-py sends
    what it held, seconds late: the gateway refuses the place unrun (its client stopped waiting —
    ``until_ms``), and the simulator never gets the order. Before, the gateway placed it then: a
    strategy that had acted on "unknown" (reconciled it as absent, placed again) had two orders."""
    from gateway_harness import proxied

    async def body() -> None:
        proxy, url = await proxied(nats_urls)
        async with venue() as v:
            acct = v.account("heldplace")
            acct["options"]["timeout"] = 0.5  # the outcome question waits the gateway's 4.25 s window
            async with Gateway(config(nats_urls, acct)), remote([url], "heldplace", "hp", timeout=0.5) as tr:
                price = v.sim.book(VENUE, "BTCUSDT").bids[0][0] - 30 * tr.rules["BTCUSDT"].tick_size
                proxy.refuse = True
                proxy.cut()
                # nats-py holds what is sent while it reconnects (a write into the cut socket is lost).
                await settle(lambda: tr.nc.is_reconnecting, "the client reconnecting", 5)
                qty = resting_qty(tr, "BTCUSDT", price)
                got = await outcome(tr.place_order("BTCUSDT", "buy", "limit", qty, price))
                assert isinstance(got, UnknownOutcome), repr(got)
                proxy.refuse = False
                await settle(lambda: tr.nc.is_connected, "the client's link back", 10)
                await tr.nc.flush()
                await asyncio.sleep(0.5)  # what nats-py held reaches the gateway, which answers
                assert v.orders("heldplace") == []

    run(body)


def test_the_settling_window_a_gateway_announces_holds_a_lost_orders_wait(nats_urls: list[str]) -> None:
    """The window a gateway announces (``settle_s``: what a successor waits after taking an account
    over before it asks the venue, and what a client's outcome question waits) holds the lost-order
    wait of the session behind it: a place the first gateway sent just before it was cut may wait that
    long for its verdict. Two gateways whose sessions wait 0.5 and 3.0 s announce windows 2.5 s apart
    (before, the same window: a successor could answer "unseen" while the first still waited)."""

    async def window(wait: float) -> float:
        async with venue() as v:
            acct = v.account(f"win{int(wait * 10)}")
            acct["options"]["lost_order_wait_s"] = wait
            async with Gateway(config(nats_urls, acct)), remote(nats_urls, acct["name"], "w") as tr:
                return float(tr.settle_s)

    async def body() -> None:
        short, long = await window(0.5), await window(3.0)
        assert abs((long - short) - 2.5) < 1e-6, (short, long)

    run(body)
