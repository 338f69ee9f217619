"""Coinbase Advanced Trade spot order entry over REST (``/api/v3/brokerage``), for ``tickwire.trade``.

Requests (JSON bodies signed as sent; every private call carries a fresh JWT):

- place: ``POST orders`` with ``client_order_id``, ``product_id``, ``side`` BUY/SELL and one
  ``order_configuration``: ``market_market_ioc`` (``base_size``: a market buy is sized in the base
  currency too), ``limit_limit_gtc`` (``base_size``, ``limit_price``, ``post_only``),
  ``limit_limit_fok`` or ``sor_limit_ioc`` — sizes and prices as exact decimal strings.
- cancel: ``POST orders/batch_cancel`` with ``order_ids`` (one, or up to ``BATCH_CANCEL_MAX`` for
  ``cancel_orders``). Coinbase has no cancel-all by product: ``cancel_all`` is None.
- amend: ``POST orders/edit`` with ``order_id``, ``price``, ``size`` (GTC limit orders).
- status: ``GET orders/historical/{order_id}``; open orders ``GET orders/historical/batch``
  ``order_status=OPEN``; fills ``GET orders/historical/fills``; balances ``GET accounts``; rules
  ``GET market/products`` (public).

Client order ids: Coinbase makes ``client_order_id`` idempotent — a create repeating the id of an order
it already holds answers with that order, and places nothing new. That is what makes a lost create
answer safe to resolve, but the session still never resends: it reconciles.

Orders by client id: Coinbase looks orders up by ``order_id`` only. The grammar remembers the order id
of every client id an answer or the ``user`` channel showed (``reading.OrderIds``) and asks by order id.
For a client id whose order id it never saw — the create's answer was lost — ``status`` lists the
product's orders created since the order was sent (``orders/historical/batch`` ``product_ids`` and
``start_date``, every status, newest first, 100 a page) and ``read_order`` picks the one with that
client id; a page without it is ``OrderNotFound``, and reconciliation reads the next page (the
``cursor``) until the listing ends — a strategy that placed a hundred more orders on the product
since would otherwise push the order off the first page, and be declared absent though it filled.
Only then does the session go on to the open orders and declare the order absent.

An edit's answer names the order in ``success_response.order_id`` (SDK 1.8 ``EditOrderResponse``);
the older ``{"success": true, "errors": []}`` names none, and the grammar takes it as the answer to
the latest edit it built (the session awaits each answer before reading it, so only amends racing
each other on one session could be paired wrongly). An edit sends both terms, the unchanged one as it
stands: the reference takes either, and both leave no doubt about the order's terms after it.

Answers: a refused create is HTTP 200 ``{"success": false, "error_response": {"error", "message",
"new_order_failure_reason" | "preview_failure_reason"}}`` (the most specific reason names the error);
an HTTP error is ``{"error", "message"}``; each ``batch_cancel`` result has its own ``success`` and
``failure_reason``; a refused edit lists ``errors[].edit_failure_reason``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

from tickwire.audit import excerpt
from tickwire.errors import OrderNotFound, TickwireError, VenueError
from tickwire.trading.codes import error_for
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent, Side
from tickwire.trading.rules import InstrumentRules, from_coinbase_product
from tickwire.trading.venue import Balance, Call, Page
from tickwire.venues.coinbase import limits as rate
from tickwire.venues.coinbase.reading import VENUE, OrderIds, dec, order_event, rfc3339_ms, rfc3339_ns
from tickwire.venues.coinbase.user import UserChannel

__all__ = ["API", "BATCH_CANCEL_MAX", "LISTING_LIMIT", "Orders"]

API = "/api/v3/brokerage"
# "Cancel Orders" takes a list of order ids; the reference states no maximum. 100 is the page size
# Coinbase uses elsewhere (unverified as a batch limit).
BATCH_CANCEL_MAX = 100
# Orders of one product listed to find a client id whose order id is not known.
LISTING_LIMIT = 100
# List Fills: a page's size asked for (the next by ``cursor``).
FILLS_PAGE = 100
# Client ids asked for through a listing, not found yet (bounded: oldest forgotten).
MAX_SOUGHT = 1000
# Reasons that say nothing beyond the field's default.
_VAGUE = frozenset({"", "UNKNOWN_FAILURE_REASON", "UNKNOWN_PREVIEW_FAILURE_REASON"})


def _json(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def _configuration(order: Order) -> dict[str, Any]:
    size = format_decimal(order.qty)
    if order.type == "market":
        return {"market_market_ioc": {"base_size": size}}
    assert order.price is not None
    limit: dict[str, Any] = {"base_size": size, "limit_price": format_decimal(order.price)}
    if order.tif == "FOK":
        return {"limit_limit_fok": limit}
    if order.tif == "IOC":
        return {"sor_limit_ioc": limit}
    return {"limit_limit_gtc": {**limit, "post_only": order.post_only}}


class Orders(UserChannel):
    """Coinbase Advanced Trade spot order entry; see the module docstring for the calls and answers."""

    venue = VENUE
    # Rate limits (``tickwire.limits``): as the venue counts them (see ``limits``).
    limits = rate.LIMITS
    fills_newest_first = True  # historical/fills: newest first (``fills``'s catch-up turns it)
    cost = staticmethod(rate.cost)
    read_usage = staticmethod(rate.read_usage)
    read_reset = staticmethod(rate.read_reset)

    def __init__(self) -> None:
        self.ids = OrderIds()
        self._sought: dict[str, None] = {}
        # The order of the latest edit built: an edit's answer names no order.
        self._edit: tuple[str, str | None] = ("", None)

    # requests ----------------------------------------------------------------------------------------

    def new_order(self, order: Order) -> Call:
        body = {
            "client_order_id": order.client_id,
            "product_id": order.symbol,
            "side": "BUY" if order.side == "buy" else "SELL",
            "order_configuration": _configuration(order),
        }
        return Call("POST", f"{API}/orders", body=_json(body))

    def _known(self, client_id: str | None, order_id: str | None) -> str:
        oid = self.ids.order_id(client_id, order_id)
        if oid is None:
            raise OrderNotFound(
                f"{self.venue}: no order id known for client id {client_id!r} "
                "(Coinbase addresses orders by order_id)"
            )
        return oid

    def cancel(self, symbol: str, client_id: str | None, order_id: str | None) -> Call:
        oid = self._known(client_id, order_id)
        return Call("POST", f"{API}/orders/batch_cancel", body=_json({"order_ids": [oid]}))

    def amend(self, order: Order, qty: Decimal | None, price: Decimal | None) -> Call:
        """``orders/edit`` with the new ``price`` and ``size`` (the total, filled part included); an
        unchanged term is sent as it stands."""
        oid = self._known(order.client_id, order.order_id)
        new_price = price if price is not None else order.price
        body = {
            "order_id": oid,
            "price": format_decimal(new_price) if new_price is not None else "",
            "size": format_decimal(qty if qty is not None else order.qty),
        }
        self._edit = (order.client_id, oid)
        return Call("POST", f"{API}/orders/edit", body=_json(body))

    def status(
        self, symbol: str, client_id: str | None, order_id: str | None, since_ms: int | None = None
    ) -> Call:
        oid = self.ids.order_id(client_id, order_id)
        if oid is not None:
            return Call("GET", f"{API}/orders/historical/{oid}")
        if client_id:
            self._sought[client_id] = None
            while len(self._sought) > MAX_SOUGHT:
                del self._sought[next(iter(self._sought))]
        params = {"product_ids": symbol, "limit": str(LISTING_LIMIT)}
        if since_ms is not None:
            params["start_date"] = rfc3339_ms(since_ms)
        return Call("GET", f"{API}/orders/historical/batch", params)

    def open_orders(self, symbol: str | None) -> Call:
        params = {"order_status": "OPEN"}
        if symbol:
            params["product_ids"] = symbol
        return Call("GET", f"{API}/orders/historical/batch", params)

    @staticmethod
    def next_page(call: Call, body: Any) -> Call | None:
        """The listing's next page: the same query with the ``cursor`` Coinbase answered when
        ``has_next`` (100 orders a page by default)."""
        more = getattr(body, "more", None)
        if more == "":
            raise VenueError("coinbase: the listing has a next page (has_next) but no cursor to it")
        return call.with_param("cursor", more) if more else None

    def cancel_all(self, symbol: str) -> Call | None:
        return None  # no cancel-all by product: cancel_orders() on the open orders

    def cancel_orders(self, symbol: str, orders: Sequence[Order]) -> list[Call]:
        oids = [oid for o in orders if (oid := self.ids.order_id(o.client_id, o.order_id))]
        return [
            Call(
                "POST",
                f"{API}/orders/batch_cancel",
                body=_json({"order_ids": oids[i : i + BATCH_CANCEL_MAX]}),
            )
            for i in range(0, len(oids), BATCH_CANCEL_MAX)
        ]

    def fills(self, symbol: str, since_ms: int | None) -> Call:
        params = {"product_ids": symbol}
        if since_ms is not None:
            params["start_sequence_timestamp"] = rfc3339_ms(since_ms)
        params["limit"] = str(FILLS_PAGE)
        return Call("GET", f"{API}/orders/historical/fills", params)

    def order_fills(self, symbol: str, order_id: str) -> Call:
        """One order's executions (``order_ids``), newest first, a page at a time (``cursor``)."""
        params = {"order_ids": order_id, "limit": str(FILLS_PAGE)}
        return Call("GET", f"{API}/orders/historical/fills", params)

    def balances(self) -> Call:
        return Call("GET", f"{API}/accounts", {"limit": "250"})

    def instruments(self) -> Call:
        return Call("GET", f"{API}/market/products", {"product_type": "SPOT"}, signed=False)

    # answers -----------------------------------------------------------------------------------------

    def read_order(self, body: Any) -> list[OrderEvent]:
        """A create's ``success_response`` or a ``batch_cancel`` result as an ``ack`` event stating no
        status (the session then asks for the state); an order (Get Order, List Orders) as its state.
        A list is a ``batch_cancel``'s results (read by the first) or the listing ``status`` asked for
        a client id (read by the entry with that id)."""
        if isinstance(body, list):
            if not body:
                raise OrderNotFound(f"{self.venue}: no such order")
            if "status" in body[0]:
                return self._sought_in(body)
            body = body[0]
        if "success_response" in body:  # a create's, or an edit's (which names the order id only)
            r = body["success_response"]
            oid = str(r.get("order_id") or "") or None
            cid = str(r.get("client_order_id") or "") or self.ids.client_id(oid)
            self.ids.learn(cid, oid)
            return [OrderEvent(source="ack", client_id=cid, order_id=oid)]
        if "errors" in body and "success" in body:  # an edit's answer naming no order
            cid, oid = self._edit
            return [OrderEvent(source="ack", client_id=cid, order_id=oid)]
        if "failure_reason" in body and "status" not in body:  # one batch_cancel result
            oid = str(body.get("order_id") or "") or None
            if not body.get("success"):
                reason = str(body.get("failure_reason") or "")
                raise error_for(self.venue, reason or None, f"cancel of {oid} refused")
            return [OrderEvent(source="ack", client_id=self.ids.client_id(oid), order_id=oid)]
        ev = order_event(body)
        self.ids.learn(ev.client_id, ev.order_id)
        return [ev]

    def _sought_in(self, listing: list[Any]) -> list[OrderEvent]:
        found = [o for o in listing if str(o.get("client_order_id") or "") in self._sought]
        if not found:
            raise OrderNotFound(f"{self.venue}: none of the listed orders has the client id asked for")
        out = []
        for o in found:
            ev = order_event(o)
            self.ids.learn(ev.client_id, ev.order_id)
            self._sought.pop(ev.client_id, None)
            out.append(ev)
        return out

    def read_fills(self, body: Any) -> list[Fill]:
        out = []
        for t in body:
            side: Side = "buy" if t.get("side") == "BUY" else "sell"
            liquidity = {"MAKER": "maker", "TAKER": "taker"}.get(str(t.get("liquidity_indicator")))
            oid = str(t["order_id"])
            out.append(
                Fill(
                    venue=self.venue,
                    symbol=str(t["product_id"]),
                    client_id=self.ids.client_id(oid),
                    order_id=oid,
                    trade_id=str(t["trade_id"]),
                    side=side,
                    price=Decimal(str(t["price"])),
                    qty=Decimal(str(t["size"])),
                    fee=dec(t.get("commission")) or Decimal(0),  # positive: charged
                    fee_asset=str(t["product_id"]).partition("-")[2] or None,
                    liquidity=liquidity,  # type: ignore[arg-type]
                    ts_ns=rfc3339_ns(t.get("trade_time")),
                )
            )
        return out

    def read_balances(self, body: Any) -> dict[str, Balance]:
        out: dict[str, Balance] = {}
        for a in body:
            free = dec((a.get("available_balance") or {}).get("value")) or Decimal(0)
            held = dec((a.get("hold") or {}).get("value")) or Decimal(0)
            out[str(a["currency"])] = Balance(str(a["currency"]), free, held)
        return out

    def read_rules(self, body: Any) -> dict[str, InstrumentRules]:
        return {str(p["product_id"]): from_coinbase_product(p) for p in body if p.get("base_increment")}

    def read_answer(self, status: int, body: bytes) -> Any:
        """What the caller reads: a create's or edit's answer as it stands; the ``order`` of Get Order;
        the ``orders``, ``fills``, ``accounts``, ``products`` or ``results`` (batch_cancel) list.
        Refusals and HTTP errors raise their typed error."""
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            msg = None
        if not isinstance(msg, dict):
            raise error_for(self.venue, None, excerpt(body), http_status=status)
        if status >= 400:
            code = str(msg.get("error") or "") or None
            raise error_for(self.venue, code, str(msg.get("message", "")), http_status=status)
        if msg.get("success") is False:
            code, text = self._refusal(msg)
            raise error_for(self.venue, code, text, http_status=status)
        if isinstance(msg.get("orders"), list):
            # ``more`` "" — more to come but no cursor to ask for it — is refused by next_page.
            return Page(msg["orders"], str(msg.get("cursor") or "") if msg.get("has_next") else None)
        if isinstance(msg.get("fills"), list):
            # List Fills names its next page by a ``cursor`` (empty on the last).
            return Page(msg["fills"], str(msg.get("cursor") or "") or None)
        for key in ("order", "accounts", "products", "results"):
            if key in msg:
                return msg[key]
        return msg

    @staticmethod
    def _refusal(msg: dict[str, Any]) -> tuple[str | None, str]:
        """The most specific reason of a refused create (``error_response``) or edit (``errors``)."""
        er = msg.get("error_response")
        if isinstance(er, dict):
            text = str(er.get("message") or er.get("error_details") or "")
            for field in (
                "new_order_failure_reason",
                "edit_order_failure_reason",
                "preview_failure_reason",
                "error",
            ):
                reason = str(er.get(field) or "")
                if reason not in _VAGUE:
                    return reason, text
            return str(er.get("error") or msg.get("failure_reason") or "") or None, text
        for e in msg.get("errors") or ():
            for field in ("edit_failure_reason", "preview_failure_reason"):
                reason = str(e.get(field) or "")
                if reason and not reason.startswith("UNKNOWN_"):
                    return reason, reason
        return str(msg.get("failure_reason") or "") or None, "refused"

    def not_found(self, error: TickwireError) -> bool:
        return isinstance(error, OrderNotFound)
