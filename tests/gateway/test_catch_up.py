"""What a gateway starting after a gap tells the clients (``tickwire.gateway.catch_up``), against the
simulator's own orders and fills over a real nats-server."""

from __future__ import annotations

import asyncio
from typing import Any

import gateway_harness
import pytest
from gateway_harness import VENUE, config, remote, rest_buy, run, service, venue
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


def test_an_orders_end_is_not_told_while_its_fills_could_not_be_learnt(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An order fills while no gateway runs; the next gateway's fills query never gets an answer (its
    tries cut short here). That gateway tells nothing of the order — not its end, which would make the
    ledger forget it and its fills with it — and the ledger keeps it; the gateway after it tells the
    fills, each once, then the end (before: the end went out alone, the order left the ledger, and
    the fills were never told by any gateway)."""
    from test_adopt import trade_through
    from tickwire.gateway import catch_up

    monkeypatch.setattr(catch_up, "RETRY_S", (0.05,))

    async def body() -> None:
        async with venue() as v:
            acct = v.account("untold")
            fills: list[Any] = []
            heard: list[str] = []

            def on_fill(f: Any) -> None:
                fills.append(f)
                heard.append(f.trade_id)

            async with Gateway(config(nats_urls, acct)):
                tr = await remote(
                    nats_urls, "untold", "mm1", on_fill=on_fill, on_order=lambda o: heard.append(o.status)
                ).start()
                mine = await rest_buy(v, tr, ticks=0)
                await settle(lambda: "new" in heard, "heard open")
            try:
                theirs = await trade_through(v.sim, VENUE, "BTCUSDT", mine.client_id)
                made = sorted(str(f.trade_id) for f in theirs.fills)
                ep = v.sim.endpoint(VENUE, 0)
                ep.lose_answer("GET /fapi/v1/userTrades", 10)
                async with Gateway(config(nats_urls, acct)) as gw:
                    svc = service(gw, "untold")
                    await settle(
                        lambda: svc._catching is not None and svc._catching.done(), "catch-up over", 10
                    )
                    await asyncio.sleep(0.3)
                    assert heard == ["new"], heard
                    assert mine.client_id in await svc.events.ledger.opens()
                ep.lose_answer("GET /fapi/v1/userTrades", 0)
                async with Gateway(config(nats_urls, acct)):
                    await settle(lambda: sorted(f.trade_id for f in fills) == made, "every fill heard", 30)
                    await settle(lambda: heard[-1] == "filled", "the order's end heard", 10)
                    assert sorted(f.trade_id for f in fills) == made
                    assert heard.index("filled") > max(heard.index(t) for t in made), heard
            finally:
                await tr.close()

    run(body)


def test_a_fill_told_live_while_the_catch_up_asks_does_not_hide_the_gaps_fills(nats_urls: list[str]) -> None:
    """Two buys rest on one symbol; the higher fills while no gateway runs. The next gateway's
    catch-up asks the venue for that order while the lower one (adopted, open) fills live and is
    told. The client hears the gap's fills too, as the simulator made them (before: the catch-up
    read the symbol's mark only after its order query, which the live fill had moved past the gap's
    fills, so they were searched from then on and never told — the order heard filled without them)."""
    from test_adopt import trade_through

    async def body() -> None:
        async with venue() as v:
            acct = v.account("catchup-live")
            fills: list[Any] = []
            orders: list[Any] = []
            async with Gateway(config(nats_urls, acct)):
                tr = await remote(
                    nats_urls, "catchup-live", "mm1", on_fill=fills.append, on_order=orders.append
                ).start()
                gap = await rest_buy(v, tr, ticks=0)
                live = await rest_buy(v, tr, ticks=30)
                await settle(lambda: {o.client_id for o in orders} >= {gap.client_id, live.client_id}, "open")
            try:
                in_gap = sorted(
                    str(f.trade_id)
                    for f in (await trade_through(v.sim, VENUE, "BTCUSDT", gap.client_id)).fills
                )
                assert [o for o in v.open("catchup-live") if o.client_id == live.client_id], "still rests"
                made: list[str] = []

                async def meanwhile() -> None:  # the catch-up's order query on its way back
                    filled = await trade_through(v.sim, VENUE, "BTCUSDT", live.client_id)
                    made.extend(str(f.trade_id) for f in filled.fills)
                    await settle(lambda: {f.trade_id for f in fills} >= set(made), "live fills heard", 10)

                v.sim.endpoint(VENUE, 0).hold_answer("GET /fapi/v1/order", meanwhile)
                async with Gateway(config(nats_urls, acct)):

                    def ended() -> bool:
                        return bool(made) and any(
                            o.client_id == gap.client_id and o.is_open is False for o in orders
                        )

                    await settle(ended, "the gap's order heard ended", 20)
                    await asyncio.sleep(0.5)
                    heard = sorted(f.trade_id for f in fills)
                    assert heard == sorted(in_gap + made), f"heard {heard}; the gap's {in_gap}, live {made}"
            finally:
                await tr.close()

    run(body)
