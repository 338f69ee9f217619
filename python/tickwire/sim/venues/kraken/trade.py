"""Kraken WebSocket v2 order entry (venues.md §4.2) on the authenticated socket (``/auth/v2`` here,
``ws-auth.kraken.com/v2`` in production), on the simulator's matching engine.

``add_order`` params: ``order_type`` (limit, market), ``side``, ``order_qty``, ``symbol``,
``limit_price``, ``token`` (from REST ``GetWebSocketsToken``), optional ``cl_ord_id``,
``time_in_force`` (gtc, ioc) and ``post_only``. ``cancel_order`` takes ``order_id`` or ``cl_ord_id``
lists; ``cancel_all`` cancels every open order; ``amend_order`` (``order_id`` or ``cl_ord_id``, with
``order_qty`` and/or ``limit_price``) changes an order in place, keeping its id (here it always goes
to the back of the queue; Kraken keeps priority when only the size shrinks).

REST (``/0/private/…``, form-encoded, API-Sign): ``AddOrder`` (``pair``, ``type``, ``ordertype``,
``volume``, ``price``, ``timeinforce``, ``oflags=post``, ``cl_ord_id``, ``userref``; answers ``txid``
and ``descr`` only), ``CancelOrder`` (``txid`` or ``cl_ord_id``; answers ``count``), ``AmendOrder``
(``txid`` or ``cl_ord_id`` with ``order_qty``/``limit_price``; answers ``amend_id``), ``CancelAll``,
``Balance``, ``BalanceEx`` (``balance`` and ``hold_trade``), and the views of ``history.py``
(``OpenOrders``, ``ClosedOrders``, ``QueryOrders``, ``TradesHistory``). Pairs may be named as on the
WebSocket (``BTC/USD``), by REST altname (``XBTUSD``) or pair key (``XXBTZUSD``); order ids are the
same txids the WebSocket uses (``history.txid``).

``executions`` subscribers get a snapshot of the open orders (``snap_orders``, default true), then one
update per order event; a trade's update carries ``exec_id``, the pair's public ``trade_id``,
``last_qty``/``last_price`` and ``liquidity_ind``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.sim.engine import EngineError, Fill, Order
from tickwire.sim.market import ASK, BID, Fmt
from tickwire.sim.timefmt import rfc3339
from tickwire.sim.venues.deadman import DeadMan
from tickwire.sim.venues.kraken.history import History, aliases, order_of, txid
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
    # A new order on a pair listed cancel_only (``Simulator.set_status``): Kraken documents this one
    # for the exchange's mode (SystemStatus); no pair-level answer is documented.
    "closed": "EService:Market in cancel_only mode",
}


# An order off a grid changed by ``Simulator.set_grid`` (docs.kraken.com "Spot Error Messages"): a
# price off ``tick_size``, a volume under ``ordermin``. (``lot_decimals`` does not change here: a
# volume past them is refused before, as one off the simulator's own lot.)
GRID_ERRORS = {"tick": "EOrder:Tick size check failed", "min_qty": KRAKEN_ERRORS["min_qty"]}


def order_error(e: EngineError) -> str:
    """An engine refusal as Kraken's error string."""
    return KRAKEN_ERRORS.get(e.code, f"EOrder:{e}")


