"""What a gateway that stepped down (another took its account's lease) still asks the venue for the
account: its session's periodic reads — the instrument rules, the open orders' audit — must end with
its service. Judged by the simulator's own count of those requests."""

from __future__ import annotations

import asyncio
from typing import Any

import gateway_harness
import pytest
from gateway_harness import VENUE, config, proxied, rest_buy, run, service, venue
from session_cases import settle
from tickwire.gateway.run import Gateway

nats_urls = gateway_harness.nats_urls

EVERY = 0.5  # the stepped-down gateway's period (scaled down from 1,800 s and 60 s)

# read: (the request the simulator counts, the account option that times it)
READS = {
    "rules": ("GET /fapi/v1/exchangeInfo", "rules_refresh_s"),
    "open orders": ("GET /fapi/v1/openOrders", "open_audit_s"),
}


@pytest.mark.parametrize("read", sorted(READS))
def test_a_gateway_that_stepped_down_no_longer_reads_the_account_every_period(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    """Gateway A (the read every ``EVERY`` s; for the open orders' audit, an order resting) loses its
    NATS link; B (no periodic read) takes the account over; A's link returns and A steps down. From
    then on the venue must get no periodic read from A: the account is B's, whose own reads are all
    the venue should see, on its budget. Before: A's session timer went on reading every period for
    A's life (stop 55: the rules, a review by a helper session; the open orders found beside it)."""
    import tickwire.gateway.state as state
    import tickwire.trading.open_audit as open_audit
    import tickwire.trading.rules_recheck as rules_recheck

    monkeypatch.setattr(state, "STARTING_S", 0.5)  # a lease this old without an answer is a dead one's
    monkeypatch.setattr(rules_recheck, "MIN_REFRESH_S", 0.1)
    monkeypatch.setattr(open_audit, "MIN_AUDIT_S", 0.1)
    request, option = READS[read]
    off = {"rules_refresh_s": 0, "open_audit_s": None}

    def reads(v: Any) -> int:
        return sum(1 for x in v.sim.endpoint(VENUE, 0).exchanges if x[1] == request)

    async def body() -> None:
        proxy, url = await proxied(nats_urls)
        async with venue() as v:
            acct = v.account("stepped-reads")
            a_acct = {**acct, "options": {**acct["options"], **off, option: EVERY}}
            b_acct = {**acct, "options": {**acct["options"], **off}}
            a = await Gateway(config([url], a_acct, name="gwa")).start()
            try:
                if read == "open orders":  # the audit lists the symbols with orders open
                    await rest_buy(v, service(a, "stepped-reads").session)
                before = reads(v)
                await settle(lambda: reads(v) >= before + 2, f"A's periodic {read} reads", 5)
                proxy.refuse = True
                proxy.cut()  # A's link drops; it keeps trying to reconnect
                await asyncio.sleep(0.5)
                async with Gateway(config(nats_urls, b_acct, name="gwb")):
                    proxy.refuse = False
                    await settle(lambda: service(a, "stepped-reads").stepped_down, "A to step down", 10)
                    await asyncio.sleep(EVERY)  # a read already under way as A stepped down lands
                    after = reads(v)
                    await asyncio.sleep(6 * EVERY)
                    n = reads(v) - after
                    assert n == 0, f"{n} {request} reads in {6 * EVERY} s after A stepped down"
            finally:
                await a.close()

    run(body)


def test_a_gateway_that_stepped_down_while_its_session_was_starting_does_not_read_on(
    nats_urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gateway A's first start finds the venue unreachable, so its session is started again in the
    background; while that start is under way A loses its link, B takes the account over and A steps
    down — with no session yet to quiet. The start then ends: from then on the venue must get no
    periodic rules read from A (the account is B's). Before: the session that came up after the
    step-down read every period for A's life."""
    import tickwire.gateway.lease_watch as lease_watch
    import tickwire.gateway.state as state
    import tickwire.trading.rules_recheck as rules_recheck
    from tickwire.trading.session import TradingSession

    monkeypatch.setattr(state, "STARTING_S", 0.5)
    monkeypatch.setattr(rules_recheck, "MIN_REFRESH_S", 0.1)
    request = READS["rules"][0]
    off = {"rules_refresh_s": 0, "open_audit_s": None}

    def reads(v: Any) -> int:
        return sum(1 for x in v.sim.endpoint(VENUE, 0).exchanges if x[1] == request)

    real_start = TradingSession.start
    held, release = asyncio.Event(), asyncio.Event()
    holding = [False]

    async def start(self: TradingSession, *a: Any, **kw: Any) -> TradingSession:
        got = await real_start(self, *a, **kw)
        if holding[0]:  # the background start, ended at the venue, held before the gateway sees it
            holding[0] = False
            held.set()
            await release.wait()
        return got

    monkeypatch.setattr(TradingSession, "start", start)

    async def body() -> None:
        proxy, url = await proxied(nats_urls)
        async with venue() as v:
            acct = v.account("stepped-starting")
            a_acct = {**acct, "options": {**acct["options"], **off, "rules_refresh_s": EVERY}}
            b_acct = {**acct, "options": {**acct["options"], **off}}
            ep = v.sim.endpoint(VENUE, 0)
            await ep.down()
            a = await Gateway(config([url], a_acct, name="gwa")).start()
            try:
                svc = service(a, "stepped-starting")
                assert svc.session is None
                holding[0] = True
                await ep.up()
                await asyncio.wait_for(held.wait(), 15)
                proxy.refuse = True
                proxy.cut()
                await asyncio.sleep(0.5)
                async with Gateway(config(nats_urls, b_acct, name="gwb")):
                    proxy.refuse = False
                    await settle(lambda: svc.stepped_down, "A to step down", 10)
                    # A renewal of A's lease already asleep finds it B's too, and steps down again
                    # (up to RENEW_S later): over before the start ends, as it need not be.
                    await asyncio.sleep(lease_watch.RENEW_S + 0.5)
                    release.set()
                    await settle(lambda: svc.session is not None, "A's start to end", 10)
                    await asyncio.sleep(EVERY)
                    after = reads(v)
                    await asyncio.sleep(6 * EVERY)
                    n = reads(v) - after
                    assert n == 0, f"{n} {request} reads in {6 * EVERY} s after A stepped down"
            finally:
                release.set()
                await a.close()

    run(body)
