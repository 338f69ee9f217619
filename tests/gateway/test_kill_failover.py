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
    service,
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


def test_a_halted_accounts_kill_refused_for_rate_at_the_start_is_run_again_until_it_flattens(
    nats_urls: list[str],
) -> None:
    """The account was halted with two orders still resting (a gateway that died mid-kill leaves it
    so: see above). The next gateway starts; its session starts, and the venue then refuses one
    request for rate — a 429 with ``Retry-After: 3``, longer than the kill waits a block out
    (``kill.RATE_WAIT`` request time-outs) — as the start's kill lists the orders: the budget blocks
    every lane, and every step of that kill fails. The gateway serves on, halted; once the block has
    passed the simulator must hold no open order of the account. Before, the failed kill was logged
    and never run again: the two orders rested at the venue under an account reading "halted", with
    no client told and nothing left to cancel them."""
    from tickwire.gateway.state import Halt, bucket

    async def body() -> None:
        async with venue() as v:
            acct = v.account("killrefused")
            acct["options"]["timeout"] = 1.0  # the kill waits out a block of up to 2 s
            async with Gateway(config(nats_urls, acct)), remote(nats_urls, "killrefused", "kr") as tr:
                await rest_buy(v, tr, "BTCUSDT")
                await rest_buy(v, tr, "ETHUSDT")
                await Halt(await bucket(tr.nc), VENUE, "killrefused").put("drawdown")
            assert len(v.open("killrefused")) == 2  # a clean close leaves them: the kill never ran

            ep = v.sim.endpoint(VENUE, 0)

            async def refuse_next() -> None:  # once the session's start listed the orders (adoption)
                ep.fail(1, 429, body={"code": -1003, "msg": "Too many requests"}, retry_after=3)

            ep.hold_answer(LISTING, refuse_next)
            gw = await Gateway(config(nats_urls, acct, name="gwkr2")).start()
            try:
                assert 429 in v.statuses()
                assert len(v.open("killrefused")) == 2  # the venue refused the start's kill: none cancelled
                assert service(gw, "killrefused").session.halted == "drawdown"  # type: ignore[union-attr]
                try:
                    await settle(lambda: not v.open("killrefused"), "the kill run again", 10)
                except AssertionError:
                    left = sorted(o.client_id for o in v.open("killrefused"))
                    raise AssertionError(
                        f"the start's kill was refused for rate and never run again: {left} rest at the "
                        "venue under an account reading halted"
                    ) from None
                assert len(v.orders("killrefused")) == 2  # nothing new reached the venue
            finally:
                await gw.close()

    run(body)


def test_a_halt_the_store_fails_to_read_at_a_start_keeps_the_session_from_trading(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account is halted (a kill a client threw). The next gateway starts while the venue is
    unreachable, so its session is started again in the background; the key-value store then fails
    the one read of the stored halt (a leader election, the link lost). Once the venue is back a
    client's place must be refused ``TradingHalted`` and never reach the venue. Before, the halt was
    read after the session started: the failed read ended the background start with the session
    running, not halted, and the start's first error kept as every request's answer for good ("a
    place on the halted account answered TransportError('connecting to … failed')"): an account
    neither halted nor reachable — a kill through it refused the same way."""
    import nats.errors
    from tickwire.gateway import state

    async def body() -> None:
        async with venue() as v:
            acct = v.account("haltunread")
            async with Gateway(config(nats_urls, acct)), remote(nats_urls, "haltunread", "hu") as tr:
                assert (await tr.kill("drawdown")).complete
            real, reads = state.Halt.get, [0]

            async def get_failing_once(self: state.Halt) -> str | None:
                reads[0] += 1
                if reads[0] == 1:
                    raise nats.errors.TimeoutError
                return await real(self)

            monkeypatch.setattr(state.Halt, "get", get_failing_once)
            ep = v.sim.endpoint(VENUE, 0)
            down = asyncio.ensure_future(ep.down(1.5))
            await asyncio.sleep(0.05)
            async with Gateway(config(nats_urls, acct, name="gwhu2")) as gw:
                await down
                await settle(lambda: service(gw, "haltunread").session is not None, "the session started", 15)
                async with remote(nats_urls, "haltunread", "hv") as tr2:  # the rules at its hello
                    placed = len(v.orders("haltunread"))
                    got = await outcome(rest_buy(v, tr2))
                    assert isinstance(got, TradingHalted), f"a place on the halted account answered {got!r}"
                    assert got.reason == "drawdown"  # type: ignore[attr-defined]
                    assert len(v.orders("haltunread")) == placed  # nothing reached the venue

    run(body)
