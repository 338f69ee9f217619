"""What a gateway starting after a gap tells the clients (``tickwire.gateway.catch_up``), against the
simulator's own orders and fills over a real nats-server."""

from __future__ import annotations

import asyncio
from typing import Any

import gateway_harness
from gateway_harness import VENUE, config, remote, rest_buy, run, venue
from session_cases import settle
from tickwire.gateway.run import Gateway

nats_urls = gateway_harness.nats_urls  # the nats-server fixture, one for the session


def test_a_catch_up_query_the_venue_fails_is_asked_again_until_it_answers(nats_urls: list[str]) -> None:
    """An order fills while no gateway runs; as the next one starts, the venue loses its answers to
    the catch-up's order-status and fills queries a few times (each connection cut before the
    answer). The queries are asked again, and the client hears the order filled and every fill
    once, as the simulator made them, the order's end after them (before: a failed query was logged
    and skipped, and the client never heard of the fills)."""
    from test_adopt import trade_through

    async def body() -> None:
        async with venue() as v:
            acct = v.account("catchup")
            fills: list[Any] = []
            orders: list[Any] = []
            heard: list[str] = []  # what reached the client, in order: a trade id, or the order's status

            def on_fill(f: Any) -> None:
                fills.append(f)
                heard.append(f.trade_id)

            def on_order(o: Any) -> None:
                orders.append(o)
                heard.append(o.status)

            async with Gateway(config(nats_urls, acct)):
                tr = await remote(nats_urls, "catchup", "mm1", on_fill=on_fill, on_order=on_order).start()
                mine = await rest_buy(v, tr, ticks=0)
                await settle(lambda: any(o.client_id == mine.client_id for o in orders), "heard open")
            try:
                theirs = await trade_through(v.sim, VENUE, "BTCUSDT", mine.client_id)
                made = sorted(str(f.trade_id) for f in theirs.fills)
                ep = v.sim.endpoint(VENUE, 0)
                ep.lose_answer("GET /fapi/v1/order", 3)
                ep.lose_answer("GET /fapi/v1/userTrades", 3)
                async with Gateway(config(nats_urls, acct)):
                    await settle(lambda: sorted(f.trade_id for f in fills) == made, "every fill heard", 30)
                    await settle(lambda: orders[-1].status == "filled", "the order's end heard", 10)
                    await asyncio.sleep(0.3)
                    assert sorted(f.trade_id for f in fills) == made  # each once
                    # The order's end after its fills: the ledger forgets an order once its end is out.
                    assert heard.index("filled") > max(heard.index(t) for t in made), heard
                    asked = [x[1] for x in ep.exchanges]
                    assert asked.count("GET /fapi/v1/userTrades") > 3  # the lost ones, then answered
            finally:
                await tr.close()

    run(body)
