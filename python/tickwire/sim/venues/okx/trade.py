"""OKX WebSocket order entry (venues.md §2.4): ``{"id","op":"order","args":[{...}]}`` on a logged-in
``/ws/v5/private`` connection, on the simulator's matching engine.

Args: ``instIdCode`` (integer, as ``GET /api/v5/public/instruments`` lists it; OKX delisted ``instId``
from its WebSocket order ops in 2026 — "any instId value provided will be ignored" — so an op without
``instIdCode`` is refused: code 50014 "Parameter instIdCode can not be empty.", nothing done), ``side``,
``ordType`` (market, limit, post_only, fok, ioc), ``sz``, ``px``, ``tdMode``, optional ``clOrdId``
(at most 32 characters). Success ``code:"0"`` with a per-order ``sCode:"0"``; a business failure is
``code:"1"`` with the order's ``sCode``/``sMsg`` (51022 on a pair ``Simulator.set_status`` closed,
51021 on one the profile's ``preopen`` announces); a malformed request ``code:"60013"``. ``op:"cancel-order"``
takes ``instIdCode`` with ``ordId`` or ``clOrdId``; ``op:"amend-order"`` the same plus
``newSz`` and/or ``newPx``. The ``orders`` channel pushes every order event (state, accFillSz,
fillPx/fillSz, execType T/M). Place, amend and cancel each allow ``order_rate_limit`` (60) requests
per 2 s per key and instrument; over it the answer is code 50011 (venues.md §2.4, §2.5).
"""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.sim.engine import EngineError, Fill, Order
from tickwire.sim.http import Request
from tickwire.sim.limits import WeightLimiter
from tickwire.sim.market import ASK, BID
from tickwire.sim.venues.deadman import DeadMan
from tickwire.sim.venues.okx.history import fills
from tickwire.sim.venues.okx.metadata import inst_codes, preopen_codes
from tickwire.sim.venues.private import PrivateStreams
from tickwire.sim.ws import Conn

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext

Result = tuple[str, str, list[dict[str, Any]]]  # code, msg, data

RATE_LIMITED = "Rate limit reached. Please refer to API documentation and throttle requests accordingly."
AMEND_FAILED = "Order modification failed."
CANCEL_FAILED = "Order cancellation failed as the order has been filled, canceled or does not exist"
ORD_TYPES = {
    "market": ("MARKET", "IOC", False),
    "limit": ("LIMIT", "GTC", False),
    "post_only": ("LIMIT", "GTC", True),
    "fok": ("LIMIT", "FOK", False),
    "ioc": ("LIMIT", "IOC", False),
}


# Engine refusals as OKX sCodes.
OKX_CODES = {
    "duplicate": ("51016", "Duplicated clOrdId"),
    "funds": ("51008", "Order failed. Insufficient balance"),
    "min_qty": ("51020", "Your order should meet or exceed the minimum order amount."),
    "max_qty": ("51202", "Market order amount exceeds the maximum amount."),
    # A new order on a pair listed ``suspend`` (``Simulator.set_status``), or announced and not listed
    # yet (profile ``preopen``). OKX does not document which sCode a spot pair in either state gets:
    # these two are its table's words for the states.
    "closed": ("51022", "Contract suspended."),
    "preopen": ("51021", "Contract to be listed"),
}

# An order off a grid changed by ``Simulator.set_grid``, as OKX refuses it: a px off ``tickSz`` is a
# parameter error, a sz off ``lotSz`` 51121, one under ``minSz`` 51020.
GRID_CODES = {
    "tick": ("51000", "Parameter px error"),
    "lot": ("51121", "Order quantity must be a multiple of the lot size."),
    "min_qty": OKX_CODES["min_qty"],
}

# Batch endpoints and the single operation each runs per order.
BATCH = {"batch-orders": "order", "cancel-batch-orders": "cancel-order", "amend-batch-orders": "amend-order"}

