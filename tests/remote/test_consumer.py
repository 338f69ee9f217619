"""The event consumer's recovery from lost deliveries when JetStream does not answer at once: against a
stand-in for the JetStream API whose consumer calls fail on demand (what a real server does for a
moment after a reconnect or while a leader moves is hard to time in a test)."""

from __future__ import annotations

import asyncio
import types
from typing import Any

import nats.errors
import orjson
import pytest
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from tickwire.remote import consumer
from tickwire.remote.consumer import EventConsumer


def _info(dseq: int = 0, waiting: int = 0) -> Any:
    return types.SimpleNamespace(
        delivered=types.SimpleNamespace(consumer_seq=dseq),
        ack_floor=types.SimpleNamespace(stream_seq=0),
        num_waiting=waiting,
        num_ack_pending=0,
    )


class _Jsm:
    def __init__(self) -> None:
        self.exists = False
        self.failures = 0  # consumer creations to fail before one succeeds
        self.made: list[int | None] = []  # the start sequence of each durable made
        self.pulls = 0  # pull requests made (each outstanding for a while on a real server)

    async def consumer_info(self, *a: Any, **k: Any) -> Any:
        if not self.exists:
            raise NotFoundError()
        return _info(waiting=self.pulls)

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


class _Kv:
    """The key-value calls a reader claim makes, with JetStream's create/compare-and-set rules."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[bytes, int]] = {}
        self.rev = 0

    async def create(self, key: str, value: bytes) -> int:
        if key in self.entries:
            raise KeyWrongLastSequenceError()
        return self._put(key, value)

    async def update(self, key: str, value: bytes, last: int) -> int:
        if self.entries.get(key, (b"", 0))[1] != last:
            raise KeyWrongLastSequenceError()
        return self._put(key, value)

    async def get(self, key: str) -> Any:
        if key not in self.entries:
            raise KeyNotFoundError()
        value, rev = self.entries[key]
        return types.SimpleNamespace(value=value, revision=rev)

    async def delete(self, key: str, last: int) -> None:
        if self.entries.get(key, (b"", 0))[1] == last:
            del self.entries[key]

    def _put(self, key: str, value: bytes) -> int:
        self.rev += 1
        self.entries[key] = (value, self.rev)
        return self.rev


@pytest.fixture(autouse=True)
def kv(monkeypatch: Any) -> _Kv:
    store = _Kv()

    async def bucket(nc: Any) -> _Kv:
        return store

    monkeypatch.setattr(consumer, "bucket", bucket, raising=False)
    return store


class _Nc:
    def __init__(self, j: _Jsm | None = None) -> None:
        self.j = j or _Jsm()
        self.q: asyncio.Queue[Any] = asyncio.Queue()

    def jsm(self, timeout: float) -> _Jsm:
        return self.j

    def new_inbox(self) -> str:
        return "_INBOX.t"

    async def subscribe(self, inbox: str) -> _Sub:
        return _Sub(self.q)

    async def publish(self, subject: str, *a: Any, **k: Any) -> None:
        if subject.startswith("$JS.API.CONSUMER.MSG.NEXT."):
            self.j.pulls += 1


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


def test_two_consumers_started_at_once_on_a_new_durable_are_not_both_let_read(kv: _Kv) -> None:
    """Two clients of one strategy start in the same instant on a durable that does not exist yet:
    both ask for it and hear it is not there. One claims it and reads; the other finds the claim,
    sees its reader's pulls and is refused (before, neither checked a durable it had not found, both
    made it and both read — each would have missed the other's share of the events). The reader's
    close gives the claim back."""

    async def go() -> None:
        j = _Jsm()
        a, b = (EventConsumer(_Nc(j), "binance", "acct", "dur", lambda k, v: None) for _ in range(2))
        got = await asyncio.gather(a.start(), b.start(), return_exceptions=True)
        refused = [g for g in got if isinstance(g, BaseException)]
        reading = [c for c in (a, b) if c._task is not None]
        assert len(reading) == 1 and len(refused) == 1, got
        assert isinstance(refused[0], ValueError) and "another live client" in str(refused[0])
        assert list(kv.entries) == ["reader.dur"]
        await reading[0].close(timeout=0.1)
        assert kv.entries == {}

    asyncio.run(go())


def test_a_consumer_whose_claim_was_taken_while_it_started_stops_and_says_so(kv: _Kv) -> None:
    """A start slower than ``STARTING_S``: before its first pull, another client took its claim for
    a dead one's and took it over. The slow one, finding the claim no longer its own, stops reading
    and is refused — and leaves the other's claim alone."""

    class Slow(_Jsm):
        async def add_consumer(self, stream: str, cfg: Any) -> Any:
            _, rev = kv.entries["reader.dur"]
            await kv.update("reader.dur", b"1 theirs", last=rev)
            return await super().add_consumer(stream, cfg)

    async def go() -> None:
        c = EventConsumer(_Nc(Slow()), "binance", "acct", "dur", lambda k, v: None)
        with pytest.raises(ValueError, match="claimed by another client"):
            await c.start()
        assert c._task is None and kv.entries["reader.dur"][0] == b"1 theirs"

    asyncio.run(go())


