"""Binance USDⓈ-M futures order entry for ``tickwire.trade("binance-usdm")`` (venues.md §1.6, §9; the
derivatives docs' "Trade", "Account" and "User Data Streams" pages): REST calls on ``/fapi``, their WS
API forms (``wss://ws-fapi.binance.com/ws-fapi/v1``), readers of the answers, and the user data
stream's ``ORDER_TRADE_UPDATE`` / ``ACCOUNT_UPDATE`` events (the stream itself, kept by listenKey, is
``userstream.ListenKeyStream``).

How it differs from spot: post-only is ``timeInForce=GTX`` on a ``LIMIT`` order (spot has
``LIMIT_MAKER``); ``reduceOnly``; no ``FULL`` answer listing fills (``RESULT`` states the final status
and ``avgPrice``; the executions come from the stream or ``userTrades``); amend is
``PUT /fapi/v1/order`` (price and quantity both mandatory); cancels batch by 10 on
``DELETE /fapi/v1/batchOrders``; balances are margin (``availableBalance``), and positions are read
from ``/fapi/v2/positionRisk``. One-way position mode (``positionSide`` BOTH) is assumed: hedge mode
refuses ``reduceOnly``."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from tickwire.streams import Endpoint
from tickwire.trading.codes import error_for, invalid_order
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent
from tickwire.trading.stream import PrivateStream
from tickwire.trading.venue import Balance, Call, Position
from tickwire.venues.binance import limits as rate
from tickwire.venues.binance import usdm_limits
from tickwire.venues.binance.common import STATUS, BinanceGrammar, make_fill, ms_ns, side_of, stream_terms

BATCH = 10  # DELETE /fapi/v1/batchOrders: "max length 10" per id list
BATCH_PLACE = 5  # POST /fapi/v1/batchOrders: "order list. Max 5 orders"
LISTEN_KEY_PATH = "/fapi/v1/listenKey"


def _dec(x: Any) -> Decimal | None:
    return Decimal(x) if x not in (None, "") else None


def _json_list(items: Sequence[str | int]) -> str:
    # The docs' form: a JSON array with no spaces (["a","b"] / [1,2]), percent-encoded on the wire.
    return orjson.dumps(list(items)).decode()


class UsdmOrders(BinanceGrammar):
    """USDⓈ-M futures order entry (``/fapi/v1/order`` and friends). An order's client id is
    ``newClientOrderId``; a duplicate of an open one is refused with -4116, a closed one's is accepted
    again, so a lost answer is reconciled by query, never resent."""

    venue = "binance-usdm"
    # Rate limits (``tickwire.limits``): USDⓈ-M's numbers and weights, spot's headers and announcement.
    limits = usdm_limits.LIMITS
    cost = staticmethod(usdm_limits.cost)
    read_usage = staticmethod(rate.read_usage)
    read_ws_usage = staticmethod(rate.read_ws_usage)  # the futures WS API's ``rateLimits``, as spot's
    read_limits = staticmethod(rate.read_limits)
    order_path = "/fapi/v1/order"
    open_orders_path = "/fapi/v1/openOrders"
    # No ``request_window_ms``, unlike spot: USDⓈ-M documents its ``recvWindow`` check only as the
    # request is received ("process request" / "reject request"); its error list has -5028 "outside
    # of the ME recvWindow", an engine check whose rule is not documented. So a request queued inside
    # the venue past the window is not known to be refused — a lost order's "not placed" waits the
    # session's ``lost_order_wait_s`` instead.
    info_path = "/fapi/v1/exchangeInfo"
    trades_path = "/fapi/v1/userTrades"
    ws_methods: ClassVar[Mapping[tuple[str, str], str]] = {
        ("POST", "/fapi/v1/order"): "order.place",
        ("PUT", "/fapi/v1/order"): "order.modify",
        ("DELETE", "/fapi/v1/order"): "order.cancel",
        ("GET", "/fapi/v1/order"): "order.status",
    }
    stream_label = "private"  # wss://fstream.binance.com/private/ws + "?listenKey=<key>&events=…"
    # Kill switch: reduce-only market orders close what positionRisk lists (one-way mode).
    close_by_reduce_only = True
    # Dead-man switch: one countdown per symbol; the docs give no bounds ("1000 for 1 second", 0 stops
    # it; they advise against a "too small" one), so only a positive whole millisecond is required.
    dead_man_per_symbol = True
    dead_man_range = (0.001, math.inf)

    def new_order(self, order: Order) -> Call:
        p = {
            "symbol": order.symbol,
            "side": order.side.upper(),
            "type": "MARKET",
            "quantity": format_decimal(order.qty),
        }
        if order.type == "limit":
            assert order.price is not None
            p["type"] = "LIMIT"
            p["timeInForce"] = "GTX" if order.post_only else order.tif
            p["price"] = format_decimal(order.price)
        if order.reduce_only:
            p["reduceOnly"] = "true"
        p["newClientOrderId"] = order.client_id
        # RESULT: the answer states the order's final status after matching (ACK, the default,
        # would leave an IOC's outcome to a second query).
        p["newOrderRespType"] = "RESULT"
        return Call("POST", self.order_path, p)

    # "The order of returned contents for batch orders is the same as the order of the order list":
    # an entry refused (``{"code", "msg"}``) names no client id, so entries go by position.
    batch_answers_in_order = True

    def new_orders(self, orders: Sequence[Order]) -> list[tuple[Call, list[Order]]]:
        """``POST /fapi/v1/batchOrders``: the orders' ``new_order`` parameters as a JSON list,
        ``BATCH_PLACE`` a request ("processed concurrently", the answer in the request's order)."""
        out = []
        for i in range(0, len(orders), BATCH_PLACE):
            chunk = list(orders[i : i + BATCH_PLACE])
            items = [dict(self.new_order(o).params) for o in chunk]
            out.append(
                (Call("POST", "/fapi/v1/batchOrders", {"batchOrders": orjson.dumps(items).decode()}), chunk)
            )
        return out

    def amend(self, order: Order, qty: Decimal | None, price: Decimal | None) -> Call:
        """``PUT /fapi/v1/order``: a new price and/or quantity for an open limit order (the venue
        takes both and the side; what is not changed is sent as it stands)."""
        new_price = price if price is not None else order.price
        if new_price is None:
            raise invalid_order(f"{self.venue}: only a limit order can be amended", rule="type")
        p = {"symbol": order.symbol}
        if order.order_id is not None:
            p["orderId"] = order.order_id
        else:
            p["origClientOrderId"] = order.client_id
        p["side"] = order.side.upper()
        p["quantity"] = format_decimal(qty if qty is not None else order.qty)
        p["price"] = format_decimal(new_price)
        return Call("PUT", self.order_path, p)

    def cancel_all(self, symbol: str) -> Call | None:
        # DELETE /fapi/v1/allOpenOrders answers {"code":200,"msg":...} naming no order, so the
        # session would learn nothing of what it cancelled: cancel the listed orders in batches.
        return None

    def cancel_all_open(self, symbol: str) -> Call:
        """``DELETE /fapi/v1/allOpenOrders``: every open order of ``symbol`` in one request (the answer
        names none of them; their cancels arrive on the user data stream)."""
        return Call("DELETE", "/fapi/v1/allOpenOrders", {"symbol": symbol})

    def cancel_orders(self, symbol: str, orders: Sequence[Order]) -> list[Call]:
        """``DELETE /fapi/v1/batchOrders`` by 10: by venue order id where known, else by client id
        (one list per call; the venue takes one or the other)."""
        lists: list[tuple[str, list[str | int]]] = [
            ("orderIdList", [int(o.order_id) for o in orders if o.order_id]),
            ("origClientOrderIdList", [o.client_id for o in orders if not o.order_id]),
        ]
        calls = []
        for field, ids in lists:
            for i in range(0, len(ids), BATCH):
                p = {"symbol": symbol, field: _json_list(ids[i : i + BATCH])}
                calls.append(Call("DELETE", "/fapi/v1/batchOrders", p))
        return calls

    def dead_man(self, timeout_s: float, symbols: Sequence[str]) -> list[Call]:
        """``POST /fapi/v1/countdownCancelAll`` per symbol (weight 10): its open orders are cancelled
        ``countdownTime`` ms after the last call; 0 stops the countdown."""
        ms = str(round(timeout_s * 1000))
        return [
            Call("POST", "/fapi/v1/countdownCancelAll", {"symbol": s, "countdownTime": ms}) for s in symbols
        ]

    def balances(self) -> Call:
        return Call("GET", "/fapi/v2/balance", {})

    def positions(self, symbol: str | None = None) -> Call:
        return Call("GET", "/fapi/v2/positionRisk", {"symbol": symbol} if symbol else {})

    # readers -----------------------------------------------------------------------------------

    def read_order(self, body: Any) -> list[OrderEvent]:
        """The order's state; futures answers list no executions (they come from ``userTrades`` or
        the stream). One entry of a batch answer may be an error: raised as the venue's error."""
        if "orderId" not in body and "code" in body:
            raise error_for(self.venue, body.get("code"), str(body.get("msg", "")))
        ts = ms_ns(body.get("updateTime") or body.get("time"))
        avg = _dec(body.get("avgPrice"))
        return [self.order_event(body, avg or None, ts)]

    def read_fills(self, body: Any) -> list[Fill]:
        return [
            make_fill(
                self.venue,
                t["symbol"],
                "",
                str(t["orderId"]),
                t["id"],
                side_of(t["side"]),
                t["price"],
                t["qty"],
                t.get("commission"),
                t.get("commissionAsset"),
                bool(t.get("maker")),
                ms_ns(t.get("time")),
            )
            for t in body
        ]

    def read_balances(self, body: Any) -> dict[str, Balance]:
        """``free`` is ``availableBalance`` (what new orders may use as margin); ``locked`` the rest of
        the wallet ``balance`` (held by positions and open orders)."""
        out = {}
        for b in body:
            total, free = Decimal(b["balance"]), Decimal(b["availableBalance"])
            out[b["asset"]] = Balance(b["asset"], free, max(total - free, Decimal(0)))
        return out

    def read_positions(self, body: Any) -> dict[str, Position]:
        """Open positions by symbol (a flat symbol is left out); one-way mode (``positionSide``
        BOTH) only."""
        out = {}
        for p in body:
            qty = Decimal(p["positionAmt"])
            if qty == 0:
                continue
            out[p["symbol"]] = Position(
                symbol=p["symbol"],
                qty=qty,
                entry_price=Decimal(p["entryPrice"]),
                unrealized_pnl=_dec(p.get("unRealizedProfit")),
                # "0" stands for none
                liquidation_price=_dec(p.get("liquidationPrice")) or None,
            )
        return out

    # user data stream (listenKey) -----------------------------------------------------------------

    def listen_key(self) -> Call:
        """``POST /fapi/v1/listenKey`` (API key only): the account's active key (its validity
        extended), else a new one."""
        return Call("POST", LISTEN_KEY_PATH, {}, signed=False)

    def keep_alive(self, key: str) -> Call:
        """``PUT /fapi/v1/listenKey``: another 60 minutes; -1125 when the key no longer exists."""
        return Call("PUT", LISTEN_KEY_PATH, {"listenKey": key}, signed=False)

    def read_stream(self, msg: Any) -> list[OrderEvent]:
        """``ORDER_TRADE_UPDATE``: the order's state and, for a ``TRADE`` execution, the fill (trade id
        ``t``). Other events (``ACCOUNT_UPDATE``, ``listenKeyExpired``) carry no order event."""
        if not isinstance(msg, dict) or msg.get("e") != "ORDER_TRADE_UPDATE":
            return []
        ev = msg["o"]
        cid, oid, side = ev["c"], str(ev["i"]), side_of(ev["S"])
        kind, tif, price = stream_terms(ev)
        fill = None
        if ev.get("x") == "TRADE":
            fill = make_fill(
                self.venue,
                ev["s"],
                cid,
                oid,
                ev["t"],
                side,
                ev["L"],
                ev["l"],
                ev.get("n"),
                ev.get("N"),
                bool(ev.get("m")),
                ms_ns(ev.get("T")),
            )
        return [
            OrderEvent(
                source="stream",
                client_id=cid,
                order_id=oid,
                status=STATUS.get(ev["X"], "new"),
                filled_cum=Decimal(ev["z"]),
                avg_price=_dec(ev.get("ap")) or None,
                fill=fill,
                ts_ns=ms_ns(msg.get("E")),
                venue=self.venue,
                symbol=ev["s"],
                side=side,
                type=kind,
                tif=tif,
                price=price,
                qty=Decimal(ev["q"]),
            )
        ]

    def read_account_update(self, msg: Any) -> tuple[dict[str, Decimal], dict[str, Position]] | None:
        """``ACCOUNT_UPDATE``: wallet balances (``B``: ``wb``) and positions (``P``: ``pa``, ``ep``,
        ``up``) the event changed; None for any other message."""
        if not isinstance(msg, dict) or msg.get("e") != "ACCOUNT_UPDATE":
            return None
        a = msg.get("a") or {}
        wallet = {b["a"]: Decimal(b["wb"]) for b in a.get("B", ())}
        positions = {
            p["s"]: Position(
                symbol=p["s"],
                qty=Decimal(p["pa"]),
                entry_price=Decimal(p["ep"]),
                unrealized_pnl=_dec(p.get("up")),
            )
            for p in a.get("P", ())
            if p.get("ps", "BOTH") == "BOTH"
        }
        return wallet, positions

    def private_stream(
        self,
        signer: Any,
        endpoint: Endpoint,
        apply: Callable[[OrderEvent], object],
        on_resubscribed: Callable[[], Awaitable[None]],
        timeout: float,
    ) -> PrivateStream | None:
        """The user data stream (a listenKey stream: its URL needs a REST call first), or None when the
        endpoint has no private stream URL."""
        if self.stream_label not in endpoint.ws or not endpoint.rest:
            return None
        from tickwire.venues.binance.userstream import ListenKeyStream

        return ListenKeyStream(self, signer, endpoint, apply, on_resubscribed, connect_timeout=timeout)

    @staticmethod
    def key_expired(msg: Any) -> bool:
        return isinstance(msg, dict) and msg.get("e") == "listenKeyExpired"
