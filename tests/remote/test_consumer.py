"""The event consumer's recovery from lost deliveries when JetStream does not answer at once: against a
stand-in for the JetStream API whose consumer calls fail on demand (what a real server does for a
moment after a reconnect or while a leader moves is hard to time in a test)."""

from __future__ import annotations

import asyncio
import types
from typing import Any

import nats.errors
import orjson
from nats.js.errors import NotFoundError
from tickwire.remote import consumer
from tickwire.remote.consumer import EventConsumer


def _info(dseq: int = 0) -> Any:
    return types.SimpleNamespace(
        delivered=types.SimpleNamespace(consumer_seq=dseq),
        ack_floor=types.SimpleNamespace(stream_seq=0),
        num_waiting=0,
        num_ack_pending=0,
    )


class _Jsm:
    def __init__(self) -> None:
        self.exists = False
        self.failures = 0  # consumer creations to fail before one succeeds
        self.made: list[int | None] = []  # the start sequence of each durable made

    async def consumer_info(self, *a: Any, **k: Any) -> Any:
        if not self.exists:
            raise NotFoundError()
        return _info()

    async def add_consumer(self, stream: str, cfg: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise nats.errors.TimeoutError()
        self.exists = True
        self.made.append(cfg.opt_start_seq)
        return _info()

    async def delete_consumer(self, *a: Any) -> None:
        if not self.exists:
            raise NotFoundError()
        self.exists = False


class _Sub:
    def __init__(self, q: asyncio.Queue[Any]) -> None:
        self.q = q

    async def next_msg(self, timeout: float) -> Any:
        try:
            return await asyncio.wait_for(self.q.get(), timeout)
        except TimeoutError:
            raise nats.errors.TimeoutError() from None

    async def unsubscribe(self) -> None:
        pass


class _Nc:
    def __init__(self) -> None:
        self.j = _Jsm()
        self.q: asyncio.Queue[Any] = asyncio.Queue()

    def jsm(self, timeout: float) -> _Jsm:
        return self.j

    def new_inbox(self) -> str:
        return "_INBOX.t"

    async def subscribe(self, inbox: str) -> _Sub:
        return _Sub(self.q)

    async def publish(self, *a: Any, **k: Any) -> None:
        pass


def _msg(dseq: int, sseq: int) -> Any:
    async def ack() -> None:
        pass

    order = {"venue": "binance", "symbol": "BTCUSDT", "side": "buy", "type": "limit", "qty": "1",
             "client_id": f"c{sseq}", "status": "new"}  # fmt: skip
    seq = types.SimpleNamespace(consumer=dseq, stream=sseq)
    body = orjson.dumps({"kind": "order", "order": order})
    return types.SimpleNamespace(
        headers=None, data=body, ack=ack, metadata=types.SimpleNamespace(sequence=seq)
    )


def test_a_durable_that_cannot_be_made_again_at_once_is_retried_and_nothing_is_lost(monkeypatch: Any) -> None:
    """Deliveries 2 and 3 were lost on the way; the consumer deletes its durable to read them again
    and JetStream refuses the new one twice. It keeps trying (before, the reader died there, the
    durable stayed deleted and every later event was lost): the durable is made again right after
    the last event handled, and the reader goes on with the events read again."""
    monkeypatch.setattr(consumer, "RESYNC_RETRY_S", 0.01, raising=False)
    heard: list[str] = []

    async def go() -> None:
        nc = _Nc()
        c = await EventConsumer(nc, "binance", "acct", "dur", lambda k, v: heard.append(v.client_id)).start()
        await nc.q.put(_msg(1, 10))
        await asyncio.sleep(0.05)
        nc.j.failures = 2
        await nc.q.put(_msg(4, 13))  # a gap: 2 and 3 never arrived
        await asyncio.sleep(0.2)
        assert c._task is not None and not c._task.done()
        assert nc.j.exists and nc.j.made[-1] == 11  # again from right after event 10
        for dseq, sseq in ((1, 11), (2, 12), (3, 13)):  # the new durable's deliveries
            await nc.q.put(_msg(dseq, sseq))
        await asyncio.sleep(0.1)
        await c.close(timeout=0.1)

    asyncio.run(go())
    assert heard == ["c10", "c11", "c12", "c13"]