STATE = {"NEW": "live", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled", "CANCELED": "canceled"}
STATE["EXPIRED"] = "canceled"


class OkxOrders:
    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        self.streams = PrivateStreams(
            ctx.subscribers, ctx.private_faults
        )  # per API key, sockets subscribed to "orders"
        # The instruments' integer codes, as the instruments endpoint lists them (``metadata``).
        self.codes = {c: s for s, c in inst_codes(ctx.books).items()}
        self.limiters: dict[tuple[str, str, str], WeightLimiter] = {}
        # Requests refused for the documented per-instrument limits (50011), by (account, symbol, op):
        # a client that keeps to the documented limits never meets one.
        self.limit_refusals: Counter[tuple[str, str, str]] = Counter()
        ctx.engine.listeners.append(self.on_order)
        self.dead_man = DeadMan(ctx)

    def on_order(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        """The private ``orders`` channel: one push per order event."""
        self.streams.push(
            lambda c: orjson.dumps(
                {
                    "arg": {"channel": "orders", "instType": "ANY"},
                    "data": [self.order_data(o, fill, c.endpoint.now_ms())],
                }
            ),
            account=o.account,
        )

    def order_data(self, o: Order, fill: Fill | None, now_ms: int) -> dict[str, Any]:
        """An order as OKX shows it (``orders`` channel, ``GET /api/v5/trade/order``)."""
        fp, fq = self.ctx.fmt[o.symbol]
        inst = self.ctx.instruments[o.symbol]
        avg = Decimal(o.quote) * inst.tick / o.filled if o.filled else Decimal(0)
        return {
            "instId": o.symbol,
            "ordId": str(o.id),
            "clOrdId": o.client_id,
            "px": fp(o.price) if o.price is not None else "",
            "sz": fq(o.qty),
            "ordType": "market" if o.type == "MARKET" else {"GTC": "limit"}.get(o.tif, o.tif.lower()),
            "side": "buy" if o.side == BID else "sell",
            "state": STATE[o.status],
            "accFillSz": fq(o.filled),
            "fillPx": fp(fill.price) if fill else "",
            "fillSz": fq(fill.qty) if fill else "0",
            "tradeId": str(fill.trade_id) if fill else "",
            "execType": ("M" if fill.maker else "T") if fill else "",
            "avgPx": f"{avg.normalize():f}" if o.filled else "",
            "cTime": str(o.time_ms),
            "uTime": str(now_ms),
        }

    def on_op(self, conn: Conn, msg: dict[str, Any]) -> None:
        in_us = int(time.time() * 1_000_000)
        op, rid, args = str(msg.get("op")), msg.get("id", ""), msg.get("args")
        if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
            self._reply(conn, rid, op, "60013", "Invalid args", [], in_us)
            return
        if "instIdCode" not in args[0]:  # instId alone: ignored over the socket since 2026 (REST takes it)
            self._reply(conn, rid, op, "50014", "Parameter instIdCode can not be empty.", [], in_us)
            return
        code, text, data = self.run(conn.state["api_key"], conn.endpoint, op, args[0])
        self._reply(conn, rid, op, code, text, data, in_us)

    def run(self, account: str, ep: VenueServer, op: str, arg: dict[str, Any], batch: str = "") -> Result:
        """One order operation, over WebSocket or REST alike: (code, msg, data). ``batch``: the batch
        endpoint it came in (counted per order against that endpoint's own limit, 300 per 2 s)."""
        key = (account, str(self._symbol(arg)), batch or op)
        lim = self.limiters.get(key)
        if lim is None:
            n = int(
                self.ctx.profile.get(
                    "batch_rate_limit" if batch else "order_rate_limit", 300 if batch else 60
                )
            )
            lim = self.limiters[key] = WeightLimiter(n, self.ctx.interval("order_window"))
        if lim.charge(time.monotonic())[0] != "ok":
            self.limit_refusals[key] += 1
            return "50011", RATE_LIMITED, []
        if op == "order":
            return self._place(account, ep, arg)
        if op == "amend-order":
            return self._amend(account, ep, arg)
        return self._cancel(account, ep, arg)

    def rest(self, ep: VenueServer, req: Request, account: str) -> Result | None:
        """``/api/v5/trade/``: ``POST order|cancel-order|amend-order`` (the WebSocket ops' arguments as
        the JSON body), ``GET order`` (``instId`` with ``ordId`` or ``clOrdId``), ``GET orders-pending``
        (a page of ``limit`` orders, newest first, ``after`` an ordId)."""
        name = req.path.removeprefix("/api/v5/trade/")
        if req.method == "POST" and name in ("order", "cancel-order", "amend-order"):
            return self.run(account, ep, name, req.json_object())
        if req.method == "POST" and name in BATCH:
            return self.batch(account, ep, BATCH[name], req)
        if (req.method, name) == ("POST", "cancel-all-after"):
            return self.cancel_all_after(account, ep, req.json_object())
        q = req.query
        if (req.method, name) == ("GET", "order"):
            oid = q.get("ordId", "")
            try:
                o = self.ctx.engine.find(
                    account, q.get("instId", ""), int(oid) if oid.isdigit() else None, q.get("clOrdId")
                )
            except EngineError:
                return "51603", "Order does not exist", []
            return "0", "", [self.order_data(o, None, ep.now_ms())]
        if req.method == "GET" and name in ("fills", "fills-history"):
            return fills(self.ctx, account, q, name, ep.now_ms())
        if (req.method, name) == ("GET", "orders-pending"):
            # Newest first, ``limit`` (1 to 100, 100 by default) an answer; ``after``: older than that ordId.
            limit, after = q.get("limit") or "100", q.get("after") or ""
            if not limit.isdigit() or not 1 <= int(limit) <= 100 or (after and not after.isdigit()):
                return "51000", "Parameter limit or after error", []
            orders = sorted(self.ctx.engine.open_orders(account, q.get("instId")), key=lambda o: -o.id)
            orders = [o for o in orders if not after or o.id < int(after)][: int(limit)]
            return "0", "", [self.order_data(o, None, ep.now_ms()) for o in orders]
        return None

    def cancel_all_after(self, account: str, ep: VenueServer, body: dict[str, Any]) -> Result:
        """``cancel-all-after``: every open order of the account is cancelled ``timeOut`` seconds from
        now unless called again; "0" disarms; else 10 to 120 (profile ``dead_man_min_s`` lowers the
        10). The optional ``tag`` scope is not simulated."""
        raw = str(body.get("timeOut", ""))
        if not raw.isdigit() or (raw != "0" and not self.dead_man.min_s(10.0) <= int(raw) <= 120):
            return "51000", "Parameter timeOut error", []
        until = self.dead_man.arm(account, None, int(raw))
        trigger = str(int(until * 1000)) if until else "0"
        return "0", "", [{"triggerTime": trigger, "tag": "", "ts": str(ep.now_ms())}]

    def batch(self, account: str, ep: VenueServer, op: str, req: Request) -> Result:
        """``batch-orders`` / ``cancel-batch-orders`` / ``amend-batch-orders``: a JSON array of up to 20
        of the single operation's arguments, each run on its own. ``code`` is "0" when all succeed,
        "1" when all fail, "2" when some do; ``data`` has one entry per order with its sCode."""
        try:
            args = req.json()
        except ValueError:
            args = None
        if (
            not isinstance(args, list)
            or not 0 < len(args) <= 20
            or not all(isinstance(a, dict) for a in args)
        ):
            return "50014", "Parameter orders can not be empty.", []
        data = []
        for a in args:
            code, text, out = self.run(account, ep, op, a, batch=req.path)
            if out:
                data.append(out[0])
            else:  # refused before it was an order (malformed, rate limit)
                cl, oid = str(a.get("clOrdId", "")), str(a.get("ordId", ""))
                data.extend(self._failed(cl, oid, str(ep.now_ms()), code, text)[2])
        failed = sum(d["sCode"] != "0" for d in data)
        code = "0" if not failed else "1" if failed == len(data) else "2"
        return (
            code,
            "" if code == "0" else "All operations failed" if code == "1" else "Partial success",
            data,
        )

    def _symbol(self, arg: dict[str, Any]) -> str | None:
        if "instIdCode" in arg:
            code = arg["instIdCode"]
            return self.codes.get(code) if isinstance(code, int) else None
        inst = arg.get("instId")
        return inst if inst in self.ctx.books else None

    def _preopen(self, arg: dict[str, Any]) -> bool:
        """Whether ``arg`` names a pair the profile's ``preopen`` announces, by its listed
        ``instIdCode`` or its ``instId``."""
        codes = preopen_codes(self.ctx.instruments, self.ctx.profile.get("preopen", ()))
        return arg.get("instIdCode") in codes.values() if "instIdCode" in arg else arg.get("instId") in codes

    @staticmethod
    def _failed(cl: str, oid: str, ts: str, code: str, text: str) -> Result:
        return "1", "", [{"clOrdId": cl, "ordId": oid, "tag": "", "ts": ts, "sCode": code, "sMsg": text}]

    @staticmethod
    def _done(o: Order, ts: str) -> Result:
        return (
            "0",
            "",
            [{"clOrdId": o.client_id, "ordId": str(o.id), "tag": "", "ts": ts, "sCode": "0", "sMsg": ""}],
        )

    def _place(self, account: str, ep: VenueServer, arg: dict[str, Any]) -> Result:
        v = self.ctx
        symbol = self._symbol(arg)
        cl = str(arg.get("clOrdId", ""))
        if symbol is None and self._preopen(arg):
            return self._failed(cl, "", str(ep.now_ms()), *OKX_CODES["preopen"])
        if symbol in v.status:  # listed suspend: no new order, cancels still go
            return self._failed(cl, "", str(ep.now_ms()), *OKX_CODES["closed"])
        kinds = ORD_TYPES.get(str(arg.get("ordType")))
        side = {"buy": BID, "sell": ASK}.get(str(arg.get("side")))
        if (
            symbol is None
            or kinds is None
            or side is None
            or "sz" not in arg
            or len(cl) > 32
            or "tdMode" not in arg
        ):
            return "60013", "Invalid args", []
        ts = str(ep.now_ms())
        inst = v.instruments[symbol]
        try:
            lots = Decimal(str(arg["sz"])) / inst.lot
            ticks = None if kinds[0] == "MARKET" else Decimal(str(arg["px"])) / inst.tick
        except (KeyError, InvalidOperation, ValueError, TypeError):
            return self._failed(cl, "", ts, "51000", "Parameter sz or px error")
        if lots != lots.to_integral_value() or lots <= 0:
            return self._failed(cl, "", ts, "51121", "Order quantity must be a multiple of the lot size.")
        if ticks is not None and (ticks != ticks.to_integral_value() or ticks <= 0):
            return self._failed(cl, "", ts, "51000", "Parameter px error")
        px = None if ticks is None else Decimal(str(arg["px"]))
        off = v.grids.off_grid(symbol, ep.now_ms(), px, Decimal(str(arg["sz"])))
        if off is not None:
            return self._failed(cl, "", ts, *GRID_CODES[off])
        price = None if ticks is None else int(ticks)
        try:
            order, step = v.engine.place(
                account, symbol, side, kinds[0], int(lots), price, kinds[1], cl, ep.now_ms(),
                post_only=kinds[2], margin=arg.get("tdMode") != "cash",
            )  # fmt: skip
        except EngineError as e:
            code, text = OKX_CODES.get(e.code, ("51000", str(e)))
            return self._failed(cl, "", ts, code, text)
        if step is not None:
            v.publish(symbol, step)
        return self._done(order, ts)

    def _cancel(self, account: str, ep: VenueServer, arg: dict[str, Any]) -> Result:
        v = self.ctx
        symbol = self._symbol(arg)
        oid, cl = str(arg.get("ordId", "")), str(arg.get("clOrdId", ""))
        if symbol is None or (not oid and not cl):
            return "60013", "Invalid args", []
        ts = str(ep.now_ms())
        try:
            order, step = v.engine.cancel(account, symbol, int(oid) if oid.isdigit() else None, cl or None)
        except EngineError:
            return self._failed(cl, oid, ts, "51400", CANCEL_FAILED)
        if step is not None:
            v.publish(symbol, step)
        return self._done(order, ts)

    def _amend(self, account: str, ep: VenueServer, arg: dict[str, Any]) -> Result:
        v = self.ctx
        symbol = self._symbol(arg)
        oid, cl = str(arg.get("ordId", "")), str(arg.get("clOrdId", ""))
        if symbol is None or (not oid and not cl) or ("newSz" not in arg and "newPx" not in arg):
            return "60013", "Invalid args", []
        inst = v.instruments[symbol]
        ts = str(ep.now_ms())
        try:
            qty = Decimal(str(arg["newSz"])) / inst.lot if "newSz" in arg else None
            px = Decimal(str(arg["newPx"])) / inst.tick if "newPx" in arg else None
            for n in (qty, px):
                if n is not None and (n != n.to_integral_value() or n <= 0):
                    raise InvalidOperation
            off = v.grids.off_grid(
                symbol, ep.now_ms(), *(Decimal(str(arg[k])) if k in arg else None for k in ("newPx", "newSz"))
            )
            if off is not None:
                return self._failed(cl, oid, ts, *GRID_CODES[off])
            order, steps = v.engine.amend(
                account,
                symbol,
                int(oid) if oid.isdigit() else None,
                cl or None,
                None if qty is None else int(qty),
                None if px is None else int(px),
            )
        except (InvalidOperation, EngineError) as e:
            return self._failed(
                cl, oid, ts, "51000" if isinstance(e, InvalidOperation) else "51503", AMEND_FAILED
            )
        for s in steps:
            v.publish(symbol, s)
        return self._done(order, ts)

    @staticmethod
    def _reply(conn: Conn, rid: Any, op: str, code: str, msg: str, data: list[Any], in_us: int) -> None:
        body = {"id": rid, "op": op, "data": data, "code": code, "msg": msg}
        body.update(inTime=str(in_us), outTime=str(int(time.time() * 1_000_000)))
        conn.send_text(orjson.dumps(body))
