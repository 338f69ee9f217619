"""Tradefence orders (seed-venues.md) on the matching engine: ``POST /v1/orders`` (``symbol``,
``type`` LIMIT/MARKET, ``side`` BUY/SELL, ``quantity``, ``price``, ``strategy``), ``GET
/v1/orders/{id}``, and ``POST /v1/batch`` with ``operations`` of ``{"action", "data"}`` (the
document's shape): ``CREATE_ORDER`` (data: an order), ``CANCEL_ORDER`` (``{"order_id"}``) and
``UPDATE_POSITION`` (default where the document is silent: ``{"symbol", "quantity"}`` is the target
position, reached with a market order; quantity 0 closes it). ``GET /v1/account`` (default) lists
balances and positions. Also defaults, for what an order-entry client needs and the document does
not show: ``strategy`` (the document's free-text field) is kept as the order's tag — the engine's
client id, so unique among the account's open orders — and echoed in every order; an optional
``time_in_force`` (GTC, the default, IOC or FOK) for LIMIT orders; an order lists its executions
(``fills``) and ``average_price``; ``GET /v1/orders`` (``status`` OPEN, the default, or ALL;
``symbol``, ``strategy``) lists orders, ``GET /v1/fills`` (``symbol``, ``since`` ms) executions and
``GET /v1/instruments`` (public) each symbol's tick, lot and size limits.
``POST /v1/ai/recommendations`` (``portfolio``: symbols or
``{"symbol", …}`` objects, ``risk_tolerance`` CONSERVATIVE/MODERATE/AGGRESSIVE, ``time_horizon`` such
as ``30_DAYS``) answers, where the document shows no response, a deterministic default: per symbol
BUY below its reference price, SELL above, HOLD within a band the risk tolerance sets, with a
confidence and the current mid. Errors use the documented codes: 1002 insufficient funds (a funded account,
``Simulator.fund``), 1003 market closed (profile ``market_open: false``), 1004 invalid symbol.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tickwire.sim.engine import EngineError, Fill, Order
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.market import ASK, BID

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext


class TradefenceOrders:
    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx

    @staticmethod
    def tag(o: Order) -> str | None:
        """The order's ``strategy``; None when it was sent without one (the engine then names it)."""
        return None if o.client_id == f"sim-{o.id}" else o.client_id

    def order_json(self, o: Order) -> dict[str, Any]:
        fp, fq = self.ctx.fmt[o.symbol]
        avg = self.ctx.instruments[o.symbol].tick * o.quote / o.filled if o.filled else None
        return {
            "id": str(o.id),
            "symbol": o.symbol,
            "type": o.type,
            "side": "BUY" if o.side == BID else "SELL",
            "quantity": fq(o.qty),
            "price": fp(o.price) if o.price is not None else None,
            "strategy": self.tag(o),
            "time_in_force": o.tif if o.type == "LIMIT" else None,
            "filled_quantity": fq(o.filled),
            "average_price": f"{avg.normalize():f}" if avg is not None else None,
            "status": o.status,
            "created": o.time_ms,
            "fills": [self.fill_json(o, f, full=False) for f in o.fills],
        }

    def fill_json(self, o: Order, f: Fill, full: bool = True) -> dict[str, Any]:
        fp, fq = self.ctx.fmt[o.symbol]
        out: dict[str, Any] = {"id": str(f.trade_id), "price": fp(f.price), "quantity": fq(f.qty)}
        out.update(liquidity="MAKER" if f.maker else "TAKER", time=f.time_ms)
        if full:
            out.update(order_id=str(o.id), strategy=self.tag(o), symbol=o.symbol)
            out.update(side="BUY" if o.side == BID else "SELL")
        return out

    def listing(self, client: str, q: dict[str, str]) -> Response:
        which, symbol, tag = q.get("status", "OPEN"), q.get("symbol"), q.get("strategy")
        if which not in ("OPEN", "ALL"):
            return json_response({"code": 400, "message": "status is OPEN or ALL"}, 400)
        mine = [
            o
            for o in self.ctx.engine.orders.values()
            if o.account == client
            and (which == "ALL" or o.open)
            and symbol in (None, o.symbol)
            and tag in (None, self.tag(o))
        ]
        return json_response({"orders": [self.order_json(o) for o in mine]})

    def executions(self, client: str, q: dict[str, str]) -> Response:
        symbol, since = q.get("symbol"), q.get("since", "0")
        if not since.isdigit():
            return json_response({"code": 400, "message": "since is Unix milliseconds"}, 400)
        out = [
            self.fill_json(o, f)
            for o in self.ctx.engine.orders.values()
            if o.account == client and symbol in (None, o.symbol)
            for f in o.fills
            if f.time_ms >= int(since)
        ]
        out.sort(key=lambda f: (f["time"], int(f["id"])))
        return json_response({"fills": out})

    def instruments(self) -> Response:
        out = []
        for s, i in self.ctx.instruments.items():
            fq = self.ctx.fmt[s][1]
            row: dict[str, Any] = {"symbol": s, "tick_size": f"{i.tick:f}", "lot_size": f"{i.lot:f}"}
            row.update(min_quantity=fq(i.min_lots), max_quantity=fq(i.max_lots) if i.max_lots else None)
            row.update(min_notional=f"{i.min_notional:f}" if i.min_notional else None)
            out.append(row)
        return json_response({"instruments": out})

    def route(self, ep: VenueServer, req: Request, client: str) -> Response | None:
        if (req.method, req.path) == ("POST", "/v1/orders"):
            status, body = self.create(ep, client, req.json_object())
            return json_response(body, status)
        if (req.method, req.path) == ("GET", "/v1/orders"):
            return self.listing(client, req.query)
        if (req.method, req.path) == ("GET", "/v1/fills"):
            return self.executions(client, req.query)
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
            tif = str(o.get("time_in_force") or "GTC") if kind == "LIMIT" else "IOC"
            tag = o.get("strategy") or ""
            if tif not in ("GTC", "IOC", "FOK") or not isinstance(tag, str) or len(tag) > 64:
                raise ValueError(tif)
            for n in (lots, ticks):
                if n is not None and (n != n.to_integral_value() or n <= 0):
                    raise InvalidOperation
        except (KeyError, InvalidOperation, ValueError, TypeError):
            msg = "side, type, quantity (and price for LIMIT) are required; strategy is text (<= 64)"
            return 400, {"code": 400, "message": msg}
        try:
            order, step = v.engine.place(
                client, symbol, side, kind, int(lots), None if ticks is None else int(ticks),
                tif, tag, ep.now_ms(),
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
