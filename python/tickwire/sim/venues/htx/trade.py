"""HTX spot order entry on the matching engine (HTX REST v1, Signature V2 as in ``auth.py``).

``GET /v1/account/accounts`` (one spot account per key), ``GET /v1/account/accounts/{id}/balance``;
``POST /v1/order/orders/place`` (``account-id``, ``symbol``, ``type`` buy/sell-limit, -market, -ioc,
-limit-maker (post-only), -limit-fok, ``amount``, ``price``, ``client-order-id``; a buy-market
``amount`` is in the quote currency, as HTX defines it) and ``POST /v1/order/batch-orders`` (a list of
the same, at most 10; each entry answers ``order-id`` and ``client-order-id``, or its ``err-code``),
``POST /v1/order/orders/{id}/submitcancel``, ``POST /v1/order/orders/submitCancelClientOrder`` (a
status code: 10 cancelling, 7 canceled, 6 filled, 5 partial-canceled, -1 not found),
``POST /v1/order/orders/batchcancel`` (``order-ids`` or ``client-order-ids``, at most 50: the ids
cancelled, and the failed ones with their ``err-code`` and ``order-state``),
``POST /v1/order/orders/batchCancelOpenOrders``, ``GET /v1/order/orders/{id}``,
``GET /v1/order/orders/getClientOrder?clientOrderId=``, ``GET /v1/order/openOrders`` (``filled-*``
where the order detail says ``field-*``, as HTX spells them), ``GET /v1/order/matchresults``
(``metadata.py``). Answers are HTX's ``{"status": "ok", "data": …}`` or ``{"status": "error",
"err-code", "err-msg"}``. The ``/ws/v2`` topic ``orders#<symbol>`` (or ``orders#*``, every symbol)
pushes each order event after auth.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.sim.engine import EngineError, Fill, Order
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.market import ASK, BID
from tickwire.sim.venues.htx.metadata import REFUSALS, STATES, matchresults, order_matchresults
from tickwire.sim.venues.private import PrivateStreams

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext
    from tickwire.sim.ws import Conn

# HTX order type suffix -> (engine type, time in force, post-only)
KINDS = {
    "limit": ("LIMIT", "GTC", False),
    "market": ("MARKET", "IOC", False),
    "ioc": ("LIMIT", "IOC", False),
    "limit-maker": ("LIMIT", "GTC", True),
    "limit-fok": ("LIMIT", "FOK", False),
}
# The instrument's limits as HTX refuses them (the limit follows the text in backquotes).
HTX_LIMITS = {
    "min_qty": ("order-limitorder-amount-min-error", "limit order amount error, min: "),
    "max_qty": ("order-limitorder-amount-max-error", "limit order amount error, max: "),
    "notional": ("order-value-min-error", "Order total cannot be lower than: "),
}
# An order off a grid changed by ``Simulator.set_grid`` (huobiapi.github.io docs spot v1, "Error
# Code" and the FAQ's "common return errors"): a price past price-precision, an amount past
# amount-precision, under limit-order-min-order-amt.
GRID_ERRORS = {
    "tick": ("order-orderprice-precision-error", "limit order price precision error, scale: "),
    "lot": ("order-orderamount-precision-error", "order quantity precision error, scale: "),
    "min_qty": HTX_LIMITS["min_qty"],
}
STATE = {"NEW": "submitted", "PARTIALLY_FILLED": "partial-filled", "FILLED": "filled", "CANCELED": "canceled"}
STATE["EXPIRED"] = "canceled"
# submitCancelClientOrder's answer and batchcancel's order-state for an order that is not open.
STATE_CODE = {"partial-canceled": 5, "filled": 6, "canceled": 7}
BATCH_ORDERS_MAX, BATCH_CANCEL_MAX = 10, 50


def state(o: Order) -> str:
    """The order's HTX ``state``: one cancelled or expired after part of it filled is
    ``partial-canceled`` (spot v1 order states: "submitted, partial-filled, partial-canceled, filled,
    canceled")."""
    if o.status in ("CANCELED", "EXPIRED") and o.filled:
        return "partial-canceled"
    return STATE[o.status]


def ok(data: Any) -> Response:
    return json_response({"status": "ok", "data": data})


def err(code: str, msg: str) -> Response:
    return json_response({"status": "error", "err-code": code, "err-msg": msg, "data": None})


class HtxOrders:
    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        self.accounts: dict[str, int] = {}  # access key -> account id
        self.streams = PrivateStreams(ctx.subscribers, ctx.private_faults)
        ctx.engine.listeners.append(self.on_order)

    def account_id(self, key: str) -> int:
        return self.accounts.setdefault(key, 10_000_001 + len(self.accounts))

    def route(self, ep: VenueServer, req: Request, key: str) -> Response | None:
        v, path = self.ctx, req.path
        aid = self.account_id(key)
        if (req.method, path) == ("GET", "/v1/account/accounts"):
            return ok([{"id": aid, "type": "spot", "subtype": "", "state": "working"}])
        if (req.method, path) == ("GET", f"/v1/account/accounts/{aid}/balance"):
            rows = []
            for a, free, locked in v.engine.ledger.holdings(key):
                rows.append({"currency": a.lower(), "type": "trade", "balance": f"{free:f}"})
                rows.append({"currency": a.lower(), "type": "frozen", "balance": f"{locked:f}"})
            return ok({"id": aid, "type": "spot", "state": "working", "list": rows})
        if (req.method, path) == ("POST", "/v1/order/orders/place"):
            placed = self.place(ep, key, aid, req.json_object())
            if "err-code" in placed:
                return err(placed["err-code"], placed["err-msg"])
            return ok(str(placed["order-id"]))
        if (req.method, path) == ("POST", "/v1/order/batch-orders"):
            batch = req.json()
            if not isinstance(batch, list) or not 1 <= len(batch) <= BATCH_ORDERS_MAX:
                return err("invalid-parameter", f"a list of 1 to {BATCH_ORDERS_MAX} orders")
            return ok([self.place(ep, key, aid, b if isinstance(b, dict) else {}) for b in batch])
        if (req.method, path) == ("GET", "/v1/order/openOrders"):
            if req.query.get("account-id", str(aid)) != str(aid):
                return err("invalid-parameter", "account-id is not this user's")
            sym, size = req.query.get("symbol"), req.query.get("size") or "100"
            if not size.isdigit() or not 1 <= int(size) <= 500:
                return err("invalid-parameter", "size is not in [1, 500]")
            # ``size`` of them (100 by default, 500 at most), newest first; ``from``/``direct`` not simulated.
            orders = sorted(v.engine.open_orders(key, sym), key=lambda o: -o.id)[: int(size)]
            return ok([self.order_json(o, aid, open_list=True) for o in orders])
        if (req.method, path) == ("GET", "/v1/order/matchresults"):
            return json_response(matchresults(v, key, req.query))
        if (req.method, path) == ("GET", "/v1/order/orders/getClientOrder"):
            found = v.engine.by_client.get((key, req.query.get("clientOrderId", "")))
            if found is None:
                return err("base-record-invalid", "record invalid")
            return ok(self.order_json(found, aid))
        if (req.method, path) == ("POST", "/v1/order/orders/batchcancel"):
            return self.batch_cancel(key, req.json_object())
        if (req.method, path) == ("POST", "/v1/order/orders/batchCancelOpenOrders"):
            body = req.json_object()
            done = [self._cancel(key, o) for o in v.engine.open_orders(key, body.get("symbol"))]
            return ok({"success-count": len(done), "failed-count": 0, "next-id": -1})
        if (req.method, path) == ("POST", "/v1/order/orders/submitCancelClientOrder"):
            cid = str(req.json_object().get("client-order-id", ""))
            order = v.engine.by_client.get((key, cid))
            if order is None:
                return ok(-1)
            if not order.open:
                return ok(STATE_CODE[state(order)])
            self._cancel(key, order)
            return ok(10)
        if path.startswith("/v1/order/orders/"):
            ref, _, verb = path.removeprefix("/v1/order/orders/").partition("/")
            order = v.engine.orders.get(int(ref)) if ref.isdigit() else None
            if order is None or order.account != key:
                return err("base-record-invalid", "record invalid")
            if (req.method, verb) == ("GET", ""):
                return ok(self.order_json(order, aid))
            if (req.method, verb) == ("GET", "matchresults"):
                return json_response(order_matchresults(v, order))
            if (req.method, verb) == ("POST", "submitcancel"):
                if not order.open:
                    return err("order-orderstate-error", "Incorrect order state")
                self._cancel(key, order)
                return ok(str(order.id))
        return None

    def batch_cancel(self, key: str, b: dict[str, Any]) -> Response:
        by_cid = "client-order-ids" in b
        ids = b.get("client-order-ids" if by_cid else "order-ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= BATCH_CANCEL_MAX:
            return err("invalid-parameter", f"order-ids or client-order-ids: 1 to {BATCH_CANCEL_MAX} ids")
        success, failed = [], []
        for ref in map(str, ids):
            if by_cid:
                order = self.ctx.engine.by_client.get((key, ref))
            else:
                order = self.ctx.engine.orders.get(int(ref)) if ref.isdigit() else None
                order = order if order is not None and order.account == key else None
            if order is not None and order.open:
                self._cancel(key, order)
                success.append(ref)
                continue
            entry: dict[str, Any] = {
                "order-id": "" if by_cid else ref,
                "client-order-id": ref if by_cid else "",
            }
            if order is None:
                entry.update({"err-code": "base-not-found", "err-msg": "record not found", "order-state": -1})
            else:
                entry.update({"err-code": "order-orderstate-error", "err-msg": "Incorrect order state"})
                entry["order-state"] = STATE_CODE[state(order)]
            failed.append(entry)
        return ok({"success": success, "failed": failed})

    def place(self, ep: VenueServer, key: str, aid: int, b: dict[str, Any]) -> dict[str, Any]:
        """One order of ``place`` or ``batch-orders``: its ``order-id``, or its ``err-code``."""
        cid = str(b.get("client-order-id", ""))

        def err(code: str, msg: str) -> dict[str, Any]:
            return {"client-order-id": cid, "err-code": code, "err-msg": msg}

        v = self.ctx
        symbol = str(b.get("symbol", ""))
        side_s, _, kind_s = str(b.get("type", "")).partition("-")
        side = {"buy": BID, "sell": ASK}.get(side_s)
        kind = KINDS.get(kind_s)
        if symbol not in v.books:
            return err("base-symbol-error", "The symbol is invalid")
        if symbol in v.status:  # listed suspend or offline: no new order
            return err(*REFUSALS[STATES[v.status[symbol]]])
        if side is None or kind is None or str(b.get("account-id")) != str(aid):
            return err("invalid-parameter", "invalid type or account-id")
        inst = v.instruments[symbol]
        try:
            amount = Decimal(str(b["amount"]))
            if kind[0] == "MARKET" and side == BID:
                lots = self._lots_for_cash(symbol, amount)  # buy-market: amount is quote currency
            else:
                lots = amount / inst.lot
            ticks = Decimal(str(b["price"])) / inst.tick if kind[0] == "LIMIT" else None
            if any(n is not None and (n != n.to_integral_value() or n <= 0) for n in (lots, ticks)):
                raise InvalidOperation
        except (KeyError, InvalidOperation, ValueError):
            return err("order-value-min-error", "amount or price is not valid for the instrument")
        price = None if ticks is None else Decimal(str(b["price"]))
        market_buy = kind[0] == "MARKET" and side == BID  # its amount is quote currency
        off = v.grids.off_grid(symbol, ep.now_ms(), price, None if market_buy else amount)
        if off is not None:  # refused before the engine, as the venue checks the symbol's rules
            g = v.grids.listed(symbol, ep.now_ms())
            name, text = GRID_ERRORS[off]
            shown = {"tick": g.price_decimals, "lot": g.qty_decimals}.get(off, f"{g.qty(g.min_lots):f}")
            return err(name, f"{text}`{shown}`")
        try:
            order, step = v.engine.place(
                key, symbol, side, kind[0], int(lots), None if ticks is None else int(ticks), kind[1],
                str(b.get("client-order-id", "")), ep.now_ms(), post_only=kind[2],
            )  # fmt: skip
        except EngineError as e:
            if e.code == "funds":
                return err("account-frozen-balance-insufficient-error", "trade account balance is not enough")
            if e.code == "duplicate":
                return err("order-orderstate-error", "client-order-id is in use by an open order")
            if e.code in HTX_LIMITS:
                name, text = HTX_LIMITS[e.code]
                lim = {"min_qty": inst.min_qty, "max_qty": inst.max_qty}.get(e.code, inst.min_notional)
                return err(name, f"{text}`{lim:f}`")
            return err("invalid-parameter", str(e))
        if step is not None:
            v.publish(symbol, step)
        return {"order-id": order.id, "client-order-id": cid}

    def _lots_for_cash(self, symbol: str, cash: Decimal) -> Decimal:
        """How many whole lots ``cash`` of quote currency buys walking the asks."""
        inst = self.ctx.instruments[symbol]
        left, lots = cash, 0
        for p, size in self.ctx.books[symbol].asks.top():
            price = inst.price(p) * inst.lot
            take = min(size, int(left / price))
            lots += take
            left -= take * price
            if take < size:
                break
        return Decimal(lots)

    def _cancel(self, key: str, order: Order) -> Order:
        _, step = self.ctx.engine.cancel(key, order.symbol, order.id, None)
        if step is not None:
            self.ctx.publish(order.symbol, step)
        return order

    def order_json(self, o: Order, aid: int, open_list: bool = False) -> dict[str, Any]:
        """An order as ``GET /v1/order/orders/{id}`` shows it (``field-*``, sic), or as ``openOrders``
        does (``filled-*``)."""
        fp, fq = self.ctx.fmt[o.symbol]
        inst = self.ctx.instruments[o.symbol]
        kind = "market" if o.type == "MARKET" else {"GTC": "limit", "IOC": "ioc", "FOK": "limit-fok"}[o.tif]
        if o.post_only:
            kind = "limit-maker"
        filled = "filled" if open_list else "field"
        return {
            "id": o.id,
            "symbol": o.symbol,
            "account-id": aid,
            "client-order-id": o.client_id,
            "amount": fq(o.qty),
            "price": fp(o.price or 0),
            "created-at": o.time_ms,
            "type": f"{'buy' if o.side == BID else 'sell'}-{kind}",
            f"{filled}-amount": fq(o.filled),
            f"{filled}-cash-amount": f"{Decimal(o.quote) * inst.tick * inst.lot:f}",
            f"{filled}-fees": "0",
            "source": "spot-api",
            "state": state(o),
        }

    def on_order(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        """``/ws/v2`` ``orders#<symbol>``: one push per order event, to the account's own sockets."""
        fp, fq = self.ctx.fmt[o.symbol]
        event = {"NEW": "creation", "TRADE": "trade"}.get(exec_type, "cancellation")
        data = {"eventType": event, "symbol": o.symbol, "orderId": o.id, "clientOrderId": o.client_id}
        data.update(orderPrice=fp(o.price or 0), orderSize=fq(o.qty), orderStatus=state(o))
        data.update(type=self.order_json(o, 0)["type"], execAmt=fq(o.filled), remainAmt=fq(o.qty - o.filled))
        if fill is not None:
            data.update(tradePrice=fp(fill.price), tradeVolume=fq(fill.qty), tradeId=fill.trade_id)
            data.update(aggressor=not fill.maker)
        msg = orjson.dumps({"action": "push", "ch": f"orders#{o.symbol}", "data": data})
        self.streams.push(
            lambda c: msg if c.state.get("api_key") == o.account else None,
            topics=[f"orders#{o.symbol}", "orders#*"],
        )

    def subscribe(self, conn: Conn, ch: str) -> bool:
        sym = ch.removeprefix("orders#")
        if sym != "*" and sym not in self.ctx.books:
            return False
        conn.endpoint.subscribe(conn, ch)
        return True
