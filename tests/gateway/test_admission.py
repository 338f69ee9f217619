"""Which orders a strategy may name through a gateway (``tickwire.gateway.admission``), across a
gateway restart: the successor tracks only the orders still open when it started, and the strategy's
own orders that ended before must still be its own. Found by a review of the gateway's order path
under failures (a helper session); the simulator's order list is the truth."""

from __future__ import annotations

import gateway_harness
from gateway_harness import config, outcome, remote, rest_buy, run, venue
from tickwire.gateway.run import Gateway

nats_urls = gateway_harness.nats_urls


def test_a_strategys_order_that_ended_before_its_gateway_restarted_is_still_its_own(
    nats_urls: list[str],
) -> None:
    """A client's order is placed and cancelled through a gateway, which then stops; a new gateway
    starts (it tracks only what was open at its start). The client asks for the order's status naming
    it as its place returned it — client id and order id: the answer must be the simulator's order.
    Before, the new gateway, not tracking the order id, refused the strategy's own order as another's
    (``InvalidOrder`` "… is not one of strategy 'ki''s"), though its client id carries the prefix."""

    async def body() -> None:
        async with venue() as v:
            acct = v.account("knownid")
            async with Gateway(config(nats_urls, acct)), remote(nats_urls, "knownid", "ki") as tr:
                o = await rest_buy(v, tr)
                await tr.cancel_order("BTCUSDT", client_id=o.client_id)
            [theirs] = v.orders("knownid")
            assert theirs.client_id == o.client_id and not theirs.open
            async with Gateway(config(nats_urls, acct)), remote(nats_urls, "knownid", "ki") as tr:
                got = await outcome(tr.order_status("BTCUSDT", client_id=o.client_id, order_id=o.order_id))
                assert not isinstance(got, Exception), repr(got)
                assert (got.client_id, got.order_id) == (theirs.client_id, str(theirs.id))
                assert got.status == theirs.status.lower() == "canceled"
                # Named by another strategy, or by an order id alone it cannot be told the
                # strategy's by: still refused.
                async with remote(nats_urls, "knownid", "kx") as other:
                    for named in (
                        {"client_id": o.client_id, "order_id": o.order_id},
                        {"order_id": o.order_id},
                    ):
                        refused = await outcome(other.order_status("BTCUSDT", **named))
                        assert type(refused).__name__ == "InvalidOrder", repr(refused)
            assert len(v.orders("knownid")) == 1

    run(body)
