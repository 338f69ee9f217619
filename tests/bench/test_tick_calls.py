"""What ``tickwire bench --stages tick`` measures of tickwire is its one-call path: per tick, the
frame's ``Dispatcher.on_frame`` and, for ``tickwire`` (``send`` from ``on_book``), the order's
``OrderTemplate.fire``; for ``rule`` the order is written inside the frame's call, nothing more
asked of the core; ``bare`` fills the template's bytes by hand (its ``fill`` is the bench's own
code). Each contender runs here in this process against the bench venue (its own process), its calls
into the core counted with ``sys.setprofile`` (``core_calls.CoreCalls``; the bench strategy's own
calls — the book's best bid, ``bare``'s fill — left out). Until 2026-12-03 the bench's stub made every
``send`` take the Python path and nothing told; this would.

A tick read before the previous order's answer finds no idle connection: ``send`` then takes the
Python path (``fill`` to check it now, again to sign it when written) and the contender counts it
``left_out``, a rule prices it from the answer's path: those ticks have no one call to count."""

from __future__ import annotations

import pytest
from core_calls import CoreCalls, besides, count
from tickwire.bench import peers
from tickwire.bench.tick_order import _run, venue_process
from tickwire.bench.venue import SYMBOLS
from tickwire.loop import run
from tickwire.transport.http import HttpClient

TICKS = 100
GAP_US = 2000  # the next tick 2 ms after the order came: its answer read first, as a rule


@pytest.mark.parametrize("kind", [peers.Tickwire, peers.Rule, peers.Bare], ids=lambda k: k.key)
def test_each_tick_is_the_frames_call_and_the_orders(kind: type[peers.Tickwire]) -> None:
    with venue_process() as urls:

        async def body() -> tuple[CoreCalls, int, dict[str, object], list[int]]:
            c = kind(SYMBOLS[1], urls)
            await c.start()
            http = HttpClient(c.rest)
            try:
                await _run(http, c.symbol, 30, GAP_US)  # steady state
                c.report()
                first = c.md.lines[0].frames
                with CoreCalls(skip=["tickwire/bench/"]) as calls:
                    got = await _run(http, c.symbol, TICKS, GAP_US)
                return calls, c.md.lines[0].frames - first, c.report(), got["ns"]
            finally:
                await http.close()
                await c.stop()

        calls, frames, report, ns = run(body())
    assert frames == TICKS and all(t >= 0 for t in ns), (frames, ns)  # every tick's order came
    assert count(calls.calls, "Dispatcher.on_frame") == TICKS, dict(calls.calls)
    left_out = int(report.get("left_out", 0))  # type: ignore[call-overload]
    one_call = len(report["written"])  # type: ignore[arg-type]
    # Most ticks take the one call (all of them but a few stalled by the machine's other work).
    assert one_call + left_out == TICKS and one_call >= TICKS // 2, (one_call, left_out)
    within = dict(calls.within)
    if kind is peers.Tickwire:
        assert count(calls.within, "OrderTemplate.fire") == one_call, within
        python_path = besides(calls.within, "OrderTemplate.fire", "OrderTemplate.give_ids")
        assert {k for k, _ in python_path} <= {"OrderTemplate.fill"}, within  # the left out ticks'
    else:
        allowed = {"OrderTemplate.give_ids"}  # a form's next client ids, once per 256 orders
        assert {k for k, _ in within} <= allowed and sum(within.values()) <= 1, within
