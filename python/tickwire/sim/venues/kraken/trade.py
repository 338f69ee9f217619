"""Kraken WebSocket v2 order entry (venues.md §4.2) on the authenticated socket (``/auth/v2`` here,
``ws-auth.kraken.com/v2`` in production), on the simulator's matching engine.

``add_order`` params: ``order_type`` (limit, market), ``side``, ``order_qty``, ``symbol``,
``limit_price``, ``token`` (from REST ``GetWebSocketsToken``), optional ``cl_ord_id``,
``time_in_force`` (gtc, ioc) and ``post_only``. ``cancel_order`` takes ``order_id`` or ``cl_ord_id``
lists; ``cancel_all`` cancels every open order; ``amend_order`` (``order_id`` or ``cl_ord_id``, with
``order_qty`` and/or ``limit_price``) changes an order in place, keeping its id (here it always goes
to the back of the queue; Kraken keeps priority when only the size shrinks).

REST (``/0/private/…``, form-encoded, API-Sign): ``AddOrder`` (``pair``, ``type``, ``ordertype``,
``volume``, ``price``, ``timeinforce``, ``oflags=post``, ``cl_ord_id``), ``CancelOrder`` (``txid`` or
``cl_ord_id``), ``CancelAll``, ``OpenOrders``, ``QueryOrders`` (``txid`` list), ``Balance``. Pairs may
be named as on the WebSocket (``BTC/USD``) or by REST altname (``XBTUSD``); order ids are the same
``O…`` ids the WebSocket uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.sim.engine import EngineError, Fill, Order
from tickwire.sim.market import ASK, BID, Fmt
from tickwire.sim.timefmt import rfc3339
from tickwire.sim.venues.private import PrivateStreams
from tickwire.sim.ws import Conn

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext

Reply = Callable[[dict[str, Any]], None]


EXEC = {"NEW": "new", "TRADE": "trade", "CANCELED": "canceled", "EXPIRED": "expired", "REPLACED": "amended"}

KRAKEN_ERRORS = {
    "funds": "EOrder:Insufficient funds",
    "min_qty": "EOrder:Order minimum not met",
    "max_qty": "EOrder:Invalid arguments:volume",
    "notional": "EOrder:Cost minimum not met",
}


def order_error(e: EngineError) -> str:
    """An engine refusal as Kraken's error string."""
    return KRAKEN_ERRORS.get(e.code, f"EOrder:{e}")


