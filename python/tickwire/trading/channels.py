"""What a trading session hears from the venue besides the answers to its own requests: the private
order stream, the order socket (requests and their acks), and — where the venue pushes over HTTP —
a webhook receiver. Each is built from the venue's grammar and the endpoint, started after the
session's REST set-up and closed with it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from tickwire.errors import NotSupported
from tickwire.streams import Endpoint
from tickwire.trading.order_socket import OrderSocket, WsOrderGrammar
from tickwire.trading.orders import Order, OrderEvent
from tickwire.trading.stream import PrivateStream, StreamGrammar
from tickwire.trading.venue import Call, OrderGrammar


class ChannelPort(Protocol):
    """What the channels need of the session."""

    venue: str
    grammar: OrderGrammar
    signer: Any
    endpoint: Endpoint
    timeout: float

    async def send_rest(self, call: Call) -> Any: ...

    async def ws_connecting(self) -> None: ...

    def ws_usage(self, answer: Any, age: float | None = None) -> None: ...

    def reset_clock(self) -> float: ...

    async def socket_refused(self, error: BaseException) -> None: ...

    def stream_event(self, ev: OrderEvent) -> Order | None: ...

    async def reconcile_open(self) -> None: ...


class Channels:
    """``private_stream``: subscribe to the venue's order stream where it has one. ``transport``
    ``"ws"``/``"auto"``: an order socket (``NotSupported`` where the endpoint has none). ``webhook``:
    ``(host, port)`` to receive the venue's webhooks on (``webhook_secret`` verifies them;
    ``webhook_url``, the address registered with the venue, defaults to the receiver's own)."""

    def __init__(
        self,
        port: ChannelPort,
        *,
        private_stream: bool,
        transport: str,
        webhook: tuple[str, int] | None = None,
        webhook_secret: str | None = None,
        webhook_url: str = "",
    ) -> None:
        self.port = port
        g = port.grammar
        self.stream = self._private_stream() if private_stream else None
        self.orders_ws: OrderSocket | None = None
        if transport != "rest":
            self.orders_ws = self._order_socket()
        self.webhook: Any = None
        self._webhook = (webhook, webhook_secret, webhook_url)
        if webhook is not None and not hasattr(g, "webhook_receiver"):
            raise NotSupported(f"{port.venue}: the venue sends no webhooks")

    def _private_stream(self) -> PrivateStream | None:
        """Built by the grammar where the stream's URL needs a REST call first (Binance USDⓈ-M's
        listenKey), else from the endpoint's ``stream_label`` socket; signing with the port's signer
        as it is now."""
        p, g = self.port, self.port.grammar
        make: Callable[..., PrivateStream] | None = getattr(g, "private_stream", None)
        url = p.endpoint.ws.get(getattr(g, "stream_label", ""), "")
        stream: PrivateStream | None = None
        if make is not None:
            stream = make(p.signer, p.endpoint, p.stream_event, p.reconcile_open, p.timeout)
        elif url and isinstance(g, StreamGrammar):
            stream = PrivateStream(g, p.signer, url, p.stream_event, p.reconcile_open)
        if stream is not None:
            self._charged(stream)
        return stream

    def _charged(self, sock: Any) -> None:
        """``sock``'s own REST step (Kraken's WebSocket token), the weight its connects cost taken
        from the budget first, the usage its log-in answers state fed back to it, and a log-in
        refused for its timestamp remedied before the next."""
        p = self.port
        sock.rest, sock.before_connect, sock.observe = p.send_rest, p.ws_connecting, p.ws_usage
        sock.cure = p.socket_refused
        if hasattr(sock, "wire"):  # a stream that makes REST calls of its own (USDⓈ-M's listenKey)
            sock.wire = getattr(p, "wire", None)

    def _order_socket(self) -> OrderSocket:
        p, g = self.port, self.port.grammar
        url = p.endpoint.ws.get(getattr(g, "ws_label", ""), "")
        if not url or not isinstance(g, WsOrderGrammar):
            raise NotSupported(f"{p.venue}: no order WebSocket on endpoint {p.endpoint.name}")
        sock = OrderSocket(g, p.signer, url, timeout=p.timeout)
        sock.reset_clock = p.reset_clock  # a refusal's reset time is on the venue's clock
        self._charged(sock)
        return sock

    async def reopen(self, swapped: Callable[[], None]) -> None:
        """Make-before-break, after the port's signer changed (a key rotation): a new private stream
        and a new order socket started with the new key, both, before either takes the old one's
        place (``swapped()`` then); the old stream is then closed, and the old order socket once no
        request on it awaits its answer (at most the port's timeout). If either new one cannot start,
        whatever did start is closed and the old ones stay, untouched; the error is raised."""
        timeout = self.port.timeout
        fresh: list[Any] = []
        try:
            stream = self._private_stream() if self.stream is not None else None
            if stream is not None:
                fresh.append(stream)
                await stream.start(timeout)
            sock = self._order_socket() if self.orders_ws is not None else None
            if sock is not None:
                fresh.append(sock)
                await sock.start(timeout)
        except BaseException:
            for new in fresh:
                await new.close()
            raise
        previous, previous_ws = self.stream, self.orders_ws
        self.stream = stream or self.stream
        self.orders_ws = sock or self.orders_ws
        swapped()
        if stream is not None and previous is not None:
            await previous.close()
        if sock is not None and previous_ws is not None:
            deadline = time.monotonic() + timeout
            while previous_ws.awaiting and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            await previous_ws.close()

    async def start(self, session: Any) -> None:
        """Connects the sockets and starts (and registers) the webhook receiver; ``session`` is what
        the receiver feeds (the trading session)."""
        if self.stream is not None:
            await self.stream.start(self.port.timeout)
        if self.orders_ws is not None:
            await self.orders_ws.start(self.port.timeout)
        where, secret, url = self._webhook
        if where is not None:
            rx = self.port.grammar.webhook_receiver(session, secret=secret)  # type: ignore[attr-defined]
            self.webhook = await rx.start(*where)
            await rx.register(session, secret=secret, url=url or rx.url)

    async def close(self) -> None:
        for c in (self.webhook, self.orders_ws, self.stream):
            if c is not None:
                await c.close()
