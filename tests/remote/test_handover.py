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
from gateway_harness import VENUE, config, remote, rest_buy, resting_qty, run, service, venue
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
                    try:
                        got: Any = await cancel
                    except Exception as e:
                        got = e
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
                    try:
                        got: Any = await placing
                    except Exception as e:
                        got = e
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
