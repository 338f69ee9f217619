"""A remote client's order events: a JetStream durable consumer on ``tw.evt.<venue>.<account>.*``
read in stream order, each event acknowledged after its callback, so a client that stops and starts
again under the same durable name goes on exactly after the last event it handled.

Exactly once, and how:

- acks are cumulative (``AckPolicy.ALL``): acking an event acks every earlier one, so the consumer's
  ack floor is "handled up to here", nothing else;
- events are pulled (``$JS.API.CONSUMER.MSG.NEXT``) and handled one by one as they arrive, not in
  batches waited for: a pull asks for up to ``BATCH`` events and expires after ``EXPIRES_S``;
- ``close`` stops asking, handles what its last pull still delivers (so nothing is left delivered but
  unacked — it would come back only after the consumer's ack wait), then checks that the server's ack
  floor reached the last event handled;
- an event redelivered in the same process (a slow callback outlasting the ack wait) is recognised by
  its stream sequence and acked without a second callback;
- deliveries lost on the way (the connection died with a pull's events in flight) show as a gap in
  the consumer's delivery sequence, or as the server having delivered more than arrived when a pull
  goes unanswered: acking a later event would ack them unhandled, so the durable is made again right
  after the last event handled (on a new inbox, so nothing of the old one is taken for the new) and
  they come again, in order.

One client reads a durable: a second one started on it is refused with a ``ValueError``, also when
both start in the same instant (``reader_claim``: the durable claimed atomically first).

A new durable starts at events published from then on (``start_seq`` replays from that sequence);
an existing one resumes where its ack floor is, whatever ``start_seq`` says — also after a client
that died with events delivered but not acked (the durable is made again from its ack floor)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import nats.errors
import orjson
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from tickwire.bus import codec, subjects
from tickwire.gateway.state import bucket
from tickwire.remote import reader_claim

log = logging.getLogger("tickwire.remote")

BATCH = 256
# A pull's life: also the longest ``close`` waits for the events its last pull may still bring.
EXPIRES_S = 0.25
ACK_WAIT_S = 30.0
RESYNC_RETRY_S = 0.5


def durable_name(venue: str, account: str, name: str) -> str:
    """A consumer name NATS accepts (no ``.``, ``*``, ``>`` or white space), one per account."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"tw_{venue}_{account}_{name}")