class KrakenOrders:
    def __init__(self, ctx: VenueContext, v2_fmt: Mapping[str, tuple[Fmt, Fmt]]) -> None:
        self.ctx = ctx
        self.v2_fmt = v2_fmt  # WebSocket v2 numbers: shortest form at the instrument's precision
        # WebSocket token -> (api key, first use due by): docs "use it within 15 minutes; it does not
        # expire once a connection that used it is maintained" — kept per connection in its state.
        self.tokens: dict[str, tuple[str, float]] = {}
        self.streams = PrivateStreams(
            ctx.subscribers, ctx.private_faults
        )  # per API key, sockets on "executions"
        self.userrefs: dict[int, int] = {}  # engine order id -> AddOrder userref
        self.history = History(ctx, self.userrefs)
        self.pairs = aliases(list(ctx.books))
        self.amends = itertools.count(1)
        ctx.engine.listeners.append(self.on_order)
        self.dead_man = DeadMan(ctx)

    def on_order(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        """The ``executions`` channel: one update per order event (numbers at instrument precision)."""
        self.streams.push(
            lambda c: orjson.dumps(
                {
                    "channel": "executions",
                    "type": "update",
                    "data": [self._execution(o, EXEC[exec_type], fill, c.endpoint.now_ms())],
                },
                default=_num,
            ),
            account=o.account,
        )

    def _execution(self, o: Order, exec_type: str, fill: Fill | None, now_ms: int) -> dict[str, Any]:
        fp, fq = self.v2_fmt[o.symbol]
        inst = self.ctx.instruments[o.symbol]
        report: dict[str, Any] = {
            "order_id": txid(o),
            "symbol": o.symbol,
            "side": "buy" if o.side == BID else "sell",
            "order_type": o.type.lower(),
            "order_qty": Decimal(fq(o.qty)),
            "order_status": o.status.lower(),
            "exec_type": exec_type,
            "cum_qty": Decimal(fq(o.filled)),
            "timestamp": rfc3339(now_ms),
        }
        if o.client_id and not o.client_id.startswith("sim-"):
            report["cl_ord_id"] = o.client_id
        if o.price is not None:
            report["limit_price"] = Decimal(fp(o.price))
        if fill is not None:
            report.update(last_qty=Decimal(fq(fill.qty)), last_price=Decimal(fp(fill.price)))
            report.update(exec_id=f"T{fill.trade_id}-{txid(o)}", trade_id=fill.trade_id)
            report["liquidity_ind"] = "m" if fill.maker else "t"
        if o.filled:
            report["avg_price"] = Decimal(o.quote) * inst.tick / o.filled
        return report

    def on_method(self, conn: Conn, method: str, params: dict[str, Any], reply: Reply) -> None:
        v = self.ctx
        token = str(params.get("token", ""))
        account, due = self.tokens.get(token, (None, 0.0))
        used: set[str] = conn.state.setdefault("tokens", set())
        if account is None or (token not in used and time.monotonic() > due):
            reply({"error": "EAPI:Invalid key", "method": method, "success": False})
            return
        used.add(token)
        if method == "subscribe" and params.get("channel") == "executions":
            self.streams.add(account, conn)
            reply({"method": "subscribe", "result": {"channel": "executions"}, "success": True})
            if params.get("snap_orders", True):
                now = conn.endpoint.now_ms()
                data = [self._execution(o, "new", None, now) for o in v.engine.open_orders(account, None)]
                snap = {"channel": "executions", "type": "snapshot", "data": data}
                conn.send_text(orjson.dumps(snap, default=_num))
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
            self._amend(account, params, reply, conn.endpoint.now_ms())
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
        if symbol in v.status:
            reply({"error": KRAKEN_ERRORS["closed"], "method": "add_order", "success": False})
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
        off = self.off_grid(
            symbol,
            conn.endpoint.now_ms(),
            p.get("limit_price") if ticks is not None else None,
            p["order_qty"],
        )
        if off is not None:  # refused before the engine, as the venue checks the pair's rules first
            reply({"error": GRID_ERRORS[off], "method": "add_order", "success": False})
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
        result: dict[str, Any] = {"order_id": txid(order)}
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
            order = order_of(v, ref) if kind == "id" else None
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
            result = {"order_id": txid(order)}
            if kind == "cl":
                result["cl_ord_id"] = ref
            reply({"method": "cancel_order", "result": result, "success": True})

    def off_grid(self, symbol: str, now_ms: int, price: Any, qty: Any) -> str | None:
        """The rule of a grid changed by ``Simulator.set_grid`` that ``price``/``qty`` (None: not
        given) break, else None."""
        num = (None if x is None else Decimal(str(x)) for x in (price, qty))
        return self.ctx.grids.off_grid(symbol, now_ms, *num)

    def _amend(self, account: str, p: dict[str, Any], reply: Reply, now_ms: int) -> None:
        ref, cl = str(p.get("order_id", "")), str(p.get("cl_ord_id", ""))
        error, result = self.amend(account, ref, cl, p, now_ms)
        if error is not None:
            reply({"error": error, "method": "amend_order", "success": False})
        else:
            reply({"method": "amend_order", "result": result, "success": True})

    def amend(
        self, account: str, ref: str, cl: str, p: Mapping[str, Any], now_ms: int
    ) -> tuple[str | None, dict[str, Any]]:
        """An amend by txid or cl_ord_id to ``order_qty`` and/or ``limit_price`` (WebSocket and REST
        alike): (error, result)."""
        v = self.ctx
        order = order_of(v, ref)
        if order is None and cl:
            order = next((o for o in v.engine.open_orders(account, None) if o.client_id == cl), None)
        if order is None or order.account != account or not order.open:
            return "EOrder:Unknown order", {}
        inst = v.instruments[order.symbol]
        try:
            qty = Decimal(str(p["order_qty"])) / inst.lot if "order_qty" in p else None
            px = Decimal(str(p["limit_price"])) / inst.tick if "limit_price" in p else None
            if (qty is None and px is None) or any(
                n is not None and (n != n.to_integral_value() or n <= 0) for n in (qty, px)
            ):
                raise InvalidOperation
            off = self.off_grid(order.symbol, now_ms, p.get("limit_price"), p.get("order_qty"))
            if off is not None:
                return GRID_ERRORS[off], {}
            _, steps = v.engine.amend(
                account,
                order.symbol,
                order.id,
                None,
                None if qty is None else int(qty),
                None if px is None else int(px),
            )
        except (InvalidOperation, ValueError, EngineError):
            return "EGeneral:Invalid arguments", {}
        for s in steps:
            v.publish(order.symbol, s)
        result = {"amend_id": f"A{order.id}-{next(self.amends)}", "order_id": txid(order)}
        if cl:
            result["cl_ord_id"] = cl
        return None, result

    def rest(self, ep: VenueServer, account: str, method: str, f: dict[str, str]) -> dict[str, Any] | None:
        """One private REST method: Kraken's ``{"error": [...], "result": ...}``, or None if unknown."""
        v = self.ctx
        views = {
            "OpenOrders": self.history.open,
            "ClosedOrders": self.history.closed,
            "QueryOrders": self.history.query,
            "TradesHistory": self.history.trades,
        }
        if method in views:
            return views[method](account, f)
        if method in ("Balance", "BalanceEx"):
            held = v.engine.ledger.holdings(account)
            if method == "Balance":
                return {"error": [], "result": {ASSETS.get(a, a): f"{free + lk:f}" for a, free, lk in held}}
            ex = {
                ASSETS.get(a, a): {"balance": f"{free + lk:f}", "hold_trade": f"{lk:f}"}
                for a, free, lk in held
            }
            return {"error": [], "result": ex}
        if method == "AddOrder":
            return self._rest_add(ep, account, f)
        if method == "CancelAllOrdersAfter":
            return self.cancel_all_after(ep, account, f.get("timeout", ""))
        if method == "AmendOrder":
            error, result = self.amend(account, f.get("txid", ""), f.get("cl_ord_id", ""), f, ep.now_ms())
            return {"error": [error]} if error else {"error": [], "result": {"amend_id": result["amend_id"]}}
        if method in ("CancelOrder", "CancelAll"):
            if method == "CancelAll":
                targets = v.engine.open_orders(account, None)
            else:
                ref = f.get("txid", "") or f.get("cl_ord_id", "")
                targets = [o for o in v.engine.open_orders(account, None) if ref in (txid(o), o.client_id)]
                if not targets:
                    return {"error": ["EOrder:Unknown order"]}
            for o in targets:
                _, step = v.engine.cancel(account, o.symbol, o.id, None)
                if step is not None:
                    v.publish(o.symbol, step)
            return {"error": [], "result": {"count": len(targets)}}
        return None

    def cancel_all_after(self, ep: VenueServer, account: str, timeout: str) -> dict[str, Any]:
        """``CancelAllOrdersAfter``: every open order of the account is cancelled ``timeout`` seconds
        from now unless called again; 0 disarms (at most 86400; profile ``dead_man_min_s`` sets a
        minimum, none by default)."""
        if not timeout.isdigit() or int(timeout) > 86400 or 0 < int(timeout) < self.dead_man.min_s(0.0):
            return {"error": ["EGeneral:Invalid arguments:timeout"]}
        until = self.dead_man.arm(account, None, int(timeout))
        now = ep.now_ms()
        trigger = rfc3339(int(until * 1000)) if until else rfc3339(0)
        return {"error": [], "result": {"currentTime": rfc3339(now), "triggerTime": trigger}}

    def _rest_add(self, ep: VenueServer, account: str, f: dict[str, str]) -> dict[str, Any]:
        v = self.ctx
        pair = self.pairs.get(f.get("pair", ""), "")
        side = {"buy": BID, "sell": ASK}.get(f.get("type", ""))
        kind = {"limit": "LIMIT", "market": "MARKET"}.get(f.get("ordertype", ""))
        tif = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK"}.get(f.get("timeinforce", "GTC"))  # FOK: 2026-05-12
        if pair not in v.books:
            return {"error": ["EQuery:Unknown asset pair"]}
        if side is None or kind is None or tif is None or not f.get("userref", "0").lstrip("-").isdigit():
            return {"error": ["EGeneral:Invalid arguments"]}
        if pair in v.status:
            return {"error": [KRAKEN_ERRORS["closed"]]}
        inst = v.instruments[pair]
        try:
            lots = Decimal(f["volume"]) / inst.lot
            ticks = Decimal(f["price"]) / inst.tick if kind == "LIMIT" else None
            if any(n is not None and (n != n.to_integral_value() or n <= 0) for n in (lots, ticks)):
                raise InvalidOperation
            off = self.off_grid(pair, ep.now_ms(), f["price"] if ticks is not None else None, f["volume"])
            if off is not None:
                return {"error": [GRID_ERRORS[off]]}
            order, step = v.engine.place(
                account, pair, side, kind, int(lots), None if ticks is None else int(ticks),
                tif if kind == "LIMIT" else "IOC", f.get("cl_ord_id", ""), ep.now_ms(),
                post_only="post" in f.get("oflags", "").split(","),
            )  # fmt: skip
        except (KeyError, InvalidOperation):
            return {"error": ["EGeneral:Invalid arguments:volume"]}
        except EngineError as e:
            return {"error": [order_error(e)]}
        if "userref" in f:
            self.userrefs[order.id] = int(f["userref"])
        if step is not None:
            v.publish(pair, step)
        fp, fq = v.fmt[pair]
        price = f" {fp(order.price)}" if order.price is not None else ""
        descr = f"{f['type']} {fq(order.qty)} {f['pair']} @ {f['ordertype']}{price}"
        return {"error": [], "result": {"descr": {"order": descr}, "txid": [txid(order)]}}


# Kraken's asset codes (X/Z-prefixed legacy names).
ASSETS = {"USD": "ZUSD", "BTC": "XXBT", "ETH": "XETH"}


def _num(d: Any) -> Any:
    if isinstance(d, Decimal):
        return orjson.Fragment(f"{d:f}".encode())
    raise TypeError(type(d).__name__)
