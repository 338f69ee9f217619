"""Coinbase Advanced Trade REST order entry on the matching engine. venues.md §5.2 names only the
endpoint; the request and response shapes follow the public API reference (Create Order, Batch Cancel,
Get Order): ``POST /api/v3/brokerage/orders`` with ``client_order_id``, ``product_id``, ``side`` and
``order_configuration`` of ``market_market_ioc`` (``base_size``) or ``limit_limit_gtc``
(``base_size``, ``limit_price``, ``post_only``); ``POST /api/v3/brokerage/orders/batch_cancel``;
``GET /api/v3/brokerage/orders/historical/{order_id}``; ``limit_limit_fok`` and ``sor_limit_ioc``
configurations; ``POST /api/v3/brokerage/orders/edit`` (``order_id``, ``price``, ``size``) for GTC limit
orders. Client order ids are idempotent: a retry returns the order already created. A post-only
limit that would take is refused (``INVALID_LIMIT_PRICE_POST_ONLY``), as the reference says of
``post_only``. ``GET /api/v3/brokerage/orders/historical/batch`` and ``.../fills`` are in
``metadata.py``. The WebSocket ``user`` channel pushes every order event of the JWT's key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tickwire.sim.engine import EngineError, Fill, Order
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.market import ASK, BID
from tickwire.sim.venues.coinbase import metadata
from tickwire.sim.venues.coinbase.metadata import order_id as _oid
from tickwire.sim.venues.coinbase.metadata import ts
from tickwire.sim.venues.private import PrivateStreams

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext
    from tickwire.sim.ws import Conn

STATUS = {
    "NEW": "OPEN",
    "PARTIALLY_FILLED": "OPEN",
    "FILLED": "FILLED",
    "CANCELED": "CANCELLED",
    "EXPIRED": "EXPIRED",
}

TIF = {"GTC": "GOOD_UNTIL_CANCELLED", "IOC": "IMMEDIATE_OR_CANCEL", "FOK": "FILL_OR_KILL"}


# A message on a connection's sequence: (connection, channel, events) -> the frame, numbered.
Frame = Callable[["Conn", str, list[Any]], bytes]

# The instrument's limits as order-creation failure reasons (the preview's names).
LIMIT_FAILURES = {
    "min_qty": "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
    "max_qty": "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE",
    "notional": "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL",
}
# An order off a grid changed by ``Simulator.set_grid``: a create's NewOrderFailureReason (a limit
# price off ``price_increment``, a size off ``base_increment``; under ``base_min_size`` the preview's
# name, as above), an edit's PreviewFailureReason (SDK ``EditOrderError.preview_failure_reason``).
GRID_FAILURES = {
    "tick": "INVALID_LIMIT_PRICE_PRECISION",
    "lot": "INVALID_SIZE_PRECISION",
    "min_qty": LIMIT_FAILURES["min_qty"],
}
EDIT_GRID_FAILURES = {
    "tick": "PREVIEW_INVALID_PRICE_PRECISION",
    "lot": "PREVIEW_INVALID_SIZE_PRECISION",
    "min_qty": "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
}


class CoinbaseOrders:
    def __init__(self, ctx: VenueContext, frame: Frame) -> None:
        self.ctx = ctx
        self.frame = frame
        self.streams = PrivateStreams(ctx.subscribers, ctx.private_faults)
        ctx.engine.listeners.append(self.on_order)

    def user_subscribe(self, conn: Conn, key: str, on: bool) -> None:
        topic = f"user:{key}"
        if not on:
            conn.endpoint.unsubscribe(conn, topic)
            return
        conn.endpoint.subscribe(conn, topic)
        opened = [self.user_order(o) for o in self.ctx.engine.open_orders(key, None)]
        conn.send_text(self.frame(conn, "user", [{"type": "snapshot", "orders": opened}]))

    def on_order(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        event = [{"type": "update", "orders": [self.user_order(o)]}]
        self.streams.push(lambda c: self.frame(c, "user", event), topics=[f"user:{o.account}"])

    def user_order(self, o: Order) -> dict[str, Any]:
        """An order as the ``user`` channel shows it (the SDK's ``UserOrders`` fields)."""
        body = self.order_json(o)
        fp, fq = self.ctx.fmt[o.symbol]
        return {
            "order_id": body["order_id"],
            "client_order_id": o.client_id,
            "product_id": o.symbol,
            "order_side": body["side"],
            "order_type": "Market" if o.type == "MARKET" else "Limit",
            "status": body["status"],
            "cumulative_quantity": body["filled_size"],
            "leaves_quantity": fq(o.qty - o.filled if o.open else 0),
            "avg_price": body["average_filled_price"],
            "total_fees": "0",
            "creation_time": ts(o.time_ms),
            "limit_price": fp(o.price) if o.price is not None else "",
            "time_in_force": body["time_in_force"],
            "post_only": o.post_only,
            "number_of_fills": body["number_of_fills"],
            "filled_value": body["filled_value"],
            "cancel_reason": "",
            "reject_reason": "",
            "product_type": "SPOT",
        }

    def route(self, ep: VenueServer, req: Request, account: str) -> Response | None:
        p = "/api/v3/brokerage/orders"
        if (req.method, req.path) == ("POST", p):
            return self.create(ep, account, req.json_object())
        if (req.method, req.path) == ("POST", p + "/edit"):
            return self.edit(account, req.json_object(), ep.now_ms())
        if (req.method, req.path) == ("POST", p + "/batch_cancel"):
            ids = req.json_object().get("order_ids")
            return json_response({"results": [self.cancel(account, str(i)) for i in (ids or [])]})
        if (req.method, req.path) == ("GET", p + "/historical/batch"):
            return json_response(metadata.listing(self.ctx.engine, account, self.order_json, req.raw_query))
        if (req.method, req.path) == ("GET", p + "/historical/fills"):
            return json_response(metadata.fills(self.ctx.engine, account, self.ctx.fmt, req.raw_query))
        if req.method == "GET" and req.path.startswith(p + "/historical/"):
            order = self._find(account, req.path.rsplit("/", 1)[1])
            if order is None:
                return json_response({"error": "NOT_FOUND", "message": "order not found"}, 404)
            return json_response({"order": self.order_json(order)})
        return None

    def _find(self, account: str, ref: str) -> Order | None:
        try:
            order = self.ctx.engine.orders.get(uuid.UUID(ref).int)
        except ValueError:
            return None
        return order if order is not None and order.account == account else None

    def order_json(self, o: Order) -> dict[str, Any]:
        fp, fq = self.ctx.fmt[o.symbol]
        inst = self.ctx.instruments[o.symbol]
        filled_value = Decimal(o.quote) * inst.tick * inst.lot
        avg = filled_value / inst.qty(o.filled) if o.filled else Decimal(0)
        return {
            "order_id": _oid(o),
            "product_id": o.symbol,
            "client_order_id": o.client_id,
            "side": "BUY" if o.side == BID else "SELL",
            "status": STATUS[o.status],
            "filled_size": fq(o.filled),
            "filled_value": str(filled_value),
            "average_filled_price": str(avg),
            "order_type": o.type,
            "order_configuration": self._config(o, fp, fq),
            "time_in_force": TIF[o.tif],
            "created_time": ts(o.time_ms),
            "last_fill_time": ts(o.fills[-1].time_ms) if o.fills else None,
            "number_of_fills": str(len(o.fills)),
            "total_fees": "0",
            "fee": "0",
            "completion_percentage": str(round(o.filled * 100 / o.qty)) if o.qty else "0",
            "pending_cancel": False,
            "size_in_quote": False,
            "settled": not o.open,
            "product_type": "SPOT",
            "reject_reason": "",
            "reject_message": "",
            "cancel_message": "",
            "order_placement_source": "RETAIL_ADVANCED",
        }

    @staticmethod
    def _config(o: Order, fp: Any, fq: Any) -> dict[str, Any]:
        if o.type == "MARKET":
            return {"market_market_ioc": {"base_size": fq(o.qty)}}
        limit = {"base_size": fq(o.qty), "limit_price": fp(o.price or 0)}
        if o.tif == "FOK":
            return {"limit_limit_fok": limit}
        if o.tif == "IOC":
            return {"sor_limit_ioc": limit}
        return {"limit_limit_gtc": {**limit, "post_only": o.post_only}}

    def create(self, ep: VenueServer, account: str, body: dict[str, Any]) -> Response:
        v = self.ctx
        cid = str(body.get("client_order_id", ""))
        prior = v.engine.by_client.get((account, cid)) if cid else None
        if prior is not None:
            return self._ok(prior)
        product = str(body.get("product_id", ""))
        if product not in v.books:
            return self._fail("INVALID_PRODUCT_ID", "UNKNOWN_FAILURE_REASON")
        if product in v.status:
            # Flagged trading_disabled or cancel_only. Which reason Coinbase gives then is not
            # documented; UNTRADABLE_PRODUCT is the create's one that names the product.
            return self._fail("UNTRADABLE_PRODUCT", "UNTRADABLE_PRODUCT")
        inst = v.instruments[product]
        try:
            side = {"BUY": BID, "SELL": ASK}[str(body["side"])]
            conf = body["order_configuration"]
            post_only = False
            if "market_market_ioc" in conf:
                c, kind, tif, ticks = conf["market_market_ioc"], "MARKET", "IOC", None
                if "base_size" not in c:
                    return self._fail("UNSUPPORTED_ORDER_CONFIGURATION", "quote_size is not simulated")
            elif "limit_limit_gtc" in conf:
                c, kind, tif = conf["limit_limit_gtc"], "LIMIT", "GTC"
                ticks = Decimal(str(c["limit_price"])) / inst.tick
                post_only = bool(c.get("post_only", False))
            elif "limit_limit_fok" in conf or "sor_limit_ioc" in conf:
                fok = "limit_limit_fok" in conf
                c, kind, tif = (
                    conf["limit_limit_fok" if fok else "sor_limit_ioc"],
                    "LIMIT",
                    "FOK" if fok else "IOC",
                )
                ticks = Decimal(str(c["limit_price"])) / inst.tick
            else:
                return self._fail("UNSUPPORTED_ORDER_CONFIGURATION", "UNKNOWN_FAILURE_REASON")
            lots = Decimal(str(c["base_size"])) / inst.lot
            for n in (lots, ticks):
                if n is not None and (n != n.to_integral_value() or n <= 0):
                    raise InvalidOperation
        except (KeyError, TypeError, InvalidOperation, ValueError):
            return self._fail("INVALID_ARGUMENT", "INVALID_SIZE_PRECISION")
        price = None if ticks is None else Decimal(str(c["limit_price"]))
        off = v.grids.off_grid(product, ep.now_ms(), price, Decimal(str(c["base_size"])))
        if off is not None:  # refused before the engine, as the venue checks the product's rules
            return self._fail("INVALID_ARGUMENT", GRID_FAILURES[off])
        opposite = v.books[product].side(1 - side).best()
        if (
            post_only
            and ticks is not None
            and opposite is not None
            and (opposite - ticks) * (1 - 2 * side) <= 0
        ):
            # "Orders that will be posted as a Taker Order will be rejected" (Create Order, post_only).
            return self._fail("INVALID_LIMIT_PRICE_POST_ONLY", "INVALID_LIMIT_PRICE_POST_ONLY")
        try:
            order, step = v.engine.place(
                account, product, side, kind, int(lots), None if ticks is None else int(ticks), tif, cid,
                ep.now_ms(), post_only=post_only,
            )  # fmt: skip
        except EngineError as e:
            if e.code == "funds":
                return self._fail("INSUFFICIENT_FUND", "INSUFFICIENT_FUND")
            if e.code in LIMIT_FAILURES:
                return self._fail("INVALID_ARGUMENT", LIMIT_FAILURES[e.code])
            return self._fail("UNKNOWN_FAILURE_REASON", str(e))
        if step is not None:
            v.publish(product, step)
        return self._ok(order)

    def edit(self, account: str, body: dict[str, Any], now_ms: int) -> Response:
        """Edit a GTC limit order's price and size (it keeps its id)."""
        v = self.ctx
        order = self._find(account, str(body.get("order_id", "")))
        if order is None or not order.open or order.tif != "GTC" or order.type != "LIMIT":
            return self._edit_refused("ORDER_NOT_FOUND")
        inst = v.instruments[order.symbol]
        try:
            ticks = Decimal(str(body["price"])) / inst.tick
            lots = Decimal(str(body["size"])) / inst.lot
            if any(n != n.to_integral_value() or n <= 0 for n in (ticks, lots)):
                raise InvalidOperation
            off = v.grids.off_grid(
                order.symbol, now_ms, Decimal(str(body["price"])), Decimal(str(body["size"]))
            )
            if off is not None:
                return self._edit_refused(EDIT_GRID_FAILURES[off], preview=True)
            _, steps = v.engine.amend(account, order.symbol, order.id, None, int(lots), int(ticks))
        except (KeyError, InvalidOperation, EngineError):
            return self._edit_refused("INVALID_EDITED_SIZE")
        for s in steps:
            v.publish(order.symbol, s)
        return json_response({"success": True, "success_response": {"order_id": _oid(order)}, "errors": []})

    @staticmethod
    def _edit_refused(reason: str, preview: bool = False) -> Response:
        """A refused edit as SDK 1.8's ``EditOrderResponse`` reads it: ``error_response`` and the
        older ``errors`` list; ``preview``: ``reason`` is a PreviewFailureReason (the edit's
        ``preview_failure_reason``), else an EditOrderFailureReason."""
        field = "preview_failure_reason" if preview else "edit_order_failure_reason"
        err = {"error_details": reason, field: reason}
        listed = {"preview_failure_reason" if preview else "edit_failure_reason": reason}
        return json_response({"success": False, "error_response": err, "errors": [listed]})

    def _ok(self, o: Order) -> Response:
        success = {"order_id": _oid(o), "product_id": o.symbol, "side": "BUY" if o.side == BID else "SELL"}
        success["client_order_id"] = o.client_id
        return json_response({"success": True, "success_response": success})

    @staticmethod
    def _fail(error: str, reason: str) -> Response:
        err = {"error": error, "message": reason, "error_details": reason, "new_order_failure_reason": reason}
        return json_response({"success": False, "error_response": err})

    def cancel(self, account: str, ref: str) -> dict[str, Any]:
        v = self.ctx
        order = self._find(account, ref)
        if order is None or not order.open:
            return {"success": False, "failure_reason": "UNKNOWN_CANCEL_ORDER", "order_id": ref}
        _, step = v.engine.cancel(account, order.symbol, order.id, None)
        if step is not None:
            v.publish(order.symbol, step)
        return {"success": True, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": ref}
