"""Binance spot order entry for ``tickwire.trade``: the REST calls (and their WS API forms) of each
operation, the private stream (WS API ``userDataStream.subscribe.signature``), and readers of the
venue's answers — orders, fills, balances, ``exchangeInfo`` filters, error codes.

Spot's only amend is "Order Amend Keep Priority" (rest-api.md, web-socket-api.md,
faqs/order_amend_keep_priority.md in binance-spot-api-docs): ``PUT /api/v3/order/amend/keepPriority``
(WS API ``order.amend.keepPriority``), which lowers an open order's quantity in place — same order
id, same place in the queue. A price change or a larger quantity has no amend on spot: it is
``NotSupported`` before anything is sent (cancel and place anew)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from tickwire.errors import NotSupported
from tickwire.trading.numbers import format_decimal
from tickwire.trading.orders import Fill, Order, OrderEvent
from tickwire.trading.venue import Balance, Call
from tickwire.venues.binance import limits as rate
from tickwire.venues.binance.common import (
    STATUS,
    BinanceGrammar,
    expiry,
    make_fill,
    ms_ns,
    side_of,
    stream_terms,
)

_STREAM_ID = "tickwire-user-data"
AMEND_PATH = "/api/v3/order/amend/keepPriority"
DEFAULT_RECV_WINDOW_MS = 5000  # the venue's, when a request names none
_LOGON_ID = "tickwire-logon"


def _logs_on(signer: Any) -> bool:
    return getattr(signer, "key_type", "") == "ed25519"


class Orders(BinanceGrammar):
    """Binance spot order entry over REST (``/api/v3/order`` and friends): request parameters as the
    venue documents them and readers of its answers. Post-only limit orders are ``LIMIT_MAKER``; an
    order's client id is ``newClientOrderId`` (unique among the account's *open* orders only, so a
    lost answer is reconciled by query, never resent)."""

    venue = "binance"
    # Rate limits (``tickwire.limits``): declared, weighed, corrected from headers and exchangeInfo.
    limits = rate.LIMITS
    cost = staticmethod(rate.cost)
    read_usage = staticmethod(rate.read_usage)
    read_ws_usage = staticmethod(rate.read_ws_usage)
    read_limits = staticmethod(rate.read_limits)
    # "Connecting costs 2 weight" (WS API; venues.md §1.3): the order socket's and the private
    # stream's connects, both on the WS API, are charged to the request weight.
    ws_connect_cost = rate.WS_CONNECT
    order_path = "/api/v3/order"
    open_orders_path = "/api/v3/openOrders"

    def request_window_ms(self, signer: Any) -> float:
        """How long after its ``timestamp`` the venue may still act on a signed request: its
        ``recvWindow`` (5000 ms unless the signer sets one), checked on arrival and again right
        before the matching engine (venues.md §1.1). An order the venue has not taken by then never
        will be: reconciliation waits that long before calling a lost one absent."""
        return float(getattr(signer, "recv_window", None) or DEFAULT_RECV_WINDOW_MS)

    info_path = "/api/v3/exchangeInfo"
    trades_path = "/api/v3/myTrades"
    order_fills_paged = True
    ws_methods: ClassVar[Mapping[tuple[str, str], str]] = {
        ("POST", "/api/v3/order"): "order.place",
        ("DELETE", "/api/v3/order"): "order.cancel",
        ("GET", "/api/v3/order"): "order.status",
        ("PUT", AMEND_PATH): "order.amend.keepPriority",
        ("GET", "/api/v3/openOrders"): "openOrders.status",
        ("DELETE", "/api/v3/openOrders"): "openOrders.cancelAll",
        ("GET", "/api/v3/account"): "account.status",
        ("GET", "/api/v3/myTrades"): "myTrades",
    }

    def new_order(self, order: Order) -> Call:
        p = {
            "symbol": order.symbol,
            "side": order.side.upper(),
            "type": "MARKET",
            "quantity": format_decimal(order.qty),
            "newClientOrderId": order.client_id,
            "newOrderRespType": "FULL",
        }
        if order.type == "limit":
            assert order.price is not None
            p["type"] = "LIMIT_MAKER" if order.post_only else "LIMIT"
            if not order.post_only:
                p["timeInForce"] = order.tif
            p["price"] = format_decimal(order.price)
        return Call("POST", self.order_path, p)

    def amend(self, order: Order, qty: Decimal | None, price: Decimal | None) -> Call:
        """``PUT /api/v3/order/amend/keepPriority``: ``newQty``, the order's new total quantity, strictly
        below its current one (the venue refuses anything else with -2038). ``newClientOrderId`` is
        the order's own client id: without it the venue gives the amended order a random one, and the
        session would lose track of it. Anything but a lower quantity at an unchanged price is
        ``NotSupported``, raised before anything is sent."""
        changes_price = price is not None and price != order.price
        if qty is None or qty >= order.qty or changes_price:
            asked = "a new price" if changes_price else f"quantity {qty} (now {order.qty})"
            raise _no_amend(
                f"{self.venue}: Binance spot amends only reduce quantity; cancel and place anew to "
                f"change price (asked: {asked})"
            )
        p = {"symbol": order.symbol}
        if order.order_id is not None:
            p["orderId"] = order.order_id
        else:
            p["origClientOrderId"] = order.client_id
        if order.client_id:
            p["newClientOrderId"] = order.client_id
        p["newQty"] = format_decimal(qty)
        return Call("PUT", AMEND_PATH, p)

    def cancel_all(self, symbol: str) -> Call | None:
        return Call("DELETE", self.open_orders_path, {"symbol": symbol})

    def cancel_orders(self, symbol: str, orders: Sequence[Order]) -> list[Call]:
        return [self.cancel(symbol, o.client_id or None, o.order_id) for o in orders]  # no spot batch cancel

    def balances(self) -> Call:
        return Call("GET", "/api/v3/account", {"omitZeroBalances": "true"})

    def read_order(self, body: Any) -> list[OrderEvent]:
        """The order's state, then one event per execution the answer lists (``FULL`` responses). An
        amend's answer states the order as ``amendedOrder`` (``qty`` for ``origQty``,
        ``cumulativeQuoteQty`` spelled right), its time as ``transactTime`` beside it."""
        if "amendedOrder" in body:
            body = _amended_order(body)
        executed = Decimal(body["executedQty"])
        quote = Decimal(body.get("cummulativeQuoteQty") or 0)
        ts = ms_ns(body.get("transactTime") or body.get("updateTime") or body.get("time"))
        state = self.order_event(body, quote / executed if executed > 0 and quote > 0 else None, ts)
        events = [state]
        cid, oid, side = state.client_id, state.order_id or "", side_of(body["side"])
        for f in body.get("fills") or ():
            # An order's answer lists only what it took: its own executions as the taker.
            fill = make_fill(
                self.venue,
                body["symbol"],
                cid,
                oid,
                f["tradeId"],
                side,
                f["price"],
                f["qty"],
                f.get("commission"),
                f.get("commissionAsset"),
                False,
                ts,
            )
            events.append(OrderEvent(source="rest", client_id=cid, order_id=oid, status=None, fill=fill))
        return events

    def read_fills(self, body: Any) -> list[Fill]:
        return [
            make_fill(
                self.venue,
                t["symbol"],
                "",
                str(t["orderId"]),
                t["id"],
                side_of("BUY" if t["isBuyer"] else "SELL"),
                t["price"],
                t["qty"],
                t.get("commission"),
                t.get("commissionAsset"),
                bool(t.get("isMaker")),
                ms_ns(t.get("time")),
            )
            for t in body
        ]

    def read_balances(self, body: Any) -> dict[str, Balance]:
        return {
            b["asset"]: Balance(b["asset"], Decimal(b["free"]), Decimal(b["locked"]))
            for b in body.get("balances", ())
        }

    # private stream: the WS API user data stream (spot listenKeys were retired on 2026-02-20)

    stream_label = "ws_api"

    # An Ed25519 key logs the WS API connection on once (``session.logon``); its requests then carry
    # no signature and its user data stream is ``userDataStream.subscribe``. HMAC and RSA keys cannot
    # log on: they sign each request and subscribe with ``userDataStream.subscribe.signature``.

    def login(self, signer: Any) -> bytes | None:
        if not _logs_on(signer):
            return None
        params = signer.ws_signed_params({})
        return orjson.dumps({"id": _LOGON_ID, "method": "session.logon", "params": params})

    def login_ack(self, msg: Any) -> bool:
        if not isinstance(msg, dict) or msg.get("id") != _LOGON_ID:
            return False
        self.read_ws_answer(msg)  # the venue's typed error for a refusal
        return True

    def ws_request(self, call: Call, signer: Any, request_id: str) -> bytes | None:
        if not _logs_on(signer):
            return super().ws_request(call, signer, request_id)
        method = self.ws_methods.get((call.method, call.path))
        if method is None:
            return None
        params: dict[str, Any] = dict(call.params)
        signed = signer.ws_signed_params({})
        params["timestamp"] = signed["timestamp"]  # the signer's (venue) clock
        if "recvWindow" in signed:
            # Without it the venue applies its 5000 ms, not the window reconciliation waits out.
            params["recvWindow"] = signed["recvWindow"]
        return orjson.dumps({"id": request_id, "method": method, "params": params})

    def stream_subscribe(self, signer: Any) -> bytes:
        if _logs_on(signer):
            return orjson.dumps({"id": _STREAM_ID, "method": "userDataStream.subscribe"})
        params = signer.ws_signed_params({})
        return orjson.dumps(
            {"id": _STREAM_ID, "method": "userDataStream.subscribe.signature", "params": params}
        )

    def stream_ack(self, msg: Any) -> bool:
        return isinstance(msg, dict) and msg.get("id") == _STREAM_ID and msg.get("status") == 200

    def read_stream(self, msg: Any) -> list[OrderEvent]:
        ev = msg.get("event") if isinstance(msg, dict) else None
        if not isinstance(ev, dict) or ev.get("e") != "executionReport":
            return []
        status = STATUS.get(ev["X"], "new")
        # A cancel report names the cancel request in "c" and the order's own client id in "C".
        cid = ev.get("C") or ev["c"] if ev["X"] == "CANCELED" else ev["c"]
        oid = str(ev["i"])
        side = side_of(ev["S"])
        filled = Decimal(ev["z"])
        quote = Decimal(ev.get("Z") or 0)
        kind, tif, price = stream_terms(ev)
        ts = ms_ns(ev.get("E"))
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
                status=status,
                filled_cum=filled,
                avg_price=quote / filled if filled > 0 and quote > 0 else None,
                fill=fill,
                reason=str(ev["r"]) if ev.get("r") not in (None, "NONE") else expiry(ev.get("eR"), ev["X"]),
                ts_ns=ts,
                venue=self.venue,
                symbol=ev["s"],
                side=side,
                type=kind,
                tif=tif,
                price=price,
                qty=Decimal(ev["q"]),
            )
        ]


def _amended_order(answer: Mapping[str, Any]) -> dict[str, Any]:
    """An amend answer's ``amendedOrder`` in the field names of the other order answers."""
    o = dict(answer["amendedOrder"])
    o["origQty"] = o.pop("qty")
    # The order is known from now on by ``clientOrderId`` (its ``newClientOrderId``), not by the
    # ``origClientOrderId`` it had before (a cancel's answer is read the other way round).
    o.pop("origClientOrderId", None)
    o.setdefault("cummulativeQuoteQty", o.get("cumulativeQuoteQty"))
    o.setdefault("transactTime", answer.get("transactTime"))
    return o


def _no_amend(message: str) -> NotSupported:
    err = NotSupported(message)
    # The attributes ``codes.not_supported`` gives (the class, made in Rust, declares none).
    err.__dict__.update(venue="binance", operation="amend_order")
    return err
