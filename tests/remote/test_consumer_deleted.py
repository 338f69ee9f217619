"""An event consumer whose durable is deleted under it (by an operator, a lost store), against a real
nats-server: the server ends the outstanding pull with 409 "Consumer Deleted" and answers every later
pull with 503, so the reader makes the durable again from right after the last event it handled
instead of asking again and again; every event published meanwhile is handled once."""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import orjson
from tickwire.bus import subjects
from tickwire.bus.server import cluster
from tickwire.gateway.events import ensure_stream
from tickwire.remote.consumer import EventConsumer


def _order(cid: str) -> bytes:
    order = {"venue": "binance", "symbol": "BTCUSDT", "side": "buy", "type": "limit", "qty": "1",
             "client_id": cid, "status": "new"}  # fmt: skip
    return orjson.dumps({"kind": "order", "order": order})


def test_a_durable_deleted_under_a_reader_is_made_again_and_no_event_is_lost() -> None:
    heard: list[str] = []

    async def go(url: str) -> None:
        nc = await nats.connect(url)
        try:
            await ensure_stream(nc)
            js = nc.jetstream()
            subject = subjects.events("binance", "acct", "order")

            async def publish(n: int, base: int) -> None:
                for i in range(n):
                    await js.publish(subject, _order(f"c{base + i}"))

            c = await EventConsumer(
                nc, "binance", "acct", "dur", lambda k, v: heard.append(v.client_id)
            ).start()
            pulls = 0
            publish_raw = nc.publish

            async def counting(subj: str, *a: Any, **k: Any) -> None:
                nonlocal pulls
                if subj.startswith("$JS.API.CONSUMER.MSG.NEXT."):
                    pulls += 1
                await publish_raw(subj, *a, **k)

            nc.publish = counting  # type: ignore[method-assign]
            await publish(3, 0)
            for _ in range(100):
                if len(heard) == 3:
                    break
                await asyncio.sleep(0.02)
            await nc.jsm().delete_consumer(subjects.EVENTS_STREAM, "dur")
            await publish(3, 3)  # while no durable exists
            await asyncio.sleep(0.5)
            await publish(2, 6)
            for _ in range(200):
                if len(heard) == 8:
                    break
                await asyncio.sleep(0.02)
            # Before: a pull after every 503 at once, thousands in the half second.
            assert pulls < 20, pulls
            assert c.resyncs >= 1
            await c.close(timeout=0.5)
        finally:
            await nc.close()

    with cluster(1) as c:
        asyncio.run(go(c.urls[0]))
    assert heard == [f"c{i}" for i in range(8)], heard
