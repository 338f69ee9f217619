"""Bybit v5 WebSocket order entry (venues.md §3.4) on ``/v5/trade``, on the matching engine.

``{"op":"auth","args":[key, expires, sign]}`` first (``retCode`` 0; 20001 when repeated, 10004 on a
bad signature), then ``{"reqId","header":{"X-BAPI-TIMESTAMP",…},"op":"order.create"|"order.amend"|
"order.cancel","args":[one order]}``. The header is required: its ``X-BAPI-TIMESTAMP`` must satisfy
``server_time - X-BAPI-RECV-WINDOW <= timestamp < server_time + 1000`` (the docs' rule; the code of a
refusal is not documented for the socket, 10002 as over REST here, 10001 without a timestamp). A
``reqId`` seen before on the connection gives 20006. The ack only says the request was accepted (the
docs: confirm on the order stream). Quantities are in the base coin for every category here (spot
market buys in quote units are not simulated).

The private ``/v5/private`` socket, after ``auth``, subscribes ``order`` and ``execution``, all-in-one or
categorised (``order.spot``…, never both forms of one topic in a request): every order event pushes the
order's state on ``order``, every fill one row on ``execution``, under the topic name subscribed.

API rate limits are per UID and per operation per second (profile ``order_rate_limit``, default 10,
for each of create/amend/cancel; ``rest_rate_limit``, default 50, for each private REST path): every
answer carries ``X-Bapi-Limit``, ``X-Bapi-Limit-Status`` (requests left) and
``X-Bapi-Limit-Reset-Timestamp`` (ms), and a request over the limit gets retCode 10006.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.sim.engine import EngineError, Fill, Order
from tickwire.sim.http import Request
from tickwire.sim.limits import WeightLimiter
from tickwire.sim.market import ASK, BID
from tickwire.sim.venues.bybit.auth import ws_auth_key
from tickwire.sim.venues.bybit.metadata import POST_ONLY_TIMES, execution, executions
from tickwire.sim.venues.private import PrivateStreams
from tickwire.sim.ws import Conn

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext

# Orders a create-batch request holds at most, by category (docs/v5/order/batch-place.mdx).
BATCH_MAX = {"spot": 10, "linear": 20, "inverse": 20, "option": 20}

TIF = {"GTC": ("GTC", False), "IOC": ("IOC", False), "FOK": ("FOK", False), "PostOnly": ("GTC", True)}


# Engine refusals as Bybit's retCodes (v5 error list).
BYBIT_ERRORS = {
    "unknown": (110001, "Order does not exist."),
    "funds": (110007, "ab not enough for new order"),
    "duplicate": (110072, "OrderLinkedID is duplicate"),
    # Spot's codes for the instrument's limits (linear answers 10001 / 110094 alike).
    "min_qty": (170136, "Order quantity lower than the minimum."),
    # 170381 since 2025-10-03, when Bybit's list dropped 170135 for 170381/170382.
    "max_qty": (170381, "Order quantity too large."),
    "notional": (170140, "Order value exceeded lower limit."),
    # A new order on a symbol listed ``Closed`` (``Simulator.set_status``): spot's "not available for
    # api trading" (170151 "not open yet" is a PreLaunch pair's), a derivative's "not live". Which
    # code Bybit sends per status is not documented.
    "closed": (170157, "The trading pair is not available for api trading"),
    "not_live": (110074, "This contract is not live"),
    # A spot order off a grid changed by ``Simulator.set_grid`` (v5 error list, Spot Trade): a price
    # off ``tickSize``, a quantity off ``basePrecision``.
    "grid_tick": (170134, "Order price decimal too long."),
    "grid_lot": (170137, "Order volume decimal too long"),
}

# docs/v5/websocket/private/order.mdx, execution.mdx: each all-in-one or per category.
PRIVATE_TOPICS = frozenset(
    f"{t}{c}" for t in ("order", "execution") for c in ("", ".spot", ".linear", ".inverse", ".option")
)

STATUS = {"NEW": "New", "PARTIALLY_FILLED": "PartiallyFilled", "FILLED": "Filled", "CANCELED": "Cancelled"}
STATUS["EXPIRED"] = "Cancelled"


def order_id(o: Order) -> str:
    """Bybit's ``orderId``: a UUID for derivatives, digits for spot (as the venue gives them)."""
    return str(uuid.UUID(int=o.id)) if o.margin else str(o.id)


