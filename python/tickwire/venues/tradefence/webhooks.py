"""The endpoint Tradefence POSTs its webhook events to, feeding a trading session.

**doc** (seed-venues.md): the venue POSTs events ``order.filled``, ``position.closed`` and
``alert.triggered`` — a JSON body with ``type`` and ``data`` — to the user's endpoint, which answers
200.

**default** (the simulator's sender, ``sim/venues/tradefence/hooks.py``): the body is ``{"id",
"type", "created" (ms), "data"}``; headers ``X-Tradefence-Event``, ``X-Tradefence-Delivery`` (the
event id) and, when the endpoint was registered with a secret, ``X-Tradefence-Signature``: lowercase
hex HMAC-SHA256 of the raw body keyed with the secret; an answer other than 2xx is retried;
``order.filled``'s data is the order as ``GET /v1/orders/{id}`` shows it (with its ``fills``);
``POST /v1/webhooks`` ``{"url", "events", "secret"}`` registers an endpoint.

What the receiver does: with a secret, a missing or wrong signature is answered 401 and nothing is
applied. ``order.filled`` goes into the session's tracker (its state and each fill, deduplicated
there by trade id, so a fill the REST answer already reported is counted once); ``position.closed``
and ``alert.triggered`` become typed events (:class:`PositionClosed`, :class:`Alert`) on the
session's event stream, any other type a ``("webhook", dict)`` event. An event id already applied is
answered 200 and not applied again (retries, several registrations of one URL). An event is applied
before its 200 is written and a failure to apply it is a 500, so the venue retries and nothing is
lost.
"""

from __future__ import annotations

import hmac
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.auth import HmacKey
from tickwire.trading.orders import OrderEvent
from tickwire.trading.venue import Call
from tickwire.venues.tradefence.httpd import HttpRequest, HttpServer
from tickwire.venues.tradefence.orders import Orders, dec, dumps

if TYPE_CHECKING:
    from tickwire.trading.session import TradingSession

__all__ = ["EVENTS", "Alert", "PositionClosed", "WebhookReceiver"]

log = logging.getLogger("tickwire.tradefence")

EVENTS = ("order.filled", "position.closed", "alert.triggered")
SIGNATURE_HEADER = "x-tradefence-signature"
DEFAULT_PATH = "/webhooks/tradefence"  # the document's example handler path


@dataclass(frozen=True, slots=True)
class PositionClosed:
    event_id: str
    symbol: str
    qty: Decimal  # signed: what was closed (long > 0)
    closed_by_order_id: str | None
    created_ms: int | None


@dataclass(frozen=True, slots=True)
class Alert:
    event_id: str
    alert_id: str
    symbol: str
    condition: str  # price_above | price_below
    price: Decimal | None
    bid: Decimal | None
    ask: Decimal | None
    created_ms: int | None


Apply = Callable[[OrderEvent], object]
Emit = Callable[[str, Any], None]