class KrakenOrders:
    def __init__(self, ctx: VenueContext, v2_fmt: Mapping[str, tuple[Fmt, Fmt]]) -> None:
        self.ctx = ctx
        self.v2_fmt = v2_fmt  # WebSocket v2 numbers: shortest form at the instrument's precision
        self.tokens: dict[str, str] = {}  # websocket token -> api key
        self.streams = PrivateStreams(ctx.subscribers)  # per API key, sockets on "executions"
        ctx.engine.listeners.append(self.on_order)

    def on_order(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        """The ``executions`` channel: one update per order event (numbers at instrument precision)."""
        self.streams.push(
            lambda c: self._execution(o, exec_type, fill, c.endpoint.now_ms()), account=o.account
        )

    def _execution(self, o: Order, exec_type: str, fill: Fill | None, now_ms: int) -> bytes:
        fp, fq = self.v2_fmt[o.symbol]
        inst = self.ctx.instruments[o.symbol]
        report: dict[str, Any] = {
            "order_id": f"O{o.id}",
            "symbol": o.symbol,
            "side": "buy" if o.side == BID else "sell",
            "order_type": o.type.lower(),
            "order_qty": Decimal(fq(o.qty)),
            "order_status": o.status.lower(),
            "exec_type": EXEC[exec_type],
            "cum_qty": Decimal(fq(o.filled)),
            "timestamp": rfc3339(now_ms),
        }
        if o.client_id and not o.client_id.startswith("sim-"):
            report["cl_ord_id"] = o.client_id
        if o.price is not None:
            report["limit_price"] = Decimal(fp(o.price))
        if fill is not None:
            report.update(last_qty=Decimal(fq(fill.qty)), last_price=Decimal(fp(fill.price)))
            report.update(exec_id=f"T{fill.trade_id}", liquidity_ind="m" if fill.maker else "t")
        if o.filled:
            report["avg_price"] = Decimal(o.quote) * inst.tick / o.filled
        return orjson.dumps({"channel": "executions", "type": "update", "data": [report]}, default=_num)

    def on_method(self, conn: Conn, method: str, params: dict[str, Any], reply: Reply) -> None:
        v = self.ctx
        account = self.tokens.get(str(params.get("token", "")))
        if account is None:
            reply({"error": "EAPI:Invalid key", "method": method, "success": False})
            return
        if method == "subscribe" and params.get("channel") == "executions":
            self.streams.add(account, conn)
            reply({"method": "subscribe", "result": {"channel": "executions"}, "success": True})
        elif method == "add_order":
            self._add(conn, account, params, reply)
        elif method == "cancel_order":
            self._cancel(conn, account, params, reply)
        elif method == "cancel_all":
            count = 0
            for o in v.engine.open_orders(account, None):
                _, step = v.engine.cancel(account, o.symbol, o.id, None)
                if step is not None:
                    v.publish(o.symbol, step)
                count += 1
            reply({"method": "cancel_all", "result": {"count": count}, "success": True})
        elif method == "amend_order":
            self._amend(account, params, reply)
        else:
            reply({"error": f"Unsupported method {method}", "method": method, "success": False})

    def _add(self, conn: Conn, account: str, p: dict[str, Any], reply: Reply) -> None:
        v = self.ctx
        symbol = str(p.get("symbol", ""))
        side = {"buy": BID, "sell": ASK}.get(str(p.get("side")))
        kind = {"limit": "LIMIT", "market": "MARKET"}.get(str(p.get("order_type")))
        tif = {"gtc": "GTC", "ioc": "IOC"}.get(str(p.get("time_in_force", "gtc")))
        if symbol not in v.books or side is None or kind is None or tif is None:
            reply({"error": "EGeneral:Invalid arguments", "method": "add_order", "success": False})
            return
        inst = v.instruments[symbol]
        try:
            lots = Decimal(str(p["order_qty"])) / inst.lot
            ticks = Decimal(str(p["limit_price"])) / inst.tick if kind == "LIMIT" else None
            for n in (lots, ticks):
                if n is not None and (n != n.to_integral_value() or n <= 0):
                    raise InvalidOperation
        except (KeyError, InvalidOperation, ValueError):
            reply(
                {
                    "error": "EGeneral:Invalid arguments:order_qty or limit_price",
                    "method": "add_order",
                    "success": False,
                }
            )
            return
        cl = str(p.get("cl_ord_id", ""))
        try:
            order, step = v.engine.place(
                account, symbol, side, kind, int(lots), None if ticks is None else int(ticks),
                tif if kind == "LIMIT" else "IOC", cl, conn.endpoint.now_ms(),
                post_only=bool(p.get("post_only", False)),
            )  # fmt: skip
        except EngineError as e:
            error = order_error(e)
            reply({"error": error, "method": "add_order", "success": False})
            return
        if step is not None:
            v.publish(symbol, step)
        result: dict[str, Any] = {"order_id": f"O{order.id}"}
        if cl:
            result["cl_ord_id"] = cl
        reply({"method": "add_order", "result": result, "success": True})

    def _cancel(self, conn: Conn, account: str, p: dict[str, Any], reply: Reply) -> None:
        v = self.ctx
        targets = [("id", str(x)) for x in p.get("order_id", [])] + [
            ("cl", str(x)) for x in p.get("cl_ord_id", [])
        ]
        if not targets:
            reply({"error": "EGeneral:Invalid arguments", "method": "cancel_order", "success": False})
            return
        for kind, ref in targets:
            oid = int(ref[1:]) if kind == "id" and ref[1:].isdigit() else None
            order = v.engine.orders.get(oid) if oid is not None else None
            if kind == "cl":
                order = next((o for o in v.engine.open_orders(account, None) if o.client_id == ref), None)
            try:
                if order is None:
                    raise EngineError("unknown", "Unknown order")
                _, step = v.engine.cancel(account, order.symbol, order.id, None)
            except EngineError:
                reply({"error": "EOrder:Unknown order", "method": "cancel_order", "success": False})
                continue
            if step is not None:
                v.publish(order.symbol, step)
            reply({"method": "cancel_order", "result": {"order_id": f"O{order.id}"}, "success": True})

    def _amend(self, account: str, p: dict[str, Any], reply: Reply) -> None:
        v = self.ctx
        ref = str(p.get("order_id", ""))
        oid = int(ref[1:]) if ref[1:].isdigit() else None
        cl = str(p.get("cl_ord_id", "")) or None
        order = v.engine.orders.get(oid) if oid is not None else None
        if order is None and cl is not None:
            order = next((o for o in v.engine.open_orders(account, None) if o.client_id == cl), None)
        if order is None or order.account != account or not order.open:
            reply({"error": "EOrder:Unknown order", "method": "amend_order", "success": False})
            return
        inst = v.instruments[order.symbol]
        try:
            qty = Decimal(str(p["order_qty"])) / inst.lot if "order_qty" in p else None
            px = Decimal(str(p["limit_price"])) / inst.tick if "limit_price" in p else None
            if (qty is None and px is None) or any(
                n is not None and (n != n.to_integral_value() or n <= 0) for n in (qty, px)
            ):
                raise InvalidOperation
            _, steps = v.engine.amend(
                account,
                order.symbol,
                order.id,
                None,
                None if qty is None else int(qty),
                None if px is None else int(px),
            )
        except (InvalidOperation, ValueError, EngineError):
            reply({"error": "EGeneral:Invalid arguments", "method": "amend_order", "success": False})
            return
        for s in steps:
            v.publish(order.symbol, s)
        result = {"amend_id": f"A{order.id}-{len(steps)}", "order_id": f"O{order.id}"}
        reply({"method": "amend_order", "result": result, "success": True})

    def rest(self, ep: VenueServer, account: str, method: str, f: dict[str, str]) -> dict[str, Any] | None:
        """One private REST method: Kraken's ``{"error": [...], "result": ...}``, or None if unknown."""
        v = self.ctx
        if method == "Balance":
            held = v.engine.ledger.holdings(account)
            return {"error": [], "result": {ASSETS.get(a, a): f"{free + lk:f}" for a, free, lk in held}}
        if method == "AddOrder":
            return self._rest_add(ep, account, f)
        if method in ("CancelOrder", "CancelAll"):
            if method == "CancelAll":
                targets = v.engine.open_orders(account, None)
            else:
                ref = f.get("txid", "") or f.get("cl_ord_id", "")
                targets = [o for o in v.engine.open_orders(account, None) if ref in (f"O{o.id}", o.client_id)]
                if not targets:
                    return {"error": ["EOrder:Unknown order"]}
            for o in targets:
                _, step = v.engine.cancel(account, o.symbol, o.id, None)
                if step is not None:
                    v.publish(o.symbol, step)
            return {"error": [], "result": {"count": len(targets)}}
        if method == "OpenOrders":
            return {
                "error": [],
                "result": {"open": {f"O{o.id}": self._info(o) for o in v.engine.open_orders(account, None)}},
            }
        if method == "QueryOrders":
            refs = [r for r in f.get("txid", "").split(",") if r]
            found = {r: v.engine.orders.get(int(r[1:])) if r[1:].isdigit() else None for r in refs}
            if not refs or any(o is None or o.account != account for o in found.values()):
                return {"error": ["EOrder:Invalid order"]}
            return {"error": [], "result": {r: self._info(o) for r, o in found.items() if o is not None}}
        return None

    def _rest_add(self, ep: VenueServer, account: str, f: dict[str, str]) -> dict[str, Any]:
        v = self.ctx
        pair = PAIRS.get(f.get("pair", ""), f.get("pair", ""))
        side = {"buy": BID, "sell": ASK}.get(f.get("type", ""))
        kind = {"limit": "LIMIT", "market": "MARKET"}.get(f.get("ordertype", ""))
        tif = {"GTC": "GTC", "IOC": "IOC"}.get(f.get("timeinforce", "GTC"))
        if pair not in v.books:
            return {"error": ["EQuery:Unknown asset pair"]}
        if side is None or kind is None or tif is None:
            return {"error": ["EGeneral:Invalid arguments"]}
        inst = v.instruments[pair]
        try:
            lots = Decimal(f["volume"]) / inst.lot
            ticks = Decimal(f["price"]) / inst.tick if kind == "LIMIT" else None
            if any(n is not None and (n != n.to_integral_value() or n <= 0) for n in (lots, ticks)):
                raise InvalidOperation
            order, step = v.engine.place(
                account, pair, side, kind, int(lots), None if ticks is None else int(ticks),
                tif if kind == "LIMIT" else "IOC", f.get("cl_ord_id", ""), ep.now_ms(),
                post_only="post" in f.get("oflags", "").split(","),
            )  # fmt: skip
        except (KeyError, InvalidOperation):
            return {"error": ["EGeneral:Invalid arguments:volume"]}
        except EngineError as e:
            return {"error": [order_error(e)]}
        if step is not None:
            v.publish(pair, step)
        descr = f"{f['type']} {f['volume']} {pair} @ {f['ordertype']}" + (f" {f['price']}" if ticks else "")
        return {"error": [], "result": {"descr": {"order": descr}, "txid": [f"O{order.id}"]}}

    def _info(self, o: Order) -> dict[str, Any]:
        fp, fq = self.ctx.fmt[o.symbol]
        inst = self.ctx.instruments[o.symbol]
        cost = Decimal(o.quote) * inst.tick * inst.lot
        status = {"NEW": "open", "PARTIALLY_FILLED": "open", "FILLED": "closed", "CANCELED": "canceled"}
        return {
            "status": status.get(o.status, "expired"),
            "cl_ord_id": o.client_id,
            "opentm": o.time_ms / 1000,
            "vol": fq(o.qty),
            "vol_exec": fq(o.filled),
            "cost": f"{cost:f}",
            "fee": "0",
            "price": f"{cost / inst.qty(o.filled):f}" if o.filled else "0",
            "descr": {
                "pair": o.symbol,
                "type": "buy" if o.side == BID else "sell",
                "ordertype": o.type.lower(),
                "price": fp(o.price or 0),
            },
        }


# REST altnames and Kraken's asset codes (X/Z-prefixed legacy names).
PAIRS = {"XBTUSD": "BTC/USD", "XXBTZUSD": "BTC/USD", "ETHUSD": "ETH/USD", "XETHZUSD": "ETH/USD"}
ASSETS = {"USD": "ZUSD", "BTC": "XXBT", "ETH": "XETH"}


def _num(d: Any) -> Any:
    if isinstance(d, Decimal):
        return orjson.Fragment(f"{d:f}".encode())
    raise TypeError(type(d).__name__)