class EventConsumer:
    """Feeds ``handle(kind, value)`` — ``("order", Order)`` or ``("fill", Fill)`` — from the durable
    consumer ``durable`` of one account's events."""

    def __init__(
        self,
        nc: Any,
        venue: str,
        account: str,
        durable: str,
        handle: Callable[[str, Any], None],
        *,
        start_seq: int | None = None,
    ) -> None:
        self.nc = nc
        self.jsm = nc.jsm(timeout=2.0)
        self.stream = subjects.EVENTS_STREAM
        self.filter = subjects.events(venue, account, "*")
        self.durable = durable
        self.handle = handle
        self.start_seq = start_seq
        self.last_seq = 0  # stream sequence of the last event handled
        self.handled = 0
        self.redelivered = 0
        self.unreadable = 0  # events skipped: not readable, or the client's handling of them failed
        self.resyncs = 0  # durables made again after deliveries were lost
        self._dseq = 0  # the consumer's delivery sequence of the last message that arrived
        self._floor = 0  # the stream sequence the durable started after
        self._inbox = ""
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._claim: reader_claim.ReaderClaim | None = None
        self._keeper: asyncio.Task[None] | None = None
        self.claim_lost = False

    async def start(self) -> EventConsumer:
        self._claim = claim = reader_claim.ReaderClaim(await bucket(self.nc), self.durable)
        await claim.take(self._read)
        try:
            await self._open()
            # Written again before the first pull: a start slower than ``STALE_S`` may have lost the
            # claim to a client that took it for a dead one's, and then this one must not read.
            if not await claim.renew():
                raise ValueError(f"consumer {self.durable} was claimed by another client as this one started")
        except BaseException:
            await claim.release()
            if self._sub is not None:
                with contextlib.suppress(Exception):
                    await self._sub.unsubscribe()
            raise
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run())
        self._keeper = loop.create_task(self._keep_claim(claim))
        return self

    async def _open(self) -> None:
        start_seq = self.start_seq
        try:
            info = await self.jsm.consumer_info(self.stream, self.durable)
        except NotFoundError:
            info = None
        if info is not None and info.num_ack_pending:
            # A client that died left events delivered but unacked: they would come back only after
            # the ack wait, behind newer ones (whose cumulative ack would take them along unhandled).
            # The durable starts again right after its ack floor instead: the same events, in order.
            start_seq = info.ack_floor.stream_seq + 1
            await self.jsm.delete_consumer(self.stream, self.durable)
            info = None
        if info is None:
            info = await self._create(start_seq)
        self._dseq, self._floor = info.delivered.consumer_seq, info.ack_floor.stream_seq
        self._inbox = self.nc.new_inbox()
        self._sub = await self.nc.subscribe(self._inbox)

    async def _read(self) -> bool:
        """Whether a reader has pulls outstanding on the durable (a live one always has, but for
        moments shorter than ``EXPIRES_S``)."""
        try:
            info = await self.jsm.consumer_info(self.stream, self.durable)
        except NotFoundError:
            return False
        return bool(info.num_waiting)

    async def _create(self, start_seq: int | None) -> Any:
        by_seq = start_seq is not None
        cfg = ConsumerConfig(
            name=self.durable,
            durable_name=self.durable,
            filter_subject=self.filter,
            ack_policy=AckPolicy.ALL,
            ack_wait=ACK_WAIT_S,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE if by_seq else DeliverPolicy.NEW,
            opt_start_seq=start_seq,
        )
        return await self.jsm.add_consumer(self.stream, cfg)

    async def _resync(self) -> None:
        """Deliveries were lost on the way: the durable again from right after the last event handled
        (or where it started), read on a new inbox."""
        self.resyncs += 1
        log.warning("consumer %s: deliveries lost on the way; reading again after event %d",
                    self.durable, max(self.last_seq, self._floor))  # fmt: skip
        while True:
            # Until it is made again: a durable left deleted would come back at the next start from
            # the stream's end, and every event after the last one handled would be lost.
            try:
                with contextlib.suppress(NotFoundError):
                    await self.jsm.delete_consumer(self.stream, self.durable)
                info = await self._create(max(self.last_seq, self._floor) + 1)
                break
            except Exception as e:  # JetStream not answering now (the link just came back, a leader moving)
                if self._stopping:
                    raise
                log.warning("consumer %s not made again (%s); retrying", self.durable, e)
                await asyncio.sleep(RESYNC_RETRY_S)
        self._dseq = info.delivered.consumer_seq
        old, self._inbox = self._sub, self.nc.new_inbox()
        self._sub = await self.nc.subscribe(self._inbox)
        with contextlib.suppress(Exception):
            await old.unsubscribe()

    async def _behind(self) -> bool:
        """Whether the server delivered more than arrived here (asked when a pull went unanswered)."""
        try:
            info = await self.jsm.consumer_info(self.stream, self.durable, timeout=1.0)
        except Exception:  # not reachable now: the next pull asks again
            return False
        return bool(info.delivered.consumer_seq > self._dseq)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        ask = orjson.dumps({"batch": BATCH, "expires": int(EXPIRES_S * 1e9)})
        subject = f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.durable}"
        while not self._stopping:
            try:
                await self.nc.publish(subject, ask, reply=self._inbox)
            except nats.errors.ConnectionClosedError:
                return
            except nats.errors.Error as e:
                log.warning("event pull failed (%s); retrying", e)
                await asyncio.sleep(0.2)
                continue
            got, deadline = 0, loop.time() + EXPIRES_S + 1.0
            while got < BATCH:
                try:
                    msg = await self._sub.next_msg(timeout=max(0.01, deadline - loop.time()))
                except nats.errors.TimeoutError:
                    # The pull was lost (a reconnect): ask again; late deliveries still come here —
                    # unless some were lost with it.
                    if await self._behind():
                        await self._resync()
                    break
                except nats.errors.ConnectionClosedError:
                    return
                status = msg.headers.get("Status") if msg.headers else None
                if status == "100":
                    continue  # idle heartbeat
                if status == "503" or (status == "409" and "Consumer Deleted" in str(msg.headers)):
                    # The durable is gone (deleted by hand, a store lost): every pull would be
                    # answered 503 at once. Made again from right after the last event handled.
                    await self._resync()
                    break
                if status:
                    break  # 404/408/409: this pull is over
                got += 1
                if not await self._on_msg(msg):
                    await self._resync()
                    break

    async def _keep_claim(self, claim: reader_claim.ReaderClaim) -> None:
        """Writes the claim again every ``RENEW_S`` (on its own task: a pull may wait longer); when
        another client took it over (this reader was taken for dead), stops reading and says so in
        ``health()``."""
        while not self._stopping and self._task is not None and not self._task.done():
            await asyncio.sleep(reader_claim.RENEW_S)
            try:
                if await claim.renew():
                    continue
            except Exception as e:  # the store not reachable now: written at the next turn
                log.warning("consumer %s: claim not renewed (%s)", self.durable, e)
                continue
            self.claim_lost = True
            log.error("consumer %s: claimed by another client (this one taken for dead): no longer read here",
                      self.durable)  # fmt: skip
            # Stops after the pull under way (not mid-event: handled and acknowledged, or neither).
            self._stopping = True
            return

    async def _on_msg(self, msg: Any) -> bool:
        """Handles and acks ``msg``; False, neither done, when deliveries before it were lost."""
        dseq = msg.metadata.sequence.consumer
        if dseq > self._dseq + 1:
            return False
        self._dseq = dseq
        seq = msg.metadata.sequence.stream
        if seq <= self.last_seq:
            self.redelivered += 1
        else:
            try:
                body = orjson.loads(msg.data)
                kind = body["kind"]
                value = codec.load_order(body[kind]) if kind == "order" else codec.load_fill(body[kind])
                if not isinstance(value.client_id, str):
                    raise TypeError(f"client_id {value.client_id!r}")
            except (ValueError, KeyError, TypeError, ArithmeticError) as e:  # Decimal's are Arithmetic
                self.unreadable += 1
                log.error("event %d unreadable (%s): skipped", seq, e)
            else:
                self.last_seq = seq  # before the callback: it may ask which event it is handling
                try:
                    self.handle(kind, value)
                except Exception:
                    # One event the client cannot take must not stop the read loop (every later fill
                    # would be lost, and a restarted client would stop on it again): logged, acked.
                    self.unreadable += 1
                    log.exception("event %d: handling it failed: skipped", seq)
                else:
                    self.handled += 1
            self.last_seq = seq
        with contextlib.suppress(nats.errors.Error):
            await msg.ack()
        return True

    async def close(self, timeout: float = 3.0) -> None:
        """Stops after the last pull's events are handled and their acks are stored."""
        self._stopping = True
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._keeper
            self._keeper = None
        if self._task is not None and not self._task.done():  # (done: the claim was lost)
            try:
                await asyncio.wait_for(self._task, EXPIRES_S + 2.0)
            except (TimeoutError, Exception):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
        self._task = None
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        end = time.monotonic() + timeout
        while self.last_seq and time.monotonic() < end:
            try:
                info = await self.jsm.consumer_info(self.stream, self.durable, timeout=1.0)
                if info.ack_floor.stream_seq >= self.last_seq:
                    break
            except Exception as e:
                log.warning("consumer %s: ack floor not confirmed (%s)", self.durable, e)
            await asyncio.sleep(0.02)
        if self._claim is not None:
            await self._claim.release()

    def health(self) -> dict[str, Any]:
        return {
            "durable": self.durable,
            "last_seq": self.last_seq,
            "handled": self.handled,
            "redelivered": self.redelivered,
            "unreadable": self.unreadable,
            "resyncs": self.resyncs,
            "claim_lost": self.claim_lost,
        }
