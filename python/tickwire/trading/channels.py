"""What a trading session hears from the venue besides the answers to its own requests: the private
order stream, the order socket (requests and their acks), and — where the venue pushes over HTTP —
a webhook receiver. Each is built from the venue's grammar and the endpoint, started after the
session's REST set-up and closed with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from tickwire.errors import NotSupported
from tickwire.streams import Endpoint
from tickwire.trading.orders import Order, OrderEvent
from tickwire.trading.stream import OrderSocket, PrivateStream, StreamGrammar, WsOrderGrammar
from tickwire.trading.venue import Call, OrderGrammar


class ChannelPort(Protocol):
    """What the channels need of the session."""

    venue: str
    grammar: OrderGrammar
    signer: Any
    endpoint: Endpoint
    timeout: float

    async def send_rest(self, call: Call) -> Any: ...

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
        g, ep = port.grammar, port.endpoint
        self.stream = self._private_stream() if private_stream else None
        self.orders_ws: OrderSocket | None = None
        if transport != "rest":
            url = ep.ws.get(getattr(g, "ws_label", ""), "")
            if not url or not isinstance(g, WsOrderGrammar):
                raise NotSupported(f"{port.venue}: no order WebSocket on endpoint {ep.name}")
            self.orders_ws = OrderSocket(g, port.signer, url, timeout=port.timeout)
        for sock in (self.stream, self.orders_ws):
            if sock is not None:
                sock.rest = port.send_rest  # a socket's own REST step (Kraken's WebSocket token)
        self.webhook: Any = None
        self._webhook = (webhook, webhook_secret, webhook_url)
        if webhook is not None and not hasattr(g, "webhook_receiver"):
            raise NotSupported(f"{port.venue}: the venue sends no webhooks")

    def _private_stream(self) -> PrivateStream | None:
        """Built by the grammar where the stream's URL needs a REST call first (Binance USDⓈ-M's
        listenKey), else from the endpoint's ``stream_label`` socket."""
        p, g = self.port, self.port.grammar
        make: Callable[..., PrivateStream] | None = getattr(g, "private_stream", None)
        if make is not None:
            return make(p.signer, p.endpoint, p.stream_event, p.reconcile_open, p.timeout)
        url = p.endpoint.ws.get(getattr(g, "stream_label", ""), "")
        if url and isinstance(g, StreamGrammar):
            return PrivateStream(g, p.signer, url, p.stream_event, p.reconcile_open)
        return None

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
