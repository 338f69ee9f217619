"""Binance spot order entry over REST (``/api/v3/order`` POST/GET/DELETE, ``/api/v3/openOrders``),
on the simulator's matching engine. Responses follow the FULL response type of rest-api.md."""

from __future__ import annotations

import math
import secrets
import string
import time
import zlib
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tickwire.sim.engine import EngineError, Order
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.limits import WeightLimiter
from tickwire.sim.market import ASK, BID, Instrument
from tickwire.sim.venues.binance.auth import err
from tickwire.sim.venues.binance.history import BinanceHistory
from tickwire.sim.venues.grid import Grids

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer
    from tickwire.sim.venues.context import VenueContext


NO_ID = "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
# Engine limit refusals and the exchangeInfo filter each one is.
FILTERS = {"min_qty": "LOT_SIZE", "max_qty": "LOT_SIZE", "notional": "NOTIONAL"}
# A grid changed by ``Simulator.set_grid``: the rule an order breaks and the filter that says so.
GRID_FILTERS = {"tick": "PRICE_FILTER", "lot": "LOT_SIZE", "min_qty": "LOT_SIZE"}


def filter_failure(code: str, type_: str) -> str:
    name = FILTERS[code]
    return f"Filter failure: {'MARKET_LOT_SIZE' if name == 'LOT_SIZE' and type_ == 'MARKET' else name}"


def grid_failure(grids: Grids, symbol: str, now_ms: int, p: dict[str, str]) -> str | None:
    """The filter failure of a new order (parameters already parsed) off a changed grid, else None."""
    if not grids.changed(symbol):
        return None
    market = p.get("type") == "MARKET"
    price = None if market or not p.get("price") else Decimal(p["price"])
    off = grids.off_grid(symbol, now_ms, price, Decimal(p["quantity"]))
    if off is None:
        return None
    name = GRID_FILTERS[off]
    return f"Filter failure: {'MARKET_LOT_SIZE' if name == 'LOT_SIZE' and market else name}"


def _units(value: str, step: Decimal, name: str) -> int:
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise EngineError("param", f"Illegal characters found in parameter '{name}'.") from None
    n = d / step
    if n != n.to_integral_value() or d <= 0:
        filt = "PRICE_FILTER" if name == "price" else "LOT_SIZE"
        raise EngineError("filter", f"Filter failure: {filt}")
    return int(n)


def parse_new_order(inst: Instrument, p: dict[str, str]) -> dict[str, Any]:
    """Validated new-order parameters in engine units, or EngineError."""
    for name in ("symbol", "side", "type"):
        if not p.get(name):
            raise EngineError(
                "param", f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
            )
    side = {"BUY": BID, "SELL": ASK}.get(p["side"])
    if side is None:
        raise EngineError("side", "Invalid side.")
    type_ = p["type"]
    if type_ not in ("LIMIT", "MARKET", "LIMIT_MAKER"):
        raise EngineError("type", "Invalid orderType.")
    post_only = type_ == "LIMIT_MAKER"  # a LIMIT order that is refused if it would take
    if post_only:
        type_ = "LIMIT"
        p = {**p, "timeInForce": p.get("timeInForce", "GTC")}
    if "quantity" not in p:
        raise EngineError(
            "param", "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."
        )
    qty = _units(p["quantity"], inst.lot, "quantity")
    price = None
    tif = p.get("timeInForce", "GTC" if type_ == "LIMIT" else "")
    if type_ == "LIMIT":
        if "price" not in p or "timeInForce" not in p:
            missing = "price" if "price" not in p else "timeInForce"
            raise EngineError(
                "param", f"Mandatory parameter '{missing}' was not sent, was empty/null, or malformed."
            )
        price = _units(p["price"], inst.tick, "price")
        if tif not in ("GTC", "IOC", "FOK"):
            raise EngineError("tif", "Invalid timeInForce.")
    return {
        "side": side,
        "type_": type_,
        "qty": qty,
        "price": price,
        "tif": tif or "IOC",
        "post_only": post_only,
    }