def test_a_live_reader_is_not_taken_for_dead_and_one_taken_over_stops(kv: _Kv, monkeypatch: Any) -> None:
    """A reads; B starts on the durable seeing none of A's pulls (a callback that holds A up, or a
    server answer without them): A writes its claim again every ``RENEW_S``, so B is refused all the
    same. Then the claim is taken over behind A's back (as by a client that took A for dead): A finds
    out at its next write, stops reading and says so in ``health()``."""
    from tickwire.remote import reader_claim

    monkeypatch.setattr(reader_claim, "RENEW_S", 0.05)
    monkeypatch.setattr(reader_claim, "STALE_S", 0.4)

    async def go() -> None:
        a = await EventConsumer(_Nc(), "binance", "acct", "dur", lambda k, v: None).start()
        blind = _Jsm()
        blind.exists = True  # B sees the durable, never A's pulls
        b = EventConsumer(_Nc(blind), "binance", "acct", "dur", lambda k, v: None)
        with pytest.raises(ValueError, match="another live client"):  # not read beside a live A
            await b.start()
        assert a._task is not None and not a._task.done()
        _, rev = kv.entries["reader.dur"]
        await kv.update("reader.dur", b"1 theirs", last=rev)
        await asyncio.sleep(1.6)  # its next write, then the pull under way (1.25 s here) ends
        assert a._task.done() and a.health()["claim_lost"]
        assert kv.entries["reader.dur"][0] == b"1 theirs"
        await a.close(timeout=0.1)
        assert kv.entries["reader.dur"][0] == b"1 theirs"  # its close leaves the taker's claim

    asyncio.run(go())


def test_a_claim_write_whose_answer_was_lost_is_still_the_readers(kv: _Kv) -> None:
    """The store kept a renewal whose answer never came back (the revision moved on, the value still
    the reader's): the next renewal finds its own claim and goes on; another client's is not."""
    from tickwire.remote.reader_claim import ReaderClaim

    async def go() -> None:
        claim = ReaderClaim(kv, "dur")

        async def unread() -> bool:
            return False

        await claim.take(unread)
        value, rev = kv.entries["reader.dur"]
        await kv.update("reader.dur", value, last=rev)  # stored; its answer lost
        assert await claim.renew()
        _, rev = kv.entries["reader.dur"]
        await kv.update("reader.dur", b"1 theirs", last=rev)
        assert not await claim.renew()

    asyncio.run(go())


def test_a_reader_whose_loop_died_stops_renewing_its_claim(kv: _Kv, monkeypatch: Any) -> None:
    """The reading loop died (here an acknowledgement failing in a way no NATS error does — a handler
    that raises is logged and skipped, see ``test_handover.py``): the claim is no longer written, so
    it goes stale and another client can take the durable over."""
    from tickwire.remote import reader_claim

    monkeypatch.setattr(reader_claim, "RENEW_S", 0.05)

    async def go() -> None:
        nc = _Nc()
        c = await EventConsumer(nc, "binance", "acct", "dur", lambda kind, value: None).start()
        msg = _msg(1, 10)

        async def broken_ack() -> None:
            raise RuntimeError("the loop's own failure")

        msg.ack = broken_ack
        await nc.q.put(msg)
        await asyncio.sleep(0.3)
        assert c._task is not None and c._task.done()
        _, rev = kv.entries["reader.dur"]
        await asyncio.sleep(0.2)
        assert kv.entries["reader.dur"][1] == rev  # not written again
        assert c._keeper is not None and c._keeper.done()
        await c.close(timeout=0.1)

    asyncio.run(go())
