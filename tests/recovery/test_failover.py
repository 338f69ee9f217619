"""Endpoint ranking: listed order, failures and slow endpoints demoted, recovery after the penalty."""

from __future__ import annotations

import asyncio

from tickwire.recovery.failover import EndpointPool
from tickwire.streams import Endpoint


def pool(n: int, now: list[float]) -> EndpointPool:
    eps = [Endpoint({"ws": f"ws://127.0.0.1:{9000 + i}/"}, None, f"e{i}") for i in range(n)]
    return EndpointPool(eps, penalty_s=10.0, clock=lambda: now[0])


def test_listed_order_until_something_is_known() -> None:
    assert pool(3, [0.0]).ranking() == [0, 1, 2]


def test_failed_endpoint_goes_last_then_returns_after_penalty() -> None:
    now = [0.0]
    p = pool(3, now)
    p.failure(0)
    assert p.ranking() == [1, 2, 0]
    assert p.pick() == 1
    now[0] = 11.0
    assert p.ranking() == [0, 1, 2]


def test_slow_endpoint_is_demoted_but_similar_ones_keep_listed_order() -> None:
    p = pool(3, [0.0])
    p.observe_rtt(0, 0.050)
    p.observe_rtt(1, 0.004)
    p.observe_rtt(2, 0.005)
    assert p.slow(0) and not p.slow(1) and not p.slow(2)
    assert p.ranking() == [1, 2, 0]


def test_rtt_is_smoothed() -> None:
    p = pool(1, [0.0])
    p.observe_rtt(0, 0.010)
    p.observe_rtt(0, 0.020)
    assert p.rtt[0] is not None and abs(p.rtt[0] - (0.010 + 0.3 * 0.010)) < 1e-12


def test_redundant_lines_spread_over_endpoints() -> None:
    p = pool(2, [0.0])
    assert p.pick(in_use={0}) == 1
    assert p.pick(in_use={0, 1}) == 0


def test_probe_measures_a_real_listener_and_fails_a_closed_port() -> None:
    async def go() -> None:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        closed = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        dead = closed.sockets[0].getsockname()[1]
        closed.close()
        await closed.wait_closed()
        eps = [Endpoint({"ws": f"ws://127.0.0.1:{dead}/"}), Endpoint({"ws": f"ws://127.0.0.1:{port}/"})]
        p = EndpointPool(eps)
        rtts = await p.probe_all(timeout=1.0)
        assert rtts[0] is None and rtts[1] is not None and 0 < rtts[1] < 1.0
        assert p.ranking() == [1, 0]
        server.close()
        await server.wait_closed()

    asyncio.run(go())