class WebhookReceiver:
    """``await WebhookReceiver(grammar, apply, emit, secret=...).start("127.0.0.1", 0)``; ``url`` is
    what to register. :meth:`for_session` wires it to a session's tracker and event stream.

    Counters for monitoring: ``received`` (requests), ``applied`` (events), ``duplicates``,
    ``refused`` (bad or missing signature), ``malformed``."""

    def __init__(
        self,
        grammar: Orders,
        apply: Apply,
        emit: Emit,
        *,
        secret: str | None = None,
        path: str = DEFAULT_PATH,
        remember: int = 100_000,
    ) -> None:
        self.grammar = grammar
        self.apply = apply
        self.emit = emit
        self._key = HmacKey(secret.encode()) if secret else None
        self.path = path
        self.remember = remember
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.server = HttpServer(self._handle)
        self.received = self.applied = self.duplicates = self.refused = self.malformed = 0

    def __repr__(self) -> str:
        return f"WebhookReceiver(url={self.url!r}, secret=<{'set' if self._key else 'unset'}>)"

    @classmethod
    def for_session(cls, tr: TradingSession, **kw: Any) -> WebhookReceiver:
        """A receiver applying ``order.filled`` to ``tr``'s tracker (so ``on_order``/``on_fill`` and
        ``tr.events()`` report it) and putting ``("position", PositionClosed)`` and ``("alert",
        Alert)`` on ``tr.events()``."""
        if not isinstance(tr.grammar, Orders):
            raise TypeError(f"a Tradefence session is needed, not {tr.venue!r}")
        # The session has no public way to add an event kind to its stream yet (see the report).
        return cls(tr.grammar, tr.tracker.apply, tr.emit, **kw)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> WebhookReceiver:
        await self.server.start(host, port)
        return self

    async def close(self) -> None:
        await self.server.close()

    @property
    def url(self) -> str:
        host = f"[{self.server.host}]" if ":" in self.server.host else self.server.host
        return f"http://{host}:{self.server.port}{self.path}"

    async def register(
        self, tr: TradingSession, secret: str | None = None, events: Sequence[str] = EVENTS, url: str = ""
    ) -> str:
        """Registers ``url`` (default: this receiver's) with the venue (``POST /v1/webhooks``, a
        default) and returns the webhook's id. ``secret`` is what the venue will sign with: the
        receiver's own unless given (a different one is for testing the refusal)."""
        body: dict[str, Any] = {"url": url or self.url, "events": list(events)}
        if secret:
            body["secret"] = secret
        answer = await tr.send(Call("POST", "/v1/webhooks", body=dumps(body)))
        return str(answer["id"])

    # one delivery ------------------------------------------------------------------------------

    def signed(self, req: HttpRequest) -> bool:
        if self._key is None:
            return True
        got = req.headers.get(SIGNATURE_HEADER, "")
        return hmac.compare_digest(self._key.hexdigest(req.body), got.lower())

    async def _handle(self, req: HttpRequest) -> tuple[int, bytes]:
        self.received += 1
        if req.path != self.path:
            return 404, b"not found"
        if req.method != "POST":
            return 405, b"POST only"
        if not self.signed(req):
            self.refused += 1
            log.warning("tradefence webhook: bad or missing signature; refused")
            return 401, b"bad signature"
        try:
            event = orjson.loads(req.body)
            event_id, kind, data = str(event["id"]), str(event["type"]), event["data"]
            if not isinstance(data, dict):
                raise TypeError("data")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self.malformed += 1
            return 400, b"not a Tradefence event"
        if event_id in self._seen:
            self.duplicates += 1
            return 200, b"OK"
        self.deliver(event_id, kind, data, event.get("created"))
        self._seen[event_id] = None
        while len(self._seen) > self.remember:
            self._seen.popitem(last=False)
        self.applied += 1
        return 200, b"OK"

    def deliver(self, event_id: str, kind: str, data: dict[str, Any], created: Any) -> None:
        """Applies one event (raising leaves it unacknowledged: the venue sends it again)."""
        created_ms = int(created) if isinstance(created, int) else None
        if kind == "order.filled":
            for ev in self.grammar.read_order(data):
                self.apply(replace(ev, source="stream"))
        elif kind == "position.closed":
            qty = Decimal(str(data["quantity"]))
            signed = -qty if str(data.get("side", "")).upper() == "SHORT" else qty
            closer = data.get("closed_by_order_id")
            closed = PositionClosed(event_id, str(data["symbol"]), signed, closer and str(closer), created_ms)
            self.emit("position", closed)
        elif kind == "alert.triggered":
            alert = Alert(
                event_id=event_id,
                alert_id=str(data.get("alert_id", "")),
                symbol=str(data["symbol"]),
                condition=str(data.get("condition", "")),
                price=dec(data.get("price")),
                bid=dec(data.get("bid")),
                ask=dec(data.get("ask")),
                created_ms=created_ms,
            )
            self.emit("alert", alert)
        else:
            self.emit("webhook", {"id": event_id, "type": kind, "data": data})
