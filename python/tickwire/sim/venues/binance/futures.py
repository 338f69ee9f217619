"""Binance USDⓈ-M futures order entry on the matching engine (signed like spot, venues.md §1.6).

``POST/GET/DELETE/PUT /fapi/v1/order`` (PUT: modify price and quantity, both mandatory, with the
side), ``GET /fapi/v1/openOrders``, ``DELETE /fapi/v1/allOpenOrders``, ``DELETE /fapi/v1/batchOrders``
(``orderIdList`` or ``origClientOrderIdList``, JSON arrays of at most 10; one answer entry per id, an
order or its error), ``POST /fapi/v1/batchOrders`` (at most 5 new orders; one answer entry per order,
in order), ``GET /fapi/v1/userTrades``, ``GET /fapi/v2/balance``,
``GET /fapi/v2/positionRisk``; the same order calls on the WS API (``order.place``, ``order.modify``,
``order.cancel``, ``order.status``). One-way mode (``positionSide`` BOTH), cross margin at the venue's
leverage (20x, profile ``leverage``) for funded accounts; ``timeInForce`` GTC, IOC, FOK and GTX
(post-only: refused with -5022 if it would take); ``reduceOnly=true`` orders may only shrink the
position (-2022). A client order id already open is refused (-4116); an order the margin cannot carry
gets -2019; a new order on a symbol ``Simulator.set_status`` closed -4140 (reduce-only ones too).
The listenKey stream carries ``ORDER_TRADE_UPDATE`` events and, after each fill, an ``ACCOUNT_UPDATE``
with the wallet balance and the symbol's position.
``POST /fapi/v1/countdownCancelAll`` arms the per-symbol dead-man switch (``countdownTime`` in ms, 0
disarms; ``deadman.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from tickwire.sim.accounts import split_symbol
from tickwire.sim.engine import EngineError, Fill, Order
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.market import BID
from tickwire.sim.venues.binance.auth import err
from tickwire.sim.venues.binance.history import BinanceHistory
from tickwire.sim.venues.binance.trade import open_orders_full, parse_new_order, would_take
from tickwire.sim.venues.deadman import DeadMan

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext

ERRORS = {
    "duplicate": (-4116, "ClientOrderId is duplicated."),
    "funds": (-2019, "Margin is insufficient."),
    "filter": (-1013, "Filter failure"),
    "side": (-1117, "Invalid side."),
    "type": (-1116, "Invalid orderType."),
    "tif": (-1115, "Invalid timeInForce."),
    "min_qty": (-4004, "Quantity less than min quantity."),  # -4003 is "less than or equal to zero"
    "max_qty": (-4005, "Quantity greater than max quantity."),
    # A new order on a symbol not TRADING (``Simulator.set_status``): -4140
    # INVALID_OPENING_POSITION_STATUS; which of -1122/-4140/-4141 the venue sends per status is not
    # documented.
    "closed": (-4140, "Invalid symbol status for opening position"),
    # An amend (PUT /fapi/v1/order) on such a symbol: -5024 MOVE_ORDER_NOT_ALLOWED_SYMBOL_REASON.
    "closed_amend": (-5024, "Symbol is not in trading status. Order amendment is not permitted."),
}
# An order off a grid changed by ``Simulator.set_grid``: USDⓈ-M's own filter codes (derivatives
# usds-margined-futures "Error Code", 40xx), not spot's -1013 texts.
GRID_ERRORS = {
    "tick": (-4014, "Price not increased by tick size."),
    "lot": (-4023, "Quantity not increased by step size."),
    "min_qty": (-4004, "Quantity less than min quantity."),
    # A price or quantity with more decimals than the listed pricePrecision/quantityPrecision (a
    # grid made coarser: 0.001 -> 0.01 lists quantityPrecision 2): -1111 BAD_PRECISION, before the
    # filters (users' reports of USDⓈ-M orders: ccxt/node-binance-api#577, quantity 0.268118 on
    # BTCUSDT's 3 places; Binance-docs/Binance_Futures_python#135, a price past DOGEUSDT's 5).
    "precision": (-1111, "Precision is over the maximum defined for this asset."),
}


def _places(number: str) -> int:
    """How many decimal places ``number`` needs (trailing zeros do not count)."""
    return max(0, -int(Decimal(number).normalize().as_tuple().exponent))


BATCH = 10
BATCH_PLACE = 5  # POST /fapi/v1/batchOrders: "order list. Max 5 orders"


def _ids(text: str) -> list[Any] | None:
    try:
        ids = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return ids if isinstance(ids, list) else None


# An order counter: (the refusal when over a limit, else None; the X-MBX-ORDER-COUNT-* headers).
CountOrder = Callable[[str], tuple[Response | None, list[tuple[str, str]]]]


class FuturesOrders:
    def __init__(
        self,
        ctx: VenueContext,
        count_order: CountOrder | None = None,
        limit_refusals: Counter[tuple[str, str]] | None = None,
    ) -> None:
        self.ctx = ctx
        # The account's order counts (spot's counters: the profile's per-window and per-day limits,
        # a 429 -1015 over either), charged by new orders and modifies as USDⓈ-M counts them.
        self.count_order = count_order
        # New orders refused for an announced limit, by (account, limit): spot's counter, shared.
        self.limit_refusals: Counter[tuple[str, str]] = (
            Counter() if limit_refusals is None else limit_refusals
        )
        self.history = BinanceHistory(ctx, lambda o, now, full: self.order_json(o, now))
        self.reduce_only: set[int] = set()  # ids of the orders placed reduceOnly
        self.dead_man = DeadMan(ctx)

    def order_json(self, o: Order, now_ms: int) -> dict[str, Any]:
        v = self.ctx
        inst = v.instruments[o.symbol]
        fp, fq = v.fmt[o.symbol]
        quote = Decimal(o.quote) * inst.tick * inst.lot
        avg = quote / inst.qty(o.filled) if o.filled else Decimal(0)
        return {
            "orderId": o.id,
            "symbol": o.symbol,
            "status": o.status,
            "clientOrderId": o.client_id,
            "price": fp(o.price or 0),
            "avgPrice": f"{avg:f}",
            "origQty": fq(o.qty),
            "executedQty": fq(o.filled),
            "cumQty": fq(o.filled),
            "cumQuote": f"{quote:f}",
            "timeInForce": "GTX" if o.post_only else o.tif,
            "type": o.type,
            "origType": o.type,
            "reduceOnly": o.id in self.reduce_only,
            "closePosition": False,
            "side": "BUY" if o.side == BID else "SELL",
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "NONE",
            "goodTillDate": 0,
            "updateTime": now_ms,
        }

    def trade_update(self, o: Order, exec_type: str, fill: Fill | None, now_ms: int) -> dict[str, Any]:
        """``ORDER_TRADE_UPDATE`` for the user data stream."""
        fp, fq = self.ctx.fmt[o.symbol]
        body = self.order_json(o, now_ms)
        update = {"s": o.symbol, "c": o.client_id, "S": body["side"], "o": o.type, "f": body["timeInForce"]}
        update.update(q=body["origQty"], p=body["price"], ap=body["avgPrice"], sp="0", x=exec_type)
        update.update(X=o.status, i=o.id, l=fq(fill.qty if fill else 0), z=body["executedQty"])
        update.update(L=fp(fill.price if fill else 0), T=now_ms, t=fill.trade_id if fill else 0)
        update.update(m=bool(fill and fill.maker), R=body["reduceOnly"], ps="BOTH", ot=o.type, cp=False)
        update.update(n="0", N=split_symbol(o.symbol)[1])
        return {"e": "ORDER_TRADE_UPDATE", "E": now_ms, "T": now_ms, "o": update}

    def account_update(self, o: Order, now_ms: int) -> dict[str, Any]:
        """``ACCOUNT_UPDATE`` (reason ORDER) after a fill: the margin asset's wallet balance and the
        symbol's position."""
        quote = split_symbol(o.symbol)[1]
        led = self.ctx.engine.ledger
        wallet = led.balances.get(o.account, {}).get(quote, Decimal(0))
        pos = self._position(o.account, o.symbol)
        p = {"s": o.symbol, "pa": pos["positionAmt"], "ep": pos["entryPrice"], "cr": "0"}
        p.update(up=pos["unRealizedProfit"], mt="cross", iw="0", ps="BOTH")
        balance = {"a": quote, "wb": f"{wallet:f}", "cw": f"{wallet:f}", "bc": "0"}
        return {
            "e": "ACCOUNT_UPDATE",
            "E": now_ms,
            "T": now_ms,
            "a": {"m": "ORDER", "B": [balance], "P": [p]},
        }

    def handle(self, ep: VenueServer, req: Request, account: str, params: dict[str, str]) -> Response:
        v, now = self.ctx, ep.now_ms()
        route = (req.method, req.path)
        led = v.engine.ledger
        if route == ("GET", "/fapi/v2/balance"):
            rows = [
                {
                    "asset": a,
                    "balance": f"{(f + lk).normalize():f}",
                    "availableBalance": f"{led.margin_free(account, a):f}",
                }
                for a, f, lk in led.holdings(account)
            ]
            return json_response(rows)
        if route == ("GET", "/fapi/v2/positionRisk"):
            return json_response(
                [self._position(account, s) for s in v.books if params.get("symbol") in (None, s)]
            )
        if route in (("GET", "/fapi/v1/openOrders"), ("DELETE", "/fapi/v1/allOpenOrders")):
            orders = v.engine.open_orders(account, params.get("symbol"))
            if req.method == "GET":
                return json_response([self.order_json(o, now) for o in orders])
            for o in orders:
                _, step = v.engine.cancel(account, o.symbol, o.id, None)
                if step is not None:
                    v.publish(o.symbol, step)
            return json_response({"code": 200, "msg": "The operation of cancel all open order is done."})
        if route == ("GET", "/fapi/v1/userTrades"):
            return self.user_trades(account, params)
        if route == ("DELETE", "/fapi/v1/batchOrders"):
            return self._batch_cancel(ep, account, params)
        if route == ("POST", "/fapi/v1/batchOrders"):
            return self._batch_place(ep, account, params)
        if route == ("POST", "/fapi/v1/countdownCancelAll"):
            return self._countdown(account, params)
        if req.path != "/fapi/v1/order":
            return err(-1000, f"no route {req.method} {req.path}", 404)
        symbol = params.get("symbol", "")
        if symbol not in v.books:
            return err(-1121, "Invalid symbol.")
        oid = int(params["orderId"]) if params.get("orderId", "").isdigit() else None
        cid = params.get("origClientOrderId")
        try:
            if req.method == "POST":
                return self._place(ep, account, symbol, params)
            if req.method == "DELETE":
                return json_response(self._cancel(account, symbol, oid, cid, now))
            if req.method == "PUT":
                return self._modify(account, symbol, oid, cid, params, now)
            return json_response(self.order_json(v.engine.find(account, symbol, oid, cid), now))
        except EngineError as e:
            return self._refused(e, symbol, req.method)

    def _refused(self, e: EngineError, symbol: str, method: str) -> Response:
        if e.code == "unknown":
            return err(*self._unknown(method))
        if e.code == "notional":
            inst = self.ctx.instruments[symbol]
            return err(
                -4164,
                f"Order's notional must be no smaller than {inst.min_notional:f} "
                "(unless you choose reduce only).",
            )
        code, msg = ERRORS.get(e.code, (-1102, str(e)))
        return err(code, msg if code != -1013 else str(e))

    def _batch_place(self, ep: VenueServer, account: str, p: dict[str, str]) -> Response:
        """``POST /fapi/v1/batchOrders``: ``batchOrders`` a JSON list of at most 5 orders, each as
        ``/fapi/v1/order`` takes it; the answer lists, in the request's order, each order or its
        error (``{"code", "msg"}``, no client id), one failing not stopping the others."""
        try:
            items = orjson.loads(p.get("batchOrders", ""))
        except orjson.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not 1 <= len(items) <= BATCH_PLACE:
            return err(-1100, "Illegal characters found in parameter 'batchOrders'.")
        out: list[Any] = []
        headers: list[tuple[str, str]] = []
        for item in items:
            q = {str(k): str(x) for k, x in item.items()} if isinstance(item, dict) else {}
            symbol = q.get("symbol", "")
            if symbol not in self.ctx.books:
                resp = err(-1121, "Invalid symbol.")
            else:
                try:
                    resp = self._place(ep, account, symbol, q)
                except EngineError as e:
                    resp = self._refused(e, symbol, "POST")
            out.append(orjson.loads(resp.body))
            headers = resp.headers or headers
        return json_response(out, headers=headers)

    def _place(self, ep: VenueServer, account: str, symbol: str, p: dict[str, str]) -> Response:
        v = self.ctx
        if p.get("type") == "LIMIT_MAKER":  # a spot type: futures say timeInForce=GTX
            return err(-1116, "Invalid orderType.")
        if symbol in v.status:  # exchangeInfo lists it SETTLING: no new order, cancels still go
            return err(*ERRORS["closed"])
        post_only = p.get("timeInForce") == "GTX"
        args = parse_new_order(v.instruments[symbol], {**p, "timeInForce": "GTC"} if post_only else p)
        args["post_only"] = post_only
        refused = self._off_grid(
            symbol, ep.now_ms(), None if args["price"] is None else p["price"], p["quantity"]
        )
        if refused is not None:  # a filter: refused before the engine, as the venue does
            return refused
        if post_only and would_take(v, symbol, args["side"], args["price"]):
            return err(
                -5022,
                "Due to the order could not be executed as maker, the Post Only order will be rejected. "
                "The order will not be recorded in the order history",
            )
        if p.get("reduceOnly") == "true":
            pos = v.engine.position(account, symbol)
            shrinks = pos < 0 if args["side"] == BID else pos > 0
            if not shrinks or args["qty"] > abs(pos):
                return err(-2022, "ReduceOnly Order is rejected.")
        if open_orders_full(v, account, symbol):
            self.limit_refusals[(account, "MAX_NUM_ORDERS")] += 1
            return err(-2025, "Reach max open order limit.")
        refused, counts = self.count_order(account) if self.count_order is not None else (None, [])
        if refused is not None:
            self.limit_refusals[(account, "ORDERS")] += 1
            return refused
        order, step = v.engine.place(
            account, symbol, client_id=p.get("newClientOrderId", ""), now_ms=ep.now_ms(), margin=True,
            **args,
        )  # fmt: skip
        if step is not None:
            v.publish(symbol, step)
        if p.get("reduceOnly") == "true":
            self.reduce_only.add(order.id)
        return json_response(self.order_json(order, ep.now_ms()), headers=counts)

    def _off_grid(self, symbol: str, now_ms: int, price: str | None, qty: str) -> Response | None:
        """The refusal of an order whose ``price`` (None: a market order) or ``qty`` is off a grid
        changed by ``Simulator.set_grid``, else None: past the listed precisions first."""
        grids = self.ctx.grids
        if grids.changed(symbol):
            g = grids.listed(symbol, now_ms)
            if (price is not None and _places(price) > g.price_decimals) or _places(qty) > g.qty_decimals:
                return err(*GRID_ERRORS["precision"])
        off = grids.off_grid(symbol, now_ms, None if price is None else Decimal(price), Decimal(qty))
        return None if off is None else err(*GRID_ERRORS[off])

    @staticmethod
    def _unknown(method: str) -> tuple[int, str]:
        return (-2011, "Unknown order sent.") if method == "DELETE" else (-2013, "Order does not exist.")

    def _cancel(
        self, account: str, symbol: str, oid: int | None, cid: str | None, now: int
    ) -> dict[str, Any]:
        order, step = self.ctx.engine.cancel(account, symbol, oid, cid)
        if step is not None:
            self.ctx.publish(symbol, step)
        return self.order_json(order, now)

    def _modify(
        self, account: str, symbol: str, oid: int | None, cid: str | None, p: dict[str, str], now: int
    ) -> Response:
        """``PUT /fapi/v1/order``: ``side``, ``quantity`` and ``price`` are all mandatory; the order
        keeps its id and client id."""
        for name in ("side", "quantity", "price"):
            if not p.get(name):
                return err(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
        v = self.ctx
        order = v.engine.find(account, symbol, oid, cid)
        if symbol in v.status:  # listed SETTLING: no amend (cancels still go)
            return err(*ERRORS["closed_amend"])
        if p["side"] != ("BUY" if order.side == BID else "SELL"):
            return err(-1117, "Invalid side.")
        inst = v.instruments[symbol]
        args = parse_new_order(inst, {**p, "type": "LIMIT", "timeInForce": "GTC"})
        refused = self._off_grid(symbol, now, p["price"], p["quantity"])
        if refused is not None:
            return refused
        order, steps = v.engine.amend(account, symbol, order.id, None, args["qty"], args["price"])
        for step in steps:
            v.publish(symbol, step)
        return json_response(self.order_json(order, now))

    def _countdown(self, account: str, p: dict[str, str]) -> Response:
        """``countdownCancelAll``: the symbol's open orders are cancelled ``countdownTime`` ms from now
        unless called again; 0 stops the countdown. The docs state no minimum (profile
        ``dead_man_min_s`` sets one)."""
        symbol, ms = p.get("symbol", ""), p.get("countdownTime", "")
        if symbol not in self.ctx.books:
            return err(-1121, "Invalid symbol.")
        if not ms.isdigit():
            return err(
                -1102, "Mandatory parameter 'countdownTime' was not sent, was empty/null, or malformed."
            )
        if 0 < int(ms) < self.dead_man.min_s(0.0) * 1000:
            return err(-1102, "Param 'countdownTime' is below the minimum.")
        self.dead_man.arm(account, symbol, int(ms) / 1000)
        return json_response({"symbol": symbol, "countdownTime": ms})

    def _batch_cancel(self, ep: VenueServer, account: str, p: dict[str, str]) -> Response:
        symbol = p.get("symbol", "")
        if symbol not in self.ctx.books:
            return err(-1121, "Invalid symbol.")
        by_id, by_cid = p.get("orderIdList"), p.get("origClientOrderIdList")
        if (by_id is None) == (by_cid is None):
            return err(-1102, "Param 'orderIdList' or 'origClientOrderIdList' must be sent, but not both.")
        ids = _ids(by_id if by_id is not None else by_cid or "")
        if ids is None or not 1 <= len(ids) <= BATCH:
            name = "orderIdList" if by_id is not None else "origClientOrderIdList"
            return err(-1100, f"Illegal characters found in parameter '{name}'.")
        out: list[dict[str, Any]] = []
        for x in ids:
            oid, cid = (int(x), None) if by_id is not None else (None, str(x))
            try:
                out.append(self._cancel(account, symbol, oid, cid, ep.now_ms()))
            except EngineError:
                code, msg = self._unknown("DELETE")
                out.append({"code": code, "msg": msg})
        return json_response(out)

    def user_trades(self, account: str, params: dict[str, str]) -> Response:
        """``GET /fapi/v1/userTrades``: the account's fills on ``symbol``, by trade id."""
        got = self.history.executions(account, params)
        if isinstance(got, Response):
            return got
        symbol, rows = got
        inst = self.ctx.instruments[symbol]
        fp, fq = self.ctx.fmt[symbol]
        quote_asset = split_symbol(symbol)[1]
        return json_response(
            [
                {
                    "buyer": o.side == BID,
                    "commission": "0",
                    "commissionAsset": quote_asset,
                    "id": f.trade_id,
                    "maker": f.maker,
                    "orderId": o.id,
                    "price": fp(f.price),
                    "qty": fq(f.qty),
                    "quoteQty": f"{Decimal(f.price * f.qty) * inst.tick * inst.lot:f}",
                    "realizedPnl": "0",
                    "side": "BUY" if o.side == BID else "SELL",
                    "positionSide": "BOTH",
                    "symbol": symbol,
                    "time": f.time_ms,
                }
                for o, f in rows
            ]
        )

    def _position(self, account: str, symbol: str) -> dict[str, Any]:
        v = self.ctx
        inst = v.instruments[symbol]
        fq = v.fmt[symbol][1]
        lots = v.engine.position(account, symbol)
        pos = v.engine.ledger.position(account, symbol)
        entry = abs(pos.cost) / inst.qty(abs(pos.lots)) if pos.lots else Decimal(0)
        book = v.books[symbol]
        bid, ask = book.bids.best(), book.asks.best()
        mark = inst.price(bid + ask) / 2 if bid is not None and ask is not None else entry
        upnl = (mark - entry) * inst.qty(lots) if pos.lots else Decimal(0)
        return {
            "symbol": symbol,
            "positionAmt": ("-" if lots < 0 else "") + fq(abs(lots)),
            "entryPrice": f"{entry:f}",
            "markPrice": f"{mark:f}",
            "unRealizedProfit": f"{upnl:f}",
            "leverage": str(v.engine.ledger.leverage),
            "marginType": "cross",
            "positionSide": "BOTH",
            "updateTime": 0,
        }
