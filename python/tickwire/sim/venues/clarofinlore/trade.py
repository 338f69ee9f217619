"""Clarofinlore orders and kill switch (seed-venues.md) on the simulator's matching engine.

Documented: ``POST /v1/orders`` with ``symbol``, ``side`` (buy/sell), ``quantity``, ``type``
(market/limit), ``price`` for limit and ``client_order_id``: a retried request with a client order id
already seen returns that same order, whatever its state, and creates nothing (the documented
idempotency). ``GET /v1/account`` to verify margin and positions.

Defaults where the document is silent: an optional ``time_in_force`` (``gtc`` default, ``ioc``,
``fok``) on limit orders; ``POST /v1/orders/cancel-all`` (optional body ``{"symbol"}``: that symbol
only) and ``POST /v1/positions/close-all`` (the kill switch: cancel every open order, then flatten
every position with market orders); ``GET /v1/orders/{order_id}`` and
``GET /v1/orders/client/{client_order_id}`` (the order, 404 code 404 when there is none);
``DELETE`` on either cancels (404 when the order is not open); ``GET /v1/orders[?symbol=]`` lists the
open orders as ``{"orders": [...]}``. Orders answer ``{"order_id", "client_order_id", "symbol",
"side", "type", "time_in_force", "quantity", "price", "filled", "avg_price", "status", "ts",
"fills"}``, ``fills`` the order's executions (``trade_id``, ``price``, ``quantity``, ``liquidity``,
``ts``).
``GET /v1/account`` lists ``balances`` (``asset``, ``free``, ``locked``: the ledger's own figures),
collateral, margin and positions. Instruments and fills: ``metadata.py``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.sim.engine import EngineError, Order
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.market import ASK, BID
from tickwire.sim.venues.clarofinlore.metadata import fills, instruments

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext


def _bad(msg: str) -> Response:
    return json_response({"code": 400, "message": msg}, 400)


def _not_found() -> Response:
    return json_response({"code": 404, "message": "order not found"}, 404)


TIF = {"gtc": "GTC", "ioc": "IOC", "fok": "FOK"}


# The kill switch: it stops every running TWAP of the key first (the venue's routing sees to it).
KILL_SWITCH = (("POST", "/v1/orders/cancel-all"), ("POST", "/v1/positions/close-all"))


class ClarofinloreOrders:
    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx

    def order_json(self, o: Order) -> dict[str, Any]:
        fp, fq = self.ctx.fmt[o.symbol]
        # The average over the fills, to 28 significant digits (Decimal's default precision).
        avg = (
            f"{(self.ctx.instruments[o.symbol].tick * o.quote / o.filled).normalize():f}"
            if o.filled
            else None
        )
        return {
            "order_id": str(o.id),
            "client_order_id": o.client_id,
            "symbol": o.symbol,
            "side": "buy" if o.side == BID else "sell",
            "type": o.type.lower(),
            "time_in_force": o.tif.lower(),
            "quantity": fq(o.qty),
            "price": fp(o.price) if o.price is not None else None,
            "filled": fq(o.filled),
            "avg_price": avg,
            "status": o.status.lower(),
            "ts": o.time_ms,
            "fills": [
                {
                    "trade_id": str(f.trade_id),
                    "price": fp(f.price),
                    "quantity": fq(f.qty),
                    "liquidity": "maker" if f.maker else "taker",
                    "ts": f.time_ms,
                }
                for f in o.fills
            ],
        }

    def route(self, ep: VenueServer, req: Request, account: str) -> Response | None:
        route = (req.method, req.path)
        if route == ("POST", "/v1/orders"):
            return self.place(ep, req, account)
        if route == ("GET", "/v1/orders"):
            symbol = req.query.get("symbol")
            listed = self.ctx.engine.open_orders(account, symbol)
            return json_response({"orders": [self.order_json(o) for o in listed]})
        if route == ("GET", "/v1/instruments"):
            return instruments(self.ctx.instruments)
        if route == ("GET", "/v1/fills"):
            return fills(self.ctx, account, req.query)
        if route == ("POST", "/v1/orders/cancel-all"):
            symbol = req.json_object().get("symbol")
            done = self.cancel_all(account, None if symbol is None else str(symbol))
            return json_response({"cancelled": [self.order_json(o) for o in done]})
        if route == ("POST", "/v1/positions/close-all"):
            cancelled = self.cancel_all(account)
            closing = self.close_all(ep, account)
            body = {"cancelled": [self.order_json(o) for o in cancelled]}
            body["closing_orders"] = [self.order_json(o) for o in closing]
            return json_response(body)
        if req.method in ("GET", "DELETE") and req.path.startswith("/v1/orders/"):
            order = self.lookup(account, req.path.removeprefix("/v1/orders/"))
            if order is None:
                return _not_found()
            if req.method == "DELETE":
                if not order.open:
                    return _not_found()
                _, step = self.ctx.engine.cancel(account, order.symbol, order.id, None)
                if step is not None:
                    self.ctx.publish(order.symbol, step)
            return json_response(self.order_json(order))
        if route == ("GET", "/v1/account"):
            return json_response(self.account(account))
        return None

    def lookup(self, account: str, ref: str) -> Order | None:
        """``{order_id}`` or ``client/{client_order_id}`` of ``account``."""
        engine = self.ctx.engine
        if ref.startswith("client/"):
            return engine.by_client.get((account, ref.removeprefix("client/")))
        order = engine.orders.get(int(ref)) if ref.isdigit() else None
        return order if order is not None and order.account == account else None

    def account(self, account: str) -> dict[str, Any]:
        """Collateral (USDT), margin in use and free, and positions with their entry prices. An
        account never funded shows positions only (it trades without limits)."""
        v = self.ctx
        led = v.engine.ledger
        positions = []
        for s in v.books:
            n = v.engine.position(account, s)
            if not n:
                continue
            inst, fq = v.instruments[s], v.fmt[s][1]
            p = led.position(account, s)
            entry = abs(p.cost) / (inst.lot * abs(p.lots)) if p.lots else None
            pos: dict[str, Any] = {"symbol": s, "quantity": fq(abs(n)), "side": "long" if n > 0 else "short"}
            pos["entry_price"] = None if entry is None else f"{entry:.{inst.price_decimals}f}"
            positions.append(pos)
        body: dict[str, Any] = {"leverage": str(led.leverage), "positions": positions}
        if led.funded(account):
            body["balances"] = [
                {"asset": a, "free": str(free), "locked": str(locked)}
                for a, free, locked in led.holdings(account)
            ]
            body["equity"] = str(
                sum((f + lk for a, f, lk in led.holdings(account) if a == "USDT"), Decimal(0))
            )
            body["margin_used"] = str(led.margin_used(account))
            body["available_margin"] = str(led.margin_free(account, "USDT"))
        return body

    def place(self, ep: VenueServer, req: Request, account: str) -> Response:
        v = self.ctx
        try:
            body = orjson.loads(req.body)
            symbol, cid = str(body["symbol"]), str(body["client_order_id"])
            side = {"buy": BID, "sell": ASK}[str(body["side"]).lower()]
            kind = {"market": "MARKET", "limit": "LIMIT"}[str(body["type"]).lower()]
            tif = TIF[str(body.get("time_in_force", "gtc")).lower()] if kind == "LIMIT" else "IOC"
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return _bad("symbol, side, quantity, type and client_order_id are required")
        prior = v.engine.by_client.get((account, cid))
        if prior is not None:
            return json_response(self.order_json(prior))  # a retry: the same order, nothing new
        if symbol not in v.books:
            return _bad(f"unknown symbol {symbol}")
        inst = v.instruments[symbol]
        try:
            lots = Decimal(str(body["quantity"])) / inst.lot
            ticks = Decimal(str(body["price"])) / inst.tick if kind == "LIMIT" else None
            for n in (lots, ticks):
                if n is not None and (n != n.to_integral_value() or n <= 0):
                    raise InvalidOperation
        except (KeyError, InvalidOperation, ValueError):
            return _bad("quantity or price is not a multiple of the instrument's step")
        price = None if ticks is None else int(ticks)
        try:
            order, step = v.engine.place(account, symbol, side, kind, int(lots), price, tif, cid, ep.now_ms())
        except EngineError as e:
            if e.code == "funds":
                return json_response({"code": 1001, "message": "insufficient margin"}, 400)
            return _bad(str(e))
        if step is not None:
            v.publish(symbol, step)
        return json_response(self.order_json(order))

    def cancel_all(self, account: str, symbol: str | None = None) -> list[Order]:
        v = self.ctx
        done = []
        for o in v.engine.open_orders(account, symbol):
            _, step = v.engine.cancel(account, o.symbol, o.id, None)
            if step is not None:
                v.publish(o.symbol, step)
            done.append(o)
        return done

    def close_all(self, ep: VenueServer, account: str) -> list[Order]:
        v = self.ctx
        out = []
        for symbol in v.books:
            n = v.engine.position(account, symbol)
            if n == 0:
                continue
            side = ASK if n > 0 else BID
            order, step = v.engine.place(
                account, symbol, side, "MARKET", abs(n), None, "IOC", "", ep.now_ms()
            )
            if step is not None:
                v.publish(symbol, step)
            out.append(order)
        return out
