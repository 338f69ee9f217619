"""The kill switch thrown through a gateway process that dies in the middle of it (a crash, a host
lost): the halt it stores outlives it, and so must the flattening it had begun — the next gateway
starts halted, and finds orders of the account still resting at the venue that the kill was about to
cancel. Found by a review of the gateway's order path under failures (a helper session)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import gateway_harness
import pytest
from gateway_harness import (
    VENUE,
    config,
    gateway_process,
    outcome,
    remote,
    rest_buy,
    run,
    venue,
    write_config,
)
from session_cases import settle
from tickwire.errors import TradingHalted, UnknownOutcome
from tickwire.gateway.run import Gateway

nats_urls = gateway_harness.nats_urls

LISTING = "GET /fapi/v1/openOrders"  # the kill's first step: the account's open orders listed


def test_a_kill_cut_short_by_its_gateways_death_is_finished_by_the_next_gateway(
    nats_urls: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two orders rest; a client throws the kill switch through a gateway process that is SIGKILLed
    once the kill has stored its halt and listed the orders, before it cancelled any (the listing's
    answer held until then). The client's kill raises ``UnknownOutcome``. The next gateway starts
    halted (a new order is refused, ``TradingHalted``) — and the simulator must hold no open order of
    the account: before, that gateway only refused new orders, and the two orders the kill was thrown
    to cancel rested at the venue under an account that read "halted", no client told."""
    import tickwire.gateway.state as state
    from tickwire.gateway.state import Halt, bucket

    monkeypatch.setattr(state, "STARTING_S", 0.0)  # the dead gateway's lease is taken at once

    async def body() -> None:
        async with venue() as v:
            acct = v.account("killdies")
            proc = await gateway_process(write_config(tmp_path / "gw.json", nats_urls, acct, name="gwkd1"))
            second: Gateway | None = None
            try:
                async with remote(nats_urls, "killdies", "kd", timeout=1.0) as tr:
                    await rest_buy(v, tr, "BTCUSDT")
                    await rest_buy(v, tr, "ETHUSDT")
                    assert len(v.open("killdies")) == 2
                    halt = Halt(await bucket(tr.nc), VENUE, "killdies")

                    async def die() -> None:
                        # Once the kill's halt is stored (it is written beside the kill), so that the
                        # next gateway knows a kill was thrown; then the process is gone.
                        for _ in range(200):
                            if await halt.get() is not None:
                                break
                            await asyncio.sleep(0.01)
                        proc.send_signal(signal.SIGKILL)
                        await proc.wait()

                    v.sim.endpoint(VENUE, 0).hold_answer(LISTING, die)
                    got = await outcome(tr.kill("drawdown"))
                    assert isinstance(got, UnknownOutcome), repr(got)
                    assert await halt.get() == "drawdown"
                    assert len(v.open("killdies")) == 2  # the kill died before cancelling

                    second = await Gateway(config(nats_urls, acct, name="gwkd2")).start()
                    assert tr.watch is not None
                    await settle(lambda: tr.watch.alive("gwkd2"), "the next gateway's heartbeat")
                    refused = await outcome(rest_buy(v, tr, "BTCUSDT", ticks=40))
                    assert isinstance(refused, TradingHalted), repr(refused)
                    try:
                        await settle(lambda: not v.open("killdies"), "the kill finished", 10)
                    except AssertionError:
                        left = sorted(o.client_id for o in v.open("killdies"))
                        raise AssertionError(
                            f"the next gateway started halted but left the account's orders resting "
                            f"at the venue: {left}"
                        ) from None
                    assert len(v.orders("killdies")) == 2  # nothing new reached the venue
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                if second is not None:
                    await second.close()

    run(body)
