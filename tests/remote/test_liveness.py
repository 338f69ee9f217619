"""Watching gateways' heartbeats (``tickwire.remote.liveness``) over a real nats-server."""

from __future__ import annotations

import asyncio
import threading
import time

import gateway_harness
import nats
import orjson
from gateway_harness import run
from session_cases import settle
from tickwire.bus import subjects
from tickwire.remote.gateways import live_gateways
from tickwire.remote.liveness import GatewayWatch

nats_urls = gateway_harness.nats_urls  # the nats-server fixture, one for the session


def test_a_malformed_heartbeat_does_not_stop_gateways_being_declared_gone(nats_urls: list[str]) -> None:
    """Gateway A beats (0.1 s); a gateway B's beat says ``markets: 5``; A stops. A is declared gone —
    the handler, as the market consumer's does, lists the live gateways serving the venue. Before:
    B's beat was kept, that listing raised ``TypeError`` inside the sweep, the sweep task ended and no
    gateway was ever declared gone again (a dead gateway's books stayed "synced")."""

    async def body() -> None:
        nc = await nats.connect(nats_urls)
        changes: list[tuple[str, bool]] = []
        watch: GatewayWatch | None = None

        def on_change(name: str, alive: bool) -> None:
            live_gateways(watch, "binance", "*")
            changes.append((name, alive))

        watch = await GatewayWatch(nc, on_change=on_change).start()
        try:

            async def beat(name: str, markets: object) -> None:
                msg = {"gateway": name, "instance": f"{name}-1", "interval": 0.1, "markets": markets}
                await nc.publish(subjects.HEARTBEATS.replace("*", name), orjson.dumps(msg))

            await beat("gwa", {"binance": {}})
            await beat("gwb", 5)
            await nc.flush()
            await settle(lambda: ("gwa", True) in changes, "A seen")
            await settle(lambda: ("gwa", False) in changes, "A declared gone", 3.0)
            assert watch.unreadable == 1 and "gwb" not in watch.gateways
        finally:
            await watch.stop()
            await nc.close()

    run(body)


def test_a_stall_of_the_process_past_the_missed_beats_does_not_declare_a_live_gateway_gone(
    nats_urls: list[str],
) -> None:
    """A gateway beats every 0.1 s from a thread of its own (its own loop and connection: its beats
    keep reaching the socket while this loop stands still); the watching process stalls 0.8 s, past
    three missed beats. The gateway is never declared gone. Before: the sweep, woken after the stall,
    judged before the beats waiting in the socket reached the watch (3 of 3 runs, found by a review of
    timing under two processes): a live gateway "gone" and back at once — requests failing, every
    remote book reset."""
    stop = threading.Event()

    def beater() -> None:
        async def beats() -> None:
            nc = await nats.connect(nats_urls)
            msg = {"gateway": "gwx", "instance": "gwx-1", "interval": 0.1, "markets": {}}
            while not stop.is_set():
                await nc.publish(subjects.HEARTBEATS.replace("*", "gwx"), orjson.dumps(msg))
                await nc.flush()
                await asyncio.sleep(0.1)
            await nc.close()

        asyncio.run(beats())

    async def body() -> None:
        nc = await nats.connect(nats_urls)
        changes: list[tuple[str, bool]] = []
        watch = await GatewayWatch(nc, on_change=lambda n, alive: changes.append((n, alive))).start()
        thread = threading.Thread(target=beater, name="beater", daemon=True)
        thread.start()
        try:
            await settle(lambda: ("gwx", True) in changes, "the gateway seen")
            await asyncio.sleep(0.3)
            time.sleep(0.8)  # the stall: eight beats come meanwhile
            await asyncio.sleep(0.5)
            assert changes == [("gwx", True)], changes
            stop.set()  # and a gateway that does stop is still declared gone
            await settle(lambda: ("gwx", False) in changes, "the gateway gone", 3.0)
        finally:
            stop.set()
            await asyncio.to_thread(thread.join, 5)
            await watch.stop()
            await nc.close()

    run(body)