def page(orders: list[Order], a: dict[str, Any]) -> tuple[list[Order], str]:
    """One page of a listing, newest first: ``limit`` 1 to 50 (20 by default); ``cursor`` (a page's
    ``nextPageCursor``, empty on the last) continues after that page's last order — it names an order,
    not an offset, so orders that close between pages do not shift the rest."""
    limit = int(a.get("limit") or 20)
    if not 1 <= limit <= 50:
        raise ValueError(f"limit {limit} is not in [1, 50]")
    cursor = str(a.get("cursor") or "")
    before = int(cursor.removeprefix("id:")) if cursor.startswith("id:") else None
    rows = sorted((o for o in orders if before is None or o.id < before), key=lambda o: o.id, reverse=True)
    more = f"id:{rows[limit - 1].id}" if len(rows) > limit else ""
    return rows[:limit], more


class BybitOrders:
    def __init__(self, ctx: VenueContext, secrets: Mapping[str, str]) -> None:
        self.ctx = ctx
        self.secrets = secrets  # API key -> secret
        self.streams = PrivateStreams(
            ctx.subscribers, ctx.private_faults
        )  # per API key, subscribed /v5/private sockets
        self.limiters: dict[tuple[str, str], WeightLimiter] = {}
        # Requests refused (10006) for the per-UID limits, by (UID, endpoint): a client that keeps to
        # the limits the venue documents and states in ``X-Bapi-Limit*`` never meets one.
        self.limit_refusals: Counter[tuple[str, str]] = Counter()
        ctx.engine.listeners.append(self.on_order)

    def on_order(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        """The private topics: ``order`` with the order's state after every event, ``execution`` with
        each fill."""
        category = "linear" if o.margin else "spot"
        self._push("order", category, o.account, lambda now: self.order_data(o, now))
        if fill is not None:
            row = {"category": category, **execution(self.ctx, o, fill, order_id(o)), "isLeverage": "0"}
            self._push("execution", category, o.account, lambda now: row)

    def _push(self, kind: str, category: str, account: str, row: Any) -> None:
        def message(c: Conn) -> bytes | None:
            subscribed = c.state.get("private_topics", ())
            topic = next((t for t in (kind, f"{kind}.{category}") if t in subscribed), None)
            if topic is None:
                return None
            now = c.endpoint.now_ms()
            body = {"id": uuid.uuid4().hex, "topic": topic, "creationTime": now, "data": [row(now)]}
            return orjson.dumps(body)

        self.streams.push(message, account=account)

    def subscribe(self, conn: Conn, topics: Any) -> str | None:
        """Subscribes an authenticated private socket to ``topics``; the refusal's text, else None."""
        if not isinstance(topics, list) or not topics:
            return "error:args is empty"
        bad = [t for t in topics if t not in PRIVATE_TOPICS]
        if bad:
            return f"error:handler not found,topic:{bad[0]}"
        for kind in ("order", "execution"):
            if kind in topics and any(str(t).startswith(kind + ".") for t in topics):
                return f"error:all-in-one and categorised {kind} topics in one request"
        conn.state.setdefault("private_topics", set()).update(topics)
        self.streams.add(conn.state["api_key"], conn)
        return None

    def order_data(self, o: Order, now: int) -> dict[str, Any]:
        """An order as Bybit shows it (the ``order`` topic, ``/v5/order/realtime``)."""
        fp, fq = self.ctx.fmt[o.symbol]
        inst = self.ctx.instruments[o.symbol]
        value = Decimal(o.quote) * inst.tick * inst.lot
        return {
            "category": "linear" if o.margin else "spot",
            "symbol": o.symbol,
            "orderId": order_id(o),
            "orderLinkId": o.client_id,
            "side": "Buy" if o.side == BID else "Sell",
            "orderType": "Market" if o.type == "MARKET" else "Limit",
            "price": fp(o.price) if o.price is not None else "0",
            "qty": fq(o.qty),
            "orderStatus": STATUS[o.status],
            "cumExecQty": fq(o.filled),
            "cumExecValue": f"{value.normalize():f}",
            "avgPrice": f"{(value / inst.qty(o.filled)).normalize():f}" if o.filled else "0",
            "leavesQty": fq(o.qty - o.filled if o.open else 0),
            "timeInForce": o.tif,
            "createdTime": str(o.time_ms),
            "updatedTime": str(now),
        }

    def on_message(self, conn: Conn, msg: dict[str, Any]) -> None:
        op = str(msg.get("op", ""))
        if op == "auth":
            self._auth(conn, msg)
            return
        rid = msg.get("reqId", "")
        if op == "ping":
            conn.send_text(
                orjson.dumps({"op": "pong", "args": [str(conn.endpoint.now_ms())], "connId": self._cid(conn)})
            )
            return
        if not conn.state.get("auth"):
            self._reply(conn, rid, op, 10003, "Invalid apikey or not authorized", {})
            return
        seen: set[str] = conn.state.setdefault("req_ids", set())
        if not isinstance(rid, str) or len(rid) > 36:
            self._reply(conn, rid, op, 10001, "reqId is invalid", {})
            return
        if rid and rid in seen:
            self._reply(conn, rid, op, 20006, "reqId is duplicated", {})
            return
        if rid:
            seen.add(rid)
        refused = self._stale(conn, msg.get("header"))
        if refused is not None:
            self._reply(conn, rid, op, *refused, {})
            return
        args = msg.get("args")
        if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
            self._reply(conn, rid, op, 10001, "only one order per request", {})
            return
        a = args[0]
        per_s = int(self.ctx.profile.get("order_rate_limit", 10))
        # Shared with REST: order.create spends the /v5/order/create budget.
        path = "/v5/order/" + op.partition(".")[2]
        ok, limits = self.limit(conn.state["api_key"], path, conn.endpoint.now_ms(), per_s)
        if not ok:
            self._reply(conn, rid, op, 10006, "Too many visits!", {}, limits)
            return
        try:
            if op == "order.create":
                data = self._create(conn.state["api_key"], conn.endpoint, a)
            elif op == "order.amend":
                data = self._amend(conn.state["api_key"], a, conn.endpoint.now_ms())
            elif op == "order.cancel":
                data = self._cancel(conn.state["api_key"], a)
            else:
                self._reply(conn, rid, op, 10001, f"unknown op {op}", {})
                return
        except (EngineError, KeyError, InvalidOperation, ValueError) as e:
            reason = e.code if isinstance(e, EngineError) else ""
            code, text = BYBIT_ERRORS.get(reason, (10001, f"params error: {e}"))
            self._reply(conn, rid, op, code, text, {}, limits)
            return
        self._reply(conn, rid, op, 0, "OK", data, limits)

    @staticmethod
    def _stale(conn: Conn, header: Any) -> tuple[int, str] | None:
        """The refusal of a request whose ``header`` timestamp is missing or outside its window."""
        h = header if isinstance(header, dict) else {}
        ts, recv = str(h.get("X-BAPI-TIMESTAMP", "")), str(h.get("X-BAPI-RECV-WINDOW", "5000"))
        if not ts.isdigit() or not recv.isdigit():
            return 10001, "header X-BAPI-TIMESTAMP is required"
        now = conn.endpoint.now_ms()
        if not now - int(recv) <= int(ts) < now + 1000:
            return 10002, "invalid request, please check your server timestamp or recv_window param"
        return None

    def limit(self, uid: str, what: str, now_ms: int, per_s: int) -> tuple[bool, dict[str, str]]:
        """Charge one request of ``what`` to ``uid``: (allowed, the X-Bapi-Limit* headers)."""
        lim = self.limiters.get((uid, what))
        if lim is None:
            lim = self.limiters[(uid, what)] = WeightLimiter(per_s, self.ctx.interval("rate_window"))
        now = time.monotonic()
        ok = lim.charge(now)[0] == "ok"
        if not ok:
            self.limit_refusals[(uid, what)] += 1
        reset_ms = now_ms + int((lim.reset_at() - now) * 1000)
        headers = {"X-Bapi-Limit": str(lim.limit), "X-Bapi-Limit-Status": str(lim.remaining)}
        headers["X-Bapi-Limit-Reset-Timestamp"] = str(reset_ms)
        return ok, headers

    def rest(self, ep: VenueServer, req: Request, account: str) -> dict[str, Any] | None:
        """REST order entry (``/v5/order/create|amend|cancel|cancel-all``, ``GET /v5/order/realtime``,
        ``GET /v5/execution/list``): the same engine calls as the trade WebSocket; the answer's
        ``result`` and ``retCode``. ``realtime`` by ``orderId``/``orderLinkId`` lists the order, open or
        closed, and an unknown one as an empty list (retCode 0), as Bybit does; the open orders a page at
        a time (``page``)."""
        v, route = self.ctx, (req.method, req.path)
        a = req.json_object() if req.method == "POST" else dict(req.query)
        try:
            if route == ("POST", "/v5/order/create"):
                return self._ok(self._create(account, ep, a))
            if route == ("POST", "/v5/order/amend"):
                return self._ok(self._amend(account, a, ep.now_ms()))
            if route == ("POST", "/v5/order/cancel"):
                return self._ok(self._cancel(account, a))
            if route == ("POST", "/v5/order/cancel-all"):
                done = []
                for o in v.engine.open_orders(account, a.get("symbol")):
                    self._cancel(account, {"symbol": o.symbol, "orderId": order_id(o)})
                    done.append({"orderId": order_id(o), "orderLinkId": o.client_id})
                return self._ok({"list": done, "success": "1"})
            if route == ("GET", "/v5/order/realtime"):
                if "orderId" in a or "orderLinkId" in a:
                    oid, link = self._order_ref(a)
                    try:
                        orders = [v.engine.find(account, str(a.get("symbol", "")), oid, link)]
                    except EngineError:
                        orders = []
                    more = ""
                else:
                    orders, more = page(v.engine.open_orders(account, a.get("symbol")), a)
                rows = [self.order_data(o, ep.now_ms()) for o in orders]
                category = a.get("category", "linear")
                return self._ok({"category": category, "list": rows, "nextPageCursor": more})
            if route == ("GET", "/v5/execution/list"):
                code, text, result = executions(v, account, a, order_id, ep.now_ms())
                return {"retCode": code, "retMsg": text, "result": result}
        except (EngineError, KeyError, InvalidOperation, ValueError) as e:
            reason = e.code if isinstance(e, EngineError) else ""
            code, text = BYBIT_ERRORS.get(reason, (10001, f"params error: {e}"))
            return {"retCode": code, "retMsg": text, "result": {}}
        return None

    def create_batch(
        self, ep: VenueServer, req: Request, account: str, per_s: int
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """``POST /v5/order/create-batch`` (docs/v5/order/batch-place.mdx): ``category`` and up to
        ``BATCH_MAX`` orders under ``request``, each placed as ``/v5/order/create`` would be and each
        charged to the endpoint's own limit — past it the later entries fail with 10006, the earlier
        stand (docs/v5/rate-limit, batch endpoints). ``result.list`` and ``retExtInfo.list`` hold
        one entry per order, in the request's order; a refused entry's ``orderId`` is empty. The
        answer and the X-Bapi-Limit* headers as of its last entry."""
        a = req.json_object()
        category, orders = str(a.get("category", "")), a.get("request")
        most = BATCH_MAX.get(category, 0)
        if (
            not isinstance(orders, list)
            or not 0 < len(orders) <= most
            or not all(isinstance(o, dict) for o in orders)
        ):
            refusal = {"retCode": 10001, "retMsg": f"request must hold 1 to {most} orders", "result": {}}
            return {**refusal, "retExtInfo": {}}, {}
        placed: list[dict[str, Any]] = []
        outcomes: list[dict[str, Any]] = []
        limits: dict[str, str] = {}
        for o in orders:
            ok, limits = self.limit(account, req.path, ep.now_ms(), per_s)
            entry = {"category": category, "symbol": str(o.get("symbol", "")), "orderId": "", "createAt": ""}
            entry["orderLinkId"] = str(o.get("orderLinkId", ""))
            if not ok:
                code, text = 10006, "Too many visits!"
            else:
                try:
                    entry.update(self._create(account, ep, {**o, "category": category}))
                    entry["createAt"] = str(ep.now_ms())
                    code, text = 0, "OK"
                except (EngineError, KeyError, InvalidOperation, ValueError) as e:
                    reason = e.code if isinstance(e, EngineError) else ""
                    code, text = BYBIT_ERRORS.get(reason, (10001, f"params error: {e}"))
            placed.append(entry)
            outcomes.append({"code": code, "msg": text})
        answer = {"retCode": 0, "retMsg": "OK", "result": {"list": placed}, "retExtInfo": {"list": outcomes}}
        return answer, limits

    @staticmethod
    def _ok(result: dict[str, Any]) -> dict[str, Any]:
        return {"retCode": 0, "retMsg": "OK", "result": result}

    def _auth(self, conn: Conn, msg: dict[str, Any]) -> None:
        if conn.state.get("auth"):
            self._auth_reply(conn, 20001, "Repeat auth")
            return
        key = ws_auth_key(self.secrets, msg.get("args") or [], conn.endpoint.now_ms())
        ok = key is not None
        if ok:
            conn.state["auth"], conn.state["api_key"] = True, key
        self._auth_reply(conn, 0 if ok else 10004, "OK" if ok else "Invalid sign")

    def _auth_reply(self, conn: Conn, code: int, msg: str) -> None:
        conn.send_text(
            orjson.dumps({"retCode": code, "retMsg": msg, "op": "auth", "connId": self._cid(conn)})
        )

    def _units(self, symbol: str, a: dict[str, Any], key: str, step: Decimal) -> int:
        n = Decimal(str(a[key])) / step
        if n != n.to_integral_value() or n <= 0:
            raise ValueError(f"{key} is not a positive multiple of {step}")
        return int(n)

    def _create(self, account: str, ep: VenueServer, a: dict[str, Any]) -> dict[str, Any]:
        v = self.ctx
        symbol = str(a["symbol"])
        if symbol not in v.books:
            raise ValueError(f"symbol {symbol} invalid")
        inst = v.instruments[symbol]
        side = {"Buy": BID, "Sell": ASK}[str(a["side"])]
        kind = {"Limit": "LIMIT", "Market": "MARKET"}[str(a["orderType"])]
        tif, post_only = TIF[str(a.get("timeInForce", "GTC" if kind == "LIMIT" else "IOC"))]
        qty = self._units(symbol, a, "qty", inst.lot)
        price = self._units(symbol, a, "price", inst.tick) if kind == "LIMIT" else None
        link = str(a.get("orderLinkId", ""))
        spot = a.get("category", "linear") == "spot"
        if spot:
            self._on_grid(symbol, a if kind == "LIMIT" else {"qty": a["qty"]}, ep.now_ms())
        if symbol in v.status:  # listed Closed: no new order, cancels still go
            raise EngineError("closed" if spot else "not_live", f"{symbol} is not trading")
        order, step = v.engine.place(
            account, symbol, side, kind, qty, price, tif if kind == "LIMIT" else "IOC",
            link, ep.now_ms(), post_only=post_only, margin=not spot,
            post_only_max_lots=POST_ONLY_TIMES * inst.max_lots if spot else None,
        )  # fmt: skip
        if step is not None:
            v.publish(symbol, step)
        return {"orderId": order_id(order), "orderLinkId": link}

    def _order_ref(self, a: dict[str, Any]) -> tuple[int | None, str | None]:
        if "orderId" in a:
            ref = str(a["orderId"])
            return (int(ref) if ref.isdigit() else uuid.UUID(ref).int), None
        return None, str(a["orderLinkId"])

    def _on_grid(self, symbol: str, a: dict[str, Any], now_ms: int) -> None:
        """Refuses (``EngineError``) a spot order's ``price``/``qty`` (those given) off a grid changed
        by ``Simulator.set_grid`` — before the engine, as the venue's own checks come first."""
        price, qty = (Decimal(str(a[k])) if k in a else None for k in ("price", "qty"))
        off = self.ctx.grids.off_grid(symbol, now_ms, price, qty)
        if off is not None:
            raise EngineError("grid_" + off, f"{off} off the grid in force")

    def _amend(self, account: str, a: dict[str, Any], now_ms: int) -> dict[str, Any]:
        v = self.ctx
        symbol = str(a["symbol"])
        inst = v.instruments[symbol]
        oid, link = self._order_ref(a)
        qty = self._units(symbol, a, "qty", inst.lot) if "qty" in a else None
        price = self._units(symbol, a, "price", inst.tick) if "price" in a else None
        spot = a.get("category", "linear") == "spot"
        if spot:
            self._on_grid(symbol, a, now_ms)
        most = POST_ONLY_TIMES * inst.max_lots if spot else None
        order, steps = v.engine.amend(account, symbol, oid, link, qty, price, post_only_max_lots=most)
        for s in steps:
            v.publish(symbol, s)
        return {"orderId": order_id(order), "orderLinkId": order.client_id if link else ""}

    def _cancel(self, account: str, a: dict[str, Any]) -> dict[str, Any]:
        v = self.ctx
        symbol = str(a["symbol"])
        oid, link = self._order_ref(a)
        order, step = v.engine.cancel(account, symbol, oid, link)
        if step is not None:
            v.publish(symbol, step)
        return {"orderId": order_id(order), "orderLinkId": order.client_id if link else ""}

    @staticmethod
    def _cid(conn: Conn) -> str:
        return str(uuid.UUID(int=conn.id))

    def _reply(
        self,
        conn: Conn,
        rid: Any,
        op: str,
        code: int,
        msg: str,
        data: dict[str, Any],
        limits: dict[str, str] | None = None,
    ) -> None:
        now = conn.endpoint.now_ms()
        header = {"Traceid": uuid.uuid4().hex, "Timenow": str(now), **(limits or {})}
        body = {"reqId": rid, "retCode": code, "retMsg": msg, "op": op, "data": data, "header": header}
        body["connId"] = self._cid(conn)
        conn.send_text(orjson.dumps(body))
