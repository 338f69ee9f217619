"""Clocks and time faults against the simulator: the wall clock stepping while monotonic time does not,
the venue's clock stepping or off ours, and what must stay true across them — nonces that only grow
per key, a rate limit's reset read on the venue's clock, a lost order never called absent while the
venue may still take it — checked against the simulator's own state (its last nonce per key, its
limiter, its order list)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal as D
from typing import Any

import pytest
import tickwire
import tickwire.auth
from test_session_kraken import KEY as KRAKEN_KEY
from test_session_kraken import KRAKEN
from test_session_kraken import SECRET as KRAKEN_SECRET
from tickwire.audit import NullAudit
from tickwire.sim import Simulator
from tickwire.trading.orders import Order
from tickwire.trading.reconcile import Reconciler
from tickwire.trading.tracker import OrderTracker
from tickwire.venues import kraken


class _SteppedTime:
    """``time`` as a module of the library sees it, with its wall clock stepped by ``step_ns`` (monotonic
    time untouched, as when an operator or NTP steps the host's clock)."""

    def __init__(self) -> None:
        self.step_ns = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def time_ns(self) -> int:
        return time.time_ns() + self.step_ns

    def time(self) -> float:
        return time.time() + self.step_ns / 1e9


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> _SteppedTime:
    t = _SteppedTime()
    monkeypatch.setattr(tickwire.auth, "time", t)  # the signers' default clock (``auth.now_ms``)
    return t


def test_kraken_nonces_grow_per_key_across_two_sessions_and_a_wall_clock_step_back(
    wall: _SteppedTime,
) -> None:
    """Two sessions on one Kraken key in one process (each with its own signer, as two
    ``tickwire.trade("kraken")`` from the environment get), the host's wall clock stepped 3 s back
    between them: Kraken keeps one nonce per key, so the second session's nonces must still be above
    the first's. Before: each signer counted only its own, the second signed with the stepped clock —
    every request refused ``EAPI:Invalid nonce``, the remedy's resend too, the session never started."""
    a = KRAKEN

    async def go() -> None:
        async with Simulator([a.venue], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            venue: Any = sim.venue(a.venue)
            urls = sim.urls()[a.venue]
            first, second = kraken.Signer(KRAKEN_KEY, KRAKEN_SECRET), kraken.Signer(KRAKEN_KEY, KRAKEN_SECRET)
            async with tickwire.trade(a.venue, credentials=first, endpoints=urls, adopt=False) as t1:
                await a.rest_below(sim, t1, 40)
                wall.step_ns = -3_000_000_000
                async with tickwire.trade(a.venue, credentials=second, endpoints=urls, adopt=False) as t2:
                    seen = venue.last_nonce[a.key]
                    o = await a.rest_below(sim, t2, 41)
                    assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1
                    assert venue.last_nonce[a.key] > seen
                    assert t2.health()["nonce_retries"] == 0
                    o = await a.rest_below(sim, t1, 42)  # the first session's nonces still grow too
                    assert o.status == "new" and len(a.orders(sim, o.client_id)) == 1

    asyncio.run(asyncio.wait_for(go(), 10))


@pytest.mark.parametrize("skew_ms", [20_000, -20_000])
def test_a_bybit_10006_waits_until_its_reset_on_the_venues_clock_not_ours(skew_ms: int) -> None:
    """Bybit's clock 20 s off ours (measured at start, every request signed on it): a 10006's wait runs
    to ``X-Bapi-Limit-Reset-Timestamp``, a time on the venue's clock — a second away there, so the
    endpoint is blocked a second, as the simulator's own limiter is. Before: read against our clock —
    a venue ahead blocked creates for 21 s (a session halted by a one-second limit); a venue behind
    was no worse than the floor."""
    from test_bybit_limits import account
    from tickwire.errors import RateLimitError
    from tickwire.sim.limits import WeightLimiter

    a = account(f"bybit-reset-skew{skew_ms}")

    async def go() -> None:
        opts = {"profiles": {a.venue: {"order_rate_limit": 20}}}
        async with Simulator([a.venue], seed=7, rate=0, depth=20, **opts) as sim:  # type: ignore[arg-type]
            a.register(sim.venue(a.venue))
            sim.fund(a.venue, a.key, a.funds)
            for ep in sim.venue(a.venue).endpoints:
                ep.skew(skew_ms)
            async with tickwire.trade(
                a.venue, credentials=a.signer, endpoints=sim.urls()[a.venue], rate_wait=0
            ) as tr:
                spent = WeightLimiter(20, 1.0)  # another process of the UID spent the create limit
                spent.charge(time.monotonic(), 20)
                sim.venue(a.venue).trade.limiters[(a.key, "/v5/order/create")] = spent
                with pytest.raises(RateLimitError) as e:
                    await a.resting_buy(sim, tr)
                assert spent.refused == 1
                assert 0.5 < e.value.retry_after <= 1.5, e.value.retry_after  # type: ignore[attr-defined]
                tr.budget.max_wait_s = 3.0
                assert (await a.resting_buy(sim, tr)).status == "new"

    asyncio.run(asyncio.wait_for(go(), 10))


def test_a_lost_order_is_not_called_absent_while_a_venue_clock_stepped_back_may_still_take_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Binance spot, ``recvWindow`` 1 s, no private stream. The venue's clock steps 0.7 s back after the
    session measured it (inside the 1 s ahead the venue takes: nothing is refused, nothing measures it
    again), so every timestamp runs 0.7 s ahead of the venue's clock and the venue acts on a request
    until 1.7 s after it was signed. The place fails (503: not processed), the queries find nothing;
    once the session calls the order not placed, the venue is handed the same signed request, as one
    still queued there would reach its engine: it must refuse it for its timestamp and place nothing.
    Before: the window was waited out on our clock, from the offset measured before the step — the
    venue took the request, a live order the caller was told was not placed."""
    from template_cases import account, not_placed_then_replayed
    from tickwire.trading import reconcile

    a = account(recv_window=1000)
    monkeypatch.setattr(reconcile, "RECONCILE_PAUSE_S", 0.0)

    async def body(sim: Simulator, tr: Any) -> None:
        ep = sim.endpoint(a.venue, 0)
        assert tr.wire.clock.sync.samples  # measured at start
        ep.skew(-700)
        r = await not_placed_then_replayed(a, sim, tr)
        assert (r.status, a.orders(sim)) == (400, []), r.body

    a.run(body, private_stream=False)


def test_a_lost_amend_is_not_called_not_taken_while_a_venue_clock_stepped_back_may_still_take_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As the lost order above, for an amend (Binance spot's keep-priority amend, ``recvWindow`` 1 s):
    the venue's clock steps 0.7 s back after it was measured, the amend is answered 503 (not
    processed), the queries show the old quantity, and once the session says it did not take effect
    the venue is handed the same signed request: it must refuse it for its timestamp, the order's
    quantity unchanged. Before: the window was waited out from the offset measured before the step,
    and the venue applied the request after "did not take effect"."""
    from template_cases import account
    from tickwire.errors import TransportError
    from tickwire.trading import amend
    from tickwire.transport.http import HttpClient

    AMEND_PATH = "/api/v3/order/amend/keepPriority"
    a = account(recv_window=1000)
    monkeypatch.setattr(amend, "RECONCILE_PAUSE_S", 0.0)

    async def body(sim: Simulator, tr: Any) -> None:
        o = await a.rest_below(sim, tr, 40, 3)
        ep = sim.endpoint(a.venue, 0)
        ep.skew(-700)
        http, written = tr.wire.http, []
        request = http.request

        async def kept(method: str, path: str, **kw: Any) -> Any:
            if (method, path) == ("PUT", AMEND_PATH):
                written.append(kw)
            return await request(method, path, **kw)

        http.request = kept
        ep.fail(1)
        with pytest.raises(TransportError, match="did not take effect"):
            await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2 / 3)
        [kw] = written
        async with HttpClient(ep.rest_base) as venue:
            r = await venue.request(
                "PUT", AMEND_PATH, query=kw["query"], body=kw["body"], headers=kw["headers"]
            )
        [theirs] = a.orders(sim, o.client_id)
        lot = sim.venue(a.venue).instruments[a.symbol].lot
        assert (r.status, theirs.qty * lot) == (400, o.qty), r.body

    a.run(body, private_stream=False)


class _SteppedBackPort:
    """A reconciler's port whose venue clock, measured again, is ``fell_back_ms`` behind what the
    requests were stamped on, with a request window of ``window_s``."""

    venue = "stand-in"

    def __init__(self, fell_back_ms: float = 5000.0, window_s: float = 1.0) -> None:
        self.tracker, self.audit = OrderTracker(), NullAudit()
        self.fell_back_ms, self.window_s = fell_back_ms, window_s

    def signing_offset_ms(self) -> float:
        return 0.0

    async def lost_request_window_s(self, offset_ms: float, since: float) -> float:
        return self.window_s + self.fell_back_ms / 1000


def test_the_stream_returning_does_not_call_absent_an_order_the_stepped_back_venue_may_still_take() -> None:
    """A lost order whose venue clock stepped back: the private stream returning (``_after_away``) must not
    call it absent while the venue may still take it — the request window lengthened by how far the venue
    clock fell back, as ``resolve`` and ``_later`` (``_window_open``) now measure it. Before: ``_after_away``
    compared against the bare window on our clock and marked the order rejected, a live order the caller
    could send again."""
    port = _SteppedBackPort()
    o = Order(
        venue="stand-in", symbol="BTCUSDT", side="buy", type="limit", qty=D(1), price=D(100), client_id="c"
    )
    port.tracker.track(o)
    port.tracker.mark_unknown("c", "503")
    rec = Reconciler(port)  # type: ignore[arg-type]

    async def nothing(cid: str) -> None:
        return None

    rec.reconcile = nothing  # type: ignore[method-assign]  # no trace at the venue (yet)
    # Lost 2 s ago: past the 1 s window on our clock, inside the 6 s the venue acts on it.
    rec._lost_at["c"] = (time.monotonic() - 2.0, 0.0)
    asyncio.run(rec._after_away("c"))
    assert port.tracker.get("c").status == "unknown", port.tracker.get("c")  # type: ignore[union-attr]


def test_a_given_up_amend_is_asked_about_only_after_the_window_a_stepped_back_venue_clock_lengthens() -> None:
    """An amend its caller gave up on (``Reconciler.recheck``) is asked about once the venue can no
    longer apply it — and what the venue then states closes the amend. With the venue clock 0.3 s
    behind what the request was stamped on, that is 0.3 s past the bare window (0.2 s here): asked
    earlier, an amend the venue still applies would be closed as not applied. Before: asked after the
    bare window on our clock (a stand-in port; the rule is ``_window_open``'s)."""

    async def go() -> float:
        port = _SteppedBackPort(fell_back_ms=300.0, window_s=0.2)
        o = Order(
            venue="stand-in",
            symbol="BTCUSDT",
            side="buy",
            type="limit",
            qty=D(2),
            price=D(100),
            client_id="c",
        )
        port.tracker.track(o)
        tasks: list[asyncio.Task[None]] = []
        rec = Reconciler(port)  # type: ignore[arg-type]
        rec.spawn = lambda c: tasks.append(asyncio.ensure_future(c))
        asked: list[float] = []

        async def reconcile(cid: str) -> None:
            asked.append(time.monotonic())

        rec.reconcile = reconcile  # type: ignore[method-assign]
        start = time.monotonic()
        rec.recheck("c", (D(1), D(100)))
        await asyncio.gather(*tasks)
        assert asked, "never asked"
        return asked[0] - start

    waited = asyncio.run(go())
    assert waited >= 0.5 - 0.02, waited
