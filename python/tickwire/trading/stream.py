"""The private stream: the venue's own report of every order event, on a socket kept connected
(``kept_socket.py``; the order socket, ``order_socket.py``, is the other kind).

Events go to the same tracker ``apply`` as REST answers and reconciliation, so a fill reported by the
order's answer, by the stream and by a reconciliation query is still counted once. After every
reconnect the stream subscribes again and the session reconciles every order that was open or in
flight, so what changed while the stream was down is reported too.

Private streams carry a few messages per order, not a market's worth per second: plain orjson is fine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from tickwire.errors import DecodeError, TickwireError
from tickwire.trading.answers import read_whole
from tickwire.trading.kept_socket import KeptSocket, LoginGrammar
from tickwire.trading.orders import OrderEvent

R = TypeVar("R")

log = logging.getLogger("tickwire.trading")


@runtime_checkable
class StreamGrammar(LoginGrammar, Protocol):
    """What a venue's order grammar adds when it has a private order stream."""

    venue: str
    stream_label: str  # which of the endpoint's WebSocket URLs carries it

    def stream_subscribe(self, signer: Any) -> bytes: ...

    def stream_ack(self, msg: Any) -> bool:
        """True for the venue's answer accepting ``stream_subscribe``; may raise the venue's typed
        error for its answer refusing it (the set-up then fails at once, not at its time-out)."""
        ...

    def read_stream(self, msg: Any) -> Sequence[OrderEvent]: ...


class PrivateStream(KeptSocket):
    """Keeps the venue's private order stream subscribed; each event goes to ``apply``;
    ``on_resubscribed`` (the session's reconciliation) runs after every reconnect."""

    name = "private stream"

    def __init__(
        self,
        grammar: StreamGrammar,
        signer: Any,
        url: str,
        apply: Callable[[OrderEvent], object],
        on_resubscribed: Callable[[], Awaitable[None]],
        *,
        connect_timeout: float = 5.0,
    ) -> None:
        super().__init__(grammar.venue, url, connect_timeout=connect_timeout, grammar=grammar)
        self.grammar = grammar
        self.signer = signer
        self.apply = apply
        self.on_resubscribed = on_resubscribed
        self.events = 0
        self.malformed = 0  # messages not of the venue's form: refused, logged, reconciled after
        self._acked = asyncio.Event()
        self._refusal: TickwireError | None = None  # the subscription's, as the grammar read it
        self._reconciling: asyncio.Task[None] | None = None
        # Asked for while one ran (a reconnect or a malformed message during its queries): what the
        # running one already asked about may have changed since — it runs once more when it ends.
        self._again = False

    async def on_connected(self) -> None:
        self._acked.clear()
        self._refusal = None
        await self.log_in(self.grammar, self.signer)
        self.send(self.grammar.stream_subscribe(self.signer))
        await asyncio.wait_for(self._acked.wait(), self.connect_timeout)
        if self._refusal is not None:
            raise self._refusal
        if self.connects >= 1:
            # Orders may have changed while the stream was away: ask the venue about each — in a task
            # of its own, so the stream is up (its events applied, a watchdog seeing it) while the
            # queries, which may take rounds of time-outs, run.
            self.reconcile_soon()

    def reconcile_soon(self) -> None:
        """Starts the reconciliation, or — one running — has it run once more when it ends: an order
        it asked about before a new gap may have changed in that gap, its answer stale (before, a
        reconnect during a running reconciliation started none, and an order canceled or filled in
        the second gap stayed open here, its fills never heard)."""
        if self._reconciling is None or self._reconciling.done():
            self._reconciling = asyncio.get_running_loop().create_task(self._reconcile())
        else:
            self._again = True

    async def _reconcile(self) -> None:
        while True:
            self._again = False
            try:
                await self.on_resubscribed()
            except (TickwireError, OSError) as e:
                log.warning("%s: reconciliation after reconnect failed: %s", self.venue, e)
            if not self._again:
                return

    async def close(self) -> None:
        if self._reconciling is not None:
            self._reconciling.cancel()
            await asyncio.gather(self._reconciling, return_exceptions=True)
        await super().close()

    def on_message(self, msg: Any) -> None:
        pong = getattr(self.grammar, "pong", None)  # a venue that pings in JSON (HTX's /ws/v2)
        answer = pong(msg) if pong is not None else None
        if answer is not None:
            self.send(answer)
            return
        try:
            acked = self.grammar.stream_ack(msg)
        except TickwireError as e:  # the subscription refused: the set-up raises it
            self._refusal = e
            self._acked.set()
            return
        if acked:
            self._acked.set()
            return
        for ev in self.read(lambda m: list(self.grammar.read_stream(m)), msg) or ():
            self.events += 1
            self.apply(ev)

    def read(self, read: Callable[[Any], R], msg: Any) -> R | None:
        """``read(msg)`` (a reader of the grammar's), or None for a message not of the venue's form:
        counted and logged, kept inside the frame handler (raised out of it, picows would drop the
        connection), and what it may have reported (a fill, an end) asked of the venue instead."""
        try:
            return read_whole(read, msg)
        except DecodeError as e:
            self.malformed += 1
            log.warning("%s %s: %s", self.venue, self.name, e)
            self.reconcile_soon()
            return None
