"""A gateway's settling window (``tickwire.gateway.ops``): the ``settle_s`` its ``hello`` announces holds
a lost order's verdict with the venue clock's correction, as the session's own wait has it; and a
gateway that took an account over waits out the window of the gateway it took it from — that one's
settings, written with its lease, and the venue clock's correction against the offset it stamped on —
not its own. Against the simulator (Binance spot, ``recvWindow`` 1 s), the lease on a real
nats-server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import gateway_harness
import nats
import pytest
from session_cases import settle
from template_cases import account
from tickwire.errors import TransportError
from tickwire.gateway import state
from tickwire.gateway.admission import Admission
from tickwire.gateway.ops import Ops
from tickwire.gateway.outcomes import Outcomes
from tickwire.gateway.state import Lease, bucket
from tickwire.sim import Simulator
from tickwire.trading.client_ids import FORMATS
from tickwire.trading.session import TradingSession

nats_urls = gateway_harness.nats_urls  # the nats-server fixture, one for the session

A = account(recv_window=1000)


class _Service:
    """The order service's part the ops read (``OpsPort``), around a session of the test's own."""

    gateway, venue, account = "gw-settle", "binance", "settle"
    failed = None
    halt = None
    events = None

    def __init__(self, session: TradingSession, lease: Lease | None = None) -> None:
        self.session = session
        self.lease = lease
        self.admission = Admission(self.venue, self.account, FORMATS[self.venue])
        self.outcomes = Outcomes()

    def health(self) -> dict[str, Any]:
        return {}


def test_the_announced_window_holds_a_lost_orders_verdict_after_the_venue_clock_stepped_back() -> None:
    """The venue's clock steps 6 s back after the session measured it; a place never reaches the
    venue and its answer is lost. The session waits its request's window lengthened by the 6 s (the
    venue acts on a request until its clock passes the stamp plus ``recvWindow``): the ``settle_s``
    the gateway announces meanwhile must hold that verdict. Before, it left the correction out and
    the verdict came seconds after the window it announced."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        ep = sim.endpoint(A.venue, 0)
        ep.skew(-6000)
        ep.fail(1, timeout=True)
        bid, _ = A.touch(sim)
        price = bid - 10 * tr.rules[A.symbol].tick_size
        call = asyncio.ensure_future(tr.place_order(A.symbol, "buy", "limit", A.size(tr, price), price))
        await settle(lambda: any(o.status == "unknown" for o in tr.tracker.open_orders()), "the answer lost")
        hello = await Ops(_Service(tr)).by_name()["hello"]({"strategy": "settle"})
        announced = time.monotonic() + float(hello["settle_s"])
        with pytest.raises(TransportError, match="not placed"):
            await call
        late = time.monotonic() - announced
        assert late <= 0, (
            f"the verdict came {late:.2f} s after the announced window ({hello['settle_s']:.2f} s)"
        )
        assert A.orders(sim) == []

    A.run(body, private_stream=False, timeout=0.5)


def test_a_gateway_taking_an_account_over_waits_its_predecessors_window_with_the_clocks_correction(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first gateway's lease says its requests settle within 4 s of their send, stamped on a
    venue-clock offset 1 s ahead of what the successor measures now. The successor's ``outcome`` of a
    request it never saw waits 4 + 1 s from the take-over before asking the venue — not its own
    window (a 0.2 s time-out, a shorter wait: the first could still be settling a place when the
    successor answered "unseen"). Before, it waited its own window."""
    monkeypatch.setattr(state, "STARTING_S", 0.0)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        nc = await nats.connect(nats_urls)
        try:
            kv = await bucket(nc)
            first = Lease(kv, A.venue, "settle-over", "gw-first")
            offset = tr.signing_offset_ms() + 1000.0
            first.terms = lambda: (4.0, offset)
            await first.take(_nobody)
            await first.renew()
            successor = Lease(kv, A.venue, "settle-over", "gw-next")
            await successor.take(_nobody)
            ops = Ops(_Service(tr, successor)).by_name()
            began = time.monotonic()
            out = await ops["outcome"]({"rid": "r1", "strategy": "settle"})
            took = time.monotonic() - began
            assert out == {"state": "unseen", "order": None}, out
            assert 4.8 <= took < 7.0, f"waited {took:.2f} s after the take-over"
            await successor.release()
        finally:
            await nc.close()

    A.run(body, private_stream=False, timeout=0.2)


async def _nobody() -> str | None:
    return None
