"""Tradefence order entry over REST for ``tickwire.trade("tradefence")`` (seed-venues.md).

**doc**: ``POST /v1/orders`` with ``symbol``, ``type`` LIMIT/MARKET, ``side`` BUY/SELL, ``quantity``,
``price``, ``strategy``; ``GET /v1/orders/{id}``; ``POST /v1/batch`` with ``operations`` of
``{"action", "data"}`` (``CREATE_ORDER``, ``UPDATE_POSITION``, ``CANCEL_ORDER``); Bearer tokens
(``signer.py``); error codes 1001-1004 and 2001 (``trading/codes.py``). Quantities and prices are JSON
numbers in the document's example; tickwire writes them as exact number literals (never through a
float).

**default** — where the document is silent, this grammar talks to what the simulator chose
(``sim/venues/tradefence/trade.py``), and a user holding the real specification overrides the class
attributes or methods:

- Client order id: the document has none. tickwire puts its client id in the documented free-text
  ``strategy`` field (``tag_field``; the session's ``strategy=`` option is the id's prefix, so the
  field still names the strategy), and reads it back from every order. Exactly once is kept by never
  resending and reconciling a lost answer by that tag: ``GET /v1/orders?status=ALL&strategy=<id>``,
  then the open orders, then ``GET /v1/fills``. Nothing says the real venue deduplicates on it.
- ``time_in_force`` (IOC/FOK) is sent only when not GTC; post-only and reduce-only orders do not
  exist on the venue and are refused before sending.
- Cancel is the documented batch's ``CANCEL_ORDER`` with ``{"order_id"}``; cancel-all is one batch.
  The venue's id is learnt from every answer; a cancel by client id of an order this session never
  saw is ``OrderNotFound`` without a request (``order_status`` finds it first).
- ``GET /v1/orders`` (``status`` OPEN|ALL, ``symbol``, ``strategy``) → ``{"orders": [...]}``;
  ``GET /v1/fills`` (``symbol``, ``since`` ms) → ``{"fills": [...]}``; ``GET /v1/account`` →
  ``{"balances": [{"asset", "available", "reserved"}], "positions": [...]}``; ``GET /v1/instruments``
  (public) → ``{"instruments": [...]}``; an order states ``filled_quantity``, ``average_price`` and
  its executions (``fills``); errors are ``{"code", "message"}`` with a 4xx status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from tickwire.audit import excerpt
from tickwire.errors import OrderNotFound, TickwireError
from tickwire.trading.codes import error_for, invalid_order
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent, OrderType, Side, Status, Tif
from tickwire.trading.rules import InstrumentRules, from_seed_instrument
from tickwire.trading.venue import Balance, Call, Position
from tickwire.venues.tradefence import limits as rate

__all__ = ["Orders", "dumps"]

_STATUS: dict[str, Status] = {
    "NEW": "new",
    "PARTIALLY_FILLED": "partially_filled",
    "FILLED": "filled",
    "CANCELED": "canceled",
    "CANCELLED": "canceled",
    "EXPIRED": "expired",
    "REJECTED": "rejected",
}
_TIF: dict[str, Tif] = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK"}
# Answers whose payload is one list: the listing keys of the default endpoints and the batch's.
_LISTS = ("orders", "fills", "instruments", "results")
# No batch size is documented; a cancel-all sends this many CANCEL_ORDERs per batch.
CANCEL_BATCH = 50
# How many (client id, venue order id) pairs are remembered, the least recently read forgotten first
# (as Coinbase's ``OrderIds``): one is learnt from every order read, and a session placing 100 orders a
# second would otherwise keep every one for its life. The tracker keeps each order's venue id while it
# tracks it (``Order.order_id``, what cancels and queries name first); a status query of an id forgotten
# here lists by the ``strategy`` tag instead, and a cancel by client id alone of one is ``OrderNotFound``
# until ``order_status`` finds it (as for an order this session never saw).
MAX_IDS = 100_000


def dumps(obj: Mapping[str, Any]) -> str:
    """JSON text with every ``Decimal`` written as an exact number literal (``150.5``), as the
    document's example sends numbers; nested mappings and lists are written the same way."""

    def one(v: Any) -> str:
        if isinstance(v, Decimal):
            return format_decimal(v)
        if isinstance(v, Mapping):
            return "{" + ",".join(f"{orjson.dumps(str(k)).decode()}:{one(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list | tuple):
            return "[" + ",".join(one(x) for x in v) + "]"
        return orjson.dumps(v).decode()

    return one(obj)


def dec(x: Any) -> Decimal | None:
    return Decimal(str(x)) if x not in (None, "") else None


def ms_ns(ms: Any) -> int | None:
    return int(ms) * 1_000_000 if ms not in (None, "") else None


def side_of(s: Any) -> Side:
    return "buy" if str(s).upper() == "BUY" else "sell"


class Orders:
    """The ``OrderGrammar`` of Tradefence (see the module docstring for what is documented)."""

    venue = "tradefence"
    # Rate limits (``tickwire.limits``): as the venue counts them (see ``limits``).
    limits = rate.LIMITS
    cost = staticmethod(rate.cost)
    tag_field: ClassVar[str] = "strategy"  # where the client id travels (no documented client id)

    def __init__(self) -> None:
        # client id -> the venue's order id, from every order read (cancel needs the venue's id).
        self._ids: dict[str, str] = {}

    # requests ----------------------------------------------------------------------------------

    def order_body(self, order: Order) -> dict[str, Any]:
        """The documented ``POST /v1/orders`` fields (and a batch ``CREATE_ORDER``'s ``data``)."""
        if order.post_only or order.reduce_only:
            raise invalid_order(f"{self.venue}: post-only and reduce-only orders do not exist")
        body: dict[str, Any] = {
            "symbol": order.symbol,
            "type": order.type.upper(),
            "side": order.side.upper(),
            "quantity": order.qty,
        }
        if order.type == "limit":
            assert order.price is not None
            body["price"] = order.price
            if order.tif != "GTC":
                body["time_in_force"] = order.tif
        body[self.tag_field] = order.client_id
        return body

    def new_order(self, order: Order) -> Call:
        return Call("POST", "/v1/orders", body=dumps(self.order_body(order)))

    def venue_id(self, client_id: str | None, order_id: str | None) -> str | None:
        return order_id or (self._ids.get(client_id) if client_id else None)

    def status(
        self, symbol: str, client_id: str | None, order_id: str | None, since_ms: int | None = None
    ) -> Call:
        oid = self.venue_id(client_id, order_id)
        if oid is not None:
            return Call("GET", f"/v1/orders/{oid}")
        return Call("GET", "/v1/orders", {"status": "ALL", "symbol": symbol, self.tag_field: client_id or ""})

    def cancel(self, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        oid = self.venue_id(client_id, order_id)
        if oid is None:
            raise OrderNotFound(f"{self.venue}: order {client_id} has no known venue id (order_status first)")
        return self.batch_call([{"action": "CANCEL_ORDER", "data": {"order_id": oid}}])

    @staticmethod
    def batch_call(operations: Sequence[Mapping[str, Any]]) -> Call:
        return Call("POST", "/v1/batch", body=dumps({"operations": list(operations)}))

    def open_orders(self, symbol: str | None) -> Call:
        return Call("GET", "/v1/orders", {"status": "OPEN", **({"symbol": symbol} if symbol else {})})

    def cancel_all(self, symbol: str) -> Call | None:
        return None  # none documented: the session lists the open orders and sends cancel_orders

    def cancel_orders(self, symbol: str, orders: Sequence[Order]) -> list[Call]:
        ops = [
            {"action": "CANCEL_ORDER", "data": {"order_id": oid}}
            for o in orders
            if (oid := self.venue_id(o.client_id or None, o.order_id)) is not None
        ]
        return [self.batch_call(ops[i : i + CANCEL_BATCH]) for i in range(0, len(ops), CANCEL_BATCH)]

    def fills(self, symbol: str, since_ms: int | None) -> Call:
        return Call("GET", "/v1/fills", {"symbol": symbol, **({"since": str(since_ms)} if since_ms else {})})

    def balances(self) -> Call:
        return Call("GET", "/v1/account")

    def positions(self) -> Call:
        return Call("GET", "/v1/account")  # the same answer lists both

    def instruments(self) -> Call:
        return Call("GET", "/v1/instruments", signed=False)

    # answers -----------------------------------------------------------------------------------

    def read_answer(self, status: int, body: bytes) -> Any:
        """The decoded answer (the list of a listing or batch answer); a 4xx/5xx as the venue's typed
        error by its ``code`` (1001-1004, 2001), else by the HTTP status."""
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            msg = None
        if status >= 400 or not isinstance(msg, dict | list):
            code = msg.get("code") if isinstance(msg, dict) else None
            text = str(msg.get("message", "")) if isinstance(msg, dict) else excerpt(body)
            raise error_for(self.venue, code, text, http_status=status)
        if isinstance(msg, dict):
            for key in _LISTS:
                if isinstance(msg.get(key), list) and len(msg) == 1:
                    return msg[key]
        return msg

    def unwrap(self, item: Any) -> Any:
        """One batch result's payload, or its error raised."""
        if isinstance(item, dict) and "action" in item and "result" in item:
            result, st = item["result"], int(item.get("status", 200))
            if st >= 300:
                code = result.get("code") if isinstance(result, dict) else None
                text = str(result.get("message", "")) if isinstance(result, dict) else ""
                raise error_for(self.venue, code, text, http_status=st)
            return result
        return item

    def read_order(self, body: Any) -> list[OrderEvent]:
        """The order's state, then one event per execution it lists. A list (a listing, a batch
        answer) is read by its first entry; an empty one is :class:`OrderNotFound`."""
        if isinstance(body, list):
            if not body:
                raise OrderNotFound(f"{self.venue}: no such order")
            body = body[0]
        o = self.unwrap(body)
        oid, cid = str(o["id"]), str(o.get(self.tag_field) or "")
        if cid:
            ids = self._ids
            if ids.get(cid) != oid or next(reversed(ids)) != cid:
                ids.pop(cid, None)  # read again: the newest, the last forgotten
                ids[cid] = oid
                while len(ids) > MAX_IDS:
                    del ids[next(iter(ids))]
        kind: OrderType = "market" if o.get("type") == "MARKET" else "limit"
        filled = dec(o.get("filled_quantity")) or Decimal(0)
        state = OrderEvent(
            source="rest",
            client_id=cid,
            order_id=oid,
            status=_STATUS.get(str(o.get("status")), "new"),
            filled_cum=filled,
            avg_price=dec(o.get("average_price")) if filled > 0 else None,
            ts_ns=ms_ns(o.get("created")),
            venue=self.venue,
            symbol=str(o["symbol"]),
            side=side_of(o["side"]),
            type=kind,
            tif=_TIF.get(str(o.get("time_in_force")), "GTC"),
            price=dec(o.get("price")) if kind == "limit" else None,
            qty=Decimal(str(o["quantity"])),
        )
        fills = [self.fill(f, o) for f in o.get("fills") or ()]
        return [state, *(OrderEvent(source="rest", client_id=cid, order_id=oid, fill=f) for f in fills)]

    def fill(self, t: Mapping[str, Any], order: Mapping[str, Any] | None = None) -> Fill:
        """An execution, from ``/v1/fills`` or an order's ``fills`` (which take the order's fields)."""
        src = {**(order or {}), **t}
        return Fill(
            venue=self.venue,
            symbol=str(src["symbol"]),
            client_id=str(src.get(self.tag_field) or ""),
            order_id=str(t.get("order_id") or (order or {}).get("id") or "") or None,
            trade_id=str(t["id"]),
            side=side_of(src["side"]),
            price=Decimal(str(t["price"])),
            qty=Decimal(str(t["quantity"])),
            fee=dec(t.get("fee")) or Decimal(0),
            fee_asset=t.get("fee_asset") or None,
            liquidity="maker" if t.get("liquidity") == "MAKER" else "taker",
            ts_ns=ms_ns(t.get("time")),
        )

    def read_fills(self, body: Any) -> list[Fill]:
        return [self.fill(t) for t in body]

    def read_balances(self, body: Any) -> dict[str, Balance]:
        out: dict[str, Balance] = {}
        for b in body.get("balances", ()):
            out[str(b["asset"])] = Balance(
                str(b["asset"]), dec(b.get("available")) or Decimal(0), dec(b.get("reserved")) or Decimal(0)
            )
        return out

    def read_positions(self, body: Any) -> dict[str, Position]:
        """``positions`` of ``/v1/account``: ``quantity`` unsigned with ``side`` LONG/SHORT."""
        out: dict[str, Position] = {}
        for p in body.get("positions", ()):
            q = Decimal(str(p["quantity"]))
            out[str(p["symbol"])] = Position(
                str(p["symbol"]), -q if str(p.get("side")).upper() == "SHORT" else q
            )
        return out

    def read_rules(self, body: Any) -> dict[str, InstrumentRules]:
        return {str(i["symbol"]): from_seed_instrument(i) for i in body}

    def not_found(self, error: TickwireError) -> bool:
        return isinstance(error, OrderNotFound)

    def webhook_receiver(self, session: Any, **kw: Any) -> Any:
        """The session-side component for webhooks: a :class:`~.webhooks.WebhookReceiver` feeding
        ``session`` (``secret=``, ``path=``); the caller starts it on its host and port."""
        from tickwire.venues.tradefence.webhooks import WebhookReceiver  # it imports this module

        return WebhookReceiver.for_session(session, **kw)
