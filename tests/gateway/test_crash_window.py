"""A gateway process that dies between the venue taking an order and anything of that order leaving
the gateway (its reply, its events, the ledger): the next gateway must still tell the client what
became of it. Found by a review of the gateway's crash paths (2026-12, a helper session)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import gateway_harness
import pytest
from gateway_harness import (
    VENUE,
    config,
    gateway_process,
    outcome,
    remote,
    resting_qty,
    run,
    venue,
    write_config,
)
from session_cases import settle
from tickwire.errors import InvalidOrder, UnknownOutcome
from tickwire.gateway.run import Gateway

nats_urls = gateway_harness.nats_urls

PLACE = "POST /fapi/v1/order"


def test_an_order_filled_as_its_gateway_died_reaches_the_client_from_the_next_gateway(
    nats_urls: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A taker is placed through a gateway process that is SIGKILLed the moment the simulator has
    matched it, before its answer (or the private stream's word of it) leaves the venue: the client's
    place raises ``UnknownOutcome``. A second gateway takes the account over. The client must hear the
    order's fills — each once, the simulator's trade ids — and its end. Before the fix nothing of it
    was ever told: the ledger the next gateway catches up from named only orders whose events had been
    published, so this one was neither adopted (it was not open) nor caught up, and ``on_fill`` never
    heard the position the venue holds ("timed out waiting for the order's fills told by the next
    gateway")."""
    import tickwire.gateway.state as state

    monkeypatch.setattr(state, "STARTING_S", 0.0)  # the dead gateway's lease is taken at once

    async def body() -> None:
        async with venue() as v:
            acct = v.account("crashfill")
            proc = await gateway_process(write_config(tmp_path / "gw.json", nats_urls, acct, name="gwcf1"))
            fills: list[Any] = []
            orders: list[Any] = []
            second: Gateway | None = None
            try:
                async with remote(
                    nats_urls, "crashfill", "cf", timeout=1.0, on_fill=fills.append, on_order=orders.append
                ) as tr:

                    async def die() -> None:
                        # Synchronously, before the venue's coalesced frames (the private stream's
                        # word of the fill) are written on the next loop turn.
                        proc.send_signal(signal.SIGKILL)
                        await proc.wait()

                    v.sim.endpoint(VENUE, 0).hold_answer(PLACE, die)
                    price = v.sim.book(VENUE, "BTCUSDT").asks[0][0]
                    got = await outcome(
                        tr.place_order("BTCUSDT", "buy", "limit", resting_qty(tr, "BTCUSDT", price), price)
                    )
                    assert isinstance(got, UnknownOutcome), repr(got)
                    [theirs] = v.orders("crashfill")
                    assert theirs.client_id == got.client_id and theirs.fills and not theirs.open  # type: ignore[attr-defined]
                    assert fills == [] and orders == []

                    second = await Gateway(config(nats_urls, acct, name="gwcf2")).start()
                    made = sorted(str(f.trade_id) for f in theirs.fills)
                    try:
                        await settle(
                            lambda: sorted(f.trade_id for f in fills) == made,
                            "the order's fills told by the next gateway",
                            15,
                        )
                    except AssertionError:
                        raise AssertionError(
                            f"timed out waiting for the order's fills told by the next gateway: heard "
                            f"{sorted(f.trade_id for f in fills)}, the simulator made {made}"
                        ) from None
                    await settle(
                        lambda: any(o.client_id == theirs.client_id and o.status == "filled" for o in orders),
                        "the order's end told",
                        10,
                    )
                    await asyncio.sleep(0.3)  # a second copy of a fill would come now
                    assert sorted(f.trade_id for f in fills) == made
                    assert {f.client_id for f in fills} == {theirs.client_id}
                    assert await second.accounts[0].events.ledger.opens() == {}  # nothing left behind
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                if second is not None:
                    await second.close()

    run(body)


def test_what_a_place_writes_ahead_is_taken_back_when_nothing_reached_the_venue(nats_urls: list[str]) -> None:
    """The ledger entry a place writes before it is sent goes again when the venue has nothing of it:
    a place the venue refuses (too small for the symbol's rules), and an entry a gateway left that died
    before sending (written here by hand) which the next gateway's catch-up finds the venue has no
    trace of. Left, each would be asked of the venue by every later gateway. The simulator's order
    list stays empty; a resting order's entry stays while it rests and goes when it is cancelled."""
    from tickwire.gateway.state import Ledger, bucket
    from tickwire.trading.client_ids import FORMATS, ClientIds

    async def body() -> None:
        async with venue() as v:
            acct = v.account("aheadback")
            async with Gateway(config(nats_urls, acct)) as gw:
                ledger = gw.accounts[0].events.ledger
                never = ClientIds(FORMATS[VENUE], "ab").next()
                await ledger.opened(never, "BTCUSDT")
                assert set(await ledger.opens()) == {never}
            async with Gateway(config(nats_urls, acct)) as gw, remote(nats_urls, "aheadback", "ab") as tr:
                ledger = Ledger(await bucket(gw.nc), gw.nc.jetstream(timeout=2.0), VENUE, "aheadback")

                async def opens() -> set[str]:
                    return set(await ledger.opens())

                for _ in range(200):
                    if not await opens():
                        break
                    await asyncio.sleep(0.05)
                assert await opens() == set()
                price = v.sim.book(VENUE, "BTCUSDT").bids[0][0] - 30 * tr.rules["BTCUSDT"].tick_size
                refused = await outcome(
                    tr.place_order("BTCUSDT", "buy", "limit", tr.rules["BTCUSDT"].lot_size, price)
                )
                assert isinstance(refused, InvalidOrder), repr(refused)
                assert await opens() == set() and v.orders("aheadback") == []
                o = await tr.place_order("BTCUSDT", "buy", "limit", resting_qty(tr, "BTCUSDT", price), price)
                assert await opens() == {o.client_id} == {x.client_id for x in v.open("aheadback")}
                await tr.cancel_order("BTCUSDT", client_id=o.client_id)
                await settle(lambda: not v.open("aheadback"), "the cancel at the venue")
                for _ in range(100):
                    if not await opens():
                        break
                    await asyncio.sleep(0.05)
                assert await opens() == set()

    run(body)
