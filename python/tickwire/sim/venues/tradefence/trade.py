"""Tradefence orders (seed-venues.md) on the matching engine: ``POST /v1/orders`` (``symbol``,
``type`` LIMIT/MARKET, ``side`` BUY/SELL, ``quantity``, ``price``, ``strategy``), ``GET
/v1/orders/{id}``, and ``POST /v1/batch`` with ``operations`` of ``{"action", "data"}`` (the
document's shape): ``CREATE_ORDER`` (data: an order), ``CANCEL_ORDER`` (``{"order_id"}``) and
``UPDATE_POSITION`` (default where the document is silent: ``{"symbol", "quantity"}`` is the target
position, reached with a market order; quantity 0 closes it). ``GET /v1/account`` (default) lists
balances and positions. ``POST /v1/ai/recommendations`` (``portfolio``: symbols or
``{"symbol", …}`` objects, ``risk_tolerance`` CONSERVATIVE/MODERATE/AGGRESSIVE, ``time_horizon`` such
as ``30_DAYS``) answers, where the document shows no response, a deterministic default: per symbol
BUY below its reference price, SELL above, HOLD within a band the risk tolerance sets, with a
confidence and the current mid. Errors use the documented codes: 1002 insufficient funds (a funded account,
``Simulator.fund``), 1003 market closed (profile ``market_open: false``), 1004 invalid symbol.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tickwire.sim.engine import EngineError, Order
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.market import ASK, BID

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext


class TradefenceOrders:
    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx

    def order_json(self, o: Order) -> dict[str, Any]:
        fp, fq = self.ctx.fmt[o.symbol]
        return {
            "id": str(o.id),
            "symbol": o.symbol,
            "type": o.type,
            "side": "BUY" if o.side == BID else "SELL",
            "quantity": fq(o.qty),
            "price": fp(o.price) if o.price is not None else None,
            "filled_quantity": fq(o.filled),
            "status": o.status,
        }

    def route(self, ep: VenueServer, req: Request, client: str) -> Response | None:
        if (req.method, req.path) == ("POST", "/v1/orders"):
            status, body = self.create(ep, client, req.json_object())
            return json_response(body, status)
        if req.method == "GET" and req.path.startswith("/v1/orders/"):
            oid = req.path.rsplit("/", 1)[1]
            order = self.ctx.engine.orders.get(int(oid)) if oid.isdigit() else None
            if order is None or order.account != client:
                return json_response({"code": 404, "message": "order not found"}, 404)
            return json_response(self.order_json(order))
        if (req.method, req.path) == ("POST", "/v1/batch"):
            ops = req.json_object().get("operations")
            if not isinstance(ops, list):
                return json_response({"code": 400, "message": "operations must be a list"}, 400)
            results = []
            for op in ops:
                kind = op.get("action") if isinstance(op, dict) else None
                data = op.get("data") if isinstance(op, dict) else None
                if not isinstance(data, dict):
                    status, body = 400, {"code": 400, "message": "each operation needs action and data"}
                elif kind == "CREATE_ORDER":
                    status, body = self.create(ep, client, data)
                elif kind == "CANCEL_ORDER":
                    status, body = self.cancel(client, str(data.get("order_id", "")))
                elif kind == "UPDATE_POSITION":
                    status, body = self.update_position(ep, client, data)
                else:
                    status, body = 400, {"code": 400, "message": f"unsupported action {kind}"}
                results.append({"action": kind, "status": status, "result": body})
            return json_response({"results": results})
        if (req.method, req.path) == ("GET", "/v1/account"):
            return json_response(self.account(client))
        if (req.method, req.path) == ("POST", "/v1/ai/recommendations"):
            status, body = self.recommend(ep, req.json_object())
            return json_response(body, status)
        return None

    def recommend(self, ep: VenueServer, b: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        v = self.ctx
        band = {"CONSERVATIVE": Decimal("0.02"), "MODERATE": Decimal("0.01"), "AGGRESSIVE": Decimal("0.002")}
        risk, horizon = str(b.get("risk_tolerance", "")), str(b.get("time_horizon", ""))
        portfolio = b.get("portfolio")
        if risk not in band or not horizon.endswith("_DAYS") or not isinstance(portfolio, list):
            msg = "portfolio (a list), risk_tolerance and time_horizon (e.g. 30_DAYS) are required"
            return 400, {"code": 400, "message": msg}
        symbols = [str(p.get("symbol") if isinstance(p, dict) else p) for p in portfolio]
        if bad := [s for s in symbols if s not in v.books]:
            return 400, {"code": 1004, "message": f"invalid symbol {bad[0]}"}
        out = []
        for s in symbols:
            inst, book = v.instruments[s], v.books[s]
            bid, ask = book.bids.best(), book.asks.best()
            if bid is None or ask is None:
                continue
            mid = inst.price(bid + ask) / 2
            dev = (mid - inst.mid) / inst.mid
            action = "HOLD" if abs(dev) <= band[risk] else ("SELL" if dev > 0 else "BUY")
            confidence = min(Decimal(1), abs(dev) / band[risk] / 2).quantize(Decimal("0.01"))
            out.append({"symbol": s, "action": action, "confidence": str(confidence), "price": f"{mid:f}"})
        body = {
            "recommendations": out,
            "risk_tolerance": risk,
            "time_horizon": horizon,
            "generated_at": ep.now_ms(),
        }
        return 200, body

    def account(self, client: str) -> dict[str, Any]:
        v = self.ctx
        held = v.engine.ledger.holdings(client)
        balances = [{"asset": a, "available": str(f), "reserved": str(lk)} for a, f, lk in held]
        positions = []
        for s in v.books:
            n = v.engine.position(client, s)
            if n:
                positions.append(
                    {"symbol": s, "quantity": v.fmt[s][1](abs(n)), "side": "LONG" if n > 0 else "SHORT"}
                )
        return {"balances": balances, "positions": positions}

    def update_position(self, ep: VenueServer, client: str, d: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        v = self.ctx
        symbol = str(d.get("symbol", ""))
        if symbol not in v.books:
            return 400, {"code": 1004, "message": f"invalid symbol {symbol}"}
        try:
            target = Decimal(str(d["quantity"])) / v.instruments[symbol].lot
            if target != target.to_integral_value():
                raise InvalidOperation
        except (KeyError, InvalidOperation):
            return 400, {"code": 400, "message": "symbol and a target quantity are required"}
        diff = int(target) - v.engine.position(client, symbol)
        if diff == 0:
            return 200, {"symbol": symbol, "quantity": v.fmt[symbol][1](int(target)), "order": None}
        fq = v.fmt[symbol][1]
        order = {
            "symbol": symbol,
            "type": "MARKET",
            "side": "BUY" if diff > 0 else "SELL",
            "quantity": fq(abs(diff)),
        }
        status, body = self.create(ep, client, order)
        if status >= 300:
            return status, body
        return 200, {"symbol": symbol, "quantity": fq(v.engine.position(client, symbol)), "order": body}

    def create(self, ep: VenueServer, client: str, o: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        v = self.ctx
        if not v.profile.get("market_open", True):
            return 400, {"code": 1003, "message": "market closed"}
        symbol = str(o.get("symbol", ""))
        if symbol not in v.books:
            return 400, {"code": 1004, "message": f"invalid symbol {symbol}"}
        inst = v.instruments[symbol]
        try:
            side = {"BUY": BID, "SELL": ASK}[str(o["side"])]
            kind = {"LIMIT": "LIMIT", "MARKET": "MARKET"}[str(o["type"])]
            lots = Decimal(str(o["quantity"])) / inst.lot
            ticks = Decimal(str(o["price"])) / inst.tick if kind == "LIMIT" else None
            for n in (lots, ticks):
                if n is not None and (n != n.to_integral_value() or n <= 0):
                    raise InvalidOperation
        except (KeyError, InvalidOperation, ValueError, TypeError):
            return 400, {"code": 400, "message": "side, type, quantity (and price for LIMIT) are required"}
        try:
            order, step = v.engine.place(
                client, symbol, side, kind, int(lots), None if ticks is None else int(ticks),
                "GTC" if kind == "LIMIT" else "IOC", "", ep.now_ms(),
            )  # fmt: skip
        except EngineError as e:
            if e.code == "funds":
                return 400, {"code": 1002, "message": "insufficient funds"}
            return 400, {"code": 400, "message": str(e)}
        if step is not None:
            v.publish(symbol, step)
        return 201, self.order_json(order)

    def cancel(self, client: str, oid: str) -> tuple[int, dict[str, Any]]:
        v = self.ctx
        order = v.engine.orders.get(int(oid)) if oid.isdigit() else None
        if order is None or order.account != client:
            return 404, {"code": 404, "message": "order not found"}
        try:
            order, step = v.engine.cancel(client, order.symbol, order.id, None)
        except EngineError:
            return 400, {"code": 400, "message": "order is not open"}
        if step is not None:
            v.publish(order.symbol, step)
        return 200, self.order_json(order)