def expiry_reason(o: Order) -> str:
    """Why an order expired, as the answers' ``expiryReason`` and the executionReport's ``eR`` say it
    since 2026-03-26 (binance-spot-api-docs enums.md "Expiry reason"): an IOC's or FOK's remainder,
    or a market order with nothing left to match; ``NONE`` for an order that did not expire."""
    if o.status != "EXPIRED":
        return "NONE"
    if o.tif == "FOK":
        return "UNFILLED_FOK_ORDER_EXPIRED"
    return "UNFILLED_IOC_QUANTITY_EXPIRED" if o.tif == "IOC" else "INSUFFICIENT_LIQUIDITY"


def _random_client_id() -> str:
    """A client id as Binance makes one for an amend sent without ``newClientOrderId`` (22 letters
    and digits, like the docs' examples)."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(22))


def interval(seconds: float) -> tuple[str, int, str]:
    """A window as Binance names it: (``interval``, ``intervalNum``, header suffix) — 60 s is
    ("MINUTE", 1, "1M"); the shortened windows of fast tests are whole seconds."""
    if seconds % 86_400 == 0:
        return "DAY", int(seconds // 86_400), f"{int(seconds // 86_400)}D"
    if seconds % 60 == 0:
        return "MINUTE", int(seconds // 60), f"{int(seconds // 60)}M"
    n = max(1, round(seconds))
    return "SECOND", n, f"{n}S"


def order_window_s(profile: Mapping[str, Any]) -> int:
    """The short order-count window in whole seconds (Binance: 10)."""
    return int(profile.get("order_window_s", 10))


def max_open_orders(profile: Mapping[str, Any]) -> int:
    """Orders an account may have open on one symbol, exchangeInfo's MAX_NUM_ORDERS (profile
    ``max_open_orders``; 200 as Binance lists for its symbols)."""
    return int(profile.get("max_open_orders", 200))


def open_orders_full(ctx: VenueContext, account: str, symbol: str) -> bool:
    """Whether a new order would pass MAX_NUM_ORDERS (every new order needs room, whatever its type:
    the filter is checked before matching)."""
    return len(ctx.engine.open_orders(account, symbol)) >= max_open_orders(ctx.profile)


def account_open_orders_full(ctx: VenueContext, account: str) -> bool:
    """Whether a new order would pass EXCHANGE_MAX_NUM_ORDERS, the account's open orders on every
    symbol together (profile ``exchange_max_open_orders``; unset: no such filter, as on most
    accounts)."""
    most = ctx.profile.get("exchange_max_open_orders")
    return most is not None and len(ctx.engine.open_orders(account, None)) >= int(most)


def would_take(ctx: VenueContext, symbol: str, side: int, price: int) -> bool:
    """Whether a limit order at ``price`` would trade at once (a post-only order is refused)."""
    best = ctx.books[symbol].side(1 - side).best()
    return best is not None and (price >= best if side == BID else price <= best)


class BinanceOrders:
    def __init__(self, ctx: VenueContext) -> None:
        self.ctx = ctx
        # account -> (10 s, 1 day) new-order counters (ORDERS limits). Windows open with the first
        # order rather than on the clock, so a test's burst never straddles a boundary by chance.
        self.order_counts: dict[str, tuple[WeightLimiter, WeightLimiter]] = {}
        self.history = BinanceHistory(ctx, self.order_json)
        self.amend_executions = 0  # the amend answers' executionId
        self.cancels = 0  # the cancels' own client ids made up (none named in the request)
        # New orders refused for a limit the venue announces (exchangeInfo's filters and rateLimits),
        # by account and limit: a client that keeps to what is announced never meets one.
        self.limit_refusals: Counter[tuple[str, str]] = Counter()

    def signed(self, ep: VenueServer, req: Request, account: str, params: dict[str, str]) -> Response:
        """A verified spot request on ``/api/v3/`` (REST, or a WS API method as its REST call)."""
        name = req.path.rsplit("/api/v3/", 1)[-1]
        if name == "account":
            return json_response(self.account(account, ep.now_ms()))
        if name == "openOrders":
            return self.open_orders(ep, account, params.get("symbol"), req.method == "DELETE")
        if name == "myTrades":
            return self.history.my_trades(account, params)
        if name == "allOrders":
            return self.history.all_orders(account, params, ep.now_ms())
        return self.handle(ep, req, account, params)

    def account(self, account: str, now_ms: int) -> dict[str, Any]:
        """``GET /api/v3/account`` / WS API ``account.status``: balances from the ledger."""
        held = self.ctx.engine.ledger.holdings(account)
        zero = "0.00000000"
        return {
            "makerCommission": 0,
            "takerCommission": 0,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": now_ms,
            "accountType": "SPOT",
            "balances": [{"asset": a, "free": f"{f:.8f}", "locked": f"{lk:.8f}"} for a, f, lk in held],
            "permissions": ["SPOT"],
            "uid": zlib.crc32(account.encode()),
        }

    def order_limits(self) -> tuple[int, int]:
        """New orders allowed per 10 s and per day (profile ``order_limit_10s`` / ``order_limit_1d``;
        ``order_window_s`` shortens the 10 s window for fast tests — exchangeInfo announces it)."""
        prof = self.ctx.profile
        return int(prof.get("order_limit_10s", 100)), int(prof.get("order_limit_1d", 200_000))

    def count_order(self, account: str) -> tuple[Response | None, list[tuple[str, str]]]:
        """Charge one new order: a 429 (-1015) over either limit, and the X-MBX-ORDER-COUNT headers."""
        counters = self.order_counts.get(account)
        if counters is None:
            per_10s, per_day = self.order_limits()
            counters = self.order_counts[account] = (
                WeightLimiter(per_10s, float(order_window_s(self.ctx.profile))),
                WeightLimiter(per_day, 86_400.0),
            )
        now = time.monotonic()
        for lim, name in zip(counters, ("TEN_SECONDS", "DAY"), strict=True):
            verdict, retry = lim.charge(now)
            if verdict != "ok":
                msg = f"Too many new orders; current limit is {lim.limit} orders per {name}."
                resp = err(-1015, msg, 429)
                resp.headers.append(("Retry-After", str(max(1, math.ceil(retry)))))
                return resp, []
        return None, [
            (f"X-MBX-ORDER-COUNT-{order_window_s(self.ctx.profile)}S", str(counters[0].used)),
            ("X-MBX-ORDER-COUNT-1D", str(counters[1].used)),
        ]

    def order_json(self, o: Order, now_ms: int, full: bool) -> dict[str, Any]:
        v = self.ctx
        inst = v.instruments[o.symbol]
        fp, fq = v.fmt[o.symbol]
        quote = Decimal(o.quote) * inst.tick * inst.lot
        body: dict[str, Any] = {
            "symbol": o.symbol,
            "orderId": o.id,
            "orderListId": -1,
            "clientOrderId": o.client_id,
            "price": fp(o.price or 0),
            "origQty": fq(o.qty),
            "executedQty": fq(o.filled),
            "cummulativeQuoteQty": f"{quote:.8f}",
            "status": o.status,
            "timeInForce": o.tif,
            "type": "LIMIT_MAKER" if o.post_only else o.type,
            "side": "BUY" if o.side == BID else "SELL",
            "workingTime": o.time_ms,
            "selfTradePreventionMode": "NONE",
        }
        if o.status == "EXPIRED":
            body["expiryReason"] = expiry_reason(o)
        if full:
            body["transactTime"] = now_ms
            quote_asset = o.symbol[-4:] if o.symbol.endswith(("USDT", "USDC")) else o.symbol[-3:]
            body["fills"] = [
                {
                    "price": fp(f.price),
                    "qty": fq(f.qty),
                    "commission": "0.00000000",
                    "commissionAsset": quote_asset,
                    "tradeId": f.trade_id,
                }
                for f in o.fills
                if not f.maker
            ]
        else:
            body["time"] = o.time_ms
            body["updateTime"] = now_ms
            body["isWorking"] = o.open
        return body

    def handle(self, ep: VenueServer, req: Request, account: str, params: dict[str, str]) -> Response:
        v = self.ctx
        symbol = params.get("symbol", "")
        if symbol not in v.books:
            return err(-1121, "Invalid symbol.")
        now = ep.now_ms()
        try:
            if req.method == "POST":
                args = parse_new_order(v.instruments[symbol], params)
                off_grid = grid_failure(v.grids, symbol, now, params)
                if off_grid is not None:  # a filter: refused before the engine, as the venue does
                    return err(-1013, off_grid)
                if req.path.endswith("/order/test"):
                    return json_response({})
                if symbol in v.status:  # errors.md: "Market is closed." — "The symbol is not trading."
                    return err(-2010, "Market is closed.")
                if args["post_only"] and would_take(v, symbol, args["side"], args["price"]):
                    return err(-2010, "Order would immediately match and take.")
                if open_orders_full(v, account, symbol):  # errors.md: too many open orders on the symbol
                    self.limit_refusals[(account, "MAX_NUM_ORDERS")] += 1
                    return err(-2010, "Filter failure: MAX_NUM_ORDERS")
                if account_open_orders_full(v, account):  # errors.md: too many open orders on the account
                    self.limit_refusals[(account, "EXCHANGE_MAX_NUM_ORDERS")] += 1
                    return err(-2010, "Filter failure: EXCHANGE_MAX_NUM_ORDERS")
                refused, counts = self.count_order(account)
                if refused is not None:
                    self.limit_refusals[(account, "ORDERS")] += 1
                    return refused
                order, step = v.engine.place(
                    account, symbol, client_id=params.get("newClientOrderId", ""), now_ms=now, **args
                )
                if step is not None:
                    v.publish(symbol, step)
                body = self.order_json(order, now, full=params.get("newOrderRespType", "FULL") == "FULL")
                return json_response(body, headers=counts)
            oid = int(params["orderId"]) if params.get("orderId", "").isdigit() else None
            cid = params.get("origClientOrderId")
            if req.method == "PUT":
                return self.amend_keep_priority(ep, account, symbol, oid, cid, params)
            if req.method == "DELETE":
                if oid is None and not cid:
                    return err(-1102, NO_ID)
                if v.status.get(symbol) == "closed":
                    # HALT: CHANGELOG 2019-03-12 "When canceling the Rest API can now return errorCode
                    # -1013 OR -2011 if the symbol's status isn't TRADING" (CANCEL_ONLY takes cancels).
                    return err(-2011, "Market is closed.")
                try:
                    order, step = v.engine.cancel(account, symbol, oid, cid)
                except EngineError:
                    return err(-2011, "Unknown order sent.")
                if step is not None:
                    v.publish(symbol, step)
                body = self.order_json(order, now, full=False)
                body["origClientOrderId"] = body.pop("clientOrderId")
                body["clientOrderId"] = self.cancel_id(params.get("newClientOrderId"))
                return json_response(body)
            try:
                order = v.engine.find(account, symbol, oid, cid)
            except EngineError:
                return err(-2013, "Order does not exist.")
            return json_response(self.order_json(order, now, full=False))
        except EngineError as e:
            if e.code == "duplicate":
                return err(-2010, "Duplicate order sent.")
            if e.code == "funds":
                return err(-2010, "Account has insufficient balance for requested action.")
            if e.code in FILTERS:
                return err(-1013, filter_failure(e.code, params.get("type", "")))
            code = {"filter": -1013, "side": -1117, "type": -1116, "tif": -1115}.get(e.code, -1102)
            return err(code, str(e))

    def amend_keep_priority(
        self, ep: VenueServer, account: str, symbol: str, oid: int | None, cid: str | None, p: dict[str, str]
    ) -> Response:
        """``PUT /api/v3/order/amend/keepPriority`` (WS API ``order.amend.keepPriority``): a smaller
        ``newQty`` (the order's new total quantity) for an open order, which keeps its id and its place
        in the queue (rest-api.md "Order Amend Keep Priority"; the refusals are errors.md's -2038
        ORDER_AMEND_REJECTED messages). ``newClientOrderId`` is the amended order's client id; without
        it the venue gives the order a random one, as documented."""
        v = self.ctx
        if oid is None and not cid:
            return err(-1102, NO_ID)
        if "newQty" not in p:
            return err(-1102, "Mandatory parameter 'newQty' was not sent, was empty/null, or malformed.")
        inst = v.instruments[symbol]
        try:
            qty = _units(p["newQty"], inst.lot, "quantity")
            if v.grids.off_grid(symbol, ep.now_ms(), None, Decimal(p["newQty"])) is not None:
                return err(-1013, "Filter failure: LOT_SIZE")
            order = v.engine.find(account, symbol, oid, cid)
        except EngineError as e:
            # A missing or closed order: -2038 with the engine's "Unknown order sent." (as a cancel's
            # -2011 has it; the docs list the message for -2038 but show no example).
            if e.code == "unknown":
                return err(-2038, "Unknown order sent.")
            return err(-1100 if e.code == "param" else -1013, str(e))  # ILLEGAL_CHARS or a filter
        if not order.open:
            return err(-2038, "Unknown order sent.")
        if qty > order.qty:
            return err(-2038, "Order amend (quantity increase) is not supported.")
        if qty == order.qty:
            return err(-2038, "The requested action would change no state; rejecting")
        if qty <= order.filled:
            # Undocumented (the venue may expire the order instead): the simulator refuses it.
            return err(-2038, "Order amend rejected: newQty is not above the executed quantity.")
        try:
            v.engine._check_limits(inst, qty, order.price)  # the filters apply to the new quantity
        except EngineError as e:
            return err(-1013, filter_failure(e.code, "LIMIT"))
        new_cid = p.get("newClientOrderId") or _random_client_id()
        if new_cid != order.client_id and v.engine.open_by_client(account, new_cid):
            # errors.md lists "Duplicate order sent." among -2038's messages; that an amend answers it
            # for another open order's client id is the simulator's reading.
            return err(-2038, "Duplicate order sent.")
        old_cid = order.client_id
        v.engine.rename(order, new_cid)  # before the amend: its REPLACED report names the new id
        _, steps = v.engine.amend(account, symbol, order.id, None, qty, None)
        for s in steps:
            v.publish(symbol, s)
        now = ep.now_ms()
        amended = self.order_json(order, now, full=False)
        for gone in ("time", "updateTime", "isWorking"):  # not fields of the amend answer
            amended.pop(gone)
        amended = {
            "symbol": amended.pop("symbol"),
            "orderId": amended.pop("orderId"),
            "orderListId": amended.pop("orderListId"),
            "origClientOrderId": old_cid,
            "clientOrderId": amended.pop("clientOrderId"),
            "price": amended.pop("price"),
            "qty": amended.pop("origQty"),
            "executedQty": amended.pop("executedQty"),
            "preventedQty": "0.00000000",
            "quoteOrderQty": "0.00000000",
            "cumulativeQuoteQty": amended.pop("cummulativeQuoteQty"),
            **amended,
        }
        self.amend_executions += 1
        return json_response(
            {"transactTime": now, "executionId": self.amend_executions, "amendedOrder": amended}
        )

    def cancel_id(self, named: str | None) -> str:
        """A cancel's own client id, which its answer states as ``clientOrderId`` (the order's is
        ``origClientOrderId``): the request's ``newClientOrderId``, else one made up, as Binance does."""
        if named:
            return named
        self.cancels += 1
        return f"sim{self.cancels:019d}"

    def open_orders(
        self, ep: VenueServer, account: str, symbol: str | None, cancel: bool = False
    ) -> Response:
        """``GET`` lists the open orders; ``DELETE`` (a symbol is mandatory) cancels them all."""
        v, now = self.ctx, ep.now_ms()
        orders = v.engine.open_orders(account, symbol)
        if not cancel:
            return json_response([self.order_json(o, now, full=False) for o in orders])
        if symbol is None or symbol not in v.books:
            return err(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        if v.status.get(symbol) == "closed":  # HALT: as a single cancel (CHANGELOG 2019-03-12)
            return err(-2011, "Market is closed.")
        if not orders:
            return err(-2011, "Unknown order sent.")
        out = []
        for o in orders:
            _, step = v.engine.cancel(account, o.symbol, o.id, None)
            if step is not None:
                v.publish(o.symbol, step)
            body = self.order_json(o, now, full=False)
            body["origClientOrderId"] = body.pop("clientOrderId")
            body["clientOrderId"] = self.cancel_id(None)
            out.append(body)
        return json_response(out)
