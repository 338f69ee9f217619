"""A trading session's private stream: the venue's own report of every order event, kept connected.

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
from typing import Any, Protocol, runtime_checkable

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport

from tickwire.errors import TickwireError
from tickwire.recovery.backoff import Backoff
from tickwire.trading.orders import OrderEvent
from tickwire.transport.ws import open_ws

log = logging.getLogger("tickwire.trading")


@runtime_checkable
class StreamGrammar(Protocol):
    """What a venue's order grammar adds when it has a private order stream."""

    venue: str
    stream_label: str  # which of the endpoint's WebSocket URLs carries it

    def stream_subscribe(self, signer: Any) -> bytes: ...

    def stream_ack(self, msg: Any) -> bool:
        """True for the venue's answer accepting ``stream_subscribe``."""
        ...

    def read_stream(self, msg: Any) -> Sequence[OrderEvent]: ...


class _Listener(WSListener):
    def __init__(self, on_text: Callable[[bytes], None], down: asyncio.Event) -> None:
        self.on_text = on_text
        self.down = down

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            self.on_text(frame.get_payload_as_bytes())
        elif frame.msg_type is WSMsgType.PING:
            transport.send_pong(frame.get_payload_as_bytes())
        elif frame.msg_type is WSMsgType.CLOSE:
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.down.set()


class PrivateStream:
    """Keeps the venue's private order stream subscribed; each event goes to ``apply``;
    ``on_resubscribed`` (the session's reconciliation) runs after every reconnect."""

    def __init__(
        self,
        grammar: StreamGrammar,
        signer: Any,
        url: str,
        apply: Callable[[OrderEvent], object],
        on_resubscribed: Callable[[], Awaitable[None]],
        *,
        connect_timeout: float = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.grammar = grammar
        self.signer = signer
        self.url = url
        self.apply = apply
        self.on_resubscribed = on_resubscribed
        self.connect_timeout = connect_timeout
        self.backoff = backoff or Backoff(base=0.05, cap=5.0)
        self.connected = False
        self.connects = 0
        self.events = 0
        self._transport: WSTransport | None = None
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._acked = asyncio.Event()
        self._closing = False

    async def start(self, timeout: float = 5.0) -> None:
        """Connects and subscribes; returns once the first subscription is made."""
        self._task = asyncio.create_task(self._run(), name=f"tickwire-{self.grammar.venue}-private")
        await asyncio.wait_for(self._up.wait(), timeout)

    async def close(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.disconnect()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _on_text(self, payload: bytes) -> None:
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("%s private stream: undecodable frame", self.grammar.venue)
            return
        if self.grammar.stream_ack(msg):
            self._acked.set()
            return
        for ev in self.grammar.read_stream(msg):
            self.events += 1
            self.apply(ev)

    async def _run(self) -> None:
        while not self._closing:
            down = asyncio.Event()
            try:
                transport, _ = await open_ws(
                    self.url,
                    lambda down=down: _Listener(self._on_text, down),  # type: ignore[misc]
                    handshake_timeout=self.connect_timeout,
                    ping_idle=20.0,
                )
            except (TickwireError, OSError) as e:
                log.warning("%s private stream: connect failed: %s", self.grammar.venue, e)
                await asyncio.sleep(self.backoff.next_delay() or 0.05)
                continue
            self._transport = transport
            self._acked.clear()
            transport.send(WSMsgType.TEXT, self.grammar.stream_subscribe(self.signer))
            try:
                await asyncio.wait_for(self._acked.wait(), self.connect_timeout)
            except TimeoutError:
                log.warning("%s private stream: subscription not acknowledged", self.grammar.venue)
                transport.disconnect()
                await down.wait()
                await asyncio.sleep(self.backoff.next_delay() or 0.05)
                continue
            self.connected = True
            self.connects += 1
            self.backoff.reset()
            if self.connects > 1:
                # Orders may have changed while the stream was away: ask the venue about each.
                try:
                    await self.on_resubscribed()
                except (TickwireError, OSError) as e:
                    log.warning("%s: reconciliation after reconnect failed: %s", self.grammar.venue, e)
            self._up.set()
            await down.wait()
            self.connected = False
            self._transport = None
            if not self._closing:
                log.warning("%s private stream lost; reconnecting", self.grammar.venue)
                await asyncio.sleep(self.backoff.next_delay() or 0.0)
