"""Tradefence webhooks (seed-venues.md): the venue POSTs ``order.filled``, ``position.closed`` and
``alert.triggered`` events to the endpoint a client registered, which answers 200.

Defaults where the document is silent: ``POST /v1/webhooks`` ``{"url", "events"?, "secret"?}``
registers an endpoint (201 ``{"id", "url", "events"}``; ``GET`` lists, ``DELETE /v1/webhooks/{id}``
removes). Each event is one POST of ``{"id", "type", "created" (ms), "data"}`` with headers
``X-Tradefence-Event``, ``X-Tradefence-Delivery`` and, when a secret was registered,
``X-Tradefence-Signature``: lowercase hex HMAC-SHA256 of the raw body keyed with the secret. An
answer other than 2xx, a refused connection or no answer within ``webhook_timeout`` is retried
``webhook_retries`` times (profile, default 3) after ``webhook_retry`` x 2^n seconds. ``alert.triggered``
comes from price alerts: ``POST /v1/alerts`` ``{"symbol", "condition": "price_above"|"price_below",
"price"}`` fires once when the best bid rises to (or the best ask falls to) the price. Every delivery
attempt is recorded in ``deliveries`` (the ground truth for tests).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from tickwire.sim.engine import EXEC_TRADE, FILLED, Fill, Order
from tickwire.sim.http import Request, Response, json_response

if TYPE_CHECKING:
    from tickwire.sim.venues.context import VenueContext

EVENTS = ("order.filled", "position.closed", "alert.triggered")


@dataclass
class Hook:
    id: str
    client: str
    url: str
    events: list[str]
    secret: str = field(default="", repr=False)


@dataclass
class Alert:
    id: str
    client: str
    symbol: str
    above: bool
    price: int  # ticks
    triggered: bool = False


async def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """One HTTP/1.1 POST; the response status. Plain http only: webhook receivers in tests run on
    loopback."""
    u = urlsplit(url)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(u.hostname, u.port or 80), timeout)
    try:
        head = [f"POST {u.path or '/'}{'?' + u.query if u.query else ''} HTTP/1.1", f"Host: {u.netloc}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head += [f"Content-Length: {len(body)}", "Connection: close"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        line = await asyncio.wait_for(reader.readline(), timeout)
        return int(line.split(b" ", 2)[1])
    finally:
        writer.close()


class TradefenceHooks:
    def __init__(self, ctx: VenueContext, order_json: Callable[[Order], dict[str, Any]]) -> None:
        self.ctx = ctx
        self.order_json = order_json  # an order as the REST API shows it (order.filled's data)
        self.hooks: dict[str, Hook] = {}
        self.alerts: dict[str, Alert] = {}
        self.deliveries: list[dict[str, Any]] = []
        # (account, symbol) -> (position now, id of the order that last changed it, position before it)
        self.positions: dict[tuple[str, str], tuple[int, int, int]] = {}
        self.retries = int(ctx.profile.get("webhook_retries", 3))
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        ctx.engine.listeners.append(self.on_order)

    # REST --------------------------------------------------------------------------------------

    def route(self, req: Request, client: str) -> Response | None:
        if (req.method, req.path) == ("POST", "/v1/webhooks"):
            b = req.json_object()
            url, events = b.get("url"), b.get("events", list(EVENTS))
            if not isinstance(url, str) or urlsplit(url).scheme != "http" or not isinstance(events, list):
                return json_response({"code": 400, "message": "url (http://…) and events are required"}, 400)
            if any(e not in EVENTS for e in events):
                return json_response({"code": 400, "message": f"events must be among {list(EVENTS)}"}, 400)
            new = self.register(client, url, [str(e) for e in events], str(b.get("secret", "")))
            return json_response(self._hook_json(new), 201)
        if (req.method, req.path) == ("GET", "/v1/webhooks"):
            mine = [self._hook_json(h) for h in self.hooks.values() if h.client == client]
            return json_response({"webhooks": mine})
        if req.method == "DELETE" and req.path.startswith("/v1/webhooks/"):
            hook = self.hooks.get(req.path.rsplit("/", 1)[1])
            if hook is None or hook.client != client:
                return json_response({"code": 404, "message": "webhook not found"}, 404)
            del self.hooks[hook.id]
            return json_response(self._hook_json(hook))
        if (req.method, req.path) == ("POST", "/v1/alerts"):
            return self._alert(req.json_object(), client)
        return None

    def register(self, client: str, url: str, events: list[str], secret: str = "") -> Hook:
        hook = Hook(f"wh_{next(self._ids)}", client, url, events, secret)
        self.hooks[hook.id] = hook
        return hook

    @staticmethod
    def _hook_json(h: Hook) -> dict[str, Any]:
        return {"id": h.id, "url": h.url, "events": h.events}

    def _alert(self, b: dict[str, Any], client: str) -> Response:
        v = self.ctx
        symbol, cond = str(b.get("symbol", "")), b.get("condition")
        if symbol not in v.books:
            return json_response({"code": 1004, "message": f"invalid symbol {symbol}"}, 400)
        try:
            ticks = Decimal(str(b["price"])) / v.instruments[symbol].tick
            if cond not in ("price_above", "price_below") or ticks != ticks.to_integral_value():
                raise InvalidOperation
        except (KeyError, InvalidOperation):
            msg = "condition (price_above|price_below) and price are required"
            return json_response({"code": 400, "message": msg}, 400)
        alert = Alert(f"al_{next(self._ids)}", client, symbol, cond == "price_above", int(ticks))
        self.alerts[alert.id] = alert
        body = {"id": alert.id, "symbol": symbol, "condition": cond, "price": b["price"]}
        return json_response(body, 201)

    # events ------------------------------------------------------------------------------------

    def on_order(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        if exec_type != EXEC_TRADE or fill is None:
            return
        if o.status == FILLED:
            self.emit(o.account, "order.filled", self.order_json(o))
        # The position before the order that closes it (an order may close it over several fills).
        key = (o.account, o.symbol)
        last, order_id, before = self.positions.get(key, (0, 0, 0))
        if order_id != o.id:
            before = last
        now = self.ctx.engine.ledger.position(o.account, o.symbol).lots
        self.positions[key] = (now, o.id, before)
        if before and not now:
            fq = self.ctx.fmt[o.symbol][1]
            data = {
                "symbol": o.symbol,
                "side": "LONG" if before > 0 else "SHORT",
                "quantity": fq(abs(before)),
            }
            data["closed_by_order_id"] = str(o.id)
            self.emit(o.account, "position.closed", data)

    def on_step(self, symbol: str) -> None:
        if not self.alerts:
            return
        book = self.ctx.books[symbol]
        bid, ask = book.bids.best(), book.asks.best()
        fp = self.ctx.fmt[symbol][0]
        for a in self.alerts.values():
            if a.triggered or a.symbol != symbol:
                continue
            hit = bid is not None and bid >= a.price if a.above else ask is not None and ask <= a.price
            if hit:
                a.triggered = True
                data: dict[str, Any] = {"alert_id": a.id, "symbol": symbol, "price": fp(a.price)}
                data.update(condition="price_above" if a.above else "price_below")
                data.update(
                    bid=fp(bid) if bid is not None else None, ask=fp(ask) if ask is not None else None
                )
                self.emit(a.client, "alert.triggered", data)

    def emit(self, client: str, type_: str, data: dict[str, Any]) -> None:
        targets = [h for h in self.hooks.values() if h.client == client and type_ in h.events]
        if not targets:
            return
        event = {
            "id": f"evt_{next(self._ids)}",
            "type": type_,
            "created": int(time.time() * 1000),
            "data": data,
        }
        body = orjson.dumps(event)
        loop = asyncio.get_running_loop()
        for h in targets:
            t = loop.create_task(self._deliver(h, str(event["id"]), type_, body))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)

    async def _deliver(self, h: Hook, event_id: str, type_: str, body: bytes) -> None:
        headers = {"Content-Type": "application/json", "X-Tradefence-Event": type_}
        headers["X-Tradefence-Delivery"] = event_id
        if h.secret:
            headers["X-Tradefence-Signature"] = hmac.new(h.secret.encode(), body, hashlib.sha256).hexdigest()
        record: dict[str, Any] = {"event": event_id, "type": type_, "hook": h.id, "url": h.url, "attempts": 0}
        self.deliveries.append(record)
        for attempt in range(self.retries + 1):
            record["attempts"] = attempt + 1
            try:
                status = await post(h.url, body, headers, self.ctx.interval("webhook_timeout"))
            except (TimeoutError, OSError, ValueError, IndexError) as e:
                record["status"], record["error"] = None, type(e).__name__
            else:
                record["status"] = status
                if 200 <= status < 300:
                    return
            if attempt < self.retries:
                await asyncio.sleep(self.ctx.interval("webhook_retry") * 2**attempt)

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
