"""What outlives a gateway process (``tickwire.gateway.state``), read back from a real nats-server."""

from __future__ import annotations

import gateway_harness
import nats
from gateway_harness import run
from nats.js.errors import KeyNotFoundError
from tickwire.gateway.state import Ledger, bucket

nats_urls = gateway_harness.nats_urls  # the nats-server fixture, one for the session


def test_the_ledger_lists_every_order_heard_open_each_time_it_is_read(nats_urls: list[str]) -> None:
    """Orders heard open, some of them ended since: every read of the ledger lists exactly those
    still open (before: listed through nats-py's ``kv.keys()``, which now and then called its listing
    done before the entries arrived — about 1 read in 100 came back short or empty, and the gateway
    starting after a gap then told its clients nothing of what happened meanwhile). An ended order
    leaves nothing in the store (no delete marker for later reads to step over)."""

    async def body() -> None:
        nc = await nats.connect(nats_urls)
        try:
            kv = await bucket(nc)
            js = nc.jetstream(timeout=2.0)
            ledger = Ledger(kv, js, "binance", "ledger-reads")
            other = Ledger(kv, js, "binance", "ledger-reads-other")  # another account: not listed
            want = {f"mm1-{i}": "BTCUSDT" if i % 2 else "ETHUSDT" for i in range(30)}
            for cid, symbol in want.items():
                await ledger.opened(cid, symbol)
            await other.opened("mm1-x", "BTCUSDT")
            for i in range(0, 30, 3):
                await ledger.ended(f"mm1-{i}")
                del want[f"mm1-{i}"]
            short = [n for n in range(200) if await ledger.opens() != want]
            assert not short, f"{len(short)} of 200 reads differ from what is open"
            with_marker = await js.stream_info("KV_TW_GATEWAY", subjects_filter="$KV.TW_GATEWAY.>")
            left = [s for s in with_marker.state.subjects or {} if "mm1-0" in s or "mm1-3" in s]
            assert left == [], left
            try:
                await kv.get(ledger.prefix + "mm1-3")
                raise AssertionError("an ended order is still in the store")
            except KeyNotFoundError:
                pass
            assert await other.opens() == {"mm1-x": "BTCUSDT"}
        finally:
            await nc.close()

    run(body)


def test_a_lease_released_while_a_starting_gateway_reads_it_is_taken_by_that_gateway(
    nats_urls: list[str],
) -> None:
    """Gateway A holds the account's lease; B starts (a deploy's new gateway) and fails to create it,
    and A's close releases it before B reads who holds it. B takes the free lease. Before, nats-py's
    ``kv.get`` raised ``KeyNotFoundError`` on the key A deleted and B's start failed with it, an
    account no gateway held left unserved."""
    from nats.js.errors import KeyWrongLastSequenceError
    from tickwire.gateway.state import Lease

    async def body() -> None:
        nc = await nats.connect(nats_urls)
        try:
            kv = await bucket(nc)
            a = Lease(kv, "binance", "lease-race", "gwa")

            async def none_answers() -> None:
                return None

            await a.take(none_answers)

            class ReleasedMeanwhile:
                """The store as B sees it: A's release lands right after B's create is refused."""

                def __getattr__(self, name: str) -> object:
                    return getattr(kv, name)

                async def create(self, key: str, value: bytes) -> int:
                    try:
                        return int(await kv.create(key, value))
                    except KeyWrongLastSequenceError:
                        await a.release()
                        raise

            b = Lease(ReleasedMeanwhile(), "binance", "lease-race", "gwb")
            await b.take(none_answers)
            assert (await kv.get(b.key)).value == b.value
            assert await b.held() and not await a.held()
            await b.release()
        finally:
            await nc.close()

    run(body)


def test_a_lease_renewal_whose_answer_was_lost_is_still_the_holders_to_renew_and_release(
    nats_urls: list[str],
) -> None:
    """A renewal the store took but whose answer never came (a time-out, or a close cancelling it)
    leaves the holder a stale revision: the next renewal and the release read the lease back, find it
    theirs and go on from the revision read — the lease is neither given up (a gateway stepping down
    from its own account) nor left behind at a clean stop (the next gateway waiting 30 s). A lease
    another gateway took is not renewed, and not released by its former holder."""
    from tickwire.gateway.state import Lease

    async def none_answers() -> None:
        return None

    async def body() -> None:
        nc = await nats.connect(nats_urls)
        try:
            kv = await bucket(nc)
            a = Lease(kv, "binance", "lease-renew", "gwa")
            await a.take(none_answers)
            stale = a.rev
            assert await a.renew() and a.rev != stale
            a.rev = stale  # that renewal's answer lost
            assert await a.renew() and await a.held()
            assert (await kv.get(a.key)).revision == a.rev
            a.rev = stale
            await a.release()
            try:
                await kv.get(a.key)
                raise AssertionError("the lease was left behind")
            except KeyNotFoundError:
                pass

            await a.take(none_answers)
            entry = await kv.get(a.key)
            await kv.update(a.key, b"gwb 0 feedfeedfeedfeed", last=entry.revision)  # taken over
            assert not await a.renew() and not await a.held()
            await a.release()
            assert (await kv.get(a.key)).value == b"gwb 0 feedfeedfeedfeed"
        finally:
            await nc.close()

    run(body)
